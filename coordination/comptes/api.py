"""Authentification des API REST (DRF) : session du portail (second facteur franchi) ou jeton
OAuth2 d'un client logiciel. Dans les deux cas `request.acteur` est posé pour le journal et les
habilitations."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed

from coordination.comptes.acteur import Acteur
from coordination.comptes.logiciels import acteur_du_jeton
from coordination.comptes.middleware import session_authentifiee_fortement


@dataclass(frozen=True)
class UtilisateurLogiciel:
    """`request.user` d'une requête faite par un logiciel : il n'a pas de compte, seulement un acteur."""

    acteur: Acteur
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None

    def __str__(self) -> str:
        return self.acteur.nom


class SessionAvecSecondFacteur(SessionAuthentication):
    """Session du portail, seulement si elle a franchi le second facteur (ou est fédérée)."""

    def authenticate(self, request):
        resultat = super().authenticate(request)
        if resultat is None:
            return None
        if not session_authentifiee_fortement(request._request):
            raise AuthenticationFailed("Session sans second facteur : reconnectez-vous avec votre code.")
        return resultat


class JetonLogiciel(OAuth2Authentication):
    """Jeton Bearer (django-oauth-toolkit) d'un client logiciel actif."""

    def authenticate(self, request):
        resultat = super().authenticate(request)
        if resultat is None:
            return None
        _, jeton = resultat
        acteur = acteur_du_jeton(jeton)
        if acteur is None:
            raise AuthenticationFailed("Jeton d'un client logiciel révoqué ou inconnu.")
        request._request.acteur = acteur
        return UtilisateurLogiciel(acteur), jeton


# --- Schéma OpenAPI (drf-spectacular) : comment s'authentifier --------------------------------------


class SchemaSessionAvecSecondFacteur(OpenApiAuthenticationExtension):
    target_class = SessionAvecSecondFacteur
    name = "sessionPortail"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Session du portail, après le second facteur (TOTP) ou une connexion fédérée.",
        }


class SchemaJetonLogiciel(OpenApiAuthenticationExtension):
    target_class = JetonLogiciel
    name = "jetonLogiciel"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Logiciel d'une structure (DUI) : jeton « client credentials » à /o/token/.",
            "flows": {"clientCredentials": {"tokenUrl": "/o/token/", "scopes": {}}},
        }
