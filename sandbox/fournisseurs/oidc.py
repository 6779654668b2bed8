"""Cadre commun des fournisseurs OpenID Connect du bac à sable : une application WSGI (bibliothèque
standard seulement, plus joserfc pour les jetons) qui sert le flux « authorization code ».

Ce qui ne dépend pas du fournisseur est ici : découverte, page de choix d'une identité de test,
code d'autorisation à usage unique avec PKCE S256 obligatoire, authentification du client par
`client_secret_basic`, jeton d'identité (HS256 avec le secret du client ou RS256 avec la clé du
JWKS, selon le client), userinfo en JSON ou en JWT signé, déconnexion avec `id_token_hint` et
`post_logout_redirect_uri`, session du fournisseur (cookie) pour l'authentification unique.

Un fournisseur particulier (psc.py, puis FranceConnect+) fournit une `DescriptionFournisseur` :
chemins, niveau `acr`, portées, identités de test et construction de leurs revendications.

Les `alterations` d'un client simulent les pannes et attaques que le portail doit refuser (jeton
expiré, signature altérée, `kid` inconnu, nonce différent, revendication manquante) : elles ne
servent qu'aux tests et à la démonstration.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

DUREE_CODE = 60  # secondes de validité d'un code d'autorisation
DUREE_JETONS = 300  # secondes de validité du jeton d'identité et du jeton d'accès


@dataclass
class IdentiteTest:
    """Une identité de test proposée sur la page de choix du fournisseur."""

    cle: str
    libelle: str  # « Élodie GIRAUD-FICTIF — Infirmier, 2 situations d'exercice »
    revendications: dict  # revendications userinfo (hors sub)
    sub: str


@dataclass
class ClientOIDC:
    client_id: str
    secret: str
    signature: str = "HS256"  # HS256 (secret du client) ou RS256 (clé du JWKS)
    userinfo: str = "json"  # json ou jwt
    # Adresses de retour acceptées : préfixes exacts ; vide = toute adresse http(s) locale
    # (127.0.0.1, localhost, testserver), ce qui suffit au bac à sable dont le port change à chaque test.
    redirect_uris: tuple[str, ...] = ()
    alterations: set[str] = field(default_factory=set)
    # mTLS à l'adresse de jeton (RFC 8705, liaison par empreinte) : SHA-256 hexadécimale du
    # certificat client (DER) exigé en plus du secret ; vide = pas de mTLS.
    certificat_sha256: str = ""

    def adresse_acceptee(self, adresse: str) -> bool:
        if self.redirect_uris:
            return any(adresse.startswith(prefixe) for prefixe in self.redirect_uris)
        morceaux = urlsplit(adresse)
        # « testserver » : hôte du client de test de Django.
        locaux = {"127.0.0.1", "localhost", "testserver"}
        return morceaux.scheme in {"http", "https"} and morceaux.hostname in locaux


@dataclass
class DescriptionFournisseur:
    """Ce qui distingue un fournisseur : nom, chemins (relatifs à la base du serveur), niveau."""

    nom: str  # « Pro Santé Connect (bac à sable) »
    chemin_emetteur: str  # /auth/realms/esante-wallet
    chemin_decouverte: str  # relatif à l'émetteur : /.well-known/wallet-openid-configuration
    chemin_autorisation: str  # relatif à la base : /wallet/auth
    chemins_protocole: dict[str, str]  # token, userinfo, logout, certs : relatifs à l'émetteur
    acr: str
    portees: tuple[str, ...]
    identites: Callable[[], Iterable[IdentiteTest]]
    revendications_jeton: Callable[[IdentiteTest], dict] = lambda identite: {}
    revendications_supportees: tuple[str, ...] = ()


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    identite: str
    session: str
    expire: float


class ErreurOAuth(Exception):
    def __init__(self, statut: int, erreur: str, description: str) -> None:
        super().__init__(description)
        self.statut = statut
        self.erreur = erreur
        self.description = description


def _b64url(octets: bytes) -> str:
    return base64.urlsafe_b64encode(octets).rstrip(b"=").decode("ascii")


def defi_pkce(verificateur: str) -> str:
    return _b64url(hashlib.sha256(verificateur.encode("ascii")).digest())


class FournisseurOIDC:
    """Application WSGI d'un fournisseur. `base` : adresse publique du serveur (sans / final),
    connue une fois le port choisi."""

    def __init__(self, description: DescriptionFournisseur, clients: Iterable[ClientOIDC]) -> None:
        self.description = description
        self.clients = {client.client_id: client for client in clients}
        self.base = ""
        self.cle_rsa = RSAKey.generate_key(
            2048, parameters={"kid": f"bac-a-sable-{uuid.uuid4().hex[:8]}", "use": "sig", "alg": "RS256"}
        )
        self._verrou = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._jetons_acces: dict[str, tuple[str, str, float]] = {}  # jeton → (client, identité, fin)
        self.sessions: dict[str, str] = {}  # session du fournisseur (cookie) → clé d'identité
        self.cookie = "fournisseur_" + description.chemin_emetteur.strip("/").replace("/", "_")

    # -- adresses ----------------------------------------------------------------------------

    @property
    def emetteur(self) -> str:
        return self.base + self.description.chemin_emetteur

    def adresse(self, nom: str) -> str:
        return self.emetteur + self.description.chemins_protocole[nom]

    @property
    def adresse_autorisation(self) -> str:
        return self.base + self.description.chemin_autorisation

    @property
    def adresse_decouverte(self) -> str:
        return self.emetteur + self.description.chemin_decouverte

    def decouverte(self) -> dict:
        return {
            "issuer": self.emetteur,
            "authorization_endpoint": self.adresse_autorisation,
            "token_endpoint": self.adresse("token"),
            "userinfo_endpoint": self.adresse("userinfo"),
            "end_session_endpoint": self.adresse("logout"),
            "jwks_uri": self.adresse("certs"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "scopes_supported": list(self.description.portees),
            "acr_values_supported": [self.description.acr],
            "claims_supported": list(self.description.revendications_supportees),
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256"],
            "userinfo_signing_alg_values_supported": ["HS256", "RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def identites(self) -> dict[str, IdentiteTest]:
        return {identite.cle: identite for identite in self.description.identites()}

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        chemin = environ.get("PATH_INFO", "")
        methode = environ.get("REQUEST_METHOD", "GET")
        routes = {
            self.description.chemin_emetteur + self.description.chemin_decouverte: self._vue_decouverte,
            self.description.chemin_autorisation: self._vue_autorisation,
            self.description.chemin_autorisation + "/choisir": self._vue_choix,
        }
        for nom, vue in (
            ("token", self._vue_jeton),
            ("userinfo", self._vue_userinfo),
            ("logout", self._vue_deconnexion),
            ("certs", self._vue_certs),
        ):
            routes[self.description.chemin_emetteur + self.description.chemins_protocole[nom]] = vue
        vue = routes.get(chemin)
        if vue is None:
            return self._page(start_response, "404 Not Found", "Page introuvable", "<p>Adresse inconnue.</p>")
        try:
            return vue(environ, start_response, methode)
        except ErreurOAuth as erreur:
            return self._json(
                start_response,
                f"{erreur.statut} Erreur",
                {"error": erreur.erreur, "error_description": erreur.description},
            )

    # -- réponses ----------------------------------------------------------------------------

    @staticmethod
    def _json(start_response, statut: str, contenu: dict, entetes: list | None = None):
        corps = json.dumps(contenu, ensure_ascii=False).encode()
        start_response(
            statut,
            [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
             ("Content-Length", str(len(corps))), *(entetes or [])],
        )  # fmt: skip
        return [corps]

    def _page(self, start_response, statut: str, titre: str, contenu: str, entetes: list | None = None):
        corps = (
            '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(titre)} — {html.escape(self.description.nom)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
            "line-height:1.5}button{font:inherit;padding:.6rem 1rem;margin:.25rem 0;cursor:pointer;"
            "width:100%;text-align:left}ul{list-style:none;padding:0}.bandeau{background:#fff4d6;"
            "padding:.5rem 1rem;border-left:4px solid #b37400}</style></head><body>"
            f'<p class="bandeau">Bac à sable : {html.escape(self.description.nom)}. Identités de test '
            "uniquement, aucune donnée réelle.</p>"
            f"<h1>{html.escape(titre)}</h1>{contenu}</body></html>"
        ).encode()
        start_response(
            statut,
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
             ("Content-Length", str(len(corps))), *(entetes or [])],
        )  # fmt: skip
        return [corps]

    @staticmethod
    def _rediriger(start_response, adresse: str, entetes: list | None = None):
        start_response("302 Found", [("Location", adresse), ("Cache-Control", "no-store"), *(entetes or [])])
        return [b""]

    @staticmethod
    def _parametres(environ) -> dict[str, str]:
        parametres = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD") == "POST":
            taille = int(environ.get("CONTENT_LENGTH") or 0)
            corps = environ["wsgi.input"].read(taille).decode() if taille else ""
            parametres.update({k: v[0] for k, v in parse_qs(corps).items()})
        return parametres

    def _session_du_cookie(self, environ) -> str | None:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        morceau = cookie.get(self.cookie)
        if morceau is not None and morceau.value in self.sessions:
            return morceau.value
        return None

    # -- découverte et clés ------------------------------------------------------------------

    def _vue_decouverte(self, environ, start_response, methode):
        return self._json(start_response, "200 OK", self.decouverte())

    def _vue_certs(self, environ, start_response, methode):
        return self._json(start_response, "200 OK", KeySet([self.cle_rsa]).as_dict(private=False))

    # -- autorisation ------------------------------------------------------------------------

    def _verifier_demande(self, p: dict[str, str]) -> ClientOIDC:
        client = self.clients.get(p.get("client_id", ""))
        if client is None:
            raise ErreurOAuth(400, "unauthorized_client", "Client inconnu de ce fournisseur.")
        if not client.adresse_acceptee(p.get("redirect_uri", "")):
            raise ErreurOAuth(400, "invalid_request", "Adresse de retour (redirect_uri) non enregistrée.")
        if p.get("response_type") != "code":
            raise ErreurOAuth(400, "unsupported_response_type", "Seul response_type=code est accepté.")
        if "openid" not in p.get("scope", "").split():
            raise ErreurOAuth(400, "invalid_scope", "La portée « openid » est obligatoire.")
        if p.get("code_challenge_method") != "S256" or not p.get("code_challenge"):
            raise ErreurOAuth(
                400, "invalid_request", "PKCE obligatoire : code_challenge avec la méthode S256."
            )
        if not p.get("nonce"):
            raise ErreurOAuth(400, "invalid_request", "Le paramètre nonce est obligatoire.")
        if not p.get("state"):
            raise ErreurOAuth(400, "invalid_request", "Le paramètre state est obligatoire.")
        if p.get("acr_values", self.description.acr) != self.description.acr:
            acr = self.description.acr
            raise ErreurOAuth(400, "invalid_request", f"Niveau demandé non proposé (acr {acr}).")
        return client

    def _vue_autorisation(self, environ, start_response, methode):
        p = self._parametres(environ)
        try:
            self._verifier_demande(p)
        except ErreurOAuth as erreur:
            return self._page(
                start_response, "400 Bad Request", "Demande de connexion refusée",
                f"<p>{html.escape(erreur.description)}</p>",
            )  # fmt: skip
        session = self._session_du_cookie(environ)
        if session is not None:  # authentification unique : déjà connecté chez le fournisseur
            return self._rediriger(start_response, self._emettre_code(p, self.sessions[session], session))
        champs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in p.items()
            if k in {"client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method",
                     "scope", "response_type", "acr_values"}
        )  # fmt: skip
        boutons = "".join(
            f'<li><button type="submit" name="identite" value="{html.escape(i.cle)}">'
            f"{html.escape(i.libelle)}</button></li>"
            for i in self.identites().values()
        )
        contenu = (
            "<p>Choisissez l'identité de test avec laquelle vous connecter.</p>"
            f'<form method="post" action="{html.escape(self.description.chemin_autorisation)}/choisir">'
            f"{champs}<ul>{boutons}</ul></form>"
        )
        return self._page(start_response, "200 OK", "Choisir une identité de test", contenu)

    def _vue_choix(self, environ, start_response, methode):
        if methode != "POST":
            raise ErreurOAuth(405, "invalid_request", "POST attendu.")
        p = self._parametres(environ)
        try:
            self._verifier_demande(p)
        except ErreurOAuth as erreur:
            return self._page(
                start_response, "400 Bad Request", "Demande de connexion refusée",
                f"<p>{html.escape(erreur.description)}</p>",
            )  # fmt: skip
        if p.get("identite") not in self.identites():
            return self._page(
                start_response, "400 Bad Request", "Identité inconnue", "<p>Identité inconnue.</p>"
            )
        session = secrets.token_urlsafe(24)
        with self._verrou:
            self.sessions[session] = p["identite"]
        cookie = f"{self.cookie}={session}; Path=/; HttpOnly; SameSite=Lax"
        return self._rediriger(
            start_response, self._emettre_code(p, p["identite"], session), [("Set-Cookie", cookie)]
        )

    def _emettre_code(self, p: dict[str, str], identite: str, session: str) -> str:
        code = secrets.token_urlsafe(32)
        with self._verrou:
            self._codes[code] = _Code(
                client_id=p["client_id"], redirect_uri=p["redirect_uri"], code_challenge=p["code_challenge"],
                nonce=p["nonce"], identite=identite, session=session, expire=time.time() + DUREE_CODE,
            )  # fmt: skip
        separateur = "&" if "?" in p["redirect_uri"] else "?"
        return f"{p['redirect_uri']}{separateur}{urlencode({'code': code, 'state': p['state']})}"

    # -- jeton -------------------------------------------------------------------------------

    def _client_authentifie(self, environ) -> ClientOIDC:
        entete = environ.get("HTTP_AUTHORIZATION", "")
        if not entete.startswith("Basic "):
            raise ErreurOAuth(401, "invalid_client", "Authentification client_secret_basic attendue.")
        try:
            client_id, _, secret = base64.b64decode(entete[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ErreurOAuth(401, "invalid_client", "En-tête Authorization illisible.") from exc
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            raise ErreurOAuth(401, "invalid_client", "Client ou secret incorrect.")
        if client.certificat_sha256:
            # Posé par le serveur TLS (serveur.py) quand le client a présenté un certificat.
            presente = environ.get("SSL_CLIENT_CERT_SHA256", "")
            if not secrets.compare_digest(presente, client.certificat_sha256):
                raise ErreurOAuth(
                    401, "invalid_client", "Certificat client (mTLS) absent ou non enregistré pour ce client."
                )
        return client

    def _vue_jeton(self, environ, start_response, methode):
        if methode != "POST":
            raise ErreurOAuth(405, "invalid_request", "POST attendu.")
        client = self._client_authentifie(environ)
        p = self._parametres(environ)
        if p.get("grant_type") != "authorization_code":
            raise ErreurOAuth(400, "unsupported_grant_type", "Seul authorization_code est accepté.")
        with self._verrou:
            code = self._codes.pop(p.get("code", ""), None)  # usage unique, même en cas d'erreur
        if code is None or code.expire < time.time() or code.client_id != client.client_id:
            raise ErreurOAuth(400, "invalid_grant", "Code d'autorisation inconnu, expiré ou déjà utilisé.")
        if p.get("redirect_uri") != code.redirect_uri:
            raise ErreurOAuth(400, "invalid_grant", "redirect_uri différente de celle de la demande.")
        verificateur = p.get("code_verifier", "")
        if not verificateur:
            raise ErreurOAuth(400, "invalid_grant", "PKCE : code_verifier manquant.")
        if not secrets.compare_digest(defi_pkce(verificateur), code.code_challenge):
            raise ErreurOAuth(
                400, "invalid_grant", "PKCE : code_verifier ne correspond pas au code_challenge."
            )
        identite = self.identites()[code.identite]
        jeton_acces = secrets.token_urlsafe(32)
        with self._verrou:
            self._jetons_acces[jeton_acces] = (client.client_id, identite.cle, time.time() + DUREE_JETONS)
        maintenant = int(time.time())
        revendications = {
            "iss": self.emetteur, "aud": client.client_id, "sub": identite.sub, "nonce": code.nonce,
            "acr": self.description.acr, "iat": maintenant, "auth_time": maintenant,
            "exp": maintenant + DUREE_JETONS, "sid": code.session,
            **self.description.revendications_jeton(identite),
        }  # fmt: skip
        if "id_token_expire" in client.alterations:
            revendications["iat"] = maintenant - 2 * DUREE_JETONS
            revendications["exp"] = maintenant - DUREE_JETONS
        if "nonce_different" in client.alterations:
            revendications["nonce"] = secrets.token_hex(16)
        jeton_id = self.signer(client, revendications)
        return self._json(
            start_response, "200 OK",
            {"access_token": jeton_acces, "token_type": "Bearer", "expires_in": DUREE_JETONS,
             "id_token": jeton_id, "scope": " ".join(self.description.portees)},
        )  # fmt: skip

    def signer(self, client: ClientOIDC, revendications: dict) -> str:
        """Signe pour ce client (HS256 avec son secret, ou RS256 avec la clé du JWKS), en
        appliquant les altérations de signature demandées."""
        if "kid_inconnu" in client.alterations:
            autre = RSAKey.generate_key(2048, parameters={"kid": "cle-inconnue-du-jwks"})
            return jwt.encode({"alg": "RS256", "kid": "cle-inconnue-du-jwks"}, revendications, autre)
        if client.signature == "RS256":
            jeton = jwt.encode(
                {"alg": "RS256", "kid": self.cle_rsa.kid, "typ": "JWT"}, revendications, self.cle_rsa
            )
        else:
            cle = OctKey.import_key(client.secret)
            jeton = jwt.encode({"alg": "HS256", "typ": "JWT"}, revendications, cle)
        if "signature_alteree" in client.alterations:
            entete, charge, _signature = jeton.split(".")
            faux = json.loads(base64.urlsafe_b64decode(charge + "=" * (-len(charge) % 4)))
            faux["sub"] = faux.get("sub", "") + "-usurpe"
            jeton = ".".join([entete, _b64url(json.dumps(faux).encode()), _signature])
        return jeton

    def verifier(self, client: ClientOIDC, jeton: str) -> dict:
        cle = KeySet([self.cle_rsa]) if client.signature == "RS256" else OctKey.import_key(client.secret)
        return jwt.decode(jeton, cle, algorithms=[client.signature]).claims

    # -- userinfo ----------------------------------------------------------------------------

    def _vue_userinfo(self, environ, start_response, methode):
        entete = environ.get("HTTP_AUTHORIZATION", "")
        with self._verrou:
            trouve = self._jetons_acces.get(entete[7:]) if entete.startswith("Bearer ") else None
        if trouve is None or trouve[2] < time.time():
            raise ErreurOAuth(401, "invalid_token", "Jeton d'accès inconnu ou expiré.")
        client = self.clients[trouve[0]]
        identite = self.identites()[trouve[1]]
        revendications = {"sub": identite.sub, **identite.revendications}
        if "sans_subjectnameid" in client.alterations:
            revendications.pop("SubjectNameID", None)
        if client.userinfo == "jwt":
            revendications |= {"iss": self.emetteur, "aud": client.client_id}
            corps = self.signer(client, revendications).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/jwt"), ("Cache-Control", "no-store"),
                 ("Content-Length", str(len(corps)))],
            )  # fmt: skip
            return [corps]
        return self._json(start_response, "200 OK", revendications)

    # -- déconnexion -------------------------------------------------------------------------

    def _vue_deconnexion(self, environ, start_response, methode):
        p = self._parametres(environ)
        indice = p.get("id_token_hint", "")
        retour = p.get("post_logout_redirect_uri", "")
        revendications = None
        for client in self.clients.values():
            try:
                revendications = self.verifier(client, indice)
                break
            except (JoseError, ValueError):
                continue
        if revendications is None:
            return self._page(
                start_response, "400 Bad Request", "Déconnexion refusée",
                "<p>id_token_hint absent ou invalide.</p>",
            )  # fmt: skip
        client = self.clients[revendications["aud"]]
        if retour and not client.adresse_acceptee(retour):
            return self._page(
                start_response, "400 Bad Request", "Déconnexion refusée",
                "<p>post_logout_redirect_uri non enregistrée.</p>",
            )  # fmt: skip
        with self._verrou:
            self.sessions.pop(revendications.get("sid", ""), None)
        effacer = [("Set-Cookie", f"{self.cookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")]
        if not retour:
            return self._page(
                start_response, "200 OK", "Vous êtes déconnecté", "<p>Session fermée.</p>", effacer
            )
        if p.get("state"):
            retour += ("&" if "?" in retour else "?") + urlencode({"state": p["state"]})
        return self._rediriger(start_response, retour, effacer)
