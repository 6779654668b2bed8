"""Page « Partage avec Mon espace santé » de l'agenda d'une personne (ADR 0034, ADR 0008) :
matrice route × acteur (anonyme → connexion ; inconnu → 404 ; sans lecture de l'agenda → 403 ;
lecteur → la page ; accord et retrait : la personne et son représentant légal seulement, 403 pour
les autres, journalisé) ; un refus n'écrit rien ; saisie incomplète ou identité non qualifiée :
message en français, rien d'écrit ; le jeton n'est jamais montré."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.db import transaction
from django.urls import reverse

from agenda import mes
from agenda.models import AppairageMES
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.echanges.models import MessageSortant
from coordination.journal.models import Evenement as Journal
from coordination.personnes.identifiants import OID_INS_TEST
from coordination.personnes.models import Usager
from tests.factories import connecter, nir_valide
from tests.monde_agenda import NIVEAU_AGENDA, construire_monde_agenda, qui
from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401

pytestmark = pytest.mark.django_db

ACTEURS = ["anonyme", *(nom for nom in NIVEAU_AGENDA if nom not in {"dui_ssiad", "systeme"})]
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
TITULAIRES = {"usager", "representant"}
REFUS = "cercle.acces_refuse"


@pytest.fixture
def pair(pair_fhir_neuf):  # noqa: F811
    return pair_fhir_neuf


def qualifier(usager) -> None:
    Usager.objects.filter(pk=usager.pk).update(
        matricule_ins=nir_valide(91), oid_ins=OID_INS_TEST, statut_identite="QUAL", mode_recueil="INSI",
        date_interrogation_insi=datetime.date(2026, 11, 2),
    )  # fmt: skip
    usager.refresh_from_db()


def lecteur(decision):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 302
        if nom in INCONNUS:
            return 404
        return 403 if NIVEAU_AGENDA.get(nom, 0) < 1 else decision(nom)

    return statut


def titulaire(succes: int):
    return lambda nom: succes if nom in TITULAIRES else 403


# route : (méthode, accord déjà donné ?, statut attendu par acteur, données POST)
ROUTES = {
    "page_sans_accord": ("get", False, lecteur(lambda nom: 200), None),
    "page_avec_accord": ("get", True, lecteur(lambda nom: 200), None),
    "accord": ("post", False, lecteur(titulaire(302)), {"accord": "on"}),
    "retrait": ("post", True, lecteur(titulaire(302)), {"action": "retrait"}),
}


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 16 and len(ROUTES) * len(ACTEURS) == 64


def etat() -> tuple:
    return (
        tuple(AppairageMES.objects.order_by("id").values_list("id", "retire_le", "jeton_chiffre")),
        MessageSortant.objects.count(),
        Journal.objects.exclude(action__contains="lecture").exclude(action=REFUS).count(),
    )


def _connecter(client, monde, acteur: str) -> None:
    client.logout()
    if acteur != "anonyme":
        connecter(client, monde.acteurs[acteur].compte)
        session = client.session
        session[SESSION_ACTEUR] = monde.acteurs[acteur].cle
        session.save()


def verifier_cas(client, monde, route: str, acteur: str) -> None:
    methode, _, decision, donnees = ROUTES[route]
    statut, cas = decision(acteur), (route, acteur)
    _connecter(client, monde, acteur)
    avant = etat()
    refus_avant = set(Journal.objects.filter(action=REFUS).values_list("id", flat=True))
    adresse = reverse("agenda:mon_espace_sante", args=[monde.usager.uuid])
    reponse = client.get(adresse) if methode == "get" else client.post(adresse, donnees)
    assert reponse.status_code == statut, (cas, reponse.content[:2000])
    refus = Journal.objects.filter(action=REFUS).exclude(id__in=refus_avant)
    if statut == 403:
        assert refus.get().details["route"] == "agenda:mon_espace_sante", cas
    else:
        assert not refus.exists(), cas
    if statut == 302 and acteur == "anonyme":
        assert reponse["Location"].startswith(reverse("account_login")), cas
    if methode == "post" and statut == 302 and acteur != "anonyme":
        assert etat() != avant, cas
    else:
        assert etat() == avant, cas


class Annuler(Exception):
    """Annule la transaction d'un cas (chaque cas repart du même état)."""


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_partage_mon_espace_sante(client, pair, route):
    monde = construire_monde_agenda()
    qualifier(monde.usager)
    if ROUTES[route][1]:
        mes.donner_accord(acteur=qui(monde, "usager"), usager=monde.usager)
    for acteur in ACTEURS:
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, monde, route, acteur)
                raise Annuler


def test_accord_puis_retrait_par_le_representant(client, pair):
    monde = construire_monde_agenda()
    qualifier(monde.usager)
    _connecter(client, monde, "representant")
    adresse = reverse("agenda:mon_espace_sante", args=[monde.usager.uuid])
    reponse = client.post(adresse, {"accord": "on"}, follow=True)
    assert "Accord enregistré" in reponse.content.decode()
    appairage = AppairageMES.objects.get()
    page = client.get(adresse).content.decode()
    assert "Partage en cours" in page and "son représentant légal" in page
    assert mes.jeton(appairage) not in page and appairage.jeton_chiffre not in page
    reponse = client.post(adresse, {"action": "retrait"}, follow=True)
    assert "Accord retiré" in reponse.content.decode()
    assert AppairageMES.objects.get().retire_le is not None
    reponse = client.post(adresse, {"action": "retrait"}, follow=True)
    assert "Aucun accord en cours" in reponse.content.decode()


def test_case_non_cochee_ou_identite_non_qualifiee_message_et_rien_d_ecrit(client, pair):
    monde = construire_monde_agenda()
    _connecter(client, monde, "usager")
    adresse = reverse("agenda:mon_espace_sante", args=[monde.usager.uuid])
    avant = etat()
    reponse = client.post(adresse, {"accord": "on"})
    assert (
        reponse.status_code == 400 and "identité doit d&#x27;abord être qualifiée" in reponse.content.decode()
    )
    qualifier(monde.usager)
    reponse = client.post(adresse, {})
    assert reponse.status_code == 400 and "Cochez la case" in reponse.content.decode()
    assert etat() == avant


def test_mes_injoignable_message_et_rien_d_ecrit(client, pair):
    monde = construire_monde_agenda()
    qualifier(monde.usager)
    _connecter(client, monde, "usager")
    avant = etat()
    pair.arreter()
    reponse = client.post(reverse("agenda:mon_espace_sante", args=[monde.usager.uuid]), {"accord": "on"})
    assert reponse.status_code == 400 and "injoignable" in reponse.content.decode()
    assert etat() == avant
