"""Pages de la fiche de liaison MDPH : matrice d'autorisation. Chaque route (page et POST) × chaque
sorte d'acteur du monde du projet personnalisé (tests/monde_ppa.py, plus l'anonyme) → statut
attendu ; un refus n'écrit rien (fiches, consentements, messages sortants, journal) ; un 403 sur une
adresse d'usager est journalisé (`cercle.acces_refuse`).

Règle (ADR 0008, comme le cahier et l'agenda) : anonyme → connexion (302) ; usager hors du monde de
l'acteur → 404 ; sans `ppa` en lecture → 403 ; préparer et envoyer : un professionnel du SSIAD (la
structure du projet) qui écrit dans le projet, sinon 403 ; consentir : Jeanne ou sa tutrice, sinon
403.

Nombre de cas : 10 routes × 15 acteurs = 150 (`test_taille_de_la_matrice`).

Scène : celle de tests/test_ppa_mdph.py (version 1 validée, avenant validé qui ajoute la
kinésithérapie), une fiche préparée sans consentement et une fiche consentie, pas encore envoyée."""

from __future__ import annotations

import contextlib

import pytest
from django.db import transaction
from django.urls import reverse

from cercle import habilitations
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.echanges.models import MessageSortant
from coordination.journal.models import Evenement as Journal
from ppa import mdph
from ppa.models import ConsentementFicheMDPH, FicheLiaisonMDPH
from tests.factories import connecter
from tests.monde_ppa import qui
from tests.test_ppa_mdph import BAL, MOTIF, Scene

pytestmark = pytest.mark.django_db

ACTEURS = [
    "anonyme", "usager", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "pro_sans_droit", "gestionnaire", "aidant_avec_droits", "aidant_sans_droit",
    "representant", "membre_sorti", "pro_hors_cercle",
]  # fmt: skip
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
# `ppa` en lecture dans le monde du projet (vérifié par `test_les_lecteurs_du_projet`).
LECTEURS = {"usager", "ide", "collegue_structure", "medecin", "aidant_avec_droits", "representant"}
REDACTEURS = {"ide", "collegue_structure"}  # professionnels du SSIAD qui écrivent dans le projet
TITULAIRES = {"usager", "representant"}
REFUS = "cercle.acces_refuse"


class SceneMatrice(Scene):
    def __init__(self) -> None:
        super().__init__()
        self.fiche_preparee = self.fiche()
        self.fiche_consentie = self.consentie()


def sur_l_usager(decision):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 302
        if nom in INCONNUS:
            return 404
        return decision(nom) if nom in LECTEURS else 403

    return statut


def parmi(noms: set[str], succes: int):
    return lambda nom: succes if nom in noms else 403


def lecteur(succes: int):
    return lambda nom: succes


def saisie_fiche(scene, etape: str) -> dict:
    origine = scene.preparation().changements[0]["origine"]
    return {"modalites": [origine], "motif": MOTIF, "bal": BAL, "nom": "MDPH du Val Fictif", "etape": etape}


def texte_de_jeanne(scene) -> dict:
    return {"texte_vu": mdph.texte_consentement(qui(scene.monde, "usager"), scene.fiche_preparee)}


