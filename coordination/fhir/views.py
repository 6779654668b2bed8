"""Vues HTTP de l'API FHIR R4 (`/fhir/`) : protocole REST, négociation, erreurs.

Chaque vue : négociation du format (JSON seulement), authentification (acces.py), gestionnaire du
registre, portée, puis l'interaction. Toute erreur sort en OperationOutcome ; une entrée mal formée
ne produit jamais d'erreur 500.
"""

from __future__ import annotations

import json
import uuid
from functools import wraps
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from coordination.fhir import erreurs
from coordination.fhir.acces import authentifier
from coordination.fhir.bundles import bundle_historique, bundle_recherche
from coordination.fhir.capacites import capability_statement
from coordination.fhir.contexte import Contexte
from coordination.fhir.erreurs import ErreurFHIR, Probleme, operation_outcome
from coordination.fhir.recherche import NOMBRE_MAX, NOMBRE_PAR_DEFAUT, analyser, lire_date
from coordination.fhir.registre import ECRITURES, Interaction, registre
from coordination.fhir.transactions import traiter
from coordination.fhir.validation import valider

TYPE_FHIR_JSON = "application/fhir+json"
TYPES_JSON = {"application/fhir+json", "application/json", "application/json+fhir", "json"}
TYPES_XML = {"application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir", "xml"}
TYPES_TOUT = {"*/*", "application/*"}


# --- Réponses -----------------------------------------------------------------------------------


def reponse_fhir(
    contenu: dict | None, statut: int = 200, en_tetes: dict | None = None, *, joli=False
) -> HttpResponse:
    corps = b""
    if contenu is not None:
        corps = json.dumps(contenu, ensure_ascii=False, indent=2 if joli else None).encode()
    reponse = HttpResponse(corps, status=statut, content_type=f"{TYPE_FHIR_JSON}; charset=utf-8")
    for nom, valeur in (en_tetes or {}).items():
        if valeur is not None:
            reponse[nom] = valeur
    return reponse


def reponse_erreur(erreur: ErreurFHIR) -> HttpResponse:
    return reponse_fhir(erreur.operation_outcome(), erreur.statut, erreur.en_tetes)


def _en_tetes(contexte: Contexte, representation, *, location: bool = False) -> dict:
    en_tetes = {
        "ETag": representation.etag,
        "Last-Modified": http_date(representation.derniere_maj.timestamp()),
    }
    if location:
        chemin = f"{representation.type}/{representation.id}"
        if representation.version is not None:
            chemin += f"/_history/{representation.version}"
        en_tetes["Location"] = contexte.url(chemin)
    return en_tetes


def _selon_prefer(
    contexte: Contexte, representation, statut: int, en_tetes: dict, message: str
) -> HttpResponse:
    """Corps d'une réponse d'écriture selon `Prefer: return=` (representation par défaut)."""
    retour = contexte.prefer.get("return", "representation")
    if retour == "minimal":
        return reponse_fhir(None, statut, en_tetes)
    if retour == "OperationOutcome":
        return reponse_fhir(
            operation_outcome([Probleme(message, "informational", "information")]), statut, en_tetes
        )
    return reponse_fhir(representation.ressource, statut, en_tetes)


# --- Négociation, corps, Prefer --------------------------------------------------------------------


def _types_acceptes(valeur: str) -> list[str]:
    return [morceau.split(";")[0].strip().lower() for morceau in valeur.split(",") if morceau.strip()]


