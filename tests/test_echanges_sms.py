"""Adaptateur SMS (coordination/echanges/sms.py) contre le fournisseur du bac à sable (sandbox/sms.py),
vrai processus HTTP : numéros normalisés en E.164, refus (numéro, texte), clé d'idempotence
transmise et dédoublonnée par le fournisseur, erreurs du fournisseur en `Rejet` ou `PairIndisponible`."""

from __future__ import annotations

import pytest
import requests
from django.db import transaction

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges import adaptateurs
from coordination.echanges.contenus import Contenu
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.services import mettre_en_file
from coordination.echanges.sms import NumeroInvalide, normaliser
from tests.pair_sms import fixture_fournisseur_sms, fixture_sms  # noqa: F401

pytestmark = pytest.mark.django_db

TEXTE = "Nouvelle transmission dans le portail de coordination : https://portail.example/n/1"


def message(numero="06 12 34 56 78", cle="notifications.sms:1"):
    with transaction.atomic():
        return mettre_en_file(
            acteur=acteur_systeme("tests SMS"), destination="sms", destinataire=numero,
            nature="notifications.sms", cle_idempotence=cle,
        )  # fmt: skip


def contenu(texte=TEXTE, **donnees):
    return Contenu(sujet="", texte=texte, donnees=donnees)


# --- Normalisation des numéros ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("saisi", "attendu"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("0692 12 34 56", "+262692123456"),  # mobile réunionnais composé sans indicatif
        ("0690 12 34 56", "+590690123456"),  # mobile guadeloupéen
        ("+32 470 12 34 56", "+32470123456"),  # mobile belge avec son indicatif
    ],
    ids=["espaces", "points", "international", "00", "07", "reunion", "guadeloupe", "belgique"],
)
def test_numeros_normalises_en_e164(saisi, attendu):
    assert normaliser(saisi) == attendu


@pytest.mark.parametrize(
    ("saisi", "raison"),
    [
        ("", "Aucun numéro"),
        ("bonjour", "pas un numéro"),
        ("06 12 34", "pas un numéro de téléphone valide"),
        ("01 42 00 00 00", "pas un numéro de mobile"),
        ("0800 12 34 56", "pas un numéro de mobile"),
    ],
    ids=["vide", "texte", "trop-court", "fixe", "numero-vert"],
)
def test_numeros_refuses_avec_la_raison(saisi, raison):
    with pytest.raises(NumeroInvalide, match=raison):
        normaliser(saisi)


# --- Envoi ------------------------------------------------------------------------------------------


def test_envoi_remis_au_fournisseur_en_e164_avec_la_cle(sms):
    m = message()
    identifiant = adaptateurs.remettre(m, contenu())
    assert identifiant.startswith("sms-")
    [recu] = sms.messages()
    assert recu == {"id": identifiant, "to": "+33612345678", "text": TEXTE, "reference": m.cle_idempotence}
    assert sms.receptions() == {m.cle_idempotence: 1}


def test_numero_des_donnees_du_contenu_prioritaire(sms):
    adaptateurs.remettre(message(numero="inutilisé"), contenu(telephone="0781234567"))
    assert sms.messages()[0]["to"] == "+33781234567"


def test_envoi_repete_recu_deux_fois_garde_une_fois(sms):
    m = message()
    premier = adaptateurs.remettre(m, contenu())
    second = adaptateurs.remettre(m, contenu())
    assert premier == second
    assert sms.receptions() == {m.cle_idempotence: 2}
    assert len(sms.messages()) == 1


@pytest.mark.parametrize(
    ("numero", "texte", "raison"),
    [
        ("01 42 00 00 00", TEXTE, "pas un numéro de mobile"),
        ("n'importe quoi", TEXTE, "pas un numéro"),
        ("06 12 34 56 78", "   ", "texte est vide"),
        ("06 12 34 56 78", "x" * 321, "321 caractères"),
    ],
    ids=["fixe", "illisible", "texte-vide", "texte-trop-long"],
)
def test_refus_avant_envoi_rien_recu(sms, numero, texte, raison):
    with pytest.raises(Rejet, match=raison):
        adaptateurs.remettre(message(numero=numero), contenu(texte))
    assert sms.receptions() == {}


def test_texte_de_320_caracteres_accepte(sms):
    adaptateurs.remettre(message(), contenu("x" * 320))
    assert len(sms.messages()[0]["text"]) == 320


def test_fournisseur_refuse_un_numero_rejet_avec_sa_raison(sms):
    # Le portail normalise avant d'envoyer ; un appel direct prouve que le pair vérifie lui-même.
    reponse = requests.post(
        sms.url + "/v1/sms", json={"to": "0612", "text": "x", "reference": "r"},
        headers={"Authorization": "Bearer cle-des-tests-sms"}, timeout=5,
    )  # fmt: skip
    assert reponse.status_code == 422
    assert "E.164" in reponse.json()["erreur"]
    assert sms.receptions() == {}


@pytest.mark.parametrize(
    ("corps", "statut", "raison"),
    [
        ("pas du json", 400, "objet JSON"),
        ('{"to": "+33612345678", "text": "", "reference": "r"}', 422, "vide"),
        ('{"to": "+33612345678", "text": "x"}', 422, "Référence"),
    ],
    ids=["json", "texte", "reference"],
)
def test_fournisseur_verifie_ce_qu_il_recoit(sms, corps, statut, raison):
    reponse = requests.post(
        sms.url + "/v1/sms", data=corps, timeout=5,
        headers={"Authorization": "Bearer cle-des-tests-sms", "Content-Type": "application/json"},
    )  # fmt: skip
    assert reponse.status_code == statut
    assert raison in reponse.json()["erreur"]


def test_cle_d_api_fausse_pair_indisponible_rien_recu(sms, settings):
    settings.SMS_API_CLE = "mauvaise"
    with pytest.raises(PairIndisponible, match="clé d'API refusée"):
        adaptateurs.remettre(message(), contenu())
    assert sms.receptions() == {}


@pytest.mark.parametrize("statut", [429, 500, 503], ids=["429", "500", "503"])
def test_fournisseur_en_echec_pair_indisponible_puis_envoi(sms, statut):
    m = message()
    sms.panne("echec", statut=statut, nombre=1)
    with pytest.raises(PairIndisponible, match=f"HTTP {statut}"):
        adaptateurs.remettre(m, contenu())
    assert adaptateurs.remettre(m, contenu()).startswith("sms-")
    assert len(sms.messages()) == 1


def test_connexion_coupee_pair_indisponible(sms):
    sms.panne("coupure", nombre=1)
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateurs.remettre(message(), contenu())
    assert sms.receptions() == {}


def test_fournisseur_lent_delai_depasse_pair_indisponible(sms, settings):
    settings.SMS_DELAI_SECONDES = 0.3
    sms.panne("lent", delai=1, nombre=1)
    with pytest.raises(PairIndisponible, match="délai"):
        adaptateurs.remettre(message(), contenu())


def test_fournisseur_arrete_pair_indisponible_puis_relance(sms):
    m = message()
    sms.arreter()
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateurs.remettre(m, contenu())
    sms.demarrer()
    assert adaptateurs.remettre(m, contenu()).startswith("sms-")
    assert sms.receptions() == {m.cle_idempotence: 1}
