"""Pages de suivi du projet personnalisé : matrice d'autorisation. Chaque route (page et POST) ×
chaque sorte d'acteur du monde du PPA (tests/monde_ppa.py, sur tests/monde_cercle.py, plus
l'anonyme) → statut attendu ; un refus n'écrit rien et un 403 sur le dossier d'une personne est
journalisé comme le cercle le fait (`cercle.acces_refuse`, route « ppa:… ») ; une réussite en POST
écrit ce qu'elle doit.

Règle (ADR 0008) : anonyme → connexion (302) ; usager hors du monde de l'acteur → 404 ; sans `ppa`
en lecture → 403 ; écrire sans `ppa` en écriture → 403 ; revues d'une structure : professionnels
qui exercent dans une structure (403 pour les autres, sans dossier à journaliser).

Nombre de cas : 11 routes × 15 acteurs = 165 (`test_taille_de_la_matrice`)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from cercle import habilitations
from cercle.models import Domaine
from coordination.comptes.acteur import TypeActeur, acteur_systeme
from coordination.journal.models import Evenement
from ppa import fhir, reprise, selectors, selectors_suivi
from ppa import services as ppa
from ppa.models import Action, Besoin, DocumentPrecedent, Objectif, VersionPPA
from tests import fichiers_pieces as f
from tests.factories import StructureFactory, connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

ACTEURS = [
    "anonyme", "usager", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "gestionnaire", "pro_sans_droit", "aidant_avec_droits", "aidant_sans_droit",
    "representant", "membre_sorti", "pro_hors_cercle",
]  # fmt: skip
# Ceux pour qui Jeanne « n'existe pas » (ADR 0008) : 404 sur toute adresse qui la désigne.
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
LISENT = {"usager", "ide", "collegue_structure", "medecin", "aidant_avec_droits", "representant"}
ECRIVENT = {"usager", "ide", "collegue_structure", "aidant_avec_droits", "representant"}
# Professionnels qui exercent dans une structure (page des revues).
EN_STRUCTURE = {"ide", "collegue_structure", "gestionnaire", "pro_hors_cercle"}
REFUS = "cercle.acces_refuse"


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


class Scene:
    """Le monde du PPA : le projet du SSIAD (version 1 validée, avenant en brouillon) avec un
    projet précédent joint, et le brouillon vide d'un projet d'une autre structure ; le Bundle
    TDDUI de la version 1, à reprendre."""

    def __init__(self) -> None:
        self.monde = construire_monde_ppa()
        self.validee = valider(self.monde, brouillon_rempli(self.monde))
        self.avenant = ppa.creer_avenant(acteur=qui(self.monde, "ide"), version=self.validee)
        self.projet = self.validee.projet
        self.document = reprise.joindre_document(
            acteur=qui(self.monde, "ide"), projet=self.projet, fichier=f.fichier("a.pdf", f.pdf_sain())
        )
        foyer = StructureFactory(raison_sociale="Foyer de vie Fictif")
        ide = qui(self.monde, "ide")
        self.vide = ppa.creer_projet(
            acteur=ide, usager=self.usager, structure=foyer, titre="Suite"
        ).versions.get()
        complete = selectors.version_complete(acteur_systeme("test"), self.validee.uuid)
        self.bundle = json.dumps(
            fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, list(self.validee.accords.all())))
        ).encode()

    @property
    def usager(self):
        return self.monde.usager


def _projet(scene: Scene) -> list:
    return [scene.usager.uuid, scene.projet.uuid]


def _version(nom: str):
    return lambda scene: [scene.usager.uuid, getattr(scene, nom).uuid]


def lecteur(succes: int):
    return lambda nom: succes


def ecrivain(succes: int):
    return lambda nom: succes if nom in ECRIVENT else 403


# route: (nom d'URL, méthode, arguments de l'adresse, décision une fois la lecture permise, données POST)
ROUTES = {
    "versions": ("versions", "get", _projet, lecteur(200), None),
    "comparer": ("comparer", "get", _projet, lecteur(200), None),
    "export_facile": ("export_facile", "get", _version("validee"), lecteur(200), None),
    "export_complet": ("export_complet", "get", _version("avenant"), lecteur(200), None),
    "export_tddui": ("export_tddui", "get", _version("validee"), lecteur(200), None),
    "document": ("document", "get", lambda s: [*_projet(s), s.document.uuid], lecteur(200), None),
    "document_ajouter_page": ("document_ajouter", "get", _projet, ecrivain(200), None),
    "document_ajouter": (
        "document_ajouter", "post", _projet, ecrivain(302),
        lambda s: {"fichier": f.fichier("precedent.pdf", f.pdf_sain(), "application/pdf")},
    ),
    "reprise_page": ("reprise_tddui", "get", _version("vide"), ecrivain(200), None),
    "reprise": (
        "reprise_tddui", "post", _version("vide"), ecrivain(302),
        lambda s: {"fichier": SimpleUploadedFile("projet.json", s.bundle, content_type="application/json")},
    ),
    "revues": ("revues", "get", lambda s: [], None, None),
}  # fmt: skip
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def attendu(route: str, nom: str) -> int:
    if nom == "anonyme":
        return 302
    if route == "revues":
        return 200 if nom in EN_STRUCTURE else 403
    if nom in INCONNUS:
        return 404
    if nom not in LISENT:
        return 403
    return ROUTES[route][3](nom)


def etat() -> tuple:
    """Tout ce qu'une route du suivi peut écrire (les lectures et exports journalisés à part)."""
    return (
        tuple(DocumentPrecedent.objects.order_by("id").values_list("id", flat=True)),
        Besoin.objects.count(),
        Objectif.objects.count(),
        Action.objects.count(),
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "attentes", "revisions")),
        Evenement.objects.exclude(action__contains="lecture")
        .exclude(action__in=[REFUS, selectors_suivi.EXPORT])
        .count(),
    )


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 15 and len(ROUTES) == 11
    assert NOMBRE_DE_CAS == 165


