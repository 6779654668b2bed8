"""Projet personnalisé : construction par chaque sorte d'acteur, double accord lié à l'empreinte du
contenu, version validée immuable (jusque dans la base), avenant qui en dérive (ADR 0028)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, connection, transaction

from cercle import habilitations
from cercle import services as cercle
from cercle.models import TypeMembre
from cercle.services import AccesRefuse
from coordination.journal.models import Evenement as Journal
from ppa import services as ppa
from ppa.models import AccordPPA, AvisUsager, Objectif, PartieAccord, StatutVersion, VersionPPA
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui, valider

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


ACTEURS = [
    "usager", "autre_usager", "ide", "collegue_structure", "medecin", "gestionnaire", "pro_sans_droit",
    "aidant_avec_droits", "aidant_sans_droit", "representant", "membre_sorti", "pro_hors_cercle",
]  # fmt: skip
ECRIVENT = {"usager", "ide", "collegue_structure", "aidant_avec_droits", "representant"}


@pytest.mark.parametrize("nom", ACTEURS)
def test_qui_construit_le_projet(monde, nom):
    """Écrire dans le projet : la personne, son représentant légal, qui elle l'a confié (le SSIAD et
    ses professionnels, sa fille) ; personne d'autre, et un refus n'écrit rien, pas même au journal."""
    version = projet_de(monde).versions.get()
    assert habilitations.peut(qui(monde, nom), monde.usager, "ecrire", "ppa") == (nom in ECRIVENT)
    avant = (Objectif.objects.count(), Journal.objects.filter(action__startswith="ppa.").count())
    if nom in ECRIVENT:
        ppa.ajouter_objectif(acteur=qui(monde, nom), version=version, titre="Sortir au marché")
        assert Objectif.objects.filter(version=version, titre="Sortir au marché").exists()
        return
    with pytest.raises(AccesRefuse):
        ppa.ajouter_objectif(acteur=qui(monde, nom), version=version, titre="Sortir au marché")
    assert (Objectif.objects.count(), Journal.objects.filter(action__startswith="ppa.").count()) == avant


def test_double_accord_valide_la_version_et_la_journalise(monde):
    version = valider(monde, brouillon_rempli(monde))
    assert version.statut == StatutVersion.VALIDEE and version.validee_le is not None
    assert set(version.accords.values_list("partie", "empreinte")) == {
        ("usager", version.empreinte),
        ("structure", version.empreinte),
    }
    accord_structure = version.accords.get(partie="structure")
    assert accord_structure.qualite == f"pour {monde.ssiad.raison_sociale}"
    actions = list(Journal.objects.filter(objet_uuid=version.uuid).values_list("action", flat=True))
    assert "ppa.version.soumission" in actions and "ppa.version.validation" in actions


def test_l_empreinte_suit_le_contenu_exact(monde):
    version = brouillon_rempli(monde)
    avant = ppa.empreinte(version)
    assert avant == ppa.empreinte(VersionPPA.objects.get(pk=version.pk))  # stable
    ppa.ecrire_paroles(
        acteur=qui(monde, "usager"), version=version, attentes="Rester chez moi, avec mon chat."
    )
    assert ppa.empreinte(VersionPPA.objects.get(pk=version.pk)) != avant


@pytest.mark.parametrize(
    ("nom", "partie"),
    [
        ("aidant_avec_droits", "usager"),  # une aidante n'est pas représentante légale
        ("ide", "usager"),
        ("medecin", "structure"),  # n'exerce pas au SSIAD
        ("pro_hors_cercle", "structure"),
        ("usager", "structure"),
    ],
)
def test_accord_refuse_a_qui_ne_peut_le_donner(monde, nom, partie):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    with pytest.raises(AccesRefuse):
        ppa.donner_accord(
            acteur=qui(monde, nom), version=version, partie=partie, empreinte_lue=version.empreinte
        )
    assert not AccordPPA.objects.exists()


def test_le_representant_legal_donne_l_accord_de_la_personne(monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    accord = ppa.donner_accord(
        acteur=qui(monde, "representant"), version=version, partie="usager", empreinte_lue=version.empreinte
    )
    assert accord.qualite == "son représentant légal"


def test_accord_sur_un_contenu_perime_refuse(monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    with pytest.raises(ValidationError, match="a changé depuis que vous l'avez lu"):
        ppa.donner_accord(
            acteur=qui(monde, "usager"), version=version, partie="usager", empreinte_lue="0" * 64
        )
    assert not AccordPPA.objects.exists()


def test_version_soumise_ou_validee_figee_par_les_services(monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    with pytest.raises(ValidationError, match="créez un avenant"):
        ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=version, titre="Autre")
    objectif = version.objectifs.get()
    with pytest.raises(ValidationError, match="créez un avenant"):
        ppa.donner_avis(acteur=qui(monde, "usager"), objectif=objectif, avis=AvisUsager.PAS_D_ACCORD)


def _refuse_par_la_base(sql: str, parametres: list) -> None:
    with pytest.raises((InternalError, IntegrityError), match="projet personnalisé"), transaction.atomic():
        with connection.cursor() as curseur:
            curseur.execute(sql, parametres)


def test_version_validee_immuable_dans_la_base(monde):
    """Même en SQL direct (hors des services) : ni le contenu d'une version validée, ni ses
    objectifs, besoins, actions ou accords ne changent ; elle ne s'efface pas."""
    version = valider(monde, brouillon_rempli(monde))
    objectif = version.objectifs.get()
    _refuse_par_la_base("UPDATE ppa_versionppa SET attentes = 'autre' WHERE id = %s", [version.pk])
    _refuse_par_la_base("UPDATE ppa_versionppa SET statut = 'brouillon' WHERE id = %s", [version.pk])
    _refuse_par_la_base("DELETE FROM ppa_versionppa WHERE id = %s", [version.pk])
    _refuse_par_la_base("UPDATE ppa_objectif SET titre = 'autre' WHERE id = %s", [objectif.pk])
    _refuse_par_la_base("DELETE FROM ppa_action WHERE version_id = %s", [version.pk])
    _refuse_par_la_base("DELETE FROM ppa_objectif_besoins WHERE objectif_id = %s", [objectif.pk])
    _refuse_par_la_base(
        "INSERT INTO ppa_besoin (uuid, cree_le, modifie_le, ordre, version_id, code_serafin, libelle, "
        "precision) VALUES (gen_random_uuid(), now(), now(), 9, %s, '', 'ajouté en douce', '')",
        [version.pk],
    )
    _refuse_par_la_base("UPDATE ppa_accordppa SET qualite = 'autre' WHERE version_id = %s", [version.pk])
    _refuse_par_la_base("DELETE FROM ppa_accordppa WHERE version_id = %s", [version.pk])
    relue = VersionPPA.objects.get(pk=version.pk)
    assert (relue.attentes, relue.statut, relue.empreinte) == (
        "Rester chez moi.",
        "validee",
        version.empreinte,
    )
    assert ppa.empreinte(relue) == version.empreinte


