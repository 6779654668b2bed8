"""Abonnements NdE par l'API FHIR (`/fhir/Subscription`, coordination/fhir/subscription.py) : création,
lecture, recherche, mise à jour et arrêt par le logiciel de la structure ; matrice des acteurs
(anonyme 401, portée manquante 403, session du portail 403, logiciel d'une autre structure 404) ;
refus en français qui n'écrivent rien. La Subscription part de l'exemple du volet
(shared/samples/fhir-ans/notification-evenements/Subscription-sub1.json)."""

from __future__ import annotations

import copy
import datetime
import json
import uuid
from pathlib import Path

import pytest

from coordination.journal.models import Evenement as EvenementJournal
from coordination.notifications import abonnements
from coordination.notifications.models_abonnements import Abonnement
from coordination.personnes.models import ModeRecueil, StatutIdentite, Usager
from tests.factories import OID_INS_TEST, ExerciceFactory, compte_connectable, connecter, nir_valide
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db

ECHANTILLONS = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "fhir-ans"
EXEMPLE = json.loads((ECHANTILLONS / "notification-evenements" / "Subscription-sub1.json").read_text())
ENDPOINT = "https://dui.ssiad.example/nde/notifications"


def subscription(usager=None, *, code="NOT", systeme=abonnements.SYSTEME_J46, **champs) -> dict:
    """L'exemple du volet, en webhook : le patient désigné par l'identifiant du portail (ou sans
    patient : tous les usagers de la structure)."""
    ressource = copy.deepcopy(EXEMPLE)
    for cle in ("id", "text", "end"):
        ressource.pop(cle)
    ressource["contained"] = [r for r in ressource["contained"] if r["resourceType"] != "Patient"]
    ressource["extension"] = [e for e in ressource["extension"] if e["url"] != abonnements.EXT_SUBJECT]
    if usager is not None:
        patient = {"resourceType": "Patient", "id": "pat1"}
        patient["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{usager.uuid}"}]
        ressource["contained"].append(patient)
        ressource["extension"].append(
            {"url": abonnements.EXT_SUBJECT, "valueReference": {"reference": "#pat1"}}
        )
    for extension in ressource["extension"]:
        if extension["url"] == abonnements.EXT_TYPE:
            extension["valueCodeableConcept"] = {"coding": [{"system": systeme, "code": code}]}
    ressource["criteria"] = f"CommunicationRequest?event-type={code}"
    ressource["channel"] = {
        "type": "rest-hook", "endpoint": ENDPOINT, "payload": "application/fhir+json",
        "header": ["Authorization: Bearer jeton-du-dui"],
    }  # fmt: skip
    ressource.update(champs)
    return ressource


@pytest.fixture
def monde():
    return construire_monde()


@pytest.fixture
def dui(client, monde):
    return logiciel(client, structure=monde.ssiad)


def lignes() -> tuple[int, int]:
    return Abonnement.objects.count(), EvenementJournal.objects.filter(
        action__startswith="notifications."
    ).count()


def creer(client, jeton, ressource):
    return appel(client, "POST", "/fhir/Subscription", jeton, ressource)


# --- Création, lecture, recherche, mise à jour ----------------------------------------------------


