"""Adaptateurs django-allauth : pas d'inscription libre, MFA impossible à désactiver."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter


class AdaptateurComptes(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Les comptes locaux sont créés sur invitation (professionnels sans RPPS, aidants sans
        FranceConnect+), jamais par inscription libre."""
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Première activation du TOTP : pas de second mot de passe. Le compte n'a encore aucun
        second facteur, et le middleware le cantonne aux pages de compte jusqu'à l'activation ;
        redemander le mot de passe au milieu de l'activation ferait aussi changer le code QR."""
        requis = super().is_reauthentication_required(app=app, **kwargs)
        if requis and app == "allauth.mfa":
            from coordination.comptes.middleware import compte_a_une_mfa

            compte = getattr(context.request, "user", None)
            if compte is not None and compte.is_authenticated and not compte_a_une_mfa(compte):
                return False
        return requis


class AdaptateurMFA(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        """La MFA est obligatoire pour un compte local : on remplace le TOTP, on ne le supprime pas."""
        return authenticator.type != authenticator.Type.TOTP
