"""DocumentReference du cahier de liaison (volet CdL 3.0, acteur Gestionnaire) : création RESTful et
par Bundle `cdl-bundle-creation-note`, idempotence sur masterIdentifier (y compris concurrente),
refus situés en français sans rien écrire, modification par l'auteur, désactivation, lectures,
historique, recherche avec les paramètres du volet et _include, CapabilityStatement."""

from __future__ import annotations

import datetime
import threading
from dataclasses import replace

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cahier_liaison import services
from cahier_liaison.codes import SYSTEME_TYPE_NOTE, SYSTEME_VISIBILITE, Visibilite
from cahier_liaison.models import Note, TypeAuteur, VersionNote
from cercle import services as cercle_services
from coordination.comptes.acteur import acteur_systeme
from coordination.journal.models import Evenement
from tests.factories import StructureFactory
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_cahier import note_de, qui
from tests.monde_cahier_fhir import (
    SYSTEME_DUI,
    b64,
    bundle_creation_note,
    construire_monde_api,
    document_reference,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_api()


@pytest.fixture
def dui(client, monde):
    """Jeton du logiciel de la plateforme (membre du cercle, écriture au cahier)."""
    return logiciel(client, structure=monde.plateforme)[1]


def _poster(client, jeton, ressource, chemin="/fhir/DocumentReference"):
    return appel(client, "POST", chemin, jeton, ressource)


# --- Création -----------------------------------------------------------------------------------


def test_creation_restful_201_location_version_et_contenu(client, monde, dui):
    reponse = _poster(client, dui, document_reference(monde.usager, identifiant="n-1", urgente=True))
    assert reponse.status_code == 201, reponse.content
    note = Note.objects.get()
    assert reponse["Location"].endswith(f"/fhir/DocumentReference/{note.uuid}/_history/1")
    assert reponse["ETag"] == 'W/"1"'
    assert (note.type, note.urgente, note.visibilite) == ("DEM-AVIS", True, "")
    assert note.texte == "Maman est fatiguée. Elle n'a pas voulu sortir ce matin."
    assert (note.systeme_emetteur, note.master_identifier) == (SYSTEME_DUI, "n-1")
    assert note.auteur_type == TypeAuteur.LOGICIEL and note.auteur_structure == monde.plateforme
    assert note.auteur_exercice is None
    assert Evenement.objects.filter(action="cahier.note.ecriture", usager_uuid=monde.usager.uuid).count() == 1


def test_bundle_exemple_du_volet_accepte_auteur_au_nom_du_professionnel(client, monde, dui):
    reponse = _poster(client, dui, bundle_creation_note(monde), chemin="/fhir/")
    assert reponse.status_code == 200, reponse.content
    statuts = [e["response"]["status"] for e in reponse.json()["entry"]]
    assert statuts == ["201 Created", "200 OK", "200 OK", "200 OK"]
    note = Note.objects.get()
    assert note.auteur_type == TypeAuteur.LOGICIEL
    assert note.auteur_exercice == monde.ide_plateforme and note.auteur_structure == monde.plateforme
    assert note.auteur_nom == str(monde.ide_plateforme.professionnel)
    # Rien n'est créé d'autre que la note : ni usager, ni professionnel.
    journal = Evenement.objects.filter(action="cahier.note.ecriture").get()
    assert journal.professionnel_uuid == monde.ide_plateforme.professionnel.uuid


def test_bundle_rejoue_idempotent(client, monde, dui):
    premier = _poster(client, dui, bundle_creation_note(monde, identifiant="n-2"), chemin="/fhir/")
    second = _poster(client, dui, bundle_creation_note(monde, identifiant="n-2"), chemin="/fhir/")
    assert premier.status_code == second.status_code == 200
    assert second.json()["entry"][0]["response"]["status"] == "200 OK"
    assert (
        premier.json()["entry"][0]["response"]["location"]
        == second.json()["entry"][0]["response"]["location"]
    )
    assert Note.objects.count() == 1


def test_post_rejoue_renvoie_200_et_la_meme_note(client, monde, dui):
    ressource = document_reference(monde.usager, identifiant="n-3")
    premier = _poster(client, dui, ressource)
    second = _poster(client, dui, ressource)
    assert (premier.status_code, second.status_code) == (201, 200)
    assert premier["Location"] == second["Location"]
    assert Note.objects.count() == 1
    assert Evenement.objects.filter(action="cahier.note.ecriture").count() == 1


def test_meme_identifiant_d_un_autre_auteur_conflit(client, monde, dui):
    _poster(client, dui, document_reference(monde.usager, identifiant="n-4"))
    au_nom = document_reference(
        monde.usager, identifiant="n-4",
        auteurs=[{"reference": f"PractitionerRole/{monde.ide_plateforme.uuid}"}],
    )  # fmt: skip
    oo(_poster(client, dui, au_nom), 409)
    assert Note.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_deux_receptions_simultanees_une_seule_note(monde):
    jeton = logiciel(Client(), structure=monde.plateforme)[1]
    ressource = document_reference(monde.usager, identifiant="simultanee")
    statuts: list[int] = []
    depart = threading.Barrier(2)

    def envoyer():
        try:
            depart.wait()
            statuts.append(_poster(Client(), jeton, ressource).status_code)
        finally:
            connections.close_all()

    fils = [threading.Thread(target=envoyer) for _ in range(2)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert sorted(statuts) == [200, 201]
    assert Note.objects.filter(master_identifier="simultanee").count() == 1


@pytest.mark.parametrize(
    ("modification", "statut", "expression", "extrait"),
    [
        ({"type_note": "INCONNU"}, 422, "DocumentReference.type", "J23"),
        ({"visibilite": "MASQUE_PS"}, 422, "DocumentReference.securityLabel[0]", "non pris en charge"),
        ({"visibilite": "NIMPORTE"}, 422, "DocumentReference.securityLabel[0]", "non pris en charge"),
        ({"date": timezone.now() + datetime.timedelta(days=2)}, 422, "DocumentReference.date", "futur"),
        ({"texte": "   "}, 422, "DocumentReference.content", "Contenu"),
    ],
)
def test_entrees_refusees_en_francais_sans_rien_ecrire(
    client, monde, dui, modification, statut, expression, extrait
):
    contenu = oo(_poster(client, dui, document_reference(monde.usager, **modification)), statut)
    probleme = contenu["issue"][0]
    assert expression in probleme["expression"]
    assert extrait in probleme["diagnostics"]
    assert Note.objects.count() == 0


def test_visibilite_sante_refusee_au_logiciel_qui_ne_pourrait_pas_la_lire(client, monde, dui):
    contenu = oo(_poster(client, dui, document_reference(monde.usager, visibilite=Visibilite.SANTE)), 422)
    assert contenu["issue"][0]["expression"] == ["DocumentReference.securityLabel"]
    assert Note.objects.count() == 0


def test_sujet_inconnu_ou_hors_du_cercle_422(client, monde, dui):
    inconnu = document_reference(monde.usager)
    inconnu["subject"] = {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "299999999999999"}}
    oo(_poster(client, dui, inconnu), 422)
    contenu = oo(_poster(client, dui, document_reference(monde.autre_usager)), 422)
    assert "pas connu du portail pour vous" in contenu["issue"][0]["diagnostics"]
    assert Note.objects.count() == 0


def test_logiciel_sans_ecriture_au_cahier_403(client, monde):
    jeton = logiciel(client, structure=monde.ssiad)[1]  # le SSIAD lit le cahier, n'y écrit pas
    contenu = oo(_poster(client, jeton, document_reference(monde.usager)), 403)
    assert "pas le droit d'écrire" in contenu["issue"][0]["diagnostics"]
    assert Note.objects.count() == 0


def test_auteur_d_une_autre_structure_ou_proche_refuse(client, monde, dui):
    ailleurs = document_reference(
        monde.usager, auteurs=[{"reference": f"PractitionerRole/{monde.pro_ailleurs.uuid}"}]
    )
    contenu = oo(_poster(client, dui, ailleurs), 422)
    assert "votre structure" in contenu["issue"][0]["diagnostics"]
    proche = document_reference(
        monde.usager,
        auteurs=[{"reference": f"RelatedPerson/{monde.acteurs['aidant_avec_droits'].proche.uuid}"}],
    )
    oo(_poster(client, dui, proche), 422)
    assert Note.objects.count() == 0


def test_reponse_a_une_note_d_un_autre_usager_refusee(client, monde, dui):
    note_autre = services.ecrire_note(
        acteur=acteur_systeme("test"), usager=monde.autre_usager, type="OBS",
        survenue_le=timezone.now() - datetime.timedelta(hours=2), texte="Autre cahier.",
    )  # fmt: skip
    avant = Note.objects.count()
    reponse = document_reference(monde.usager, reponse_a=f"DocumentReference/{note_autre.uuid}")
    contenu = oo(_poster(client, dui, reponse), 422)
    assert "relatesTo" in contenu["issue"][0]["expression"][0]
    assert Note.objects.count() == avant


def test_reponse_a_une_note_du_cahier(client, monde, dui):
    origine = note_de(monde, "ide", texte="Pansement refait.")
    reponse = _poster(
        client, dui, document_reference(monde.usager, reponse_a=f"DocumentReference/{origine.uuid}")
    )
    assert reponse.status_code == 201, reponse.content
    assert reponse.json()["relatesTo"] == [
        {"code": "appends", "target": {"reference": f"DocumentReference/{origine.uuid}"}}
    ]
    assert Note.objects.get(uuid=reponse.json()["id"]).reponse_a == origine


def test_transmission_ciblee_en_plusieurs_contenus_titres(client, monde, dui):
    contenu = [
        {"attachment": {"contentType": "text/plain", "title": "Cible", "data": b64("Douleur")}},
        {"attachment": {"contentType": "text/plain", "title": "Données", "data": b64("EVA 6/10 au lever")}},
        {"attachment": {"contentType": "text/plain", "title": "Actions", "data": b64("Paracétamol 1 g")}},
        {"attachment": {"contentType": "text/plain", "title": "Resultats", "data": b64("EVA 2/10 à midi")}},
    ]
    reponse = _poster(client, dui, document_reference(monde.usager, contenu=contenu, type_note="OBS"))
    assert reponse.status_code == 201, reponse.content
    note = Note.objects.get()
    assert (note.texte, note.cible, note.donnees, note.actions, note.resultats) == (
        "", "Douleur", "EVA 6/10 au lever", "Paracétamol 1 g", "EVA 2/10 à midi"
    )  # fmt: skip
    titres = [c["attachment"].get("title") for c in reponse.json()["content"]]
    assert titres == ["Cible", "Données", "Actions", "Résultats"]


def test_photo_envoyee_par_fhir_devient_piece_jointe(client, monde, dui):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    contenu = [
        {"attachment": {"contentType": "text/plain", "data": b64("Rougeur au talon, photo jointe.")}},
        {"attachment": {"contentType": "image/png", "title": "talon.png", "data": png}},
    ]
    reponse = _poster(client, dui, document_reference(monde.usager, contenu=contenu))
    assert reponse.status_code == 201, reponse.content
    note = Note.objects.get()
    pieces = list(note.pieces_jointes.all())
    assert len(pieces) == 1


def _creer(client, dui, monde, **champs) -> dict:
    reponse = _poster(client, dui, document_reference(monde.usager, **champs))
    assert reponse.status_code == 201, reponse.content
    return reponse.json()


def test_modification_par_l_auteur_avec_if_match(client, monde, dui):
    ressource = _creer(client, dui, monde, identifiant="m-1")
    ressource["type"]["coding"][0]["code"] = "OBS"
    chemin = f"/fhir/DocumentReference/{ressource['id']}"
    reponse = appel(client, "PUT", chemin, dui, ressource, HTTP_IF_MATCH='W/"1"')
    assert reponse.status_code == 200, reponse.content
    assert reponse["ETag"] == 'W/"2"'
    note = Note.objects.get()
    assert (note.type, note.version) == ("OBS", 2)
    assert VersionNote.objects.get(note=note).contenu["type"] == "DEM-AVIS"
    # If-Match périmé : 412, rien ne change.
    ressource["type"]["coding"][0]["code"] = "INST"
    oo(appel(client, "PUT", chemin, dui, ressource, HTTP_IF_MATCH='W/"1"'), 412)
    assert Note.objects.get().type == "OBS"


def test_modification_par_un_autre_que_l_auteur_refusee(client, monde, dui):
    ressource = _creer(client, dui, monde)
    chemin = f"/fhir/DocumentReference/{ressource['id']}"
    # Même logiciel, mais pour le compte d'une professionnelle : ce n'est pas le même auteur.
    ressource["author"] = [{"reference": f"PractitionerRole/{monde.ide_plateforme.uuid}"}]
    ressource["type"]["coding"][0]["code"] = "OBS"
    contenu = oo(appel(client, "PUT", chemin, dui, ressource), 403)
    assert "auteur" in contenu["issue"][0]["diagnostics"]
    assert Note.objects.get().type == "DEM-AVIS"


def test_desactivation_par_status_entered_in_error(client, monde, dui):
    ressource = _creer(client, dui, monde)
    ressource["status"] = "entered-in-error"
    ressource["description"] = "Note saisie dans le mauvais dossier."
    reponse = appel(client, "PUT", f"/fhir/DocumentReference/{ressource['id']}", dui, ressource)
    assert reponse.status_code == 200, reponse.content
    assert reponse.json()["status"] == "entered-in-error"
    note = Note.objects.get()
    assert not note.active and note.motif_desactivation == "Note saisie dans le mauvais dossier."
    assert Evenement.objects.filter(action="cahier.note.desactivation").count() == 1


# --- Lectures ---------------------------------------------------------------------------------------


def test_lecture_version_et_historique(client, monde, dui):
    ressource = _creer(client, dui, monde, texte="Première version.")
    ressource["content"][0]["attachment"]["data"] = b64("Seconde version.")
    appel(client, "PUT", f"/fhir/DocumentReference/{ressource['id']}", dui, ressource)
    base = f"/fhir/DocumentReference/{ressource['id']}"
    courante = appel(client, "GET", base, dui)
    assert courante.status_code == 200 and courante["ETag"] == 'W/"2"'
    ancienne = appel(client, "GET", f"{base}/_history/1", dui).json()
    assert ancienne["meta"]["versionId"] == "1"
    assert ancienne["content"][0]["attachment"]["data"] == b64("Première version.")
    historique = appel(client, "GET", f"{base}/_history", dui).json()
    assert [e["resource"]["meta"]["versionId"] for e in historique["entry"]] == ["2", "1"]
    oo(appel(client, "GET", f"{base}/_history/9", dui), 404)
    assert Evenement.objects.filter(action="fhir.documentreference.lecture").count() >= 3


def test_logiciel_ne_lit_pas_les_notes_reservees_a_la_sante(client, monde, dui):
    sante = note_de(monde, "medecin", visibilite=Visibilite.SANTE)
    pros = note_de(monde, "medecin", visibilite=Visibilite.SANS_USAGER)
    oo(appel(client, "GET", f"/fhir/DocumentReference/{sante.uuid}", dui), 404)
    assert appel(client, "GET", f"/fhir/DocumentReference/{pros.uuid}", dui).status_code == 200
    trouves = appel(client, "GET", f"/fhir/DocumentReference?patient=Patient/{monde.usager.uuid}", dui).json()
    assert {e["resource"]["id"] for e in trouves["entry"]} == {str(pros.uuid)}


# --- Recherche ------------------------------------------------------------------------------------


@pytest.fixture
def notes(monde):
    """Quatre notes : l'infirmière du SSIAD (OBS), le médecin (INST, professionnels seulement, il y
    a trois jours), l'aidante (GEN), le logiciel pour le compte de l'infirmière de la plateforme."""
    ide = note_de(monde, "ide", type="OBS")
    medecin = note_de(
        monde, "medecin", type="INST", visibilite=Visibilite.SANS_USAGER,
        survenue_le=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    cercle_services.accorder(
        acteur=monde.acteurs["usager"], membre=monde.membres["aidant"], domaine="cahier", niveau=2
    )
    aidante = note_de(monde, "aidant_avec_droits", type="GEN")
    dui = replace(qui(monde, "dui_plateforme"), exercice=monde.ide_plateforme, memo={})
    pour_ide = services.ecrire_note(
        acteur=dui, usager=monde.usager, type="OBS", survenue_le=timezone.now() - datetime.timedelta(hours=2),
        texte="Pour le compte de l'infirmière.", systeme_emetteur=SYSTEME_DUI, master_identifier="dui-42",
    )  # fmt: skip
    return {"ide": ide, "medecin": medecin, "aidante": aidante, "pour_ide": pour_ide}


def _ids(client, jeton, requete: str) -> set[str]:
    reponse = appel(client, "GET", f"/fhir/DocumentReference?{requete}", jeton)
    assert reponse.status_code == 200, reponse.content
    return {e["resource"]["id"] for e in reponse.json().get("entry", []) if e["search"]["mode"] == "match"}


def test_parametres_de_recherche_du_volet(client, monde, dui, notes):
    n = {nom: str(note.uuid) for nom, note in notes.items()}
    usager = monde.usager
    ins = f"urn:oid:{usager.oid_ins}|{usager.matricule_ins}"
    tout = set(n.values())
    assert _ids(client, dui, f"patient.identifier={ins}") == tout
    assert _ids(client, dui, f"subject:Patient.identifier={ins}") == tout
    assert _ids(client, dui, f"subject=Patient/{usager.uuid}") == tout
    assert _ids(client, dui, f"patient={usager.uuid}") == tout
    ide = monde.acteurs["ide"].exercice.professionnel
    assert _ids(client, dui, f"author:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|{ide.idnat_ps}") == {
        n["ide"]
    }
    assert _ids(client, dui, "author:Practitioner.family=BROOKS") == {n["pour_ide"]}
    assert _ids(client, dui, "author:Practitioner.given=sophie") == {n["pour_ide"]}
    assert _ids(client, dui, "author:Practitioner.name=infirm") == {n["ide"]}
    aidante = monde.acteurs["aidant_avec_droits"].proche
    assert _ids(
        client, dui, f"author:RelatedPerson.identifier=urn:ietf:rfc:3986|urn:uuid:{aidante.uuid}"
    ) == {n["aidante"]}
    assert _ids(
        client, dui, f"author:Organization.identifier=urn:ietf:rfc:3986|urn:uuid:{monde.plateforme.uuid}"
    ) == {n["pour_ide"]}
    assert _ids(client, dui, f"author=PractitionerRole/{monde.ide_plateforme.uuid}") == {n["pour_ide"]}
    assert _ids(client, dui, f"type={SYSTEME_TYPE_NOTE}|INST") == {n["medecin"]}
    assert _ids(client, dui, "type=OBS") == {n["ide"], n["pour_ide"]}
    assert _ids(client, dui, f"security-label={SYSTEME_VISIBILITE}|INVISIBLE_PATIENT") == {n["medecin"]}
    assert _ids(client, dui, f"identifier={SYSTEME_DUI}|dui-42") == {n["pour_ide"]}
    assert _ids(client, dui, f"identifier=urn:ietf:rfc:3986|urn:uuid:{n['ide']}") == {n["ide"]}
    hier = (timezone.now() - datetime.timedelta(days=1)).date().isoformat()
    assert _ids(client, dui, f"date=lt{hier}") == {n["medecin"]}
    assert _ids(client, dui, f"date=ge{hier}") == tout - {n["medecin"]}
    assert _ids(client, dui, f"_lastUpdated=ge{hier}") == tout
    assert _ids(client, dui, "status=entered-in-error") == set()


def test_recherche_filtree_par_les_droits_de_l_acteur(client, monde, notes):
    autre = logiciel(client, structure=StructureFactory())[1]
    assert _ids(client, autre, f"patient=Patient/{monde.usager.uuid}") == set()


def test_include_sujet_et_auteurs_et_etoile(client, monde, dui, notes, django_assert_max_num_queries):
    requete = f"/fhir/DocumentReference?patient=Patient/{monde.usager.uuid}&_include=*"
    with django_assert_max_num_queries(30):
        contenu = appel(client, "GET", requete, dui).json()
    incluses = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in contenu["entry"]
        if e["search"]["mode"] == "include"
    }
    assert ("Patient", str(monde.usager.uuid)) in incluses
    assert ("PractitionerRole", str(monde.ide_plateforme.uuid)) in incluses
    assert ("Practitioner", str(monde.ide_plateforme.professionnel.uuid)) in incluses
    assert ("Organization", str(monde.plateforme.uuid)) in incluses
    assert ("RelatedPerson", str(monde.acteurs["aidant_avec_droits"].proche.uuid)) in incluses
    auteurs = appel(client, "GET", f"{requete.split('&')[0]}&_include=DocumentReference:author", dui).json()
    assert not any(
        e["resource"]["resourceType"] == "Patient"
        for e in auteurs["entry"]
        if e["search"]["mode"] == "include"
    )
    sujets = appel(client, "GET", f"{requete.split('&')[0]}&_include=DocumentReference:subject", dui).json()
    assert [e["resource"]["resourceType"] for e in sujets["entry"] if e["search"]["mode"] == "include"] == [
        "Patient"
    ]


def test_recherche_en_nombre_de_requetes_constant(client, monde, dui):
    def compter() -> int:
        with CaptureQueriesContext(connection) as requetes:
            reponse = appel(
                client, "GET", f"/fhir/DocumentReference?patient=Patient/{monde.usager.uuid}", dui
            )
        assert reponse.status_code == 200
        return len(requetes)

    for _ in range(2):
        note_de(monde, "ide")
    peu = compter()
    for _ in range(8):
        note_de(monde, "ide")
    assert compter() == peu


def test_pagination(client, monde, dui):
    for _ in range(5):
        note_de(monde, "ide")
    page = appel(
        client, "GET", f"/fhir/DocumentReference?patient=Patient/{monde.usager.uuid}&_count=2", dui
    ).json()
    assert len(page["entry"]) == 2 and page["total"] == 5
    suivante = next(lien["url"] for lien in page["link"] if lien["relation"] == "next")
    seconde = appel(client, "GET", suivante.split("testserver")[1], dui).json()
    assert len(seconde["entry"]) == 2
    assert not {e["resource"]["id"] for e in page["entry"]} & {e["resource"]["id"] for e in seconde["entry"]}


def test_capability_statement_declare_documentreference(client):
    contenu = client.get("/fhir/metadata").json()
    ressource = next(r for r in contenu["rest"][0]["resource"] if r["type"] == "DocumentReference")
    assert ressource["profile"].endswith("/cdl-document-reference")
    assert {i["code"] for i in ressource["interaction"]} == {
        "read", "vread", "history-instance", "search-type", "create", "update"
    }  # fmt: skip
    assert ressource["versioning"] == "versioned"
    parametres = {p["name"] for p in ressource["searchParam"]}
    assert {"patient", "subject", "author", "date", "type", "security-label", "identifier"} <= parametres
    assert set(ressource["searchInclude"]) == {
        "DocumentReference:subject", "DocumentReference:patient", "DocumentReference:author"
    }  # fmt: skip
