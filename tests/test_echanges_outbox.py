"""Boîte d'envoi : un message naît dans la transaction du changement qui le cause (annulée → aucun
message ; hors transaction → refus), une clé d'idempotence = un message, refus immédiat et
expliqué d'un message qui ferait sortir une INS non qualifiée (ADR 0031)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from coordination.comptes.acteur import acteur_systeme
from coordination.comptes.models import Compte
from coordination.echanges import services as echanges
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.journal.models import Evenement as Journal
from tests.factories import StructureFactory, UsagerFactory, connecter

pytestmark = pytest.mark.django_db

SYSTEME = acteur_systeme("tests de la boîte d'envoi")
BAL_MDPH = "accueil@mdph-fictive.mssante.fr"


class Annuler(Exception):
    """Levée pour annuler la transaction du changement."""


def en_file(usager, *, cle="test:1", destination=Destination.MSSANTE, destinataire=BAL_MDPH, **autres):
    return echanges.mettre_en_file(
        acteur=SYSTEME, destination=destination, destinataire=destinataire, nature="test.message",
        cle_idempotence=cle, usager=usager, charge={"document": "abc"}, **autres,
    )  # fmt: skip


def test_le_message_est_ecrit_avec_le_changement_et_annule_avec_lui():
    usager = UsagerFactory()
    with pytest.raises(Annuler), transaction.atomic():
        structure = StructureFactory(raison_sociale="Structure annulée")
        en_file(usager, objet=structure)
        assert MessageSortant.objects.count() == 1
        raise Annuler
    assert MessageSortant.objects.count() == 0
    assert not Journal.objects.filter(action__startswith="echanges.").exists()
    with transaction.atomic():
        message = en_file(usager)
    assert MessageSortant.objects.get() == message
    assert message.statut == StatutMessage.A_ENVOYER
    assert message.prochain_essai_le is not None and message.prochain_essai_le <= timezone.now()
    assert (message.tentatives, message.derniere_erreur, message.envoye_le) == (0, "", None)
    evenement = Journal.objects.get(action="echanges.message.en_file")
    assert evenement.usager_uuid == usager.uuid and evenement.details["message"] == str(message.uuid)


@pytest.mark.django_db(transaction=True)
def test_hors_transaction_rien_n_est_ecrit():
    usager = UsagerFactory()
    assert not connection.in_atomic_block
    with pytest.raises(echanges.TransactionRequise, match="dans la transaction"):
        en_file(usager)
    assert MessageSortant.objects.count() == 0


def test_meme_cle_meme_message():
    usager = UsagerFactory()
    premier = en_file(usager)
    second = en_file(usager)
    assert second.pk == premier.pk
    assert MessageSortant.objects.count() == 1
    assert Journal.objects.filter(action="echanges.message.en_file").count() == 1


def test_une_cle_reprise_pour_un_autre_message_est_une_erreur():
    usager = UsagerFactory()
    en_file(usager)
    with pytest.raises(ValueError, match="déjà prise"):
        en_file(usager, destinataire="autre@mdph-fictive.mssante.fr")
    assert MessageSortant.objects.count() == 1


def test_course_perdue_sur_la_cle_rend_le_message_gagnant_sans_casser_la_transaction():
    """Deux transactions rangent la même clé : la seconde bute sur la contrainte d'unicité (point de
    sauvegarde), rend le message de la première, et sa propre transaction continue."""
    usager = UsagerFactory()
    gagnant = en_file(usager)
    perdant = echanges._creer(
        acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL_MDPH, nature="test.message",
        cle_idempotence="test:1", charge={}, usager=usager, objet=None, precedent=None,
    )  # fmt: skip
    assert perdant.pk == gagnant.pk
    assert MessageSortant.objects.count() == 1  # la transaction reste utilisable


@pytest.mark.parametrize(
    ("destination", "destinataire"),
    [
        (Destination.DMP, "DMP de la personne"),
        (Destination.MES, "Mon espace santé"),
        (Destination.MSSANTE, "245072A00412345@patient.mssante.fr"),
    ],
    ids=["dmp", "mes", "mssante-patient"],
)
def test_identite_non_qualifiee_refusee_avec_la_raison(destination, destinataire):
    usager = UsagerFactory(nom_naissance="PROVISOIRE", prenoms_naissance="Lucie")
    message = en_file(usager, destination=destination, destinataire=destinataire)
    assert message.statut == StatutMessage.REFUSE
    assert message.prochain_essai_le is None
    assert "n'est pas qualifiée" in message.derniere_erreur
    assert "Lucie PROVISOIRE" in message.derniere_erreur and "provisoire" in message.derniere_erreur
    evenement = Journal.objects.get(action="echanges.message.refuse")
    assert evenement.resultat == "refuse" and evenement.details["raison"] == message.derniere_erreur
    # Idempotent aussi pour un refus : la même clé ne crée pas une seconde ligne.
    assert en_file(usager, destination=destination, destinataire=destinataire).pk == message.pk


def test_identite_qualifiee_part_et_bal_organisationnelle_sans_condition():
    qualifiee = UsagerFactory(qualifiee=True)
    provisoire = UsagerFactory()
    assert en_file(qualifiee, cle="a", destination=Destination.DMP, destinataire="DMP").statut == "a_envoyer"
    adresse = f"{qualifiee.matricule_ins}@patient.mssante.fr"
    assert en_file(qualifiee, cle="b", destinataire=adresse).statut == StatutMessage.A_ENVOYER
    # La BAL d'une MDPH ne fait pas sortir l'INS : pas de condition d'identité.
    assert en_file(provisoire, cle="c").statut == StatutMessage.A_ENVOYER


def test_adresse_patient_d_une_autre_personne_refusee():
    qualifiee = UsagerFactory(qualifiee=True)
    autre = UsagerFactory(qualifiee=True)
    message = en_file(qualifiee, destinataire=f"{autre.matricule_ins}@patient.mssante.fr")
    assert message.statut == StatutMessage.REFUSE
    assert "ne correspond pas au matricule INS" in message.derniere_erreur


def test_dmp_sans_personne_refuse():
    message = en_file(None, destination=Destination.DMP, destinataire="DMP")
    assert message.statut == StatutMessage.REFUSE and "désigner la personne" in message.derniere_erreur


def test_destination_inconnue():
    with pytest.raises(ValueError, match="Destination inconnue"):
        en_file(None, destination="pigeon")
    assert MessageSortant.objects.count() == 0


@pytest.mark.parametrize(
    "champs",
    [
        {"statut": "a_envoyer", "prochain_essai_le": None},
        {"statut": "envoye", "envoye_le": None},
        {"statut": "echec_definitif", "derniere_erreur": ""},
        {"statut": "refuse", "derniere_erreur": ""},
    ],
    ids=["a-envoyer-sans-echeance", "envoye-sans-date", "echec-sans-erreur", "refus-sans-raison"],
)
def test_la_base_refuse_un_etat_incoherent(champs):
    message = en_file(UsagerFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageSortant.objects.filter(pk=message.pk).update(**champs)


def test_le_balayage_lit_l_index_partiel():
    """La requête du balayage (« à envoyer, échéance passée, par échéance ») est servie par l'index
    partiel des messages en attente."""
    usager = UsagerFactory()
    for numero in range(5):
        en_file(usager, cle=f"test:{numero}")
    requete = MessageSortant.objects.filter(
        statut=StatutMessage.A_ENVOYER, prochain_essai_le__lte=timezone.now()
    ).order_by("prochain_essai_le")
    with connection.cursor() as curseur:
        curseur.execute("SET LOCAL enable_seqscan = off")
    plan = requete.explain()
    assert "echanges_a_envoyer_idx" in plan


def test_administration_en_lecture_seule(client):
    """La liste montre statut et raison ; la fiche d'un message se lit ; ni ajout, ni modification,
    ni suppression (le renvoi d'une lettre morte viendra avec l'envoi)."""
    connecter(client, Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234"))
    message = en_file(UsagerFactory(), destination=Destination.DMP, destinataire="DMP")
    liste = client.get(reverse("admin:echanges_messagesortant_changelist"))
    assert liste.status_code == 200
    assert (
        "refusé (jamais envoyé)" in liste.content.decode()
        and "n&#x27;est pas qualifiée" in liste.content.decode()
    )
    fiche = client.get(reverse("admin:echanges_messagesortant_change", args=[message.pk]))
    assert fiche.status_code == 200 and message.cle_idempotence in fiche.content.decode()
    assert client.get(reverse("admin:echanges_messagesortant_add")).status_code == 403
    suppression = client.post(
        reverse("admin:echanges_messagesortant_delete", args=[message.pk]), {"post": "yes"}
    )
    assert suppression.status_code == 403
    modification = client.post(
        reverse("admin:echanges_messagesortant_change", args=[message.pk]), {"statut": "envoye"}
    )
    assert modification.status_code == 403
    assert MessageSortant.objects.get(pk=message.pk).statut == StatutMessage.REFUSE