def test_avenant_copie_le_contenu_et_remplace_la_version_validee(monde):
    validee = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    assert (avenant.numero, avenant.statut, avenant.derive_de_id) == (2, StatutVersion.BROUILLON, validee.pk)
    # Même contenu, objets distincts (liens recopiés vers les copies).
    assert ppa.contenu(avenant) == ppa.contenu(validee)
    copie = avenant.objectifs.get()
    assert copie.pk != validee.objectifs.get().pk
    assert copie.origine == validee.objectifs.get().origine  # le même objectif, d'une version à l'autre
    assert avenant.actions.get().origine == validee.actions.get().origine
    assert list(copie.besoins.all()) == list(avenant.besoins.all())
    assert copie.actions.get().frequence == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    with pytest.raises(ValidationError, match="déjà en cours"):
        ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    # La personne change d'avis ; l'avenant est validé à son tour, l'ancienne version est remplacée.
    ppa.donner_avis(
        acteur=qui(monde, "usager"), objectif=copie, avis=AvisUsager.PAS_D_ACCORD, commentaire="Trop tôt"
    )
    avenant = valider(monde, VersionPPA.objects.get(pk=avenant.pk))
    assert avenant.statut == StatutVersion.VALIDEE
    assert VersionPPA.objects.get(pk=validee.pk).statut == StatutVersion.REMPLACEE
    assert avenant.empreinte != validee.empreinte
    _refuse_par_la_base("UPDATE ppa_versionppa SET statut = 'validee' WHERE id = %s", [validee.pk])


