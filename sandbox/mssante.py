"""Opérateur MSSanté du bac à sable (ticket 8 ; ADR 0033) : un vrai serveur, lancé comme processus.

- SMTP de soumission (style port 587) : STARTTLS exigé, certificat client exigé et vérifié contre
  l'autorité du bac à sable (BAL applicative du portail) ; destinataires en `.mssante.fr` seulement ;
  vérifie ce qu'il reçoit comme un opérateur ou une PFI : `X-MSS-NIL`, archive `IHE_XDM.ZIP`
  (INDEX.HTM, README.TXT, METADATA.XML ebRIM nommant chaque document, empreinte et taille justes),
  adresse patient `<15 chiffres>@patient.mssante.fr` seulement avec un INS qualifié cohérent.
  Refus : `554 5.6.0 <raison>`.
- SMTP « courriel ordinaire » : sans TLS, toute adresse (les courriels des notifications).
- Stockage sur disque, dédoublonné par Message-ID (un renvoi : 250, pas de seconde copie ; le
  nombre de réceptions par Message-ID est tenu).
- Accusés (RFC 8098) : pour un message qui demande `Disposition-Notification-To`, deux MDN
  (« processed » puis « displayed ») déposés dans la BAL de l'expéditeur.
- IMAP avec STARTTLS et certificat client (AUTHENTICATE EXTERNAL) : le petit sous-ensemble
  IMAP4rev1 dont le client `imaplib` du portail a besoin (ADR 0033).
- Canal de contrôle HTTP local : liste des messages, réceptions, panne (421), lenteur, remise à zéro.
- PKI de test (autorité, certificat serveur, certificat client de la BAL du portail) générée au
  premier démarrage dans le dossier, gardée d'un redémarrage à l'autre ; rien n'est versionné.

    python -m sandbox.mssante --dossier D --port-smtp P --port-imap Q --port-courriel R --port-controle S

`OperateurMSSante` (plus bas) démarre, arrête et pilote ce processus pour les tests et les bancs.
Jamais importé par le code de production.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import email
import email.policy
import hashlib
import io
import ipaddress
import json
import re
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from defusedxml import ElementTree

from sandbox.stack import Child, _die_with_parent, _free_port

BAL_APPLICATION = "portail-coordination@coordination.mssante.fr"
DELAI_DEMARRAGE = 30.0
TAILLE_MAX = 50 * 1024 * 1024  # octets par message
PATIENT = re.compile(r"^(\d{15})@patient\.mssante\.fr$", re.IGNORECASE)
NS_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
SCHEMA_DOCUMENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"  # XDSDocumentEntry.patientId
SCHEMA_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"  # XDSDocumentEntry.uniqueId


# --- PKI de test ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """Les fichiers PEM d'une PKI de test."""

    dossier: Path

    @property
    def ca(self) -> Path:
        return self.dossier / "ca.pem"

    @property
    def certificat_serveur(self) -> Path:
        return self.dossier / "serveur.pem"

    @property
    def cle_serveur(self) -> Path:
        return self.dossier / "serveur.key"

    @property
    def certificat_client(self) -> Path:
        return self.dossier / "client.pem"

    @property
    def cle_client(self) -> Path:
        return self.dossier / "client.key"