def negocier(request) -> None:
    """JSON seulement : `_format` ou `Accept` qui n'admettent que du XML (ou autre chose) → 406."""
    format_demande = request.GET.get("_format")
    if format_demande is not None:
        # « + » non encodé dans l'adresse arrive en espace : « application/fhir json ».
        format_demande = format_demande.strip().lower().replace(" ", "+")
        if format_demande in TYPES_XML:
            raise erreurs.format_non_accepte(
                "Ce serveur ne sert que du JSON (_format=json) ; XML non pris en charge."
            )
        if format_demande not in TYPES_JSON:
            raise erreurs.format_non_accepte(f"_format « {format_demande[:40]} » inconnu : utilisez json.")
        return
    acceptes = _types_acceptes(request.META.get("HTTP_ACCEPT", ""))
    if acceptes and not any(t in TYPES_JSON or t in TYPES_TOUT for t in acceptes):
        raise erreurs.format_non_accepte(
            "En-tête Accept : ce serveur ne sert que application/fhir+json (ou application/json)."
        )


def _prefer(request) -> dict[str, str]:
    preferences = {}
    for morceau in request.META.get("HTTP_PREFER", "").split(";"):
        nom, _, valeur = morceau.strip().partition("=")
        if nom:
            preferences[nom.strip().lower()] = valeur.strip().strip('"')
    if preferences.get("return") not in (None, "minimal", "representation", "OperationOutcome"):
        raise erreurs.requete_invalide("Prefer: return= vaut minimal, representation ou OperationOutcome.")
    return preferences


def lire_corps(request):
    """Le JSON du corps (type application/fhir+json ou application/json) ; 415 / 400 sinon."""
    if not request.body.strip():
        raise erreurs.requete_invalide("Le corps est vide : une ressource FHIR en JSON est attendue.")
    type_contenu = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if type_contenu in TYPES_XML:
        raise erreurs.type_media_non_pris_en_charge(
            "Corps XML non pris en charge : envoyez application/fhir+json."
        )
    if type_contenu not in TYPES_JSON:
        raise erreurs.type_media_non_pris_en_charge(
            f"Type de contenu « {type_contenu[:60] or 'absent'} » non pris en charge : "
            "envoyez application/fhir+json."
        )
    try:
        texte = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise erreurs.requete_invalide("Le corps n'est pas en UTF-8.") from None
    try:
        return json.loads(texte)
    except (json.JSONDecodeError, RecursionError) as erreur:
        detail = (
            f" (ligne {erreur.lineno}, colonne {erreur.colno})"
            if isinstance(erreur, json.JSONDecodeError)
            else ""
        )
        raise erreurs.requete_invalide(f"JSON mal formé{detail}.") from None


# --- Décorateur commun ----------------------------------------------------------------------------


def vue_fhir(methodes: tuple[str, ...], *, publique: bool = False):
    """Négociation, authentification (sauf `publique`), méthode permise, puis la vue, appelée
    avec le `Contexte` ; toute ErreurFHIR devient un OperationOutcome."""

    def decorateur(fonction):
        @csrf_exempt
        @wraps(fonction)
        def vue(request, *args, **kwargs):
            try:
                negocier(request)
                contexte = None if publique else _contexte(request)
                if request.method not in methodes:
                    raise ErreurFHIR.simple(
                        405, f"Méthode {request.method} non permise sur cette adresse.", "not-supported",
                        en_tetes={"Allow": ", ".join(methodes)},
                    )  # fmt: skip
                return fonction(request, contexte, *args, **kwargs)
            except ErreurFHIR as erreur:
                return reponse_erreur(erreur)
            except RequestDataTooBig:
                return reponse_erreur(
                    ErreurFHIR.simple(413, "Corps de requête trop volumineux.", "too-costly")
                )
            except SuspiciousOperation:
                return reponse_erreur(
                    erreurs.requete_invalide("Requête refusée (en-têtes ou paramètres suspects).")
                )
            except DataError:
                # Filet : une valeur que la base refuse (trop longue pour une colonne…) vient de l'entrée.
                return reponse_erreur(erreurs.requete_invalide("Valeur refusée par la base de données."))

        return vue

    return decorateur


def _base(request) -> str:
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("/metadata")


def _contexte(request) -> Contexte:
    acteur, portees = authentifier(request)
    request.acteur = acteur  # le journal des lectures (middleware) retrouve ainsi l'acteur
    return Contexte(
        acteur=acteur, portees=portees, base=_base(request), requete=request, prefer=_prefer(request)
    )


