"""API FHIR de l'agenda, écritures (Appointment, volet GAP 3.0.0 ; ADR 0025) : création par le
logiciel d'une structure (DUI) puis lecture et recherche, idempotence sur l'identifiant de la source,
participants résolus en membres du cercle, refus qui n'écrivent rien (ni événement, ni participant,
ni journal d'écriture), mise à jour conditionnelle `PUT Appointment?identifier=…` (création, mise à
jour, annulation, 412, 400) et PUT par id."""

from __future__ import annotations

import uuid

import pytest
from fhir.resources.R4B.appointment import Appointment

from agenda.models import Evenement, Participant, StatutEvenement, StatutParticipation
from cercle import services as services_cercle
from coordination.journal.models import Evenement as EvenementJournal
from tests.factories import ExerciceFactory, StructureFactory
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_agenda import construire_monde_agenda, rendez_vous

pytestmark = pytest.mark.django_db

SYSTEME = "urn:oid:1.2.250.1.999.2.1"  # OID fictif de l'agenda du DUI du SSIAD


@pytest.fixture
def monde():
    monde = construire_monde_agenda()
    # Jeanne confie l'écriture de son agenda au SSIAD : son logiciel déclare les passages.
    services_cercle.accorder(
        acteur=monde.acteurs["usager"], membre=monde.membres["ssiad"], domaine="agenda", niveau=2
    )
    return monde


@pytest.fixture
def dui(client, monde):
    return logiciel(client, structure=monde.ssiad)[1]


def appointment(monde, *, valeur="RDV-1", statut="booked", debut="2026-12-14T09:00:00+01:00",
                fin="2026-12-14T09:45:00+01:00", participants=None, **champs) -> dict:  # fmt: skip
    """Appointment FR Core tel que l'envoie un DUI (d'après l'exemple du volet GAP)."""
    ide = monde.acteurs["ide"].exercice
    ressource = {
        "resourceType": "Appointment",
        "identifier": [{"system": SYSTEME, "value": valeur}],
        "status": statut,
        "description": "Passage infirmier",
        "comment": "Pansement",
        "start": debut,
        "end": fin,
        "participant": participants
        or [
            {
                "actor": {"reference": f"Patient/{monde.usager.uuid}"},
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"reference": f"PractitionerRole/{ide.uuid}"},
                "required": "required",
                "status": "needs-action",
            },
        ],  # fmt: skip
        **champs,
    }
    return {cle: valeur for cle, valeur in ressource.items() if valeur is not None}


def lignes() -> tuple[int, int, int]:
    ecritures = EvenementJournal.objects.filter(action__startswith="agenda.evenement")
    return Evenement.objects.count(), Participant.objects.count(), ecritures.count()


# --- Création -------------------------------------------------------------------------------------


def test_creation_puis_lecture_et_recherche(client, monde, dui):
    reponse = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde))
    assert reponse.status_code == 201, reponse.content
    cree = reponse.json()
    Appointment.model_validate(cree)
    assert reponse["Location"].endswith(f"/fhir/Appointment/{cree['id']}")
    evenement = Evenement.objects.get(uuid=cree["id"])
    assert (evenement.titre, evenement.motif, evenement.statut) == (
        "Passage infirmier",
        "Pansement",
        "booked",
    )
    assert (evenement.systeme_source, evenement.identifiant_externe) == (SYSTEME, "RDV-1")
    assert evenement.usager == monde.usager
    assert (evenement.cree_par, evenement.cree_par_nom) == (f"logiciel:{monde.ssiad.uuid}", "DUI de test")
    statuts = dict(evenement.participants.values_list("type", "statut"))
    assert statuts == {"usager": "accepted", "professionnel": "needs-action"}
    creation = EvenementJournal.objects.get(action="agenda.evenement.creation")
    assert (creation.objet_uuid, creation.usager_uuid, creation.acteur_type) == (
        evenement.uuid,
        monde.usager.uuid,
        "logiciel",
    )
    lu = appel(client, "GET", f"/fhir/Appointment/{cree['id']}", dui).json()
    assert lu["start"].startswith("2026-12-14T08:00:00")
    assert {"system": SYSTEME, "value": "RDV-1"} in lu["identifier"]
    trouve = appel(client, "GET", f"/fhir/Appointment?identifier={SYSTEME}|RDV-1", dui).json()
    assert [e["resource"]["id"] for e in trouve["entry"]] == [cree["id"]]