def generer_pki(dossier: Path, bal_client: str = BAL_APPLICATION, *, nom: str = "bac à sable") -> Pki:
    """Crée (s'il manque) une autorité, un certificat serveur pour 127.0.0.1/localhost et un
    certificat client (ORG AUTH_CLI simulé) dont le SAN rfc822 est `bal_client`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    pki = Pki(Path(dossier))
    if pki.cle_client.exists():
        return pki
    pki.dossier.mkdir(parents=True, exist_ok=True)
    maintenant = datetime.datetime.now(datetime.UTC)

    def nom_x509(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"IGC Santé ({nom})"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # fmt: skip

    def ecrire_cle(cle, chemin: Path) -> None:
        chemin.write_bytes(cle.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))  # fmt: skip
        chemin.chmod(0o600)

    cle_ca = ec.generate_private_key(ec.SECP256R1())
    sujet_ca = nom_x509(f"Autorité de test MSSanté ({nom})")
    ca = (
        x509.CertificateBuilder().subject_name(sujet_ca).issuer_name(sujet_ca)
        .public_key(cle_ca.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(maintenant - datetime.timedelta(days=1))
        .not_valid_after(maintenant + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False,
        ), critical=True)
        .sign(cle_ca, hashes.SHA256())
    )  # fmt: skip

    def emettre(cn: str, san: list, usage) -> tuple:
        cle = ec.generate_private_key(ec.SECP256R1())
        certificat = (
            x509.CertificateBuilder().subject_name(nom_x509(cn)).issuer_name(sujet_ca)
            .public_key(cle.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(maintenant - datetime.timedelta(days=1))
            .not_valid_after(maintenant + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(cle_ca, hashes.SHA256())
        )  # fmt: skip
        return cle, certificat

    cle_srv, srv = emettre(
        "operateur-mssante.localhost",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        ExtendedKeyUsageOID.SERVER_AUTH,
    )
    cle_cli, cli = emettre(bal_client, [x509.RFC822Name(bal_client)], ExtendedKeyUsageOID.CLIENT_AUTH)
    pem = serialization.Encoding.PEM
    pki.ca.write_bytes(ca.public_bytes(pem))
    ecrire_cle(cle_ca, pki.dossier / "ca.key")
    pki.certificat_serveur.write_bytes(srv.public_bytes(pem))
    ecrire_cle(cle_srv, pki.cle_serveur)
    pki.certificat_client.write_bytes(cli.public_bytes(pem))
    ecrire_cle(cle_cli, pki.cle_client)
    return pki


def contexte_serveur(pki: Pki) -> ssl.SSLContext:
    """TLS côté opérateur : certificat client exigé, signé par l'autorité du bac à sable."""
    contexte = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    contexte.minimum_version = ssl.TLSVersion.TLSv1_2
    contexte.load_cert_chain(pki.certificat_serveur, pki.cle_serveur)
    contexte.load_verify_locations(cafile=pki.ca)
    contexte.verify_mode = ssl.CERT_REQUIRED
    return contexte


def bal_du_certificat(certificat: dict | None) -> str:
    """L'adresse de BAL portée par le certificat client (SAN rfc822), en minuscules."""
    for type_, valeur in (certificat or {}).get("subjectAltName", ()):
        if type_ == "email":
            return valeur.lower()
    return ""


# --- Vérifications (ce qu'un opérateur ou une PFI contrôle) ---------------------------------------


class Refus(Exception):
    """Le message est refusé ; le texte (en français) part dans la réponse 554 5.6.0."""


def verifier_xdm(octets: bytes) -> list[str]:
    """Vérifie une archive IHE_XDM.ZIP ; rend les matricules INS des patients qu'elle nomme."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(octets))
        noms = set(archive.namelist())
    except zipfile.BadZipFile:
        raise Refus("IHE_XDM.ZIP n'est pas une archive zip lisible") from None
    for requis in ("INDEX.HTM", "README.TXT", "IHE_XDM/SUBSET01/METADATA.XML"):
        if requis not in noms:
            raise Refus(f"IHE_XDM.ZIP : {requis} manque")
    try:
        racine = ElementTree.fromstring(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))
    except ElementTree.ParseError as erreur:
        raise Refus(f"METADATA.XML illisible ({erreur})") from None
    if not racine.tag.endswith("SubmitObjectsRequest"):
        raise Refus("METADATA.XML n'est pas un SubmitObjectsRequest ebRIM")
    documents = racine.findall(f".//{{{NS_RIM}}}ExtrinsicObject")
    if not documents:
        raise Refus("METADATA.XML ne décrit aucun document")
    nommes, patients = set(), []
    for document in documents:
        slots = {
            slot.get("name"): [v.text or "" for v in slot.iter(f"{{{NS_RIM}}}Value")]
            for slot in document.findall(f"{{{NS_RIM}}}Slot")
        }
        uri = (slots.get("URI") or [""])[0]
        chemin = f"IHE_XDM/SUBSET01/{uri}"
        if not uri or chemin not in noms:
            raise Refus(f"METADATA.XML nomme un document absent de l'archive : {uri or '(sans URI)'}")
        contenu = archive.read(chemin)
        if (slots.get("size") or [""])[0] != str(len(contenu)):
            raise Refus(f"taille déclarée fausse pour {uri}")
        if (slots.get("hash") or [""])[0].lower() != hashlib.sha1(contenu).hexdigest():  # noqa: S324
            raise Refus(f"empreinte (hash) déclarée fausse pour {uri}")
        nommes.add(chemin)
        for identifiant in document.findall(f"{{{NS_RIM}}}ExternalIdentifier"):
            if identifiant.get("identificationScheme") == SCHEMA_DOCUMENT:
                patients.append(identifiant.get("value", "").split("^", 1)[0])
    orphelins = {n for n in noms if n.startswith("IHE_XDM/SUBSET01/") and not n.endswith("METADATA.XML")}
    if orphelins - nommes:
        raise Refus(f"documents non décrits par METADATA.XML : {', '.join(sorted(orphelins - nommes))}")
    return patients


def verifier_mssante(message: Message, destinataires: list[str]) -> None:
    """Contrôles d'un message soumis sur le port MSSanté ; lève `Refus`."""
    if not (message.get("X-MSS-NIL") or "").strip():
        raise Refus("en-tête X-MSS-NIL absent (référence Convergence du logiciel)")
    if not message.get("Message-ID"):
        raise Refus("en-tête Message-ID absent")
    patients_xdm: list[str] | None = None
    for partie in message.walk():
        if (partie.get_filename() or "").upper() == "IHE_XDM.ZIP":
            patients_xdm = verifier_xdm(partie.get_payload(decode=True) or b"")
    ins = (message.get("X-MSS-INS") or "").strip().upper()
    if patients_xdm is not None and ins not in ("O", "N"):
        raise Refus("en-tête X-MSS-INS absent ou invalide (O ou N) alors qu'un IHE_XDM est joint")
    for adresse in destinataires:
        patient = PATIENT.match(adresse)
        if not patient:
            continue
        if (message.get("X-MSS-MES") or "").strip().upper() != "FIN":
            raise Refus(f"{adresse} : en-tête X-MSS-MES attendu pour une adresse patient")
        if patients_xdm is not None and (ins != "O" or set(patients_xdm) != {patient.group(1)}):
            raise Refus(f"{adresse} : l'INS qualifié du document ne correspond pas au patient")