L, V, P, C = "liste", "version", "preparee", "consentie"
# route : (nom d'URL, méthode, cible, statut attendu par acteur, données POST)
ROUTES = {
    "liste": ("mdph_liste", "get", L, sur_l_usager(lecteur(200)), None),
    "nouvelle_page": ("mdph_nouvelle", "get", V, sur_l_usager(parmi(REDACTEURS, 200)), None),
    "nouvelle_apercu": (
        "mdph_nouvelle", "post", V, sur_l_usager(parmi(REDACTEURS, 200)), lambda s: saisie_fiche(s, "apercu"),
    ),
    "nouvelle_enregistrer": (
        "mdph_nouvelle", "post", V, sur_l_usager(parmi(REDACTEURS, 302)),
        lambda s: saisie_fiche(s, "enregistrer"),
    ),
    "fiche": ("mdph_fiche", "get", P, sur_l_usager(lecteur(200)), None),
    "consentement_page": ("mdph_consentement", "get", P, sur_l_usager(parmi(TITULAIRES, 200)), None),
    # La tutrice renvoie le texte lu par Jeanne : ce n'est pas le sien (« pour Jeanne que je
    # représente ») → 400, rien d'écrit ; Jeanne consent (302).
    "consentement": (
        "mdph_consentement", "post", P,
        sur_l_usager(lambda nom: {"usager": 302, "representant": 400}.get(nom, 403)), texte_de_jeanne,
    ),
    "envoyer": ("mdph_envoyer", "post", C, sur_l_usager(parmi(REDACTEURS, 302)), lambda s: {}),
    "pdf": ("mdph_pdf", "get", C, sur_l_usager(lecteur(200)), None),
    "fiche_consentie": ("mdph_fiche", "get", C, sur_l_usager(lecteur(200)), None),
}  # fmt: skip
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 15
    assert NOMBRE_DE_CAS == 10 * 15 == 150


def test_les_lecteurs_du_projet():
    """Les ensembles de la matrice sont ceux que décident les habilitations du monde."""
    scene = Scene()
    usager = scene.monde.usager
    connus = [nom for nom in ACTEURS if nom != "anonyme"]
    assert {n for n in connus if habilitations.peut(qui(scene.monde, n), usager, "lire", "ppa")} == LECTEURS
    assert {n for n in connus if habilitations.est_titulaire(qui(scene.monde, n), usager)} == TITULAIRES


def _adresse(scene, nom_url: str, cible: str) -> str:
    usager = scene.monde.usager.uuid
    if cible == L:
        return reverse(f"ppa:{nom_url}", args=[usager])
    if cible == V:
        return reverse(f"ppa:{nom_url}", args=[usager, scene.v2.uuid])
    fiche = scene.fiche_preparee if cible == P else scene.fiche_consentie
    return reverse(f"ppa:{nom_url}", args=[usager, fiche.uuid])


def etat() -> tuple:
    return (
        tuple(FicheLiaisonMDPH.objects.order_by("id").values_list("id", "statut")),
        ConsentementFicheMDPH.objects.count(),
        tuple(MessageSortant.objects.order_by("id").values_list("id", "statut")),
        Journal.objects.exclude(action__contains="lecture").exclude(action=REFUS).count(),
    )


class Annuler(Exception):
    """Levée pour annuler la transaction d'un cas de la matrice (chaque cas repart du même état)."""


def verifier_cas(client, scene, route: str, acteur: str) -> None:
    nom_url, methode, cible, decision, donnees = ROUTES[route]
    statut = decision(acteur)
    cas = (route, acteur)
    client.logout()
    if acteur != "anonyme":
        connecter(client, scene.monde.acteurs[acteur].compte)
        session = client.session
        session[SESSION_ACTEUR] = scene.monde.acteurs[acteur].cle
        session.save()
    avant = etat()
    refus_avant = set(Journal.objects.filter(action=REFUS).values_list("id", flat=True))
    adresse = _adresse(scene, nom_url, cible)
    reponse = client.get(adresse) if methode == "get" else client.post(adresse, donnees(scene))
    assert reponse.status_code == statut, (cas, reponse.content[:3000])
    refus = Journal.objects.filter(action=REFUS).exclude(id__in=refus_avant)
    if statut == 403:
        assert refus.get().details["route"] == f"ppa:{nom_url}", cas
    else:
        assert not refus.exists(), cas
    if statut == 302 and acteur == "anonyme":
        assert reponse["Location"].startswith(reverse("account_login")), cas
    if methode == "post" and statut == 302 and acteur != "anonyme":
        assert etat() != avant, cas
    else:
        assert etat() == avant, cas
    if route == "pdf" and statut == 200:
        assert reponse.content.startswith(b"%PDF"), cas


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_pages_de_la_fiche_mdph(client, route):
    scene = SceneMatrice()
    for acteur in ACTEURS:
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur)
                raise Annuler
