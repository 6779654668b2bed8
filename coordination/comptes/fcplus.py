"""Connexion des usagers et de leurs aidants par FranceConnect+ (OpenID Connect, docs interop §9,
ADR 0015).

- Adresses lues dans la découverte `{émetteur}/.well-known/openid-configuration` (émetteur :
  `https://auth.franceconnect.gouv.fr/api/v2` en production).
- Demande : `acr_values=eidas2`, `prompt=login`, portées de l'identité pivot, `state` et `nonce`
  (43 caractères), PKCE S256 (facultatif chez FC+, vérifié s'il est envoyé).
- Jeton : `client_secret_post` (identifiant et secret dans le corps, documentation FC+).
- Jeton d'identité et userinfo : JWE (RSA-OAEP ou RSA-OAEP-256, A256GCM) déchiffré avec la clé du
  portail désignée par le `kid` (cles_fcplus.py ; `kid` inconnu : refus), puis JWS ES256 vérifié
  avec le JWKS de FC+ ; `iss`, `aud`, `exp`, `nonce` ; `acr` eidas2 ou eidas3 (eidas1 : refus).
- Compte reconnu par le `sub` pairwise : `IdentiteExterne(fcplus, sub)`. Jamais par le courriel :
  un compte local au même courriel n'est pas relié, et la personne en est avertie.
- Première connexion : (a) usager dont les 5 traits INS correspondent exactement à l'identité
  pivot (noms et prénoms comparés sans accents, casse, tirets ni espaces ; date, sexe et lieu de
  naissance à l'identique) : son compte est créé et relié, les traits sont figés ; une
  correspondance ambiguë ou partielle est refusée ; (b) sinon, la personne saisit le code
  d'invitation reçu (aidant, représentant légal…) et `utiliser_invitation` relie le compte.
- Déconnexion : fin de session FC+ (`session/end`) avec `id_token_hint`, `state` et
  `post_logout_redirect_uri`.
- Journal : `connexion.fcplus`, `connexion.fcplus.echec` (motif), `connexion.fcplus.liaison`,
  `connexion.fcplus.courriel_non_relie`, `deconnexion.fcplus`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from joserfc import jwe, jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from coordination.comptes import cles_fcplus, invitations, oidc_commun
from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.comptes.connexions import NIVEAU_FCPLUS_EIDAS2, NIVEAU_FCPLUS_EIDAS3, noter_niveau
from coordination.comptes.forms import CodeInvitationForm
from coordination.comptes.models import Compte, FournisseurIdentite, IdentiteExterne, TypeInvitation
from coordination.journal.models import Resultat
from coordination.journal.services import journaliser
from coordination.personnes.models import Usager, normaliser_trait
from coordination.personnes.services import TRAITS_INS, relier_compte_usager

NOM = "FranceConnect+"
METHODE = "fcplus"
NIVEAUX = {"eidas2": NIVEAU_FCPLUS_EIDAS2, "eidas3": NIVEAU_FCPLUS_EIDAS3}
SESSION_ID_TOKEN = "fcplus_id_token"  # noqa: S105 - nom de clé de session
SESSION_EN_ATTENTE = "fcplus_en_attente"  # identité FC+ pas encore reliée (code d'invitation)
CHEMIN_RETOUR = "fcplus_retour"
DORSAL = "coordination.comptes.fcplus.DorsalFCPlus"
FRANCE = "99100"
ACTEUR = "connexion FranceConnect+"

MESSAGE_COURRIEL = (
    "Un compte du portail utilise déjà l'adresse électronique transmise par FranceConnect+. Par "
    "sécurité, le portail ne relie jamais deux comptes par leur adresse électronique : ce compte n'a pas "
    "été relié à votre identité FranceConnect+. Vous pouvez continuer à l'utiliser avec son mot de passe."
)


class EchecFCPlus(oidc_commun.EchecConnexion):
    """Refus expliqué : `motif` (code court pour le journal) et message pour la personne."""


# --- Configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFCPlus:
    emetteur: str
    client_id: str
    secret: str
    niveau: str
    portees: str
    pkce: bool
    delai: float

    @property
    def adresse_decouverte(self) -> str:
        return self.emetteur.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def active(self) -> bool:
        if not (self.emetteur and self.client_id and self.secret):
            return False
        try:
            cles_fcplus.cles()
        except (cles_fcplus.ClesIndisponibles, ValueError, OSError):
            return False
        return True


def config() -> ConfigFCPlus:
    return ConfigFCPlus(
        emetteur=settings.FCPLUS_EMETTEUR,
        client_id=settings.FCPLUS_CLIENT_ID,
        secret=settings.FCPLUS_CLIENT_SECRET,
        niveau=settings.FCPLUS_NIVEAU,
        portees=settings.FCPLUS_PORTEES,
        pkce=settings.FCPLUS_PKCE,
        delai=settings.FCPLUS_DELAI_HTTP,
    )


def active() -> bool:
    return config().active


def decouverte(conf: ConfigFCPlus) -> dict:
    return oidc_commun.decouverte(
        conf.adresse_decouverte, conf.emetteur, nom=NOM, delai=conf.delai, echec=EchecFCPlus
    )


def _entete(segment: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise EchecFCPlus("jeton_illisible", f"{NOM} a renvoyé un jeton illisible.") from exc


def dechiffrer(jeton: str) -> str:
    """JWE compact → JWS compact, avec la clé du portail désignée par le `kid` de l'en-tête."""
    morceaux = jeton.strip().split(".")
    if len(morceaux) != 5:
        raise EchecFCPlus(
            "jeton_non_chiffre", f"{NOM} a renvoyé un jeton non chiffré : il est refusé (chiffrement exigé)."
        )
    entete = _entete(morceaux[0])
    alg, enc = entete.get("alg", ""), entete.get("enc", "")
    if alg not in settings.FCPLUS_ALGORITHMES_CHIFFREMENT_ACCEPTES or enc != "A256GCM":
        raise EchecFCPlus("algorithme", f"Jeton chiffré avec un algorithme non accepté ({alg} {enc}).")
    cle = cles_fcplus.cle_par_kid(entete.get("kid") or "")
    if cle is None:
        raise EchecFCPlus(
            "cle_chiffrement_inconnue",
            f"Le jeton de {NOM} est chiffré pour une clé que le portail ne connaît pas (ou plus). "
            "Recommencez la connexion ; si cela se reproduit, prévenez l'assistance du portail.",
        )
    try:
        return jwe.decrypt_compact(jeton.strip(), cle, algorithms=[alg, enc]).plaintext.decode()
    except (JoseError, ValueError, UnicodeDecodeError) as exc:
        raise EchecFCPlus(
            "jwe_invalide", f"Le jeton chiffré de {NOM} est invalide (altéré ou incomplet)."
        ) from exc


