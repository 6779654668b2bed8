"""CareTeam du cercle (volet CDS 2.0.1, acteur Gestionnaire) : exemples de l'IG acceptés et relus,
versions (vread, _history) à chaque changement, sortie et retour, recherche avec inclusions à
nombre de requêtes constant, entrées mal formées (4xx OperationOutcome, jamais 500)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from django.utils import timezone

from cercle import services
from cercle.models import Cercle, Membre, MotifSortie, StatutMembre, TypeMembre
from coordination.fhir.models import VersionRessource
from coordination.fhir.validation import valider
from coordination.journal.models import Evenement
from coordination.personnes.models import Proche, StatutIdentite, Structure
from tests.factories import ExerciceFactory, StructureFactory, UsagerFactory
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_cercle import acteur_usager

pytestmark = pytest.mark.django_db

EXEMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "fhir-ans" / "cercle-de-soins"
INS_EXEMPLE = "123456789012244"  # matricule de l'exemple CDS (Jacques Thobois)
SYSTEME_NIR = "urn:oid:1.2.250.1.213.1.4.8"


def exemple(nom: str) -> dict:
    return json.loads((EXEMPLES / nom).read_text(encoding="utf-8"))


def _dui_gestionnaire(client, usager):
    """Le logiciel d'une structure à qui l'usager a confié la gestion de son cercle."""
    structure = StructureFactory(raison_sociale="Plateforme de coordination fictive")
    moi = acteur_usager(usager)
    membre = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.STRUCTURE, structure=structure
    )
    services.accorder(acteur=moi, membre=membre, domaine="cercle", niveau=3)
    services.accorder(acteur=moi, membre=membre, domaine="identite", niveau=1)
    return structure, logiciel(client, structure=structure)[1]


@pytest.fixture
def thobois():
    """L'usager de l'exemple CDS, connu du portail (identité établie dans le portail)."""
    usager = UsagerFactory(
        nom_naissance="THOBOIS",
        prenoms_naissance="Jacques",
        date_naissance=datetime.date(1984, 10, 2),
        sexe="M",
        matricule_ins=INS_EXEMPLE,
        oid_ins="1.2.250.1.213.1.4.8",
        statut_identite=StatutIdentite.VALIDEE,
    )
    services.creer_cercle(usager=usager)
    return usager


def _participants(careteam: dict) -> list[tuple[str, str, str | None]]:
    return sorted(
        (p["member"]["reference"].split("/")[0], p["period"]["start"], p["period"].get("end"))
        for p in careteam.get("participant", [])
    )


# --- Exemples de l'IG -------------------------------------------------------------------------------


def test_bundle_transaction_de_l_exemple_cds_accepte_et_relu(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    reponse = appel(
        client, "POST", "/fhir/", jeton, exemple("Bundle-cds-bundle-transaction-creation-example.json")
    )
    assert reponse.status_code == 200, reponse.content[:800]
    bundle = reponse.json()
    valider(bundle, type_attendu="Bundle")
    assert bundle["type"] == "transaction-response"
    statuts = [e["response"]["status"] for e in bundle["entry"]]
    # CareTeam (nouvelle version), Organization créée, Patient reconnu, RelatedPerson créé.
    assert statuts == ["201 Created", "201 Created", "200 OK", "201 Created"]
    cercle = Cercle.objects.get(usager=thobois)
    assert bundle["entry"][0]["response"]["location"] == f"CareTeam/{cercle.uuid}/_history/{cercle.version}"
    assert bundle["entry"][2]["response"]["location"] == f"Patient/{thobois.uuid}"
    cabinet = Structure.objects.get(raison_sociale="Cabinet médical CC CC")
    proche = Proche.objects.get(usager=thobois)
    assert (proche.nom, proche.lien) == ("Lamine", "personne_a_prevenir")

    relue = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}", jeton)
    assert relue.status_code == 200
    careteam = relue.json()
    valider(careteam, type_attendu="CareTeam")
    assert careteam["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
    ]
    assert careteam["subject"]["reference"] == f"Patient/{thobois.uuid}"
    assert careteam["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{cercle.uuid}"}]
    assert careteam["managingOrganization"][0]["reference"] == f"Organization/{cabinet.uuid}"
    par_membre = {p["member"]["reference"]: p for p in careteam["participant"]}
    # Les participants de l'exemple, avec leurs débuts ; la fin future (2032) ne se garde pas.
    assert par_membre[f"RelatedPerson/{proche.uuid}"]["period"] == {"start": "2013-01-12"}
    assert par_membre[f"Organization/{cabinet.uuid}"]["period"] == {"start": "2013-01-12"}
    roles = {ref: [c["code"] for c in p["role"][0]["coding"]] for ref, p in par_membre.items()}
    assert roles[f"RelatedPerson/{proche.uuid}"] == ["ECON", "ECON"]
    assert roles[f"Organization/{cabinet.uuid}"][0] == "PROV"
    # La structure gestionnaire, qui n'est pas dans l'exemple, reste (un POST ne retire personne).
    assert f"Organization/{structure.uuid}" in par_membre
    assert relue["ETag"] == f'W/"{cercle.version}"'
    vread = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}/_history/{cercle.version}", jeton).json()
    assert vread == careteam
    assert Evenement.objects.filter(action="cercle.mise_a_jour", usager_uuid=thobois.uuid).count() == 1


def test_exemple_careteam_poste_puis_remplace(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    cabinet = StructureFactory(raison_sociale="Cabinet médical CC CC")
    proche = Proche.objects.create(
        usager=thobois, lien="personne_a_prevenir", nom="Lamine", prenoms="CHIBOUT",
        date_debut=datetime.date(2013, 1, 12),
    )  # fmt: skip
    careteam = exemple("CareTeam-cds-careteam-example.json")
    careteam["subject"]["reference"] = f"Patient/{thobois.uuid}"
    careteam["participant"][0]["member"]["reference"] = f"RelatedPerson/{proche.uuid}"
    careteam["participant"][1]["member"]["reference"] = f"Organization/{cabinet.uuid}"
    careteam["managingOrganization"][0]["reference"] = f"Organization/{cabinet.uuid}"
    cree = appel(client, "POST", "/fhir/CareTeam", jeton, careteam)
    assert cree.status_code == 201, cree.content[:600]
    cercle = Cercle.objects.get(usager=thobois)
    assert cree["Location"].endswith(f"/fhir/CareTeam/{cercle.uuid}/_history/{cercle.version}")
    lue = cree.json()
    valider(lue, type_attendu="CareTeam")
    assert len(lue["participant"]) == 3  # le proche, le cabinet, la structure gestionnaire

    # PUT de l'exemple (sans la structure gestionnaire, qui sort) avec If-Match.
    careteam["id"] = str(cercle.uuid)
    careteam["participant"].append(
        {"member": {"reference": f"Organization/{structure.uuid}"}, "period": {"start": "2020-01-01"}}
    )
    careteam["participant"] = careteam["participant"][::-1][:2]  # gestionnaire et cabinet ; le proche sort
    reponse = appel(
        client, "PUT", f"/fhir/CareTeam/{cercle.uuid}", jeton, careteam, HTTP_IF_MATCH=cree["ETag"]
    )
    assert reponse.status_code == 200, reponse.content[:600]
    remplacee = reponse.json()
    valider(remplacee, type_attendu="CareTeam")
    assert int(remplacee["meta"]["versionId"]) == int(lue["meta"]["versionId"]) + 1
    assert remplacee["meta"]["lastUpdated"] >= lue["meta"]["lastUpdated"]
    sorti = Membre.objects.get(cercle=cercle, proche=proche)
    assert (sorti.statut, sorti.motif_sortie, sorti.date_sortie) == (
        StatutMembre.INACTIF, MotifSortie.FIN_ACCOMPAGNEMENT, timezone.localdate()
    )  # fmt: skip
    assert ("RelatedPerson", "2013-01-12", timezone.localdate().isoformat()) in _participants(remplacee)
    # If-Match périmé : 412, rien d'écrit.
    perime = appel(
        client, "PUT", f"/fhir/CareTeam/{cercle.uuid}", jeton, careteam, HTTP_IF_MATCH=cree["ETag"]
    )
    oo(perime, 412)
    assert Cercle.objects.get(pk=cercle.pk).version == int(remplacee["meta"]["versionId"])


# --- Versions ---------------------------------------------------------------------------------------


def test_sortie_puis_retour_deux_participants_et_vread_de_l_ancien_etat(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    moi = acteur_usager(thobois)
    infirmiere = ExerciceFactory(professionnel__nom_exercice="RETOUR")
    presence = services.ajouter_membre(
        acteur=moi, usager=thobois, type=TypeMembre.PROFESSIONNEL, exercice=infirmiere
    )
    cercle = Cercle.objects.get(usager=thobois)
    avant = cercle.version
    services.retirer_membre(acteur=moi, membre=presence)
    services.ajouter_membre(acteur=moi, usager=thobois, type=TypeMembre.PROFESSIONNEL, exercice=infirmiere)
    cercle.refresh_from_db()
    assert cercle.version == avant + 2
    careteam = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}", jeton).json()
    entrees = [
        p
        for p in careteam["participant"]
        if p["member"]["reference"] == f"PractitionerRole/{infirmiere.uuid}"
    ]
    jour = timezone.localdate().isoformat()
    assert [e["period"] for e in entrees] == [{"start": jour, "end": jour}, {"start": jour}]
    ancienne = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}/_history/{avant}", jeton)
    assert ancienne.status_code == 200
    anciens = [
        p
        for p in ancienne.json()["participant"]
        if p["member"]["reference"] == f"PractitionerRole/{infirmiere.uuid}"
    ]
    assert [e["period"] for e in anciens] == [{"start": jour}]
    assert ancienne.json()["meta"]["versionId"] == str(avant)
    historique = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}/_history", jeton).json()
    versions = [e["resource"]["meta"]["versionId"] for e in historique["entry"]]
    assert versions[:3] == [str(avant + 2), str(avant + 1), str(avant)]
    assert versions[-1] == "1"
    # La version porte l'événement du journal qui l'a produite.
    gardee = VersionRessource.objects.get(
        type_ressource="CareTeam", id_logique=cercle.uuid, version=avant + 1
    )
    assert Evenement.objects.get(uuid=gardee.evenement_uuid).action == "cercle.membre.sortie"


def test_chaque_changement_du_cercle_une_version(thobois):
    moi = acteur_usager(thobois)
    cercle = Cercle.objects.get(usager=thobois)
    assert list(
        VersionRessource.objects.filter(id_logique=cercle.uuid).values_list("version", flat=True)
    ) == [1]
    membre = services.ajouter_membre(
        acteur=moi, usager=thobois, type=TypeMembre.STRUCTURE, structure=StructureFactory()
    )
    droit = services.accorder(acteur=moi, membre=membre, domaine="cahier", niveau=2)
    services.revoquer(acteur=moi, droit=droit)
    services.suspendre_membre(acteur=moi, membre=membre)
    services.retirer_membre(acteur=moi, membre=membre)
    cercle.refresh_from_db()
    numeros = list(
        VersionRessource.objects.filter(id_logique=cercle.uuid)
        .order_by("version")
        .values_list("version", flat=True)
    )
    assert numeros == list(range(1, cercle.version + 1)) and cercle.version == 6
    derniere = VersionRessource.objects.get(id_logique=cercle.uuid, version=6)
    assert derniere.contenu["participant"][0]["period"]["end"] == timezone.localdate().isoformat()
    valider(derniere.contenu, type_attendu="CareTeam")


# --- Recherche et inclusions ------------------------------------------------------------------------


def _cercle_suivi_par(structure, *, pros: int = 2):
    """Un usager dont le cercle compte `structure` (avec lecture de l'identité), des
    professionnels, un proche."""
    usager = UsagerFactory()
    services.creer_cercle(usager=usager)
    moi = acteur_usager(usager)
    membre = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.STRUCTURE, structure=structure
    )
    services.accorder(acteur=moi, membre=membre, domaine="identite", niveau=1)
    for _ in range(pros):
        services.ajouter_membre(
            acteur=moi, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=ExerciceFactory()
        )
    proche = Proche.objects.create(
        usager=usager, lien="aidant", nom="AIDANTE", prenoms="Rose", date_debut=datetime.date(2024, 1, 1)
    )
    services.ajouter_membre(acteur=moi, usager=usager, type=TypeMembre.PROCHE, proche=proche)
    return usager


def test_recherche_par_ins_chaine_avec_include_iterate(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    moi = acteur_usager(thobois)
    exercice = ExerciceFactory()
    services.ajouter_membre(acteur=moi, usager=thobois, type=TypeMembre.PROFESSIONNEL, exercice=exercice)
    _cercle_suivi_par(structure)  # un autre cercle que l'INS ne désigne pas
    reponse = appel(
        client,
        "GET",
        f"/fhir/CareTeam?_include:iterate=*&patient.identifier={SYSTEME_NIR}|{INS_EXEMPLE}",
        jeton,
    )
    assert reponse.status_code == 200, reponse.content[:500]
    bundle = reponse.json()
    valider(bundle, type_attendu="Bundle")
    assert bundle["total"] == 1
    modes = {}
    for entree in bundle["entry"]:
        modes.setdefault(entree["search"]["mode"], set()).add(
            f"{entree['resource']['resourceType']}/{entree['resource']['id']}"
        )
    cercle = Cercle.objects.get(usager=thobois)
    assert modes["match"] == {f"CareTeam/{cercle.uuid}"}
    assert {
        f"Patient/{thobois.uuid}",
        f"PractitionerRole/{exercice.uuid}",
        f"Organization/{structure.uuid}",
        f"Practitioner/{exercice.professionnel.uuid}",  # itération : PractitionerRole:practitioner
        f"Organization/{exercice.structure.uuid}",  # itération : PractitionerRole:organization
    } <= modes["include"]
    # Un autre système d'identifiant ne trouve rien ; l'identifiant du portail trouve le même cercle.
    vide = appel(
        client, "GET", f"/fhir/CareTeam?patient.identifier=urn:oid:1.2.250.1.213.1.4.10|{INS_EXEMPLE}", jeton
    )
    assert vide.json()["total"] == 0
    portail = appel(
        client, "GET", f"/fhir/CareTeam?patient.identifier=urn:ietf:rfc:3986|urn:uuid:{thobois.uuid}", jeton
    )
    assert portail.json()["total"] == 1
    # Les lectures sont journalisées (CareTeam et Patient inclus).
    assert Evenement.objects.filter(action="fhir.careteam.lecture", usager_uuid=thobois.uuid).exists()
    assert Evenement.objects.filter(action="fhir.patient.lecture", usager_uuid=thobois.uuid).exists()


def test_recherche_par_participant_statut_identifiant_et_date(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    autre = _cercle_suivi_par(structure)
    cercle = Cercle.objects.get(usager=thobois)
    proche = Proche.objects.get(usager=autre)

    def total(requete):
        reponse = appel(client, "GET", f"/fhir/CareTeam?{requete}", jeton)
        assert reponse.status_code == 200, reponse.content[:400]
        return {e["resource"]["subject"]["reference"] for e in reponse.json().get("entry", [])}

    assert total(f"participant=Organization/{structure.uuid}") == {
        f"Patient/{thobois.uuid}",
        f"Patient/{autre.uuid}",
    }
    assert total(f"participant=RelatedPerson/{proche.uuid}") == {f"Patient/{autre.uuid}"}
    assert total(f"identifier=urn:ietf:rfc:3986|urn:uuid:{cercle.uuid}") == {f"Patient/{thobois.uuid}"}
    assert total(f"subject=Patient/{autre.uuid}&status=active") == {f"Patient/{autre.uuid}"}
    assert total("status=inactive") == set()
    assert len(total("_lastUpdated=ge2020-01-01")) == 2


def test_recherche_avec_inclusions_a_nombre_de_requetes_constant(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    structure = StructureFactory()
    _, jeton = logiciel(client, structure=structure)
    chemin = (
        "/fhir/CareTeam?_include=CareTeam:participant&_include=CareTeam:patient"
        "&_include:iterate=PractitionerRole:organization"
    )
    comptes = {}
    for nombre in (2, 6):
        while Cercle.objects.filter(membres__structure=structure).count() < nombre:
            _cercle_suivi_par(structure, pros=3)
        # Authentification (jeton, client, portées), total, page, participants (préchargés), une
        # requête par type inclus et par tour, journal des lectures (un lot).
        with django_assert_max_num_queries(22), CaptureQueriesContext(connection) as requetes:
            reponse = appel(client, "GET", chemin, jeton)
        comptes[nombre] = len(requetes)
        bundle = reponse.json()
        assert bundle["total"] == nombre
        incluses = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]
        types = {e["resource"]["resourceType"] for e in incluses}
        assert types == {"Patient", "PractitionerRole", "Organization", "RelatedPerson"}
        assert sum(e["resource"]["resourceType"] == "PractitionerRole" for e in incluses) == 3 * nombre
    assert comptes[2] == comptes[6], comptes


def test_history_du_type_filtre_par_les_habilitations(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    invisible = UsagerFactory()
    services.creer_cercle(usager=invisible)
    reponse = appel(client, "GET", "/fhir/CareTeam/_history", jeton)
    assert reponse.status_code == 200
    sujets = {e["resource"]["subject"]["reference"] for e in reponse.json()["entry"]}
    assert sujets == {f"Patient/{thobois.uuid}"}


# --- Entrées mal formées : 4xx OperationOutcome, jamais 500, rien d'écrit ---------------------------


def _careteam(usager, *participants, **autres) -> dict:
    ressource = {
        "resourceType": "CareTeam",
        "status": "active",
        "subject": {"reference": f"Patient/{usager.uuid}"},
        "participant": list(participants),
    }
    ressource.update(autres)
    return ressource


def _participant(reference: str | None = None, debut="2024-01-01", fin=None, role=None, **membre) -> dict:
    element = {"member": {"reference": reference} if reference else membre}
    if role is not None:
        element["role"] = role
    periode = {}
    if debut is not None:
        periode["start"] = debut
    if fin is not None:
        periode["end"] = fin
    if periode:
        element["period"] = periode
    return element


def _cas_mal_formes(usager, structure) -> list[tuple[str, str, object, int, str]]:
    """(méthode, chemin relatif, corps, statut attendu, morceau d'expression ou de diagnostic)."""
    org = f"Organization/{structure.uuid}"
    ct, p = _careteam, _participant
    portail = "https://coordination.example.org/fhir/CodeSystem/role-cercle"
    rpps_inconnu = {"system": "https://rpps.esante.gouv.fr", "value": "99999999999"}
    finess_inconnu = {"system": "https://finess.esante.gouv.fr", "value": "999999999"}
    inconnus = [p(f"PractitionerRole/{i:08d}-0000-0000-0000-000000000000") for i in range(300)]
    demain = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    autre = UsagerFactory()
    return [
        ("POST", "CareTeam", {"resourceType": "Patient"}, 400, "resourceType"),
        ("POST", "CareTeam", '{"resourceType": "CareTeam", ', 400, "JSON"),
        ("POST", "CareTeam", "[]", 400, "objet"),
        ("POST", "CareTeam", ct(usager, subject=None), 422, "CareTeam.subject"),
        ("POST", "CareTeam", ct(usager, subject={"display": "sans référence"}), 422, "CareTeam.subject"),
        ("POST", "CareTeam", ct(autre), 422, "CareTeam.subject"),
        ("POST", "CareTeam", ct(usager, subject={"reference": "Patient/pas-un-uuid"}), 422, "subject"),
        ("POST", "CareTeam", ct(usager, inconnus[0]), 422, "CareTeam.participant[0].member"),
        ("POST", "CareTeam", ct(usager, p(org), p(identifier=rpps_inconnu, type="PractitionerRole")), 422,
         "CareTeam.participant[1].member"),
        ("POST", "CareTeam", ct(usager, p(identifier=finess_inconnu, type="Organization")), 422,
         "CareTeam.participant[0].member"),
        ("POST", "CareTeam", ct(usager, p("Device/123")), 422, "member"),
        ("POST", "CareTeam", ct(usager, p(org, debut=None)), 422, "period.start"),
        ("POST", "CareTeam", ct(usager, p(org, debut="2013")), 422, "period.start"),
        ("POST", "CareTeam", ct(usager, p(org, debut="2013-02-30")), 400, "period.start"),
        ("POST", "CareTeam", ct(usager, p(org, debut="hier")), 400, "period.start"),
        ("POST", "CareTeam", ct(usager, p(org, debut="2024-05-01", fin="2024-01-01")), 422, "period.end"),
        ("POST", "CareTeam", ct(usager, p(org, debut=demain)), 422, "futur"),
        ("POST", "CareTeam", ct(usager, p(org), p(org, debut="2025-01-01")), 422, "présence"),
        ("POST", "CareTeam", ct(usager, status="inactive"), 422, "CareTeam.status"),
        ("POST", "CareTeam", ct(usager, status=12), 400, "status"),
        ("POST", "CareTeam", ct(usager, participant={"member": org}), 400, "participant"),
        ("POST", "CareTeam", ct(usager, managingOrganization=[{"reference": "Organization/inconnue"}]), 422,
         "managingOrganization"),
        ("POST", "CareTeam", ct(usager, p(org, role=[{"coding": [{"system": portail, "code": "GUARD"}]}])),
         422, "role"),
        ("POST", "CareTeam", ct(usager, name="x" * 200_000), 413, "volumineux"),
        ("POST", "CareTeam", ct(usager, *inconnus), 422, "participant[0]"),
        ("POST", "CareTeam", ct(usager, identifier=[{"value": "\u0000"}]), 400, "NUL"),
        ("PUT", "CareTeam/pas-un-uuid", {**ct(usager), "id": "pas-un-uuid"}, 404, "introuvable"),
    ]  # fmt: skip


def test_careteam_mal_formee_4xx_jamais_500(client, thobois, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    structure, jeton = _dui_gestionnaire(client, thobois)
    cercle = Cercle.objects.get(usager=thobois)
    avant = (cercle.version, Membre.objects.filter(cercle=cercle).count(), VersionRessource.objects.count())
    cas = _cas_mal_formes(thobois, structure)
    for methode, chemin, corps, statut, indice in cas:
        reponse = appel(client, methode, f"/fhir/{chemin}", jeton, corps)
        assert reponse.status_code == statut, (indice, reponse.status_code, reponse.content[:300])
        contenu = oo(reponse, statut)
        texte = json.dumps(contenu, ensure_ascii=False)
        assert indice in texte, (chemin, corps if isinstance(corps, str) else str(corps)[:200], texte[:400])
    cercle.refresh_from_db()
    assert (
        cercle.version,
        Membre.objects.filter(cercle=cercle).count(),
        VersionRessource.objects.count(),
    ) == avant
    assert len(cas) == 27


def test_put_mal_forme_et_bundles_refuses(client, thobois):
    structure, jeton = _dui_gestionnaire(client, thobois)
    cercle = Cercle.objects.get(usager=thobois)
    courante = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}", jeton).json()
    autre = UsagerFactory()
    services.creer_cercle(usager=autre)
    chemin = f"/fhir/CareTeam/{cercle.uuid}"
    cas = [
        ({**courante, "id": "autre"}, 400, "CareTeam.id"),
        ({**courante, "subject": {"reference": f"Patient/{autre.uuid}"}}, 422, "CareTeam.subject"),
        ({**courante, "participant": [{"period": {"start": "2020-01-01"}}]}, 422, "member"),
    ]
    for corps, statut, indice in cas:
        assert indice in json.dumps(
            oo(appel(client, "PUT", chemin, jeton, corps), statut), ensure_ascii=False
        )
    oo(appel(client, "PUT", f"/fhir/CareTeam/{cercle.uuid}", jeton, courante, HTTP_IF_MATCH='W/"999"'), 412)
    for methode in ("DELETE", "GET", "PATCH"):
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": courante, "request": {"method": methode, "url": f"CareTeam/{cercle.uuid}"}}
            ],
        }
        reponse = oo(appel(client, "POST", "/fhir/", jeton, bundle), 400)
        assert reponse["issue"][0]["expression"] == ["Bundle.entry[0].request.method"]
    # Un Bundle dont une entrée échoue n'écrit rien (tout ou rien), même la création d'une structure.
    bundle = exemple("Bundle-cds-bundle-transaction-creation-example.json")
    bundle["entry"][2]["resource"]["identifier"][0]["value"] = "279035121518989"  # INS inconnu
    contenu = oo(appel(client, "POST", "/fhir/", jeton, bundle), 422)
    assert contenu["issue"][0]["expression"] == ["Bundle.entry[2].Patient.identifier"]
    assert not Structure.objects.filter(raison_sociale="Cabinet médical CC CC").exists()
    # Traits différents de ceux de l'usager qui porte l'INS : vigilance d'identité.
    bundle = exemple("Bundle-cds-bundle-transaction-creation-example.json")
    bundle["entry"][2]["resource"]["birthDate"] = "1984-10-03"
    contenu = oo(appel(client, "POST", "/fhir/", jeton, bundle), 422)
    assert "Patient.birthDate" in contenu["issue"][0]["expression"][0]
    assert cercle.version == Cercle.objects.get(pk=cercle.pk).version


