"""Invitations dans Chromium (ADR 0014) : l'usagère invite sa nièce depuis son cercle (code montré une
fois, fiche imprimable), la nièce saisit le code, crée son compte, confirme son courriel par le lien
reçu (boîte d'envoi des tests), active le TOTP, note ses codes de secours et arrive sur son accueil.
Captures 360 et 1280 px (tests/captures/), sans défilement horizontal ni erreur de console."""

import re

import pyotp
import pytest
from django.core import mail

from coordination.personnes.models import LienProche, Proche
from tests.factories import ProcheFactory
from tests.monde_cercle import construire_monde
from tests.test_navigateur import capturer
from tests.test_navigateur_cercle import ouvrir_session

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

MOT_DE_PASSE = "Cheval-Agrafe-Pile-42"


def test_invitation_puis_creation_du_compte_d_une_aidante(page, live_server, navigateur):
    monde = construire_monde()
    ProcheFactory(usager=monde.usager, lien=LienProche.FAMILLE, prenoms="Marie", nom="COUSINE")
    ouvrir_session(page, live_server, monde.acteurs["usager"].compte)
    page.goto(live_server.url + f"/usagers/{monde.usager.uuid}/cercle/")
    page.get_by_role("link", name="Inviter un proche à créer son compte").click()
    page.wait_for_url(re.compile(r".*/cercle/invitations/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Inviter un proche de Jeanne FICTIVE"
    capturer(page, "invitations-proches")

    # Saisie fautive : message clair, saisie gardée.
    page.get_by_label("Une autre personne, à enregistrer maintenant").check()
    page.get_by_label("Prénom").fill("Lucie")
    page.get_by_role("button", name="Créer l'invitation et afficher le code").click()
    assert "Nom : obligatoire" in page.locator("main").inner_text()
    assert page.get_by_label("Prénom").input_value() == "Lucie"
    capturer(page, "invitations-proches-erreur")

    page.get_by_label("Lien avec la personne accompagnée").select_option("aidant")
    page.get_by_label("Nom", exact=True).fill("Niece")
    page.get_by_role("button", name="Créer l'invitation et afficher le code").click()
    code = page.locator(".code-invitation").inner_text().strip()
    assert re.fullmatch(r"[A-HJKMNP-Z]{4}(-[A-HJKMNP-Z]{4}){3}", code)
    assert "Comment se connecter" in page.locator("main").inner_text()
    capturer(page, "invitation-code")
    page.emulate_media(media="print")
    page.screenshot(path=str(page_capture("invitation-code-impression")), full_page=True)
    page.emulate_media(media="screen")
    assert page.journal_console.violations_csp == []  # la saisie fautive (400) est voulue

    # La nièce, dans son propre navigateur.
    contexte = navigateur.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
    nièce = contexte.new_page()
    nièce.set_default_timeout(10_000)
    nièce.goto(live_server.url + "/comptes/login/")
    nièce.get_by_role("link", name="J'ai reçu une invitation").click()
    nièce.wait_for_url(re.compile(r".*/comptes/invitation/$"))
    nièce.get_by_label("Code d'invitation").fill(code.lower().replace("-", " "))
    nièce.get_by_role("button", name="Continuer").click()
    nièce.wait_for_url(re.compile(r".*/comptes/signup/$"))
    capturer(nièce, "creation-compte")
    nièce.get_by_label("Courriel").fill("lucie.niece@exemple.test")
    nièce.get_by_label("Mot de passe", exact=True).fill(MOT_DE_PASSE)
    nièce.get_by_label("Mot de passe (à nouveau)").fill(MOT_DE_PASSE)
    nièce.get_by_role("button", name="Créer mon compte").click()
    nièce.wait_for_url(re.compile(r".*/comptes/confirm-email/$"))
    capturer(nièce, "courriel-envoye")

    (message,) = mail.outbox
    lien = re.search(r"https?://[^\s]+/comptes/confirm-email/[^\s]+/", message.body).group(0)
    nièce.goto(lien)
    capturer(nièce, "confirmation-courriel")
    nièce.get_by_role("button").filter(has_text=re.compile("Confirmer", re.I)).first.click()
    nièce.wait_for_url(re.compile(r".*/comptes/2fa/totp/activate/$"))
    secret = nièce.locator(".cle-secrete__valeur").inner_text().replace(" ", "")
    nièce.get_by_label("Code à 6 chiffres affiché par l'application").fill(pyotp.TOTP(secret).now())
    nièce.get_by_role("button", name="Activer la protection").click()
    nièce.wait_for_url(re.compile(r".*/comptes/2fa/recovery-codes/$"))
    assert nièce.locator(".codes-secours__code").count() == 10
    nièce.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    nièce.wait_for_url(live_server.url + "/")
    assert nièce.get_by_role("heading", level=1).inner_text() == "L'accompagnement de Jeanne FICTIVE"
    assert Proche.objects.get(nom="NIECE").compte.email == "lucie.niece@exemple.test"
    contexte.close()


def page_capture(nom: str):
    from tests.test_navigateur import CAPTURES

    CAPTURES.mkdir(exist_ok=True)
    return CAPTURES / f"{nom}.png"


def test_captures_saisie_du_code(page, live_server):
    page.goto(live_server.url + "/comptes/invitation/")
    capturer(page, "invitation-saisie")
    page.get_by_label("Code d'invitation").fill("ABCD-EFGH-JKMN-PQRS")
    page.get_by_role("button", name="Continuer").click()
    assert "ce code n'existe pas" in page.locator("main").inner_text()
    assert page.get_by_label("Code d'invitation").input_value() == "ABCD-EFGH-JKMN-PQRS"
    capturer(page, "invitation-saisie-erreur")
    assert page.journal_console.violations_csp == []


def test_captures_inviter_l_equipe(page, live_server):
    from coordination.personnes.models import Exercice

    monde = construire_monde()
    Exercice.objects.filter(pk=monde.acteurs["ide"].exercice.pk).update(invite_le_personnel=True)
    ouvrir_session(page, live_server, monde.acteurs["ide"].compte)
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Inviter l'équipe").click()
    page.wait_for_url(re.compile(r".*/structure/invitations/$"))
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Fonction").fill("Aide médico-psychologique")
    page.get_by_role("button", name="Créer l'invitation et afficher le code").click()
    assert "Léa MARTIN" in page.locator(".fiche-invitation").inner_text()
    capturer(page, "invitation-personnel-code")
    page.get_by_role("link", name="Terminé : revenir aux invitations").click()
    page.wait_for_url(re.compile(r".*/structure/invitations/$"))
    capturer(page, "invitations-personnel")
    page.get_by_role("button", name="Annuler l'invitation de Léa MARTIN").click()
    assert "est annulée" in page.locator("body").inner_text()
    assert page.journal_console.violations_csp == []