# --- Dorsal -----------------------------------------------------------------------------------


class DorsalFCPlus(OIDCAuthenticationBackend):
    """Dorsal d'authentification FranceConnect+ : sert au chargement du compte de la session ;
    `authenticate` ne répond qu'aux appels de la vue de retour (`fcplus_code`)."""

    def __init__(self, *args, **kwargs) -> None:  # pas de lecture des réglages OIDC_* globaux
        self.UserModel = get_user_model()
        self.conf = config()

    def authenticate(self, request, fcplus_code=None, **kwargs):
        return None  # le déroulé passe par les vues (refus expliqués), pas par authenticate()

    def get_token(self, payload: dict) -> dict:
        document = decouverte(self.conf)
        corps = {**payload, "client_id": self.conf.client_id, "client_secret": self.conf.secret}
        try:
            reponse = requests.post(document["token_endpoint"], data=corps, timeout=self.conf.delai)
        except requests.RequestException as exc:
            raise EchecFCPlus("jeton", f"{NOM} ne répond pas. Réessayez dans quelques minutes.", 503) from exc
        if reponse.status_code != 200:
            try:
                detail = reponse.json().get("error_description") or reponse.json().get("error", "")
            except ValueError:
                detail = ""
            raise EchecFCPlus(
                "jeton_refuse",
                f"{NOM} a refusé de finaliser la connexion" + (f" ({detail})" if detail else "")
                + ". Recommencez la connexion.",
            )  # fmt: skip
        return reponse.json()

    def verifier_jeton(self, jeton: str, *, nonce: str | None = None, identite: bool = True) -> dict:
        """Déchiffre (clé du portail), vérifie la signature ES256 (JWKS de FC+), puis les revendications."""
        signe = dechiffrer(jeton)
        try:
            entete = jws.extract_compact(signe.encode()).protected
        except (JoseError, ValueError) as exc:
            raise EchecFCPlus("jeton_illisible", f"{NOM} a renvoyé un jeton illisible.") from exc
        if entete.get("alg") != "ES256":
            alg = entete.get("alg") or "aucun"
            raise EchecFCPlus("algorithme", f"Jeton signé avec un algorithme non accepté ({alg}).")
        adresse = decouverte(self.conf)["jwks_uri"]
        cles = oidc_commun.jwks_du_fournisseur(adresse, nom=NOM, delai=self.conf.delai, echec=EchecFCPlus)
        kid = entete.get("kid") or ""
        if not any(c.kid == kid for c in cles.keys):
            raise EchecFCPlus("cle_inconnue", f"Jeton signé par une clé inconnue de {NOM}.")
        try:
            revendications = jwt.decode(signe, cles, algorithms=["ES256"]).claims
        except (BadSignatureError, JoseError, ValueError) as exc:
            raise EchecFCPlus("signature", f"La signature du jeton de {NOM} est invalide.") from exc
        return oidc_commun.valider_revendications(
            revendications, nom=NOM, emetteur=self.conf.emetteur, client_id=self.conf.client_id,
            nonce=nonce, niveaux=tuple(NIVEAUX), identite=identite,
            message_niveau=(
                "Votre identité numérique n'a pas un niveau de sécurité suffisant pour ce portail "
                "(niveau « substantiel » ou « élevé » exigé). Utilisez une identité numérique compatible "
                "FranceConnect+, par exemple l'Identité Numérique La Poste."
            ),
            echec=EchecFCPlus,
        )  # fmt: skip

    def get_userinfo(self, access_token, id_token=None, payload=None) -> dict:
        try:
            reponse = requests.get(
                decouverte(self.conf)["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {access_token}"}, timeout=self.conf.delai,
            )  # fmt: skip
            reponse.raise_for_status()
        except requests.RequestException as exc:
            raise EchecFCPlus("userinfo", f"{NOM} n'a pas transmis votre identité.", 503) from exc
        infos = self.verifier_jeton(reponse.text.strip(), identite=False)
        if payload is not None and infos.get("sub") != payload.get("sub"):
            raise EchecFCPlus("userinfo", "L'identité transmise ne correspond pas au jeton de connexion.")
        return infos

    def connecter(self, request, code: str, nonce: str | None, code_verifier: str | None):
        """Échange le code (puis userinfo aussitôt : jeton d'accès de 60 s) ; renvoie
        (id_token, revendications du jeton, identité)."""
        demande = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.build_absolute_uri(reverse(CHEMIN_RETOUR)),
        }
        if code_verifier:
            demande["code_verifier"] = code_verifier
        reponse = self.get_token(demande)
        id_token = reponse.get("id_token") or ""
        revendications = self.verifier_jeton(id_token, nonce=nonce)
        infos = self.get_userinfo(reponse.get("access_token", ""), id_token, revendications)
        return id_token, revendications, infos


