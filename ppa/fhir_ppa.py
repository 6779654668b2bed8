"""CarePlan, Goal, Task : le projet personnalisé servi en lecture et recherche sous /fhir/
(docs/decisions/0029-ppa-api-fhir.md). Enregistrées par PpaConfig.ready().

- **Une version = un CarePlan** (id = UUID de la `VersionPPA`, comme le `fullUrl` urn:uuid du Bundle
  TDDUI) ; toutes les versions d'un projet portent le même identifiant TDDUI (`…-PPER-<projet>`),
  leur statut dit laquelle vaut : `draft` (brouillon ou en attente des accords), `active` (la version
  validée, une au plus par projet), `revoked` (remplacée par un avenant, qui la cite en `replaces`).
  Un objectif est un Goal, une action une Task (id = UUID de la ligne de cette version ; identifiant
  TDDUI stable d'une version à ses avenants). Les ressources sont celles du Bundle TDDUI, construites
  par les mêmes fonctions (`ppa/fhir.py`), avec des références vers /fhir/ (`fhir.liens_api`).
- **Brouillons servis** à qui lit le projet, comme les pages (le statut `draft` le dit) : le
  logiciel de la structure qui co-construit le projet doit pouvoir le relire.
- **Lecteurs** : ceux qui ont `ppa` en lecture (`cercle/habilitations.py`) ; le logiciel (DUI) d'une
  structure avec les droits de sa structure et la portée `system/<Type>.read` (ou `system/*.read`).
  Lecture d'une instance par `ppa.selectors` (décision et journal) ; illisible → 404 comme un id
  inconnu (ADR 0008, comme les pages du PPA) ; la recherche ne rend que le lisible
  (`habilitations.usagers_visibles`), chaque version servie notée au journal
  (`ppa.version.lecture`), en un nombre de requêtes constant par page.
- **Lecture seule** : ni create, ni update, ni delete (405, ou 403 pour une session du portail,
  toujours en lecture seule) ; un projet se modifie par le portail, une version validée jamais.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, prefetch_related_objects

from cercle import habilitations
from cercle.fhir_usagers import noter
from coordination.fhir import erreurs
from coordination.fhir.filtres import RIEN, Filtre, FiltreJeton, FiltreReference, champ_egal, uuid_ou_rien
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
from ppa import fhir, selectors
from ppa.models import AccordPPA, Action, Besoin, Objectif, TypeProjet, VersionPPA

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Critere, Recherche

T = TypeParametre
P = ParametreRecherche
SYSTEME_STATUT_CAREPLAN = "http://hl7.org/fhir/request-status"
SYSTEME_STATUT_GOAL = "http://hl7.org/fhir/goal-status"
SYSTEME_STATUT_TASK = "http://hl7.org/fhir/task-status"
RE_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


# --- Filtres --------------------------------------------------------------------------------------


def _statuts(correspondance: dict, champ: str):
    """Fabrique de jeton : un statut FHIR → les statuts de version qui le donnent (`ppa/fhir.py`)."""
    inverse: dict[str, list[str]] = {}
    for statut_version, code in correspondance.items():
        inverse.setdefault(code, []).append(str(statut_version))

    def fabrique(code: str | None, prefixe: str) -> Q:
        if code is None:
            return Q(**{f"{prefixe}{champ}__isnull": False})
        statuts = inverse.get(code)
        return Q(**{f"{prefixe}{champ}__in": statuts}) if statuts else RIEN

    return fabrique


class FiltreIdentifiantTDDUI(Filtre):
    """`identifier` : l'identifiant TDDUI `[3<FINESS>/]<usager>-<sorte>-<origine>` (fhir._identifiant),
    le même pour toutes les versions d'un projet (CarePlan) ou d'un élément (Goal, Task)."""

    def __init__(self, systeme: str, sorte: str, origine: str, projet: str):
        self.systeme, self.origine, self.projet = systeme, origine, projet
        self.forme = re.compile(
            rf"(?:3(?P<finess>[^/]{{1,9}})/)?(?P<usager>{RE_UUID})-{sorte}-(?P<origine>{RE_UUID})"
        )

    def _valeur(self, jeton, prefixe: str) -> Q:
        if jeton.systeme not in (None, self.systeme) or not jeton.code:
            return RIEN
        trouve = self.forme.fullmatch(jeton.code)
        if trouve is None:
            return RIEN
        structure = f"{prefixe}{self.projet}structure__"
        vide_eg = Q(**{f"{structure}finess_eg__isnull": True}) | Q(**{f"{structure}finess_eg": ""})
        if finess := trouve["finess"]:
            de_la_structure = Q(**{f"{structure}finess_eg": finess}) | (
                vide_eg & Q(**{f"{structure}finess_ej": finess})
            )
        else:
            de_la_structure = vide_eg & Q(**{f"{structure}finess_ej": ""})
        return de_la_structure & Q(
            **{
                f"{prefixe}{self.origine}": uuid.UUID(trouve["origine"]),
                f"{prefixe}{self.projet}usager__uuid": uuid.UUID(trouve["usager"]),
            }
        )

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        if critere.modificateur is not None:
            raise erreurs.requete_invalide(
                f"Paramètre « {critere.nom}:{critere.modificateur} » non pris en charge."
            )
        resultat = RIEN
        for jeton in critere.valeurs:
            resultat |= self._valeur(jeton, prefixe)
        return resultat


def _type_projet(code: str) -> str | None:
    return code if code in TypeProjet.values else None


# --- Commun ---------------------------------------------------------------------------------------


class _RessourcePPA(RessourceModele):
    """Lecture et recherche d'une ressource du projet personnalisé : `chemin_version` mène de la
    ligne à sa `VersionPPA` ("" pour la version elle-même)."""

    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
    champs_tri = {"_lastUpdated": ("modifie_le",)}
    chemin_version = ""

    def _lisibles(self, contexte: Contexte):
        """Les lignes des projets que l'acteur peut lire (`ppa` en lecture), en une requête."""
        visibles = habilitations.usagers_visibles(contexte.acteur, selectors.DOMAINE).values("pk")
        return self.modele.objects.filter(**{f"{self.chemin_version}projet__usager_id__in": visibles})

    def _version_de(self, objet) -> VersionPPA:
        return objet if not self.chemin_version else objet.version

    def representation(self, objet) -> Representation:
        """La ressource de `vers_fhir` sous son id (l'UUID de la ligne, son urn:uuid dans le Bundle)."""
        representation = super().representation(objet)
        representation.ressource = {
            "resourceType": representation.ressource.pop("resourceType"),
            "id": str(objet.uuid),
            **representation.ressource,
        }
        representation.version_lue = self._version_de(objet)  # pour le journal de la recherche
        return representation

    def _noter(self, contexte: Contexte, versions) -> None:
        for version in versions:
            noter(contexte, version.projet.usager, selectors.LECTURE_VERSION, version)

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        self._noter(contexte, [r.version_lue for r in (*page.correspondances, *page.incluses)])
        return page

    def _contenu(
        self, contexte: Contexte, id_logique: str, modele
    ) -> tuple[selectors.VersionComplete, uuid.UUID]:
        """La version complète (par `ppa.selectors`, qui décide et journalise) de la ligne
        `id_logique` de `modele` ; 404 si elle n'existe pas ou si l'acteur ne lit pas ce projet."""
        code = uuid_ou_rien(id_logique)
        version_uuid = (
            modele.objects.filter(uuid=code).values_list("version__uuid", flat=True).first() if code else None
        )
        complete = (
            selectors.version_complete(contexte.acteur, version_uuid, request=contexte.requete)
            if version_uuid
            else None
        )
        if complete is None:
            raise erreurs.introuvable(self.type, id_logique)
        return complete, code


