"""Cadre commun des fournisseurs OpenID Connect du bac à sable : une application WSGI (bibliothèque
standard seulement, plus joserfc pour les jetons) qui sert le flux « authorization code ».

Ce qui ne dépend pas du fournisseur est ici : découverte, page de choix d'une identité de test,
code d'autorisation à usage unique avec PKCE S256 (obligatoire ou, s'il a été demandé, vérifié),
authentification du client par `client_secret_basic` ou `client_secret_post`, jeton d'identité
(HS256 avec le secret du client, RS256 ou ES256 avec une clé du JWKS, selon le client), userinfo en
JSON ou en JWT signé, chiffrement (JWE) des jetons vers la clé publique que le client publie à son
`jwks_uri`, déconnexion avec `id_token_hint` et `post_logout_redirect_uri`, session du fournisseur
(cookie), avec ou sans authentification unique.

Un fournisseur particulier (psc.py, fcplus.py) fournit une `DescriptionFournisseur` : chemins,
niveaux `acr`, portées et revendications par portée, `sub` (public ou par client), identités de
test et construction de leurs revendications.

Les `alterations` d'un client simulent les pannes et attaques que le portail doit refuser (jeton
expiré, signature altérée, `kid` inconnu, nonce différent, revendication manquante, JWE altéré ou
chiffré pour une clé que le portail ne connaît pas) : elles ne servent qu'aux tests et à la
démonstration.
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
from urllib.request import urlopen

from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

DUREE_CODE = 60  # secondes de validité d'un code d'autorisation
DUREE_JETONS = 300  # secondes de validité du jeton d'identité et du jeton d'accès


@dataclass
class IdentiteTest:
    """Une identité de test proposée sur la page de choix du fournisseur."""

    cle: str
    libelle: str  # « Élodie GIRAUD-FICTIF — Infirmier, 2 situations d'exercice »
    revendications: dict  # revendications userinfo (hors sub)
    sub: str
    acr: str = ""  # niveau imposé (ex. « eidas1 » pour vérifier le refus du portail) ; vide : celui demandé


@dataclass
class ClientOIDC:
    client_id: str
    secret: str
    signature: str = "HS256"  # HS256 (secret du client), RS256 ou ES256 (clés du JWKS)
    userinfo: str = "json"  # json ou jwt
    # Chiffrement des jetons (JWE) : algorithme de clé (RSA-OAEP, RSA-OAEP-256) ; vide : pas de
    # chiffrement. La clé publique du client est lue à son `jwks_uri` (« use » : « enc »).
    chiffrement: str = ""
    chiffrement_enc: str = "A256GCM"
    jwks_uri: str = ""
    kid_chiffrement: str = ""  # clé du client à employer ; vide : la première (clé courante)
    jwks_en_cache: dict | None = None  # JWKS du client gardé d'un appel précédent (rotation)
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
    # Niveaux : `acr_values` demandé → niveau accordé, ou ErreurOAuth ; None : `acr` seul accepté.
    niveau_demande: Callable[[str | None], str] | None = None
    acr_supportes: tuple[str, ...] = ()
    # Revendications userinfo selon les portées accordées ; None : toutes celles de l'identité.
    revendications_userinfo: Callable[[IdentiteTest, set[str]], dict] | None = None
    # `sub` donné à un client ; None : le `sub` de l'identité, le même pour tous (public).
    sub_pour: Callable[[IdentiteTest, str], str] | None = None
    authentification_unique: bool = True  # session du fournisseur réutilisée sans redemander
    pkce_obligatoire: bool = True  # sinon : vérifié seulement s'il a été demandé
    methodes_auth_client: tuple[str, ...] = ("client_secret_basic",)
    longueur_min_state_nonce: int = 1
    deconnexion_complete_obligatoire: bool = False  # state et post_logout_redirect_uri exigés
    duree_jeton_acces: int = 0  # secondes ; 0 : DUREE_JETONS
    decouverte_en_plus: dict = field(default_factory=dict)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    identite: str
    session: str
    expire: float
    scope: str = ""
    acr: str = ""


@dataclass
class _JetonAcces:
    client_id: str
    identite: str
    fin: float
    scope: str


class ErreurOAuth(Exception):
    """Erreur OAuth. `vers_client` : le client et son adresse de retour sont reconnus, l'erreur lui
    est renvoyée par redirection (`error`, `error_description`, `state`) plutôt qu'affichée."""

    def __init__(self, statut: int, erreur: str, description: str, vers_client: bool = False) -> None:
        super().__init__(description)
        self.statut = statut
        self.erreur = erreur
        self.description = description
        self.vers_client = vers_client


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
        self.cle_ec = ECKey.generate_key(
            "P-256",
            parameters={"kid": f"bac-a-sable-ec-{uuid.uuid4().hex[:8]}", "use": "sig", "alg": "ES256"},
        )
        self._verrou = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._jetons_acces: dict[str, _JetonAcces] = {}
        self._jetons_id: dict[str, dict] = {}  # jetons d'identité émis → revendications (déconnexion)
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
        d = self.description
        chiffrements = sorted({c.chiffrement for c in self.clients.values() if c.chiffrement})
        document = {
            "issuer": self.emetteur,
            "authorization_endpoint": self.adresse_autorisation,
            "token_endpoint": self.adresse("token"),
            "userinfo_endpoint": self.adresse("userinfo"),
            "end_session_endpoint": self.adresse("logout"),
            "jwks_uri": self.adresse("certs"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise" if d.sub_pour else "public"],
            "scopes_supported": list(d.portees),
            "acr_values_supported": list(d.acr_supportes or (d.acr,)),
            "claims_supported": list(d.revendications_supportees),
            "token_endpoint_auth_methods_supported": list(d.methodes_auth_client),
            "id_token_signing_alg_values_supported": sorted({c.signature for c in self.clients.values()}),
            "userinfo_signing_alg_values_supported": sorted({c.signature for c in self.clients.values()}),
            "code_challenge_methods_supported": ["S256"],
        }
        if chiffrements:
            for jeton in ("id_token", "userinfo"):
                document[f"{jeton}_encryption_alg_values_supported"] = chiffrements
                document[f"{jeton}_encryption_enc_values_supported"] = ["A256GCM"]
        return document | d.decouverte_en_plus

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
        return self._json(
            start_response, "200 OK", KeySet([self.cle_rsa, self.cle_ec]).as_dict(private=False)
        )

    # -- autorisation ------------------------------------------------------------------------

    def _verifier_demande(self, p: dict[str, str]) -> tuple[ClientOIDC, str]:
        """Contrôle la demande d'autorisation ; renvoie le client et le niveau (`acr`) accordé."""
        d = self.description
        client = self.clients.get(p.get("client_id", ""))
        if client is None:
            raise ErreurOAuth(400, "unauthorized_client", "Client inconnu de ce fournisseur.")
        if not client.adresse_acceptee(p.get("redirect_uri", "")):
            raise ErreurOAuth(400, "invalid_request", "Adresse de retour (redirect_uri) non enregistrée.")
        if p.get("response_type") != "code":
            raise ErreurOAuth(400, "unsupported_response_type", "Seul response_type=code est accepté.", True)
        if "openid" not in p.get("scope", "").split():
            raise ErreurOAuth(400, "invalid_scope", "La portée « openid » est obligatoire.", True)
        pkce = p.get("code_challenge") or p.get("code_challenge_method")
        if (d.pkce_obligatoire or pkce) and (
            p.get("code_challenge_method") != "S256" or not p.get("code_challenge")
        ):
            raise ErreurOAuth(
                400, "invalid_request", "PKCE : code_challenge avec la méthode S256 attendu.", True
            )
        minimum = d.longueur_min_state_nonce
        for nom in ("nonce", "state"):
            if len(p.get(nom, "")) < minimum:
                precision = f" ({minimum} caractères au moins)" if minimum > 1 else ""
                raise ErreurOAuth(
                    400, "invalid_request", f"Le paramètre {nom} est obligatoire{precision}.", True
                )
        if d.niveau_demande is not None:
            return client, d.niveau_demande(p.get("acr_values"))
        if p.get("acr_values", d.acr) != d.acr:
            raise ErreurOAuth(400, "invalid_request", f"Niveau demandé non proposé (acr {d.acr}).", True)
        return client, d.acr

    def _refuser_demande(self, start_response, p: dict[str, str], erreur: ErreurOAuth):
        if erreur.vers_client:
            retour = p["redirect_uri"]
            parametres = {"error": erreur.erreur, "error_description": erreur.description}
            if p.get("state"):
                parametres["state"] = p["state"]
            separateur = "&" if "?" in retour else "?"
            return self._rediriger(start_response, f"{retour}{separateur}{urlencode(parametres)}")
        return self._page(
            start_response, "400 Bad Request", "Demande de connexion refusée",
            f"<p>{html.escape(erreur.description)}</p>",
        )  # fmt: skip

    def _vue_autorisation(self, environ, start_response, methode):
        p = self._parametres(environ)
        try:
            _client, acr = self._verifier_demande(p)
        except ErreurOAuth as erreur:
            return self._refuser_demande(start_response, p, erreur)
        session = self._session_du_cookie(environ)
        if session is not None and self.description.authentification_unique:
            # authentification unique : déjà connecté chez le fournisseur
            code = self._emettre_code(p, self.sessions[session], session, acr)
            return self._rediriger(start_response, code)
        champs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in p.items()
            if k in {"client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method",
                     "scope", "response_type", "acr_values", "prompt"}
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
            _client, acr = self._verifier_demande(p)
        except ErreurOAuth as erreur:
            return self._refuser_demande(start_response, p, erreur)
        if p.get("identite") not in self.identites():
            return self._page(
                start_response, "400 Bad Request", "Identité inconnue", "<p>Identité inconnue.</p>"
            )
        session = secrets.token_urlsafe(24)
        with self._verrou:
            self.sessions[session] = p["identite"]
        cookie = f"{self.cookie}={session}; Path=/; HttpOnly; SameSite=Lax"
        return self._rediriger(
            start_response, self._emettre_code(p, p["identite"], session, acr), [("Set-Cookie", cookie)]
        )

    def _emettre_code(self, p: dict[str, str], identite: str, session: str, acr: str) -> str:
        code = secrets.token_urlsafe(32)
        impose = self.identites()[identite].acr
        with self._verrou:
            self._codes[code] = _Code(
                client_id=p["client_id"], redirect_uri=p["redirect_uri"],
                code_challenge=p.get("code_challenge", ""), nonce=p["nonce"], identite=identite,
                session=session, expire=time.time() + DUREE_CODE, scope=p.get("scope", ""),
                acr=impose or acr,
            )  # fmt: skip
        separateur = "&" if "?" in p["redirect_uri"] else "?"
        return f"{p['redirect_uri']}{separateur}{urlencode({'code': code, 'state': p['state']})}"

    # -- jeton -------------------------------------------------------------------------------

    def _client_authentifie(self, environ, p: dict[str, str]) -> ClientOIDC:
        """`client_secret_basic` (en-tête Authorization) ou `client_secret_post` (corps de la
        requête), selon ce que la description du fournisseur accepte."""
        methodes = self.description.methodes_auth_client
        entete = environ.get("HTTP_AUTHORIZATION", "")
        if "client_secret_basic" in methodes and entete.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(entete[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ErreurOAuth(401, "invalid_client", "En-tête Authorization illisible.") from exc
        elif "client_secret_post" in methodes and p.get("client_secret"):
            client_id, secret = p.get("client_id", ""), p["client_secret"]
        else:
            attendues = " ou ".join(methodes)
            raise ErreurOAuth(401, "invalid_client", f"Authentification du client attendue : {attendues}.")
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
        p = self._parametres(environ)
        client = self._client_authentifie(environ, p)
        if p.get("grant_type") != "authorization_code":
            raise ErreurOAuth(400, "unsupported_grant_type", "Seul authorization_code est accepté.")
        with self._verrou:
            code = self._codes.pop(p.get("code", ""), None)  # usage unique, même en cas d'erreur
        if code is None or code.expire < time.time() or code.client_id != client.client_id:
            raise ErreurOAuth(400, "invalid_grant", "Code d'autorisation inconnu, expiré ou déjà utilisé.")
        if p.get("redirect_uri") != code.redirect_uri:
            raise ErreurOAuth(400, "invalid_grant", "redirect_uri différente de celle de la demande.")
        verificateur = p.get("code_verifier", "")
        if code.code_challenge or self.description.pkce_obligatoire:
            if not verificateur:
                raise ErreurOAuth(400, "invalid_grant", "PKCE : code_verifier manquant.")
            if not secrets.compare_digest(defi_pkce(verificateur), code.code_challenge):
                raise ErreurOAuth(
                    400, "invalid_grant", "PKCE : code_verifier ne correspond pas au code_challenge."
                )
        identite = self.identites()[code.identite]
        jeton_acces = secrets.token_urlsafe(32)
        duree_acces = self.description.duree_jeton_acces or DUREE_JETONS
        with self._verrou:
            self._jetons_acces[jeton_acces] = _JetonAcces(
                client.client_id, identite.cle, time.time() + duree_acces, code.scope
            )
        maintenant = int(time.time())
        revendications = {
            "iss": self.emetteur, "aud": client.client_id, "sub": self.sub(identite, client),
            "nonce": code.nonce, "acr": code.acr, "iat": maintenant, "auth_time": maintenant,
            "exp": maintenant + DUREE_JETONS, "sid": code.session,
            **self.description.revendications_jeton(identite),
        }  # fmt: skip
        if "id_token_expire" in client.alterations:
            revendications["iat"] = maintenant - 2 * DUREE_JETONS
            revendications["exp"] = maintenant - DUREE_JETONS
        if "nonce_different" in client.alterations:
            revendications["nonce"] = secrets.token_hex(16)
        try:
            jeton_id = self.emballer(client, self.signer(client, revendications))
        except (OSError, ValueError, JoseError) as exc:
            raise ErreurOAuth(
                500, "server_error", f"Clé de chiffrement du client introuvable à son jwks_uri ({exc})."
            ) from exc
        with self._verrou:
            self._jetons_id[jeton_id] = revendications
        return self._json(
            start_response, "200 OK",
            {"access_token": jeton_acces, "token_type": "Bearer", "expires_in": duree_acces,
             "id_token": jeton_id, "scope": code.scope or " ".join(self.description.portees)},
        )  # fmt: skip

    def sub(self, identite: IdentiteTest, client: ClientOIDC) -> str:
        if self.description.sub_pour is None:
            return identite.sub
        return self.description.sub_pour(identite, client.client_id)

    def signer(self, client: ClientOIDC, revendications: dict) -> str:
        """Signe pour ce client (HS256 avec son secret, RS256 ou ES256 avec une clé du JWKS), en
        appliquant les altérations de signature demandées."""
        if "kid_inconnu" in client.alterations:
            if client.signature == "ES256":
                autre = ECKey.generate_key("P-256", parameters={"kid": "cle-inconnue-du-jwks"})
                return jwt.encode({"alg": "ES256", "kid": "cle-inconnue-du-jwks"}, revendications, autre)
            autre = RSAKey.generate_key(2048, parameters={"kid": "cle-inconnue-du-jwks"})
            return jwt.encode({"alg": "RS256", "kid": "cle-inconnue-du-jwks"}, revendications, autre)
        if client.signature == "RS256":
            jeton = jwt.encode(
                {"alg": "RS256", "kid": self.cle_rsa.kid, "typ": "JWT"}, revendications, self.cle_rsa
            )
        elif client.signature == "ES256":
            jeton = jwt.encode(
                {"alg": "ES256", "kid": self.cle_ec.kid, "typ": "JWT"}, revendications, self.cle_ec
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

    def jwks_du_client(self, client: ClientOIDC) -> dict:
        """Le JWKS publié par le client à son `jwks_uri` (ou celui gardé en cache)."""
        if client.jwks_en_cache is not None:
            return client.jwks_en_cache
        with urlopen(client.jwks_uri, timeout=5) as reponse:  # noqa: S310 - adresse du client enregistrée
            return json.loads(reponse.read().decode())

    def emballer(self, client: ClientOIDC, jeton_signe: str) -> str:
        """Chiffre (JWE compact) le jeton signé pour la clé publique de chiffrement du client :
        celle de `kid_chiffrement`, sinon la première de son JWKS marquée « use » : « enc »."""
        if not client.chiffrement:
            return jeton_signe
        entete = {"alg": client.chiffrement, "enc": client.chiffrement_enc, "cty": "JWT"}
        if "kid_chiffrement_inconnu" in client.alterations:
            autre = RSAKey.generate_key(2048, parameters={"kid": "cle-inconnue-du-portail"})
            return jwe.encrypt_compact(
                {**entete, "kid": "cle-inconnue-du-portail"}, jeton_signe, autre,
                algorithms=[client.chiffrement, client.chiffrement_enc],
            )  # fmt: skip
        cles = [
            c for c in self.jwks_du_client(client).get("keys", [])
            if c.get("use", "enc") == "enc" and c.get("kty") == "RSA"
        ]  # fmt: skip
        if client.kid_chiffrement:
            cles = [c for c in cles if c.get("kid") == client.kid_chiffrement]
        if not cles:
            raise ValueError("aucune clé RSA « enc » dans le JWKS du client")
        cle = RSAKey.import_key(cles[0])
        algorithmes = [client.chiffrement, client.chiffrement_enc]
        resultat = jwe.encrypt_compact({**entete, "kid": cle.kid}, jeton_signe, cle, algorithms=algorithmes)
        if "jwe_altere" in client.alterations:
            morceaux = resultat.split(".")
            chiffre = bytearray(base64.urlsafe_b64decode(morceaux[3] + "=" * (-len(morceaux[3]) % 4)))
            chiffre[0] ^= 0x01
            morceaux[3] = _b64url(bytes(chiffre))
            resultat = ".".join(morceaux)
        return resultat

    def verifier(self, client: ClientOIDC, jeton: str) -> dict:
        with self._verrou:
            emis = self._jetons_id.get(jeton)
        if emis is not None:  # jeton émis par ce fournisseur (chiffré : illisible pour lui)
            if emis["aud"] != client.client_id:
                raise ValueError("jeton émis pour un autre client")
            return emis
        if client.signature == "RS256":
            cle = KeySet([self.cle_rsa])
        elif client.signature == "ES256":
            cle = KeySet([self.cle_ec])
        else:
            cle = OctKey.import_key(client.secret)
        return jwt.decode(jeton, cle, algorithms=[client.signature]).claims

    # -- userinfo ----------------------------------------------------------------------------

    def _vue_userinfo(self, environ, start_response, methode):
        entete = environ.get("HTTP_AUTHORIZATION", "")
        with self._verrou:
            trouve = self._jetons_acces.get(entete[7:]) if entete.startswith("Bearer ") else None
        if trouve is None or trouve.fin < time.time():
            raise ErreurOAuth(401, "invalid_token", "Jeton d'accès inconnu ou expiré.")
        client = self.clients[trouve.client_id]
        identite = self.identites()[trouve.identite]
        selon_portees = self.description.revendications_userinfo
        revendications = {
            "sub": self.sub(identite, client),
            **(
                identite.revendications if selon_portees is None
                else selon_portees(identite, set(trouve.scope.split()))
            ),
        }  # fmt: skip
        if "sans_subjectnameid" in client.alterations:
            revendications.pop("SubjectNameID", None)
        if client.userinfo == "jwt":
            maintenant = int(time.time())
            revendications |= {
                "iss": self.emetteur, "aud": client.client_id, "iat": maintenant,
                "exp": maintenant + DUREE_JETONS,
            }  # fmt: skip
            try:
                corps = self.emballer(client, self.signer(client, revendications)).encode()
            except (OSError, ValueError, JoseError) as exc:
                raise ErreurOAuth(500, "server_error", f"Chiffrement impossible ({exc}).") from exc
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
        if self.description.deconnexion_complete_obligatoire and not (retour and p.get("state")):
            return self._page(
                start_response, "400 Bad Request", "Déconnexion refusée",
                "<p>id_token_hint, state et post_logout_redirect_uri sont obligatoires.</p>",
            )  # fmt: skip
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
