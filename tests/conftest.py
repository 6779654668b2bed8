"""Fixtures communes. Pas de réseau : seules les adresses locales (serveurs embarqués, bacs à
sable de sandbox/) sont joignables pendant les tests."""

import ipaddress
import socket

import pytest

_connect_original = socket.socket.connect


def _adresse_locale(adresse) -> bool:
    if isinstance(adresse, str | bytes):  # socket Unix
        return True
    hote = adresse[0]
    if hote in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(hote).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def pas_de_reseau(monkeypatch):
    def connect(self, adresse):
        if not _adresse_locale(adresse):
            raise RuntimeError(f"Appel réseau interdit pendant les tests : {adresse!r}")
        return _connect_original(self, adresse)

    monkeypatch.setattr(socket.socket, "connect", connect)


# --- Navigateur (tests marqués « navigateur ») -------------------------------------------------
# Chromium de Debian piloté par Playwright (pas de `playwright install`), dans le fil du test,
# contre le `live_server` de pytest-django.

ARGUMENTS_CHROMIUM = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def navigateur():
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium introuvable : installez le paquet Debian « chromium ».")
    # L'API synchrone de Playwright laisse une boucle asyncio active dans ce fil : sans cette
    # variable, Django refuserait les requêtes SQL faites par le test pendant que le navigateur
    # tourne. Limitée à la durée du module.
    precedent = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, args=ARGUMENTS_CHROMIUM)
            yield chromium
            chromium.close()
    finally:
        if precedent is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = precedent


class JournalConsole:
    """Erreurs relevées dans la console du navigateur (violations CSP comprises)."""

    def __init__(self) -> None:
        self.erreurs: list[str] = []

    def noter_message(self, message) -> None:
        if message.type == "error":
            self.erreurs.append(message.text)

    def noter_exception(self, exception) -> None:
        self.erreurs.append(f"exception JavaScript : {exception}")

    @property
    def violations_csp(self) -> list[str]:
        return [e for e in self.erreurs if "Content Security Policy" in e]


@pytest.fixture
def page(navigateur):
    """Un onglet neuf (cookies vides), en 1280 × 800, qui relève les erreurs de console dans
    `page.journal_console`."""
    contexte = navigateur.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    onglet = contexte.new_page()
    onglet.set_default_timeout(10_000)
    journal = JournalConsole()
    onglet.on("console", journal.noter_message)
    onglet.on("pageerror", journal.noter_exception)
    onglet.journal_console = journal
    yield onglet
    contexte.close()


@pytest.fixture(autouse=True)
def hachage_rapide(settings):
    """Des dizaines de comptes par test : le hachage lent des mots de passe n'y apporte rien (le vrai
    hacheur reste celui des réglages, vérifié par test_production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
