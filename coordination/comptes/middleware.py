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
# Gestion du second facteur (ajout de clé, codes de secours…) : libre pour un compte qui n'en a pas
# encore, mais pas pour une session qui ne l'a pas franchi alors que le compte en a un.
CHEMINS_SECOND_FACTEUR = "/comptes/2fa/"


def _libre(path: str) -> bool:
    return path.startswith(CHEMINS_LIBRES)


def _api(path: str) -> bool:
    return path.startswith(CHEMINS_API)


def compte_a_une_mfa(compte) -> bool:
    """Vrai si le compte a un second facteur : application d'authentification (TOTP) ou au moins
    une clé de sécurité (WebAuthn). Les codes de secours seuls ne comptent pas : ils accompagnent
    l'un des deux."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=compte, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def session_passee_par_la_mfa(request) -> bool:
    """Vrai si *cette* session a franchi un second facteur (code TOTP, clé de sécurité ou code de
    secours à la connexion, activation du TOTP ou ajout d'une première clé) — pas seulement si le
    compte en possède un."""
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
    """Un compte local connecté sans second facteur (TOTP ou clé de sécurité) ne voit que les pages
    de compte, à commencer par l'activation du TOTP (qui propose aussi la clé de sécurité).

    Les connexions Pro Santé Connect et FranceConnect+ (déjà à double facteur chez le
    fournisseur) marquent la session (méthode et niveau) et ne sont pas concernées."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        compte = request.user
        chemin = request.path
        libre = _libre(chemin)
        if (
            compte.is_authenticated
            and (not libre or chemin.startswith(CHEMINS_SECOND_FACTEUR))
            and not _api(chemin)
            and not session_authentifiee_fortement(request)
        ):
            if compte_a_une_mfa(compte):
                # Session ouverte par mot de passe seul avant l'activation du second facteur
                # (ailleurs) : elle ne vaut rien, il faut se reconnecter avec le code ou la clé.
                # Y compris pour gérer le second facteur : sinon elle pourrait ajouter sa clé.
                logout(request)
                return redirect_to_login(request.get_full_path())
            if not libre:
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
