"""API REST du cahier de liaison : comportements (écriture, transmission ciblée, réponse,
idempotence, contrôle de version, filtres du fil, non-lus, marque de lecture), erreurs par champ en
français sans rien écrire, nombre de requêtes constant, schéma OpenAPI. Les droits : voir
tests/test_cahier_api_acces.py."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cahier_liaison import services
from cahier_liaison.models import Note, VersionNote
from coordination.comptes.acteur import SESSION_ACTEUR, acteur_systeme
from tests.factories import connecter
from tests.monde_cahier import note_de, une_heure_avant
from tests.monde_cahier_fhir import construire_monde_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_api()


@pytest.fixture
def ide(client, monde):
    """Le client connecté en tant que l'infirmière du SSIAD (écriture au cahier)."""
    acteur = monde.acteurs["ide"]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return client


def _base(monde) -> str:
    return f"/api/v1/usagers/{monde.usager.uuid}/cahier/"


def _post(client, chemin, corps):
    return client.post(chemin, json.dumps(corps), content_type="application/json")


def _note(**champs) -> dict:
    return {"type": "OBS", "survenue_le": une_heure_avant().isoformat(), "texte": "Bonne nuit.", **champs}


def test_ecrire_une_note_et_la_relire(ide, monde):
    reponse = _post(ide, f"{_base(monde)}notes/", _note(urgente=True, visibilite="INVISIBLE_PATIENT"))
    assert reponse.status_code == 201, reponse.content
    contenu = reponse.json()
    note = Note.objects.get()
    assert contenu["uuid"] == str(note.uuid) and contenu["urgente"] is True
    assert contenu["visibilite_libelle"] == "Professionnels seulement (ni l'usager ni ses proches)"
    assert contenu["auteur"]["nom"] == note.auteur_nom and contenu["version"] == 1
    relue = ide.get(f"{_base(monde)}notes/{note.uuid}/").json()
    assert relue == contenu


def test_transmission_ciblee_et_reponse(ide, monde):
    ciblee = _note(texte="", cible="Douleur", donnees="EVA 6", actions="Antalgique", resultats="EVA 2")
    origine = _post(ide, f"{_base(monde)}notes/", ciblee).json()
    assert (origine["cible"], origine["resultats"]) == ("Douleur", "EVA 2")
    reponse = _post(ide, f"{_base(monde)}notes/", _note(texte="Merci, vu.", reponse_a=origine["uuid"]))
    assert reponse.status_code == 201
    assert reponse.json()["reponse_a"] == origine["uuid"]
    fil = ide.get(f"{_base(monde)}notes/?fil={origine['uuid']}").json()["resultats"]
    assert {n["uuid"] for n in fil} == {origine["uuid"], reponse.json()["uuid"]}


def test_reponse_a_une_note_d_un_autre_cahier_refusee(ide, monde):
    autre = services.ecrire_note(
        acteur=acteur_systeme("test"), usager=monde.autre_usager, type="OBS", survenue_le=une_heure_avant(),
        texte="Autre cahier.",
    )  # fmt: skip
    reponse = _post(ide, f"{_base(monde)}notes/", _note(reponse_a=str(autre.uuid)))
    assert reponse.status_code == 400
    assert "Réponse" in reponse.json()["reponse_a"][0]
    assert Note.objects.count() == 1


@pytest.mark.parametrize(
    ("corps", "champ", "extrait"),
    [
        ({"survenue_le": "2026-01-01T10:00:00+01:00", "texte": "x"}, "type", "obligatoire"),
        (_note(type="INCONNU"), "type", "choix valide"),
        (_note(texte=""), "texte", "Contenu"),
        (_note(survenue_le="hier"), "survenue_le", "date"),
        (_note(visibilite="MASQUE_PS"), "visibilite", "choix valide"),
        (_note(master_identifier="n-1"), "systeme_emetteur", "Système émetteur"),
    ],
)
def test_erreurs_par_champ_en_francais_rien_d_ecrit(ide, monde, corps, champ, extrait):
    reponse = _post(ide, f"{_base(monde)}notes/", corps)
    assert reponse.status_code == 400
    assert extrait.lower() in " ".join(reponse.json()[champ]).lower()
    assert Note.objects.count() == 0


def test_ecriture_idempotente_par_identifiant_d_emetteur(client, monde):
    from tests.fhir_outils import logiciel

    jeton = logiciel(client, structure=monde.plateforme)[1]
    corps = _note(systeme_emetteur="urn:oid:1.2.250.1.999.1.1", master_identifier="n-7")
    premier = client.post(
        f"{_base(monde)}notes/", json.dumps(corps), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {jeton}",
    )  # fmt: skip
    second = client.post(
        f"{_base(monde)}notes/", json.dumps(corps), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {jeton}",
    )  # fmt: skip
    assert (premier.status_code, second.status_code) == (201, 200)
    assert premier.json()["uuid"] == second.json()["uuid"]
    assert Note.objects.count() == 1