def test_meme_identifiant_deux_fois_un_seul_rendez_vous(client, monde, dui):
    premier = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde))
    avant = lignes()
    second = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde, statut="pending"))
    assert (premier.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == premier.json()["id"]
    assert second.json()["status"] == "booked"  # déjà reçu : renvoyé tel quel, rien n'est réécrit
    assert lignes() == avant


def test_participants_proche_et_professionnel_par_rpps_et_lieu(client, monde, dui):
    aidant = monde.acteurs["aidant_avec_droits"].proche
    ide = monde.acteurs["ide"].exercice
    participants = [
        {"actor": {"reference": f"Patient/{monde.usager.uuid}"}, "status": "accepted"},
        {"actor": {"reference": f"Practitioner/{ide.professionnel.uuid}"}, "status": "tentative",
         "required": "optional"},
        {"actor": {"reference": f"RelatedPerson/{aidant.uuid}"}, "status": "declined"},
        {"actor": {"reference": "Location/salle-1", "display": "Salle de soins du SSIAD"},
         "status": "accepted"},
        {"actor": {"reference": "Device/agenda", "display": "Agenda du DUI"}, "status": "accepted"},
        {"type": [{"text": "Interprète"}], "status": "needs-action"},  # rôle à pourvoir, sans actor
    ]  # fmt: skip
    reponse = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde, participants=participants))
    assert reponse.status_code == 201, reponse.content
    evenement = Evenement.objects.get(uuid=reponse.json()["id"])
    assert evenement.lieux == [{"libelle": "Salle de soins du SSIAD", "adresse": "", "visio": ""}]
    professionnel = evenement.participants.get(type="professionnel")
    assert (professionnel.exercice, professionnel.statut, professionnel.requis) == (ide, "tentative", False)
    assert evenement.participants.get(type="proche").statut == StatutParticipation.DECLINE
    assert evenement.participants.count() == 3  # patient, infirmière, aidante


@pytest.mark.parametrize(
    "cas",
    ["role_inconnu", "pro_hors_cercle", "proche_d_un_autre", "autre_patient", "sans_patient", "type_inconnu"],
)
def test_participant_refuse_422_rien_ecrit(client, monde, dui, cas):
    patient = {"actor": {"reference": f"Patient/{monde.usager.uuid}"}, "status": "accepted"}
    autre = {
        "role_inconnu": {"reference": f"PractitionerRole/{uuid.uuid4()}"},
        "pro_hors_cercle": {
            "reference": f"PractitionerRole/{monde.acteurs['pro_hors_cercle'].exercice.uuid}"
        },
        "proche_d_un_autre": {"reference": f"RelatedPerson/{uuid.uuid4()}"},
        "autre_patient": {"reference": f"Patient/{monde.autre_usager.uuid}"},
        "sans_patient": {"reference": f"PractitionerRole/{monde.acteurs['ide'].exercice.uuid}"},
        "type_inconnu": {"reference": f"Group/{uuid.uuid4()}"},
    }[cas]
    participants = [{"actor": autre, "status": "needs-action"}]
    if cas != "sans_patient":
        participants.insert(0, patient)
    avant = lignes()
    contenu = oo(
        appel(client, "POST", "/fhir/Appointment", dui, appointment(monde, participants=participants)), 422
    )
    assert contenu["issue"][0]["expression"][0].startswith("Appointment.participant")
    assert lignes() == avant


def test_usager_hors_du_cercle_422_rien_ecrit(client, monde, dui):
    participants = [{"actor": {"reference": f"Patient/{monde.autre_usager.uuid}"}, "status": "accepted"}]
    avant = lignes()
    contenu = oo(
        appel(client, "POST", "/fhir/Appointment", dui, appointment(monde, participants=participants)), 422
    )
    assert "pas connu du portail pour vous" in contenu["issue"][0]["diagnostics"]
    assert lignes() == avant


def test_dui_en_lecture_seule_403_rien_ecrit(client, monde):
    jeton = logiciel(client, structure=monde.ssiad)[1]
    services_cercle.accorder(
        acteur=monde.acteurs["usager"], membre=monde.membres["ssiad"], domaine="agenda", niveau=1
    )
    avant = lignes()
    contenu = oo(appel(client, "POST", "/fhir/Appointment", jeton, appointment(monde)), 403)
    assert "droit" in contenu["issue"][0]["diagnostics"]
    assert lignes() == avant


