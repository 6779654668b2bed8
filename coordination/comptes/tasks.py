"""Tâches périodiques des comptes."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="comptes.purger_jetons_oauth2")
def purger_jetons_oauth2() -> None:
    """Chaque nuit : les jetons OAuth2 expirés des logiciels sont effacés (django-oauth-toolkit,
    `cleartokens`) ; un jeton expiré ne sert plus à rien et n'a pas à rester en base."""
    call_command("cleartokens")
