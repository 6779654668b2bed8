"""Ce que les connexions fédérées (Pro Santé Connect, FranceConnect+) font de la même façon :
refus expliqué et journalisé, découverte et JWKS du fournisseur (en cache), demande d'autorisation
avec `state`, `nonce` et PKCE S256 rangés en session, retrait du `state` au retour (usage unique),
contrôle des revendications d'un jeton. Ce qui diffère (format des jetons, identification de la
personne) reste dans psc.py et fcplus.py."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import requests
from django.contrib import auth
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import urlencode
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet
from mozilla_django_oidc.utils import add_state_and_verifier_and_nonce_to_session, generate_code_challenge
from mozilla_django_oidc.views import get_next_url

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.models import Resultat
from coordination.journal.services import journaliser

logger = logging.getLogger(__name__)

SESSION_SUIVANT = "oidc_login_next"


class EchecConnexion(Exception):
    """Refus expliqué : `motif` (code court pour le journal) et message pour la personne."""

    def __init__(self, motif: str, message: str, statut: int = 400) -> None:
        super().__init__(message)
        self.motif = motif
        self.message = message
        self.statut = statut


# --- Découverte et clés du fournisseur ------------------------------------------------------------


def decouverte(adresse: str, emetteur: str, *, nom: str, delai: float, echec=EchecConnexion) -> dict:
    """Document de découverte, gardé une heure en cache (clé : l'adresse) ; son `issuer` doit être
    l'émetteur configuré."""
    cle = "oidc:decouverte:" + hashlib.sha256(adresse.encode()).hexdigest()
    document = cache.get(cle)
    if document is None:
        try:
            reponse = requests.get(adresse, timeout=delai)
            reponse.raise_for_status()
            document = reponse.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("Découverte %s impossible : %s", nom, exc)
            raise echec(
                "decouverte",
                f"{nom} ne répond pas pour le moment. Réessayez dans quelques minutes ou utilisez votre "
                "compte local.",
                503,
            ) from exc
        if document.get("issuer", "").rstrip("/") != emetteur.rstrip("/"):
            raise echec("decouverte", f"{nom} : la configuration publiée ne correspond pas.", 503)
        cache.set(cle, document, 3600)
    return document


def jwks_du_fournisseur(adresse: str, *, nom: str, delai: float, echec=EchecConnexion) -> KeySet:
    """Clés publiques du fournisseur, lues à chaque vérification (il les change régulièrement)."""
    try:
        reponse = requests.get(adresse, timeout=delai)
        reponse.raise_for_status()
        return KeySet.import_key_set(reponse.json())
    except (requests.RequestException, ValueError, JoseError) as exc:
        raise echec("jwks", f"Les clés de {nom} sont indisponibles.", 503) from exc


# --- Demande d'autorisation et retour ------------------------------------------------------------


def demande_d_autorisation(request: HttpRequest, parametres: dict[str, str], *, pkce: bool = True) -> dict:
    """Complète les paramètres d'autorisation avec `state`, `nonce` (43 caractères) et, si `pkce`,
    le défi S256 ; range state, nonce et vérificateur en session (outils de mozilla-django-oidc),
    ainsi que l'adresse où revenir."""
    parametres = {**parametres, "state": get_random_string(43), "nonce": get_random_string(43)}
    verificateur = None
    if pkce:
        verificateur = get_random_string(64)
        parametres["code_challenge"] = generate_code_challenge(verificateur, "S256")
        parametres["code_challenge_method"] = "S256"
    add_state_and_verifier_and_nonce_to_session(request, parametres["state"], parametres, verificateur)
    request.session[SESSION_SUIVANT] = get_next_url(request, "next")
    return parametres


def retirer_demande(request: HttpRequest) -> dict | None:
    """La demande rangée sous le `state` du retour, retirée de la session : un rejeu ne trouve plus
    rien. None si le `state` est absent ou inconnu dans ce navigateur."""
    etats = request.session.get("oidc_states") or {}
    etat = request.GET.get("state", "")
    demande = etats.pop(etat, None) if etat else None
    request.session["oidc_states"] = etats
    return demande


def controler_retour(request: HttpRequest, demande: dict | None, *, nom: str, echec=EchecConnexion) -> str:
    """Erreur renvoyée par le fournisseur, `state` inconnu, code absent : refus expliqués.
    Renvoie le code d'autorisation."""
    if request.GET.get("error"):
        detail = request.GET.get("error_description") or request.GET["error"]
        raise echec("refus_fournisseur", f"{nom} n'a pas autorisé la connexion ({detail}).")
    if demande is None:
        raise echec(
            "etat_inconnu",
            f"Cette réponse de {nom} ne correspond à aucune connexion en cours dans ce navigateur (lien "
            "déjà utilisé ou expiré). Recommencez la connexion.",
        )
    if not request.GET.get("code"):
        raise echec("sans_code", f"{nom} n'a pas transmis de code d'autorisation.")
    return request.GET["code"]


# --- Revendications d'un jeton ---------------------------------------------------------------------


def valider_revendications(
    revendications: dict, *, nom: str, emetteur: str, client_id: str, nonce: str | None = None,
    niveaux: tuple[str, ...] = (), identite: bool = True, exiger_exp: bool = False,
    message_niveau: str = "", echec=EchecConnexion,
) -> dict:  # fmt: skip
    """`iss`, `aud` ; pour un jeton d'identité aussi `exp`, `nonce` et `acr` (parmi `niveaux`).
    Les refus portent un motif (`jeton_expire`, `nonce`, `niveau`, `revendication`)."""
    attendues: dict = {
        "iss": {"essential": True, "value": emetteur},
        "aud": {"essential": True, "value": client_id},
    }
    if identite or exiger_exp:
        attendues["exp"] = {"essential": True}
    if identite:
        attendues["nonce"] = {"essential": True, "value": nonce}
        attendues["acr"] = {"essential": True, "values": list(niveaux)}
    try:
        jwt.JWTClaimsRegistry(leeway=30, **attendues).validate(revendications)
    except ExpiredTokenError as exc:
        raise echec("jeton_expire", f"Le jeton de {nom} a expiré. Recommencez la connexion.") from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        revendication = getattr(exc, "claim", "")
        if revendication == "nonce":
            raise echec("nonce", f"La réponse de {nom} ne correspond pas à votre demande (nonce).") from exc
        if revendication == "acr":
            raise echec("niveau", message_niveau or "Niveau d'authentification insuffisant.") from exc
        raise echec("revendication", f"Jeton de {nom} non conforme ({revendication or exc}).") from exc
    except JoseError as exc:
        raise echec("revendication", f"Jeton de {nom} non conforme.") from exc
    return revendications


# --- Refus : journal et page ---------------------------------------------------------------------


def page_echec(
    request: HttpRequest, echec: EchecConnexion, *, action: str, methode: str, nom: str
) -> HttpResponse:
    """Journalise le refus (`action`, motif et message) et l'explique à la personne."""
    journaliser(
        acteur=None,
        action=action,
        resultat=Resultat.REFUSE if echec.statut in (400, 403) else Resultat.ECHEC,
        details={"methode": methode, "motif": echec.motif, "message": echec.message},
    )
    contexte = {"message": echec.message, "fournisseur": nom, "motif": echec.motif}
    return render(request, "comptes/connexion_echec.html", contexte, status=echec.statut)


# --- Déconnexion des deux côtés ------------------------------------------------------------------


def deconnecter(
    request: HttpRequest,
    *,
    cle_id_token: str,
    action: str,
    methode: str,
    fin_de_session: Callable[[], str | None],
    taille_state: int,
) -> HttpResponse:
    """Ferme la session du portail, journalise (`action`), puis renvoie le navigateur vers la fin
    de session du fournisseur avec `id_token_hint`, `state` et `post_logout_redirect_uri` ; vers la
    page de connexion si le fournisseur n'a pas laissé de jeton ou ne publie pas d'adresse de fin.
    `fin_de_session` : l'adresse de fin de session du fournisseur, ou None si indisponible."""
    id_token = request.session.get(cle_id_token)
    compte = request.user if request.user.is_authenticated else None
    acteur = getattr(request, "acteur", None)
    auth.logout(request)
    retour_connexion = request.build_absolute_uri(reverse("account_login"))
    if compte is None:
        return redirect(retour_connexion)
    journaliser(
        acteur=acteur if acteur is not None else Acteur(TypeActeur.SANS_PERSONNE, compte),
        action=action,
        details={"methode": methode, "fin_session_fournisseur": bool(id_token)},
    )
    fin = fin_de_session() if id_token else None
    if not fin:
        return redirect(retour_connexion)
    parametres = {
        "id_token_hint": id_token,
        "state": get_random_string(taille_state),
        "post_logout_redirect_uri": retour_connexion,
    }
    return redirect(f"{fin}?{urlencode(parametres)}")