def test_creation_201_location_puis_lecture(client, monde, dui):
    client_logiciel, jeton = dui
    reponse = creer(client, jeton, subscription(monde.usager))
    assert reponse.status_code == 201, reponse.content
    contenu = reponse.json()
    assert reponse["Location"].endswith(f"/fhir/Subscription/{contenu['id']}/_history/1")
    assert contenu["status"] == "active"  # « requested » reçu : actif tout de suite (pas de poignée de main)
    assert contenu["meta"]["profile"] == [abonnements.PROFIL_SUBSCRIPTION]
    abonnement = Abonnement.objects.get(uuid=contenu["id"])
    assert (abonnement.structure, abonnement.client, abonnement.usager) == (
        monde.ssiad, client_logiciel, monde.usager
    )  # fmt: skip
    assert abonnement.natures == sorted(
        [
            "cahier.nouvelle_note",
            "cahier.note_urgente",
            "cahier.accuse_demande",
            "cahier.reponse",
            "cahier.alerte",
        ]
    )
    assert abonnement.endpoint == ENDPOINT
    assert abonnement.en_tetes == ["Authorization: Bearer jeton-du-dui"]
    creation = EvenementJournal.objects.get(action="notifications.abonnement.creation")
    assert creation.usager_uuid == monde.usager.uuid
    lu = appel(client, "GET", f"/fhir/Subscription/{contenu['id']}", jeton)
    assert lu.status_code == 200
    assert lu.json()["channel"]["endpoint"] == ENDPOINT
    assert lu["ETag"] == 'W/"1"'
    assert EvenementJournal.objects.filter(action="notifications.abonnement.lecture").count() == 1


def test_sans_patient_tous_les_usagers_et_code_local(client, monde, dui):
    ressource = subscription(code="agenda.reunion_confirmee", systeme=abonnements.SYSTEME_LOCAL)
    reponse = creer(client, dui[1], ressource)
    assert reponse.status_code == 201, reponse.content
    abonnement = Abonnement.objects.get()
    assert (abonnement.usager, abonnement.natures) == (None, ["agenda.reunion_confirmee"])


def test_recherche_par_le_proprietaire_et_statut(client, monde, dui):
    jeton = dui[1]
    actif = creer(client, jeton, subscription(monde.usager)).json()["id"]
    arrete = creer(client, jeton, subscription(status="off")).json()["id"]
    autre = logiciel(client)[1]  # autre structure
    creer(client, autre, subscription())
    tous = appel(client, "GET", "/fhir/Subscription", jeton).json()
    assert {e["resource"]["id"] for e in tous["entry"]} == {actif, arrete}
    actifs = appel(client, "GET", "/fhir/Subscription?status=active", jeton).json()
    assert [e["resource"]["id"] for e in actifs["entry"]] == [actif]


def test_mise_a_jour_puis_arret(client, monde, dui):
    jeton = dui[1]
    cree = creer(client, jeton, subscription(monde.usager)).json()
    nouvelle = {**cree, "criteria": "CommunicationRequest?event-type=DOC"}
    for extension in nouvelle["extension"]:
        if extension["url"] == abonnements.EXT_TYPE:
            extension["valueCodeableConcept"] = {
                "coding": [{"system": abonnements.SYSTEME_J46, "code": "DOC"}]
            }
    reponse = appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", jeton, nouvelle, HTTP_IF_MATCH='W/"1"')
    assert reponse.status_code == 200, reponse.content
    assert Abonnement.objects.get().natures == ["ppa.validation"]
    perimee = appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", jeton, nouvelle, HTTP_IF_MATCH='W/"1"')
    oo(perimee, 412)
    arret = appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", jeton, {**nouvelle, "status": "off"})
    assert arret.status_code == 200
    assert arret.json()["status"] == "off"
    assert arret.json()["meta"]["versionId"] == "3"
    assert Abonnement.objects.get().statut == "off"
    actions = list(
        EvenementJournal.objects.filter(action__startswith="notifications.abonnement.")
        .exclude(action="notifications.abonnement.lecture")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "notifications.abonnement.creation",
        "notifications.abonnement.modification",
        "notifications.abonnement.arret",
    ]


# --- Matrice des acteurs ---------------------------------------------------------------------------


