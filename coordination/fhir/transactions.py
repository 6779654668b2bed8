"""Bundles `transaction` et `batch` (POST sur la base FHIR).

- `transaction` : tout ou rien. Toutes les entrées s'exécutent dans une seule transaction de base
  de données ; la première erreur annule tout et la réponse est un OperationOutcome (400, 404,
  412, 422… selon l'erreur) dont l'expression situe l'entrée fautive (`Bundle.entry[3]`).
- `batch` : entrées indépendantes ; chacune réussit ou échoue seule (point de sauvegarde), et la
  réponse `batch-response` porte le statut de chacune.

Avant d'exécuter, le serveur attribue un UUID à chaque création et réécrit les références internes
au Bundle : `fullUrl` en `urn:uuid:…` et, par tolérance pour les exemples des volets CI-SIS,
« Type/id » quand `id` est celui d'une ressource créée dans le même Bundle. Les méthodes permises
sont celles du gestionnaire (`methodes_transaction`, POST et PUT par défaut : invariant req-met).
Ordre d'exécution (règle FHIR) : créations, puis mises à jour ; parmi les créations, les ressources
citées d'abord (`rang_transaction` : Patient et Organization, puis RelatedPerson, puis CareTeam) ;
réponses dans l'ordre des entrées. Dans une transaction, les créations consécutives d'un même type
passent ensemble au gestionnaire (`creer_plusieurs`) : un Bundle de 100 notes du cahier se résout
et s'écrit en autant de requêtes qu'un Bundle d'une note (ADR 0020). Une création qui désigne une
ressource déjà connue (Patient reconnu par son INS…) répond 200, et les références des entrées
suivantes visent cette ressource.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.db import transaction

from coordination.fhir import erreurs
from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.registre import Creation, Interaction, registre
from coordination.fhir.validation import valider
from coordination.fhir.versions import instant_fhir

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.registre import Representation, Ressource

ENTREES_MAX = 200


@dataclass
class Operation:
    rang: int
    methode: str
    gestionnaire: Ressource
    ressource: dict
    id_logique: str | None  # PUT : id de l'adresse ; POST : UUID attribué
    version_attendue: str | None

    @property
    def chemin(self) -> str:
        return f"Bundle.entry[{self.rang}]"


def statut(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def _adresse_relative(contexte: Contexte, url: str) -> str:
    if url.startswith(contexte.base + "/"):
        return url[len(contexte.base) + 1 :]
    return url


def _operation(contexte: Contexte, rang: int, entree: dict) -> Operation:
    chemin = f"Bundle.entry[{rang}]"
    requete = entree.get("request") or {}
    methode = requete.get("method")
    url = _adresse_relative(contexte, requete.get("url") or "")
    if not methode or not url:
        raise erreurs.requete_invalide(f"{chemin} : request.method et request.url sont obligatoires.",
                                       expression=[f"{chemin}.request"])  # fmt: skip
    if "?" in url or requete.get("ifNoneExist"):
        raise erreurs.requete_invalide(
            f"{chemin} : les créations et mises à jour conditionnelles ne sont pas prises en charge.",
            expression=[f"{chemin}.request.url"],
        )
    morceaux = url.strip("/").split("/")
    type_ressource = morceaux[0]
    ressource = entree.get("resource")
    if not isinstance(ressource, dict):
        raise erreurs.requete_invalide(
            f"{chemin} : la ressource est absente.", expression=[f"{chemin}.resource"]
        )
    if ressource.get("resourceType") != type_ressource:
        raise erreurs.requete_invalide(
            f"{chemin} : la ressource est de type {ressource.get('resourceType')} "
            f"mais request.url vise {type_ressource[:64]}.",
            expression=[f"{chemin}.resource.resourceType"],
        )
    gestionnaire = registre.obtenir(type_ressource)
    if methode not in gestionnaire.methodes_transaction:
        permises = " ou ".join(sorted(gestionnaire.methodes_transaction))
        raise erreurs.requete_invalide(
            f"{chemin} : méthode {methode} refusée pour {type_ressource} dans un Bundle "
            f"(req-met : {permises}).",
            expression=[f"{chemin}.request.method"],
        )
    if methode == "POST":
        # « Type/id » en POST (exemples CdL) : l'id proposé est ignoré, le serveur attribue le sien.
        interaction, id_logique = Interaction.CREATE, str(uuid.uuid4())
    else:
        if len(morceaux) != 2:
            raise erreurs.requete_invalide(
                f"{chemin} : un PUT vise « Type/id ».", expression=[f"{chemin}.request.url"]
            )
        interaction, id_logique = Interaction.UPDATE, morceaux[1]
        if ressource.get("id") not in (None, id_logique):
            raise erreurs.requete_invalide(
                f"{chemin} : l'id de la ressource ({ressource.get('id')}) diffère de celui de "
                f"request.url ({id_logique}).",
                expression=[f"{chemin}.resource.id"],
            )
    en_transaction = interaction == Interaction.CREATE and gestionnaire.creation_en_transaction
    if not (gestionnaire.prend_en_charge(interaction) or en_transaction):
        raise erreurs.interaction_non_prise_en_charge(type_ressource, interaction)
    contexte.exiger(type_ressource, ecriture=True)
    if_match = requete.get("ifMatch")
    version = if_match.removeprefix("W/").strip('"') if if_match else None
    return Operation(rang, methode, gestionnaire, ressource, id_logique, version)


def _correspondances(entrees: list[dict], operations: list[Operation]) -> dict[str, str]:
    """Références à réécrire : fullUrl (urn:uuid:…) et « Type/id proposé » → « Type/id attribué »."""
    table: dict[str, str] = {}
    for operation in operations:
        cible = f"{operation.gestionnaire.type}/{operation.id_logique}"
        full_url = entrees[operation.rang].get("fullUrl")
        if full_url:
            table[full_url] = cible
        propose = operation.ressource.get("id")
        if operation.methode == "POST" and propose:
            table[f"{operation.gestionnaire.type}/{propose}"] = cible
    return table


def _reecrire(valeur, table: dict[str, str]):
    if isinstance(valeur, dict):
        return {
            cle: (table.get(v, v) if cle == "reference" and isinstance(v, str) else _reecrire(v, table))
            for cle, v in valeur.items()
        }
    if isinstance(valeur, list):
        return [_reecrire(v, table) for v in valeur]
    return valeur


def _executer(contexte: Contexte, operation: Operation) -> tuple[int, Representation]:
    ressource = dict(operation.ressource)
    if operation.methode == "POST":
        ressource.pop("id", None)
        representation = operation.gestionnaire.creer(
            contexte, ressource, id_logique=uuid.UUID(operation.id_logique)
        )
        return (200 if representation.existante else 201), representation
    representation, cree = operation.gestionnaire.modifier(
        contexte, operation.id_logique, ressource, version_attendue=operation.version_attendue
    )
    return (201 if cree else 200), representation


def _sans_id(ressource: dict) -> dict:
    ressource = dict(ressource)
    ressource.pop("id", None)
    return ressource


def _references(valeur) -> set[str]:
    if isinstance(valeur, dict):
        trouvees = {valeur["reference"]} if isinstance(valeur.get("reference"), str) else set()
        for sous_valeur in valeur.values():
            trouvees |= _references(sous_valeur)
        return trouvees
    if isinstance(valeur, list):
        return set().union(*(_references(v) for v in valeur)) if valeur else set()
    return set()


def _groupes(operations: list[Operation], table: dict[str, str]) -> list[list[Operation]]:
    """Les opérations ordonnées, par groupes : les créations consécutives d'un même type ensemble,
    sauf si l'une cite une création du même groupe (réponse à une note du même Bundle : elle
    attend que la première soit écrite) ; chaque mise à jour seule."""
    groupes: list[list[Operation]] = []
    cibles: set[str] = set()  # « Type/id attribué » des créations du groupe en cours
    for operation in operations:
        precedent = groupes[-1][0] if groupes else None
        citees = {table.get(r, r) for r in _references(operation.ressource)} if precedent else set()
        if (
            operation.methode == "POST"
            and precedent is not None
            and precedent.methode == "POST"
            and precedent.gestionnaire is operation.gestionnaire
            and not citees & cibles
        ):
            groupes[-1].append(operation)
        else:
            groupes.append([operation])
            cibles = set()
        cibles.add(f"{operation.gestionnaire.type}/{operation.id_logique}")
    return groupes


def _reponse(code: int, representation: Representation, avec_ressource: bool) -> dict:
    reponse = {"status": statut(code), "location": f"{representation.type}/{representation.id}"}
    if representation.version is not None:
        reponse["location"] += f"/_history/{representation.version}"
        reponse["etag"] = representation.etag
    reponse["lastModified"] = instant_fhir(representation.derniere_maj)
    entree = {"response": reponse}
    if avec_ressource:
        entree = {"resource": representation.ressource, **entree}
    return entree


def _ordre(operations: list[Operation]) -> list[Operation]:
    return sorted(operations, key=lambda o: (o.methode != "POST", o.gestionnaire.rang_transaction, o.rang))


def _suivre(table: dict[str, str], operation: Operation, representation) -> None:
    """Une création qui a désigné une ressource existante (autre id que celui attribué) : les
    références des entrées suivantes visent cette ressource."""
    if operation.methode != "POST" or representation.id == operation.id_logique:
        return
    attribuee = f"{operation.gestionnaire.type}/{operation.id_logique}"
    existante = f"{representation.type}/{representation.id}"
    for cle, valeur in list(table.items()):
        if valeur == attribuee:
            table[cle] = existante
    table[attribuee] = existante


def traiter(contexte: Contexte, corps, *, avec_ressources: bool = False) -> dict:
    """Exécute un Bundle transaction ou batch ; renvoie le Bundle de réponse. Lève ErreurFHIR
    (rien n'est écrit) si le Bundle est invalide ou si une entrée d'une transaction échoue."""
    bundle = valider(corps, type_attendu="Bundle")
    type_bundle = bundle.get("type")
    if type_bundle not in ("transaction", "batch"):
        raise erreurs.requete_invalide(
            f"Bundle.type vaut « {type_bundle} » : seuls « transaction » et « batch » sont acceptés ici.",
            expression=["Bundle.type"],
        )
    entrees = bundle.get("entry") or []
    if len(entrees) > ENTREES_MAX:
        raise erreurs.requete_invalide(
            f"Bundle : au plus {ENTREES_MAX} entrées.", expression=["Bundle.entry"]
        )
    if type_bundle == "batch":
        return _batch(contexte, entrees, avec_ressources)
    operations = []
    for rang, entree in enumerate(entrees):
        try:
            operations.append(_operation(contexte, rang, entree))
        except ErreurFHIR as erreur:
            raise erreur.avec_prefixe(f"Bundle.entry[{rang}]") from None
    table = _correspondances(entrees, operations)
    resultats: dict[int, dict] = {}
    with transaction.atomic():
        for groupe in _groupes(_ordre(operations), table):
            for operation in groupe:
                operation.ressource = _reecrire(operation.ressource, table)
            if groupe[0].methode == "POST":
                # Les créations d'un même type ensemble : le gestionnaire résout et écrit en lot.
                creations = [
                    Creation(o.chemin, _sans_id(o.ressource), uuid.UUID(o.id_logique)) for o in groupe
                ]
                representations = groupe[0].gestionnaire.creer_plusieurs(contexte, creations)
                executees = [(200 if r.existante else 201, r) for r in representations]
            else:
                try:
                    executees = [_executer(contexte, groupe[0])]
                except ErreurFHIR as erreur:
                    raise erreur.avec_prefixe(groupe[0].chemin) from None
            for operation, (code, representation) in zip(groupe, executees, strict=True):
                _suivre(table, operation, representation)
                resultats[operation.rang] = _reponse(code, representation, avec_ressources)
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [resultats[r] for r in sorted(resultats)],
    }


def _batch(contexte: Contexte, entrees: list[dict], avec_ressources: bool) -> dict:
    reponses: dict[int, dict] = {}
    operations = []
    for rang, entree in enumerate(entrees):
        try:
            operations.append(_operation(contexte, rang, entree))
        except ErreurFHIR as erreur:
            reponses[rang] = _echec(erreur.avec_prefixe(f"Bundle.entry[{rang}]"))
    table = _correspondances(entrees, operations)
    for operation in _ordre(operations):
        operation.ressource = _reecrire(operation.ressource, table)
        try:
            with transaction.atomic():
                code, representation = _executer(contexte, operation)
            _suivre(table, operation, representation)
            reponses[operation.rang] = _reponse(code, representation, avec_ressources)
        except ErreurFHIR as erreur:
            reponses[operation.rang] = _echec(erreur.avec_prefixe(operation.chemin))
    return {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [reponses[r] for r in sorted(reponses)],
    }


def _echec(erreur: ErreurFHIR) -> dict:
    return {"response": {"status": statut(erreur.statut), "outcome": erreur.operation_outcome()}}