@pytest.mark.parametrize(
    ("champs", "expression"),
    [
        ({"statut": "fulfilled"}, "Appointment.status"),
        ({"debut": None, "fin": None}, "Appointment.start"),
        ({"debut": "2026-12-14T10:00:00+01:00"}, "Appointment.end"),
    ],
)
def test_horaires_et_statut_refuses_en_francais(client, monde, dui, champs, expression):
    avant = lignes()
    contenu = oo(appel(client, "POST", "/fhir/Appointment", dui, appointment(monde, **champs)), 422)
    assert expression in contenu["issue"][0]["expression"]
    assert lignes() == avant


def test_periode_demandee_et_duree_de_l_exemple_gap(client, monde, dui):
    """L'exemple du volet : statut proposed, pas de start, une période demandée et une durée."""
    ressource = appointment(
        monde, statut="proposed", debut=None, fin=None, minutesDuration=15,
        requestedPeriod=[{"start": "2026-12-15T09:15:00Z", "end": "2026-12-15T09:30:00Z"}],
    )  # fmt: skip
    reponse = appel(client, "POST", "/fhir/Appointment", dui, ressource)
    assert reponse.status_code == 201, reponse.content
    assert reponse.json()["minutesDuration"] == 15
    assert reponse.json()["status"] == "proposed"


# --- Mise à jour conditionnelle et PUT par id -------------------------------------------------------


def _put(client, dui, ressource, valeur="RDV-1", systeme=SYSTEME):
    return appel(client, "PUT", f"/fhir/Appointment?identifier={systeme}|{valeur}", dui, ressource)


def test_mise_a_jour_conditionnelle_deux_fois_un_seul_rendez_vous(client, monde, dui):
    premiere = _put(client, dui, appointment(monde))
    assert premiere.status_code == 201, premiere.content
    assert "Location" in premiere
    apres_creation = lignes()
    deplace = appointment(monde, debut="2026-12-14T14:00:00+01:00", fin="2026-12-14T14:30:00+01:00")
    seconde = _put(client, dui, deplace)
    assert seconde.status_code == 200, seconde.content
    assert seconde.json()["id"] == premiere.json()["id"]
    assert Evenement.objects.filter(identifiant_externe="RDV-1").count() == 1
    evenement = Evenement.objects.get(identifiant_externe="RDV-1")
    assert evenement.debut.isoformat().startswith("2026-12-14T13:00:00")
    # Deux versions : l'horaire (les réponses sont redemandées), puis les réponses que le DUI déclare.
    assert evenement.sequence == 2
    assert evenement.participants.get(type="usager").statut == "accepted"
    assert lignes()[:2] == apres_creation[:2]
    assert EvenementJournal.objects.filter(action="agenda.evenement.modification").count() == 1
    # Le même envoi une troisième fois : rien ne change, rien n'est écrit.
    avant = lignes()
    assert _put(client, dui, deplace).status_code == 200
    assert lignes() == avant and Evenement.objects.get(pk=evenement.pk).sequence == 2


def test_mise_a_jour_conditionnelle_annule_et_change_les_reponses(client, monde, dui):
    _put(client, dui, appointment(monde))
    ide = monde.acteurs["ide"].exercice
    participants = [
        {"actor": {"reference": f"Patient/{monde.usager.uuid}"}, "status": "accepted"},
        {"actor": {"reference": f"PractitionerRole/{ide.uuid}"}, "status": "accepted"},
    ]
    reponse = _put(client, dui, appointment(monde, participants=participants))
    assert reponse.status_code == 200, reponse.content
    evenement = Evenement.objects.get(identifiant_externe="RDV-1")
    assert evenement.participants.get(type="professionnel").statut == "accepted"
    assert EvenementJournal.objects.filter(action="agenda.evenement.participants").count() == 1
    annule = _put(client, dui, appointment(monde, statut="cancelled", participants=participants))
    assert annule.status_code == 200 and annule.json()["status"] == "cancelled"
    assert Evenement.objects.get(pk=evenement.pk).statut == StatutEvenement.ANNULE
    assert EvenementJournal.objects.filter(action="agenda.evenement.annulation").count() == 1


def test_plusieurs_correspondances_412_rien_ecrit(client, monde, dui):
    for source in ("dui:aaa", "dui:bbb"):
        evenement = rendez_vous(monde)
        Evenement.objects.filter(pk=evenement.pk).update(systeme_source=source, identifiant_externe="R-1")
    avant = lignes()
    ressource = appointment(monde, valeur="R-1", statut="cancelled")
    contenu = oo(appel(client, "PUT", "/fhir/Appointment?identifier=R-1", dui, ressource), 412)
    assert "plusieurs" in contenu["issue"][0]["diagnostics"]
    assert lignes() == avant
    assert not Evenement.objects.filter(statut=StatutEvenement.ANNULE).exists()


