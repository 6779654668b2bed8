"""Correspondance Note ↔ DocumentReference du cahier de liaison (cahier_liaison/fhir.py) : instantanés
dans les deux sens, validation fhir.resources, aller-retour, et erreurs 422 situées.

Instantanés : tests/instantanes/fhir/documentreference-*.json. Après un changement voulu,
`MAJ_INSTANTANES=1 make pytest PYTEST_ARGS="-k cahier_correspondances"` les réécrit ; relire le diff."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from pathlib import Path

import pytest

from cahier_liaison import fhir
from cahier_liaison.codes import Visibilite
from cahier_liaison.models import Note, TypeAuteur
from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.validation import valider
from tests.test_fhir_correspondances import INSTANTANES, instantane, professionnel, structure, usager

MOMENT = datetime.datetime(2026, 11, 22, 8, 30, tzinfo=datetime.UTC)
ENTREES = Path(__file__).parent / "instantanes" / "fhir"


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def _note(**champs) -> Note:
    from coordination.personnes.models import Exercice

    exercice = Exercice(
        pk=4, uuid=_uuid(4), professionnel=professionnel(), structure=structure(), profession_code="60"
    )
    valeurs = {
        "pk": 10, "uuid": _uuid(10), "usager": usager(), "survenue_le": MOMENT, "ecrite_le": MOMENT,
        "modifie_le": MOMENT, "type": "DEM-AVIS", "texte": "Maman est fatiguée. Elle n'a pas voulu sortir.",
        "auteur_type": TypeAuteur.LOGICIEL, "auteur_structure": structure(), "auteur_exercice": exercice,
        "auteur_nom": "Claire MARTIN", "auteur_qualite": "Infirmier · logiciel (DUI) · EHPAD Les Tilleuls",
        "systeme_emetteur": "urn:oid:1.2.250.1.999.1.1", "master_identifier": "note-42", "version": 2,
    }  # fmt: skip
    return Note(**{**valeurs, **champs})


def test_note_du_logiciel_pour_le_compte_d_une_infirmiere():
    instantane("documentreference-logiciel", fhir.note_vers_documentreference(_note(urgente=True)))


def test_transmission_ciblee_reservee_aux_professionnels_de_sante_en_reponse():
    origine = _note(pk=11, uuid=_uuid(11))
    note = _note(
        texte="", cible="Douleur", donnees="EVA 6/10 au lever", actions="Paracétamol 1 g",
        resultats="EVA 2/10 à midi", visibilite=Visibilite.SANTE, reponse_a=origine, master_identifier=None,
        systeme_emetteur="",
    )  # fmt: skip
    instantane("documentreference-ciblee", fhir.note_vers_documentreference(note))


def test_note_desactivee_d_un_proche():
    from coordination.personnes.models import Proche

    proche = Proche(pk=5, uuid=_uuid(5), usager=usager(), nom="DUPONT", prenoms="Marie")
    note = _note(
        auteur_type=TypeAuteur.PROCHE, auteur_proche=proche, auteur_exercice=None, auteur_structure=None,
        auteur_nom="Marie DUPONT", auteur_qualite="fille de Jeanne DUPONT", active=False,
        desactivee_le=MOMENT, motif_desactivation="Écrite dans le mauvais dossier.",
    )  # fmt: skip
    ressource = fhir.note_vers_documentreference(note)
    assert ressource["status"] == "entered-in-error"
    instantane("documentreference-desactivee", ressource)


@pytest.mark.parametrize("nom", ["documentreference-logiciel", "documentreference-ciblee"])
def test_aller_retour_de_la_correspondance(nom):
    """Ce que lit `lire_documentreference` dans l'instantané est la note d'origine."""
    ressource = json.loads((INSTANTANES / f"{nom}.json").read_text(encoding="utf-8"))
    recue = fhir.lire_documentreference(valider(ressource, type_attendu="DocumentReference"))
    attendue = fhir.note_vers_documentreference(
        _note(urgente=True) if nom.endswith("logiciel") else _note(
            texte="", cible="Douleur", donnees="EVA 6/10 au lever", actions="Paracétamol 1 g",
            resultats="EVA 2/10 à midi", visibilite=Visibilite.SANTE,
        )
    )  # fmt: skip
    assert recue.champs["type"] == attendue["type"]["coding"][0]["code"]
    assert recue.champs["survenue_le"] == MOMENT
    if nom.endswith("logiciel"):
        assert recue.champs["urgente"] is True and recue.champs["texte"].startswith("Maman est fatiguée")
        assert (recue.systeme_emetteur, recue.master_identifier) == ("urn:oid:1.2.250.1.999.1.1", "note-42")
        assert [element.get("reference") for _, element in recue.auteurs][:2] == [
            f"PractitionerRole/{_uuid(4)}", f"Practitioner/{_uuid(2)}"
        ]  # fmt: skip
    else:
        assert recue.champs["visibilite"] == Visibilite.SANTE
        assert (recue.champs["cible"], recue.champs["resultats"]) == ("Douleur", "EVA 2/10 à midi")
        assert recue.reponse_a == {"reference": f"DocumentReference/{_uuid(11)}"}


def test_entree_instantanee_de_la_lecture():
    """Sens entrant : ce qu'un DocumentReference de l'exemple du volet demande, figé en JSON."""
    ressource = json.loads((ENTREES / "documentreference-logiciel.json").read_text(encoding="utf-8"))
    recue = fhir.lire_documentreference(ressource)
    lue = {
        "statut": recue.statut,
        "champs": {**recue.champs, "survenue_le": recue.champs["survenue_le"].isoformat()},
        "auteurs": [chemin for chemin, _ in recue.auteurs],
        "systeme_emetteur": recue.systeme_emetteur,
        "master_identifier": recue.master_identifier,
        "reponse_a": recue.reponse_a,
        "pieces_jointes": len(recue.pieces_jointes),
    }
    chemin = ENTREES / "documentreference-logiciel-lue.json"
    texte = json.dumps(lue, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("MAJ_INSTANTANES") == "1":
        chemin.write_text(texte, encoding="utf-8")
    assert json.loads(chemin.read_text(encoding="utf-8")) == lue


@pytest.mark.parametrize(
    ("modification", "expression"),
    [
        ({"type": {"coding": [{"system": "http://exemple.org", "code": "OBS"}]}}, "DocumentReference.type"),
        ({"status": "superseded"}, "DocumentReference.status"),
        ({"date": "2026-11-22"}, "DocumentReference.date"),
        ({"author": []}, "DocumentReference.author"),
        ({"relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/x"}}]},
         "DocumentReference.relatesTo[0].code"),
        ({"content": [{"attachment": {"contentType": "text/plain", "data": "###"}}]},
         "DocumentReference.content[0].attachment.data"),
        ({"content": [{"attachment": {"url": "https://exemple.org/photo.png"}}]},
         "DocumentReference.content[0].attachment.url"),
        ({"securityLabel": [{"coding": [{"system": fhir.SYSTEME_VISIBILITE, "code": "MASQUE_PT"}]}]},
         "DocumentReference.securityLabel[0]"),
    ],
)  # fmt: skip
def test_entrees_refusees_situees(modification, expression):
    ressource = {**fhir.note_vers_documentreference(_note()), **modification}
    with pytest.raises(ErreurFHIR) as erreur:
        fhir.lire_documentreference(ressource)
    contenu = erreur.value.operation_outcome()
    assert contenu["issue"][0]["expression"] == [expression]
    assert erreur.value.statut == 422
