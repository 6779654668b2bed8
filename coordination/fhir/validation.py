"""Validation des ressources avec `fhir.resources` (module R4B ; docs/decisions/0009-api-fhir.md).

Ce que le portail accepte et produit est passé par les modèles pydantic de `fhir.resources` :
structure, types primitifs (dates, id, uri…), éléments inconnus refusés. Les profils (FR Core,
CI-SIS) ne sont pas vérifiés par ce paquet : leurs règles sont dans les correspondances de chaque
application (`<app>/fhir.py`), qui lèvent des erreurs 422 avec une expression FHIRPath.

R4B (4.3.0) et R4 (4.0.1) ont les mêmes éléments pour toutes les ressources que le portail sert ;
seul `Extension.value[x]` diffère : R4B ajoute valueCodeableReference et valueRatioRange (absents
de R4, refusés ici) et retire valueMeta (jamais utilisé par les volets CI-SIS).
"""

from __future__ import annotations

from functools import cache

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from coordination.fhir.erreurs import ErreurFHIR, Probleme, requete_invalide

# Types de valeur d'extension propres à R4B : une ressource R4 ne peut pas les porter.
VALEURS_EXTENSION_HORS_R4 = ("valueCodeableReference", "valueRatioRange")
# Garde-fous contre les charges démesurées (la taille du corps est aussi bornée par Django).
PROFONDEUR_MAX = 64
VIDES = ("", {}, [])
NOMBRE_DE_PROBLEMES_MAX = 20


@cache
def _modele(type_ressource: str):
    try:
        return get_fhir_model_class(type_ressource)
    except ValueError:
        return None


def type_fhir_connu(type_ressource: str) -> bool:
    return bool(type_ressource) and type_ressource[0].isupper() and _modele(type_ressource) is not None


def _nettoyer(valeur, chemin: str, profondeur: int = 0):
    """Retire les chaînes, objets et listes vides (FHIR les interdit, mais les exemples publiés par
    l'IG Publisher portent des chaînes vides dans les extensions de traduction : on les lit comme
    absents, comme les serveurs tolérants) ; refuse le caractère NUL (que PostgreSQL ne stocke pas)
    et les types d'extension propres à R4B."""
    if profondeur > PROFONDEUR_MAX:
        raise requete_invalide(f"Ressource trop profondément imbriquée (plus de {PROFONDEUR_MAX} niveaux).")
    if isinstance(valeur, dict):
        propre = {}
        for cle, sous_valeur in valeur.items():
            if cle in VALEURS_EXTENSION_HORS_R4:
                raise requete_invalide(
                    f"« {cle} » n'existe pas en FHIR R4 (4.0.1).", expression=[f"{chemin}.{cle}"]
                )
            sous_valeur = _nettoyer(sous_valeur, f"{chemin}.{cle}", profondeur + 1)
            if sous_valeur not in VIDES:
                propre[cle] = sous_valeur
        return propre
    if isinstance(valeur, list):
        elements = [_nettoyer(v, f"{chemin}[{i}]", profondeur + 1) for i, v in enumerate(valeur)]
        return [e for e in elements if e not in VIDES]
    if isinstance(valeur, str) and "\x00" in valeur:
        raise requete_invalide(f"{chemin} : le caractère NUL (\\u0000) est interdit.", expression=[chemin])
    return valeur


def _expression(type_ressource: str, emplacement: tuple) -> str:
    chemin = type_ressource
    for morceau in emplacement:
        if isinstance(morceau, int):
            chemin += f"[{morceau}]"
        elif morceau == "resource_type":
            chemin += ".resourceType"
        else:
            chemin += f".{morceau}"
    return chemin


_MESSAGES = {
    "extra_forbidden": "élément inconnu",
    "missing": "élément obligatoire absent",
    "list_type": "une liste est attendue",
    "dict_type": "un objet est attendu",
    "model_type": "un objet est attendu",
    "string_type": "une chaîne est attendue",
    "bool_type": "un booléen est attendu",
    "bool_parsing": "un booléen est attendu",
    "int_type": "un entier est attendu",
    "int_parsing": "un entier est attendu",
    "string_pattern_mismatch": "valeur mal formée",
    "string_too_long": "valeur trop longue",
}


def _traduire(erreur: dict) -> str:
    type_erreur = erreur.get("type", "")
    if type_erreur in _MESSAGES:
        return _MESSAGES[type_erreur]
    if "date" in erreur.get("msg", "").lower():
        return (
            "date ou instant invalide (formats FHIR : AAAA, AAAA-MM, AAAA-MM-JJ, AAAA-MM-JJThh:mm:ss+zz:zz)"
        )
    return "valeur invalide"


def erreurs_pydantic(type_ressource: str, erreur: ValidationError) -> list[Probleme]:
    problemes = []
    for detail in erreur.errors()[:NOMBRE_DE_PROBLEMES_MAX]:
        expression = _expression(type_ressource, tuple(detail.get("loc", ())))
        problemes.append(
            Probleme(f"{expression} : {_traduire(detail)}.", "structure" if "type" in detail else "invalid",
                     expression=(expression,))
        )  # fmt: skip
    return problemes


def valider(ressource, *, type_attendu: str | None = None, chemin: str | None = None) -> dict:
    """Vérifie qu'un JSON est une ressource FHIR valide (du type attendu) ; renvoie sa forme
    nettoyée (sans chaînes vides). Lève ErreurFHIR 400 avec une expression par problème."""
    if not isinstance(ressource, dict):
        raise requete_invalide("Le corps doit être un objet JSON (une ressource FHIR).")
    type_ressource = ressource.get("resourceType")
    if not isinstance(type_ressource, str) or not type_ressource:
        raise requete_invalide("« resourceType » est absent.", expression=["resourceType"])
    if type_attendu is not None and type_ressource != type_attendu:
        raise requete_invalide(
            f"« resourceType » vaut « {type_ressource[:64]} », « {type_attendu} » est attendu.",
            expression=["resourceType"],
        )
    modele = _modele(type_ressource) if type_fhir_connu(type_ressource) else None
    if modele is None:
        raise requete_invalide(
            f"« {type_ressource[:64]} » n'est pas un type de ressource FHIR.", expression=["resourceType"]
        )
    chemin = chemin or type_ressource
    propre = _nettoyer(ressource, chemin)
    try:
        modele.model_validate(propre)
    except ValidationError as erreur:
        raise ErreurFHIR(400, erreurs_pydantic(chemin, erreur)) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as erreur:
        # Validateurs de fhir.resources sur une entrée hostile (type inconnu dans `contained`…).
        raise requete_invalide(f"{chemin} : ressource invalide ({str(erreur)[:200]}).") from None
    return propre