# --- Tous les canaux produisent une version ; Patient et RelatedPerson ; correspondance ---------------


def _connecter_comme(client, acteur):
    from coordination.comptes.acteur import SESSION_ACTEUR
    from tests.factories import connecter

    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()


def test_page_et_api_rest_produisent_une_version_de_la_careteam(client):
    from django.urls import reverse

    from tests.monde_cercle import construire_monde

    monde = construire_monde()
    cercle = Cercle.objects.get(usager=monde.usager)
    depart = cercle.version
    _connecter_comme(client, monde.acteurs["usager"])
    page = reverse("cercle:membre_retirer", args=[monde.usager.uuid, monde.membres["kine"].uuid])
    assert client.post(page, {"motif": "fin_accompagnement"}).status_code == 302
    api = f"/api/v1/cercle/membres/{monde.membres['ide'].uuid}/suspension/"
    assert client.post(api, {}, content_type="application/json").status_code == 200
    cercle.refresh_from_db()
    assert cercle.version == depart + 2
    versions = {
        v.version: v.contenu
        for v in VersionRessource.objects.filter(type_ressource="CareTeam", id_logique=cercle.uuid)
    }
    kine = f"PractitionerRole/{monde.membres['kine'].exercice.uuid}"

    def fin_du_kine(contenu):
        return next(
            p["period"].get("end") for p in contenu["participant"] if p["member"].get("reference") == kine
        )

    assert fin_du_kine(versions[depart]) is None
    assert fin_du_kine(versions[depart + 1]) == timezone.localdate().isoformat()
    # La CareTeam servie par read (tables) est celle de la dernière version gardée.
    lue = appel(client, "GET", f"/fhir/CareTeam/{cercle.uuid}")
    assert lue.status_code == 200 and lue.json() == versions[depart + 2]


