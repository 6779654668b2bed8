"""CapabilityStatement (`GET /fhir/metadata`), engendrée depuis le registre."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from coordination.fhir.recherche import PARAMETRES_COMMUNS
from coordination.fhir.registre import Interaction, registre
from coordination.fhir.versions import instant_fhir

VERSION_FHIR = "4.0.1"
EXTENSION_OAUTH = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SYSTEME_SECURITE = "http://terminology.hl7.org/CodeSystem/restful-security-service"

# Ordre des interactions dans la déclaration (celui de la spécification).
_ORDRE = [
    Interaction.READ,
    Interaction.VREAD,
    Interaction.UPDATE,
    Interaction.HISTORY_INSTANCE,
    Interaction.HISTORY_TYPE,
    Interaction.CREATE,
    Interaction.SEARCH_TYPE,
]


def _ressource(gestionnaire) -> dict:
    declaration = {"type": gestionnaire.type}
    if gestionnaire.profil:
        declaration["profile"] = gestionnaire.profil
    if gestionnaire.documentation:
        declaration["documentation"] = gestionnaire.documentation
    declaration["interaction"] = [{"code": str(i)} for i in _ORDRE if i in gestionnaire.interactions]
    declaration["versioning"] = "versioned" if gestionnaire.versionnee else "no-version"
    declaration["readHistory"] = Interaction.VREAD in gestionnaire.interactions
    declaration["updateCreate"] = False
    declaration["conditionalCreate"] = False
    declaration["conditionalUpdate"] = Interaction.CONDITIONAL_UPDATE in gestionnaire.interactions
    if gestionnaire.inclusions:
        declaration["searchInclude"] = list(gestionnaire.inclusions)
    if Interaction.SEARCH_TYPE in gestionnaire.interactions:
        parametres = []
        for parametre in (*gestionnaire.parametres, *PARAMETRES_COMMUNS):
            entree = {"name": parametre.nom, "type": str(parametre.type)}
            if parametre.definition:
                entree["definition"] = parametre.definition
            if parametre.documentation:
                entree["documentation"] = parametre.documentation
            parametres.append(entree)
        declaration["searchParam"] = parametres
    return declaration


def capability_statement(base: str, adresse_jeton: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant_fhir(timezone.now()),
        "publisher": "Portail de coordination médico-sociale",
        "kind": "instance",
        "software": {
            "name": "Portail de coordination",
            "version": getattr(settings, "VERSION_PORTAIL", "0.1.0"),
        },
        "implementation": {"description": "API FHIR R4 du portail de coordination", "url": base},
        "fhirVersion": VERSION_FHIR,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {"url": EXTENSION_OAUTH, "extension": [{"url": "token", "valueUri": adresse_jeton}]}
                    ],
                    "service": [
                        {
                            "coding": [{"system": SYSTEME_SECURITE, "code": "SMART-on-FHIR"}],
                            "text": "OAuth2",
                        }
                    ],
                    "description": (
                        "Logiciels des structures : OAuth2 « client credentials » (jeton à l'adresse "
                        "token, portées system/*.read, system/*.write ou par type). Utilisateurs "
                        "connectés au portail (session, second facteur) : lecture seule."
                    ),
                },
                "resource": [_ressource(g) for g in registre.ressources()],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
