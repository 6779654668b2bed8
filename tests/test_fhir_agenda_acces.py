"""Appointment : matrice d'autorisation route × sorte d'acteur (docs/decisions/0025-agenda-api-fhir-gap.md).

Chaque acteur du monde de l'agenda (tests/monde_agenda.py), l'anonyme et les logiciels (DUI) d'une
structure du cercle (en lecture seule, ou à qui Jeanne a confié l'écriture de son agenda) ou d'une
autre : lecture d'un rendez-vous de Jeanne (200 avec la lecture de son agenda, 403 si Jeanne est
connue sans ce droit, 404 sinon, 401 sans jeton ni session), recherche (200, filtrée : le rendez-vous
n'apparaît qu'à qui le lit), écritures (création, PUT par id, PUT conditionnel sur identifier) :
403 à une session (lecture seule), décidées par les services de l'agenda pour un logiciel ; aucun
refus n'écrit rien (ni événement, ni participant, ni journal d'écriture). Le nombre de cas est écrit
dans le rapport."""

from __future__ import annotations

import datetime as dt

import pytest

from agenda import services
from agenda.models import Absence, Disponibilite, Evenement, Participant
from agenda.services import Invite
from cercle import services as services_cercle
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from tests.factories import StructureFactory, connecter
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_agenda import NIVEAU_AGENDA, a_paris, construire_monde_agenda, rendez_vous

pytestmark = pytest.mark.django_db

# « systeme » : acteur interne sans session ni jeton, hors de l'API.
ACTEURS = [
    "anonyme", *[n for n in NIVEAU_AGENDA if n != "systeme"], "dui_ssiad_ecriture", "dui_autre_structure"
]  # fmt: skip
ROUTES = ["read", "search", "search-identifier", "create", "update", "conditional-update"]
ECRITURES = {"create": 201, "update": 200, "conditional-update": 200}
SOURCE = "urn:portail-coordination:agenda:source:dui:fictif"
NOMBRE_DE_CAS = len(ACTEURS) * len(ROUTES)
# Qui ne connaît pas Jeanne (ADR 0008) : 404 comme pour un id inconnu. Les autres sans droit : 403.
INVISIBLES = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti", "dui_autre_structure"}


def lit(nom: str) -> bool:
    return nom == "dui_ssiad_ecriture" or NIVEAU_AGENDA.get(nom, 0) >= 1


def attendu(nom: str, route: str) -> int:
    if nom == "anonyme":
        return 401
    if route in ECRITURES:
        if not nom.startswith("dui_"):
            return 403  # session : lecture seule
        if nom == "dui_ssiad_ecriture":
            return ECRITURES[route]
        if nom == "dui_ssiad":
            return 403  # Jeanne connue, lecture seule de son agenda : le service refuse
        # Jeanne inconnue de ce logiciel : patient du corps refusé (422), id de l'adresse introuvable.
        return 404 if route == "update" else 422
    if route.startswith("search"):
        return 200
    if lit(nom):
        return 200
    return 404 if nom in INVISIBLES else 403


def _en_tetes(client, monde, nom: str) -> dict:
    if nom == "anonyme":
        return {}
    if nom.startswith("dui_"):
        structure = StructureFactory() if nom == "dui_autre_structure" else monde.ssiad
        if nom == "dui_ssiad_ecriture":
            services_cercle.accorder(
                acteur=monde.acteurs["usager"], membre=monde.membres["ssiad"], domaine="agenda", niveau=2
            )
        return {"HTTP_AUTHORIZATION": f"Bearer {logiciel(client, structure=structure)[1]}"}
    acteur = monde.acteurs[nom]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return {}


@pytest.fixture(scope="module")
def rapport(record_testsuite_property):
    record_testsuite_property("matrice_appointment_cas", NOMBRE_DE_CAS)
    record_testsuite_property("matrice_schedule_slot_cas", NOMBRE_DE_CAS_AGENDA_PRO)