@pytest.mark.parametrize(
    "nom, attendu_patient, attendu_proche",
    [
        ("usager", 200, 200),
        ("ide", 200, 200),  # présomption : identité et cercle en lecture
        ("aidant_avec_droits", 403, 403),  # proche : connaît l'usager, sans droit sur ces domaines
        ("pro_sans_droit", 403, 403),
        ("pro_hors_cercle", 404, 404),
        ("autre_usager", 404, 404),
    ],
)
def test_patient_et_relatedperson_lus_selon_les_habilitations(client, nom, attendu_patient, attendu_proche):
    from tests.monde_cercle import construire_monde

    monde = construire_monde()
    _connecter_comme(client, monde.acteurs[nom])
    fille = monde.membres["aidant"].proche
    patient = appel(client, "GET", f"/fhir/Patient/{monde.usager.uuid}")
    proche = appel(client, "GET", f"/fhir/RelatedPerson/{fille.uuid}")
    for reponse, attendu, action in (
        (patient, attendu_patient, "fhir.patient.lecture"),
        (proche, attendu_proche, "fhir.relatedperson.lecture"),
    ):
        if attendu == 200:
            assert reponse.status_code == 200
            valider(reponse.json())
            assert Evenement.objects.filter(action=action, usager_uuid=monde.usager.uuid).exists()
        else:
            oo(reponse, attendu)
            assert not Evenement.objects.filter(action=action).exists()
    recherche = appel(client, "GET", f"/fhir/RelatedPerson?patient=Patient/{monde.usager.uuid}").json()
    assert (recherche["total"] > 0) is (attendu_proche == 200)