def test_modification_avec_controle_de_version(ide, monde):
    note = note_de(monde, "ide")
    chemin = f"{_base(monde)}notes/{note.uuid}/"
    reponse = ide.patch(chemin, json.dumps({"version": 1, "type": "INST"}), content_type="application/json")
    assert reponse.status_code == 200, reponse.content
    assert (reponse.json()["type"], reponse.json()["version"]) == ("INST", 2)
    perimee = ide.patch(
        chemin, json.dumps({"version": 1, "texte": "Autre."}), content_type="application/json"
    )
    assert perimee.status_code == 409
    assert "modifiée entre-temps" in perimee.json()["version"][0]
    assert Note.objects.get().texte == note.texte and VersionNote.objects.count() == 1
    sans_version = ide.patch(chemin, json.dumps({"texte": "Autre."}), content_type="application/json")
    assert sans_version.status_code == 400 and "version" in sans_version.json()


def test_desactivation_demande_un_motif(ide, monde):
    note = note_de(monde, "ide")
    chemin = f"{_base(monde)}notes/{note.uuid}/desactivation/"
    assert _post(ide, chemin, {}).status_code == 400
    reponse = _post(ide, chemin, {"motif": "Mauvais dossier."})
    assert reponse.status_code == 200 and reponse.json()["active"] is False
    assert ide.get(f"{_base(monde)}notes/").json()["resultats"] == []
    assert len(ide.get(f"{_base(monde)}notes/?desactivees=true").json()["resultats"]) == 1


def test_filtres_du_fil_et_pagination(ide, monde):
    note_de(monde, "medecin", type="INST", urgente=True)
    note_de(monde, "medecin", type="OBS", survenue_le=timezone.now() - datetime.timedelta(days=3))
    for _ in range(26):
        note_de(monde, "ide", type="GEN")
    base = f"{_base(monde)}notes/"
    assert [n["type"] for n in ide.get(f"{base}?type=INST").json()["resultats"]] == ["INST"]
    assert len(ide.get(f"{base}?urgente=true").json()["resultats"]) == 1
    page1 = ide.get(base).json()
    assert len(page1["resultats"]) == 25 and page1["suivante"] is True
    page2 = ide.get(f"{base}?page=2").json()
    assert len(page2["resultats"]) == 3 and page2["suivante"] is False
    erreur = ide.get(f"{base}?type=XX&depuis=hier")
    assert erreur.status_code == 400 and set(erreur.json()) == {"type", "depuis"}


def test_fil_en_nombre_de_requetes_constant(ide, monde):
    def compter() -> int:
        with CaptureQueriesContext(connection) as requetes:
            assert ide.get(f"{_base(monde)}notes/").status_code == 200
        return len(requetes)

    for _ in range(3):
        note_de(monde, "medecin")
    peu = compter()
    for _ in range(20):
        note_de(monde, "medecin")
    assert compter() == peu <= 20


def test_non_lus_puis_marque_de_lecture(ide, monde):
    for _ in range(3):
        note_de(monde, "medecin")
    note_de(monde, "ide")  # ses propres notes ne comptent pas
    assert ide.get(f"{_base(monde)}non-lus/").json()["non_lus"] == 3
    reponse = _post(ide, f"{_base(monde)}lecture/", {})
    assert reponse.status_code == 200 and reponse.json()["lu_jusqu_au"]
    assert ide.get(f"{_base(monde)}non-lus/").json()["non_lus"] == 0


def test_accuse_de_reception_demande_puis_donne(client, ide, monde):
    note = note_de(monde, "medecin")
    chemin = f"{_base(monde)}notes/{note.uuid}/"
    demande = _post(ide, f"{chemin}demande-accuse/", {"destinataires": [str(monde.membres["ide"].uuid)]})
    assert demande.status_code == 201 and demande.json()["nouvelles"] == [str(monde.membres["ide"].uuid)]
    inconnu = _post(
        ide, f"{chemin}alerte/", {"destinataires": [str(monde.membres["ide"].uuid), str(note.uuid)]}
    )
    assert inconnu.status_code == 400 and "destinataires" in inconnu.json()
    assert _post(ide, f"{chemin}accuse/", {}).json() == {"accuses": 1}
    assert _post(ide, f"{chemin}accuse/", {}).status_code == 400  # plus rien en attente


def test_schema_openapi_decrit_les_routes_du_cahier(ide):
    schema = ide.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for chemin in ("/cahier/notes/", "/desactivation/", "/demande-accuse/", "/non-lus/", "/lecture/"):
        assert chemin in schema
