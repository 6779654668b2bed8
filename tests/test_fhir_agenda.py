"""API FHIR de l'agenda (Appointment, volet GAP 3.0.0 ; docs/decisions/0025-agenda-api-fhir-gap.md) :
lecture, recherche (usager, participant, dates GAP, statut, identifiant), journal, nombre de
requêtes constant, déclaration dans /fhir/metadata, validation par fhir.resources."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.appointment import Appointment

from agenda import selectors
from agenda.models import Evenement
from agenda.services import Invite
from coordination.journal.models import Evenement as EvenementJournal
from tests.fhir_outils import appel, logiciel
from tests.monde_agenda import NIVEAU_AGENDA, a_paris, construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db


def _invites(monde) -> list[Invite]:
    return [Invite(monde.acteurs["ide"].exercice), Invite(monde.usager)]


@pytest.fixture
def monde():
    return construire_monde_agenda()


@pytest.fixture
def dui(client, monde):
    return logiciel(client, structure=monde.ssiad)[1]


def test_lecture_d_un_rendez_vous_valide_fr_core(client, monde, dui):
    evenement = rendez_vous(monde, motif="Pansement", invites=_invites(monde))
    reponse = appel(client, "GET", f"/fhir/Appointment/{evenement.uuid}", dui)
    assert reponse.status_code == 200, reponse.content
    contenu = reponse.json()
    Appointment.model_validate(contenu)  # FHIR R4 valide
    assert contenu["meta"]["profile"] == [
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-appointment"
    ]
    assert contenu["status"] == "booked"
    assert contenu["description"] == "Soins à domicile"
    assert contenu["comment"] == "Pansement"
    assert contenu["minutesDuration"] == 45
    assert contenu["start"].startswith("2026-12-14T08:00:00")  # 9 h à Paris
    acteurs = [p["actor"]["reference"] for p in contenu["participant"]]
    assert f"Patient/{monde.usager.uuid}" in acteurs
    assert any(a.startswith(("PractitionerRole/", "Practitioner/")) for a in acteurs)
    assert {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{evenement.uuid}"} in contenu["identifier"]
    lecture = EvenementJournal.objects.filter(action="fhir.appointment.lecture").get()
    assert str(monde.usager.uuid) in str(lecture.__dict__.values())


def test_recherche_par_patient_dates_gap_et_statut(client, monde, dui):
    rendez_vous(monde, debut=a_paris(2026, 12, 14, 9))
    rendez_vous(monde, debut=a_paris(2026, 12, 20, 9), titre="Toilette")
    patient = f"Patient/{monde.usager.uuid}"
    tous = appel(client, "GET", f"/fhir/Appointment?patient={patient}", dui).json()
    assert tous["total"] == 2
    assert {e["search"]["mode"] for e in tous["entry"]} == {"match"}
    fenetre = appel(
        client,
        "GET",
        f"/fhir/Appointment?patient={patient}&earliestStart=ge2026-12-15&latestStart=le2026-12-31",
        dui,
    ).json()
    assert [e["resource"]["description"] for e in fenetre["entry"]] == ["Toilette"]
    assert appel(client, "GET", "/fhir/Appointment?status=cancelled", dui).json()["total"] == 0
    assert appel(client, "GET", "/fhir/Appointment?status=booked&date=ge2026-12-01", dui).json()["total"] == 2


def test_recherche_par_identifiant_de_la_source(client, monde, dui):
    evenement = rendez_vous(monde)
    Evenement.objects.filter(pk=evenement.pk).update(
        systeme_source="dui:000000000", identifiant_externe="RDV-1"
    )
    systeme = "urn:portail-coordination:agenda:source:dui:000000000"
    trouve = appel(client, "GET", f"/fhir/Appointment?identifier={systeme}|RDV-1", dui).json()
    assert [e["resource"]["id"] for e in trouve["entry"]] == [str(evenement.uuid)]
    assert {"system": systeme, "value": "RDV-1"} in trouve["entry"][0]["resource"]["identifier"]
    assert appel(client, "GET", f"/fhir/Appointment?identifier={systeme}|RDV-2", dui).json()["total"] == 0


def test_recherche_par_participant_professionnel(client, monde, dui):
    rendez_vous(monde, invites=_invites(monde))
    ide = monde.acteurs["ide"].exercice
    par_role = appel(client, "GET", f"/fhir/Appointment?actor=PractitionerRole/{ide.uuid}", dui).json()
    par_pro = appel(client, "GET", f"/fhir/Appointment?practitioner={ide.professionnel.uuid}", dui).json()
    assert par_role["total"] == par_pro["total"] == 1
    assert (
        appel(client, "GET", f"/fhir/Appointment?actor=Practitioner/{monde.usager.uuid}", dui).json()["total"]
        == 0
    )


@pytest.mark.parametrize("avec_invites", [True, False])
def test_nombre_de_requetes_constant(client, monde, dui, avec_invites):
    invites = _invites(monde) if avec_invites else []
    rendez_vous(monde, invites=invites)
    chemin = f"/fhir/Appointment?patient=Patient/{monde.usager.uuid}"
    appel(client, "GET", chemin, dui)
    with CaptureQueriesContext(connection) as une:
        assert appel(client, "GET", chemin, dui).json()["total"] == 1
    for jour in range(15, 20):
        rendez_vous(monde, debut=a_paris(2026, 12, jour, 10), invites=invites)
    with CaptureQueriesContext(connection) as six:
        assert appel(client, "GET", chemin, dui).json()["total"] == 6
    assert len(six) == len(une), [q["sql"][:150] for q in six.captured_queries]


def test_metadata_declare_appointment(client):
    contenu = client.get("/fhir/metadata").json()
    ressources = {r["type"]: r for r in contenu["rest"][0]["resource"]}
    appointment = ressources["Appointment"]
    assert appointment["profile"] == "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-appointment"
    assert {i["code"] for i in appointment["interaction"]} == {"read", "search-type", "create", "update"}
    parametres = {p["name"] for p in appointment["searchParam"]}
    assert {"patient", "actor", "date", "earliestStart", "latestStart", "status", "identifier"} <= parametres


def test_serie_servie_par_son_premier_rendez_vous(client, monde, dui):
    serie = rendez_vous(monde, rrule="FREQ=WEEKLY;COUNT=3")
    contenu = appel(client, "GET", f"/fhir/Appointment/{serie.uuid}", dui).json()
    assert contenu["start"].startswith("2026-12-14T08:00:00")
    assert contenu["end"].startswith("2026-12-14T08:45:00")


def test_identifiant_mal_forme_404_en_francais(client, monde, dui):
    reponse = appel(client, "GET", "/fhir/Appointment/pas-un-uuid", dui)
    assert reponse.status_code == 404
    assert reponse.json()["resourceType"] == "OperationOutcome"
    assert "pas-un-uuid" in reponse.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("nom", ["anonyme", *NIVEAU_AGENDA])
def test_evenements_lisibles_suit_evenement_visible(monde, nom):
    """Le queryset de l'API et la règle d'une instance disent la même chose, pour chaque acteur :
    rendez-vous de Jeanne, réunion sans usager où l'éducateur est convié, rendez-vous de Paul."""
    rendez_vous(monde)
    rendez_vous(monde, "medecin", invites=_invites(monde), debut=a_paris(2026, 12, 15, 9))
    rendez_vous(
        monde, "educateur", usager=None, titre="Réunion d'équipe", debut=a_paris(2026, 12, 16, 9),
        invites=[Invite(monde.acteurs["ide"].exercice)],
    )  # fmt: skip
    tous = list(Evenement.objects.filter(serie__isnull=True))
    acteur = qui(monde, nom)
    attendus = {e.pk for e in tous if selectors.evenement_visible(acteur, e.uuid) is not None}
    assert {e.pk for e in selectors.evenements_lisibles(acteur)} == attendus
    if NIVEAU_AGENDA.get(nom, 0) >= 1:
        assert len(attendus) >= 2  # les deux rendez-vous de Jeanne au moins
    if nom == "anonyme":
        assert attendus == set()