def _gestionnaire(contexte: Contexte, type_ressource: str, interaction: Interaction):
    gestionnaire = registre.obtenir(type_ressource)
    if not gestionnaire.prend_en_charge(interaction):
        raise erreurs.interaction_non_prise_en_charge(type_ressource, interaction)
    contexte.exiger(type_ressource, ecriture=interaction in ECRITURES)
    return gestionnaire


def _joli(request) -> bool:
    return request.GET.get("_pretty") == "true"


# --- Vues -------------------------------------------------------------------------------------------


@vue_fhir(("GET",), publique=True)
def metadata(request, contexte):
    """CapabilityStatement : publique (un client doit pouvoir découvrir l'adresse du jeton)."""
    adresse_jeton = request.build_absolute_uri(reverse("oauth2_provider:token"))
    return reponse_fhir(capability_statement(_base(request), adresse_jeton), joli=_joli(request))


@vue_fhir(("POST",))
def systeme(request, contexte):
    """POST sur la base : Bundle transaction ou batch."""
    corps = lire_corps(request)
    reponse = traiter(contexte, corps, avec_ressources=contexte.prefer.get("return") == "representation")
    return reponse_fhir(reponse, 200, joli=_joli(request))


@vue_fhir(("GET", "POST", "PUT"))
def sur_type(request, contexte, type_ressource: str):
    if request.method == "GET":
        return _rechercher(request, contexte, type_ressource, list(_paires(request.GET)))
    if request.method == "PUT":
        return _modifier_conditionnel(request, contexte, type_ressource)
    gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.CREATE)
    ressource = valider(lire_corps(request), type_attendu=type_ressource)
    ressource.pop("id", None)  # en création, l'id est attribué par le serveur
    representation = gestionnaire.creer(contexte, ressource, id_logique=uuid.uuid4())
    en_tetes = _en_tetes(contexte, representation, location=True)
    if representation.existante:
        return _selon_prefer(contexte, representation, 200, en_tetes, f"{type_ressource} déjà à jour.")
    return _selon_prefer(contexte, representation, 201, en_tetes, f"{type_ressource} créée.")


def _paires(donnees) -> list[tuple[str, str]]:
    return [(nom, valeur) for nom, valeurs in donnees.lists() for valeur in valeurs]


@vue_fhir(("POST",))
def recherche_post(request, contexte, type_ressource: str):
    """POST [type]/_search : paramètres dans le corps (formulaire) et dans l'adresse."""
    type_contenu = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if type_contenu != "application/x-www-form-urlencoded":
        raise erreurs.type_media_non_pris_en_charge(
            "_search : envoyez les paramètres en application/x-www-form-urlencoded."
        )
    return _rechercher(request, contexte, type_ressource, _paires(request.GET) + _paires(request.POST))


def _rechercher(request, contexte: Contexte, type_ressource: str, paires: list[tuple[str, str]]):
    gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.SEARCH_TYPE)
    recherche = analyser(paires, gestionnaire, tolerant=contexte.prefer.get("handling") == "lenient")
    page = gestionnaire.rechercher(contexte, recherche)
    return reponse_fhir(bundle_recherche(contexte, recherche, page), joli=_joli(request))


@vue_fhir(("GET", "PUT"))
def instance(request, contexte, type_ressource: str, id_logique: str):
    if request.method == "GET":
        gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.READ)
        representation = gestionnaire.lire(contexte, id_logique)
        return reponse_fhir(
            representation.ressource, 200, _en_tetes(contexte, representation), joli=_joli(request)
        )
    gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.UPDATE)
    ressource = valider(lire_corps(request), type_attendu=type_ressource)
    if ressource.get("id") != id_logique:
        raise erreurs.requete_invalide(
            f"L'id de la ressource ({str(ressource.get('id'))[:64]}) doit être celui de l'adresse "
            f"({id_logique}).",
            expression=[f"{type_ressource}.id"],
        )
    representation, cree = gestionnaire.modifier(
        contexte, id_logique, ressource, version_attendue=_if_match(request)
    )
    return _apres_modification(contexte, representation, cree)


