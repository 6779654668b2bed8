"""Tâches de l'agenda : expiration des demandes de réunion, synchronisation CalDAV, relecture de
Mon espace santé."""

from celery import shared_task

from agenda import reunions


@shared_task(name="agenda.expirer_reunions")
def expirer_reunions() -> int:
    """Tous les quarts d'heure : les demandes de réunion sans accord à leur date limite libèrent le
    créneau tenu dans chaque agenda, et chacun est prévenu."""
    return reunions.expirer_demandes()


@shared_task(
    name="agenda.synchroniser_caldav",
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def synchroniser_caldav(calendrier_id: int) -> dict:
    """Synchronise un calendrier CalDAV ; en cas d'échec (serveur injoignable…), réessaie plus tard
    avec un délai croissant : rien n'est perdu, le jeton et les liens n'ont pas bougé."""
    from agenda.caldav_portail import synchroniser_calendrier
    from agenda.models import CalendrierCalDAV

    calendrier = CalendrierCalDAV.objects.select_related("professionnel").filter(pk=calendrier_id).first()
    return synchroniser_calendrier(calendrier) if calendrier else {}


@shared_task(name="agenda.synchroniser_tous_les_caldav")
def synchroniser_tous_les_caldav() -> int:
    """Tous les quarts d'heure : une tâche par calendrier relié."""
    from agenda.models import CalendrierCalDAV

    identifiants = list(CalendrierCalDAV.objects.values_list("pk", flat=True))
    for identifiant in identifiants:
        synchroniser_caldav.delay(identifiant)
    return len(identifiants)


@shared_task(name="agenda.relire_mes")
def relire_mes() -> dict:
    """Périodiquement (`MES_RELECTURE_MINUTES`) : les rendez-vous que chaque personne appariée a notés
    dans Mon espace santé entrent dans son agenda consolidé (agenda/mes.py) ; idempotente."""
    from agenda import mes

    return mes.relire_tous()