# --- Rapprochement avec un usager (traits INS) ---------------------------------------------------


@dataclass(frozen=True)
class IdentitePivot:
    prenoms: str
    nom: str
    naissance: dt.date
    sexe: str
    lieu: str  # code COG de la commune, ou du pays pour une naissance à l'étranger

    @classmethod
    def depuis(cls, infos: dict) -> IdentitePivot:
        manquants = [c for c in ("given_name", "family_name", "birthdate", "gender") if not infos.get(c)]
        pays = (infos.get("birthcountry") or "").strip()
        lieu = (infos.get("birthplace") or "").strip() if pays == FRANCE else pays
        if not lieu:
            manquants.append("birthplace" if pays == FRANCE else "birthcountry")
        sexe = {"female": "F", "male": "M"}.get(infos.get("gender") or "")
        try:
            naissance = dt.date.fromisoformat(infos.get("birthdate") or "")
        except ValueError:
            naissance = None
            manquants.append("birthdate")
        if manquants or sexe is None or naissance is None:
            raise EchecFCPlus(
                "identite_incomplete",
                f"{NOM} n'a pas transmis toute votre identité (nom, prénoms, date, sexe et lieu de "
                "naissance) : la connexion est impossible.",
            )
        return cls(infos["given_name"], infos["family_name"], naissance, sexe, lieu.upper())

    def correspond(self, usager: Usager) -> bool:
        return (
            normaliser_trait(self.nom) == usager.nom_naissance_normalise
            and normaliser_trait(self.prenoms) == normaliser_trait(usager.prenoms_naissance)
            and self.naissance == usager.date_naissance
            and self.sexe == usager.sexe
            and self.lieu == (usager.code_lieu_naissance or "").upper()
        )

    def ressemble(self, usager: Usager) -> bool:
        """Même date et même nom de naissance, ou même date, même premier prénom et même lieu."""
        if self.naissance != usager.date_naissance:
            return False
        premier = normaliser_trait(self.prenoms.split(" ")[0])
        return normaliser_trait(self.nom) == usager.nom_naissance_normalise or (
            premier == usager.premier_prenom_normalise and self.lieu == usager.code_lieu_naissance
        )


