"""Dépôt au DMP du projet validé (ADR 0034) : le constructeur rebâtit le PDF de la version,
l'adaptateur le dépose en lot ITI-65 au DMP du bac à sable, par le vrai protocole HTTP FHIR.
L'envoi lui-même (bail, tentatives, lettres mortes) est celui du cœur (`envoi.py`) : ici, on
appelle directement `construire` et `envoyer`, puis on note l'envoi comme le ferait le cœur."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from django.db import transaction
from django.utils import timezone

from coordination.echanges import adaptateurs, dmp, natures
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant, StatutMessage
from coordination.journal.models import Evenement as EvenementJournal
from coordination.personnes.models import Usager
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, valider
from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401
from tests.test_ppa_depot_dmp import avenant_valide, qualifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


@pytest.fixture
def pair(pair_fhir_neuf):  # noqa: F811
    return pair_fhir_neuf


def envoyer(message: MessageSortant) -> str:
    """Ce que fait le cœur de l'envoi pour un message : rebâtir, remettre, noter l'envoi."""
    message.refresh_from_db()
    identifiant = adaptateurs.remettre(message, natures.construire(message))
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ENVOYE, envoye_le=timezone.now(), identifiant_distant=identifiant
    )
    return identifiant


def _sha1(octets: bytes) -> str:
    return base64.b64encode(hashlib.sha1(octets, usedforsecurity=False).digest()).decode()


def test_depot_accepte_et_range_avec_l_ins_et_l_empreinte(monde, pair):
    qualifier(monde.usager)
    version = valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    contenu = natures.construire(message)
    (document,) = contenu.documents
    assert document.octets.startswith(b"%PDF") and document.identifiant == f"2.25.{version.uuid.int}"
    assert document.code_type == ("http://loinc.org", "18776-5", "Plan de soins") and document.remplace == ""
    identifiant = dmp.envoyer(message, contenu)
    assert identifiant.startswith("DocumentReference/")
    usager = Usager.objects.get(pk=monde.usager.pk)
    depose = pair.recus()["documents"][f"urn:oid:2.25.{version.uuid.int}"]
    assert (depose["matricule"], depose["systeme_ins"]) == (usager.matricule_ins, f"urn:oid:{usager.oid_ins}")
    assert (depose["sha1"], depose["taille"]) == (_sha1(document.octets), len(document.octets))
    assert depose["statut"] == "current" and depose["type_mime"] == "application/pdf"
    assert depose["lot"] == message.cle_idempotence
    # La lecture de la version pour l'envoi est journalisée, au nom de l'envoi.
    assert EvenementJournal.objects.filter(acteur_nom="echanges.depot_dmp", objet_uuid=version.uuid).exists()


def test_le_remplacement_rend_l_ancien_document_remplace(monde, pair):
    qualifier(monde.usager)
    premiere = valider(monde, brouillon_rempli(monde))
    avenant = avenant_valide(monde, premiere)
    premier, second = MessageSortant.objects.order_by("cree_le", "id")
    envoyer(premier)
    assert natures.construire(second).documents[0].remplace == f"2.25.{premiere.uuid.int}"
    envoyer(second)
    documents = pair.recus()["documents"]
    assert documents[f"urn:oid:2.25.{premiere.uuid.int}"]["statut"] == "superseded"
    assert documents[f"urn:oid:2.25.{avenant.uuid.int}"]["statut"] == "current"


def test_remplacement_attend_le_depot_remplace_puis_part_seul_s_il_est_mort(monde, pair):
    """ADR 0034 : tant que le dépôt remplacé est en file, le remplacement attend ; en échec
    définitif, le remplacement part en premier dépôt ; le dépôt mort, renvoyé ensuite, est dépassé."""
    qualifier(monde.usager)
    premiere = valider(monde, brouillon_rempli(monde))
    avenant_valide(monde, premiere)
    premier, second = MessageSortant.objects.order_by("cree_le", "id")
    from ppa.depot_dmp import DepotEnAttente

    with pytest.raises(DepotEnAttente):
        natures.construire(second)
    MessageSortant.objects.filter(pk=premier.pk).update(
        statut=StatutMessage.ECHEC_DEFINITIF, prochain_essai_le=None, derniere_erreur="DMP en panne"
    )
    assert natures.construire(second).documents[0].remplace == ""
    envoyer(second)
    assert len(pair.recus()["documents"]) == 1
    MessageSortant.objects.filter(pk=premier.pk).update(
        statut=StatutMessage.A_ENVOYER, prochain_essai_le=timezone.now()
    )
    premier.refresh_from_db()
    with pytest.raises(Rejet, match="Dépôt dépassé"):
        natures.construire(premier)


def test_identite_non_qualifiee_ne_part_jamais(monde, pair):
    version = valider(monde, brouillon_rempli(monde))  # identité provisoire
    message = MessageSortant.objects.get()
    assert message.statut == StatutMessage.REFUSE and "n'est pas qualifiée" in message.derniere_erreur
    # Même appelé de force, l'adaptateur relit l'identité et refuse.
    with pytest.raises(Rejet, match="n'est pas qualifiée"):
        dmp.envoyer(message, natures.construire(message))
    assert pair.recus()["documents"] == {} and pair.receptions(f"ppa.depot_dmp:{version.uuid}") == 0


def test_identite_qui_perd_sa_qualification_rejet_a_l_envoi(monde, pair):
    qualifier(monde.usager)
    valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    assert message.statut == StatutMessage.A_ENVOYER
    contenu = natures.construire(message)
    Usager.objects.filter(pk=monde.usager.pk).update(statut_identite="VALI")
    with pytest.raises(Rejet, match="n.est pas qualifiée"):
        dmp.envoyer(message, contenu)
    assert pair.recus()["documents"] == {}


def test_lot_mal_forme_rejete_avec_la_raison_du_dmp(monde, pair):
    qualifier(monde.usager)
    valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    contenu = natures.construire(message)
    (document,) = contenu.documents
    sans_titre = dataclasses.replace(contenu, documents=(dataclasses.replace(document, titre=""),))
    with pytest.raises(
        Rejet, match=r"HTTP 400\) : Bundle invalide \(entry\.1\.resource\.content\.0\.attachment\.title"
    ):
        dmp.envoyer(message, sans_titre)
    remplace_inconnu = dataclasses.replace(
        contenu, documents=(dataclasses.replace(document, remplace="2.25.9"),)
    )
    with pytest.raises(
        Rejet, match=r"HTTP 422\) : .*le document remplacé \(urn:oid:2\.25\.9\) est introuvable"
    ):
        dmp.envoyer(message, remplace_inconnu)
    assert pair.recus()["documents"] == {}


def test_dmp_arrete_ou_en_panne_pair_indisponible(monde, pair):
    qualifier(monde.usager)
    valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    contenu = natures.construire(message)
    pair.regler("panne")
    with pytest.raises(PairIndisponible, match="HTTP 503"):
        dmp.envoyer(message, contenu)
    pair.regler("lent", 3.0)
    with pytest.raises(PairIndisponible, match="délai"):
        dmp.envoyer(message, contenu)
    pair.regler("coupure")
    with pytest.raises(PairIndisponible, match="injoignable"):
        dmp.envoyer(message, contenu)
    pair.arreter()
    with pytest.raises(PairIndisponible, match="injoignable"):
        dmp.envoyer(message, contenu)
    pair.redemarrer()
    pair.regler("normal")
    assert dmp.envoyer(message, contenu).startswith("DocumentReference/")


def test_renvoi_range_une_fois_et_le_pair_compte_deux_receptions(monde, pair):
    """Un worker tombé après l'envoi mais avant de le noter renvoie : le DMP ne range qu'une fois."""
    qualifier(monde.usager)
    valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    premier = dmp.envoyer(message, natures.construire(message))
    second = dmp.envoyer(message, natures.construire(message))
    assert premier == second
    assert len(pair.recus()["documents"]) == 1
    assert pair.receptions(message.cle_idempotence) == 2


def test_empreinte_changee_rien_ne_part(monde, pair):
    qualifier(monde.usager)
    valider(monde, brouillon_rempli(monde))
    message = MessageSortant.objects.get()
    with transaction.atomic():
        message.charge["document"]["empreinte"] = "0" * 64
        MessageSortant.objects.filter(pk=message.pk).update(charge=message.charge)
    with pytest.raises(Rejet, match="empreinte"):
        natures.construire(message)
    assert pair.recus()["documents"] == {}


def test_fiche_de_liaison_mdph_deposee_au_dmp(pair):
    """La fiche MDPH envoyée range aussi un dépôt au DMP (même nature, même constructeur que pour
    MSSanté) : il arrive chez le DMP avec le PDF de la fiche et l'INS de la personne."""
    from coordination.echanges.models import Destination
    from ppa.models import FicheLiaisonMDPH
    from tests.test_ppa_mdph import Scene

    scene = Scene()
    qualifier(scene.monde.usager)
    fiche = scene.envoyee()
    assert FicheLiaisonMDPH.objects.get(pk=fiche.pk).statut == "envoyee"
    message = MessageSortant.objects.get(objet_uuid=fiche.uuid, destination=Destination.DMP)
    assert message.statut == StatutMessage.A_ENVOYER
    contenu = natures.construire(message)
    (document,) = contenu.documents
    assert envoyer(message).startswith("DocumentReference/")
    depose = pair.recus()["documents"][f"urn:oid:{document.identifiant}"]
    assert depose["matricule"] == Usager.objects.get(pk=scene.monde.usager.pk).matricule_ins
    assert (depose["sha1"], depose["type_mime"]) == (_sha1(document.octets), "application/pdf")
