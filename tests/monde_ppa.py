"""Le monde de test du projet personnalisé : celui du cercle (tests/monde_cercle.py), où Jeanne
confie l'écriture de son projet au SSIAD (donc à son infirmière) et à sa fille ; un projet rempli
(besoin, objectif, action hebdomadaire de l'infirmière, attentes) et sa validation par les deux
accords."""

from __future__ import annotations

from cercle import services as cercle
from ppa import services as ppa
from ppa.models import VersionPPA
from tests.monde_cercle import Monde, construire_monde, frais


def construire_monde_ppa() -> Monde:
    monde = construire_monde()
    moi = monde["usager"]
    cercle.accorder(acteur=moi, membre=monde.membres["ssiad"], domaine="ppa", niveau=2)
    cercle.accorder(acteur=moi, membre=monde.membres["aidant"], domaine="ppa", niveau=2)
    return monde


def qui(monde: Monde, nom: str):
    return frais(monde[nom])


def projet_de(monde: Monde):
    return ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Vivre chez moi"
    )


def brouillon_rempli(monde: Monde) -> VersionPPA:
    version = projet_de(monde).versions.get()
    besoin = ppa.ajouter_besoin(
        acteur=qui(monde, "ide"), version=version, libelle="Se laver", code_serafin="1.2.1.1"
    )
    objectif = ppa.ajouter_objectif(
        acteur=qui(monde, "ide"), version=version, titre="Faire sa toilette seule", besoins=[besoin],
        resultat_attendu="Douche sans aide trois jours sur sept",
    )  # fmt: skip
    ppa.ajouter_action(
        acteur=qui(monde, "ide"), objectif=objectif, quoi="Aide à la toilette",
        intervenant=monde.membres["ide"], frequence="FREQ=WEEKLY;BYDAY=MO,WE,FR", duree_minutes=45,
    )  # fmt: skip
    return ppa.ecrire_paroles(
        acteur=qui(monde, "aidant_avec_droits"), version=version, attentes="Rester chez moi."
    )


def valider(monde: Monde, version: VersionPPA) -> VersionPPA:
    """Soumet la version, puis l'accord de Jeanne et celui du SSIAD (par son infirmière)."""
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=version)
    ppa.donner_accord(
        acteur=qui(monde, "usager"), version=version, partie="usager", empreinte_lue=version.empreinte
    )
    ppa.donner_accord(
        acteur=qui(monde, "ide"), version=version, partie="structure", empreinte_lue=version.empreinte
    )
    return VersionPPA.objects.get(pk=version.pk)