def rapprocher(pivot: IdentitePivot) -> tuple[list[Usager], list[Usager]]:
    """(usagers aux 5 traits identiques, usagers ressemblants mais différents). Les identités
    d'emprunt (fictives) ne sont jamais rapprochées."""
    premier = normaliser_trait(pivot.prenoms.split(" ")[0])
    candidats = Usager.objects.filter(date_naissance=pivot.naissance, identite_fictive=False).filter(
        Q(nom_naissance_normalise=normaliser_trait(pivot.nom)) | Q(premier_prenom_normalise=premier)
    )
    exacts = [u for u in candidats if pivot.correspond(u)]
    proches = [u for u in candidats if u not in exacts and pivot.ressemble(u)]
    return exacts, proches


# --- Comptes ----------------------------------------------------------------------------------


def _nouveau_compte(sub: str, infos: dict) -> Compte:
    """Compte sans mot de passe, à une adresse technique : le courriel de FC+ n'est pas repris."""
    nom = " ".join(p for p in ((infos.get("given_name") or "").split(" ")[0], infos.get("family_name")) if p)
    empreinte = hashlib.sha256(sub.encode()).hexdigest()[:32]
    return Compte.objects.create_user(email=f"fcplus-{empreinte}@comptes.invalid", nom_affiche=nom[:150])


def collision_de_courriel(infos: dict, compte: Compte | None = None) -> bool:
    """Vrai si le courriel transmis par FC+ est celui d'un autre compte du portail (jamais relié)."""
    courriel = (infos.get("email") or "").strip()
    if not courriel:
        return False
    autres = Compte.objects.filter(email__iexact=courriel)
    if compte is not None:
        autres = autres.exclude(pk=compte.pk)
    return autres.exists()


