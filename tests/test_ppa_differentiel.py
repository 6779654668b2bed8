"""Projet personnalisé : lectures habilitées et journalisées, version complète en requêtes
constantes, différentiel entre une version validée et son avenant (ADR 0028, « Différentiel »)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.models import Evenement as Journal
from coordination.personnes.models import Structure
from ppa import selectors
from ppa import services as ppa
from ppa.differentiel import Changement, comparer
from ppa.models import Action, Besoin, Objectif, VersionPPA
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui, valider

pytestmark = pytest.mark.django_db

REQUETES_MAX = 8


@pytest.fixture
def monde():
    return construire_monde_ppa()


def _acteur(monde, nom):
    if nom == "anonyme":
        return None
    if nom == "dui_ssiad":  # le logiciel (DUI) du SSIAD, qui a `ppa` en écriture chez Jeanne
        return Acteur(TypeActeur.LOGICIEL, structure_logiciel=monde.ssiad, nom_systeme="DUI fictif")
    return qui(monde, nom)


def _lectures() -> int:
    return Journal.objects.filter(action__in=[selectors.LECTURE_VERSION, selectors.LECTURE_PROJETS]).count()


# --- Qui lit -------------------------------------------------------------------------------------

ACTEURS = [
    "anonyme", "usager", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "gestionnaire", "pro_sans_droit", "aidant_avec_droits", "aidant_sans_droit",
    "representant", "membre_sorti", "pro_hors_cercle", "dui_ssiad", "systeme",
]  # fmt: skip
LISENT = {
    "usager", "ide", "collegue_structure", "medecin", "aidant_avec_droits", "representant", "dui_ssiad",
    "systeme",
}  # fmt: skip


@pytest.mark.parametrize("nom", ACTEURS)
def test_qui_lit_le_projet(monde, nom):
    """Lire le projet : `ppa` en lecture. Une version illisible n'existe pas pour l'acteur (None, 404),
    les projets d'une personne connue se refusent (AccesRefuse) ; un refus n'écrit rien au journal,
    une lecture y est notée, au nom de l'acteur."""
    version = brouillon_rempli(monde)
    acteur = _acteur(monde, nom)
    avant = _lectures()
    lue = selectors.version_lisible(acteur, version.uuid)
    complete = selectors.version_complete(_acteur(monde, nom), version.uuid)
    if nom in LISENT:
        assert lue == version and complete.version == version
        assert [o.titre for o in complete.objectifs] == ["Faire sa toilette seule"]
        projets = selectors.projets_lisibles(_acteur(monde, nom), monde.usager)
        assert [[v.numero for v in p.versions_lues] for p in projets] == [[1]]
        lectures = Journal.objects.filter(action=selectors.LECTURE_VERSION, objet_uuid=version.uuid)
        assert lectures.count() == 2 and _lectures() == avant + 3
        assert lectures.first().usager_uuid == monde.usager.uuid
        return
    assert lue is None and complete is None
    with pytest.raises(AccesRefuse):
        selectors.projets_lisibles(_acteur(monde, nom), monde.usager)
    assert _lectures() == avant


def test_version_inconnue_ou_uuid_mal_forme(monde):
    brouillon_rempli(monde)
    assert selectors.version_lisible(qui(monde, "ide"), uuid.uuid4()) is None
    assert selectors.version_complete(qui(monde, "ide"), "pas-un-uuid") is None
    assert _lectures() == 0


# --- Version complète : requêtes constantes --------------------------------------------------------


def _remplir(version: VersionPPA, monde, objectifs: int) -> None:
    """`objectifs` objectifs d'une action chacun, tous liés au premier besoin (insertion en bloc,
    la version étant un brouillon)."""
    besoin = Besoin.objects.create(version=version, libelle="Se déplacer", ordre=0)
    crees = Objectif.objects.bulk_create(
        [Objectif(version=version, titre=f"Objectif {n}", ordre=n) for n in range(objectifs)]
    )
    Objectif.besoins.through.objects.bulk_create(
        [Objectif.besoins.through(objectif_id=o.pk, besoin_id=besoin.pk) for o in crees]
    )
    Action.objects.bulk_create(
        [
            Action(
                version=version, objectif=o, quoi=f"Action {n}", ordre=n, frequence="FREQ=WEEKLY",
                intervenant=monde.membres["ide"] if n % 2 else None,
                intervenant_libelle="" if n % 2 else "Voisin",
            )
            for n, o in enumerate(crees)
        ]
    )  # fmt: skip


