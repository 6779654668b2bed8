"""CarePlan, Goal, Task : matrice d'autorisation route × sorte d'acteur (docs/decisions/0029-ppa-api-fhir.md).

Chaque acteur du monde du projet personnalisé (tests/monde_ppa.py), l'anonyme et des logiciels (DUI) :
celui du SSIAD (membre du cercle de Jeanne, `ppa` confié) avec toutes les portées, avec la seule
portée `system/CarePlan.read`, ou sans portée sur le PPA ; celui d'une structure hors du cercle.
Jeanne a une version validée et son avenant en brouillon. Règles : anonyme 401 ; lecture d'une
instance 200 pour qui lit le PPA de Jeanne (exactement ceux que `ppa.selectors` laissent lire), 404
pour tous les autres (jamais d'indice d'existence) ; recherche 200 filtrée ; portée manquante 403 ;
toute écriture refusée (403 pour une session, lecture seule ; 405 pour un logiciel) sans rien écrire :
ni ligne, ni empreinte changée, ni lecture notée au journal pour un refus."""

from __future__ import annotations

import pytest

from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from ppa import selectors
from ppa import services as ppa
from ppa.models import AccordPPA, Action, Besoin, Objectif, VersionPPA
from tests.factories import StructureFactory, connecter
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

SESSIONS = [
    "usager", "representant", "autre_usager", "aidant_avec_droits", "aidant_sans_droit", "ide", "medecin",
    "collegue_structure", "gestionnaire", "pro_sans_droit", "pro_hors_cercle", "assistant",
    "assistant_expire", "membre_sorti",
]  # fmt: skip
PORTEES_DUI = {
    "dui_ssiad": ("system/*.read", "system/*.write"),
    "dui_ssiad_careplan_seul": ("system/CarePlan.read",),
    "dui_ssiad_sans_portee_ppa": ("system/Patient.read",),
    "dui_autre_structure": ("system/*.read", "system/*.write"),
}
ACTEURS = ["anonyme", *SESSIONS, *PORTEES_DUI]
LECTURES = [
    "careplan-read", "careplan-read-brouillon", "careplan-search", "goal-read", "goal-search", "task-read",
    "task-search",
]  # fmt: skip
ECRITURES = [
    "careplan-create", "careplan-update", "careplan-update-conditionnel", "careplan-delete", "goal-update",
    "goal-delete", "task-create", "task-delete", "transaction",
]  # fmt: skip
ROUTES = LECTURES + ECRITURES
NOMBRE_DE_CAS = len(ACTEURS) * len(ROUTES)
# Qui lit le projet personnalisé de Jeanne : elle, sa tutrice, sa fille (droit confié), l'infirmière
# et sa collègue (par le SSIAD, à qui Jeanne l'a confié), le médecin traitant (droit présumé), et le
# logiciel du SSIAD (droits de sa structure).
LECTEURS = {"usager", "representant", "aidant_avec_droits", "ide", "medecin", "collegue_structure"}
LECTEURS |= {"dui_ssiad", "dui_ssiad_careplan_seul"}


def _type(route: str) -> str:
    return {"careplan": "CarePlan", "goal": "Goal", "task": "Task", "transaction": "CarePlan"}[
        route.split("-")[0]
    ]


def portee(nom: str, route: str) -> bool:
    """Le jeton du logiciel couvre-t-il la lecture de ce type ?"""
    portees = PORTEES_DUI[nom]
    return "system/*.read" in portees or f"system/{_type(route)}.read" in portees


def attendu(nom: str, route: str) -> int:
    if nom == "anonyme":
        return 401
    logiciel_ = nom.startswith("dui_")
    if route in ECRITURES:
        return 405 if logiciel_ else 403  # une session du portail est en lecture seule (acces.py)
    if logiciel_ and not portee(nom, route):
        return 403
    if route.endswith("-search"):
        return 200
    return 200 if nom in LECTEURS else 404


def _en_tetes(client, monde, nom: str) -> dict:
    if nom == "anonyme":
        return {}
    if nom.startswith("dui_"):
        structure = StructureFactory() if nom == "dui_autre_structure" else monde.ssiad
        return {"HTTP_AUTHORIZATION": f"Bearer {logiciel(client, PORTEES_DUI[nom], structure=structure)[1]}"}
    acteur = monde.acteurs[nom]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return {}


def _etat(validee: VersionPPA) -> tuple:
    return (
        *(m.objects.count() for m in (VersionPPA, Besoin, Objectif, Action, AccordPPA)),
        ppa.empreinte(VersionPPA.objects.get(pk=validee.pk)),
        VersionPPA.objects.filter(pk=validee.pk).values_list("statut", "empreinte", "modifie_le").get(),
    )


