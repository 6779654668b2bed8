"""Qui appelle l'API FHIR : un logiciel (jeton OAuth2 Bearer) ou un utilisateur connecté.

- Jeton Bearer : vérifié par django-oauth-toolkit (existence, expiration) ; l'application doit être
  un client logiciel actif. L'acteur est alors de type LOGICIEL, pour le compte de sa structure,
  avec les portées du jeton.
- Session : seulement en lecture (GET), et seulement si la session a franchi le second facteur
  (ou vient d'une connexion fédérée). L'acteur est celui choisi dans le portail.
- Sinon : 401 avec le défi `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oauth2_provider.oauth2_backends import get_oauthlib_core

from coordination.comptes.logiciels import acteur_du_jeton
from coordination.comptes.middleware import session_authentifiee_fortement
from coordination.fhir import erreurs

if TYPE_CHECKING:
    from django.http import HttpRequest

    from coordination.comptes.acteur import Acteur

# Ce qu'un utilisateur connecté peut faire : lire (les habilitations filtrent ensuite).
PORTEES_SESSION = frozenset({"system/*.read"})
METHODES_SESSION = ("GET", "HEAD")


def authentifier(request: HttpRequest) -> tuple[Acteur, frozenset[str]]:
    """(acteur, portées) de la requête, ou ErreurFHIR 401/403."""
    autorisation = request.META.get("HTTP_AUTHORIZATION", "")
    if autorisation:
        if not autorisation.lower().startswith("bearer "):
            raise erreurs.non_authentifie("Seule l'authentification « Bearer » (OAuth2) est acceptée.")
        valide, requete_oauth = get_oauthlib_core().verify_request(request, scopes=[])
        jeton = getattr(requete_oauth, "access_token", None) if valide else None
        acteur = acteur_du_jeton(jeton) if jeton is not None else None
        if acteur is None:
            raise erreurs.non_authentifie(
                "Jeton d'accès invalide, expiré ou révoqué.", erreur_oauth="invalid_token"
            )
        return acteur, frozenset(jeton.scopes)
    if request.user.is_authenticated:
        if not session_authentifiee_fortement(request):
            raise erreurs.non_authentifie("Session sans second facteur : reconnectez-vous avec votre code.")
        if request.method not in METHODES_SESSION:
            raise erreurs.interdit(
                "Avec une session du portail, l'API FHIR est en lecture seule ; un logiciel écrit avec "
                "un jeton OAuth2."
            )
        acteur = getattr(request, "acteur", None)
        if acteur is None:
            raise erreurs.interdit("Choisissez d'abord en quelle qualité vous agissez, dans le portail.")
        return acteur, PORTEES_SESSION
    raise erreurs.non_authentifie("Authentification requise : jeton OAuth2 (Bearer) ou session du portail.")
