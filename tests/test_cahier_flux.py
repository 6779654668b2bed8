"""Temps réel du cahier (ADR 0017) : message publié après validation (et seulement alors), sans
donnée de santé ; flux SSE qui relaie aux lecteurs habilités, filtre par visibilité, se ferme quand
le droit disparaît, annonce « indisponible » si Redis l'est (l'écriture reste faite) ; canaux
séparés par processus de test."""

from __future__ import annotations

import json
import os

import pytest
from django.db import transaction
from django.urls import reverse

from cahier_liaison import temps_reel
from cahier_liaison.models import Note
from cercle import services as cercle
from tests.factories import connecter
from tests.monde_cahier import SANS_USAGER, construire_monde_cahier, note_de

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_cahier()


@pytest.fixture
def flux_court(settings):
    settings.CAHIER_TEMPS_REEL_BATTEMENT = 0.2
    settings.CAHIER_TEMPS_REEL_DUREE_MAX = 1.5
    return settings


def ouvrir(client, monde, nom: str):
    connecter(client, monde.acteurs[nom].compte)
    reponse = client.get(reverse("cahier_liaison:flux", args=[monde.usager.uuid]))
    assert reponse.status_code == 200 and reponse["Content-Type"] == "text/event-stream"
    morceaux = iter(reponse.streaming_content)
    assert next(morceaux).startswith(b"retry: ")
    assert next(morceaux).startswith(b"event: ouvert")  # abonné : la suite ne se perd pas
    return morceaux


def evenements(morceaux) -> list[tuple[str, dict]]:
    """Lit le flux jusqu'à sa fin (durée de vie courte) : (nom, données) de chaque événement."""
    resultat = []
    for morceau in morceaux:
        texte = morceau.decode()
        if texte.startswith("retry:"):
            continue
        if texte.startswith(":"):
            resultat.append(("battement", {}))
            continue
        champs = dict(ligne.split(": ", 1) for ligne in texte.strip().splitlines())
        resultat.append((champs["event"], json.loads(champs["data"])))
    return resultat


def test_message_publie_apres_validation_sans_donnee_de_sante(monde, django_capture_on_commit_callbacks):
    abonnement = temps_reel.connexion().pubsub(ignore_subscribe_messages=True)
    abonnement.subscribe(temps_reel.canal(monde.usager.uuid))
    try:
        with django_capture_on_commit_callbacks(execute=False) as rappels:
            note = note_de(monde, "medecin", texte="Glycémie 2,1 g/l.", urgente=True)
        assert abonnement.get_message(timeout=0.3) is None  # rien avant la validation
        for rappel in rappels:
            rappel()
        recu = abonnement.get_message(timeout=2)
    finally:
        abonnement.close()
    contenu = json.loads(recu["data"])
    assert set(contenu) == {"id", "note", "fil", "nature", "visibilite"}
    assert (contenu["note"], contenu["nature"]) == (str(note.uuid), "nouvelle")
    assert "Glycémie" not in recu["data"].decode()


def test_ecriture_annulee_rien_publie(monde, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as rappels:
        with pytest.raises(RuntimeError, match="annulée"), transaction.atomic():
            note_de(monde, "medecin")
            raise RuntimeError("annulée")
    assert rappels == []


def test_flux_relaie_ce_que_le_lecteur_peut_voir(
    client, monde, flux_court, django_capture_on_commit_callbacks
):
    morceaux = ouvrir(client, monde, "usager")
    with django_capture_on_commit_callbacks(execute=True):
        pour_tous = note_de(monde, "medecin")
        note_de(monde, "medecin", visibilite=SANS_USAGER)  # l'usager ne la lit pas : rien ne passe
    recus = [donnees for nom, donnees in evenements(morceaux) if nom == "note"]
    assert recus == [{"note": str(pour_tous.uuid), "fil": str(pour_tous.uuid), "nature": "nouvelle"}]


def test_flux_se_ferme_quand_le_droit_disparait(client, monde, flux_court):
    # Le médecin libéral lit le cahier par sa seule présence (l'infirmière le lit aussi par le SSIAD).
    morceaux = ouvrir(client, monde, "medecin")
    cercle.retirer_membre(acteur=monde["usager"], membre=monde.membres["medecin"])
    recus = evenements(morceaux)
    assert recus[-1] == ("fin", {})


def test_redis_indisponible_la_page_marche_et_l_ecriture_reste(
    client, monde, settings, flux_court, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # aucun serveur
    settings.CAHIER_TEMPS_REEL_DELAI_REDIS = 0.5
    temps_reel.connexion.cache_clear()
    try:
        connecter(client, monde.acteurs["ide"].compte)
        reponse = client.get(reverse("cahier_liaison:flux", args=[monde.usager.uuid]))
        assert evenements(iter(reponse.streaming_content))[-1] == ("indisponible", {})
        with django_capture_on_commit_callbacks(execute=True):
            note = note_de(monde, "medecin", texte="Écrite malgré Redis en panne.")
        assert Note.objects.filter(pk=note.pk).exists()
        assert client.get(reverse("cahier_liaison:fil", args=[monde.usager.uuid])).status_code == 200
    finally:
        temps_reel.connexion.cache_clear()


def test_canaux_separes_par_processus_de_test(monde):
    # pub/sub ignore le numéro de base Redis : chaque processus de test a son préfixe de canaux.
    assert f"test-{os.getpid()}:" in temps_reel.canal(monde.usager.uuid)
