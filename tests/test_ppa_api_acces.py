"""API REST du projet personnalisé : matrice d'autorisation. Chaque route × chaque sorte d'acteur du
monde du PPA (tests/monde_ppa.py) en session du portail, l'anonyme, et deux logiciels avec un vrai
jeton OAuth2 (le DUI du SSIAD, qui écrit dans le projet de Jeanne par sa structure, et le DUI d'une
structure hors du cercle) → statut attendu ; un refus explique pourquoi et n'écrit rien, pas même au
journal ; un succès en écriture écrit, une lecture est journalisée.

Règle (ADR 0008, comme les API du cercle, du cahier et de l'agenda) : anonyme → 401 ; usager dont
l'acteur ne voit rien → 404 ; usager visible sans le droit → 403 ; version que l'acteur ne lit pas →
404 (ADR 0028) ; lecteur sans le droit d'écrire, ou action réservée à d'autres (avis, accords) → 403.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from django.db import transaction

from coordination.comptes.acteur import acteur_systeme
from coordination.journal.models import Evenement as Journal
from ppa import fhir, selectors
from ppa import services as ppa
from ppa.models import AccordPPA, Action, Besoin, CommentairePPA, Objectif, ProjetPersonnalise, VersionPPA
from tests.fhir_outils import logiciel
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider
from tests.test_agenda_api import en_tant_que

pytestmark = pytest.mark.django_db

LOGICIELS = {"dui_ssiad", "dui_autre_structure"}
ACTEURS = [
    "anonyme", "usager", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "gestionnaire", "pro_sans_droit", "aidant_avec_droits", "aidant_sans_droit",
    "representant", "membre_sorti", "pro_hors_cercle", "dui_ssiad", "dui_autre_structure",
]  # fmt: skip
# Aucun droit sur le dossier de Jeanne : elle n'existe pas pour eux (comme l'API du cercle).
INCONNUS = {
    "autre_usager", "assistant_expire", "membre_sorti", "pro_hors_cercle", "pro_sans_droit",
    "aidant_sans_droit", "dui_autre_structure",
}  # fmt: skip
# `ppa` en lecture, en écriture (tests/test_ppa_differentiel.py, tests/test_ppa_services.py).
LISENT = {"usager", "ide", "collegue_structure", "medecin", "aidant_avec_droits", "representant", "dui_ssiad"}
ECRIVENT = LISENT - {"medecin"}
ENTOURAGE = {"usager", "aidant_avec_droits", "representant"}  # l'avis sur un objectif
TITULAIRES = {"usager", "representant"}  # l'accord de la personne
STRUCTURE = {"ide"}  # l'accord du SSIAD : le référent du projet (il l'a ouvert) ou la direction


def sur_l_usager(autorises: set[str], succes: int):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 401
        if nom in INCONNUS:
            return 404
        return succes if nom in autorises else 403

    return statut


def sur_la_version(autorises: set[str], succes: int):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 401
        if nom not in LISENT:
            return 404
        return succes if nom in autorises else 403

    return statut


class Scene:
    """Jeanne et quatre projets au SSIAD : PPA validé (v1) avec son avenant en brouillon (v2), PAI
    validé sans avenant, PP soumis aux accords, PI ouvert et vide (pour la reprise TDDUI)."""

    def __init__(self):
        self.monde = monde = construire_monde_ppa()
        self.validee = valider(monde, brouillon_rempli(monde))
        self.brouillon = ppa.creer_avenant(acteur=qui(monde, "ide"), version=self.validee)
        self.objectif = self.brouillon.objectifs.get()
        self.seule_validee = valider(monde, self._rempli("PAI"))
        self.soumise = ppa.soumettre(acteur=qui(monde, "ide"), version=self._rempli("PP"))
        self.vide = self._projet("PI").versions.get()
        complete = selectors.version_complete(acteur_systeme("test"), self.validee.uuid)
        self.bundle = fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, list(self.validee.accords.all())))

    def _projet(self, type_projet: str) -> ProjetPersonnalise:
        return ppa.creer_projet(
            acteur=qui(self.monde, "ide"), usager=self.monde.usager, structure=self.monde.ssiad,
            titre=f"Projet {type_projet}", type=type_projet,
        )  # fmt: skip

    def _rempli(self, type_projet: str) -> VersionPPA:
        version = self._projet(type_projet).versions.get()
        ppa.ajouter_objectif(acteur=qui(self.monde, "ide"), version=version, titre="Sortir au marché")
        return version


def _v(version: VersionPPA, suffixe: str = "") -> str:
    return f"/api/v1/ppa/versions/{version.uuid}/{suffixe}"


# route : (méthode, adresse, statut attendu par acteur, corps)
ROUTES = {
    "projets": (
        "get", lambda s: f"/api/v1/usagers/{s.monde.usager.uuid}/ppa/", sur_l_usager(LISENT, 200), None,
    ),
    "creation": (
        "post", lambda s: f"/api/v1/usagers/{s.monde.usager.uuid}/ppa/", sur_l_usager(ECRIVENT, 201),
        lambda s: {"titre": "Projet d'accompagnement", "type": "PA", "structure": str(s.monde.ssiad.uuid)},
    ),
    "version": ("get", lambda s: _v(s.brouillon), sur_la_version(LISENT, 200), None),
    "paroles": (
        "post", lambda s: _v(s.brouillon, "paroles/"), sur_la_version(ECRIVENT, 200),
        lambda s: {"projet_de_vie": "Jardiner.", "revision_lue": 0},
    ),
    "besoin": (
        "post", lambda s: _v(s.brouillon, "besoins/"), sur_la_version(ECRIVENT, 201),
        lambda s: {"libelle": "Se déplacer"},
    ),
    "objectif": (
        "post", lambda s: _v(s.brouillon, "objectifs/"), sur_la_version(ECRIVENT, 201),
        lambda s: {"titre": "Aller au marché", "besoins": [str(s.brouillon.besoins.get().uuid)]},
    ),
    "avis": (
        "post", lambda s: _v(s.brouillon, f"objectifs/{s.objectif.uuid}/avis/"),
        sur_la_version(ENTOURAGE, 200), lambda s: {"avis": "d_accord", "commentaire": "Oui."},
    ),
    "action": (
        "post", lambda s: _v(s.brouillon, "actions/"), sur_la_version(ECRIVENT, 201),
        lambda s: {"objectif": str(s.objectif.uuid), "quoi": "Courses", "intervenant_libelle": "Voisin"},
    ),
    "commentaire": (
        "post", lambda s: _v(s.brouillon, "commentaires/"), sur_la_version(ECRIVENT, 201),
        lambda s: {"partie": "objectifs", "texte": "À revoir ensemble."},
    ),
    "soumission": ("post", lambda s: _v(s.brouillon, "soumission/"), sur_la_version(ECRIVENT, 200), None),
    "accord_usager": (
        "post", lambda s: _v(s.soumise, "accords/"), sur_la_version(TITULAIRES, 201),
        lambda s: {"partie": "usager", "empreinte_lue": s.soumise.empreinte},
    ),
    "accord_structure": (
        "post", lambda s: _v(s.soumise, "accords/"), sur_la_version(STRUCTURE, 201),
        lambda s: {"partie": "structure", "empreinte_lue": s.soumise.empreinte},
    ),
    "avenant": ("post", lambda s: _v(s.seule_validee, "avenant/"), sur_la_version(ECRIVENT, 201), None),
    "import_tddui": (
        "post", lambda s: _v(s.vide, "import-tddui/"), sur_la_version(ECRIVENT, 200), lambda s: s.bundle,
    ),
    "differentiel": (
        "get", lambda s: _v(s.validee, f"differentiel/{s.brouillon.uuid}/"), sur_la_version(LISENT, 200),
        None,
    ),
}  # fmt: skip
LECTURES = {"projets", "version", "differentiel"}
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def test_taille_de_la_matrice():
    assert len(ACTEURS) == len(set(ACTEURS)) == 17 and "anonyme" in ACTEURS and LOGICIELS < set(ACTEURS)
    assert INCONNUS | LISENT | {"anonyme", "gestionnaire", "assistant"} == set(ACTEURS)
    assert NOMBRE_DE_CAS == 15 * 17 == 255


def etat() -> tuple:
    """Tout ce qu'une requête pourrait écrire dans le projet, et le journal entier (lectures
    comprises)."""
    return (
        ProjetPersonnalise.objects.count(),
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "empreinte", "attentes",
                                                            "projet_de_vie", "revisions")),
        Besoin.objects.count(),
        tuple(Objectif.objects.order_by("id").values_list("id", "avis_usager", "commentaire_usager")),
        Action.objects.count(),
        AccordPPA.objects.count(),
        CommentairePPA.objects.count(),
        Journal.objects.count(),
    )  # fmt: skip


class Annuler(Exception):
    """Levée pour annuler la transaction d'un cas (chaque cas repart du même état)."""