def _journaliser_collision(infos: dict, compte: Compte | None) -> None:
    journaliser(
        acteur=Acteur(TypeActeur.SANS_PERSONNE, compte) if compte is not None else None,
        action="connexion.fcplus.courriel_non_relie",
        resultat=Resultat.REFUSE,
        details={"methode": METHODE, "motif": "collision_courriel", "message": MESSAGE_COURRIEL},
    )


def compte_connu(sub: str) -> Compte | None:
    identite = (
        IdentiteExterne.objects.select_related("compte")
        .filter(fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS, sub=sub)
        .first()
    )
    if identite is None:
        return None
    if not identite.compte.is_active:
        raise EchecFCPlus("compte_inactif", "Votre compte sur ce portail est désactivé.", 403)
    identite.derniere_connexion = timezone.now()
    identite.save(update_fields=["derniere_connexion"])
    return identite.compte


@transaction.atomic
def relier_usager_par_traits(sub: str, infos: dict, usager: Usager) -> Compte:
    """Crée le compte FC+ de l'usager, le relie et fige ses traits INS (confirmés par FC+)."""
    usager = Usager.objects.select_for_update().get(pk=usager.pk)
    if usager.compte_id is not None:
        raise EchecFCPlus(
            "usager_deja_relie",
            "Votre dossier a déjà un compte sur ce portail (courriel et mot de passe). Connectez-vous avec "
            "ce compte ; la structure qui vous accompagne peut vous aider.",
            403,
        )
    if usager.identite_douteuse:
        raise EchecFCPlus(
            "identite_douteuse",
            "Votre identité enregistrée par la structure qui vous accompagne doit d'abord être vérifiée. "
            "Contactez-la : elle pourra ensuite vous permettre de vous connecter.",
            403,
        )
    compte = _nouveau_compte(sub, infos)
    IdentiteExterne.objects.create(
        compte=compte, fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS, sub=sub,
        derniere_connexion=timezone.now(),
    )  # fmt: skip
    relier_compte_usager(
        acteur=acteur_systeme(ACTEUR), usager=usager, compte=compte, champs_figes=TRAITS_INS,
        source=METHODE,
    )  # fmt: skip
    journaliser(
        acteur=Acteur(TypeActeur.USAGER, compte, usager=usager),
        action="connexion.fcplus.liaison",
        objet=usager,
        usager=usager,
        details={"methode": METHODE, "par": "traits"},
    )
    return compte


# --- Vues -------------------------------------------------------------------------------------


def _page_echec(request: HttpRequest, echec: EchecFCPlus) -> HttpResponse:
    return oidc_commun.page_echec(request, echec, action="connexion.fcplus.echec", methode=METHODE, nom=NOM)


