"""Reprise du dernier projet personnalisé d'une structure précédente, reçu en Bundle TDDUI
(CarePlan, ServiceRequest, Goal, Task ; ADR 0028) : son contenu devient le brouillon d'un nouveau
projet, à relire et reprendre avec la personne. Tout ou rien : une ressource invalide ou un lien
cassé, et rien n'est écrit (message en français qui dit quelle entrée).

Ce qui ne se reprend pas : les intervenants (ceux de l'ancienne structure ne sont pas du cercle :
leur nom est gardé en libellé), les accords (ils valaient pour l'autre structure), les avis de la
personne (à redemander ; ses mots restent en commentaire)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date

from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.validation import valider
from ppa import fhir
from ppa import services as ppa
from ppa.models import StatutVersion, VersionPPA

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

TYPES_REPRIS = ("CarePlan", "ServiceRequest", "Goal", "Task")


def _notes_objectif(goal: dict) -> dict[str, str]:
    notes = {}
    for note in goal.get("note", []):
        code = next(
            (e.get("valueCode") for e in note.get("extension", []) if e.get("url") == fhir.EXT_NOTE_OBJECTIF),
            "",
        )
        notes[code] = note.get("text", "")
    return notes


def _entrees_action(task: dict) -> dict[str, dict]:
    return {
        coding.get("code"): entree
        for entree in task.get("input", [])
        for coding in entree.get("type", {}).get("coding", [])
        if coding.get("system") == fhir.SYSTEME_ENTREE_ACTION
    }


def _details_action(description: str) -> dict:
    """Les détails que l'export écrit dans `Task.description` (« quoi · Où : … · Fréquence : … »)."""
    details = {}
    for morceau in description.split(" · ")[1:]:
        cle, _, valeur = morceau.partition(" : ")
        if cle == "Où":
            details["ou"] = valeur
        elif cle == "Fréquence":
            details["frequence"] = valeur
        elif cle == "Durée" and valeur.removesuffix(" min").isdigit():
            details["duree_minutes"] = int(valeur.removesuffix(" min"))
    return details


def _lire(bundle) -> dict[str, list[tuple[str, dict]]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValidationError("Le fichier reçu n'est pas un Bundle FHIR.")
    par_type: dict[str, list[tuple[str, dict]]] = {t: [] for t in TYPES_REPRIS}
    for rang, entree in enumerate(bundle.get("entry") or []):
        ressource = entree.get("resource") if isinstance(entree, dict) else None
        if not isinstance(ressource, dict) or ressource.get("resourceType") not in TYPES_REPRIS:
            continue
        try:
            ressource = valider(ressource, type_attendu=ressource["resourceType"])
        except ErreurFHIR as erreur:
            raise ValidationError(f"Entrée {rang + 1} du Bundle invalide : {erreur}") from None
        par_type[ressource["resourceType"]].append((entree.get("fullUrl") or f"#{rang}", ressource))
    if len(par_type["CarePlan"]) != 1:
        raise ValidationError("Le Bundle doit contenir un et un seul projet personnalisé (CarePlan).")
    return par_type


@transaction.atomic
def importer_tddui(*, acteur: Acteur, version: VersionPPA, bundle: dict) -> VersionPPA:
    """Remplit le brouillon `version` (vide) avec le projet du Bundle TDDUI ; renvoie la version."""
    par_type = _lire(bundle)
    version = VersionPPA.objects.get(pk=version.pk)
    if version.statut != StatutVersion.BROUILLON or version.objectifs.exists() or version.besoins.exists():
        raise ValidationError("Le projet précédent se reprend dans un brouillon encore vide.")
    [(_, plan)] = par_type["CarePlan"]
    paroles = "\n\n".join(n.get("text", "") for n in plan.get("note", []) if n.get("text"))
    version = ppa.ecrire_paroles(acteur=acteur, version=version, attentes=paroles)  # droits vérifiés ici
    periode = plan.get("period", {})
    version.debut, version.fin = (
        parse_date(periode.get("start", "")[:10]),
        parse_date(periode.get("end", "")[:10]),
    )
    version.save(update_fields=["debut", "fin", "modifie_le"])
    besoins = {}
    for url, demande in par_type["ServiceRequest"]:
        code = next((c.get("code", "") for cat in demande.get("category", []) for c in cat.get("coding", [])
                     if c.get("system") == fhir.SYSTEME_SERAFIN), "")  # fmt: skip
        besoins[url] = ppa.ajouter_besoin(
            acteur=acteur, version=version, libelle=demande.get("code", {}).get("text", "")[:300],
            code_serafin=code, precision="\n".join(n.get("text", "") for n in demande.get("note", [])),
        )  # fmt: skip
    objectifs = {}
    for url, goal in par_type["Goal"]:
        notes = _notes_objectif(goal)
        cible = (goal.get("target") or [{}])[0]
        vises = [besoins[r["reference"]] for r in goal.get("addresses", []) if r.get("reference") in besoins]
        objectif = ppa.ajouter_objectif(
            acteur=acteur, version=version,
            titre=notes.get("titreObjectif") or goal.get("description", {}).get("text", ""),
            resultat_attendu=cible.get("detailString", ""),
            strategie=notes.get("strategieMiseEnOeuvreObjectif", ""),
            besoins=vises, date_cible=parse_date(cible.get("dueDate", "")),
        )  # fmt: skip
        if notes.get("avisUsagerObjectif"):
            objectif.commentaire_usager = f"Dans le projet précédent : {notes['avisUsagerObjectif']}"
            objectif.save(update_fields=["commentaire_usager", "modifie_le"])
        objectifs[url] = objectif
    for rang, (_, task) in enumerate(par_type["Task"]):
        entrees = _entrees_action(task)
        lien = entrees.get("objectif", {}).get("valueReference", {}).get("reference")
        if lien not in objectifs:
            raise ValidationError(f"Action {rang + 1} du Bundle : son objectif est absent du Bundle.")
        ppa.ajouter_action(
            acteur=acteur, objectif=objectifs[lien], quoi=entrees.get("titre", {}).get("valueString", ""),
            intervenant_libelle=task.get("owner", {}).get("display", ""),
            **_details_action(task.get("description", "")),
        )  # fmt: skip
    return VersionPPA.objects.get(pk=version.pk)
