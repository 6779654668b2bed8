"""Le calendrier CalDAV d'un professionnel, côté portail (cas d'usage 3, ADR 0024) : le relier,
et le synchroniser — ses rendez-vous du portail y sont publiés, ce qu'il crée là-bas devient du
temps occupé ici (jamais son contenu). La planification et l'adaptateur sont
`agenda/synchronisation.py` et `coordination/echanges/caldav.py` ; ce module charge et enregistre.

Le mot de passe est chiffré (Fernet, clé dérivée de SECRET_KEY) : il doit être relu pour chaque
synchronisation, un hachage ne suffirait pas."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from agenda import ics, selectors
from agenda.models import (
    CalendrierCalDAV,
    LienCalDAV,
    OccupationExterne,
    StatutEvenement,
    StatutParticipation,
)
from agenda.services import _exiger_professionnel, _journaliser
from agenda.synchronisation import Lien, Local, synchroniser
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.echanges.caldav import CalendrierDistant, ErreurCalDAV
from coordination.personnes.models import Exercice

FENETRE = (dt.timedelta(days=30), dt.timedelta(days=365))


def _fernet() -> Fernet:
    cle = hashlib.sha256(b"agenda.caldav:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(cle))


def chiffrer(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def dechiffrer(jeton: str) -> str:
    try:
        return _fernet().decrypt(jeton.encode()).decode()
    except InvalidToken:
        raise ValidationError(
            "Le mot de passe du calendrier ne peut plus être relu : reliez le calendrier."
        ) from None


def distant(calendrier: CalendrierCalDAV) -> CalendrierDistant:
    return CalendrierDistant(
        calendrier.url, calendrier.utilisateur, dechiffrer(calendrier.mot_de_passe_chiffre)
    )


def relier(*, acteur: Acteur, url: str, utilisateur: str, mot_de_passe: str) -> CalendrierCalDAV:
    """Relie (ou relie à nouveau) le calendrier CalDAV du professionnel, après avoir vérifié qu'il
    répond avec ces identifiants ; la première synchronisation suit."""
    exercice = _exiger_professionnel(acteur)
    try:
        CalendrierDistant(url, utilisateur, mot_de_passe).changements(None)
    except ErreurCalDAV as erreur:
        raise ValidationError({"url": erreur.message}) from None
    with transaction.atomic():
        calendrier, _ = CalendrierCalDAV.objects.update_or_create(
            professionnel_id=exercice.professionnel_id,
            defaults={
                "url": url,
                "utilisateur": utilisateur,
                "mot_de_passe_chiffre": chiffrer(mot_de_passe),
                "jeton_sync": "",
                "derniere_erreur": "",
            },
        )
        calendrier.liens.all().delete()
        _journaliser(acteur, "agenda.caldav.liaison", usager=None, details={"hote": url.split("/")[2][:100]})
    return calendrier


def _locaux(calendrier: CalendrierCalDAV) -> list[Local]:
    """Les rendez-vous du professionnel à publier : un VCALENDAR par série ; annulés ou déclinés,
    ils sont à retirer de là-bas ; « Occupé » pour un usager dont il ne lit plus l'agenda."""
    maintenant = timezone.now()
    professionnel_id = calendrier.professionnel_id
    evenements = selectors.evenements_du_professionnel_sur(
        professionnel_id, maintenant - FENETRE[0], maintenant + FENETRE[1]
    )
    lisibles: set[int] = set()  # dans l'une ou l'autre de ses situations d'exercice
    for exercice in Exercice.objects.filter(professionnel_id=professionnel_id).select_related("structure"):
        lisibles |= selectors.usagers_lisibles(
            Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercice), evenements
        )
    locaux = []
    for evenement in evenements:
        moi = next(p for p in evenement.participants_precharges if p.professionnel_id == professionnel_id)
        annule = evenement.statut == StatutEvenement.ANNULE or moi.statut == StatutParticipation.DECLINE
        masquer = lambda e: bool(e.usager_id) and e.usager_id not in lisibles  # noqa: E731
        corps = ics.ecrire_calendrier(ics.evenements_ics([evenement], masquer=masquer), nom="Portail")
        locaux.append(
            Local(uid=ics.uid_evenement(evenement), version=evenement.sequence, ics=corps, annule=annule)
        )
    return locaux


def synchroniser_calendrier(calendrier: CalendrierCalDAV) -> dict:
    """Une synchronisation complète ; l'erreur éventuelle est gardée sur le calendrier (visible par
    le professionnel) et relancée pour que la tâche réessaie."""
    source = f"caldav:{calendrier.pk}"
    liens = [
        Lien(l.uid, l.href, l.etag, l.origine, l.version_locale)
        for l in calendrier.liens.all()  # noqa: E741
    ]
    try:
        plan, nouveaux_liens, jeton = synchroniser(
            distant(calendrier), _locaux(calendrier), liens, calendrier.jeton_sync or None
        )
    except (ErreurCalDAV, ValidationError) as erreur:
        message = erreur.message if isinstance(erreur, ErreurCalDAV) else " ".join(erreur.messages)
        CalendrierCalDAV.objects.filter(pk=calendrier.pk).update(derniere_erreur=message[:500])
        raise
    maintenant = timezone.now()
    with transaction.atomic():
        a_retirer = set(plan.occupations_a_retirer) | {e.uid for e in plan.occupations_a_importer}
        OccupationExterne.objects.filter(
            professionnel_id=calendrier.professionnel_id, source=source, uid__in=a_retirer
        ).delete()
        nouvelles = []
        for element in plan.occupations_a_importer:
            lu = ics.lire_calendrier(element.ics)
            for intervalle in ics.occupations(lu, maintenant - FENETRE[0], maintenant + FENETRE[1]):
                nouvelles.append(
                    OccupationExterne(
                        professionnel_id=calendrier.professionnel_id,
                        source=source,
                        uid=element.uid[:255],
                        periode=DateTimeTZRange(intervalle.debut, intervalle.fin, "[)"),
                    )
                )
        OccupationExterne.objects.bulk_create(nouvelles)
        calendrier.liens.all().delete()
        LienCalDAV.objects.bulk_create(
            LienCalDAV(calendrier=calendrier, uid=l.uid, href=l.href, etag=l.etag, origine=l.origine,  # noqa: E741
                       version_locale=l.version_locale)
            for l in nouveaux_liens  # noqa: E741
        )  # fmt: skip
        CalendrierCalDAV.objects.filter(pk=calendrier.pk).update(
            jeton_sync=jeton, derniere_synchro=maintenant, derniere_erreur="; ".join(plan.conflits)[:500]
        )
    return {
        "envoyes": len(plan.a_envoyer),
        "supprimes_la_bas": len(plan.a_supprimer_la_bas),
        "occupations_importees": len(plan.occupations_a_importer),
        "occupations_retirees": len(plan.occupations_a_retirer),
        "conflits": list(plan.conflits),
    }
