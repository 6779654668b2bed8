"""Le monde du cercle (tests/monde_cercle.py) complété pour l'agenda : la fille aidante lit
l'agenda de sa mère, le fils n'a aucun droit ; un éducateur d'une autre structure (un
professionnel qui exerce dans deux structures) ; le DUI du SSIAD. Avec, pour chaque acteur, son
niveau attendu sur l'agenda de Jeanne."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from agenda import services as agenda
from cercle import services
from cercle.models import TypeMembre
from cercle.roles import Role
from coordination.comptes.acteur import Acteur, TypeActeur
from tests.factories import CompteFactory, ExerciceFactory, StructureFactory
from tests.monde_cercle import Monde, acteur_pro, construire_monde

PARIS = ZoneInfo("Europe/Paris")

# acteur → niveau sur l'agenda de Jeanne (0 aucun, 1 lecture, 2 écriture, 3 gestion)
NIVEAU_AGENDA: dict[str, int] = {
    "usager": 3,
    "representant": 3,
    "autre_usager": 0,
    "ide": 2,
    "collegue_structure": 1,
    "medecin": 2,
    "assistant": 1,
    "assistant_expire": 0,
    "pro_sans_droit": 0,
    "gestionnaire": 2,
    "aidant_avec_droits": 1,
    "aidant_sans_droit": 0,
    "membre_sorti": 0,
    "pro_hors_cercle": 0,
    "educateur": 2,
    "dui_ssiad": 1,
    "systeme": 3,
}
ACTEURS = list(NIVEAU_AGENDA)
ANONYME = "anonyme"


def qui(monde: Monde, nom: str) -> Acteur | None:
    """L'acteur nommé, sans mémo (comme à la requête suivante) ; None pour l'anonyme."""
    if nom == ANONYME:
        return None
    acteur = monde.acteurs[nom]
    return Acteur(
        acteur.type, acteur.compte, acteur.exercice, acteur.proche, acteur.usager, acteur.nom_systeme,
        acteur.structure_logiciel,
    )  # fmt: skip


def construire_monde_agenda() -> Monde:
    monde = construire_monde()
    moi = monde.acteurs["usager"]
    services.accorder(acteur=moi, membre=monde.membres["aidant"], domaine="agenda", niveau=1)
    foyer = StructureFactory(raison_sociale="Foyer de vie des Tilleuls fictifs")
    educateur = ExerciceFactory(
        structure=foyer,
        profession_code="",
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="EDUCATEUR",
        professionnel__profession_code="",
        professionnel__profession_libelle="",
        fonction="Éducateur spécialisé",
    )
    # Le même éducateur exerce aussi au SSIAD : un agenda pour ses deux structures.
    monde.educateur_ssiad = ExerciceFactory(
        structure=monde.ssiad, professionnel=educateur.professionnel, fonction="Éducateur spécialisé"
    )
    monde.membres["educateur"] = services.ajouter_membre(
        acteur=moi,
        usager=monde.usager,
        type=TypeMembre.PROFESSIONNEL,
        exercice=educateur,
        role=Role.EDUCATEUR,
    )
    monde.acteurs["educateur"] = acteur_pro(educateur)
    # Hors de l'équipe de soins, pas de droit présumé : Jeanne a donné l'agenda à la coordinatrice
    # et à l'éducateur.
    for membre in ("coordinatrice", "educateur"):
        services.accorder(acteur=moi, membre=monde.membres[membre], domaine="agenda", niveau=2)
    monde.acteurs["dui_ssiad"] = Acteur(
        TypeActeur.LOGICIEL, structure_logiciel=monde.ssiad, nom_systeme="DUI fictif"
    )
    return monde


def a_paris(annee: int, mois: int, jour: int, heure: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(annee, mois, jour, heure, minute, tzinfo=PARIS)


def rendez_vous(monde: Monde, nom: str = "ide", *, debut=None, duree_min: int = 45, **champs):
    """Un rendez-vous de Jeanne créé par l'acteur nommé (l'infirmière par défaut)."""
    debut = debut or a_paris(2026, 12, 14, 9)
    valeurs = {"titre": "Soins à domicile", "usager": monde.usager}
    valeurs.update(champs)
    return agenda.creer_evenement(
        acteur=qui(monde, nom), debut=debut, fin=debut + datetime.timedelta(minutes=duree_min), **valeurs
    )
