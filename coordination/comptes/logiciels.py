"""Clients logiciels : émission, révocation, et l'acteur qu'un jeton OAuth2 représente.

Un client logiciel est un couple (application OAuth2 de django-oauth-toolkit, structure) : le
logiciel obtient un jeton à `/o/token/` (grant « client_credentials ») et agit ensuite pour le
compte de sa structure, en tant qu'`Acteur` de type LOGICIEL
(voir docs/decisions/0010-clients-logiciels-oauth2.md).
Le secret n'est connu qu'à l'émission : il est haché en base par django-oauth-toolkit.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken, get_application_model

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.comptes.models import ClientLogiciel
from coordination.journal.services import journaliser

if TYPE_CHECKING:
    from coordination.personnes.models import Structure

# Portées d'un client qui lit et écrit tout ce que le portail expose en FHIR (SMART « system/ »).
PORTEES_PAR_DEFAUT = ("system/*.read", "system/*.write")


def _nouveau_secret() -> str:
    return secrets.token_urlsafe(48)


def emettre_client(
    *, acteur: Acteur, structure: Structure, nom: str, portees: list[str] | tuple[str, ...]
) -> tuple[ClientLogiciel, str]:
    """Crée l'application OAuth2 (client confidentiel, client_credentials) et son client logiciel.

    Renvoie le client et le secret en clair : l'appelant le montre une seule fois, il n'est
    conservé que haché. Journalise « client_logiciel.emission »."""
    from coordination.fhir.portees import verifier_portees

    portees = verifier_portees(portees)
    Application = get_application_model()
    secret = _nouveau_secret()
    with transaction.atomic():
        application = Application.objects.create(
            name=nom[:255],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
            skip_authorization=True,
        )
        client = ClientLogiciel.objects.create(
            application=application,
            structure=structure,
            nom=nom,
            portees=" ".join(portees),
            emis_par=acteur.compte,
        )
        journaliser(
            acteur=acteur,
            action="client_logiciel.emission",
            objet=client,
            details={"structure": str(structure.uuid), "portees": list(portees)},
        )
    return client, secret


def revoquer_client(*, acteur: Acteur, client: ClientLogiciel) -> ClientLogiciel:
    """Révoque un client : jetons effacés, secret remplacé par un secret inconnu, date gardée.

    Les jetons déjà émis cessent de valoir à la requête suivante. Journalise
    « client_logiciel.revocation »."""
    with transaction.atomic():
        client = ClientLogiciel.objects.select_for_update().select_related("application").get(pk=client.pk)
        if client.revoque_le is not None:
            return client
        application = client.application
        RefreshToken.objects.filter(application=application).delete()
        AccessToken.objects.filter(application=application).delete()
        application.client_secret = _nouveau_secret()
        application.save(update_fields=["client_secret"])
        client.revoque_le = timezone.now()
        client.save(update_fields=["revoque_le", "modifie_le"])
        journaliser(acteur=acteur, action="client_logiciel.revocation", objet=client)
    return client


def acteur_du_jeton(jeton: AccessToken) -> Acteur | None:
    """L'acteur que représente un jeton valide, ou None si l'application n'est pas un client
    logiciel actif (application sans structure, client révoqué)."""
    application = jeton.application
    if application is None:
        return None
    try:
        client = ClientLogiciel.objects.select_related("structure").get(application=application)
    except ClientLogiciel.DoesNotExist:
        return None
    if not client.actif:
        return None
    return Acteur(
        TypeActeur.LOGICIEL,
        compte=None,
        nom_systeme=client.nom,
        structure_logiciel=client.structure,
    )
