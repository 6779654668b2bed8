"""Distribution des événements à notifier, et résumés (docs/decisions/0035-notifications.md).

`distribuer` lit, source par source, les lignes pas encore distribuées (`FOR UPDATE SKIP LOCKED`,
par lots), retrouve les destinataires qui ont encore le droit de savoir (habilitations relues au
moment de la distribution, jamais l'auteur), crée leurs `Notification`s (le portail) puis, selon
leurs préférences : un message de la boîte d'envoi tout de suite (`notifications.immediate`), ou
un élément du prochain résumé. Un lot = une transaction : la ligne source n'est marquée
distribuée qu'avec ce qu'elle a produit. `envoyer_resumes` range un message par compte et canal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agenda.models import NotificationAgenda, TypeParticipant
from cahier_liaison import selectors as cahier_selectors
from cahier_liaison.models import EvenementCahier
from cercle import habilitations
from coordination.comptes.acteur import Acteur, acteur_systeme
from coordination.echanges.services import mettre_en_file
from coordination.journal.services import journaliser_plusieurs, preparer_evenement
from coordination.notifications.abonnements import mettre_en_file_webhooks, natures_suivies
from coordination.notifications.catalogue import Canal, Frequence, NatureNotification
from coordination.notifications.destinataires import (
    acteurs_des_cles,
    cles_des_exercices,
    cles_des_membres,
    cles_du_cercle,
)
from coordination.notifications.models import ElementResume, Notification, Preference, Signal, Source
from coordination.notifications.preferences import Coordonnees, coordonnees_de, frequence_par_defaut
from coordination.personnes.models import Proche, Professionnel, Usager
from ppa.models import RappelRevue

NATURE_IMMEDIATE = "notifications.immediate"
NATURE_RESUME = "notifications.resume"
CANAUX_SORTANTS = (Canal.COURRIEL, Canal.SMS, Canal.MSSANTE)
RESUMES = (Frequence.QUOTIDIENNE, Frequence.HEBDOMADAIRE)

# Signaux : (action, domaine) qu'il faut pour être prévenu.
DROIT_DES_SIGNAUX = {
    NatureNotification.MEMBRE_AJOUTE: ("lire", "cercle"),
    NatureNotification.DEMANDE_ADHESION: ("gerer", "cercle"),
    NatureNotification.PPA_CONTRIBUTION: ("lire", "ppa"),
    NatureNotification.PPA_VALIDATION: ("lire", "ppa"),
}


@dataclass
class AValider:
    """Un événement source mis à plat : de quoi prévenir, qui, et qui a le droit de savoir."""

    source: str
    ligne: object
    nature: str
    usager: Usager | None
    lien: str
    candidats: set[str]
    peut_savoir: Callable[[Acteur], bool]
    auteur: str = ""
    comptes: dict[int, object] = field(default_factory=dict)  # compte_id → compte retenu


# --- Les quatre sources ------------------------------------------------------------------------


def _cle_auteur_note(note) -> str:
    if note.auteur_exercice_id:
        return f"exercice:{note.auteur_exercice.uuid}"
    if note.auteur_proche_id:
        return f"proche:{note.auteur_proche.uuid}"
    if note.auteur_usager_id:
        return f"usager:{note.auteur_usager.uuid}"
    return ""


def _cahier(lignes, cercles: dict) -> list[AValider]:
    resultat = []
    for ev in lignes:
        note = ev.note
        membres = list(ev.destinataires.all())
        candidats = cles_des_membres(membres) if membres else _cercle(note.usager, cercles)
        resultat.append(
            AValider(
                Source.CAHIER,
                ev,
                f"cahier.{ev.nature}",
                note.usager,
                reverse("cahier_liaison:note", args=[note.usager.uuid, note.uuid]),
                candidats,
                lambda acteur, note=note: cahier_selectors.peut_voir_note(acteur, note),
                auteur=_cle_auteur_note(note),
            )
        )
    return resultat


def _cles_participant(participant) -> set[str]:
    if participant.type == TypeParticipant.USAGER:
        return {f"usager:{participant.usager.uuid}"}
    if participant.type == TypeParticipant.PROCHE:
        return {f"proche:{participant.proche.uuid}"}
    if participant.exercice_id is not None:
        return {f"exercice:{participant.exercice.uuid}"}
    return cles_des_exercices({participant.professionnel_id})


def _agenda(lignes, cercles: dict) -> list[AValider]:
    resultat = []
    for notif in lignes:
        evenement = notif.evenement
        candidats: set[str] = set()
        for participant in notif.destinataires.all():
            candidats |= _cles_participant(participant)
        usager = evenement.usager

        def peut_savoir(acteur, usager=usager) -> bool:
            # Un rendez-vous sans usager ne concerne que ses participants ; sinon, l'agenda de
            # la personne doit encore être lisible.
            return usager is None or habilitations.peut(acteur, usager, "lire", "agenda")

        resultat.append(
            AValider(
                Source.AGENDA,
                notif,
                f"agenda.{notif.nature}",
                usager,
                reverse("agenda:evenement", args=[evenement.uuid]),
                candidats,
                peut_savoir,
            )
        )
    return resultat


def _revues(lignes, cercles: dict) -> list[AValider]:
    return [
        AValider(
            Source.REVUE,
            rappel,
            NatureNotification.PPA_REVUE,
            rappel.projet.usager,
            reverse("ppa:projets", args=[rappel.projet.usager.uuid]),
            {rappel.destinataire},
            lambda acteur, usager=rappel.projet.usager: habilitations.peut(acteur, usager, "lire", "ppa"),
        )
        for rappel in lignes
    ]


def _signaux(lignes, cercles: dict) -> list[AValider]:
    resultat = []
    for signal in lignes:
        action, domaine = DROIT_DES_SIGNAUX.get(signal.nature, ("lire", "cercle"))
        resultat.append(
            AValider(
                Source.SIGNAL,
                signal,
                signal.nature,
                signal.usager,
                signal.lien,
                set(signal.destinataires) | (_cercle(signal.usager, cercles) if signal.au_cercle else set()),
                lambda acteur, u=signal.usager, a=action, d=domaine: habilitations.peut(acteur, u, a, d),
                auteur=signal.auteur,
            )
        )
    return resultat


def _cercle(usager: Usager, cercles: dict) -> set[str]:
    if usager.pk not in cercles:
        cercles[usager.pk] = cles_du_cercle(usager)
    return cercles[usager.pk]


def _lire(modele, *relations, prefetch=()):
    def lire(taille: int) -> list:
        return list(
            modele.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(distribue_le__isnull=True)
            .select_related(*relations)
            .prefetch_related(*prefetch)
            .order_by("cree_le", "pk")[:taille]
        )

    return lire


SOURCES = (
    (
        EvenementCahier,
        _lire(
            EvenementCahier,
            "note__usager",
            "note__auteur_exercice",
            "note__auteur_proche",
            "note__auteur_usager",
            prefetch=("destinataires__exercice", "destinataires__proche"),
        ),
        _cahier,
    ),  # fmt: skip
    (
        NotificationAgenda,
        _lire(
            NotificationAgenda,
            "evenement__usager",
            prefetch=("destinataires__exercice", "destinataires__proche", "destinataires__usager"),
        ),
        _agenda,
    ),  # fmt: skip
    (RappelRevue, _lire(RappelRevue, "projet__usager"), _revues),
    (Signal, _lire(Signal, "usager"), _signaux),
)


# --- Distribuer --------------------------------------------------------------------------------


def distribuer(taille: int | None = None) -> int:
    """Distribue tout ce qui attend, lot par lot ; rend le nombre de notifications créées."""
    taille = taille or settings.NOTIFICATIONS_TAILLE_LOT
    creees = 0
    for modele, lire, aplatir in SOURCES:
        while True:
            with transaction.atomic():
                lignes = lire(taille)
                if lignes:
                    creees += _distribuer_lot(aplatir(lignes, {}))
                    modele.objects.filter(pk__in=[ligne.pk for ligne in lignes]).update(
                        distribue_le=timezone.now()
                    )
            if len(lignes) < taille:
                break
    return creees


def _retenir(evenements: list[AValider]) -> None:
    """Garde, pour chaque événement, les comptes dont un acteur candidat a encore le droit de
    savoir, hors le compte de l'auteur."""
    acteurs = acteurs_des_cles(
        {c for ev in evenements for c in ev.candidats} | {ev.auteur for ev in evenements if ev.auteur}
    )
    for ev in evenements:
        auteur = acteurs.get(ev.auteur)
        compte_auteur = auteur.compte.pk if auteur is not None else None
        for cle in sorted(ev.candidats):
            acteur = acteurs.get(cle)
            if acteur is None or acteur.compte.pk == compte_auteur or acteur.compte.pk in ev.comptes:
                continue
            if ev.peut_savoir(acteur):
                ev.comptes[acteur.compte.pk] = acteur.compte