# --- CarePlan -------------------------------------------------------------------------------------


@enregistrer
class RessourceCarePlan(_RessourcePPA):
    type = "CarePlan"
    profil = fhir.PROFIL["CarePlan"]
    documentation = (
        "Projet personnalisé (volet TDDUI) : une ressource par version, toutes sous l'identifiant TDDUI du "
        "projet ; status draft (en construction ou en attente des accords), active (validée), revoked "
        "(remplacée par un avenant, qui la cite en replaces). Lecture seule, selon le droit de lire le "
        "projet personnalisé de la personne."
    )
    modele = VersionPPA
    parametres = (
        P("identifier", T.TOKEN, "Identifiant TDDUI du projet (le même pour toutes ses versions)",
          filtre=FiltreIdentifiantTDDUI(fhir.SYSTEME_PROJET, "PPER", "projet__uuid", "projet__")),
        P("patient", T.REFERENCE, "La personne (chaînable : patient.identifier=<système INS>|<matricule>)",
          cibles=("Patient",), filtre=FiltreReference("projet__usager", "Patient")),
        P("subject", T.REFERENCE, "La personne", cibles=("Patient",),
          filtre=FiltreReference("projet__usager", "Patient")),
        P("status", T.TOKEN, "draft | active | revoked",
          filtre=FiltreJeton({SYSTEME_STATUT_CAREPLAN: _statuts(fhir.STATUT_CAREPLAN, "statut")})),
        P("category", T.TOKEN, "Type de projet (TRE_R390 : PPA, PAI, PP…)",
          filtre=FiltreJeton({fhir.SYSTEME_TYPE_PROJET: champ_egal("projet__type", _type_projet)})),
    )  # fmt: skip

    def queryset(self, contexte: Contexte):
        return (
            self._lisibles(contexte)
            .select_related("projet__usager", "projet__structure", "derive_de")
            .prefetch_related(
                Prefetch("accords", queryset=AccordPPA.objects.order_by("id"), to_attr="accords_lus")
            )
        )

    def vers_fhir(self, objet: VersionPPA) -> dict:
        """`objet` avec ses accords (`accords_lus`) et la version dont il est l'avenant, déjà lus."""
        return fhir.careplan(objet, objet.accords_lus, fhir.liens_api, precedente=objet.derive_de)

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        code = uuid_ou_rien(id_logique)
        version = selectors.version_lisible(contexte.acteur, code, request=contexte.requete) if code else None
        if version is None:
            raise erreurs.introuvable(self.type, id_logique)
        prefetch_related_objects(
            [version],
            "derive_de",
            Prefetch("accords", queryset=AccordPPA.objects.order_by("id"), to_attr="accords_lus"),
        )
        return self.representation(version)


