"""CareTeam du cercle (volet CDS 2.0.1, acteur Gestionnaire) : exemples de l'IG acceptés et relus,
versions (vread, _history) à chaque changement, sortie et retour, recherche avec inclusions à
nombre de requêtes constant, entrées mal formées (4xx OperationOutcome, jamais 500)."""

from __future__ import annotations

import copy
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
