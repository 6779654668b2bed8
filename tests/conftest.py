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