def _requetes_version_complete(monde, version) -> tuple[int, object]:
    acteur = qui(monde, "ide")
    with CaptureQueriesContext(connection) as requetes:
        complete = selectors.version_complete(acteur, version.uuid)
        # Tout ce qu'affiche la page est déjà là : noms des intervenants, besoins, objectifs.
        affiche = [
            (a.objectif.titre, a.intervenant.uuid, a.intervenant.nom_affiche)
            for a in complete.actions
            if a.intervenant
        ]
        affiche += [[b.libelle for b in o.besoins_vises] for o in complete.objectifs]
        affiche += [str(complete.version.projet.usager), complete.version.projet.structure.raison_sociale]
    assert affiche
    # Sans les SAVEPOINT / RELEASE de la transaction du test (en production, l'écriture au journal
    # est la transaction la plus externe : ni l'un ni l'autre).
    sql = [q["sql"] for q in requetes.captured_queries if "SAVEPOINT" not in q["sql"]]
    return len(sql), complete


def test_version_complete_en_requetes_constantes(monde):
    petite = projet_de(monde).versions.get()
    _remplir(petite, monde, 1)
    autre_structure = Structure.objects.exclude(pk=monde.ssiad.pk).first() or monde.ssiad
    grande_projet = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=autre_structure, titre="Autre", type="PAI"
    )
    grande = grande_projet.versions.get()
    _remplir(grande, monde, 30)

    requetes_petite, complete_petite = _requetes_version_complete(monde, petite)
    requetes_grande, complete_grande = _requetes_version_complete(monde, grande)

    # Version, habilitation, besoins, objectifs, actions ; journal : tête de chaîne et INSERT.
    assert requetes_petite == requetes_grande == 7 <= REQUETES_MAX
    assert (len(complete_petite.objectifs), len(complete_grande.objectifs)) == (1, 30)
    assert len(complete_grande.actions) == 30
    assert all([b.libelle for b in o.besoins_vises] == ["Se déplacer"] for o in complete_grande.objectifs)
    assert complete_grande.actions[1].intervenant.nom_affiche == monde.membres["ide"].nom_affiche
    assert complete_grande.actions[0].intervenant_libelle == "Voisin"


# --- Différentiel --------------------------------------------------------------------------------


@pytest.fixture
def validee_et_avenant(monde):
    """Version 1 validée : toilette (action trois fois par semaine), marché (action), amis ; puis un
    avenant en brouillon où la toilette change de résultat attendu, le marché est retiré, la cuisine
    est ajoutée et l'aide à la toilette passe à deux fois par semaine."""
    version = brouillon_rempli(monde)
    ide = qui(monde, "ide")
    marche = ppa.ajouter_objectif(acteur=ide, version=version, titre="Aller au marché")
    ppa.ajouter_action(acteur=ide, objectif=marche, quoi="Accompagnement au marché", frequence="FREQ=WEEKLY")
    ppa.ajouter_objectif(acteur=ide, version=version, titre="Garder le lien avec ses amies")
    validee = valider(monde, version)

    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    # Pas encore de service de modification ni de retrait dans un brouillon : écrits en base, ce que
    # les déclencheurs permettent tant que l'avenant est un brouillon.
    Objectif.objects.filter(version=avenant, titre="Faire sa toilette seule").update(
        resultat_attendu="Douche sans aide cinq jours sur sept"
    )
    Objectif.objects.filter(version=avenant, titre="Aller au marché").delete()
    Action.objects.filter(version=avenant, quoi="Aide à la toilette").update(
        frequence="FREQ=WEEKLY;BYDAY=TU,TH"
    )
    ppa.ajouter_objectif(acteur=ide, version=avenant, titre="Cuisiner un repas par semaine")
    return validee, avenant


