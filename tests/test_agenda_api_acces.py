"""API REST de l'agenda : matrice d'autorisation. Chaque route × chaque sorte d'acteur du monde de
l'agenda (tests/monde_agenda.py) en session du portail, l'anonyme, et le DUI du SSIAD avec un vrai
jeton OAuth2 (l'acteur « systeme » n'a pas d'accès HTTP) → statut attendu ; un refus explique
pourquoi et n'écrit rien ; un succès en écriture écrit.

Règle (ADR 0008, comme les API du cercle et du cahier) : anonyme → 401 ; usager dont l'acteur ne
voit rien → 404 ; sans le droit → 403 ; événement ou réunion que l'acteur ne voit pas (ni lecteur de
l'agenda de l'usager, ni convié, ni auteur) → 404 ; action non permise → 403.

Scène : celle de la matrice des pages (tests/test_agenda_pages_matrice.py)."""

from __future__ import annotations

import contextlib
import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from tests.fhir_outils import logiciel
from tests.monde_agenda import NIVEAU_AGENDA
from tests.test_agenda_api import en_tant_que
from tests.test_agenda_pages_matrice import (
    CONVIES_RDV,
    CONVIES_REUNION,
    INCONNUS,
    PROFESSIONNELS,
    Annuler,
    Scene,
    etat,
    niveau,
)

pytestmark = pytest.mark.django_db

DUI = "dui_ssiad"
SANS_HTTP = {"systeme"}
ACTEURS = ["anonyme", *(nom for nom in NIVEAU_AGENDA if nom not in SANS_HTTP)]
# Aucun droit sur le dossier : l'usager n'existe pas pour eux (comme l'API du cercle).
INCONNUS_REST = INCONNUS | {"pro_sans_droit", "aidant_sans_droit"}


def sur_l_usager(decision):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 401
        if nom in INCONNUS_REST:
            return 404
        return decision(nom) if niveau(nom) >= 1 else 403

    return statut


def sur_l_evenement(convies: set[str], decision):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 401
        if niveau(nom) < 1 and nom not in convies:
            return 404
        return decision(nom)

    return statut