# --- Goal -----------------------------------------------------------------------------------------


@enregistrer
class RessourceGoal(_RessourcePPA):
    type = "Goal"
    profil = fhir.PROFIL["Goal"]
    documentation = (
        "Objectif d'une version du projet personnalisé (volet TDDUI), lié à son CarePlan par l'extension "
        "tddui-careplan-reference ; lifecycleStatus proposed (version en construction), active (validée), "
        "cancelled (remplacée). Lecture seule."
    )
    modele = Objectif
    chemin_version = "version__"
    parametres = (
        P("identifier", T.TOKEN, "Identifiant TDDUI de l'objectif (le même d'une version à ses avenants)",
          filtre=FiltreIdentifiantTDDUI(fhir.SYSTEME_PORTAIL, "PPObjectif", "origine", "version__projet__")),
        P("patient", T.REFERENCE, "La personne", cibles=("Patient",),
          filtre=FiltreReference("version__projet__usager", "Patient")),
        P("subject", T.REFERENCE, "La personne", cibles=("Patient",),
          filtre=FiltreReference("version__projet__usager", "Patient")),
        P("careplan", T.REFERENCE,
          "Le projet personnalisé (CarePlan) de l'objectif : extension TDDUI tddui-careplan-reference",
          cibles=("CarePlan",), filtre=FiltreReference("version", "CarePlan")),
        P("lifecycle-status", T.TOKEN, "proposed | active | cancelled",
          filtre=FiltreJeton({SYSTEME_STATUT_GOAL: _statuts(fhir.STATUT_OBJECTIF, "version__statut")})),
    )  # fmt: skip
    liens_inclusion = {"Goal:careplan": ("CarePlan", "version_id")}

    def queryset(self, contexte: Contexte):
        return (
            self._lisibles(contexte)
            .select_related("version__projet__usager", "version__projet__structure")
            .prefetch_related(
                Prefetch("besoins", queryset=Besoin.objects.order_by("ordre", "id"), to_attr="besoins_vises")
            )
        )

    def vers_fhir(self, objet: Objectif) -> dict:
        return fhir.objectif(objet.version, objet, fhir.liens_api)

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        complete, code = self._contenu(contexte, id_logique, Objectif)
        objectif = next(o for o in complete.objectifs if o.uuid == code)
        objectif.version = complete.version
        return self.representation(objectif)


# --- Task -----------------------------------------------------------------------------------------


@enregistrer
class RessourceTask(_RessourcePPA):
    type = "Task"
    profil = fhir.PROFIL["Task"]
    documentation = (
        "Action d'une version du projet personnalisé (volet TDDUI), basedOn son CarePlan ; status draft "
        "(version en construction), in-progress (validée), cancelled (remplacée). Lecture seule."
    )
    modele = Action
    chemin_version = "version__"
    parametres = (
        P("identifier", T.TOKEN, "Identifiant TDDUI de l'action (le même d'une version à ses avenants)",
          filtre=FiltreIdentifiantTDDUI(fhir.SYSTEME_PORTAIL, "ACTI", "origine", "version__projet__")),
        P("patient", T.REFERENCE, "La personne", cibles=("Patient",),
          filtre=FiltreReference("version__projet__usager", "Patient")),
        P("subject", T.REFERENCE, "La personne", cibles=("Patient",),
          filtre=FiltreReference("version__projet__usager", "Patient")),
        P("based-on", T.REFERENCE, "Le projet personnalisé (CarePlan) de l'action",
          cibles=("CarePlan",), filtre=FiltreReference("version", "CarePlan")),
        P("status", T.TOKEN, "draft | in-progress | cancelled",
          filtre=FiltreJeton({SYSTEME_STATUT_TASK: _statuts(fhir.STATUT_ACTION, "version__statut")})),
    )  # fmt: skip
    liens_inclusion = {"Task:based-on": ("CarePlan", "version_id")}

    def queryset(self, contexte: Contexte):
        return self._lisibles(contexte).select_related(
            "version__projet__usager", "version__projet__structure", "objectif",
            "intervenant__professionnel", "intervenant__structure", "intervenant__proche",
        )  # fmt: skip

    def vers_fhir(self, objet: Action) -> dict:
        return fhir.action(objet.version, objet, fhir.liens_api)

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        complete, code = self._contenu(contexte, id_logique, Action)
        action = next(a for a in complete.actions if a.uuid == code)
        action.version = complete.version
        return self.representation(action)
