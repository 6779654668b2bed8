"""Pro Santé Connect en mTLS : le fournisseur du bac à sable servi en HTTPS exige, à l'adresse de
jeton, le certificat client enregistré pour le portail (liaison par empreinte, RFC 8705), en plus
du secret. Les certificats (autorité de test, serveur 127.0.0.1, clients) sont fabriqués pour le
module ; le portail les reçoit par ses réglages PSC_CERTIFICAT_CLIENT / PSC_CLE_CLIENT, comme en
production."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coordination.comptes.models import IdentiteExterne
from sandbox.fournisseurs import psc as bac_psc
from sandbox.fournisseurs.serveur import demarrer
from tests.test_psc import GIRAUD, assert_refus, se_connecter

pytestmark = pytest.mark.django_db


@dataclass
class Certificat:
    certificat: Path
    cle: Path
    sha256: str


def _nom(commun: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commun)])


def _emettre(
    dossier: Path, nom: str, autorite, cle_autorite, *, ca=False, ip=None
) -> tuple[Certificat, object, object]:
    cle = ec.generate_private_key(ec.SECP256R1())
    maintenant = dt.datetime.now(dt.UTC)
    constructeur = (
        x509.CertificateBuilder()
        .subject_name(_nom(nom))
        .issuer_name(autorite.subject if autorite is not None else _nom(nom))
        .public_key(cle.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(maintenant - dt.timedelta(minutes=5))
        .not_valid_after(maintenant + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip is not None:
        constructeur = constructeur.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    certificat = constructeur.sign(cle_autorite if cle_autorite is not None else cle, hashes.SHA256())
    chemin_certificat, chemin_cle = dossier / f"{nom}.pem", dossier / f"{nom}.key"
    chemin_certificat.write_bytes(certificat.public_bytes(serialization.Encoding.PEM))
    chemin_cle.write_bytes(
        cle.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    empreinte = hashlib.sha256(certificat.public_bytes(serialization.Encoding.DER)).hexdigest()
    return Certificat(chemin_certificat, chemin_cle, empreinte), certificat, cle


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    dossier = tmp_path_factory.mktemp("pki")
    autorite, cert_autorite, cle_autorite = _emettre(dossier, "autorite-test", None, None, ca=True)
    serveur, _, _ = _emettre(dossier, "psc-bac-a-sable", cert_autorite, cle_autorite, ip="127.0.0.1")
    portail, _, _ = _emettre(dossier, "portail-coordination", cert_autorite, cle_autorite)
    intrus, _, _ = _emettre(dossier, "autre-logiciel", cert_autorite, cle_autorite)
    return {"autorite": autorite, "serveur": serveur, "portail": portail, "intrus": intrus}


@pytest.fixture(scope="module")
def serveur_psc_tls(pki):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(pki["serveur"].certificat, pki["serveur"].cle)
    tls.load_verify_locations(pki["autorite"].certificat)
    tls.verify_mode = ssl.CERT_OPTIONAL  # le navigateur n'en présente pas ; l'adresse de jeton l'exige
    serveur = demarrer(bac_psc.fournisseur_psc(), tls=tls)
    yield serveur
    serveur.arreter()


@pytest.fixture
def psc(serveur_psc_tls, pki, settings, monkeypatch):
    fournisseur = serveur_psc_tls.fournisseur
    client = fournisseur.clients[bac_psc.CLIENT_ID_DEFAUT]
    client.signature, client.userinfo, client.alterations = "HS256", "json", set()
    client.certificat_sha256 = pki["portail"].sha256
    # L'autorité de test, pour vérifier le serveur HTTPS du fournisseur (portail et « navigateur »).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["autorite"].certificat))
    settings.PSC_EMETTEUR = fournisseur.emetteur
    settings.PSC_CLIENT_ID = bac_psc.CLIENT_ID_DEFAUT
    settings.PSC_CLIENT_SECRET = bac_psc.SECRET_DEFAUT
    settings.PSC_ADRESSE_AUTORISATION = ""
    settings.PSC_CERTIFICAT_CLIENT = str(pki["portail"].certificat)
    settings.PSC_CLE_CLIENT = str(pki["portail"].cle)
    return fournisseur


def test_fournisseur_en_https_exige_le_certificat_a_l_adresse_de_jeton(psc, pki):
    assert psc.emetteur.startswith("https://127.0.0.1:")
    # Sans certificat client : la découverte répond (elle ne l'exige pas), le jeton non.
    assert requests.get(psc.adresse_decouverte, timeout=5).status_code == 200
    jeton = psc.decouverte()["token_endpoint"]
    reponse = requests.post(
        jeton, data={"grant_type": "authorization_code", "code": "x"},
        auth=(bac_psc.CLIENT_ID_DEFAUT, bac_psc.SECRET_DEFAUT), timeout=5,
    )  # fmt: skip
    assert reponse.status_code == 401 and "mTLS" in reponse.json()["error_description"]


def test_connexion_avec_le_certificat_client_du_portail(client, psc):
    reponse = se_connecter(client, psc, GIRAUD.idnat_ps)
    assert reponse.status_code == 302
    assert "_auth_user_id" in client.session
    assert IdentiteExterne.objects.get().sub == GIRAUD.idnat_ps


def test_sans_certificat_client_configure_le_jeton_est_refuse(client, psc, settings):
    settings.PSC_CERTIFICAT_CLIENT = settings.PSC_CLE_CLIENT = ""
    reponse = se_connecter(client, psc, GIRAUD.idnat_ps)
    assert_refus(reponse, "jeton_refuse", "Pro Santé Connect a refusé de finaliser la connexion")
    assert "mTLS" in reponse.content.decode()


def test_certificat_d_un_autre_logiciel_refuse(client, psc, pki, settings):
    settings.PSC_CERTIFICAT_CLIENT = str(pki["intrus"].certificat)
    settings.PSC_CLE_CLIENT = str(pki["intrus"].cle)
    reponse = se_connecter(client, psc, GIRAUD.idnat_ps)
    assert_refus(reponse, "jeton_refuse", "Pro Santé Connect a refusé de finaliser la connexion")
    assert IdentiteExterne.objects.count() == 0
