"""Portées OAuth2 des clients logiciels, à la manière de SMART on FHIR v1 (« system/ ») :
`system/*.read`, `system/*.write`, ou par type `system/Organization.read`.

`PorteesFHIR` est le SCOPES_BACKEND_CLASS de django-oauth-toolkit : la liste des portées vient du
registre FHIR ; un client ne peut obtenir que les portées inscrites sur son `ClientLogiciel`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from oauth2_provider.scopes import BaseScopes

MODES = ("read", "write")


def toutes_les_portees() -> dict[str, str]:
    from coordination.fhir.registre import registre

    portees = {
        "system/*.read": "Lire toutes les ressources FHIR permises à la structure",
        "system/*.write": "Créer et modifier toutes les ressources FHIR permises à la structure",
    }
    for ressource in registre.ressources():
        portees[f"system/{ressource.type}.read"] = f"Lire les ressources {ressource.type}"
        portees[f"system/{ressource.type}.write"] = f"Créer et modifier les ressources {ressource.type}"
    return portees


def verifier_portees(portees) -> tuple[str, ...]:
    """Normalise une liste de portées (sans doublon, dans l'ordre) ; ValidationError si l'une est
    inconnue."""
    connues = toutes_les_portees()
    vues: list[str] = []
    for portee in portees:
        portee = portee.strip()
        if not portee:
            continue
        if portee not in connues:
            raise ValidationError(
                f"Portée inconnue : « {portee} ». Portées possibles : {', '.join(connues)}."
            )
        if portee not in vues:
            vues.append(portee)
    if not vues:
        raise ValidationError("Indiquez au moins une portée.")
    return tuple(vues)


def portee_requise(type_ressource: str, *, ecriture: bool) -> str:
    return f"system/{type_ressource}.{'write' if ecriture else 'read'}"


def portees_couvrent(portees: frozenset[str], type_ressource: str, *, ecriture: bool) -> bool:
    mode = "write" if ecriture else "read"
    return bool(portees & {f"system/*.{mode}", f"system/{type_ressource}.{mode}"})


class PorteesFHIR(BaseScopes):
    def get_all_scopes(self):
        return toutes_les_portees()

    @staticmethod
    def _portees_du_client(application) -> list[str]:
        client = getattr(application, "client_logiciel", None) if application is not None else None
        if client is None or not client.actif:
            return []
        return client.liste_portees

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        """Les portées du client, et pour `system/*.read` (ou write) chacune des portées par type
        qu'elle couvre : un logiciel peut demander un jeton plus étroit que ce qu'il a le droit."""
        permises = self._portees_du_client(application)
        etendues = list(permises)
        for portee in toutes_les_portees():
            mode = portee.rsplit(".", 1)[1]
            if f"system/*.{mode}" in permises and portee not in etendues:
                etendues.append(portee)
        return etendues

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self._portees_du_client(application)
