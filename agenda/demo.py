"""Agenda de démonstration (territoire « Val-Fictif », coordination/personnes/demo.py), appelé par
`charger_demo()` juste après les cercles : des rendez-vous de Marcelle, Bernard et Robert sur la
semaine en cours et la suivante (soins à domicile, kinésithérapie chaque semaine, consultation du
médecin traitant, atelier), une réunion de coordination en attente de réponses, les disponibilités
de deux professionnels et un congé.

Écrit par les vrais services de l'agenda, au nom des professionnels du cercle. Dates relatives au
jour du premier chargement. Idempotent : chaque rendez-vous porte `systeme_source="demo"` et un
identifiant externe fixe ; la réunion, les disponibilités et le congé ne sont écrits que s'ils
n'existent pas encore ; un second chargement ne change rien."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from coordination.personnes.demo import Bilan, uuid_demo

SOURCE = "demo"
PARIS = ZoneInfo("Europe/Paris")
TITRE_REUNION = "Réunion de coordination : retour à domicile de Marcelle"


@dataclass(frozen=True)
class RendezVousDemo:
    cle: str  # identifiant externe (fixe)
    usager: str  # clé d'un UsagerDemo
    intervenant: tuple[str, str | None]  # (professionnel, structure ou None) : il y va
    titre: str
    jour: int  # jours après le lundi de la semaine du chargement
    heure: tuple[int, int]
    minutes: int
    rrule: str = ""
    lieu: str = "Domicile"
    avec_usager: bool = True
    # Qui l'inscrit, s'il n'a pas lui-même le droit d'écrire dans l'agenda de l'usager (l'aide à
    # domicile, le kinésithérapeute libéral, le DAC n'ont pas de droit présumé sur l'agenda :
    # l'infirmière du SSIAD, qui coordonne les passages, les inscrit).
    par: tuple[str, str | None] | None = None


NGUYEN, MERCIER = ("nguyen", "ssiad"), ("mercier", "saad")
ROUSSEAU, FABRE, GIRAUD = ("rousseau", None), ("fabre", None), ("giraud", "dac")

RENDEZ_VOUS: tuple[RendezVousDemo, ...] = (
    RendezVousDemo("marcelle-soins", "marcelle", NGUYEN, "Soins infirmiers à domicile", 0, (8, 30), 30,
                   rrule="FREQ=DAILY;COUNT=10"),
    RendezVousDemo("marcelle-repas", "marcelle", MERCIER, "Aide au repas", 0, (12, 0), 60,
                   rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6", par=NGUYEN),
    RendezVousDemo("marcelle-consultation", "marcelle", ROUSSEAU, "Consultation du médecin traitant", 8,
                   (17, 0), 30, lieu="Cabinet du Dr Rousseau"),
    RendezVousDemo("marcelle-atelier", "marcelle", MERCIER, "Atelier mémoire", 3, (14, 30), 90,
                   lieu="Salle des fêtes de Val-Fictif", par=NGUYEN),
    RendezVousDemo("bernard-kine", "bernard", FABRE, "Séance de kinésithérapie", 1, (10, 0), 45,
                   rrule="FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4", lieu="Cabinet de kinésithérapie", par=NGUYEN),
    RendezVousDemo("bernard-pansement", "bernard", NGUYEN, "Pansement", 2, (9, 15), 30),
    RendezVousDemo("bernard-pansement-2", "bernard", NGUYEN, "Pansement", 9, (9, 15), 30),
    RendezVousDemo("bernard-consultation", "bernard", ROUSSEAU, "Consultation du médecin traitant", 4,
                   (16, 30), 30, lieu="Cabinet du Dr Rousseau"),
    RendezVousDemo("bernard-courses", "bernard", MERCIER, "Accompagnement aux courses", 10, (10, 0), 120,
                   lieu="Marché de Val-Fictif", par=NGUYEN),
    RendezVousDemo("robert-soins", "robert", NGUYEN, "Soins infirmiers à domicile", 1, (18, 0), 30,
                   rrule="FREQ=WEEKLY;BYDAY=TU,FR;COUNT=3"),
    RendezVousDemo("robert-visite", "robert", ROUSSEAU, "Visite à domicile du médecin traitant", 7, (13, 30),
                   30),
    RendezVousDemo("robert-atelier", "robert", GIRAUD, "Atelier équilibre et prévention des chutes", 11,
                   (10, 0), 90, lieu="Maison des aînés de Val-Fictif", par=NGUYEN),
)  # fmt: skip


def _lundi() -> dt.date:
    aujourd_hui = timezone.localdate()
    return aujourd_hui - dt.timedelta(days=aujourd_hui.weekday())


def _a(jour: int, heure: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(_lundi() + dt.timedelta(days=jour), dt.time(heure, minute), tzinfo=PARIS)


def _usager(cle: str):
    from coordination.personnes.models import Usager

    return Usager.objects.get(uuid=uuid_demo("usager", cle))


def charger_agenda(bilan: Bilan) -> None:
    """Écrit l'agenda de démonstration (dans la transaction de `charger_demo`)."""
    from agenda.models import Disponibilite, Evenement

    for rdv in RENDEZ_VOUS:
        if Evenement.objects.filter(systeme_source=SOURCE, identifiant_externe=rdv.cle).exists():
            bilan.noter("rendez-vous de l'agenda", "inchanges")
            continue
        _rendez_vous(rdv)
        bilan.noter("rendez-vous de l'agenda", "crees")
    _reunion(bilan)
    for pro, structure in (NGUYEN, ROUSSEAU):
        exercice = _acteur(pro, structure).exercice
        if Disponibilite.objects.filter(professionnel_id=exercice.professionnel_id).exists():
            bilan.noter("disponibilités de l'agenda", "inchanges")
            continue
        _disponibilites_et_conge(pro, structure)
        bilan.noter("disponibilités de l'agenda", "crees")


