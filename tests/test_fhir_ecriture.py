"""Écritures FHIR, magasin de versions, vread et _history, transactions et batch.

Les ressources de l'annuaire sont en lecture seule : ces tests enregistrent, le temps d'un test,
deux ressources adossées au magasin de versions (`RessourceEnVersions`, du vrai code de
coordination/fhir/versions.py), sur les types Basic et Linkage."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from coordination.fhir.models import VersionRessource, VersionsImmuables
from coordination.fhir.registre import Interaction, registre
from coordination.fhir.validation import valider
from coordination.fhir.versions import RessourceEnVersions, ajouter_version
from coordination.journal.models import Evenement
from tests.fhir_outils import appel, logiciel, oo

pytestmark = pytest.mark.django_db


class Basique(RessourceEnVersions):
    type = "Basic"
    profil = "http://exemple.test/StructureDefinition/basique"


class Liaison(RessourceEnVersions):
    """Type qui n'accepte que POST dans un Bundle (comme la DocumentReference d'une note CdL)."""

    type = "Linkage"
    methodes_transaction = frozenset({"POST"})
    interactions = RessourceEnVersions.interactions - {Interaction.HISTORY_TYPE}


@pytest.fixture(autouse=True)
def ressources_de_test():
    with registre.temporairement(Basique), registre.temporairement(Liaison):
        yield


@pytest.fixture
def jeton(client):
    return logiciel(client)[1]


def basique(texte="note", **champs):
    return {"resourceType": "Basic", "code": {"text": texte}, **champs}


def _creer(client, jeton, ressource=None, **en_tetes):
    reponse = appel(client, "POST", "/fhir/Basic", jeton, ressource or basique(), **en_tetes)
    assert reponse.status_code == 201, reponse.content
    return reponse


# --- Création, lecture, mise à jour -------------------------------------------------------------------


def test_creation_201_location_etag_et_journal(client, jeton):
    reponse = _creer(client, jeton, basique(id="ignore"))
    ressource = reponse.json()
    assert ressource["id"] != "ignore" and uuid.UUID(ressource["id"])
    assert ressource["meta"]["versionId"] == "1"
    assert reponse["ETag"] == 'W/"1"'
    assert reponse["Location"] == f"http://testserver/fhir/Basic/{ressource['id']}/_history/1"
    assert reponse["Last-Modified"].endswith("GMT")
    version = VersionRessource.objects.get(type_ressource="Basic", id_logique=ressource["id"])
    evenement = Evenement.objects.get(uuid=version.evenement_uuid)
    assert evenement.action == "fhir.basic.creation"
    assert evenement.acteur_type == "logiciel" and evenement.acteur_nom == "DUI de test"
    assert evenement.structure_uuid is not None
    relue = appel(client, "GET", f"/fhir/Basic/{ressource['id']}", jeton)
    assert relue.json() == ressource and relue["ETag"] == 'W/"1"'


@pytest.mark.parametrize(
    "prefer, corps_attendu",
    [
        ("return=minimal", None),
        ("return=representation", "Basic"),
        ("return=OperationOutcome", "OperationOutcome"),
    ],
)
def test_prefer(client, jeton, prefer, corps_attendu):
    reponse = _creer(client, jeton, HTTP_PREFER=prefer)
    if corps_attendu is None:
        assert reponse.content == b""
    else:
        assert reponse.json()["resourceType"] == corps_attendu
    assert reponse["Location"]
    oo(appel(client, "POST", "/fhir/Basic", jeton, basique(), HTTP_PREFER="return=tout"), 400)


def test_mise_a_jour_if_match_412_et_versions(client, jeton):
    cree = _creer(client, jeton).json()
    chemin = f"/fhir/Basic/{cree['id']}"
    reponse = appel(client, "PUT", chemin, jeton, basique("v2", id=cree["id"]), HTTP_IF_MATCH='W/"1"')
    assert reponse.status_code == 200 and reponse["ETag"] == 'W/"2"'
    assert reponse.json()["code"]["text"] == "v2"
    perimee = appel(client, "PUT", chemin, jeton, basique("v3", id=cree["id"]), HTTP_IF_MATCH='W/"1"')
    assert oo(perimee, 412)["issue"][0]["code"] == "conflict"
    oo(appel(client, "PUT", chemin, jeton, basique("v3", id=cree["id"]), HTTP_IF_MATCH="1"), 400)
    assert (
        appel(client, "PUT", chemin, jeton, basique("v3", id=cree["id"])).json()["meta"]["versionId"] == "3"
    )
    assert VersionRessource.objects.filter(id_logique=cree["id"]).count() == 3


def test_mise_a_jour_id_absent_ou_different_400(client, jeton):
    cree = _creer(client, jeton).json()
    chemin = f"/fhir/Basic/{cree['id']}"
    oo(appel(client, "PUT", chemin, jeton, basique()), 400)
    contenu = oo(appel(client, "PUT", chemin, jeton, basique(id=str(uuid.uuid4()))), 400)
    assert contenu["issue"][0]["expression"] == ["Basic.id"]


def test_mauvais_resource_type_400(client, jeton):
    contenu = oo(appel(client, "POST", "/fhir/Basic", jeton, {"resourceType": "Patient"}), 400)
    assert contenu["issue"][0]["expression"] == ["resourceType"]


def test_erreur_de_validation_situee(client, jeton):
    corps = basique(created="2024-02-30", subject={"reference": 12})
    contenu = oo(appel(client, "POST", "/fhir/Basic", jeton, corps), 400)
    expressions = {e for issue in contenu["issue"] for e in issue["expression"]}
    assert {"Basic.created", "Basic.subject.reference"} <= expressions
    assert not VersionRessource.objects.exists()


def test_ecriture_sans_portee_403(client):
    _, jeton_lecture = logiciel(client, portees=("system/*.read",))
    contenu = oo(appel(client, "POST", "/fhir/Basic", jeton_lecture, basique()), 403)
    assert "system/Basic.write" in contenu["issue"][0]["diagnostics"]
    _, jeton_basic = logiciel(client, portees=("system/Basic.write", "system/Basic.read"))
    assert appel(client, "POST", "/fhir/Basic", jeton_basic, basique()).status_code == 201


# --- vread et _history --------------------------------------------------------------------------------


def test_vread_et_historique_instance(client, jeton):
    cree = _creer(client, jeton).json()
    chemin = f"/fhir/Basic/{cree['id']}"
    appel(client, "PUT", chemin, jeton, basique("v2", id=cree["id"]))
    premiere = appel(client, "GET", f"{chemin}/_history/1", jeton)
    assert premiere.status_code == 200 and premiere["ETag"] == 'W/"1"'
    assert premiere.json()["code"]["text"] == "note"
    oo(appel(client, "GET", f"{chemin}/_history/9", jeton), 404)
    oo(appel(client, "GET", f"{chemin}/_history/abc", jeton), 404)
    historique = appel(client, "GET", f"{chemin}/_history", jeton).json()
    valider(historique, type_attendu="Bundle")
    assert historique["type"] == "history" and historique["total"] == 2
    deuxieme, premiere = historique["entry"]
    assert deuxieme["resource"]["meta"]["versionId"] == "2"
    assert deuxieme["request"] == {"method": "PUT", "url": f"Basic/{cree['id']}"}
    assert deuxieme["response"]["status"] == "200 OK" and deuxieme["response"]["etag"] == 'W/"2"'
    assert premiere["request"] == {"method": "POST", "url": "Basic"}
    assert premiere["response"]["status"] == "201 Created"
    oo(appel(client, "GET", f"/fhir/Basic/{uuid.uuid4()}/_history", jeton), 404)
    assert len(appel(client, "GET", f"{chemin}/_history?_count=1", jeton).json()["entry"]) == 1
    oo(appel(client, "GET", f"{chemin}/_history?_since=hier", jeton), 400)
    oo(appel(client, "GET", f"{chemin}/_history?_at=2024", jeton), 400)


def test_historique_du_type(client, jeton):
    a = _creer(client, jeton).json()
    b = _creer(client, jeton).json()
    historique = appel(client, "GET", "/fhir/Basic/_history", jeton).json()
    assert [e["resource"]["id"] for e in historique["entry"]] == [b["id"], a["id"]]
    assert appel(client, "GET", "/fhir/Basic/_history?_since=2999-01-01", jeton).json()["total"] == 0
    oo(appel(client, "GET", "/fhir/Linkage/_history", jeton), 405)


def test_version_supprimee_410(client, jeton):
    cree = _creer(client, jeton).json()
    ajouter_version(type_ressource="Basic", id_logique=uuid.UUID(cree["id"]), ressource=None, supprimee=True)
    oo(appel(client, "GET", f"/fhir/Basic/{cree['id']}", jeton), 410)
    historique = appel(client, "GET", f"/fhir/Basic/{cree['id']}/_history", jeton).json()
    assert (
        historique["entry"][0]["request"]["method"] == "DELETE" and "resource" not in historique["entry"][0]
    )


def test_magasin_en_ajout_seul():
    version = ajouter_version(type_ressource="Basic", id_logique=uuid.uuid4(), ressource=basique())
    version.version = 5
    with pytest.raises(VersionsImmuables):
        version.save()
    with pytest.raises(VersionsImmuables):
        VersionRessource.objects.filter(pk=version.pk).update(version=7)
    with pytest.raises(VersionsImmuables):
        VersionRessource.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        VersionRessource.objects.create(
            type_ressource="Basic", id_logique=version.id_logique, version=1,
            derniere_maj=version.derniere_maj, contenu={},
        )  # fmt: skip


def test_versions_numerotees_a_la_suite():
    identifiant = uuid.uuid4()
    numeros = [
        ajouter_version(type_ressource="Basic", id_logique=identifiant, ressource=basique()).version
        for _ in range(3)
    ]
    assert numeros == [1, 2, 3]
    autre = ajouter_version(
        type_ressource="Linkage", id_logique=identifiant, ressource={"resourceType": "Linkage"}
    )
    assert autre.version == 1


# --- Transactions et batch ------------------------------------------------------------------------------


def _entree(ressource, methode="POST", url="Basic", full_url=None, **requete):
    entree = {"resource": ressource, "request": {"method": methode, "url": url, **requete}}
    if full_url:
        entree["fullUrl"] = full_url
    return entree


def test_transaction_resout_les_urn_uuid_et_repond_par_entree(client, jeton):
    existante = _creer(client, jeton).json()
    corps = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entree(
                basique("lien", subject={"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}),
                full_url="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0b",
            ),
            _entree(
                basique("cible", id="cible-locale"), full_url="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"
            ),
            _entree(basique("par id", subject={"reference": "Basic/cible-locale"})),
            _entree(basique("maj", id=existante["id"]), "PUT", f"Basic/{existante['id']}", ifMatch='W/"1"'),
        ],
    }
    reponse = appel(client, "POST", "/fhir/", jeton, corps)
    assert reponse.status_code == 200, reponse.content
    bundle = reponse.json()
    valider(bundle, type_attendu="Bundle")
    assert bundle["type"] == "transaction-response"
    statuts = [e["response"]["status"] for e in bundle["entry"]]
    assert statuts == ["201 Created", "201 Created", "201 Created", "200 OK"]
    assert bundle["entry"][3]["response"]["etag"] == 'W/"2"'
    lien_id = bundle["entry"][0]["response"]["location"].split("/")[1]
    cible_id = bundle["entry"][1]["response"]["location"].split("/")[1]
    lien = appel(client, "GET", f"/fhir/Basic/{lien_id}", jeton).json()
    assert lien["subject"] == {"reference": f"Basic/{cible_id}"}
    par_id = appel(
        client, "GET", "/fhir/" + bundle["entry"][2]["response"]["location"].rsplit("/_history", 1)[0], jeton
    )
    assert par_id.json()["subject"] == {"reference": f"Basic/{cible_id}"}


def test_transaction_qui_echoue_a_mi_chemin_n_ecrit_rien(client, jeton):
    existante = _creer(client, jeton).json()
    versions, evenements = VersionRessource.objects.count(), Evenement.objects.count()
    corps = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entree(basique("un")),
            _entree(basique("deux")),
            # If-Match périmé : échoue après les deux créations.
            _entree(basique("maj", id=existante["id"]), "PUT", f"Basic/{existante['id']}", ifMatch='W/"7"'),
        ],
    }
    contenu = oo(appel(client, "POST", "/fhir/", jeton, corps), 412)
    assert contenu["issue"][0]["expression"] == ["Bundle.entry[2]"]
    assert VersionRessource.objects.count() == versions
    assert Evenement.objects.count() == evenements


ID_ORGANIZATION = "0b6c2a7e-3f4d-4b61-9c1e-2a5d6f7e8a90"


@pytest.mark.parametrize(
    "entree, statut, morceau",
    [
        (_entree(basique(), "DELETE", "Basic/1"), 400, "req-met"),
        (
            _entree(
                {
                    "resourceType": "Linkage",
                    "item": [{"type": "source", "resource": {"reference": "Basic/1"}}],
                },
                "PUT",
                "Linkage/1",
            ),
            400,
            "req-met",
        ),
        (_entree(basique(), "POST", "Patient"), 400, "type"),
        (_entree(basique(), "POST", "Basic?code=x"), 400, "conditionnelles"),
        (_entree(basique(), "PUT", "Basic"), 400, "Type/id"),
        (_entree(basique(id="a"), "PUT", "Basic/b"), 400, "diffère"),
        (
            _entree(
                {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
                "POST",
                "Observation",
            ),
            404,
            "Observation",
        ),
        # Patient : désigné par son INS ou l'identifiant du portail, jamais créé (cercle/fhir_cercle.py).
        (_entree({"resourceType": "Patient"}, "POST", "Patient"), 422, "Patient"),
        (
            _entree(
                {"resourceType": "Organization", "id": ID_ORGANIZATION, "name": "x"},
                "PUT",
                f"Organization/{ID_ORGANIZATION}",
            ),
            405,
            "update",
        ),
    ],
)
def test_transaction_entree_refusee(client, jeton, entree, statut, morceau):
    corps = {"resourceType": "Bundle", "type": "transaction", "entry": [_entree(basique()), entree]}
    contenu = oo(appel(client, "POST", "/fhir/", jeton, corps), statut)
    assert morceau in contenu["issue"][0]["diagnostics"]
    assert contenu["issue"][0]["expression"][0].startswith("Bundle.entry[1]")
    assert not VersionRessource.objects.exists()


def test_bundle_d_un_autre_type_refuse(client, jeton):
    for type_bundle in ("collection", "searchset", "document"):
        contenu = oo(
            appel(client, "POST", "/fhir/", jeton, {"resourceType": "Bundle", "type": type_bundle}), 400
        )
        assert contenu["issue"][0]["expression"] == ["Bundle.type"]
    oo(appel(client, "POST", "/fhir/", jeton, basique()), 400)


def test_batch_entrees_independantes(client, jeton):
    corps = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            _entree(basique("un")),
            _entree(basique(), "DELETE", "Basic/1"),
            _entree(basique("maj", id=str(uuid.uuid4())), "PUT", "Basic/pas-un-uuid"),
            _entree(basique("deux")),
        ],
    }
    reponse = appel(client, "POST", "/fhir/", jeton, corps, HTTP_PREFER="return=representation")
    bundle = reponse.json()
    assert bundle["type"] == "batch-response"
    statuts = [e["response"]["status"] for e in bundle["entry"]]
    assert statuts == ["201 Created", "400 Bad Request", "400 Bad Request", "201 Created"]
    assert bundle["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert bundle["entry"][0]["resource"]["code"]["text"] == "un"
    assert VersionRessource.objects.count() == 2


def test_bundle_en_lecture_seule_403_et_rien_d_ecrit(client):
    _, jeton_lecture = logiciel(client, portees=("system/*.read",))
    corps = {"resourceType": "Bundle", "type": "transaction", "entry": [_entree(basique())]}
    oo(appel(client, "POST", "/fhir/", jeton_lecture, corps), 403)
    vide = appel(client, "POST", "/fhir/", jeton_lecture, {"resourceType": "Bundle", "type": "transaction"})
    assert vide.status_code == 200 and vide.json()["entry"] == []
    assert not VersionRessource.objects.exists()


def test_capability_statement_declare_les_ressources_versionnees(client):
    ressources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    basic = ressources["Basic"]
    assert [i["code"] for i in basic["interaction"]] == [
        "read", "vread", "update", "history-instance", "history-type", "create"
    ]  # fmt: skip
    assert basic["versioning"] == "versioned" and basic["readHistory"] is True
    assert "searchParam" not in basic
    assert "history-type" not in [i["code"] for i in ressources["Linkage"]["interaction"]]


# --- Journal des lectures d'un logiciel -----------------------------------------------------------------


class Signalement(RessourceEnVersions):
    """Ressource dont la lecture concerne un usager (son `subject`) : la lecture est journalisée
    comme le fera le cercle pour Patient, RelatedPerson et CareTeam."""

    type = "Flag"

    def lire(self, contexte, id_logique):
        from coordination.journal.lectures import noter_lecture

        representation = super().lire(contexte, id_logique)
        usager_uuid = uuid.UUID(representation.ressource["subject"]["reference"].split("/")[1])
        noter_lecture(contexte.requete, usager=usager_uuid, action="fhir.flag.lecture")
        return representation


def test_lecture_d_un_logiciel_journalisee_en_fin_de_requete(client):
    from tests.factories import StructureFactory

    structure = StructureFactory()
    _, jeton_acces = logiciel(client, structure=structure)
    usager_uuid = uuid.uuid4()
    signalement = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": "chute"},
        "subject": {"reference": f"Patient/{usager_uuid}"},
    }
    with registre.temporairement(Signalement):
        cree = appel(client, "POST", "/fhir/Flag", jeton_acces, signalement).json()
        assert appel(client, "GET", f"/fhir/Flag/{cree['id']}", jeton_acces).status_code == 200
    lecture = Evenement.objects.get(action="fhir.flag.lecture")
    assert lecture.usager_uuid == usager_uuid
    assert (lecture.acteur_type, lecture.acteur_nom) == ("logiciel", "DUI de test")
    assert lecture.structure_uuid == structure.uuid