def test_anonyme_401_rien_ecrit(client, monde, dui):
    cree = creer(client, dui[1], subscription()).json()
    avant = lignes()
    oo(creer(client, None, subscription()), 401)
    oo(appel(client, "GET", f"/fhir/Subscription/{cree['id']}"), 401)
    oo(appel(client, "GET", "/fhir/Subscription"), 401)
    oo(appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", None, {**cree, "status": "off"}), 401)
    assert lignes() == avant


def test_logiciel_d_une_autre_structure_404_rien_ecrit(client, monde, dui):
    cree = creer(client, dui[1], subscription(monde.usager)).json()
    autre = logiciel(client)[1]
    avant = lignes()
    oo(appel(client, "GET", f"/fhir/Subscription/{cree['id']}", autre), 404)
    oo(appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", autre, {**cree, "status": "off"}), 404)
    assert appel(client, "GET", "/fhir/Subscription", autre).json().get("entry", []) == []
    assert lignes() == avant
    assert Abonnement.objects.get().statut == "active"


def test_id_inconnu_404(client, monde, dui):
    inconnu = str(uuid.uuid4())
    oo(appel(client, "GET", f"/fhir/Subscription/{inconnu}", dui[1]), 404)
    oo(appel(client, "PUT", f"/fhir/Subscription/{inconnu}", dui[1], {**subscription(), "id": inconnu}), 404)


@pytest.mark.parametrize(
    ("portees", "methode", "statut"),
    [
        (("system/*.read",), "POST", 403),
        (("system/Subscription.read",), "POST", 403),
        (("system/Patient.read", "system/Patient.write"), "POST", 403),
        (("system/Patient.read",), "GET", 403),
        (("system/Subscription.read", "system/Subscription.write"), "POST", 201),
    ],
    ids=["lecture-seule", "subscription-lecture", "autre-type", "lecture-autre-type", "portees-du-type"],
)
def test_portees(client, monde, portees, methode, statut):
    jeton = logiciel(client, portees=portees, structure=monde.ssiad)[1]
    avant = lignes()
    if methode == "POST":
        reponse = creer(client, jeton, subscription())
    else:
        reponse = appel(client, "GET", "/fhir/Subscription", jeton)
    assert reponse.status_code == statut, reponse.content
    if statut == 403:
        oo(reponse, 403)
        assert lignes() == avant


@pytest.mark.parametrize(
    "qui", ["ide", "gestionnaire", "usager", "aidant_avec_droits", "representant"], ids=str
)
def test_sessions_de_chaque_sorte_d_acteur_403_rien_ecrit(client, monde, dui, qui):
    cree = creer(client, dui[1], subscription(monde.usager)).json()
    avant = lignes()
    connecter(client, monde.acteurs[qui].compte)
    oo(appel(client, "GET", "/fhir/Subscription"), 403)
    oo(appel(client, "GET", f"/fhir/Subscription/{cree['id']}"), 403)
    oo(creer(client, None, subscription()), 403)
    oo(appel(client, "PUT", f"/fhir/Subscription/{cree['id']}", None, {**cree, "status": "off"}), 403)
    assert lignes() == avant


def test_session_du_portail_403(client, monde, dui):
    creer(client, dui[1], subscription())
    compte = compte_connectable()
    ExerciceFactory(professionnel__compte=compte, structure=monde.ssiad)
    connecter(client, compte)
    contenu = oo(appel(client, "GET", "/fhir/Subscription"), 403)
    assert "logiciels des structures" in contenu["issue"][0]["diagnostics"]
    oo(creer(client, None, subscription()), 403)


# --- Ressources refusées -------------------------------------------------------------------------


def _canal(endpoint=ENDPOINT, **champs):
    return subscription(channel={"type": "rest-hook", "endpoint": endpoint, **champs})


def _sans_extension(url):
    ressource = subscription()
    ressource["extension"] = [e for e in ressource["extension"] if e["url"] != url]
    return ressource


@pytest.mark.parametrize(
    ("ressource", "expression", "raison"),
    [
        (subscription(channel={"type": "email", "endpoint": "mailto:a@b.fr"}), "channel.type", "rest-hook"),
        (_canal("http://dui.example/x"), "endpoint", "https"),
        (_canal("https://10.0.0.3/x"), "endpoint", "local"),
        (_canal("https://dui.example/" + "x" * 310), "endpoint", "320 caractères"),
        (
            _canal(payload="application/xml"),
            "payload",
            "application/fhir+json",
        ),
        (
            _canal(header=["Sans deux-points"]),
            "header[0]",
            "Nom: valeur",
        ),
        (
            _canal(header=["X-Idempotency-Key: 1"]),
            "header[0]",
            "posé par le portail",
        ),
        (subscription(criteria="Patient?name=x"), "criteria", "CommunicationRequest"),
        (subscription(criteria="CommunicationRequest?patient=1"), "criteria", "non pris en charge"),
        (subscription(code="SOR"), "event-type", "SOR"),
        (subscription(status="error"), "status", "posé par le portail"),
        (subscription(end="2019-01-01T00:00:00+01:00"), "end", "suivre le début"),
        (_sans_extension(abonnements.EXT_START), "extension", "start absente"),
        (_sans_extension(abonnements.EXT_DECLARANT), "extension", "declarant absente"),
        (_sans_extension(abonnements.EXT_TYPE), "extension", "event-type absente"),
    ],
    ids=[
        "canal-courriel", "http-distant", "ip-privee", "adresse-trop-longue", "payload-xml",
        "en-tete-mal-forme", "en-tete-reserve",
        "criteria-autre-type", "criteria-parametre", "type-inconnu", "statut-error", "fin-avant-debut",
        "sans-start", "sans-declarant", "sans-event-type",
    ],
)  # fmt: skip
def test_subscription_refusee_422_en_francais_rien_ecrit(client, monde, dui, ressource, expression, raison):
    avant = lignes()
    contenu = oo(creer(client, dui[1], ressource), 422)
    probleme = contenu["issue"][0]
    assert raison in probleme["diagnostics"]
    assert expression in probleme["expression"][0]
    assert lignes() == avant


def test_ressource_mal_formee_400_rien_ecrit(client, monde, dui):
    avant = lignes()
    oo(creer(client, dui[1], {"resourceType": "Subscription", "status": "active"}), 400)  # reason, criteria…
    oo(creer(client, dui[1], "{pas du json"), 400)
    assert lignes() == avant


def test_patient_hors_du_monde_de_la_structure_422_comme_inconnu(client, monde, dui):
    avant = lignes()
    hors = oo(creer(client, dui[1], subscription(monde.autre_usager)), 422)["issue"][0]["diagnostics"]
    faux = subscription(monde.usager)
    faux["contained"][-1]["identifier"][0]["value"] = f"urn:uuid:{uuid.uuid4()}"
    inconnu = oo(creer(client, dui[1], faux), 422)["issue"][0]["diagnostics"]
    assert hors == inconnu
    assert "pas connu du portail pour vous" in hors
    assert lignes() == avant


def test_http_local_permis_seulement_si_reglage(client, monde, dui, settings):
    ressource = subscription(channel={"type": "rest-hook", "endpoint": "http://127.0.0.1:9/nde"})
    settings.WEBHOOKS_HTTP_LOCAL = False
    oo(creer(client, dui[1], ressource), 422)
    settings.WEBHOOKS_HTTP_LOCAL = True
    assert creer(client, dui[1], ressource).status_code == 201


def test_patient_designe_par_son_ins(client, monde, dui):
    matricule = nir_valide(9802)
    Usager.objects.filter(pk=monde.usager.pk).update(
        matricule_ins=matricule, oid_ins=OID_INS_TEST, statut_identite=StatutIdentite.QUALIFIEE,
        mode_recueil=ModeRecueil.INSI, date_interrogation_insi=datetime.date(2026, 1, 15),
    )  # fmt: skip
    ressource = subscription(monde.usager)
    ressource["contained"][-1]["identifier"] = [{"system": f"urn:oid:{OID_INS_TEST}", "value": matricule}]
    assert creer(client, dui[1], ressource).status_code == 201
    assert Abonnement.objects.get().usager == monde.usager