def _coordonnees(comptes: set[int], par_compte: dict) -> dict[int, Coordonnees]:
    professionnels = {p.compte_id: p for p in Professionnel.objects.filter(compte_id__in=comptes)}
    usagers = {u.compte_id: u for u in Usager.objects.filter(compte_id__in=comptes)}
    proches = defaultdict(list)
    for proche in Proche.objects.filter(compte_id__in=comptes):
        proches[proche.compte_id].append(proche)
    return {
        pk: coordonnees_de(par_compte[pk], professionnels.get(pk), usagers.get(pk), proches[pk])
        for pk in comptes
    }


def _preferences(comptes: set[int]) -> dict[tuple[int, str, str], str]:
    return {
        (p.compte_id, p.nature, p.canal): p.frequence
        for p in Preference.objects.filter(compte_id__in=comptes)
    }


def frequence(preferences: dict, compte_id: int, nature: str, canal: str) -> str:
    return preferences.get((compte_id, nature, canal)) or frequence_par_defaut(nature, canal)


def _distribuer_lot(evenements: list[AValider]) -> int:
    _retenir(evenements)
    par_compte = {pk: compte for ev in evenements for pk, compte in ev.comptes.items()}
    comptes = set(par_compte)
    preferences = _preferences(comptes)
    maintenant = timezone.now()
    nouvelles = []
    deja = set(
        Notification.objects.filter(
            source__in={ev.source for ev in evenements}, source_uuid__in=[ev.ligne.uuid for ev in evenements]
        ).values_list("source", "source_uuid", "compte_id")
    )
    for ev in evenements:
        for pk in ev.comptes:
            if (ev.source, ev.ligne.uuid, pk) in deja:
                continue
            portail = frequence(preferences, pk, ev.nature, Canal.DANS_LE_PORTAIL)
            nouvelles.append(
                Notification(
                    compte_id=pk,
                    nature=ev.nature,
                    usager=ev.usager,
                    lien=ev.lien,
                    titre=NatureNotification(ev.nature).label,
                    source=ev.source,
                    source_uuid=ev.ligne.uuid,
                    lue_le=maintenant if portail == Frequence.JAMAIS else None,
                )
            )
    Notification.objects.bulk_create(nouvelles, ignore_conflicts=True)
    # Seules les notifications vraiment créées ici partent (une course perdue n'envoie rien).
    creees = list(Notification.objects.filter(uuid__in=[n.uuid for n in nouvelles]))
    coordonnees = _coordonnees({n.compte_id for n in creees}, par_compte)
    systeme = acteur_systeme("distribution des notifications")
    elements = []
    envois: dict[str, int] = defaultdict(int)
    for notification in creees:
        for canal in CANAUX_SORTANTS:
            adresse = coordonnees[notification.compte_id].adresse(canal)
            choix = frequence(preferences, notification.compte_id, notification.nature, canal)
            if not adresse or choix == Frequence.JAMAIS:
                continue
            if choix == Frequence.IMMEDIATE:
                mettre_en_file(
                    acteur=systeme,
                    destination=canal,
                    destinataire=adresse,
                    nature=NATURE_IMMEDIATE,
                    cle_idempotence=f"notification:{notification.uuid}:{canal}",
                    charge={"notification": str(notification.uuid)},
                    usager=notification.usager,
                    objet=notification,
                )
                envois[str(notification.source_uuid)] += 1
            else:
                elements.append(
                    ElementResume(
                        notification=notification,
                        canal=canal,
                        frequence=choix,
                        compte_id=notification.compte_id,
                    )
                )
    ElementResume.objects.bulk_create(elements, ignore_conflicts=True)
    # Les logiciels des structures abonnés à ces événements (NdE, webhooks) : un message chacun.
    suivies = natures_suivies()
    for ev in (ev for ev in evenements if ev.nature in suivies):
        webhooks = mettre_en_file_webhooks(
            systeme, ev.nature, ev.usager, ev.ligne, f"{ev.source}:{ev.ligne.uuid}"
        )
        envois[str(ev.ligne.uuid)] += len(webhooks)
    _journaliser(systeme, evenements, creees, envois)
    return len(creees)