def test_roles_et_membres_de_la_careteam(thobois):
    from cercle.fhir import PARTICIPANTS, cercle_vers_careteam
    from cercle.roles import Role

    moi = acteur_usager(thobois)
    medecin = ExerciceFactory(structure=None, professionnel__profession_code="10")
    services.ajouter_membre(
        acteur=moi,
        usager=thobois,
        type=TypeMembre.PROFESSIONNEL,
        exercice=medecin,
        role=Role.MEDECIN_TRAITANT,
    )
    confiance = Proche.objects.create(
        usager=thobois, lien="personne_confiance", nom="CONFIANCE", prenoms="Anne",
        date_debut=datetime.date(2024, 1, 1),
    )  # fmt: skip
    services.ajouter_membre(acteur=moi, usager=thobois, type=TypeMembre.PROCHE, proche=confiance)
    services.ajouter_membre(acteur=moi, usager=thobois, type=TypeMembre.AUTRE, nom="VOISINE", prenoms="Lise")
    cercle = Cercle.objects.prefetch_related(PARTICIPANTS).get(usager=thobois)
    careteam = cercle_vers_careteam(cercle, cercle.participants)
    valider(careteam, type_attendu="CareTeam")
    codes = {
        p["member"].get("reference", "autre"): (p["role"][0]["coding"][0]["system"].rsplit("/", 1)[1],
                                                p["role"][0]["coding"][0]["code"])
        for p in careteam["participant"]
    }  # fmt: skip
    assert codes[f"PractitionerRole/{medecin.uuid}"] == ("TRE-R259-HL7ParticipationFunction", "PCP")
    assert codes[f"RelatedPerson/{confiance.uuid}"] == ("TRE-R260-HL7RoleClass", "NOK")
    assert codes["autre"] == ("TRE-R260-HL7RoleClass", "CON")
    voisine = next(p for p in careteam["participant"] if "reference" not in p["member"])
    assert voisine["member"]["type"] == "RelatedPerson" and voisine["member"]["display"] == "Lise VOISINE"
    assert careteam["name"] == "Cercle de soins de Jacques THOBOIS"
