"""Projet personnalisé dans Chromium, de bout en bout (ticket 7, « Done when ») : l'infirmière du
SSIAD ouvre le projet de Jeanne et le rédige (besoin, objectif, action trois fois par semaine) ; la
fille aidante écrit les attentes de sa mère et dit qu'elle est d'accord avec l'objectif ;
l'infirmière le soumet ; Jeanne donne son accord, puis l'infirmière, référente du projet, celui de
la structure : le projet est validé et ses actions sont dans l'agenda de l'infirmière et dans
l'agenda consolidé de Jeanne. Plus tard, un avenant change la fréquence et ajoute un objectif ;
validé, sa page de comparaison montre ce qui a changé, côte à côte. Captures en 360 px et 1280 px
(tests/captures/)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from agenda.models import Evenement, StatutEvenement
from ppa.models import StatutVersion, VersionPPA
from tests.monde_ppa import construire_monde_ppa
from tests.test_navigateur import assert_console_propre, capturer
from tests.test_navigateur_agenda import onglet

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


def _partie(page, nom: str):
    return page.locator(f"#partie-{nom}")


def _ajouter_action(page, *, quoi: str, qui: str, jours: list[str]) -> None:
    actions = _partie(page, "actions")
    actions.get_by_text("Ajouter une action").first.click()
    formulaire = actions.locator("details[open] form").last
    formulaire.get_by_label("Quoi", exact=True).fill(quoi)
    formulaire.get_by_label("Qui (membre du cercle)").select_option(label=qui)
    formulaire.get_by_label("À quelle fréquence").select_option("semaine")
    for jour in jours:
        formulaire.get_by_label(jour, exact=True).check()
    formulaire.get_by_label("Durée (minutes)").fill("45")
    formulaire.get_by_role("button", name="Ajouter l'action").click()


def _accords(jeanne, ide, adresse_accord: str) -> None:
    jeanne.goto(adresse_accord)
    jeanne.get_by_role("button", name="Je donne mon accord").click()
    expect(jeanne.locator(".message--success")).to_contain_text("Votre accord est enregistré")
    ide.goto(adresse_accord)
    ide.get_by_role("button", name="Donner l'accord de la structure").click()
    expect(ide.locator(".message--success")).to_contain_text("le projet est validé")


def test_co_construction_validation_avenant_et_agenda(navigateur, live_server):
    monde = construire_monde_ppa()
    jeanne_usager = monde.usager
    ide, fille, jeanne = (
        onglet(navigateur, live_server, monde.acteurs[nom]) for nom in ("ide", "aidant_avec_droits", "usager")
    )
    nom_ide = str(monde.acteurs["ide"].exercice.professionnel)
    try:
        # 1. L'infirmière ouvre le projet et le rédige.
        ide.goto(live_server.url + reverse("ppa:projets", args=[jeanne_usager.uuid]))
        ide.get_by_label("Titre du projet").fill("Vivre chez moi")
        ide.get_by_role("button", name="Ouvrir le projet").click()
        expect(ide.get_by_role("heading", level=1)).to_have_text("Vivre chez moi")
        adresse_atelier = ide.url

        ide.get_by_text("Ajouter un besoin").click()
        besoins = _partie(ide, "besoins")
        besoins.get_by_label("Besoin", exact=True).fill("Se laver")
        besoins.get_by_label("Code SERAFIN-PH (facultatif)").fill("1.2.1.1")
        besoins.get_by_role("button", name="Ajouter le besoin").click()
        expect(_partie(ide, "besoins")).to_contain_text("Se laver")

        ide.get_by_text("Ajouter un objectif").click()
        objectifs = _partie(ide, "objectifs")
        objectifs.get_by_label("Objectif", exact=True).fill("Faire sa toilette seule")
        objectifs.get_by_label("Se laver").check()
        objectifs.get_by_role("button", name="Ajouter l'objectif").click()
        expect(_partie(ide, "objectifs")).to_contain_text("Faire sa toilette seule")

        _ajouter_action(ide, quoi="Aide à la toilette", qui=nom_ide, jours=["lundi", "mercredi", "vendredi"])
        expect(_partie(ide, "actions")).to_contain_text("Aide à la toilette")
        expect(_partie(ide, "actions")).to_contain_text("lundi, mercredi et vendredi")
        expect(_partie(ide, "actions")).to_contain_text(f"Ajoutée par {nom_ide}")

        # 2. La fille aidante écrit les attentes de sa mère et donne son avis sur l'objectif.
        fille.goto(adresse_atelier)
        paroles = _partie(fille, "paroles")
        paroles.get_by_label("Ce que la personne attend, dans ses mots").fill(
            "Rester chez moi, avec mon chat."
        )
        paroles.get_by_role("button", name="Enregistrer ses mots").click()
        expect(_partie(fille, "paroles")).to_contain_text("Rester chez moi, avec mon chat.")
        avis = _partie(fille, "objectifs")
        avis.get_by_label("Je suis d'accord").check()
        avis.get_by_label("Ce que j'en dis, avec mes mots").fill("Oui, sans me presser.")
        avis.get_by_role("button", name="Enregistrer mon avis").click()
        expect(_partie(fille, "objectifs")).to_contain_text("Oui, sans me presser.")
        capturer(fille, "ppa-atelier-aidante")

        # La lecture facile de Jeanne dit ses mots et ce qui est prévu, en clair.
        jeanne.goto(live_server.url + reverse("ppa:facile", args=[VersionPPA.objects.get().uuid]))
        expect(jeanne.get_by_role("heading", level=1)).to_have_text("Mon projet")
        expect(jeanne.locator("main")).to_contain_text("Rester chez moi, avec mon chat.")
        expect(jeanne.locator("main")).to_contain_text("lundi, mercredi et vendredi")
        capturer(jeanne, "ppa-lecture-facile")

        # 3. L'infirmière soumet ; Jeanne, puis la structure (l'infirmière, référente), donnent leur accord.
        ide.goto(adresse_atelier)
        ide.get_by_role("button", name="Soumettre aux accords").click()
        expect(ide.locator(".message--success")).to_contain_text("soumis aux accords")
        adresse_accord = ide.url
        _accords(jeanne, ide, adresse_accord)
        version_1 = VersionPPA.objects.get(numero=1)
        assert version_1.statut == StatutVersion.VALIDEE and version_1.accords.count() == 2

        # 4. Les actions sont dans les agendas : celui de l'infirmière et celui, consolidé, de Jeanne.
        serie = Evenement.objects.get(systeme_source="ppa", statut=StatutEvenement.RESERVE)
        semaine_prochaine = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
        ide.goto(live_server.url + reverse("agenda:mon_agenda") + f"?date={semaine_prochaine}")
        expect(ide.locator("main").get_by_text("Aide à la toilette").first).to_be_visible()
        jeanne.goto(
            live_server.url
            + reverse("agenda:usager", args=[jeanne_usager.uuid])
            + f"?date={semaine_prochaine}"
        )
        expect(jeanne.locator("main").get_by_text("Aide à la toilette").first).to_be_visible()
        capturer(jeanne, "ppa-agenda-jeanne")

        # 5. Plus tard, un avenant : la toilette passe à cinq jours, un objectif s'ajoute.
        ide.goto(adresse_atelier)
        ide.get_by_role("button", name="Créer un avenant").click()
        expect(ide.locator(".message--success")).to_contain_text("L'avenant (version 2)")
        actions = _partie(ide, "actions")
        actions.locator("summary", has_text="Modifier").filter(has_text="Aide à la toilette").click()
        formulaire = actions.locator("details[open] form").last
        for jour in ("mardi", "jeudi"):
            formulaire.get_by_label(jour, exact=True).check()
        formulaire.get_by_role("button", name="Enregistrer l'action").click()
        expect(_partie(ide, "actions")).to_contain_text("lundi, mardi, mercredi, jeudi et vendredi")
        ide.get_by_text("Ajouter un objectif").click()
        ide.locator("#objectif_titre").fill("Voir mes amies le jeudi")
        _partie(ide, "objectifs").get_by_role("button", name="Ajouter l'objectif").click()
        expect(_partie(ide, "objectifs")).to_contain_text("Voir mes amies le jeudi")
        ide.get_by_role("button", name="Soumettre aux accords").click()
        _accords(jeanne, ide, ide.url)
        assert VersionPPA.objects.get(numero=2).statut == StatutVersion.VALIDEE
        assert VersionPPA.objects.get(numero=1).statut == StatutVersion.REMPLACEE

        # 6. La comparaison, côte à côte : l'objectif ajouté, l'action modifiée.
        ide.goto(adresse_atelier)
        ide.get_by_role("link", name="Versions, différences et exports").click()
        ide.get_by_role("link", name="Voir ce qui change depuis la version 1").click()
        expect(ide.get_by_role("heading", level=1)).to_have_text("Comparer deux versions")
        comparaison = ide.locator("main")
        expect(comparaison).to_contain_text("Voir mes amies le jeudi")
        expect(comparaison).to_contain_text("Ajouté")
        expect(comparaison).to_contain_text("Modifié")
        capturer(ide, "ppa-comparaison-avenant")

        # L'avenant a mis à jour la même série, sans doublon.
        series = Evenement.objects.filter(systeme_source="ppa", statut=StatutEvenement.RESERVE)
        assert list(series.values_list("pk", flat=True)) == [serie.pk]
        assert "BYDAY=MO,TU,WE,TH,FR" in series.get().rrule
        for page in (ide, fille, jeanne):
            assert_console_propre(page)
    finally:
        for page in (ide, fille, jeanne):
            page.context.close()
