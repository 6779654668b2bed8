"""Pages de l'atelier du projet personnalisé : matrice d'autorisation. Chaque route (page et POST)
× chaque sorte d'acteur connecté du monde du PPA (tests/monde_ppa.py, plus l'anonyme) → statut
attendu ; un refus n'écrit rien (lignes et journal comptés) ; un 403 est journalisé
(`cercle.acces_refuse`, route « ppa:… ») ; une réussite en POST écrit ce qu'elle doit.

Règle (ADR 0008 et 0028) : anonyme → connexion (302) ; usager hors du monde de l'acteur → 404 ;
sans `ppa` en lecture → 403 sur les projets de la personne (son UUID dans l'adresse), 404 sur une
version (son UUID seul : elle n'existe pas pour lui) ; écrire sans `ppa` en écriture → 403 ; avis
sur un objectif : la personne ou son entourage qui écrit ; accord de la personne : elle ou son
représentant légal ; accord de la structure : un professionnel qui y exerce et écrit.

Nombre de cas : 21 routes × 15 acteurs = 315 (`test_taille_de_la_matrice`).

Scène : le brouillon rempli du monde (projet « PPA ») avec un objectif sans action ; un projet
« PAI » soumis aux accords ; un projet « PP » validé."""

from __future__ import annotations

import contextlib

import pytest
from django.db import transaction
from django.urls import reverse

from cercle import habilitations
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from ppa import services as ppa
from ppa.models import (
    AccordPPA,
    Action,
    Besoin,
    CommentairePPA,
    Objectif,
    ProjetPersonnalise,
    VersionPPA,
)
from tests.factories import connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

NIVEAU_PPA = {
    "usager": 3, "representant": 3, "ide": 2, "collegue_structure": 2, "aidant_avec_droits": 2, "medecin": 1,
}  # fmt: skip
ACTEURS = [
    "anonyme", "usager", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "pro_sans_droit", "gestionnaire", "aidant_avec_droits", "aidant_sans_droit",
    "representant", "membre_sorti", "pro_hors_cercle",
]  # fmt: skip
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
ENTOURAGE = {"usager", "aidant_avec_droits", "aidant_sans_droit", "representant"}
TITULAIRES = {"usager", "representant"}
DANS_LA_STRUCTURE = {"ide", "collegue_structure"}
REFERENT = {"ide"}  # l'accord de la structure : le référent du projet (il l'a ouvert) ou la direction
REFUS = "cercle.acces_refuse"


def niveau(nom: str) -> int:
    return NIVEAU_PPA.get(nom, 0)


class Scene:
    def __init__(self) -> None:
        self.monde = monde = construire_monde_ppa()
        ide = qui(monde, "ide")
        self.brouillon = brouillon_rempli(monde)
        self.besoin = self.brouillon.besoins.get()
        self.objectif = self.brouillon.objectifs.get()
        self.action = self.brouillon.actions.get()
        self.vide = ppa.ajouter_objectif(acteur=ide, version=self.brouillon, titre="Sortir au marché")
        self.projet = self.brouillon.projet
        soumise = ppa.creer_projet(
            acteur=ide, usager=monde.usager, structure=monde.ssiad, titre="Au travail", type="PAI"
        ).versions.get()
        ppa.ajouter_objectif(acteur=ide, version=soumise, titre="Trouver un emploi adapté")
        self.soumise = ppa.soumettre(acteur=ide, version=soumise)
        validee = ppa.creer_projet(
            acteur=ide, usager=monde.usager, structure=monde.ssiad, titre="Ma santé", type="PP"
        ).versions.get()
        ppa.ajouter_objectif(acteur=ide, version=validee, titre="Voir le dentiste")
        self.validee = valider(monde, validee)

    def rev(self, partie: str) -> str:
        return str(VersionPPA.objects.get(pk=self.brouillon.pk).revisions.get(partie, 0))


# --- Décisions ------------------------------------------------------------------------------------


def sur_l_usager(decision):
    """Projets de la personne (son UUID dans l'adresse)."""

    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 302
        if nom in INCONNUS:
            return 404
        return 403 if niveau(nom) < 1 else decision(nom)

    return statut


def sur_la_version(decision):
    """Une version désignée par son UUID : qui ne lit pas le PPA ne la voit pas (404)."""

    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 302
        return 404 if niveau(nom) < 1 else decision(nom)

    return statut


def lecteur(succes: int):
    return lambda nom: succes