def _ouvrir_session(request: HttpRequest, compte: Compte, id_token: str, acr: str, liaison: str) -> None:
    auth.login(request, compte, backend=DORSAL)
    noter_niveau(request, NIVEAUX[acr])
    request.session[SESSION_ID_TOKEN] = id_token
    journaliser(
        acteur=Acteur(TypeActeur.SANS_PERSONNE, compte),
        action="connexion.fcplus",
        details={"methode": METHODE, "niveau": acr, "liaison": liaison},
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """Clés publiques de chiffrement du portail, pour FranceConnect+ (« use » : « enc »)."""
    try:
        document = cles_fcplus.jwks_public(settings.FCPLUS_ALGORITHME_CHIFFREMENT)
    except cles_fcplus.ClesIndisponibles as exc:
        raise Http404("Aucune clé de chiffrement FranceConnect+ n'est configurée.") from exc
    reponse = JsonResponse(document)
    reponse["Cache-Control"] = "public, max-age=300"
    return reponse


@never_cache
@require_GET
def connexion(request: HttpRequest) -> HttpResponse:
    """Départ vers FranceConnect+ (autorisation : eidas2, state, nonce, PKCE S256)."""
    conf = config()
    if not conf.active:
        raise Http404("FranceConnect+ n'est pas configuré sur ce portail.")
    try:
        adresse = decouverte(conf)["authorization_endpoint"]
    except EchecFCPlus as echec:
        return _page_echec(request, echec)
    request.session.pop(SESSION_EN_ATTENTE, None)
    parametres = oidc_commun.demande_d_autorisation(
        request,
        {
            "response_type": "code",
            "scope": conf.portees,
            "client_id": conf.client_id,
            "redirect_uri": request.build_absolute_uri(reverse(CHEMIN_RETOUR)),
            "acr_values": conf.niveau,
            "prompt": "login",
        },
        pkce=conf.pkce,
    )
    return redirect(f"{adresse}?{urlencode(parametres)}")


@never_cache
@require_GET
def retour(request: HttpRequest) -> HttpResponse:
    """Retour de FranceConnect+ : contrôles, puis compte connu, usager reconnu par ses traits, ou
    demande du code d'invitation."""
    demande = oidc_commun.retirer_demande(request)  # usage unique : un rejeu ne trouve plus rien
    try:
        code = oidc_commun.controler_retour(request, demande, nom=NOM, echec=EchecFCPlus)
        id_token, revendications, infos = DorsalFCPlus().connecter(
            request, code, demande.get("nonce"), demande.get("code_verifier")
        )
        sub = str(revendications["sub"])
        acr = revendications["acr"]
        compte = compte_connu(sub)
        liaison = "existante"
        if compte is None:
            pivot = IdentitePivot.depuis(infos)
            exacts, proches = rapprocher(pivot)
            if len(exacts) > 1:
                raise EchecFCPlus(
                    "traits_ambigus",
                    "Plusieurs dossiers du portail portent exactement votre identité : le portail ne peut "
                    "pas savoir lequel est le vôtre. Contactez la structure qui vous accompagne.",
                    403,
                )
            if not exacts and proches:
                raise EchecFCPlus(
                    "traits_partiels",
                    "Votre identité FranceConnect+ ressemble à celle d'une personne accompagnée, mais ne "
                    "correspond pas exactement (nom, prénoms, date, sexe ou lieu de naissance). Par "
                    "sécurité, aucun lien n'est fait. Contactez la structure qui vous accompagne pour "
                    "vérifier l'identité enregistrée.",
                    403,
                )
            if exacts:
                compte = relier_usager_par_traits(sub, infos, exacts[0])
                liaison = "traits"
    except EchecFCPlus as echec:
        return _page_echec(request, echec)
    if compte is None:  # personne de l'entourage : code d'invitation
        request.session[SESSION_EN_ATTENTE] = {
            "sub": sub, "id_token": id_token, "acr": acr,
            "expire": time.time() + settings.FCPLUS_DUREE_LIAISON_SECONDES,
            "prenom": (infos.get("given_name") or "").split(" ")[0], "nom": infos.get("family_name") or "",
            "email": infos.get("email") or "",
        }  # fmt: skip
        if collision_de_courriel(infos):
            _journaliser_collision(infos, None)
        return redirect("fcplus_invitation")
    if collision_de_courriel(infos, compte):
        _journaliser_collision(infos, compte)
        messages.warning(request, MESSAGE_COURRIEL)
    suivant = request.session.get(oidc_commun.SESSION_SUIVANT)
    _ouvrir_session(request, compte, id_token, acr, liaison)
    return redirect(suivant or reverse("accueil"))


def _en_attente(request: HttpRequest) -> dict | None:
    attente = request.session.get(SESSION_EN_ATTENTE)
    if not attente or attente.get("expire", 0) < time.time():
        request.session.pop(SESSION_EN_ATTENTE, None)
        return None
    return attente


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest) -> HttpResponse:
    """Identité FC+ sans lien : la personne saisit le code d'invitation reçu de la personne
    accompagnée ou de son entourage ; `utiliser_invitation` relie le nouveau compte au proche."""
    attente = _en_attente(request)
    if attente is None:
        return _page_echec(
            request,
            EchecFCPlus(
                "liaison_expiree",
                "Le délai pour saisir votre code d'invitation est dépassé, ou aucune connexion "
                "FranceConnect+ n'est en cours. Recommencez la connexion.",
            ),
        )
    if request.method == "POST" and "annuler" in request.POST:
        request.session.pop(SESSION_EN_ATTENTE, None)
        journaliser(
            acteur=None,
            action="connexion.fcplus.echec",
            resultat=Resultat.REFUSE,
            details={"methode": METHODE, "motif": "liaison_abandonnee", "message": "Code non saisi."},
        )
        return redirect("account_login")
    form = CodeInvitationForm(request.POST if request.method == "POST" else None)
    statut = 200
    if request.method == "POST":
        statut = 400
        if not invitations.essai_permis(request):
            form.is_valid()
            form.add_error("code", invitations.MESSAGE_TROP_D_ESSAIS)
            statut = 429
        elif form.is_valid():
            try:
                compte, acteur = _relier_par_invitation(form.cleaned_data["code"], attente)
            except invitations.InvitationInvalide as erreur:
                invitations.noter_essai_manque(request, erreur)
                form.add_error("code", erreur.messages)
            else:
                request.session.pop(SESSION_EN_ATTENTE, None)
                _ouvrir_session(request, compte, attente["id_token"], attente["acr"], "invitation")
                return redirect("accueil")
    contexte = {
        "form": form,
        "attente": attente,
        "collision": collision_de_courriel({"email": attente.get("email")}),
        "message_courriel": MESSAGE_COURRIEL,
    }
    return render(request, "comptes/fcplus_invitation.html", contexte, status=statut)