@pytest.mark.parametrize(
    "adresse",
    [
        "/fhir/Appointment",
        "/fhir/Appointment?patient=Patient/00000000-0000-4000-8000-000000000000",
        "/fhir/Appointment?_count=1",
    ],
)
def test_mise_a_jour_conditionnelle_sans_identifiant_400(client, monde, dui, adresse):
    avant = lignes()
    oo(appel(client, "PUT", adresse, dui, appointment(monde)), 400)
    assert lignes() == avant


def test_identifiant_de_l_adresse_different_du_corps_422(client, monde, dui):
    avant = lignes()
    oo(_put(client, dui, appointment(monde, valeur="RDV-2")), 422)
    assert lignes() == avant


def test_put_par_id_et_if_match(client, monde, dui):
    cree = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde)).json()
    ressource = {**appointment(monde, comment="Pansement et prise de sang"), "id": cree["id"]}
    reponse = appel(client, "PUT", f"/fhir/Appointment/{cree['id']}", dui, ressource, HTTP_IF_MATCH='W/"0"')
    assert reponse.status_code == 200, reponse.content
    assert reponse.json()["comment"] == "Pansement et prise de sang"
    avant = lignes()
    perime = appel(client, "PUT", f"/fhir/Appointment/{cree['id']}", dui, ressource, HTTP_IF_MATCH='W/"0"')
    oo(perime, 412)
    assert lignes() == avant
    oo(
        appel(
            client, "PUT", f"/fhir/Appointment/{uuid.uuid4()}", dui, {**ressource, "id": str(uuid.uuid4())}
        ),
        400,
    )


def test_put_par_id_inconnu_404(client, monde, dui):
    inconnu = str(uuid.uuid4())
    oo(appel(client, "PUT", f"/fhir/Appointment/{inconnu}", dui, {**appointment(monde), "id": inconnu}), 404)


def test_put_vers_un_autre_patient_422_rien_ecrit(client, monde, dui):
    cree = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde)).json()
    autre = [{"actor": {"reference": f"Patient/{monde.autre_usager.uuid}"}, "status": "accepted"}]
    avant = lignes()
    ressource = {**appointment(monde, participants=autre), "id": cree["id"]}
    oo(appel(client, "PUT", f"/fhir/Appointment/{cree['id']}", dui, ressource), 422)
    assert lignes() == avant
    assert Evenement.objects.get(uuid=cree["id"]).usager == monde.usager


# --- Déclaration --------------------------------------------------------------------------------------


def test_metadata_declare_creation_et_mise_a_jour_conditionnelle(client):
    ressources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    appointment_ = ressources["Appointment"]
    assert {i["code"] for i in appointment_["interaction"]} == {"read", "search-type", "create", "update"}
    assert appointment_["conditionalUpdate"] is True
    assert all(r["conditionalUpdate"] is False for t, r in ressources.items() if t != "Appointment")


def test_le_logiciel_d_une_autre_structure_ne_voit_ni_ne_modifie(client, monde, dui):
    """La clé d'auteur d'un logiciel est celle de sa structure : le DUI d'une autre structure, sans
    droit sur Jeanne, ne lit pas le rendez-vous créé par celui du SSIAD et ne le modifie pas."""
    cree = appel(client, "POST", "/fhir/Appointment", dui, appointment(monde)).json()
    autre = logiciel(client, structure=StructureFactory())[1]
    oo(appel(client, "GET", f"/fhir/Appointment/{cree['id']}", autre), 404)
    assert appel(client, "GET", f"/fhir/Appointment?identifier={SYSTEME}|RDV-1", autre).json()["total"] == 0
    avant = lignes()
    oo(
        appel(
            client, "PUT", f"/fhir/Appointment/{cree['id']}", autre, {**appointment(monde), "id": cree["id"]}
        ),
        404,
    )
    oo(_put(client, autre, appointment(monde, statut="cancelled")), 422)
    assert lignes() == avant


def test_mise_a_jour_conditionnelle_non_declaree_405(client):
    structure = StructureFactory()
    jeton = logiciel(client, structure=structure)[1]
    ExerciceFactory(structure=structure)
    corps = {"resourceType": "Organization", "name": "Structure fictive"}
    oo(appel(client, "PUT", "/fhir/Organization?identifier=x|y", jeton, corps), 405)