@pytest.mark.parametrize("nom", ACTEURS)
def test_matrice_appointment(client, nom, rapport):
    monde = construire_monde_agenda()
    evenement = rendez_vous(monde, invites=[Invite(monde.acteurs["ide"].exercice), Invite(monde.usager)])
    Evenement.objects.filter(pk=evenement.pk).update(systeme_source="dui:fictif", identifiant_externe="R-1")
    en_tetes = _en_tetes(client, monde, nom)
    corps = {
        "resourceType": "Appointment",
        "identifier": [{"system": SOURCE, "value": "R-1"}],
        "status": "booked",
        "start": "2026-12-14T09:00:00+01:00",
        "end": "2026-12-14T10:00:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{monde.usager.uuid}"}, "status": "accepted"}],
    }
    nouveau = {**corps, "identifier": [{"system": SOURCE, "value": "R-2"}]}
    chemins = {
        "read": ("GET", f"/fhir/Appointment/{evenement.uuid}", None),
        "search": ("GET", f"/fhir/Appointment?patient=Patient/{monde.usager.uuid}", None),
        "search-identifier": (
            "GET",
            "/fhir/Appointment?identifier=urn:portail-coordination:agenda:source:dui:fictif|R-1",
            None,
        ),
        "create": ("POST", "/fhir/Appointment", nouveau),
        "update": ("PUT", f"/fhir/Appointment/{evenement.uuid}", {**corps, "id": str(evenement.uuid)}),
        "conditional-update": ("PUT", f"/fhir/Appointment?identifier={SOURCE}|R-1", corps),
    }
    ecritures = Journal.objects.filter(action__startswith="agenda.evenement")
    avant = (Evenement.objects.count(), Participant.objects.count(), ecritures.count())

    def verifier(route: str, contenu: dict) -> None:
        if route == "read":
            assert contenu["id"] == str(evenement.uuid)
        elif route in ECRITURES:
            attendus = {"system": SOURCE, "value": "R-2" if route == "create" else "R-1"}
            assert attendus in contenu["identifier"], (nom, route)
        else:
            ids = [e["resource"]["id"] for e in contenu.get("entry", [])]
            # Le rendez-vous n'apparaît qu'à qui lit l'agenda de Jeanne (ou y est convié).
            assert ids == ([str(evenement.uuid)] if lit(nom) else []), (nom, route)

    jouer(client, en_tetes, chemins, ROUTES, lambda route: attendu(nom, route), verifier)
    apres = (Evenement.objects.count(), Participant.objects.count(), ecritures.count())
    if nom == "dui_ssiad_ecriture":
        # Un rendez-vous créé (son patient convié) ; l'autre modifié : nouvel horaire, et l'infirmière,
        # absente du corps reçu, n'y est plus conviée.
        assert apres[:2] == (avant[0] + 1, avant[1] + 1 - 1)
        assert apres[2] > avant[2]
        assert Evenement.objects.get(pk=evenement.pk).fin.isoformat().startswith("2026-12-14T09:00:00")
    else:
        assert apres == avant


def jouer(client, en_tetes: dict, chemins: dict, routes: list[str], attendu_de, verifier) -> None:
    """Joue chaque route de la matrice : un refus attendu est un OperationOutcome au bon statut ; une
    réponse servie est vérifiée par `verifier(route, contenu)`."""
    for route in routes:
        methode, chemin, donnees = chemins[route]
        reponse = appel(client, methode, chemin, corps=donnees, **en_tetes)
        statut = attendu_de(route)
        if statut >= 400:
            oo(reponse, statut)
            continue
        assert reponse.status_code == statut, (route, reponse.content[:300])
        verifier(route, reponse.json())


# --- Schedule et Slot : l'agenda d'un professionnel (ADR 0025, « Schedule et Slot ») ---------------

ROUTES_AGENDA_PRO = ["schedule-read", "schedule-search", "slot-search", "slot-read", "schedule-update"]
NOMBRE_DE_CAS_AGENDA_PRO = len(ACTEURS) * len(ROUTES_AGENDA_PRO)


