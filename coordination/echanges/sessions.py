"""Une session HTTP par fil d'envoi (SMS, webhooks) : ses connexions restent ouvertes d'un message
à l'autre, et `fermer()` les ferme quand le fil finit (`adaptateurs.liberer`), plutôt que de les
laisser au ramasse-miettes."""

from __future__ import annotations

import threading

import requests

_local = threading.local()


def session() -> requests.Session:
    courante = getattr(_local, "session", None)
    if courante is None:
        courante = _local.session = requests.Session()
    return courante


def fermer() -> None:
    courante, _local.session = getattr(_local, "session", None), None
    if courante is not None:
        courante.close()
