"""Boîte d'envoi (scénario `echanges`, ticket 8, point 8), vers l'opérateur MSSanté du bac à sable
(sandbox/mssante.py : SMTP STARTTLS à certificat client, contrôles MSSanté, stockage sur disque) :

- **vidage** : N messages d'essai en file, puis `envoi.balayer()` dans ce processus — exactement ce
  que fait un worker (prise par lots avec bail, contenu rebâti, SMTP sur une connexion gardée,
  « envoyé » et journal écrits) ; messages/s. Objectif : ≥ 200 messages/s par worker.
- **latence** : un vrai worker Celery (processus à part, `--concurrency=1`) au repos ; un message
  à la fois est mis en file dans sa transaction, et l'on mesure de la validation à l'écriture de
  « envoyé » par le worker (demande après validation → Redis → worker → opérateur). Objectif :
  p95 ≤ 1 s."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.db import connections, transaction
from django.utils import timezone

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges import envoi
from coordination.echanges import mssante as adaptateur
from coordination.echanges.essai import NATURE
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.echanges.services import mettre_en_file
from sandbox.mssante import OperateurMSSante
from sandbox.processus import WorkerCelery

BAL = "banc@structure-fictive.mssante.fr"
SYSTEME = acteur_systeme("banc des échanges")


def reglages_mssante(operateur: OperateurMSSante) -> dict[str, str]:
    return {
        "MSSANTE_HOTE": "127.0.0.1",
        "MSSANTE_PORT_SMTP": str(operateur.ports["smtp"]),
        "MSSANTE_PORT_IMAP": str(operateur.ports["imap"]),
        "MSSANTE_CA": str(operateur.pki.ca),
        "MSSANTE_CERTIFICAT_CLIENT": str(operateur.pki.certificat_client),
        "MSSANTE_CLE_CLIENT": str(operateur.pki.cle_client),
        "MSSANTE_BAL_APPLICATION": operateur.bal_application,
    }


def _pointer_sur(operateur: OperateurMSSante) -> None:
    from django.conf import settings

    for nom, valeur in reglages_mssante(operateur).items():
        setattr(settings, nom, int(valeur) if nom.startswith("MSSANTE_PORT") else valeur)
    adaptateur.fermer()


def _en_file(nombre: int, serie: str) -> list[int]:
    """`nombre` messages d'essai en file, en une transaction (la préparation n'est pas mesurée)."""
    with transaction.atomic():
        return [
            mettre_en_file(
                acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL, nature=NATURE,
                cle_idempotence=f"{NATURE}:{serie}-{rang}", charge={"numero": f"{serie}-{rang}"},
            ).pk
            for rang in range(nombre)
        ]  # fmt: skip


def vidage(operateur: OperateurMSSante, nombre: int) -> dict:
    _pointer_sur(operateur)
    # Chauffe : connexion TLS ouverte, caches Django remplis.
    _en_file(20, f"chauffe-{uuid.uuid4().hex[:6]}")
    envoi.balayer()
    ids = _en_file(nombre, uuid.uuid4().hex[:8])
    debut = time.perf_counter()
    traites = envoi.balayer()
    duree = time.perf_counter() - debut
    envoyes = MessageSortant.objects.filter(pk__in=ids, statut=StatutMessage.ENVOYE).count()
    return {
        "messages": nombre,
        "traites": traites,
        "envoyes": envoyes,
        "duree_s": round(duree, 2),
        "messages_par_s": round(envoyes / duree, 1),
        "stockes_par_l_operateur": sum(1 for m in operateur.messages() if m.a == [BAL]),
    }


def latence(operateur: OperateurMSSante, dossier: Path, database_url: str, mesures: int) -> dict:
    from django.conf import settings

    worker = WorkerCelery(
        dossier / "worker-latence",
        {"DATABASE_URL": database_url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
         "ECHANGES_BALAYAGE_SECONDES": "60", **reglages_mssante(operateur)},
    ).demarrer()  # fmt: skip
    durees: list[float] = []
    try:
        _attendre_le_worker(worker)
        for rang in range(mesures):
            serie = f"latence-{uuid.uuid4().hex[:6]}-{rang}"
            with transaction.atomic():
                message = mettre_en_file(
                    acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL, nature=NATURE,
                    cle_idempotence=f"{NATURE}:{serie}", charge={"numero": serie},
                )  # fmt: skip
                valide_le = timezone.now()  # juste avant la validation : validation et demande comprises
            envoye_le = _attendre_l_envoi(message.pk, worker)
            durees.append((envoye_le - valide_le).total_seconds())
            time.sleep(0.05)  # au repos entre deux messages
    finally:
        worker.arreter()
    return {"mesures": len(durees), "durees_s": durees}


def _attendre_le_worker(worker: WorkerCelery) -> None:
    """Le worker est prêt quand il a envoyé un premier message (démarrage de Celery et de Django)."""
    with transaction.atomic():
        message = mettre_en_file(
            acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL, nature=NATURE,
            cle_idempotence=f"{NATURE}:pret-{uuid.uuid4().hex[:8]}", charge={"numero": "prêt"},
        )  # fmt: skip
    _attendre_l_envoi(message.pk, worker, delai=60)


def _attendre_l_envoi(pk: int, worker: WorkerCelery, delai: float = 10):
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        envoye_le = MessageSortant.objects.filter(pk=pk).values_list("envoye_le", flat=True).first()
        if envoye_le is not None:
            return envoye_le
        time.sleep(0.005)
    connections.close_all()
    raise RuntimeError(f"Message {pk} non envoyé en {delai} s ; voir {worker.journal}")