def ecrivain(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 else 403


def ecrivain_pro(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 and nom in PROFESSIONNELS else 403


def parmi(noms: set[str], succes: int):
    return lambda nom: succes if nom in noms else 403


def professionnel(nom: str) -> int:
    return 401 if nom == "anonyme" else 200 if nom in PROFESSIONNELS else 403


def _lundi_en_quinze(heure: int, jours: int = 0) -> datetime.datetime:
    lundi = timezone.localdate() + datetime.timedelta(days=14 - timezone.localdate().weekday() + jours)
    return timezone.make_aware(datetime.datetime.combine(lundi, datetime.time(heure)))


FENETRE = {"debut": "2026-12-01T00:00:00Z", "fin": "2027-02-01T00:00:00Z"}


def _rdv(scene: Scene) -> dict:
    debut = _lundi_en_quinze(15, jours=2)
    fin = debut + datetime.timedelta(minutes=45)
    return {"titre": "Kinésithérapie", "debut": debut.isoformat(), "fin": fin.isoformat()}


def _deux_soignants(scene: Scene) -> list[str]:
    """Le médecin et l'infirmière : chaque demandeur réunit au moins une autre personne."""
    return [str(scene.monde.membres[nom].uuid) for nom in ("medecin", "ide")]


def _recherche(scene: Scene) -> dict:
    return {
        "participants": _deux_soignants(scene),
        "duree_minutes": 60,
        "debut": _lundi_en_quinze(0, -1).isoformat(),
        "fin": _lundi_en_quinze(0, 5).isoformat(),
    }


def _demande(scene: Scene) -> dict:
    return {
        "participants": _deux_soignants(scene),
        "titre": "Synthèse bis",
        "duree_minutes": 60,
        "horizon_debut": _lundi_en_quinze(0, -1).isoformat(),
        "horizon_fin": _lundi_en_quinze(0, 5).isoformat(),
        "date_limite": (timezone.now() + datetime.timedelta(days=2)).isoformat(),
        "debut": _lundi_en_quinze(14, 1).isoformat(),
    }


U, R, D, MOI = "usager", "rdv", "demande", "moi"
# route : (méthode, cible, suffixe, statut attendu par acteur, corps)
ROUTES = {
    "agenda_usager": ("get", U, "", sur_l_usager(lambda nom: 200), None),
    "creation": ("post", U, "", sur_l_usager(ecrivain(201)), _rdv),
    "creneaux": ("post", U, "creneaux/", sur_l_usager(ecrivain_pro(200)), _recherche),
    "reunion_demande": ("post", U, "reunions/", sur_l_usager(ecrivain_pro(201)), _demande),
    "mon_agenda": ("get", MOI, "", professionnel, None),
    "rdv": ("get", R, "", sur_l_evenement(CONVIES_RDV, lambda nom: 200), None),
    "rdv_modification": (
        "patch", R, "", sur_l_evenement(CONVIES_RDV, ecrivain(200)),
        lambda s: {"sequence": 0, "titre": "Toilette"},
    ),
    "rdv_annulation": (
        "delete", R, "", sur_l_evenement(CONVIES_RDV, ecrivain(200)), lambda s: {"motif": "Test"},
    ),
    "rdv_reponse": (
        "post", R, "reponse/", sur_l_evenement(CONVIES_RDV, parmi(CONVIES_RDV, 200)),
        lambda s: {"statut": "accepted"},
    ),
    "reunion_reponse": (
        "post", D, "reponse/", sur_l_evenement(CONVIES_REUNION, parmi(CONVIES_REUNION, 200)),
        lambda s: {"statut": "accepted"},
    ),
    "reunion_contre_proposition": (
        "post", D, "contre-proposition/", sur_l_evenement(CONVIES_REUNION, parmi(CONVIES_REUNION, 201)),
        lambda s: {"debut": _lundi_en_quinze(11, 7).isoformat(), "commentaire": "La semaine suivante."},
    ),
}  # fmt: skip
ECRITURES = {
    "creation",
    "reunion_demande",
    "rdv_modification",
    "rdv_annulation",
    "reunion_contre_proposition",
}
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 17 and DUI in ACTEURS and "anonyme" in ACTEURS
    assert set(NIVEAU_AGENDA) - set(ACTEURS) == SANS_HTTP
    assert NOMBRE_DE_CAS == 11 * 17 == 187


def _adresse(scene: Scene, cible: str, suffixe: str) -> str:
    if cible == U:
        return f"/api/v1/usagers/{scene.monde.usager.uuid}/agenda/{suffixe}"
    if cible == MOI:
        return "/api/v1/agenda/"
    if cible == R:
        return f"/api/v1/agenda/evenements/{scene.rdv.uuid}/{suffixe}"
    return f"/api/v1/agenda/reunions/{scene.demande.uuid}/{suffixe}"


def _authentifier(client, scene: Scene, acteur: str) -> dict:
    """Les en-têtes de l'appel : session du portail (qualité choisie) ou jeton du DUI."""
    client.logout()
    if acteur == DUI:
        return {"HTTP_AUTHORIZATION": f"Bearer {logiciel(client, structure=scene.monde.ssiad)[1]}"}
    if acteur != "anonyme":
        en_tant_que(client, scene.monde, acteur)
    return {}


def verifier_cas(client, scene: Scene, route: str, acteur: str, en_tetes: dict) -> None:
    methode, cible, suffixe, decision, corps = ROUTES[route]
    statut = decision(acteur)
    cas = (route, acteur)
    adresse = _adresse(scene, cible, suffixe)
    avant = etat()
    if methode == "get":
        reponse = client.get(adresse, FENETRE if cible in (U, MOI) else {}, **en_tetes)
    else:
        donnees = json.dumps(corps(scene))
        reponse = getattr(client, methode)(adresse, donnees, content_type="application/json", **en_tetes)
    assert reponse.status_code == statut, (cas, reponse.content[:1000])
    if statut >= 400:
        assert reponse.json(), f"{cas} : un refus explique pourquoi"
        assert etat() == avant, f"{cas} : un refus n'écrit rien"
    elif route in ECRITURES:
        assert etat() != avant, f"{cas} : l'écriture a eu lieu"
    elif route == "creneaux":
        assert etat() == avant and reponse.json()["creneaux"], cas


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_api_de_l_agenda(client, route):
    scene = Scene()
    for acteur in ACTEURS:
        en_tetes = _authentifier(client, scene, acteur)
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur, en_tetes)
                raise Annuler