# --- État partagé : stockage, réceptions, BAL, mode -----------------------------------------------


def empreinte_id(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().encode()).hexdigest()[:32]


class Etat:
    """Ce que l'opérateur garde (dans son dossier), protégé par un verrou (SMTP, IMAP et contrôle)."""

    def __init__(self, dossier: Path) -> None:
        self.dossier = dossier
        self.verrou = threading.Lock()
        (dossier / "messages").mkdir(parents=True, exist_ok=True)
        (dossier / "bal").mkdir(exist_ok=True)
        self.panne = False
        self.delai = 0.0
        # Délai entre le stockage et la réponse « 250 » : l'expéditeur qui tombe pendant ce temps ne
        # sait pas que le message est arrivé, et le renverra (essai de panne d'un worker).
        self.delai_reponse = 0.0
        self.index: list[dict] = []
        self.prochains_uid: dict[str, int] = {}
        self.lus: dict[str, set[int]] = {}  # messages lus (drapeau Seen) par BAL, pour IMAP
        self.receptions: dict[str, int] = {}
        journal = dossier / "receptions.jsonl"
        if journal.exists():
            for ligne in journal.read_text().splitlines():
                entree = json.loads(ligne)
                self._compter(entree)
        self._journal = journal.open("a")

    def mode(self) -> dict:
        return {"panne": self.panne, "delai": self.delai, "delai_reponse": self.delai_reponse}

    def _compter(self, entree: dict) -> None:
        self.receptions[entree["message_id"]] = self.receptions.get(entree["message_id"], 0) + 1
        if entree.get("fichier"):
            self.index.append(entree)

    def recevoir(self, brut: bytes, message: Message, *, port: str, de: str, a: list[str]) -> bool:
        """Note une réception ; stocke le message s'il est nouveau. Rend True s'il l'est."""
        message_id = (message.get("Message-ID") or "").strip() or make_msgid(domain="bac-a-sable.invalid")
        with self.verrou:
            nouveau = message_id not in self.receptions
            entree = {"message_id": message_id, "port": port, "de": de, "a": a, "fichier": ""}
            if nouveau:
                fichier = self.dossier / "messages" / f"{empreinte_id(message_id)}.eml"
                fichier.write_bytes(brut)
                entree |= {"fichier": str(fichier), "sujet": str(message.get("Subject", "")),
                           "recu_le": time.time()}  # fmt: skip
            self._journal.write(json.dumps(entree) + "\n")
            self._journal.flush()
            self._compter(entree)
        return nouveau

    # BAL (pour l'IMAP) : un fichier par message, UID = nom du fichier.
    def bal(self, adresse: str) -> Path:
        chemin = self.dossier / "bal" / adresse.lower()
        chemin.mkdir(parents=True, exist_ok=True)
        return chemin

    def deposer(self, adresse: str, brut: bytes) -> None:
        with self.verrou:
            dossier = self.bal(adresse)
            if adresse not in self.prochains_uid:
                uids = [int(p.stem) for p in dossier.glob("*.eml")]
                compteur = dossier / "prochain_uid"
                lu = int(compteur.read_text()) if compteur.exists() else 1
                self.prochains_uid[adresse] = max([lu, *(u + 1 for u in uids)])
            uid = self.prochains_uid[adresse]
            (dossier / f"{uid}.eml").write_bytes(brut)
            self.prochains_uid[adresse] = uid + 1
            (dossier / "prochain_uid").write_text(str(uid + 1))

    def vider(self) -> None:
        with self.verrou:
            for fichier in (*self.dossier.glob("messages/*.eml"), *self.dossier.glob("bal/*/*.eml")):
                fichier.unlink()
            self.index, self.receptions = [], {}
            self._journal.close()
            self._journal = (self.dossier / "receptions.jsonl").open("w")