def ecrivain(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 else 403


def entourage_ecrivain(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 and nom in ENTOURAGE else 403


def parmi(noms: set[str], succes: int):
    return lambda nom: succes if nom in noms else 403


# --- Routes ---------------------------------------------------------------------------------------

U, B, S, W = "usager", "brouillon", "soumise", "validee"
# route: (nom d'URL, méthode, (version, élément), statut attendu par acteur, données POST)
ROUTES = {
    "projets": ("projets", "get", (U, None), sur_l_usager(lecteur(200)), None),
    "creer_projet": (
        "creer_projet", "post", (U, None), sur_l_usager(ecrivain(302)),
        lambda s: {"titre": "Le sport", "type": "PI", "structure": str(s.monde.ssiad.uuid)},
    ),
    "designer_referent": (
        "designer_referent", "post", (U, "projet"), sur_l_usager(parmi(REFERENT, 302)),
        lambda s: {"referent": str(s.monde.acteurs["collegue_structure"].exercice.uuid)},
    ),
    "atelier": ("atelier", "get", (B, None), sur_la_version(lecteur(200)), None),
    "facile": ("facile", "get", (B, None), sur_la_version(lecteur(200)), None),
    "paroles": (
        "paroles", "post", (B, None), sur_la_version(ecrivain(302)),
        lambda s: {"attentes": "Rester chez moi, avec mon chat.", "revision_lue": s.rev("paroles")},
    ),
    "ajouter_besoin": (
        "ajouter_besoin", "post", (B, None), sur_la_version(ecrivain(302)),
        lambda s: {"libelle": "Sortir", "revision_lue": s.rev("besoins")},
    ),
    "modifier_besoin": (
        "modifier_besoin", "post", (B, "besoin"), sur_la_version(ecrivain(302)),
        lambda s: {"libelle": "Se laver seule", "revision_lue": s.rev("besoins")},
    ),
    "retirer_besoin": (
        "retirer_besoin", "post", (B, "besoin"), sur_la_version(ecrivain(302)),
        lambda s: {"revision_lue": s.rev("besoins")},
    ),
    "ajouter_objectif": (
        "ajouter_objectif", "post", (B, None), sur_la_version(ecrivain(302)),
        lambda s: {"titre": "Voir mes amies", "besoins": [str(s.besoin.uuid)],
                   "revision_lue": s.rev("objectifs")},
    ),
    "modifier_objectif": (
        "modifier_objectif", "post", (B, "objectif"), sur_la_version(ecrivain(302)),
        lambda s: {"titre": "Se doucher seule", "revision_lue": s.rev("objectifs")},
    ),
    "retirer_objectif": (
        "retirer_objectif", "post", (B, "vide"), sur_la_version(ecrivain(302)),
        lambda s: {"revision_lue": s.rev("objectifs")},
    ),
    "donner_avis": (
        "donner_avis", "post", (B, "objectif"), sur_la_version(entourage_ecrivain(302)),
        lambda s: {"avis": "pas_d_accord", "commentaire": "Pas le dimanche",
                   "revision_lue": s.rev("objectifs")},
    ),
    "ajouter_action": (
        "ajouter_action", "post", (B, "objectif"), sur_la_version(ecrivain(302)),
        lambda s: {"quoi": "Courses", "repetition": "semaine", "jours": ["SA"],
                   "revision_lue": s.rev("actions")},
    ),
    "modifier_action": (
        "modifier_action", "post", (B, "action"), sur_la_version(ecrivain(302)),
        lambda s: {"quoi": "Aide à la douche", "repetition": "mois", "revision_lue": s.rev("actions")},
    ),
    "retirer_action": (
        "retirer_action", "post", (B, "action"), sur_la_version(ecrivain(302)),
        lambda s: {"revision_lue": s.rev("actions")},
    ),
    "commenter": (
        "commenter", "post", (B, None), sur_la_version(ecrivain(302)),
        lambda s: {"partie": "besoins", "texte": "Et le ménage ?"},
    ),
    "soumettre": ("soumettre", "post", (B, None), sur_la_version(ecrivain(302)), lambda s: {}),
    "accord_page": ("accord", "get", (S, None), sur_la_version(lecteur(200)), None),
    "accord_usager": (
        "accord", "post", (S, None), sur_la_version(parmi(TITULAIRES, 302)),
        lambda s: {"partie": "usager", "empreinte": s.soumise.empreinte},
    ),
    "accord_structure": (
        "accord", "post", (S, None), sur_la_version(parmi(REFERENT, 302)),
        lambda s: {"partie": "structure", "empreinte": s.soumise.empreinte},
    ),
    "avenant": ("avenant", "post", (W, None), sur_la_version(ecrivain(302)), lambda s: {}),
}  # fmt: skip
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 15
    assert NOMBRE_DE_CAS == 22 * 15 == 330


def test_les_niveaux_supposes_sont_ceux_du_monde():
    """La matrice suppose des niveaux `ppa` : ce sont bien ceux que les habilitations calculent."""
    monde = construire_monde_ppa()
    for nom in ACTEURS[1:]:
        assert habilitations.niveaux(qui(monde, nom), monde.usager).get("ppa", 0) == niveau(nom), nom
        assert habilitations.est_titulaire(qui(monde, nom), monde.usager) == (nom in TITULAIRES), nom


def _adresse(scene: Scene, nom_url: str, cible: tuple) -> str:
    version, element = cible
    if version == U:
        return reverse(
            f"ppa:{nom_url}",
            args=[scene.monde.usager.uuid, *([getattr(scene, element).uuid] if element else [])],
        )
    arguments = [getattr(scene, version).uuid]
    if element:
        arguments.append(getattr(scene, element).uuid)
    return reverse(f"ppa:{nom_url}", args=arguments)


def etat() -> tuple:
    return (
        tuple(ProjetPersonnalise.objects.order_by("id").values_list("id", "titre", "referent_id")),
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "attentes", "revisions")),
        tuple(Besoin.objects.order_by("id").values_list("id", "libelle")),
        tuple(Objectif.objects.order_by("id").values_list("id", "titre", "avis_usager")),
        tuple(Action.objects.order_by("id").values_list("id", "quoi", "frequence")),
        CommentairePPA.objects.count(),
        AccordPPA.objects.count(),
        Journal.objects.exclude(action__contains="lecture").exclude(action=REFUS).count(),
    )


class Annuler(Exception):
    """Levée pour annuler la transaction d'un cas de la matrice (chaque cas repart du même état)."""


def verifier_cas(client, scene: Scene, route: str, acteur: str) -> None:
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
    elif methode == "post" or statut != 200:
        assert etat() == avant, cas


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_pages_du_projet_personnalise(client, route):
    scene = Scene()
    for acteur in ACTEURS:
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur)
                raise Annuler
