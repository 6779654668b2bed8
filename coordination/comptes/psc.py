"""Connexion des professionnels par Pro Santé Connect (OpenID Connect, docs interop §8).

- Adresses prises dans la découverte `{émetteur}/.well-known/wallet-openid-configuration` ;
  l'adresse d'autorisation peut être imposée (`PSC_ADRESSE_AUTORISATION`, hôte wallet.* d'ANS).
- Demande : `scope=openid scope_all`, `acr_values=eidas1`, PKCE S256, `state` et `nonce`
  (gardés en session par les outils de mozilla-django-oidc, effacés au premier retour).
- Jeton : `client_secret_basic`, certificat client (mTLS) en option ; jeton d'identité vérifié
  avec joserfc : HS256 avec le secret, RS256 / ES256 avec le JWKS ; `iss`, `aud`, `exp`,
  `nonce` et `acr` contrôlés.
- UserInfo en JSON ou en JWT signé. Le professionnel est reconnu par son `SubjectNameID`
  (idNat_PS) : `IdentiteExterne(psc, sub=idNat_PS)`, jamais par le courriel.
- Le professionnel et ses situations d'exercice sont créés ou complétés depuis
  `SubjectRefPro.exercices[].activities[]` par les services de coordination.personnes.

Le dorsal hérite de celui de mozilla-django-oidc (chargement du compte de la session) ; le
déroulé est piloté par les vues ci-dessous pour expliquer chaque refus en français et le
journaliser. Ce qui est commun avec FranceConnect+ (découverte, JWKS, state/nonce/PKCE, contrôle
des revendications, page de refus) est dans oidc_commun.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import OctKey
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from coordination.comptes import oidc_commun
from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.comptes.connexions import NIVEAU_PSC, noter_niveau
from coordination.comptes.models import Compte, FournisseurIdentite, IdentiteExterne
from coordination.journal.services import journaliser
from coordination.personnes import services as personnes
from coordination.personnes.models import Exercice, ModeExercice, Professionnel, Structure
from coordination.personnes.nomenclatures import libelle_profession

logger = logging.getLogger(__name__)

METHODE = "psc"
NIVEAU = "eidas1"
PORTEES = "openid scope_all"
SESSION_ID_TOKEN = "psc_id_token"  # noqa: S105 - nom de clé de session
CHEMIN_RETOUR = "psc_retour"
DORSAL = "coordination.comptes.psc.DorsalPSC"
NOM = "Pro Santé Connect"


class EchecPSC(oidc_commun.EchecConnexion):
    """Refus expliqué : `motif` (code court pour le journal) et message pour la personne."""


# --- Configuration et découverte ----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigPSC:
    emetteur: str
    client_id: str
    secret: str
    adresse_autorisation: str
    certificat_client: str
    cle_client: str
    algorithmes: tuple[str, ...]
    delai: float

    @property
    def active(self) -> bool:
        return bool(self.emetteur and self.client_id and self.secret)

    @property
    def adresse_decouverte(self) -> str:
        return self.emetteur.rstrip("/") + "/.well-known/wallet-openid-configuration"

    @property
    def cert(self):
        if not self.certificat_client:
            return None
        return (self.certificat_client, self.cle_client) if self.cle_client else self.certificat_client


def config() -> ConfigPSC:
    return ConfigPSC(
        emetteur=settings.PSC_EMETTEUR,
        client_id=settings.PSC_CLIENT_ID,
        secret=settings.PSC_CLIENT_SECRET,
        adresse_autorisation=settings.PSC_ADRESSE_AUTORISATION,
        certificat_client=settings.PSC_CERTIFICAT_CLIENT,
        cle_client=settings.PSC_CLE_CLIENT,
        algorithmes=tuple(settings.PSC_ALGORITHMES_SIGNATURE),
        delai=settings.PSC_DELAI_HTTP,
    )


def decouverte(conf: ConfigPSC) -> dict:
    """Document de découverte, gardé une heure en cache (clé : l'adresse)."""
    return oidc_commun.decouverte(
        conf.adresse_decouverte, conf.emetteur, nom=NOM, delai=conf.delai, echec=EchecPSC
    )


# --- Dorsal -----------------------------------------------------------------------------------


class DorsalPSC(OIDCAuthenticationBackend):
    """Dorsal d'authentification Pro Santé Connect.

    `authenticate` ne répond qu'aux appels de la vue de retour (argument `psc_code`) : les
    connexions par mot de passe d'allauth passent à côté sans appel réseau."""

    def __init__(self, *args, **kwargs) -> None:  # pas de lecture des réglages OIDC_* globaux
        self.UserModel = get_user_model()
        self.conf = config()

    def authenticate(self, request, psc_code=None, nonce=None, code_verifier=None, **kwargs):
        if request is None or psc_code is None:
            return None
        self.request = request
        return self.connecter(request, psc_code, nonce, code_verifier)

    # -- échanges avec le fournisseur ----------------------------------------------------------

    def get_token(self, payload: dict) -> dict:
        document = decouverte(self.conf)
        try:
            reponse = requests.post(
                document["token_endpoint"], data=payload, auth=(self.conf.client_id, self.conf.secret),
                cert=self.conf.cert, timeout=self.conf.delai,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise EchecPSC(
                "jeton", "Pro Santé Connect ne répond pas. Réessayez dans quelques minutes.", 503
            ) from exc
        if reponse.status_code != 200:
            try:
                detail = reponse.json().get("error_description") or reponse.json().get("error", "")
            except ValueError:
                detail = ""
            raise EchecPSC(
                "jeton_refuse",
                "Pro Santé Connect a refusé de finaliser la connexion"
                + (f" ({detail})" if detail else "")
                + ". Recommencez la connexion.",
            )
        return reponse.json()

    def _cle(self, jeton: str):
        try:
            entete = jws.extract_compact(jeton.encode()).protected
        except (JoseError, ValueError) as exc:
            raise EchecPSC("jeton_illisible", "Pro Santé Connect a renvoyé un jeton illisible.") from exc
        alg = entete.get("alg", "")
        if alg not in self.conf.algorithmes:
            raise EchecPSC("algorithme", f"Jeton signé avec un algorithme non accepté ({alg or 'aucun'}).")
        if alg.startswith("HS"):
            return OctKey.import_key(self.conf.secret), alg
        adresse = decouverte(self.conf)["jwks_uri"]
        return oidc_commun.jwks_du_fournisseur(adresse, nom=NOM, delai=self.conf.delai, echec=EchecPSC), alg

    def verifier_jeton(self, jeton: str, *, nonce: str | None = None, identite: bool = True) -> dict:
        """Signature (joserfc) puis revendications. `identite` : jeton d'identité (nonce, acr,
        exp obligatoires) ; sinon réponse UserInfo signée."""
        cle, alg = self._cle(jeton)
        try:
            revendications = jwt.decode(jeton, cle, algorithms=[alg]).claims
        except InvalidKeyIdError as exc:
            raise EchecPSC("cle_inconnue", "Jeton signé par une clé inconnue de Pro Santé Connect.") from exc
        except (BadSignatureError, JoseError, ValueError) as exc:
            raise EchecPSC("signature", "La signature du jeton de Pro Santé Connect est invalide.") from exc
        return oidc_commun.valider_revendications(
            revendications, nom=NOM, emetteur=self.conf.emetteur, client_id=self.conf.client_id,
            nonce=nonce, niveaux=(NIVEAU,), identite=identite,
            message_niveau="Niveau d'authentification insuffisant (eidas1 attendu).", echec=EchecPSC,
        )  # fmt: skip

    def get_userinfo(self, access_token, id_token=None, payload=None) -> dict:
        try:
            reponse = requests.get(
                decouverte(self.conf)["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {access_token}"}, timeout=self.conf.delai,
            )  # fmt: skip
            reponse.raise_for_status()
        except requests.RequestException as exc:
            raise EchecPSC("userinfo", "Pro Santé Connect n'a pas transmis votre identité.", 503) from exc
        if reponse.headers.get("content-type", "").lower().startswith("application/jwt"):
            infos = self.verifier_jeton(reponse.text.strip(), identite=False)
        else:
            try:
                infos = reponse.json()
            except ValueError as exc:
                raise EchecPSC("userinfo", "Pro Santé Connect a transmis une identité illisible.") from exc
        if payload is not None and infos.get("sub") != payload.get("sub"):
            raise EchecPSC("userinfo", "L'identité transmise ne correspond pas au jeton de connexion.")
        return infos

    # -- déroulé -------------------------------------------------------------------------------

    def connecter(self, request, code: str, nonce: str | None, code_verifier: str | None):
        """Échange le code, vérifie les jetons, lit l'identité ; renvoie (compte, id_token, infos)."""
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
        compte = compte_du_professionnel(infos)
        return compte, id_token, infos


# --- Compte, professionnel et situations d'exercice ----------------------------------------------

ACTEUR_PSC = "connexion Pro Santé Connect"


def _activites(infos: dict) -> list[tuple[dict, dict]]:
    ref = infos.get("SubjectRefPro") or {}
    return [
        (exercice, activite)
        for exercice in ref.get("exercices") or []
        for activite in exercice.get("activities") or []
    ]


def _structure(activite: dict, acteur: Acteur) -> Structure | None:
    """Structure d'une activité : par FINESS du site, puis identifiant technique ; créée si besoin.
    Un cabinet sans FINESS ni SIRET : exercice sans structure."""
    finess = (activite.get("numeroFinessSite") or "").strip()
    siret = (activite.get("numeroSiretSite") or "").strip()
    technique = (activite.get("identifiantTechniqueDeLaStructure") or "").strip()
    if not finess and not siret:
        return None
    if finess and (trouvee := Structure.objects.filter(finess_eg=finess).first()):
        return trouvee
    if technique and (trouvee := Structure.objects.filter(identifiant_technique=technique).first()):
        return trouvee
    donnees = {
        "raison_sociale": (activite.get("raisonSocialeSite") or "").strip() or "Structure sans nom",
        "finess_eg": finess or None,
        "finess_ej": (activite.get("numeroFinessetablissementJuridique") or "").strip(),
        "siret": siret,
        "identifiant_technique": technique or None,
        "code_postal": (activite.get("codePostal") or "")[:5],
    }
    try:
        return personnes.creer_structure(acteur=acteur, donnees=donnees)
    except ValidationError:
        logger.warning("Structure de l'activité PSC non reconnue (%s) : ignorée.", finess or siret)
        return None


def synchroniser_exercices(professionnel: Professionnel, infos: dict, acteur: Acteur) -> list[Exercice]:
    """Crée les situations d'exercice déclarées par PSC qui manquent (une par activité)."""
    exercices = []
    for exercice_psc, activite in _activites(infos):
        structure = _structure(activite, acteur)
        existant = Exercice.objects.filter(professionnel=professionnel, structure=structure).first()
        if existant is not None:
            exercices.append(existant)
            continue
        mode = activite.get("codeModeExercice") or ""
        profession = exercice_psc.get("codeProfession") or professionnel.profession_code
        donnees = {
            "profession_code": profession,
            "profession_libelle": libelle_profession(profession) or professionnel.profession_libelle,
            "mode_exercice": mode if mode in ModeExercice.values else "",
            "secteur_activite_code": (activite.get("codeSecteurDactivite") or "")[:6],
            "date_debut": timezone.localdate(),
        }
        exercices.append(
            personnes.creer_exercice(
                acteur=acteur, professionnel=professionnel, structure=structure, donnees=donnees
            )
        )
    return exercices


def _donnees_professionnel(infos: dict) -> dict:
    exercices = (infos.get("SubjectRefPro") or {}).get("exercices") or [{}]
    premier = exercices[0]
    return {
        "nom_exercice": premier.get("nomDexercice") or infos.get("family_name") or "",
        "prenom_exercice": premier.get("prenomDexercice") or infos.get("given_name") or "",
        "civilite_exercice": (premier.get("codeCiviliteDexercice") or "")[:10],
        "profession_code": (premier.get("codeProfession") or "")[:4],
        "profession_libelle": libelle_profession(premier.get("codeProfession")),
        "categorie_professionnelle": (premier.get("codeCategorieProfessionnelle") or "")[:1],
        "savoir_faire_code": (premier.get("codeSavoirFaire") or "")[:10],
    }


@transaction.atomic
def compte_du_professionnel(infos: dict) -> Compte:
    """Le compte de ce professionnel, reconnu par son SubjectNameID (idNat_PS), jamais par courriel.

    1. identité externe (psc, idNat_PS) déjà connue → son compte ;
    2. sinon, professionnel de cet idNat_PS déjà relié à un compte (invité avant) → ce compte ;
    3. sinon, nouveau compte sans mot de passe, à l'adresse technique `psc-<idNat_PS>@comptes.invalid`.
    Le professionnel est créé s'il manque ; ses situations d'exercice sont complétées."""
    idnat = str(infos.get("SubjectNameID") or "").strip()
    if not idnat:
        raise EchecPSC(
            "sans_idnat",
            "Pro Santé Connect n'a pas transmis votre identifiant national (SubjectNameID) : "
            "la connexion est impossible. Contactez le support de votre structure.",
        )
    acteur = acteur_systeme(ACTEUR_PSC)
    identite = (
        IdentiteExterne.objects.select_for_update()
        .select_related("compte")
        .filter(fournisseur=FournisseurIdentite.PRO_SANTE_CONNECT, sub=idnat)
        .first()
    )
    professionnel = Professionnel.objects.select_for_update().filter(idnat_ps=idnat).first()
    donnees = _donnees_professionnel(infos)
    if identite is not None:
        compte = identite.compte
    elif professionnel is not None and professionnel.compte_id:
        compte = professionnel.compte
    else:
        compte = Compte.objects.create_user(
            email=f"psc-{idnat}@comptes.invalid",
            nom_affiche=" ".join(p for p in (donnees["prenom_exercice"], donnees["nom_exercice"]) if p),
        )
    if not compte.is_active:
        raise EchecPSC("compte_inactif", "Votre compte sur ce portail est désactivé.", 403)
    if professionnel is not None and professionnel.compte_id not in (None, compte.pk):
        raise EchecPSC(
            "compte_different",
            "Votre identifiant national est déjà rattaché à un autre compte du portail. "
            "Contactez le support de votre structure.",
            403,
        )
    if professionnel is None:
        if Professionnel.objects.filter(compte=compte).exists():
            raise EchecPSC(
                "compte_different",
                "Ce compte est déjà relié à un autre professionnel. Contactez le support de votre structure.",
                403,
            )
        try:
            professionnel = personnes.creer_professionnel(
                acteur=acteur,
                donnees={**donnees, "idnat_ps": idnat, "compte": compte},
                source_officielle=True,
            )
        except ValidationError as exc:
            raise EchecPSC(
                "idnat_invalide", "Identifiant national transmis par Pro Santé Connect invalide."
            ) from exc
    elif professionnel.compte_id is None:
        personnes.modifier_professionnel(
            acteur=acteur, professionnel=professionnel, donnees={"compte": compte}
        )
    if identite is None:
        identite = IdentiteExterne.objects.create(
            compte=compte, fournisseur=FournisseurIdentite.PRO_SANTE_CONNECT, sub=idnat
        )
    identite.derniere_connexion = timezone.now()
    identite.save(update_fields=["derniere_connexion"])
    synchroniser_exercices(professionnel, infos, acteur)
    return compte


# --- Vues -------------------------------------------------------------------------------------


def _page_echec(request: HttpRequest, echec: EchecPSC) -> HttpResponse:
    return oidc_commun.page_echec(request, echec, action="connexion.psc.echec", methode=METHODE, nom=NOM)


@never_cache
@require_GET
def connexion(request: HttpRequest) -> HttpResponse:
    """Départ vers Pro Santé Connect (autorisation, avec state, nonce et PKCE S256)."""
    conf = config()
    if not conf.active:
        raise Http404("Pro Santé Connect n'est pas configuré sur ce portail.")
    try:
        adresse = conf.adresse_autorisation or decouverte(conf)["authorization_endpoint"]
    except EchecPSC as echec:
        return _page_echec(request, echec)
    parametres = oidc_commun.demande_d_autorisation(
        request,
        {
            "response_type": "code",
            "scope": PORTEES,
            "client_id": conf.client_id,
            "redirect_uri": request.build_absolute_uri(reverse(CHEMIN_RETOUR)),
            "acr_values": NIVEAU,
        },
    )
    return redirect(f"{adresse}?{urlencode(parametres)}")


@never_cache
@require_GET
def retour(request: HttpRequest) -> HttpResponse:
    """Retour de Pro Santé Connect : contrôles, ouverture de la session, journal."""
    demande = oidc_commun.retirer_demande(request)  # usage unique : un rejeu ne trouve plus rien
    try:
        code = oidc_commun.controler_retour(request, demande, nom=NOM, echec=EchecPSC)
        compte, id_token, infos = DorsalPSC().connecter(
            request, code, demande.get("nonce"), demande.get("code_verifier")
        )
    except EchecPSC as echec:
        return _page_echec(request, echec)
    suivant = request.session.get(oidc_commun.SESSION_SUIVANT)
    auth.login(request, compte, backend=DORSAL)
    noter_niveau(request, NIVEAU_PSC)
    request.session[SESSION_ID_TOKEN] = id_token
    journaliser(
        acteur=Acteur(TypeActeur.SANS_PERSONNE, compte),
        action="connexion.psc",
        details={
            "methode": METHODE,
            "niveau": NIVEAU,
            "idnat_ps": str(infos.get("SubjectNameID")),
            "activites": len(_activites(infos)),
        },
    )
    return redirect(suivant or reverse("accueil"))


@never_cache
@require_POST
def deconnexion(request: HttpRequest) -> HttpResponse:
    """Déconnexion du portail puis de Pro Santé Connect (end_session avec id_token_hint)."""

    def fin_de_session() -> str | None:
        try:
            return decouverte(config())["end_session_endpoint"]
        except (EchecPSC, KeyError):
            return None

    return oidc_commun.deconnecter(
        request, cle_id_token=SESSION_ID_TOKEN, action="deconnexion.psc", methode=METHODE,
        fin_de_session=fin_de_session, taille_state=32,
    )  # fmt: skip
