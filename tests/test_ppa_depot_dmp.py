"""Dépôt au DMP du projet validé, par la boîte d'envoi (ADR 0031) : un message par version validée,
dans la transaction de la validation ; celui d'un avenant remplace le dépôt précédent (ce qu'il
faut pour un remplacement ITI-65) ; identité non qualifiée → message refusé, raison écrite."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.personnes.identifiants import OID_INS_TEST
from coordination.personnes.models import Usager
from ppa import depot_dmp
from ppa import services as ppa
from ppa.models import StatutVersion, VersionPPA
from tests.factories import nir_valide
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


def qualifier(usager) -> None:
    Usager.objects.filter(pk=usager.pk).update(
        matricule_ins=nir_valide(77), oid_ins=OID_INS_TEST, statut_identite="QUAL", mode_recueil="INSI",
        date_interrogation_insi=datetime.date(2026, 11, 2),
    )  # fmt: skip


def avenant_valide(monde, version: VersionPPA) -> VersionPPA:
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=version)
    ppa.ecrire_paroles(acteur=qui(monde, "usager"), version=avenant, attentes="Rester chez moi avec le chat.")
    return valider(monde, avenant)


def test_valider_range_un_depot(monde):
    qualifier(monde.usager)
    version = valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    assert (message.destination, message.nature, message.statut) == (
        Destination.DMP, "ppa.depot_dmp", StatutMessage.A_ENVOYER,
    )  # fmt: skip
    assert message.cle_idempotence == f"ppa.depot_dmp:{version.uuid}"
    assert (message.usager_id, message.objet_type, message.objet_uuid) == (
        monde.usager.pk, "ppa.versionppa", version.uuid,
    )  # fmt: skip
    document = message.charge["document"]
    assert document["version"] == str(version.uuid) and document["empreinte"] == version.empreinte
    assert document["format"] == "application/pdf" and document["forme"] == "complete"
    assert document["identifiant"] == f"2.25.{version.uuid.int}"
    assert message.charge["remplace"] is None and message.precedent is None
    assert message.charge["structure"] == str(monde.ssiad.uuid)
    assert message.cree_par == monde.acteurs["ide"].cle  # le dernier accord, celui qui valide


def test_l_avenant_valide_remplace_le_premier_depot(monde):
    qualifier(monde.usager)
    premiere = valider(monde, brouillon_rempli(monde))
    avenant = avenant_valide(monde, premiere)
    assert avenant.statut == StatutVersion.VALIDEE
    premier, second = MessageSortant.objects.order_by("cree_le", "id")
    assert second.objet_uuid == avenant.uuid and second.statut == StatutMessage.A_ENVOYER
    assert second.charge["remplace"] == {
        "message": str(premier.uuid),
        "version": str(premiere.uuid),
        "identifiant": premier.charge["document"]["identifiant"],
    }
    assert second.precedent == premier  # le remplacement part après le dépôt qu'il remplace


def test_identite_non_qualifiee_depot_refuse_et_validation_faite(monde):
    version = valider(monde, brouillon_rempli(monde))  # Jeanne : identité provisoire
    assert version.statut == StatutVersion.VALIDEE
    message = MessageSortant.objects.get()
    assert message.statut == StatutMessage.REFUSE and message.prochain_essai_le is None
    assert "l'identité INS de Jeanne FICTIVE n'est pas qualifiée" in message.derniere_erreur


def test_un_depot_refuse_n_est_pas_remplace(monde):
    """Le premier dépôt a été refusé (identité provisoire) : rien au DMP, le dépôt de l'avenant,
    l'identité qualifiée entre-temps, est un premier dépôt."""
    premiere = valider(monde, brouillon_rempli(monde))
    qualifier(monde.usager)
    avenant_valide(monde, premiere)
    refuse, depot = MessageSortant.objects.order_by("cree_le", "id")
    assert refuse.statut == StatutMessage.REFUSE and depot.statut == StatutMessage.A_ENVOYER
    assert depot.charge["remplace"] is None and depot.precedent is None


def test_validation_annulee_aucun_depot(monde):
    qualifier(monde.usager)
    version = brouillon_rempli(monde)

    class Annuler(Exception):
        """Annule la transaction de la validation."""

    with pytest.raises(Annuler), transaction.atomic():
        valider(monde, version)
        assert MessageSortant.objects.count() == 1
        raise Annuler
    assert MessageSortant.objects.count() == 0
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.BROUILLON


def test_la_cle_est_celle_de_la_version(monde):
    """Ranger deux fois le dépôt d'une même version (reprise après erreur) ne fait qu'une ligne."""
    qualifier(monde.usager)
    version = valider(monde, brouillon_rempli(monde))
    with transaction.atomic():
        again = depot_dmp.mettre_en_file(acteur=qui(monde, "ide"), version=version)
    assert MessageSortant.objects.get() == again