def test_differentiel_exact_entre_la_version_validee_et_son_avenant(monde, validee_et_avenant):
    validee, avenant = validee_et_avenant
    avant = selectors.version_complete(qui(monde, "usager"), validee.uuid)
    apres = selectors.version_complete(qui(monde, "usager"), avenant.uuid)

    with CaptureQueriesContext(connection) as requetes:
        diff = comparer(avant, apres)
    assert len(requetes) == 0  # fonction pure

    assert not diff.vide and diff.version == () and diff.besoins.vide
    assert [o.titre for o in diff.objectifs.ajoutes] == ["Cuisiner un repas par semaine"]
    assert [o.titre for o in diff.objectifs.retires] == ["Aller au marché"]
    [toilette] = diff.objectifs.modifies
    assert toilette.apres.titre == "Faire sa toilette seule" and toilette.avant.version_id == validee.pk
    assert toilette.changements == (
        Changement(
            "resultat_attendu",
            "Douche sans aide trois jours sur sept",
            "Douche sans aide cinq jours sur sept",
        ),
    )
    assert diff.actions.ajoutes == []
    assert [a.quoi for a in diff.actions.retires] == ["Accompagnement au marché"]
    [aide] = diff.actions.modifies
    assert aide.changements == (
        Changement("frequence", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=TU,TH"),
    )
    # Sens inverse : ajouts et retraits s'échangent.
    inverse = comparer(apres, avant)
    assert [o.titre for o in inverse.objectifs.ajoutes] == ["Aller au marché"]
    assert [o.titre for o in inverse.objectifs.retires] == ["Cuisiner un repas par semaine"]


def test_differentiel_des_paroles_de_la_periode_des_besoins_et_des_liens(monde, validee_et_avenant):
    validee, avenant = validee_et_avenant
    ppa.ecrire_paroles(acteur=qui(monde, "usager"), version=avenant, attentes="Rester chez moi, avec Minou.")
    VersionPPA.objects.filter(pk=avenant.pk).update(fin="2027-12-31")
    Besoin.objects.filter(version=avenant).update(libelle="Se laver seule")
    cuisine = Objectif.objects.get(version=avenant, titre="Cuisiner un repas par semaine")
    Action.objects.filter(version=avenant, quoi="Aide à la toilette").update(
        objectif=cuisine, intervenant=None, intervenant_libelle="Voisine"
    )
    ide = monde.membres["ide"]

    diff = selectors.differentiel_lisible(qui(monde, "ide"), validee.uuid, avenant.uuid)

    assert diff.version == (
        Changement("attentes", "Rester chez moi.", "Rester chez moi, avec Minou."),
        Changement("fin", None, datetime.date(2027, 12, 31)),
    )
    [besoin] = diff.besoins.modifies
    assert besoin.changements == (Changement("libelle", "Se laver", "Se laver seule"),)
    # L'objectif lié au besoin renommé ne change pas : le lien se compare par l'origine du besoin.
    assert [m.apres.titre for m in diff.objectifs.modifies] == ["Faire sa toilette seule"]
    [aide] = diff.actions.modifies
    assert aide.champs == ["objectif", "intervenant", "frequence"]
    assert aide.changements[0] == Changement(
        "objectif", "Faire sa toilette seule", "Cuisiner un repas par semaine"
    )
    assert aide.changements[1] == Changement("intervenant", ide.nom_affiche, "Voisine")


def test_versions_identiques_differentiel_vide(monde):
    validee = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    diff = selectors.differentiel_lisible(qui(monde, "aidant_avec_droits"), validee.uuid, avenant.uuid)
    assert diff.vide
    assert diff.version == () and diff.objectifs.modifies == diff.actions.modifies == []
    complete = selectors.version_complete(qui(monde, "ide"), validee.uuid)
    assert comparer(complete, complete).vide


def test_versions_de_deux_projets_refusees(monde):
    premiere = brouillon_rempli(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    ).versions.get()
    with pytest.raises(ValidationError, match="projets personnalisés différents"):
        selectors.differentiel_lisible(qui(monde, "ide"), premiere.uuid, autre.uuid)


@pytest.mark.parametrize("nom", ["autre_usager", "pro_hors_cercle", "aidant_sans_droit", "anonyme"])
def test_differentiel_refuse_sans_droit_de_lecture(monde, validee_et_avenant, nom):
    validee, avenant = validee_et_avenant
    avant = _lectures()
    assert selectors.differentiel_lisible(_acteur(monde, nom), validee.uuid, avenant.uuid) is None
    assert _lectures() == avant


def _sans_points_de_sauvegarde(requetes) -> int:
    return sum("SAVEPOINT" not in q["sql"] for q in requetes.captured_queries)


def test_projets_lisibles_en_requetes_constantes(monde):
    projet_de(monde)
    with CaptureQueriesContext(connection) as requetes:
        assert len(selectors.projets_lisibles(qui(monde, "ide"), monde.usager)) == 1
    un = _sans_points_de_sauvegarde(requetes)
    for type_projet in ("PAI", "PP", "PI"):
        projet = ppa.creer_projet(
            acteur=qui(monde, "ide"),
            usager=monde.usager,
            structure=monde.ssiad,
            titre="Autre",
            type=type_projet,
        )
        ppa.ecrire_paroles(acteur=qui(monde, "ide"), version=projet.versions.get(), attentes="Partir en mer.")
    with CaptureQueriesContext(connection) as requetes:
        projets = selectors.projets_lisibles(qui(monde, "ide"), monde.usager)
        assert [len(p.versions_lues) for p in projets] == [1, 1, 1, 1]
    # Habilitation, projets, versions ; journal : tête de chaîne et INSERT.
    assert un == _sans_points_de_sauvegarde(requetes) == 5


def test_differentiel_lisible_deux_ouvertures_droits_lus_une_fois(monde, validee_et_avenant):
    validee, avenant = validee_et_avenant
    with CaptureQueriesContext(connection) as requetes:
        selectors.differentiel_lisible(qui(monde, "ide"), validee.uuid, avenant.uuid)
    assert _sans_points_de_sauvegarde(requetes) == 2 * 7 - 1