def _journaliser(systeme, evenements, creees, envois) -> None:
    par_source = defaultdict(int)
    for notification in creees:
        par_source[str(notification.source_uuid)] += 1
    journaliser_plusieurs(
        [
            preparer_evenement(
                acteur=systeme,
                action="notifications.distribution",
                objet_type=ev.ligne._meta.label_lower,
                objet_uuid=ev.ligne.uuid,
                usager=ev.usager,
                details={
                    "nature": ev.nature,
                    "notifications": par_source[str(ev.ligne.uuid)],
                    "envois_immediats": envois[str(ev.ligne.uuid)],
                },
            )
            for ev in evenements
        ]
    )


# --- Résumés -----------------------------------------------------------------------------------


def envoyer_resumes(frequence_resume: str, jour=None) -> int:
    """Range un résumé par compte et par canal pour les éléments en attente de cette fréquence
    (clé `resume:<compte>:<canal>:<fréquence>:<jour>`) et marque les éléments qu'il porte ; rend le
    nombre de messages rangés. Un canal devenu indisponible (téléphone retiré…) garde ses
    éléments en attente."""
    if frequence_resume not in RESUMES:
        raise ValueError(f"Fréquence de résumé inconnue : {frequence_resume!r}.")
    jour = jour or timezone.localdate()
    systeme = acteur_systeme("résumés des notifications")
    with transaction.atomic():
        elements = list(
            ElementResume.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(message__isnull=True, frequence=frequence_resume)
            .select_related("notification", "compte")
            .order_by("compte_id", "canal", "notification__cree_le", "pk")
        )
        groupes: dict[tuple[int, str], list[ElementResume]] = defaultdict(list)
        for element in elements:
            groupes[(element.compte_id, element.canal)].append(element)
        par_compte = {e.compte_id: e.compte for e in elements}
        coordonnees = _coordonnees(set(par_compte), par_compte)
        ranges = 0
        for (compte_id, canal), groupe in groupes.items():
            adresse = coordonnees[compte_id].adresse(canal)
            if not adresse:
                continue
            message = mettre_en_file(
                acteur=systeme,
                destination=canal,
                destinataire=adresse,
                nature=NATURE_RESUME,
                cle_idempotence=f"resume:{compte_id}:{canal}:{frequence_resume}:{jour.isoformat()}",
                charge={
                    "notifications": [str(e.notification.uuid) for e in groupe],
                    "frequence": frequence_resume,
                    "jour": jour.isoformat(),
                },
            )
            portees = set(message.charge.get("notifications", []))
            ElementResume.objects.filter(
                pk__in=[e.pk for e in groupe if str(e.notification.uuid) in portees]
            ).update(message=message)
            ranges += 1
    return ranges