def test_les_ensembles_suivent_les_habilitations():
    """Les ensembles de la matrice sont ceux que décident cercle/habilitations.py et le monde."""
    scene = Scene()
    acteurs = {nom: qui(scene.monde, nom) for nom in ACTEURS if nom != "anonyme"}
    assert {
        n for n, a in acteurs.items() if habilitations.peut(a, scene.usager, "lire", Domaine.PPA)
    } == LISENT
    assert {
        n for n, a in acteurs.items() if habilitations.peut(a, scene.usager, "ecrire", Domaine.PPA)
    } == ECRIVENT
    assert {
        n for n, a in acteurs.items() if a.type == TypeActeur.PROFESSIONNEL and a.exercice.structure_id
    } == EN_STRUCTURE
    assert not INCONNUS & LISENT


class Annuler(Exception):
    """Sort du point de sauvegarde d'un cas : chaque cas repart du même monde."""


def verifier_cas(client, scene: Scene, route: str, acteur: str) -> None:
    nom_url, methode, arguments, _, donnees = ROUTES[route]
    statut = attendu(route, acteur)
    cas = (route, acteur)
    client.logout()
    if acteur != "anonyme":
        connecter(client, scene.monde.acteurs[acteur].compte)
    avant, refus_avant = etat(), set(Evenement.objects.filter(action=REFUS).values_list("id", flat=True))
    adresse = reverse(f"ppa:{nom_url}", args=arguments(scene))
    reponse = client.get(adresse) if methode == "get" else client.post(adresse, donnees(scene))
    assert reponse.status_code == statut, (cas, reponse.content[:300])
    if reponse.streaming:  # le fichier servi, lu jusqu'au bout : le client du test le referme
        assert b"".join(reponse.streaming_content) == f.pdf_sain(), cas
    refus = Evenement.objects.filter(action=REFUS).exclude(id__in=refus_avant)
    if statut == 403 and route != "revues":
        evenement = refus.get()
        assert evenement.usager_uuid == scene.usager.uuid, cas
        assert evenement.details["route"] == f"ppa:{nom_url}", cas
        assert evenement.compte_uuid == scene.monde.acteurs[acteur].compte.uuid, cas
    else:
        assert not refus.exists(), cas
    if statut == 302 and acteur == "anonyme":
        assert reponse["Location"].startswith(reverse("account_login")), cas
    if methode == "post" and statut == 302 and acteur != "anonyme":
        assert etat() != avant, cas  # la réussite a écrit
    elif methode == "post" or statut != 200:
        assert etat() == avant, cas  # un refus n'écrit rien
    if statut in (403, 404) and route.startswith("export"):
        assert not Evenement.objects.filter(action=selectors_suivi.EXPORT).exists(), cas


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_pages_du_suivi(client, route):
    """Une route, tous ses acteurs, chacun dans un point de sauvegarde annulé : le monde n'est
    construit qu'une fois par route."""
    scene = Scene()
    cas = 0
    for acteur in ACTEURS:
        try:
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur)
                raise Annuler
        except Annuler:
            cas += 1
    assert cas == len(ACTEURS)