def construire_mdn(original: Message, destinataire: str, disposition: str, expediteur: str) -> bytes:
    """Un accusé RFC 8098 (multipart/report ; disposition-notification), écrit directement (le
    bac à sable en produit deux par message : la construction par `email.mime` coûtait le débit)."""
    automatique = disposition == "processed"
    mode = "automatic-action/MDN-sent-automatically" if automatique else "manual-action/MDN-sent-manually"
    identifiant = original["Message-ID"]
    frontiere = f"=_mdn_{secrets.token_hex(12)}"
    entetes = "".join(f"{k}: {v}\r\n" for k, v in original.items() if k.lower() != "bcc")
    return (
        f"From: {destinataire}\r\nTo: {expediteur}\r\n"
        f"Subject: Disposition notification ({disposition})\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {make_msgid(domain='operateur.mssante.fr')}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type="disposition-notification"; boundary="{frontiere}"\r\n'
        f"\r\n--{frontiere}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Le message {identifiant} a été {'traité' if automatique else 'affiché'} par {destinataire}.\r\n"
        f"\r\n--{frontiere}\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: operateur-mssante-bac-a-sable\r\n"
        f"Final-Recipient: rfc822; {destinataire}\r\n"
        f"Original-Message-ID: {identifiant}\r\n"
        f"Disposition: {mode}; {disposition}\r\n"
        f"\r\n--{frontiere}\r\nContent-Type: text/rfc822-headers\r\n\r\n{entetes}"
        f"\r\n--{frontiere}--\r\n"
    ).encode()


# --- SMTP (aiosmtpd) -------------------------------------------------------------------------------


class Gestionnaire:
    """Gestionnaire aiosmtpd d'un port : `mssante` (contrôles MSSanté) ou `courriel` (ordinaire)."""

    def __init__(self, etat: Etat, port: str) -> None:
        self.etat, self.port = etat, port

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.etat.panne:
            return "421 4.3.2 Service temporairement indisponible (bac à sable en panne simulée)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.port == "mssante" and not address.lower().endswith(".mssante.fr"):
            return f"550 5.1.1 {address} : destinataire hors de l'espace de confiance MSSanté"
        if address.lower().endswith(".invalid"):  # RFC 2606 : un domaine qui n'existe jamais
            return f"550 5.1.1 {address} : destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.etat.delai:
            await asyncio.sleep(self.etat.delai)
        if self.etat.panne:
            return "421 4.3.2 Service temporairement indisponible (bac à sable en panne simulée)"
        brut = envelope.original_content or envelope.content
        message = email.message_from_bytes(brut, policy=email.policy.compat32)
        if self.port == "mssante":
            try:
                verifier_mssante(message, envelope.rcpt_tos)
            except Refus as refus:
                return f"554 5.6.0 {refus}"
        nouveau = self.etat.recevoir(
            brut, message, port=self.port, de=envelope.mail_from, a=envelope.rcpt_tos
        )
        accuse_a = (message.get("Disposition-Notification-To") or "").strip().strip("<>")
        if nouveau and accuse_a and self.port == "mssante":
            for destinataire in envelope.rcpt_tos:
                for disposition in ("processed", "displayed"):
                    self.etat.deposer(accuse_a, construire_mdn(message, destinataire, disposition, accuse_a))
        if self.etat.delai_reponse:
            await asyncio.sleep(self.etat.delai_reponse)
        return "250 2.0.0 Message accepté"


# --- IMAP4rev1 (sous-ensemble, ADR 0033) ----------------------------------------------------------