def _authentifier(client, scene: Scene, acteur: str) -> dict:
    """Les en-têtes de l'appel : session du portail (qualité choisie) ou jeton d'un logiciel."""
    client.logout()
    if acteur in LOGICIELS:
        structure = scene.monde.ssiad if acteur == "dui_ssiad" else None
        return {"HTTP_AUTHORIZATION": f"Bearer {logiciel(client, structure=structure)[1]}"}
    if acteur != "anonyme":
        en_tant_que(client, scene.monde, acteur)
    return {}


def verifier_cas(client, scene: Scene, route: str, acteur: str, en_tetes: dict) -> None:
    methode, adresse, decision, corps = ROUTES[route]
    statut = decision(acteur)
    cas = (route, acteur)
    avant = etat()
    if methode == "get":
        reponse = client.get(adresse(scene), **en_tetes)
    else:
        donnees = json.dumps(corps(scene) if corps else {})
        reponse = client.post(adresse(scene), donnees, content_type="application/json", **en_tetes)
    assert reponse.status_code == statut, (cas, reponse.content[:1000])
    if statut >= 400:
        assert reponse.json(), f"{cas} : un refus explique pourquoi"
        assert etat() == avant, f"{cas} : un refus n'écrit rien"
        return
    apres = etat()
    if route in LECTURES:
        assert apres[:-1] == avant[:-1] and apres[-1] > avant[-1], f"{cas} : lecture journalisée seulement"
    else:
        assert apres[:-1] != avant[:-1], f"{cas} : l'écriture a eu lieu"


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_api_du_ppa(client, route):
    scene = Scene()
    for acteur in ACTEURS:
        en_tetes = _authentifier(client, scene, acteur)
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur, en_tetes)
                raise Annuler
