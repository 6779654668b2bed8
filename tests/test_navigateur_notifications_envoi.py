"""De bout en bout, dans Chromium et avec un vrai worker Celery (ticket 8, « Done when ») : une
infirmière règle « transmissions urgentes : tout de suite par MSSanté, les autres : résumé du jour
par courriel » ; le médecin écrit une note urgente → un message MSSanté arrive chez l'opérateur du
bac à sable en quelques secondes ; il écrit une note ordinaire → rien ne part, jusqu'au résumé du
jour (la tâche que Celery beat lance à 7 h), qui arrive par courriel sans donnée de santé.

Le chemin est le vrai : formulaire → service du cahier → événement → tâche de distribution
(publiée après validation dans Redis) → worker → boîte d'envoi → tâche d'envoi → adaptateur
MSSanté (SMTP STARTTLS à certificat client) ou courriel (SMTP) → opérateur du bac à sable."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cahier_liaison.models import EvenementCahier
from coordination.notifications import distribution
from coordination.notifications.catalogue import Frequence
from coordination.notifications.models import ElementResume, Notification
from tests.monde_cahier import construire_monde_cahier
from tests.test_navigateur import assert_console_propre, capturer
from tests.test_navigateur_cahier import onglet
from tests.worker_echanges import *  # noqa: F403 — fixtures : opérateur, Redis privé, workers
from tests.worker_echanges import attendre

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

BAL_IDE = "ide.fictive@ssiad-fictif.mssante.fr"
# Quelques secondes au repos (3,5 s mesurées : distribution puis envoi, deux tâches) ; la borne est
# large pour une machine de CI chargée (8,8 s mesurées pendant la suite entière sur 2 CPU).
DELAI_MAX = 30.0


def ecrire_une_note(page, live_server, usager, texte: str, *, urgente: bool) -> None:
    page.goto(live_server.url + reverse("cahier_liaison:ecrire", args=[usager.uuid]))
    page.get_by_label("Texte", exact=True).fill(texte)
    if urgente:
        page.get_by_label("Urgent : à lire en priorité").check()
    page.get_by_role("button", name="Enregistrer la note").click()
    page.wait_for_url("**/notes/**")


def recus_par(operateur, adresse: str) -> list:
    return [m for m in operateur.messages() if adresse in m.a]


def test_urgence_par_mssante_tout_de_suite_le_reste_au_resume_du_jour(
    navigateur, live_server, operateur, workers
):
    monde = construire_monde_cahier()
    distribution.distribuer()  # les arrivées dans le cercle du monde de test, avant l'essai
    infirmiere = monde.acteurs["ide"]
    professionnel = infirmiere.exercice.professionnel
    professionnel.bal_mssante = BAL_IDE
    professionnel.save(update_fields=["bal_mssante"])
    courriel_ide = infirmiere.compte.email
    worker = workers()

    ide = onglet(navigateur, live_server, infirmiere.compte)
    medecin = onglet(navigateur, live_server, monde.acteurs["medecin"].compte)
    try:
        # 1. L'infirmière règle ses préférences.
        ide.goto(live_server.url + reverse("notifications:preferences"))
        ide.get_by_label("Transmission urgente · MSSanté (professionnels)").select_option(Frequence.IMMEDIATE)
        ide.get_by_label("Transmission urgente · Courriel").select_option(Frequence.JAMAIS)
        ide.get_by_label("Nouvelle transmission · Courriel").select_option(Frequence.QUOTIDIENNE)
        ide.get_by_label("Nouvelle transmission · MSSanté (professionnels)").select_option(Frequence.JAMAIS)
        capturer(ide, "notifications-preferences-choisies")
        ide.get_by_role("button", name="Enregistrer mes préférences").click()
        expect(ide.get_by_text("Vos préférences de notification sont enregistrées.")).to_be_visible()

        # 2. Une note urgente : un message MSSanté chez l'opérateur en quelques secondes.
        debut = time.monotonic()
        ecrire_une_note(
            medecin, live_server, monde.usager, "Chute dans la salle de bains ce matin.", urgente=True
        )
        attendre(
            lambda: recus_par(operateur, BAL_IDE), DELAI_MAX, "Aucun message MSSanté pour l'urgence", worker
        )
        delai = time.monotonic() - debut
        print(f"\nNote urgente → message MSSanté chez l'opérateur en {delai:.2f} s.")
        (urgent,) = recus_par(operateur, BAL_IDE)
        assert "Transmission urgente" in urgent.sujet
        corps = urgent.message.get_body(preferencelist=("plain",)).get_content()
        assert "Chute" not in corps  # la note elle-même ne part pas : un lien vers le portail
        assert f"/usagers/{monde.usager.uuid}/cahier/notes/" in corps

        # 3. Une note ordinaire : distribuée (dans le portail, en attente du résumé), rien ne part.
        ecrire_une_note(
            medecin, live_server, monde.usager, "Bonne nuit, a bien mangé au dîner.", urgente=False
        )
        normale = EvenementCahier.objects.filter(nature="nouvelle_note").latest("cree_le")
        attendre(
            lambda: ElementResume.objects.filter(
                notification__source_uuid=normale.uuid, compte=infirmiere.compte, canal="courriel"
            ).exists(),
            DELAI_MAX, "La note ordinaire n'attend pas le résumé du jour", worker,
        )  # fmt: skip
        assert Notification.objects.filter(source_uuid=normale.uuid, compte=infirmiere.compte).exists()
        time.sleep(2)  # le temps qu'un envoi immédiat, s'il y en avait un, arrive
        assert len(recus_par(operateur, BAL_IDE)) == 1
        assert recus_par(operateur, courriel_ide) == []

        # 4. Le résumé du jour (Celery beat, 7 h) : un courriel, sans donnée de santé.
        assert distribution.envoyer_resumes(Frequence.QUOTIDIENNE) >= 1
        attendre(
            lambda: recus_par(operateur, courriel_ide), DELAI_MAX, "Le résumé du jour n'arrive pas", worker
        )
        (resume,) = recus_par(operateur, courriel_ide)
        texte = resume.message.get_body(preferencelist=("plain",)).get_content()
        # Les deux notes (l'urgente est aussi une nouvelle transmission : le résumé récapitule).
        assert "Nouvelle transmission : 2" in texte
        assert "mangé" not in texte and monde.usager.nom_naissance not in texte
        assert len(recus_par(operateur, BAL_IDE)) == 1  # toujours le seul message MSSanté

        ide.goto(live_server.url + reverse("notifications:liste"))
        expect(ide.get_by_text(f"Concerne {monde.usager}").first).to_be_visible()
        capturer(ide, "notifications-liste")
        for page in (ide, medecin):
            assert_console_propre(page)
    finally:
        for page in (ide, medecin):
            page.context.close()