class SessionImap:
    """Une connexion IMAP : CAPABILITY, NOOP, STARTTLS, AUTHENTICATE EXTERNAL, SELECT, UID SEARCH,
    UID FETCH, UID STORE, EXPUNGE, LOGOUT. Une seule boîte, INBOX : la BAL du certificat."""

    def __init__(self, etat: Etat, contexte: ssl.SSLContext, lecteur, ecrivain) -> None:
        self.etat, self.contexte = etat, contexte
        self.lecteur, self.ecrivain = lecteur, ecrivain
        self.tls = False
        self.bal = ""  # authentifié
        self.selection: Path | None = None
        self.supprimes: set[int] = set()
        self.lus: set[int] = set()  # partagé par les sessions de la BAL (tenu en mémoire)

    async def ecrire(self, texte: str | bytes) -> None:
        self.ecrivain.write(texte.encode() if isinstance(texte, str) else texte)
        await self.ecrivain.drain()

    def uids(self) -> list[int]:
        assert self.selection is not None
        return sorted(int(p.stem) for p in self.selection.glob("*.eml"))

    async def servir(self) -> None:
        await self.ecrire(
            "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] operateur MSSante bac a sable\r\n"
        )
        while True:
            ligne = await self.lecteur.readline()
            if not ligne:
                return
            morceaux = ligne.decode("utf-8", "replace").rstrip("\r\n").split(" ", 2)
            if len(morceaux) < 2:
                await self.ecrire("* BAD commande illisible\r\n")
                continue
            etiquette, commande = morceaux[0], morceaux[1].upper()
            reste = morceaux[2] if len(morceaux) > 2 else ""
            if commande == "UID":
                sous, _, reste = reste.partition(" ")
                commande = f"UID {sous.upper()}"
            methode = getattr(self, "cmd_" + commande.replace(" ", "_").lower(), None)
            if methode is None:
                await self.ecrire(f"{etiquette} BAD commande inconnue ou non prise en charge\r\n")
                continue
            try:
                if await methode(etiquette, reste) == "fin":
                    return
            except ValueError as erreur:
                await self.ecrire(f"{etiquette} BAD {erreur}\r\n")

    async def cmd_capability(self, etiquette, reste):
        extra = "AUTH=EXTERNAL" if self.tls else "STARTTLS LOGINDISABLED"
        await self.ecrire(f"* CAPABILITY IMAP4rev1 {extra}\r\n{etiquette} OK CAPABILITY\r\n")

    async def cmd_noop(self, etiquette, reste):
        await self.ecrire(f"{etiquette} OK NOOP\r\n")

    async def cmd_logout(self, etiquette, reste):
        await self.ecrire(f"* BYE au revoir\r\n{etiquette} OK LOGOUT\r\n")
        return "fin"

    async def cmd_starttls(self, etiquette, reste):
        if self.tls:
            raise ValueError("TLS déjà actif")
        await self.ecrire(f"{etiquette} OK commencez la négociation TLS\r\n")
        await self.ecrivain.start_tls(self.contexte)  # certificat client exigé : échec → exception
        self.tls = True

    async def cmd_login(self, etiquette, reste):
        await self.ecrire(f"{etiquette} NO [PRIVACYREQUIRED] LOGIN désactivé : certificat client exigé\r\n")

    async def cmd_authenticate(self, etiquette, reste):
        if not self.tls or reste.split(" ")[0].upper() != "EXTERNAL":
            await self.ecrire(f"{etiquette} NO authentification EXTERNAL après STARTTLS seulement\r\n")
            return
        await self.ecrire("+ \r\n")
        reponse = (await self.lecteur.readline()).strip()
        demande = base64.b64decode(reponse).decode() if reponse not in (b"", b"=") else ""
        bal = bal_du_certificat(self.ecrivain.get_extra_info("peercert"))
        if not bal or (demande and demande.lower() != bal):
            await self.ecrire(f"{etiquette} NO [AUTHENTICATIONFAILED] identité du certificat refusée\r\n")
            return
        self.bal = bal
        self.lus = self.etat.lus.setdefault(bal, set())
        await self.ecrire(f"{etiquette} OK authentifié comme {bal}\r\n")

    def _exiger(self, selection: bool = False) -> None:
        if not self.bal:
            raise ValueError("non authentifié")
        if selection and self.selection is None:
            raise ValueError("aucune boîte sélectionnée")

    async def cmd_select(self, etiquette, reste):
        self._exiger()
        if reste.strip().strip('"').upper() != "INBOX":
            await self.ecrire(f"{etiquette} NO seule INBOX existe\r\n")
            return
        self.selection = self.etat.bal(self.bal)
        uids = self.uids()
        prochain = max(uids, default=0) + 1
        await self.ecrire(
            f"* {len(uids)} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted)\r\n"
            f"* OK [UIDVALIDITY 1] UIDs valides\r\n* OK [UIDNEXT {prochain}] prochain UID\r\n"
            f"{etiquette} OK [READ-WRITE] SELECT\r\n"
        )

    def _ensemble(self, texte: str) -> list[int]:
        """Un ensemble d'UID IMAP : « 1,3:5,7:* »."""
        uids = self.uids()
        haut = max(uids, default=0)
        voulus: set[int] = set()
        for morceau in texte.split(","):
            debut, _, fin = morceau.partition(":")
            a = haut if debut == "*" else int(debut)
            b = a if not fin else (haut if fin == "*" else int(fin))
            voulus.update(range(min(a, b), max(a, b) + 1))
        return [u for u in uids if u in voulus]

    async def cmd_uid_search(self, etiquette, reste):
        self._exiger(selection=True)
        critere = reste.strip().upper()
        uids = self.uids()
        if critere in ("UNSEEN", "NOT SEEN"):
            uids = [u for u in uids if u not in self.lus]
        elif critere == "UNDELETED":
            uids = [u for u in uids if u not in self.supprimes]
        elif critere != "ALL":
            raise ValueError("critère de recherche non pris en charge (ALL, UNSEEN, UNDELETED)")
        await self.ecrire(f"* SEARCH {' '.join(map(str, uids))}\r\n{etiquette} OK SEARCH\r\n")

    async def cmd_uid_fetch(self, etiquette, reste):
        self._exiger(selection=True)
        ensemble, _, objets = reste.partition(" ")
        objets = objets.upper()
        if not any(o in objets for o in ("RFC822", "BODY[]", "BODY.PEEK[]", "FLAGS")):
            raise ValueError("objets non pris en charge (RFC822, BODY[], BODY.PEEK[], FLAGS)")
        for numero, uid in enumerate(self._ensemble(ensemble), start=1):
            if "PEEK" not in objets and ("RFC822" in objets or "BODY[]" in objets):
                self.lus.add(uid)
            drapeaux = self._drapeaux(uid)
            if "FLAGS" in objets and not any(o in objets for o in ("RFC822", "BODY")):
                await self.ecrire(f"* {numero} FETCH (UID {uid} FLAGS ({drapeaux}))\r\n")
                continue
            octets = (self.selection / f"{uid}.eml").read_bytes()
            nom = "RFC822" if "RFC822" in objets else "BODY[]"
            await self.ecrire(f"* {numero} FETCH (UID {uid} FLAGS ({drapeaux}) {nom} {{{len(octets)}}}\r\n")
            await self.ecrire(octets + b")\r\n")
        await self.ecrire(f"{etiquette} OK FETCH\r\n")

    def _drapeaux(self, uid: int) -> str:
        return " ".join(n for n, e in (("\\Seen", self.lus), ("\\Deleted", self.supprimes)) if uid in e)

    async def cmd_uid_store(self, etiquette, reste):
        self._exiger(selection=True)
        ensemble, _, suite = reste.partition(" ")
        operation, _, drapeaux = suite.partition(" ")
        drapeaux = drapeaux.strip("()").upper().split()
        for uid in self._ensemble(ensemble):
            for drapeau, ensemble_local in (("\\SEEN", self.lus), ("\\DELETED", self.supprimes)):
                if drapeau in drapeaux:
                    if operation.upper().startswith("-"):
                        ensemble_local.discard(uid)
                    else:
                        ensemble_local.add(uid)
            if ".SILENT" not in operation.upper():
                await self.ecrire(f"* 1 FETCH (UID {uid} FLAGS ({self._drapeaux(uid)}))\r\n")
        await self.ecrire(f"{etiquette} OK STORE\r\n")

    async def cmd_expunge(self, etiquette, reste):
        self._exiger(selection=True)
        uids = self.uids()
        with self.etat.verrou:
            for rang, uid in reversed(list(enumerate(uids, start=1))):
                if uid in self.supprimes:
                    (self.selection / f"{uid}.eml").unlink(missing_ok=True)
                    await self.ecrire(f"* {rang} EXPUNGE\r\n")
        self.supprimes.clear()
        await self.ecrire(f"{etiquette} OK EXPUNGE\r\n")

    async def cmd_close(self, etiquette, reste):
        self.selection = None
        await self.ecrire(f"{etiquette} OK CLOSE\r\n")


