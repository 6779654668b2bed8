"""Le projet personnalisé en Bundle TDDUI (CarePlan, ServiceRequest, Goal, Task, Consent) : chaque
ressource valide pour fhir.resources, liens entre elles, accords de la version validée, identifiants
stables d'une version à son avenant (ADR 0028)."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle

from coordination.comptes.acteur import acteur_systeme
from coordination.fhir.validation import valider as valider_fhir
from ppa import fhir, selectors
from ppa import services as ppa
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db


def charge(version) -> fhir.ContenuCharge:
    """Le contenu tel que les pages et les exports le lisent (lecture du système)."""
    complete = selectors.version_complete(acteur_systeme("export de test"), version.uuid)
    return fhir.ContenuCharge.depuis(complete, list(version.accords.all()))


def test_bundle_tddui_d_une_version_validee(django_assert_num_queries):
    monde = construire_monde_ppa()
    version = valider(monde, brouillon_rempli(monde))
    contenu = charge(version)
    with django_assert_num_queries(0):  # fonctions pures : tout est déjà chargé
        bundle = fhir.bundle_tddui(contenu)
    Bundle.model_validate(bundle)
    for entree in bundle["entry"]:
        valider_fhir(entree["resource"], type_attendu=entree["request"]["url"])
        assert entree["request"]["method"] == "POST"
    par_type = {}
    for entree in bundle["entry"]:
        par_type.setdefault(entree["resource"]["resourceType"], []).append(entree)
    assert {t: len(e) for t, e in par_type.items()} == {
        "CarePlan": 1,
        "ServiceRequest": 1,
        "Goal": 1,
        "Task": 1,
        "Consent": 2,
    }
    [plan] = par_type["CarePlan"]
    projet = plan["resource"]
    assert (projet["status"], projet["title"], projet["category"][0]["coding"][0]["code"]) == (
        "active",
        "Vivre chez moi",
        "PPA",
    )
    assert projet["note"][0]["text"] == "Rester chez moi."
    urls = {e["fullUrl"] for e in bundle["entry"]}
    accords = {info["display"]: info["reference"] for info in projet["supportingInfo"]}
    assert set(accords) == {"Consentement usager", "Consentement structure"} and set(accords.values()) <= urls
    [but] = par_type["Goal"]
    assert but["resource"]["addresses"][0]["reference"] == par_type["ServiceRequest"][0]["fullUrl"]
    assert but["resource"]["extension"][0]["valueReference"]["reference"] == plan["fullUrl"]
    assert but["resource"]["note"][0]["text"] == "Faire sa toilette seule"
    [tache] = par_type["Task"]
    assert tache["resource"]["basedOn"][0]["reference"] == plan["fullUrl"]
    entrees = {e["type"]["coding"][0]["code"]: e for e in tache["resource"]["input"]}
    assert entrees["objectif"]["valueReference"]["reference"] == but["fullUrl"]
    assert "FREQ=WEEKLY;BYDAY=MO,WE,FR" in tache["resource"]["description"]
    assert tache["resource"]["owner"]["display"] == monde.membres["ide"].nom_affiche
    besoin = par_type["ServiceRequest"][0]["resource"]
    assert besoin["category"][0]["coding"][0] == {"system": fhir.SYSTEME_SERAFIN, "code": "1.2.1.1"}


def test_un_avenant_garde_les_identifiants_et_n_exporte_que_ses_propres_accords():
    monde = construire_monde_ppa()
    validee = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    avant, apres = fhir.bundle_tddui(charge(validee)), fhir.bundle_tddui(charge(avenant))

    def identifiants(bundle, type_ressource):
        return [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == type_ressource]  # fmt: skip

    for type_ressource in ("CarePlan", "Goal", "Task", "ServiceRequest"):
        assert identifiants(avant, type_ressource) == identifiants(apres, type_ressource), type_ressource
    plan = next(e["resource"] for e in apres["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert plan["status"] == "draft" and "supportingInfo" not in plan
    assert "avenant" in plan["description"]
    assert not [e for e in apres["entry"] if e["resource"]["resourceType"] == "Consent"]
