"""L'envoi des messages de la boîte d'envoi (ADR 0031, 0032).

Un message « à envoyer » dont l'échéance est passée est **pris** par un worker dans une courte
transaction (`SELECT … FOR UPDATE SKIP LOCKED`) : son échéance est repoussée de la durée du bail et
sa tentative comptée. L'envoi se fait ensuite hors transaction (rebâtir le contenu, le remettre au
pair), puis le résultat s'écrit : envoyé ; ou nouvelle échéance avec attente exponentielle et gigue ;
ou échec définitif (lettre morte) quand le pair refuse le contenu ou que les tentatives sont épuisées.

Un worker qui tombe en cours d'envoi ne laisse qu'un bail qui expire : le message revient au
balayage suivant, et le pair, qui reçoit de nouveau la même clé d'idempotence, ne le garde qu'une
fois. Rien n'est tenu par Redis : la tâche après validation n'est qu'un raccourci vers le balayage.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from coordination.comptes.acteur import Acteur, acteur_systeme
from coordination.echanges import adaptateurs, natures
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant, StatutMessage
from coordination.echanges.services import demander_l_envoi, raison_de_refus
from coordination.journal.services import journaliser_plusieurs, preparer_evenement

journal = logging.getLogger(__name__)

ENVOI = acteur_systeme("envoi des échanges")
LONGUEUR_ERREUR = 2000


class RenvoiImpossible(ValueError):
    """Le message ne peut pas être renvoyé (déjà envoyé, en file, ou toujours interdit)."""


def _dus(maintenant) -> Q:
    """Les messages à prendre : à envoyer, échéance passée, et dont le message qui doit partir avant
    (`precedent`) a fini — envoyé, ou définitivement pas (lettre morte, refus) : le constructeur
    du suivant sait alors quoi faire (ex. un remplacement au DMP part en premier dépôt, ADR 0034).
    Le prédicat sur `statut` et `prochain_essai_le` est celui de l'index partiel
    `echanges_a_envoyer_idx`."""
    return Q(statut=StatutMessage.A_ENVOYER, prochain_essai_le__lte=maintenant) & (
        Q(precedent__isnull=True) | ~Q(precedent__statut=StatutMessage.A_ENVOYER)
    )


def prendre(*, ids: list[int] | None = None, limite: int = 50) -> list[MessageSortant]:
    """Prend (bail) jusqu'à `limite` messages dus, les plus anciennes échéances d'abord ; ceux
    qu'un autre worker tient sont sautés. Rend les messages pris, tentative déjà comptée."""
    maintenant = timezone.now()
    fin_du_bail = maintenant + timedelta(seconds=settings.ECHANGES_BAIL_SECONDES)
    with transaction.atomic():
        requete = MessageSortant.objects.filter(_dus(maintenant))
        if ids is not None:
            requete = requete.filter(pk__in=ids)
        pris = list(
            requete.select_for_update(skip_locked=True, of=("self",))
            .order_by("prochain_essai_le", "id")
            .select_related("usager")[:limite]
        )
        if pris:
            MessageSortant.objects.filter(pk__in=[m.pk for m in pris]).update(
                prochain_essai_le=fin_du_bail, tentatives=F("tentatives") + 1, modifie_le=maintenant
            )
    for message in pris:
        message.prochain_essai_le = fin_du_bail
        message.tentatives += 1
    return pris


def attente_avant(tentative: int) -> timedelta:
    """Attente après la tentative `tentative` ratée : base × 2^(tentative-1), plafonnée, ±20 %
    de gigue (les messages d'une même panne ne reviennent pas tous à la même seconde)."""
    base = settings.ECHANGES_ATTENTE_BASE_SECONDES * 2 ** max(0, tentative - 1)
    secondes = min(base, settings.ECHANGES_ATTENTE_MAX_SECONDES) * random.uniform(0.8, 1.2)  # noqa: S311
    return timedelta(seconds=secondes)