# --- Contrôle HTTP --------------------------------------------------------------------------------


def serveur_controle(etat: Etat, port: int) -> ThreadingHTTPServer:
    """GET /etat, /messages, /receptions ; POST /mode {"panne": bool, "delai": s, "delai_reponse": s},
    /reinitialiser, /vider."""

    class Controle(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return None

        def _json(self, donnees, code: int = 200) -> None:
            corps = json.dumps(donnees).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(corps)))
            self.end_headers()
            self.wfile.write(corps)

        def do_GET(self) -> None:  # noqa: N802
            with etat.verrou:
                if self.path == "/etat":
                    self._json(etat.mode())
                elif self.path == "/messages":
                    self._json(list(etat.index))
                elif self.path == "/receptions":
                    self._json(dict(etat.receptions))
                else:
                    self._json({"erreur": "chemin inconnu"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            longueur = int(self.headers.get("Content-Length") or 0)
            donnees = json.loads(self.rfile.read(longueur) or b"{}")
            if self.path == "/mode":
                etat.panne = bool(donnees.get("panne", etat.panne))
                etat.delai = float(donnees.get("delai", etat.delai))
                etat.delai_reponse = float(donnees.get("delai_reponse", etat.delai_reponse))
            elif self.path == "/reinitialiser":
                etat.panne, etat.delai, etat.delai_reponse = False, 0.0, 0.0
            elif self.path == "/vider":
                etat.vider()
            else:
                self._json({"erreur": "chemin inconnu"}, 404)
                return
            self._json(etat.mode())

    serveur = ThreadingHTTPServer(("127.0.0.1", port), Controle)
    threading.Thread(target=serveur.serve_forever, daemon=True).start()
    return serveur


# --- Processus ------------------------------------------------------------------------------------


async def servir(dossier: Path, ports: dict[str, int], bal_application: str) -> None:
    from aiosmtpd.smtp import SMTP

    pki = generer_pki(dossier / "pki", bal_application)
    contexte = contexte_serveur(pki)
    etat = Etat(dossier)
    boucle = asyncio.get_running_loop()
    serveurs = [
        await boucle.create_server(
            lambda: SMTP(Gestionnaire(etat, "mssante"), tls_context=contexte, require_starttls=True,
                         hostname="operateur.mssante.fr", enable_SMTPUTF8=True, data_size_limit=TAILLE_MAX),
            "127.0.0.1", ports["smtp"],
        ),
        await boucle.create_server(
            lambda: SMTP(Gestionnaire(etat, "courriel"), hostname="courriel.bac-a-sable",
                         enable_SMTPUTF8=True, data_size_limit=TAILLE_MAX),
            "127.0.0.1", ports["courriel"],
        ),
        await asyncio.start_server(
            lambda lecteur, ecrivain: _imap(etat, contexte, lecteur, ecrivain), "127.0.0.1", ports["imap"]
        ),
    ]  # fmt: skip
    controle = serveur_controle(etat, ports["controle"])
    arret = asyncio.Event()
    for signe in (signal.SIGTERM, signal.SIGINT):
        boucle.add_signal_handler(signe, arret.set)
    print(f"Opérateur MSSanté (bac à sable) prêt : {json.dumps(ports)}", flush=True)
    await arret.wait()
    controle.shutdown()
    for serveur in serveurs:
        serveur.close()


async def _imap(etat, contexte, lecteur, ecrivain) -> None:
    session = SessionImap(etat, contexte, lecteur, ecrivain)
    with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
        await session.servir()
    with contextlib.suppress(Exception):
        ecrivain.close()


def main(argv: list[str] | None = None) -> int:
    analyseur = argparse.ArgumentParser(prog="python -m sandbox.mssante", description=__doc__.split("\n")[0])
    analyseur.add_argument("--dossier", type=Path, required=True)
    analyseur.add_argument("--port-smtp", type=int, default=8587)
    analyseur.add_argument("--port-imap", type=int, default=8143)
    analyseur.add_argument("--port-courriel", type=int, default=8025)
    analyseur.add_argument("--port-controle", type=int, default=8588)
    analyseur.add_argument("--bal-application", default=BAL_APPLICATION)
    arguments = analyseur.parse_args(argv)
    ports = {"smtp": arguments.port_smtp, "imap": arguments.port_imap, "courriel": arguments.port_courriel,
             "controle": arguments.port_controle}  # fmt: skip
    asyncio.run(servir(arguments.dossier, ports, arguments.bal_application.lower()))
    return 0


# --- Client pour les tests et les bancs -----------------------------------------------------------


@dataclass
class MessageRecu:
    message_id: str
    port: str
    de: str
    a: list[str]
    fichier: Path
    message: EmailMessage

    @property
    def sujet(self) -> str:
        return str(self.message["Subject"])

    def piece(self, nom: str) -> bytes | None:
        for partie in self.message.walk():
            if partie.get_filename() == nom:
                return partie.get_payload(decode=True)
        return None


@dataclass
class OperateurMSSante:
    """Le processus opérateur : démarrer, arrêter, redémarrer (mêmes ports), lire, régler le mode."""

    dossier: Path
    bal_application: str = BAL_APPLICATION
    ports: dict[str, int] = field(default_factory=dict)
    enfant: Child | None = None

    @classmethod
    def demarrer(cls, dossier: Path, *, bal_application: str = BAL_APPLICATION, **ports: int):
        dossier = Path(dossier)
        dossier.mkdir(parents=True, exist_ok=True)
        tous = {nom: ports.get(nom) or _free_port() for nom in ("smtp", "imap", "courriel", "controle")}
        operateur = cls(dossier, bal_application.lower(), tous)
        operateur.lancer()
        return operateur

    @property
    def pki(self) -> Pki:
        return Pki(self.dossier / "pki")

    @property
    def url_controle(self) -> str:
        return f"http://127.0.0.1:{self.ports['controle']}"

    def lancer(self) -> None:
        journal = open(self.dossier / "operateur.log", "ab")  # noqa: SIM115
        commande = [sys.executable, "-m", "sandbox.mssante", "--dossier", str(self.dossier),
                    "--bal-application", self.bal_application,
                    *(a for nom, p in self.ports.items() for a in (f"--port-{nom}", str(p)))]  # fmt: skip
        processus = subprocess.Popen(
            commande, stdout=journal, stderr=journal, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        self.enfant = Child("operateur-mssante", processus, signal.SIGTERM, journal)
        echeance = time.monotonic() + DELAI_DEMARRAGE
        while time.monotonic() < echeance:
            if processus.poll() is not None:
                self.arreter()
                raise RuntimeError(
                    f"L'opérateur MSSanté s'est arrêté ; voir {self.dossier / 'operateur.log'}"
                )
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url_controle}/etat", timeout=0.5).raise_for_status()
                return
            time.sleep(0.05)
        self.arreter()
        raise RuntimeError(f"L'opérateur MSSanté n'a pas répondu en {DELAI_DEMARRAGE:.0f} s.")

    def arreter(self, delai: float = 10) -> None:
        enfant, self.enfant = self.enfant, None
        if enfant is None:
            return
        if enfant.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                enfant.process.send_signal(enfant.stop_signal)
        try:
            enfant.process.wait(delai)
        except subprocess.TimeoutExpired:
            enfant.process.kill()
            enfant.process.wait()
        if enfant.log is not None:
            enfant.log.close()

    def redemarrer(self) -> None:
        self.arreter()
        self.lancer()

    @property
    def en_marche(self) -> bool:
        return self.enfant is not None and self.enfant.process.poll() is None

    def _post(self, chemin: str, donnees: dict | None = None) -> dict:
        reponse = requests.post(f"{self.url_controle}{chemin}", json=donnees or {}, timeout=5)
        reponse.raise_for_status()
        return reponse.json()

    def regler(
        self, *, panne: bool | None = None, delai: float | None = None, delai_reponse: float | None = None
    ) -> dict:
        """Panne simulée (421 à chaque message), délai avant de lire un message, et délai entre son
        stockage et la réponse « 250 », en secondes."""
        reglages = (("panne", panne), ("delai", delai), ("delai_reponse", delai_reponse))
        donnees = {k: v for k, v in reglages if v is not None}
        return self._post("/mode", donnees)

    def reinitialiser(self) -> dict:
        return self._post("/reinitialiser")

    def vider(self) -> None:
        self._post("/vider")

    def receptions(self, message_id: str | None = None):
        """Réceptions par Message-ID (toutes, ou le nombre pour l'un)."""
        toutes = requests.get(f"{self.url_controle}/receptions", timeout=5).json()
        return toutes if message_id is None else toutes.get(message_id, 0)

    def messages(self) -> list[MessageRecu]:
        """Les messages stockés (un par Message-ID), lus et analysés."""
        recus = []
        for entree in requests.get(f"{self.url_controle}/messages", timeout=5).json():
            fichier = Path(entree["fichier"])
            message = email.message_from_bytes(fichier.read_bytes(), policy=email.policy.default)
            recus.append(MessageRecu(entree["message_id"], entree["port"], entree["de"], entree["a"],
                                     fichier, message))  # fmt: skip
        return recus

    def message(self, message_id: str) -> MessageRecu | None:
        return next((m for m in self.messages() if m.message_id == message_id), None)

    def bal(self, adresse: str) -> list[Path]:
        """Les messages (fichiers) de la BAL `adresse`, tels que l'IMAP les sert."""
        return sorted((self.dossier / "bal" / adresse.lower()).glob("*.eml"), key=lambda p: int(p.stem))

    def __enter__(self) -> OperateurMSSante:
        return self

    def __exit__(self, *exc) -> None:
        self.arreter()


if __name__ == "__main__":
    sys.exit(main())
