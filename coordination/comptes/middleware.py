"""MFA obligatoire pour les comptes locaux, et résolution de l'acteur de la requête."""

from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse

from coordination.comptes.acteur import acteur_de_la_session

# Parcours accessibles avant d'avoir activé la MFA ou choisi sa qualité.
CHEMINS_LIBRES = ("/comptes/", "/static/", "/sante/", "/favicon.ico")
# API (FHIR, REST, jetons OAuth2) : jamais de redirection vers une page ; l'API vérifie elle-même
# la session (`session_authentifiee_fortement`) et répond 401/403 dans son format.
CHEMINS_API = ("/fhir", "/api/", "/o/")
SESSION_MFA_OK = "mfa_ok"


def _libre(path: str) -> bool:
    return path.startswith(CHEMINS_LIBRES)


def _api(path: str) -> bool:
    return path.startswith(CHEMINS_API)


def compte_a_une_mfa(compte) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=compte, type=Authenticator.Type.TOTP).exists()


def session_passee_par_la_mfa(request) -> bool:
    """Vrai si *cette* session a franchi un second facteur (code TOTP ou code de secours à la
    connexion, ou activation du TOTP) — pas seulement si le compte en possède un."""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def session_authentifiee_fortement(request) -> bool:
    """Vrai si l'utilisateur connecté l'est par une session de niveau suffisant pour les données
    d'usager : compte local passé par le second facteur, Pro Santé Connect, FranceConnect+ eIDAS 2
    ou plus (`connexions.niveau_session`). Pour les API, qui ne redirigent pas vers l'activation."""
    from coordination.comptes.connexions import niveau_fort

    return niveau_fort(request)


class MFAObligatoireMiddleware:
    """Un compte local connecté sans TOTP ne voit que la page d'activation de la MFA.

    Les connexions Pro Santé Connect et FranceConnect+ (déjà à double facteur chez le
    fournisseur) marquent la session (méthode et niveau) et ne sont pas concernées."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        compte = request.user
        if (
            compte.is_authenticated
            and not _libre(request.path)
            and not _api(request.path)
            and not session_authentifiee_fortement(request)
        ):
            if compte_a_une_mfa(compte):
                # Session ouverte par mot de passe seul avant l'activation du TOTP (ailleurs) :
                # elle ne vaut rien, il faut se reconnecter avec le code.
                logout(request)
                return redirect_to_login(request.get_full_path())
            return redirect("mfa_activate_totp")
        return self.get_response(request)


class ActeurMiddleware:
    """Pose `request.acteur` ; renvoie vers le choix de la qualité quand le compte en a plusieurs
    et n'a pas encore choisi."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.acteur = None
        if request.user.is_authenticated:
            request.acteur = acteur_de_la_session(request)
            choix = reverse("choisir_acteur")
            if (
                request.acteur is None
                and not _libre(request.path)
                and not _api(request.path)
                and not request.path.startswith("/admin/")
                and request.path != choix
            ):
                return redirect(f"{choix}?{urlencode({'suivant': request.get_full_path()})}")
        return self.get_response(request)