def traiter(message: MessageSortant) -> str:
    """Envoie un message pris et écrit l'issue ; rend le nouveau statut."""
    issue = _remettre(message)
    if isinstance(issue, str):
        return issue
    _marquer_envoyes([issue])
    return StatutMessage.ENVOYE


def _remettre(message: MessageSortant) -> tuple[MessageSortant, str, datetime] | str:
    """Rebâtit et remet le message. Réussi : (message, identifiant distant, heure) — l'écriture de
    « envoyé » est laissée à l'appelant ; raté : l'échec est écrit et le statut rendu."""
    try:
        contenu = natures.construire(message)
        identifiant = adaptateurs.remettre(message, contenu)
    except Rejet as exc:
        return _echec(message, f"Refusé par le destinataire : {exc}", definitif=True)
    except PairIndisponible as exc:
        return _echec(message, f"Destinataire indisponible : {exc}")
    except Exception as exc:  # noqa: BLE001 — un message empoisonné ne doit pas arrêter les autres
        journal.exception("Échec de l'envoi du message %s", message.uuid)
        return _echec(message, f"Erreur à l'envoi ({type(exc).__name__}) : {exc}")
    return message, (identifiant or "")[:200], timezone.now()


def _marquer_envoyes(reussis: list[tuple[MessageSortant, str, datetime]]) -> None:
    """Écrit « envoyé » (et le journal) pour des messages remis, en une transaction : une requête
    pour tous, une pour le journal. Seulement ceux encore « à envoyer » : un doublon tardif (bail
    expiré, repris par un autre worker qui a fini le premier) ne réécrit rien."""
    if not reussis:
        return
    table = MessageSortant._meta.db_table
    valeurs = ", ".join(["(%s::bigint, %s::text, %s::timestamptz)"] * len(reussis))
    parametres = [x for message, identifiant, quand in reussis for x in (message.pk, identifiant, quand)]
    with transaction.atomic(), connection.cursor() as curseur:
        curseur.execute(
            f"UPDATE {table} AS m SET statut = %s, envoye_le = v.quand, prochain_essai_le = NULL, "  # noqa: S608
            f"identifiant_distant = v.identifiant, derniere_erreur = '', modifie_le = v.quand "
            f"FROM (VALUES {valeurs}) AS v(id, identifiant, quand) "
            f"WHERE m.id = v.id AND m.statut = %s RETURNING m.id",
            [StatutMessage.ENVOYE, *parametres, StatutMessage.A_ENVOYER],
        )
        ecrits = {ligne[0] for ligne in curseur.fetchall()}
        journaliser_plusieurs([
            _evenement(message, "echanges.message.envoye", tentatives=message.tentatives)
            for message, _identifiant, _quand in reussis if message.pk in ecrits
        ])  # fmt: skip


def _echec(message: MessageSortant, erreur: str, *, definitif: bool = False) -> str:
    erreur = erreur[:LONGUEUR_ERREUR]
    maintenant = timezone.now()
    lettre_morte = definitif or message.tentatives >= settings.ECHANGES_TENTATIVES_MAX
    if lettre_morte:
        champs = {"statut": StatutMessage.ECHEC_DEFINITIF, "prochain_essai_le": None}
    else:
        champs = {"prochain_essai_le": maintenant + attente_avant(message.tentatives)}
    with transaction.atomic():
        # La tentative comptée doit être la nôtre : si le bail a expiré et qu'un autre worker a repris
        # le message, c'est à lui d'écrire l'issue.
        ecrit = MessageSortant.objects.filter(
            pk=message.pk, statut=StatutMessage.A_ENVOYER, tentatives=message.tentatives
        ).update(derniere_erreur=erreur, modifie_le=maintenant, **champs)
        if ecrit and lettre_morte:
            _journaliser(
                message, "echanges.message.echec_definitif", resultat="echec",
                tentatives=message.tentatives, erreur=erreur,
            )  # fmt: skip
    return StatutMessage.ECHEC_DEFINITIF if lettre_morte else StatutMessage.A_ENVOYER


