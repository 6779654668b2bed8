"""Le référent du projet personnalisé : désigné parmi les professionnels de la structure, il reçoit
le rappel des revues et donne, comme la direction de la structure (`Exercice.signe_les_projets`),
l'accord de la structure (ticket 7, points 3 et 5)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cercle.services import AccesRefuse
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from ppa import revues
from ppa import services as ppa
from ppa.models import AccordPPA, ProjetPersonnalise, StatutVersion, VersionPPA
from tests.factories import ExerciceFactory, StructureFactory, connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


def _soumis(monde) -> VersionPPA:
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    ppa.donner_accord(
        acteur=qui(monde, "usager"), version=version, partie="usager", empreinte_lue=version.empreinte
    )
    return version


def _accord_structure(monde, nom: str, version: VersionPPA) -> AccordPPA:
    return ppa.donner_accord(
        acteur=qui(monde, nom), version=version, partie="structure", empreinte_lue=version.empreinte
    )


def test_qui_ouvre_le_projet_dans_sa_structure_en_est_le_referent(monde):
    projet = projet_de(monde)
    assert projet.referent_id == qui(monde, "ide").exercice.pk
    # Ouvert par la fille aidante : pas de référent tant que la structure n'en désigne pas.
    autre = ppa.creer_projet(
        acteur=qui(monde, "aidant_avec_droits"), usager=monde.usager, structure=monde.ssiad,
        titre="Projet individuel", type="PI",
    )  # fmt: skip
    assert autre.referent_id is None


def test_une_collegue_sans_delegation_ne_donne_pas_l_accord_de_la_structure(monde):
    version = _soumis(monde)
    avant = (AccordPPA.objects.count(), Journal.objects.count())
    with pytest.raises(AccesRefuse, match="référent du projet ou par la direction"):
        _accord_structure(monde, "collegue_structure", version)
    assert (AccordPPA.objects.count(), Journal.objects.count()) == avant
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.EN_VALIDATION


def test_la_direction_de_la_structure_donne_l_accord(monde):
    version = _soumis(monde)
    direction = qui(monde, "collegue_structure").exercice
    direction.signe_les_projets = True
    direction.save(update_fields=["signe_les_projets"])
    _accord_structure(monde, "collegue_structure", version)
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.VALIDEE


def test_le_referent_designe_donne_l_accord_et_l_ancien_plus(monde):
    version = _soumis(monde)
    collegue = qui(monde, "collegue_structure").exercice
    projet = ppa.designer_referent(acteur=qui(monde, "ide"), projet=version.projet, exercice=collegue)
    assert ProjetPersonnalise.objects.get(pk=projet.pk).referent_id == collegue.pk
    assert Journal.objects.filter(action="ppa.projet.referent").count() == 1
    with pytest.raises(AccesRefuse):
        _accord_structure(monde, "ide", version)
    _accord_structure(monde, "collegue_structure", version)
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.VALIDEE


@pytest.mark.parametrize("nom", ["collegue_structure", "aidant_avec_droits", "usager", "medecin"])
def test_seuls_le_referent_ou_la_direction_designent(monde, nom):
    projet = projet_de(monde)
    avant = Journal.objects.count()
    with pytest.raises(AccesRefuse, match="référent en place ou par la direction"):
        ppa.designer_referent(acteur=qui(monde, nom), projet=projet, exercice=qui(monde, nom).exercice)
    assert ProjetPersonnalise.objects.get(pk=projet.pk).referent_id == qui(monde, "ide").exercice.pk
    assert Journal.objects.count() == avant


@pytest.mark.parametrize(
    "exercice",
    [
        pytest.param(lambda m: ExerciceFactory(structure=StructureFactory()), id="autre_structure"),
        pytest.param(
            lambda m: ExerciceFactory(
                structure=m.ssiad, date_fin=timezone.localdate() - dt.timedelta(days=1)
            ),
            id="parti_de_la_structure",
        ),
    ],
)
def test_le_referent_exerce_aujourd_hui_dans_la_structure(monde, exercice):
    projet = projet_de(monde)
    avant = Journal.objects.count()
    with pytest.raises(ValidationError, match="exercer aujourd'hui dans la structure"):
        ppa.designer_referent(acteur=qui(monde, "ide"), projet=projet, exercice=exercice(monde))
    assert ProjetPersonnalise.objects.get(pk=projet.pk).referent_id == qui(monde, "ide").exercice.pk
    assert Journal.objects.count() == avant


def test_le_rappel_de_revue_va_au_referent_designe(monde):
    version = _soumis(monde)
    _accord_structure(monde, "ide", version)
    collegue = qui(monde, "collegue_structure").exercice
    ppa.designer_referent(acteur=qui(monde, "ide"), projet=version.projet, exercice=collegue)
    assert revues.rappeler_revues(timezone.localdate() + dt.timedelta(days=340)) == 1
    rappel = version.projet.rappels_revue.get()
    assert rappel.destinataire == f"exercice:{collegue.uuid}" == qui(monde, "collegue_structure").cle


# --- La page des projets : désigner le référent ---------------------------------------------------


def _connecter(client, monde, nom: str):
    connecter(client, monde.acteurs[nom].compte)
    session = client.session
    session[SESSION_ACTEUR] = monde.acteurs[nom].cle
    session.save()
    return client


def test_la_page_des_projets_nomme_le_referent_et_le_laisse_changer(client, monde):
    projet = projet_de(monde)
    collegue = qui(monde, "collegue_structure").exercice
    _connecter(client, monde, "ide")
    page = client.get(reverse("ppa:projets", args=[monde.usager.uuid]))
    assert "Changer de référent" in page.content.decode() and str(
        qui(monde, "ide").exercice.professionnel
    ) in (page.content.decode())
    reponse = client.post(
        reverse("ppa:designer_referent", args=[monde.usager.uuid, projet.uuid]),
        {"referent": str(collegue.uuid)},
    )
    assert reponse.status_code == 302
    assert ProjetPersonnalise.objects.get(pk=projet.pk).referent_id == collegue.pk
    # La collègue, référente, voit le formulaire ; l'infirmière, plus référente ni direction, non.
    assert (
        "Changer de référent"
        not in client.get(reverse("ppa:projets", args=[monde.usager.uuid])).content.decode()
    )


def test_un_referent_hors_de_la_structure_est_refuse_en_francais(client, monde):
    projet = projet_de(monde)
    ailleurs = ExerciceFactory(structure=StructureFactory())
    _connecter(client, monde, "ide")
    avant = Journal.objects.exclude(action__contains="lecture").count()
    reponse = client.post(
        reverse("ppa:designer_referent", args=[monde.usager.uuid, projet.uuid]),
        {"referent": str(ailleurs.uuid)},
    )
    assert reponse.status_code == 400
    assert "Sélectionnez un choix valide" in reponse.content.decode()
    assert ProjetPersonnalise.objects.get(pk=projet.pk).referent_id == qui(monde, "ide").exercice.pk
    assert Journal.objects.exclude(action__contains="lecture").count() == avant


def test_la_page_des_projets_coute_autant_de_requetes_avec_le_formulaire_du_referent(client, monde):
    projet_de(monde)
    _connecter(client, monde, "ide")
    adresse = reverse("ppa:projets", args=[monde.usager.uuid])
    client.get(adresse)
    with CaptureQueriesContext(connection) as un:
        client.get(adresse)
    for type_, titre in (("PI", "Projet individuel"), ("PAI", "Au travail")):
        ppa.creer_projet(
            acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre=titre, type=type_
        )
    with CaptureQueriesContext(connection) as trois:
        page = client.get(adresse)
    assert page.content.decode().count("Changer de référent") == 3
    assert len(trois) == len(un)