def _relier_par_invitation(code: str, attente: dict) -> tuple[Compte, Acteur]:
    """Dans une transaction : compte FC+ créé, relié au proche de l'invitation ; tout est annulé si
    le code est refusé. Les invitations du personnel d'une structure ne se relient pas à FC+."""
    invitation = invitations.verifier_invitation(code)
    if invitation.type != TypeInvitation.PROCHE:
        raise invitations.InvitationInvalide(
            "Code d'invitation : ce code invite une personne de l'équipe d'une structure. Il sert à créer "
            "un compte local (« J'ai reçu une invitation » sur la page de connexion), pas à se connecter "
            "avec FranceConnect+.",
            code="type_personnel",
        )
    with transaction.atomic():
        sub = attente["sub"]
        if IdentiteExterne.objects.filter(
            fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS, sub=sub
        ).exists():
            raise invitations.InvitationInvalide(
                "Votre identité FranceConnect+ est déjà reliée à un compte : reconnectez-vous.",
                code="deja_relie",
            )
        compte = _nouveau_compte(sub, {"given_name": attente["prenom"], "family_name": attente["nom"]})
        IdentiteExterne.objects.create(
            compte=compte, fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS, sub=sub,
            derniere_connexion=timezone.now(),
        )  # fmt: skip
        acteur = invitations.utiliser_invitation(code, compte)
        journaliser(
            acteur=acteur,
            action="connexion.fcplus.liaison",
            objet=acteur.proche,
            usager=acteur.usager,
            details={"methode": METHODE, "par": "invitation"},
        )
    return compte, acteur


@never_cache
@require_POST
def deconnexion(request: HttpRequest) -> HttpResponse:
    """Déconnexion du portail puis de FranceConnect+ (session/end avec id_token_hint et state)."""

    def fin_de_session() -> str | None:
        try:
            return decouverte(config())["end_session_endpoint"]
        except (EchecFCPlus, KeyError):
            return None

    return oidc_commun.deconnecter(
        request, cle_id_token=SESSION_ID_TOKEN, action="deconnexion.fcplus", methode=METHODE,
        fin_de_session=fin_de_session, taille_state=43,
    )  # fmt: skip