def _evenement(message: MessageSortant, action: str, *, acteur: Acteur = ENVOI, resultat="succes", **details):
    return preparer_evenement(
        acteur=acteur, action=action, objet_type=message.objet_type, objet_uuid=message.objet_uuid,
        usager=message.usager, resultat=resultat,
        details={"message": str(message.uuid), "destination": message.destination, "nature": message.nature,
                 **details},
    )  # fmt: skip


def _journaliser(message: MessageSortant, action: str, **options) -> None:
    journaliser_plusieurs([_evenement(message, action, **options)])


def envoyer(message_id: int) -> str | None:
    """Envoie ce message s'il est dû et libre (tâche après validation) ; rend son nouveau statut, ou
    None s'il n'était pas à prendre (déjà envoyé, tenu par un autre worker, en attente)."""
    pris = prendre(ids=[message_id], limite=1)
    return traiter(pris[0]) if pris else None


def balayer(*, limite: int = 20, duree_max: float | None = None, fils: int | None = None) -> int:
    """Envoie les messages dus jusqu'à ce qu'il n'y en ait plus (ou `duree_max` secondes) ; rend le
    nombre de messages traités. Appelé par Celery beat et par le banc.

    `fils` (défaut `ECHANGES_FILS_PAR_WORKER`) envois simultanés dans ce processus : chaque fil
    prend ses propres lots (le `SKIP LOCKED` de `prendre` les répartit) avec sa connexion à la base
    et au pair, pour que l'attente des réponses d'un pair ne laisse pas le worker inoccupé. Chaque
    fil ferme ses connexions en finissant."""
    fils = fils or settings.ECHANGES_FILS_PAR_WORKER
    fin = None if duree_max is None else time.monotonic() + duree_max
    if fils <= 1:
        return _vider(limite, fin)
    comptes: list[int] = []

    def fil() -> None:
        try:
            comptes.append(_vider(limite, fin))
        finally:
            adaptateurs.liberer()
            connection.close()

    autres = [threading.Thread(target=fil, name=f"envoi-{rang}") for rang in range(fils)]
    for autre in autres:
        autre.start()
    for autre in autres:
        autre.join()
    return sum(comptes)


def _vider(limite: int, fin: float | None) -> int:
    """Lot par lot : remettre chaque message, puis écrire « envoyé » pour tout le lot d'un coup. Un
    worker tué avant cette écriture laisse au plus un lot à renvoyer ; le pair reconnaît les clés."""
    traites = 0
    while fin is None or time.monotonic() < fin:
        lot = prendre(limite=limite)
        if not lot:
            break
        issues = [_remettre(message) for message in lot]
        _marquer_envoyes([issue for issue in issues if not isinstance(issue, str)])
        traites += len(lot)
    return traites


def renvoyer(message: MessageSortant, *, acteur: Acteur) -> MessageSortant:
    """Remet en file une lettre morte ou un message refusé (action de l'administration), après avoir
    revérifié la règle de refus (une identité qualifiée depuis peut maintenant partir). Journalisé ;
    l'envoi part après la validation de la transaction."""
    with transaction.atomic():
        message = (
            MessageSortant.objects.select_for_update(of=("self",)).select_related("usager").get(pk=message.pk)
        )
        if message.statut not in (StatutMessage.ECHEC_DEFINITIF, StatutMessage.REFUSE):
            raise RenvoiImpossible(
                f"Le message est « {message.get_statut_display()} » : seul un message en échec définitif "
                "ou refusé peut être renvoyé."
            )
        raison = raison_de_refus(message.destination, message.destinataire, message.usager)
        if raison:
            raise RenvoiImpossible(raison)
        ancien = message.statut
        message.statut = StatutMessage.A_ENVOYER
        message.tentatives = 0
        message.prochain_essai_le = timezone.now()
        message.save(update_fields=["statut", "tentatives", "prochain_essai_le", "modifie_le"])
        _journaliser(message, "echanges.message.renvoye", acteur=acteur, ancien_statut=ancien)
        demander_l_envoi(message)
    return message