def _chemins(monde, validee: VersionPPA, avenant: VersionPPA) -> dict:
    objectif, action = Objectif.objects.get(version=validee), Action.objects.get(version=validee)
    patient = f"Patient/{monde.usager.uuid}"
    plan = {
        "resourceType": "CarePlan", "status": "revoked", "intent": "plan", "title": "Autre chose",
        "subject": {"reference": patient},
    }  # fmt: skip
    but = {
        "resourceType": "Goal", "id": str(objectif.uuid), "lifecycleStatus": "cancelled",
        "description": {"text": "Autre"}, "subject": {"reference": patient},
    }  # fmt: skip
    tache = {"resourceType": "Task", "status": "cancelled", "intent": "plan", "for": {"reference": patient}}
    return {
        "careplan-read": ("GET", f"/fhir/CarePlan/{validee.uuid}", None),
        "careplan-read-brouillon": ("GET", f"/fhir/CarePlan/{avenant.uuid}", None),
        "careplan-search": ("GET", f"/fhir/CarePlan?patient={patient}", None),
        "goal-read": ("GET", f"/fhir/Goal/{objectif.uuid}", None),
        "goal-search": ("GET", f"/fhir/Goal?patient={patient}", None),
        "task-read": ("GET", f"/fhir/Task/{action.uuid}", None),
        "task-search": ("GET", f"/fhir/Task?patient={patient}", None),
        "careplan-create": ("POST", "/fhir/CarePlan", plan),
        "careplan-update": ("PUT", f"/fhir/CarePlan/{validee.uuid}", {**plan, "id": str(validee.uuid)}),
        "careplan-update-conditionnel": ("PUT", f"/fhir/CarePlan?patient={patient}", plan),
        "careplan-delete": ("DELETE", f"/fhir/CarePlan/{validee.uuid}", None),
        "goal-update": ("PUT", f"/fhir/Goal/{objectif.uuid}", but),
        "goal-delete": ("DELETE", f"/fhir/Goal/{objectif.uuid}", None),
        "task-create": ("POST", "/fhir/Task", tache),
        "task-delete": ("DELETE", f"/fhir/Task/{action.uuid}", None),
        "transaction": (
            "POST",
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {**plan, "id": str(validee.uuid)},
                        "request": {"method": "PUT", "url": f"CarePlan/{validee.uuid}"},
                    },
                    {
                        "fullUrl": "urn:uuid:0d5c7ba4-8a3e-4c4e-9d53-9c0f3f3bb001",
                        "resource": tache,
                        "request": {"method": "POST", "url": "Task"},
                    },
                ],
            },
        ),  # fmt: skip
    }


def test_taille_de_la_matrice(record_property):
    record_property("matrice_ppa_fhir_cas", NOMBRE_DE_CAS)
    print(f"Matrice d'autorisation CarePlan/Goal/Task : {NOMBRE_DE_CAS} cas")  # noqa: T201
    assert (len(ACTEURS), len(ROUTES), NOMBRE_DE_CAS) == (19, 16, 304)


def test_les_lecteurs_sont_ceux_des_selecteurs():
    """Les lecteurs attendus par la matrice sont exactement ceux que `ppa.selectors` laissent lire."""
    monde = construire_monde_ppa()
    version = brouillon_rempli(monde)
    lisent = {nom for nom in SESSIONS if selectors.version_lisible(qui(monde, nom), version.uuid) is not None}
    assert lisent == LECTEURS - set(PORTEES_DUI)


@pytest.mark.parametrize("nom", ACTEURS)
def test_matrice_ppa_fhir(client, nom):
    monde = construire_monde_ppa()
    validee = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    chemins = _chemins(monde, validee, avenant)
    en_tetes = _en_tetes(client, monde, nom)
    lectures = Journal.objects.filter(action=selectors.LECTURE_VERSION)
    avant = _etat(validee)
    for route in ROUTES:
        methode, chemin, corps = chemins[route]
        deja_lues = lectures.count()
        reponse = appel(client, methode, chemin, corps=corps, **en_tetes)
        statut = attendu(nom, route)
        if statut >= 400:
            oo(reponse, statut)
            assert lectures.count() == deja_lues, (nom, route, "un refus ne note aucune lecture")
            assert _etat(validee) == avant, (nom, route, "un refus n'écrit rien")
            continue
        assert reponse.status_code == statut, (nom, route, reponse.content[:300])
        contenu = reponse.json()
        if route.endswith("-search"):
            ids = sorted(e["resource"]["id"] for e in contenu.get("entry", []))
            modele = {"careplan": VersionPPA, "goal": Objectif, "task": Action}[route.split("-")[0]]
            versions = (validee, avenant)
            lignes = versions if modele is VersionPPA else modele.objects.filter(version__in=versions)
            assert ids == (sorted(str(o.uuid) for o in lignes) if nom in LECTEURS else []), (nom, route)
        else:
            assert contenu["resourceType"] == _type(route) and contenu["id"] == chemin.rsplit("/", 1)[1]
        # Toute donnée servie est notée au journal, et seulement elle.
        assert (lectures.count() > deja_lues) is (nom in LECTEURS), (nom, route)
    assert _etat(validee) == avant
