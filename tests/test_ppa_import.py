"""Reprise du projet d'une structure précédente depuis son Bundle TDDUI : aller-retour avec
l'export, droits, et tout-ou-rien sur une entrée invalide (ADR 0028)."""

from __future__ import annotations

import copy

import pytest
from django.core.exceptions import ValidationError

from cercle.services import AccesRefuse
from coordination.personnes.models import Structure
from ppa import fhir
from ppa import services as ppa
from ppa.import_tddui import importer_tddui
from ppa.models import Objectif, ProjetPersonnalise
from tests.factories import StructureFactory
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider
from tests.test_ppa_fhir import charge

pytestmark = pytest.mark.django_db


@pytest.fixture
def depart():
    """Le projet validé par le SSIAD, exporté en TDDUI, et un brouillon vide ouvert par une
    nouvelle structure (l'infirmière y est désormais rattachée pour l'exemple)."""
    monde = construire_monde_ppa()
    validee = valider(monde, brouillon_rempli(monde))
    bundle = fhir.bundle_tddui(charge(validee))
    nouvelle: Structure = StructureFactory(raison_sociale="Foyer de vie Fictif")
    projet = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=nouvelle, titre="Suite"
    )
    return monde, validee, bundle, projet.versions.get()


def test_aller_retour_export_import(depart):
    monde, validee, bundle, brouillon = depart
    reprise = importer_tddui(acteur=qui(monde, "ide"), version=brouillon, bundle=bundle)
    avant, apres = ppa.contenu(validee), ppa.contenu(reprise)
    assert apres["attentes"] == avant["attentes"] and apres["besoins"] == avant["besoins"]
    [objectif] = apres["objectifs"]
    assert objectif["titre"] == "Faire sa toilette seule" and objectif["besoins"] == ["Se laver"]
    assert objectif["resultat_attendu"] == "Douche sans aide trois jours sur sept"
    [action] = apres["actions"]
    assert (action["quoi"], action["frequence"], action["duree_minutes"]) == (
        "Aide à la toilette",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        45,
    )
    # L'intervenant de l'ancienne structure n'est pas relié au cercle : son nom est gardé.
    assert action["intervenant"] == monde.membres["ide"].nom_affiche
    assert reprise.statut == "brouillon" and not reprise.accords.exists()


def test_reprise_refusee_sans_droit_et_rien_d_ecrit(depart):
    monde, _, bundle, brouillon = depart
    with pytest.raises(AccesRefuse):
        importer_tddui(acteur=qui(monde, "pro_hors_cercle"), version=brouillon, bundle=bundle)
    assert not Objectif.objects.filter(version=brouillon).exists()


@pytest.mark.parametrize(
    ("abimer", "message"),
    [
        (lambda b: b.update(resourceType="Patient"), "pas un Bundle"),
        (lambda b: b["entry"].pop(0), "un et un seul projet"),
        (lambda b: next(e for e in b["entry"] if e["resource"]["resourceType"] == "Goal")["resource"].update(
            description="texte au lieu d'un CodeableConcept"), "invalide"),
        (lambda b: next(e for e in b["entry"] if e["resource"]["resourceType"] == "Task")["resource"]["input"]
            .pop(), "objectif est absent"),
    ],
)  # fmt: skip
def test_bundle_abime_refuse_en_francais_sans_rien_ecrire(depart, abimer, message):
    monde, _, bundle, brouillon = depart
    abime = copy.deepcopy(bundle)
    abimer(abime)
    with pytest.raises(ValidationError, match=message):
        importer_tddui(acteur=qui(monde, "ide"), version=brouillon, bundle=abime)
    assert not Objectif.objects.filter(version=brouillon).exists() and not brouillon.besoins.exists()
    assert ProjetPersonnalise.objects.get(pk=brouillon.projet_id).versions.get().attentes == ""


def test_reprise_dans_un_brouillon_deja_commence_refusee(depart):
    monde, _, bundle, brouillon = depart
    ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=brouillon, titre="Déjà là")
    with pytest.raises(ValidationError, match="brouillon encore vide"):
        importer_tddui(acteur=qui(monde, "ide"), version=brouillon, bundle=bundle)