def test_entrees_invalides_en_francais_sans_rien_ecrire(monde):
    version = projet_de(monde).versions.get()
    with pytest.raises(ValidationError, match="titre"):
        ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=version, titre="  ")
    with pytest.raises(ValidationError, match="sans objectif"):
        ppa.soumettre(acteur=qui(monde, "ide"), version=version)
    with pytest.raises(ValidationError, match="déjà un projet"):
        projet_de(monde)
    objectif = ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=version, titre="Sortir")
    ailleurs = cercle.ajouter_membre(
        acteur=monde["systeme"], usager=monde.autre_usager, type=TypeMembre.STRUCTURE, structure=monde.ssiad
    )
    with pytest.raises(ValidationError, match="cercle"):
        ppa.ajouter_action(
            acteur=qui(monde, "ide"), objectif=objectif, quoi="Accompagner", intervenant=ailleurs
        )
    with pytest.raises(AccesRefuse):
        ppa.donner_avis(acteur=qui(monde, "ide"), objectif=objectif, avis=AvisUsager.D_ACCORD)
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.BROUILLON
    assert version.objectifs.count() == 1 and not version.actions.exists()
    assert PartieAccord.values == ["usager", "structure"]


def test_deux_contributions_simultanees_sur_une_partie_ne_s_ecrasent_pas(monde):
    """Contrôle optimiste par partie : la fille et l'infirmière ont lu les attentes (révision 0) ;
    la première enregistre, la seconde reçoit un conflit clair et rien d'elle n'est écrit ; une
    autre partie (les besoins) reste libre."""
    version = projet_de(monde).versions.get()
    lue = version.revisions.get("paroles", 0)
    ppa.ecrire_paroles(acteur=qui(monde, "aidant_avec_droits"), version=version, attentes="Rester chez moi.",
                       revision_lue=lue)  # fmt: skip
    with pytest.raises(ppa.ConflitDePartie, match="pendant que vous écriviez") as conflit:
        ppa.ecrire_paroles(
            acteur=qui(monde, "ide"), version=version, attentes="Autre chose.", revision_lue=lue
        )
    assert conflit.value.partie == "paroles"
    relue = VersionPPA.objects.get(pk=version.pk)
    assert (relue.attentes, relue.revisions["paroles"]) == ("Rester chez moi.", 1)
    besoin = ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=version, libelle="Se lever", revision_lue=0)
    assert besoin.ajoute_par == qui(monde, "ide").nom  # qui a contribué quoi se voit


def test_fil_de_commentaires_par_partie(monde):
    version = brouillon_rempli(monde)
    ppa.commenter(acteur=qui(monde, "aidant_avec_droits"), version=version, partie="objectifs",
                  texte="Maman préfère le matin.")  # fmt: skip
    ppa.commenter(acteur=qui(monde, "ide"), version=version, partie="objectifs", texte="C'est noté.")
    fil = list(version.commentaires.filter(partie="objectifs").values_list("auteur_nom", "texte"))
    assert fil == [("Sophie FICTIVE", "Maman préfère le matin."), (qui(monde, "ide").nom, "C'est noté.")]
    with pytest.raises(AccesRefuse):
        ppa.commenter(
            acteur=qui(monde, "pro_hors_cercle"), version=version, partie="objectifs", texte="Bonjour"
        )
    with pytest.raises(ValidationError, match="Écrivez"):
        ppa.commenter(acteur=qui(monde, "ide"), version=version, partie="objectifs", texte="  ")
    validee = valider(monde, version)
    with pytest.raises(ValidationError, match="avenant"):
        ppa.commenter(acteur=qui(monde, "ide"), version=validee, partie="objectifs", texte="Trop tard ?")
    assert version.commentaires.count() == 2


def test_accord_refuse_sans_acteur(monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    for partie in ("usager", "structure"):
        with pytest.raises(AccesRefuse):
            ppa.donner_accord(acteur=None, version=version, partie=partie, empreinte_lue=version.empreinte)
    assert not AccordPPA.objects.exists()