# L'agenda de l'infirmière du SSIAD, en libre / occupé : elle, et le logiciel du SSIAD.
LECTEURS_AGENDA_PRO = {"ide", "dui_ssiad", "dui_ssiad_ecriture"}


def attendu_agenda_pro(nom: str, route: str) -> int:
    """L'agenda de l'infirmière se lit par elle et par le logiciel (DUI) du SSIAD où elle exerce
    (`selectors.professionnels_a_l_agenda_lisible`) : les autres ne le trouvent pas (404 en lecture,
    recherche vide), membres de son cercle compris ; aucune écriture déclarée (405)."""
    if nom == "anonyme":
        return 401
    if route == "schedule-update":
        return 405 if nom.startswith("dui_") else 403  # session : lecture seule, avant le 405
    if route in ("schedule-read", "slot-read") and nom not in LECTEURS_AGENDA_PRO:
        return 404
    return 200


@pytest.mark.parametrize("nom", ACTEURS)
def test_matrice_schedule_slot(client, nom, rapport):
    monde = construire_monde_agenda()
    ide = monde.acteurs["ide"]
    professionnel = ide.exercice.professionnel
    services.ajouter_disponibilite(
        acteur=ide, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(9), heure_fin=dt.time(12)
    )
    services.ajouter_absence(acteur=ide, debut=a_paris(2030, 4, 2), fin=a_paris(2030, 4, 3))
    rendez_vous(monde, debut=a_paris(2030, 3, 29, 10), invites=[Invite(ide.exercice)])
    en_tetes = _en_tetes(client, monde, nom)
    fenetre = "earliestStart=ge2030-03-28&latestStart=lt2030-04-04"
    chemins = {
        "schedule-read": ("GET", f"/fhir/Schedule/{professionnel.uuid}", None),
        "schedule-search": ("GET", f"/fhir/Schedule?actor=PractitionerRole/{ide.exercice.uuid}", None),
        # Le créneau libre du jeudi 28 mars 2030, 9 h–12 h à Paris, tel que la recherche le rend.
        "slot-read": (
            "GET",
            f"/fhir/Slot/{professionnel.uuid}-{a_paris(2030, 3, 28, 9).timestamp():.0f}"
            f"-{a_paris(2030, 3, 28, 12).timestamp():.0f}",
            None,
        ),
        "slot-search": ("GET", f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&{fenetre}", None),
        "schedule-update": (
            "PUT",
            f"/fhir/Schedule/{professionnel.uuid}",
            {"resourceType": "Schedule", "id": str(professionnel.uuid), "actor": [{"display": "x"}]},
        ),
    }
    avant = (Disponibilite.objects.count(), Absence.objects.count(), Evenement.objects.count())

    def verifier(route: str, contenu: dict) -> None:
        ids = [e["resource"]["id"] for e in contenu.get("entry", [])]
        if route == "schedule-read":
            assert contenu["id"] == str(professionnel.uuid) and len(contenu["extension"]) == 2
        elif route == "slot-read":
            assert (contenu["status"], contenu["start"]) == ("free", "2030-03-28T08:00:00.000Z")
        elif route == "schedule-search":
            assert ids == ([str(professionnel.uuid)] if nom in LECTEURS_AGENDA_PRO else []), nom
        else:
            statuts = [e["resource"]["status"] for e in contenu.get("entry", [])]
            assert statuts == (
                ["free", "free", "busy", "free", "free", "busy", "free"] if nom in LECTEURS_AGENDA_PRO else []
            ), nom

    jouer(
        client, en_tetes, chemins, ROUTES_AGENDA_PRO, lambda route: attendu_agenda_pro(nom, route), verifier
    )
    assert (Disponibilite.objects.count(), Absence.objects.count(), Evenement.objects.count()) == avant
    lectures = Journal.objects.filter(action__startswith="fhir.slot.").count()
    assert lectures == (
        2 if nom in LECTEURS_AGENDA_PRO else 0
    )  # seules la lecture et la recherche servies sont journalisées
