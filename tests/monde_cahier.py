"""Le monde du cercle (tests/monde_cercle.py) complété pour le cahier de liaison : un éducateur
(professionnel qui n'est pas de santé) qui écrit au cahier, le logiciel (DUI) du SSIAD, et la
coordinatrice qui gère le cahier. Avec, pour chaque acteur, ce que le cahier doit lui permettre."""

from __future__ import annotations

import datetime

from django.utils import timezone

from cahier_liaison import services as cahier
from cahier_liaison.codes import Visibilite
from cercle import services
from cercle.models import TypeMembre
from cercle.roles import Role
from coordination.comptes.acteur import Acteur, TypeActeur
from tests.factories import CompteFactory, ExerciceFactory
from tests.monde_cercle import Monde, acteur_pro, construire_monde

TOUS, SANS_USAGER, SANTE = Visibilite.TOUS, Visibilite.SANS_USAGER, Visibilite.SANTE
VISIBILITES = [TOUS, SANS_USAGER, SANTE]
PROS = {TOUS, SANS_USAGER}
PROS_SANTE = {TOUS, SANS_USAGER, SANTE}

# acteur → (niveau sur le cahier de Jeanne, visibilités lisibles)
ATTENDU: dict[str, tuple[int, set[str]]] = {
    "usager": (3, {TOUS}),
    "representant": (3, {TOUS}),
    "autre_usager": (0, {TOUS}),
    "ide": (2, PROS_SANTE),
    "collegue_structure": (1, PROS_SANTE),
    "medecin": (2, PROS_SANTE),
    "assistant": (0, PROS_SANTE),
    "assistant_expire": (0, PROS_SANTE),
    "pro_sans_droit": (0, PROS_SANTE),
    "gestionnaire": (3, PROS_SANTE),
    "aidant_avec_droits": (1, {TOUS}),
    "aidant_sans_droit": (0, {TOUS}),
    "membre_sorti": (0, PROS_SANTE),
    "pro_hors_cercle": (0, PROS_SANTE),
    "educateur": (2, PROS),
    "dui_ssiad": (1, PROS),
    "systeme": (3, PROS_SANTE),
}
ACTEURS = list(ATTENDU)

# acteur → membre du cercle par lequel on le sollicite (accusé, alerte)
MEMBRE_DE = {
    "ide": "ide",
    "collegue_structure": "ssiad",
    "dui_ssiad": "ssiad",
    "medecin": "medecin",
    "pro_sans_droit": "kine",
    "gestionnaire": "coordinatrice",
    "aidant_avec_droits": "aidant",
    "aidant_sans_droit": "fils",
    "membre_sorti": "parti",
    "educateur": "educateur",
}


def qui(monde: Monde, nom: str) -> Acteur:
    """L'acteur nommé, sans mémo (comme à la requête suivante), structure du logiciel comprise."""
    acteur = monde.acteurs[nom]
    return Acteur(
        acteur.type, acteur.compte, acteur.exercice, acteur.proche, acteur.usager, acteur.nom_systeme,
        acteur.structure_logiciel,
    )  # fmt: skip


def peut_lire(nom: str, visibilite: str) -> bool:
    niveau, lisibles = ATTENDU[nom]
    return niveau >= 1 and visibilite in lisibles


def peut_ecrire(nom: str, visibilite: str) -> bool:
    niveau, lisibles = ATTENDU[nom]
    return niveau >= 2 and visibilite in lisibles


def construire_monde_cahier() -> Monde:
    monde = construire_monde()
    moi = monde.acteurs["usager"]
    educateur = ExerciceFactory(
        structure=monde.ssiad,
        profession_code="",
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="EDUCATEUR",
        professionnel__profession_code="",
        professionnel__profession_libelle="",
        fonction="Éducateur spécialisé",
    )
    monde.membres["educateur"] = services.ajouter_membre(
        acteur=moi,
        usager=monde.usager,
        type=TypeMembre.PROFESSIONNEL,
        exercice=educateur,
        role=Role.EDUCATEUR,
    )
    monde.acteurs["educateur"] = acteur_pro(educateur)
    monde.acteurs["dui_ssiad"] = Acteur(
        TypeActeur.LOGICIEL, structure_logiciel=monde.ssiad, nom_systeme="DUI fictif"
    )
    services.accorder(acteur=moi, membre=monde.membres["coordinatrice"], domaine="cahier", niveau=3)
    return monde


def une_heure_avant() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=1)


def note_de(monde: Monde, nom: str = "medecin", **champs):
    """Une note écrite par l'acteur nommé (le médecin par défaut)."""
    valeurs = {
        "type": "OBS",
        "survenue_le": une_heure_avant(),
        "texte": "Toux sèche ce matin, pas de fièvre.",
    }
    valeurs.update(champs)
    return cahier.ecrire_note(acteur=qui(monde, nom), usager=monde.usager, **valeurs)
