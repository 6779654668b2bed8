"""Tâches périodiques des comptes."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="comptes.purger_jetons_oauth2")
def purger_jetons_oauth2() -> None:
    """Chaque nuit : les jetons OAuth2 expirés des logiciels sont effacés (django-oauth-toolkit,
    `cleartokens`) ; un jeton expiré ne sert plus à rien et n'a pas à rester en base."""
    call_command("cleartokens")


@shared_task(name="comptes.expirer_invitations")
def expirer_invitations() -> int:
    """Chaque nuit : l'expiration des invitations échues est écrite au journal (une fois chacune)."""
    from coordination.comptes.invitations import expirer_invitations as expirer

    return expirer()
