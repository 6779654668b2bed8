"""Une clé de sécurité logicielle pour les tests sans navigateur : elle répond aux options WebAuthn
que le portail (allauth + fido2) met dans la page, comme le ferait le navigateur avec une vraie clé
(attestation « none », clé P-256). Les tests de navigateur utilisent, eux, l'authentificateur
virtuel de Chromium."""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import sha256
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)

DRAPEAUX = AuthenticatorData.FLAG


def _options(options) -> dict:
    """Les options telles que le navigateur les reçoit (JSON de la page)."""
    return json.loads(json.dumps(options))["publicKey"]


class CleVirtuelle:
    def __init__(self, origine: str = "http://testserver") -> None:
        self.origine = origine
        self.cle_privee = ec.generate_private_key(ec.SECP256R1())
        self.identifiant = os.urandom(16)
        self.compteur = 0

    def enregistrer(self, options_creation) -> str:
        """Réponse à `navigator.credentials.create` (champ « credential » du formulaire d'ajout)."""
        options = _options(options_creation)
        donnees_cle = AttestedCredentialData.create(
            b"\0" * 16, self.identifiant, ES256.from_cryptography_key(self.cle_privee.public_key())
        )
        donnees = AuthenticatorData.create(
            sha256(options["rp"]["id"].encode()), DRAPEAUX.AT | DRAPEAUX.UP | DRAPEAUX.UV, 0, donnees_cle
        )
        client = CollectedClientData.create(
            type="webauthn.create", challenge=options["challenge"], origin=self.origine
        )
        reponse = RegistrationResponse(
            raw_id=self.identifiant,
            response=AuthenticatorAttestationResponse(
                client_data=client, attestation_object=AttestationObject.create("none", donnees, {})
            ),
        )
        return json.dumps({**dict(reponse), "clientExtensionResults": {"credProps": {"rk": False}}})

    def signer(self, options_demande) -> str:
        """Réponse à `navigator.credentials.get` (champ « credential » du formulaire de connexion)."""
        options = _options(options_demande)
        self.compteur += 1
        donnees = AuthenticatorData.create(
            sha256(options["rpId"].encode()), DRAPEAUX.UP | DRAPEAUX.UV, self.compteur
        )
        client = CollectedClientData.create(
            type="webauthn.get", challenge=options["challenge"], origin=self.origine
        )
        signature = self.cle_privee.sign(donnees + client.hash, ec.ECDSA(hashes.SHA256()))
        reponse = AuthenticationResponse(
            raw_id=self.identifiant,
            response=AuthenticatorAssertionResponse(
                client_data=client, authenticator_data=donnees, signature=signature
            ),
        )
        return json.dumps(dict(reponse))