def _apres_modification(contexte: Contexte, representation, cree: bool) -> HttpResponse:
    statut = HTTPStatus.CREATED if cree else HTTPStatus.OK
    en_tetes = _en_tetes(contexte, representation, location=cree)
    return _selon_prefer(
        contexte, representation, statut, en_tetes, f"{representation.type}/{representation.id} enregistrée."
    )


def _modifier_conditionnel(request, contexte: Contexte, type_ressource: str) -> HttpResponse:
    """PUT [type]?critères : les critères (paramètres de recherche du type) sont obligatoires."""
    gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.CONDITIONAL_UPDATE)
    recherche = analyser(_paires(request.GET), gestionnaire)
    if not recherche.criteres:
        raise erreurs.requete_invalide(
            f"Mise à jour conditionnelle : indiquez dans l'adresse les critères qui désignent la ressource "
            f"(ex. PUT {type_ressource}?identifier=système|valeur)."
        )
    ressource = valider(lire_corps(request), type_attendu=type_ressource)
    representation, cree = gestionnaire.modifier_conditionnel(
        contexte, recherche, ressource, version_attendue=_if_match(request)
    )
    return _apres_modification(contexte, representation, cree)


def _if_match(request) -> str | None:
    valeur = request.META.get("HTTP_IF_MATCH")
    if valeur is None:
        return None
    version = valeur.strip().removeprefix("W/")
    if len(version) < 3 or not (version.startswith('"') and version.endswith('"')):
        raise erreurs.requete_invalide('If-Match : la forme attendue est W/"<version>".')
    return version[1:-1]


def _parametres_historique(request) -> tuple[int, object]:
    nombre, depuis = NOMBRE_PAR_DEFAUT, None
    for nom, valeur in _paires(request.GET):
        if nom == "_count":
            if not valeur.isdigit() or len(valeur) > 6:
                raise erreurs.requete_invalide("« _count » doit être un entier positif ou nul.")
            nombre = min(int(valeur), NOMBRE_MAX)
        elif nom == "_since":
            try:
                depuis = lire_date(valeur)[0]
            except (ValueError, OverflowError):
                raise erreurs.requete_invalide("« _since » doit être un instant FHIR.") from None
        elif nom not in ("_format", "_pretty"):
            raise erreurs.requete_invalide(
                f"Paramètre « {nom[:80]} » inconnu pour _history (permis : _count, _since)."
            )
    return nombre, depuis


@vue_fhir(("GET",))
def historique(request, contexte, type_ressource: str, id_logique: str | None = None):
    """_history d'une instance (`id_logique`) ou de tout le type."""
    interaction = Interaction.HISTORY_TYPE if id_logique is None else Interaction.HISTORY_INSTANCE
    gestionnaire = _gestionnaire(contexte, type_ressource, interaction)
    nombre, depuis = _parametres_historique(request)
    versions = gestionnaire.historique(contexte, id_logique, nombre=nombre, depuis=depuis)
    return reponse_fhir(
        bundle_historique(contexte, versions, request.build_absolute_uri()), joli=_joli(request)
    )


@vue_fhir(("GET",))
def version(request, contexte, type_ressource: str, id_logique: str, version_id: str):
    gestionnaire = _gestionnaire(contexte, type_ressource, Interaction.VREAD)
    representation = gestionnaire.lire_version(contexte, id_logique, version_id)
    return reponse_fhir(
        representation.ressource, 200, _en_tetes(contexte, representation), joli=_joli(request)
    )


@vue_fhir(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"))
def inconnue(request, contexte, chemin: str = ""):
    """Toute autre adresse sous /fhir/ : 404 OperationOutcome (401 d'abord pour un anonyme)."""
    raise erreurs.route_inconnue(request.path)
