"""Serveur HTTP d'un fournisseur du bac à sable : `wsgiref` de la bibliothèque standard, une
requête par fil. Dans un fil pour les tests (`demarrer`), ou comme processus pour `make run` :

    python -m sandbox.fournisseurs.serveur psc --hote 127.0.0.1 --port 8071
    python -m sandbox.fournisseurs.serveur fcplus --port 8072 --jwks-client http://127.0.0.1:8000/comptes/fcplus/jwks.json
"""

from __future__ import annotations

import argparse
import hashlib
import os
import ssl
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sandbox.fournisseurs.oidc import FournisseurOIDC


class _Serveur(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Gestionnaire(WSGIRequestHandler):
    journaliser = False

    def log_message(self, format, *args):  # noqa: A002 - signature de http.server
        if self.journaliser:
            super().log_message(format, *args)

    def get_environ(self):
        """En TLS, l'empreinte du certificat client présenté (mTLS), comme le ferait un frontal."""
        environ = super().get_environ()
        if isinstance(self.connection, ssl.SSLSocket):
            certificat = self.connection.getpeercert(binary_form=True)
            if certificat:
                environ["SSL_CLIENT_CERT_SHA256"] = hashlib.sha256(certificat).hexdigest()
        return environ


class ServeurFournisseur:
    """`tls` : contexte SSL serveur (HTTPS ; avec `verify_mode` CERT_OPTIONAL ou CERT_REQUIRED,
    le certificat client présenté est transmis au fournisseur pour le mTLS)."""

    def __init__(
        self,
        fournisseur: FournisseurOIDC,
        hote: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.fournisseur = fournisseur
        self.serveur = make_server(
            hote, port, fournisseur, server_class=_Serveur, handler_class=_Gestionnaire
        )
        if tls is not None:
            self.serveur.socket = tls.wrap_socket(self.serveur.socket, server_side=True)
        self.port = self.serveur.server_address[1]
        fournisseur.base = f"{'https' if tls else 'http'}://{hote}:{self.port}"
        self._fil: threading.Thread | None = None

    def demarrer(self) -> ServeurFournisseur:
        self._fil = threading.Thread(target=self.serveur.serve_forever, name="fournisseur", daemon=True)
        self._fil.start()
        return self

    def arreter(self) -> None:
        self.serveur.shutdown()
        self.serveur.server_close()


def demarrer(
    fournisseur: FournisseurOIDC, hote: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> ServeurFournisseur:
    """Démarre le fournisseur dans un fil (port 0 : un port libre)."""
    return ServeurFournisseur(fournisseur, hote, port, tls).demarrer()


class ServeurWSGI:
    """N'importe quelle application WSGI servie dans un fil (tests : le portail lui-même, pour que
    le fournisseur lise son JWKS en HTTP réel)."""

    def __init__(self, application, hote: str = "127.0.0.1", port: int = 0) -> None:
        self.serveur = make_server(
            hote, port, application, server_class=_Serveur, handler_class=_Gestionnaire
        )
        self.adresse = f"http://{hote}:{self.serveur.server_address[1]}"
        threading.Thread(target=self.serveur.serve_forever, name="wsgi", daemon=True).start()

    def arreter(self) -> None:
        self.serveur.shutdown()
        self.serveur.server_close()


def _fournisseur(nom: str, jwks_client: str) -> FournisseurOIDC:
    if nom == "fcplus":
        from sandbox.fournisseurs import fcplus

        return fcplus.fournisseur_fcplus(
            jwks_uri=jwks_client,
            client_id=os.environ.get("FCPLUS_CLIENT_ID", fcplus.CLIENT_ID_DEFAUT),
            secret=os.environ.get("FCPLUS_CLIENT_SECRET", fcplus.SECRET_DEFAUT),
        )
    from sandbox.fournisseurs.psc import CLIENT_ID_DEFAUT, SECRET_DEFAUT, fournisseur_psc

    return fournisseur_psc(
        client_id=os.environ.get("PSC_CLIENT_ID", CLIENT_ID_DEFAUT),
        secret=os.environ.get("PSC_CLIENT_SECRET", SECRET_DEFAUT),
    )


PORTS = {"psc": ("PSC_BAC_A_SABLE_PORT", "8071"), "fcplus": ("FCPLUS_BAC_A_SABLE_PORT", "8072")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Fournisseur d'identité du bac à sable.")
    parser.add_argument("fournisseur", choices=sorted(PORTS))
    parser.add_argument("--hote", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument(
        "--jwks-client", default="http://127.0.0.1:8000/comptes/fcplus/jwks.json",
        help="FranceConnect+ : adresse du JWKS de chiffrement publié par le portail.",
    )  # fmt: skip
    args = parser.parse_args(argv)
    variable, defaut = PORTS[args.fournisseur]
    port = args.port if args.port is not None else int(os.environ.get(variable, defaut))
    fournisseur = _fournisseur(args.fournisseur, args.jwks_client)
    serveur = ServeurFournisseur(fournisseur, args.hote, port)
    _Gestionnaire.journaliser = True
    print(f"{fournisseur.description.nom} : {fournisseur.adresse_decouverte}", flush=True)
    try:
        serveur.serveur.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        serveur.serveur.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
