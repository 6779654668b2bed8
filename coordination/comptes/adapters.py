"""Adaptateurs django-allauth : pas d'inscription libre, MFA impossible à désactiver."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter


class AdaptateurComptes(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Les comptes locaux sont créés sur invitation (professionnels sans RPPS, aidants sans
        FranceConnect+), jamais par inscription libre."""
        return False


class AdaptateurMFA(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        """La MFA est obligatoire pour un compte local : on remplace le TOTP, on ne le supprime pas."""
        return authenticator.type != authenticator.Type.TOTP
