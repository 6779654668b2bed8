"""Clés de chiffrement du portail pour FranceConnect+ (docs interop §9.3, ADR 0015).

FranceConnect+ chiffre le jeton d'identité et la réponse userinfo (JWE) pour une clé publique que
le portail publie à l'adresse `/comptes/fcplus/jwks.json` (« use » : « enc »). Les clés privées
viennent des réglages :

- `FCPLUS_CLES_CHIFFREMENT` : un JWKS privé (JSON `{"keys": [...]}`, chaque clé avec son `kid`) ou
  une ou plusieurs clés privées RSA au format PEM (le `kid` est alors l'empreinte RFC 7638) ;
- sinon `FCPLUS_CLES_CHIFFREMENT_FICHIER` : un fichier contenant l'un ou l'autre. Hors production,
  s'il manque, il est créé au premier usage (par défaut `.run/fcplus-cles-dev.json`, ignoré par git) :
  clé de développement, jamais à employer ailleurs.

Rotation : toutes les clés listées sont publiées et servent au déchiffrement ; la première est la
clé courante. Pour changer de clé : ajouter la nouvelle en seconde position (publiée avant d'être
employée), la passer en tête une fois que FC+ a relu le JWKS, puis retirer l'ancienne quand plus
aucun jeton chiffré pour elle ne peut arriver (quelques minutes : jetons de 60 s). Un jeton chiffré
pour un `kid` absent de la liste est refusé. Commande : `manage.py fcplus_cles`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from joserfc.jwk import RSAKey

_PEM = re.compile(r"-----BEGIN (?:RSA )?PRIVATE KEY-----.+?-----END (?:RSA )?PRIVATE KEY-----", re.S)


class ClesIndisponibles(Exception):
    """Aucune clé de chiffrement configurée (FranceConnect+ reste alors désactivé)."""


def nouvelle_cle(kid: str = "") -> RSAKey:
    """Une clé RSA 2048 bits de chiffrement ; `kid` : l'empreinte RFC 7638 si vide."""
    cle = RSAKey.generate_key(2048, parameters={"use": "enc"}, private=True)
    cle.ensure_kid()
    if kid:
        cle = RSAKey.import_key(cle.as_dict(private=True) | {"kid": kid})
    return cle


def lire(texte: str) -> list[RSAKey]:
    """Clés privées d'un JWKS JSON ou d'un ou plusieurs blocs PEM, dans l'ordre."""
    texte = (texte or "").strip()
    if not texte:
        return []
    if texte.startswith("{"):
        document = json.loads(texte)
        cles = [RSAKey.import_key(c) for c in document.get("keys", [document])]
    else:
        cles = [RSAKey.import_key(bloc) for bloc in _PEM.findall(texte)]
    for cle in cles:
        if not cle.is_private:
            raise ValueError("FranceConnect+ : clé de chiffrement sans partie privée.")
        cle.ensure_kid()
    kids = [c.kid for c in cles]
    if len(set(kids)) != len(kids):
        raise ValueError("FranceConnect+ : deux clés de chiffrement portent le même kid.")
    return cles


@lru_cache(maxsize=8)
def _depuis(texte: str) -> tuple[RSAKey, ...]:
    return tuple(lire(texte))


def _texte_configure() -> str:
    texte = settings.FCPLUS_CLES_CHIFFREMENT
    if texte:
        return texte
    fichier = settings.FCPLUS_CLES_CHIFFREMENT_FICHIER
    if not fichier:
        return ""
    chemin = Path(fichier)
    if not chemin.exists() and not settings.PRODUCTION:
        chemin.parent.mkdir(exist_ok=True)
        document = {"keys": [nouvelle_cle(kid="dev-portail-1").as_dict(private=True)]}
        chemin.write_text(json.dumps(document, indent=2))
        chemin.chmod(0o600)
    return chemin.read_text() if chemin.exists() else ""


def cles() -> tuple[RSAKey, ...]:
    """Les clés privées configurées, la courante en premier ; ClesIndisponibles s'il n'y en a pas."""
    trouvees = _depuis(_texte_configure())
    if not trouvees:
        raise ClesIndisponibles("Aucune clé de chiffrement FranceConnect+ configurée.")
    return trouvees


def cle_par_kid(kid: str) -> RSAKey | None:
    return next((c for c in cles() if c.kid == kid), None)


def jwks_public(algorithme: str) -> dict:
    """Le JWKS publié : parties publiques, « use » : « enc », algorithme annoncé."""
    return {
        "keys": [{**c.as_dict(private=False), "use": "enc", "alg": algorithme, "kid": c.kid} for c in cles()]
    }