def _acteur(pro: str, structure: str | None):
    from cercle.demo import _acteur_pro

    return _acteur_pro(pro, structure)


def _rendez_vous(rdv: RendezVousDemo) -> None:
    from agenda import services

    auteur = _acteur(*(rdv.par or rdv.intervenant))
    usager = _usager(rdv.usager)
    debut = _a(rdv.jour, *rdv.heure)
    invites = [services.Invite(_acteur(*rdv.intervenant).exercice)]
    if rdv.avec_usager:
        invites.append(services.Invite(usager))
    services.creer_evenement(
        acteur=auteur,
        usager=usager,
        titre=rdv.titre,
        debut=debut,
        fin=debut + dt.timedelta(minutes=rdv.minutes),
        lieux=[{"libelle": rdv.lieu}],
        rrule=rdv.rrule,
        invites=invites,
        systeme_source=SOURCE,
        identifiant_externe=rdv.cle,
    )


def _reunion(bilan: Bilan) -> None:
    """L'infirmière du SSIAD demande une réunion avec le médecin traitant et la coordinatrice du
    DAC, au meilleur créneau de la semaine prochaine ; elle attend leurs réponses."""
    from agenda import reunions, services
    from agenda.models import DemandeReunion

    usager = _usager("marcelle")
    if DemandeReunion.objects.filter(evenement__usager=usager, evenement__titre=TITRE_REUNION).exists():
        bilan.noter("réunion de l'agenda", "inchanges")
        return
    demandeur = _acteur(*NGUYEN)
    invites = [services.Invite(_acteur(*ROUSSEAU).exercice), services.Invite(_acteur(*GIRAUD).exercice)]
    duree = dt.timedelta(hours=1)
    horizon_debut, horizon_fin = _a(7, 0), _a(12, 0)
    resultat = reunions.proposer_creneaux(
        acteur=demandeur, usager=usager, invites=invites, duree=duree, debut=horizon_debut, fin=horizon_fin
    )
    debut = resultat.creneaux[0].debut
    reunions.demander_reunion(
        acteur=demandeur,
        usager=usager,
        invites=invites,
        titre=TITRE_REUNION,
        motif="Préparer le retour à domicile après l'hospitalisation.",
        duree=duree,
        horizon_debut=horizon_debut,
        horizon_fin=horizon_fin,
        date_limite=min(debut - dt.timedelta(hours=2), timezone.now() + dt.timedelta(days=3)),
        debut=debut,
        lieux=[{"libelle": "Visioconférence", "visio": "https://visio.val-fictif.invalid/coordination"}],
    )
    bilan.noter("réunion de l'agenda", "crees")


def _disponibilites_et_conge(pro: str, structure: str | None) -> None:
    from agenda import services

    acteur = _acteur(pro, structure)
    services.ajouter_disponibilite(
        acteur=acteur, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(8), heure_fin=dt.time(12, 30)
    )
    services.ajouter_disponibilite(
        acteur=acteur, jours=[0, 2, 3], heure_debut=dt.time(14), heure_fin=dt.time(18)
    )
    # Un congé : jeudi et vendredi de la semaine prochaine pour l'infirmière, mercredi pour le médecin.
    debut, fin = (_a(10, 0), _a(12, 0)) if pro == "nguyen" else (_a(9, 0), _a(10, 0))
    services.ajouter_absence(acteur=acteur, debut=debut, fin=fin, commentaire="Congé")
