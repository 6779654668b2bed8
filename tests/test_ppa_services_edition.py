"""Projet personnalisé : modifier et retirer un besoin, un objectif, une action du brouillon — mêmes
droits que pour ajouter, journalisé, révision de la partie contrôlée (conflit : rien d'écrit),
`origine` gardée, seulement en brouillon (message français), objectif retiré seulement sans
actions."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cercle import services as cercle
from cercle.models import TypeMembre
from cercle.services import AccesRefuse
from coordination.journal.models import Evenement as Journal
from ppa import services as ppa
from ppa.models import Action, Besoin, Objectif, VersionPPA
from tests.factories import CompteFactory, ExerciceFactory
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

ACTEURS = [
    "usager", "autre_usager", "ide", "collegue_structure", "medecin", "gestionnaire", "pro_sans_droit",
    "aidant_avec_droits", "aidant_sans_droit", "representant", "membre_sorti", "pro_hors_cercle",
]  # fmt: skip
ECRIVENT = {"usager", "ide", "collegue_structure", "aidant_avec_droits", "representant"}


@pytest.fixture
def monde():
    return construire_monde_ppa()


def etat() -> tuple:
    return (
        tuple(VersionPPA.objects.order_by("id").values_list("id", "revisions")),
        tuple(Besoin.objects.order_by("id").values_list("id", "libelle", "code_serafin", "precision")),
        tuple(Objectif.objects.order_by("id").values_list("id", "titre", "resultat_attendu", "date_cible")),
        tuple(Objectif.besoins.through.objects.order_by("id").values_list("objectif_id", "besoin_id")),
        tuple(Action.objects.order_by("id").values_list("id", "quoi", "frequence", "intervenant_id")),
        Journal.objects.filter(action__startswith="ppa.").count(),
    )


def rev(version, partie: str) -> int:
    return VersionPPA.objects.get(pk=version.pk).revisions.get(partie, 0)


def _operations(monde, version):
    besoin, objectif, action = version.besoins.get(), version.objectifs.get(), version.actions.get()
    vide = ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=version, titre="Sortir au marché")
    return {
        "modifier_besoin": ("besoins", lambda a, r: ppa.modifier_besoin(
            acteur=a, besoin=besoin, libelle="Se laver seule", precision="Le matin", revision_lue=r)),
        "retirer_besoin": ("besoins", lambda a, r: ppa.retirer_besoin(
            acteur=a, besoin=besoin, revision_lue=r)),
        "modifier_objectif": ("objectifs", lambda a, r: ppa.modifier_objectif(
            acteur=a, objectif=objectif, titre="Se doucher seule", besoins=[], revision_lue=r)),
        "retirer_objectif": ("objectifs", lambda a, r: ppa.retirer_objectif(
            acteur=a, objectif=vide, revision_lue=r)),
        "modifier_action": ("actions", lambda a, r: ppa.modifier_action(
            acteur=a, action=action, quoi="Aide à la douche", frequence="FREQ=DAILY", revision_lue=r)),
        "retirer_action": ("actions", lambda a, r: ppa.retirer_action(
            acteur=a, action=action, revision_lue=r)),
    }  # fmt: skip


OPERATIONS = [
    "modifier_besoin", "retirer_besoin", "modifier_objectif", "retirer_objectif", "modifier_action",
    "retirer_action",
]  # fmt: skip
JOURNAL = {
    "modifier_besoin": "ppa.besoin.modification", "retirer_besoin": "ppa.besoin.retrait",
    "modifier_objectif": "ppa.objectif.modification", "retirer_objectif": "ppa.objectif.retrait",
    "modifier_action": "ppa.action.modification", "retirer_action": "ppa.action.retrait",
}  # fmt: skip


@pytest.mark.parametrize("nom", ACTEURS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_qui_modifie_et_retire(monde, operation, nom):
    """Les mêmes qu'ajouter ; un refus n'écrit rien, pas même au journal ; une réussite avance la
    révision de la partie et se journalise."""
    version = brouillon_rempli(monde)
    partie, faire = _operations(monde, version)[operation]
    avant, revision = etat(), rev(version, partie)
    if nom not in ECRIVENT:
        with pytest.raises(AccesRefuse):
            faire(qui(monde, nom), revision)
        assert etat() == avant
        return
    faire(qui(monde, nom), revision)
    assert rev(version, partie) == revision + 1
    dernier = Journal.objects.filter(action__startswith="ppa.").latest("id")
    assert dernier.action == JOURNAL[operation] and dernier.objet_uuid == version.uuid


@pytest.mark.parametrize("operation", OPERATIONS)
def test_revision_perimee_conflit_sans_rien_ecrire(monde, operation):
    version = brouillon_rempli(monde)
    partie, faire = _operations(monde, version)[operation]
    avant = etat()
    with pytest.raises(ppa.ConflitDePartie, match="pendant que vous écriviez") as conflit:
        faire(qui(monde, "ide"), rev(version, partie) - 1)
    assert conflit.value.partie == partie
    assert etat() == avant


@pytest.mark.parametrize("operation", OPERATIONS)
def test_seulement_en_brouillon(monde, operation):
    version = brouillon_rempli(monde)
    _, faire = _operations(monde, version)[operation]
    ppa.soumettre(acteur=qui(monde, "ide"), version=version)
    avant = etat()
    with pytest.raises(ValidationError, match="créez un avenant"):
        faire(qui(monde, "ide"), None)
    assert etat() == avant


def test_version_validee_refusee_aussi(monde):
    version = valider(monde, brouillon_rempli(monde))
    with pytest.raises(ValidationError, match="n'est plus un brouillon"):
        ppa.modifier_besoin(acteur=qui(monde, "ide"), besoin=version.besoins.get(), libelle="Autre")


def test_modifier_garde_l_origine_l_auteur_et_l_avis(monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    ppa.donner_avis(acteur=qui(monde, "usager"), objectif=objectif, avis="d_accord", commentaire="Oui")
    avant = Objectif.objects.get(pk=objectif.pk)
    besoin = version.besoins.get()
    ppa.modifier_objectif(
        acteur=qui(monde, "aidant_avec_droits"), objectif=objectif, titre="  Se doucher seule ",
        resultat_attendu="Chaque matin", besoins=[besoin], date_cible=None,
    )  # fmt: skip
    apres = Objectif.objects.get(pk=objectif.pk)
    assert (apres.titre, apres.resultat_attendu) == ("Se doucher seule", "Chaque matin")
    assert (apres.origine, apres.ajoute_par, apres.avis_usager) == (
        avant.origine,
        avant.ajoute_par,
        "d_accord",
    )
    assert list(apres.besoins.all()) == [besoin]
    action = version.actions.get()
    ppa.modifier_action(acteur=qui(monde, "ide"), action=action, quoi="Aide à la douche", ou="Salle de bain")
    modifiee = Action.objects.get(pk=action.pk)
    assert modifiee.origine == action.origine and modifiee.objectif_id == action.objectif_id
    assert (modifiee.quoi, modifiee.ou, modifiee.frequence, modifiee.intervenant_id) == (
        "Aide à la douche",
        "Salle de bain",
        "",
        None,
    )


def test_saisies_vides_refusees(monde):
    version = brouillon_rempli(monde)
    avant = etat()
    with pytest.raises(ValidationError, match="Décrivez le besoin"):
        ppa.modifier_besoin(acteur=qui(monde, "ide"), besoin=version.besoins.get(), libelle="  ")
    with pytest.raises(ValidationError, match="Donnez un titre"):
        ppa.modifier_objectif(acteur=qui(monde, "ide"), objectif=version.objectifs.get(), titre="")
    with pytest.raises(ValidationError, match="Décrivez l'action"):
        ppa.modifier_action(acteur=qui(monde, "ide"), action=version.actions.get(), quoi="")
    assert etat() == avant


def test_intervenant_hors_du_cercle_refuse(monde):
    version = brouillon_rempli(monde)
    paul = monde["autre_usager"]  # un membre du cercle de quelqu'un d'autre
    etranger = cercle.ajouter_membre(
        acteur=paul, usager=monde.autre_usager, type=TypeMembre.PROFESSIONNEL,
        exercice=ExerciceFactory(professionnel__compte=CompteFactory()),
    )  # fmt: skip
    avant = etat()
    with pytest.raises(ValidationError, match="ne fait pas partie du cercle"):
        ppa.modifier_action(
            acteur=qui(monde, "ide"), action=version.actions.get(), quoi="Aide", intervenant=etranger
        )
    assert etat() == avant


def test_besoin_d_une_autre_version_refuse(monde):
    version = brouillon_rempli(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    ).versions.get()
    etranger = ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=autre, libelle="Sortir")
    with pytest.raises(ValidationError, match="n'appartient pas à cette version"):
        ppa.modifier_objectif(
            acteur=qui(monde, "ide"), objectif=version.objectifs.get(), titre="T", besoins=[etranger]
        )


def test_retirer_un_objectif_qui_a_des_actions_est_refuse(monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    avant = etat()
    with pytest.raises(ValidationError, match="a encore 1 action : retirez-les d'abord"):
        ppa.retirer_objectif(acteur=qui(monde, "ide"), objectif=objectif)
    assert etat() == avant
    ppa.retirer_action(acteur=qui(monde, "ide"), action=version.actions.get())
    ppa.retirer_objectif(acteur=qui(monde, "ide"), objectif=objectif)
    assert not Objectif.objects.filter(version=version).exists()


def test_retirer_un_besoin_garde_les_objectifs_qui_le_visaient(monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    ppa.retirer_besoin(acteur=qui(monde, "usager"), besoin=version.besoins.get())
    assert Objectif.objects.filter(pk=objectif.pk).exists() and not objectif.besoins.exists()
    details = Journal.objects.filter(action="ppa.besoin.retrait").get().details
    assert details["libelle"] == "Se laver"


def test_element_retire_entre_temps(monde):
    version = brouillon_rempli(monde)
    action = version.actions.get()
    ppa.retirer_action(acteur=qui(monde, "ide"), action=action)
    avant = etat()
    with pytest.raises(ValidationError, match="Cette action n'est plus dans le projet"):
        ppa.modifier_action(acteur=qui(monde, "aidant_avec_droits"), action=action, quoi="Aide")
    assert etat() == avant
