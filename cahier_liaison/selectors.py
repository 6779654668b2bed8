"""Lectures du cahier de liaison, toujours à partir de l'acteur. Deux filtres s'ajoutent :
1. l'habilitation `cahier` en lecture (cercle/habilitations.py, seule source des droits) ;
2. la visibilité de chaque note selon la sorte d'acteur (ADR 0016) :
   - l'usager et ses proches ne lisent que les notes sans restriction ;
   - un professionnel lit aussi les notes « professionnels seulement » (INVISIBLE_PATIENT) ;
   - seul un professionnel de santé (profession TRE_G15 du Code de la santé publique, voir
     `personnes.nomenclatures.PROFESSIONS_DE_SANTE`) lit les notes « professionnels de santé
     seulement » (MASQUE_PSOCIAL) ;
   - le logiciel d'une structure (DUI) lit comme un professionnel non identifié : pas les notes
     réservées aux professionnels de santé ;
   - le système (tâches, imports) lit tout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cahier_liaison.codes import Visibilite
from cahier_liaison.models import Lecture, NatureSollicitation, Note, Sollicitation, TypeAuteur
from cercle import habilitations
from cercle.models import Domaine
from coordination.comptes.acteur import TypeActeur
from coordination.personnes.nomenclatures import PROFESSIONS_DE_SANTE

if TYPE_CHECKING:
    from datetime import datetime

    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager

DOMAINE = Domaine.CAHIER
LE_DEBUT = timezone.make_aware(timezone.datetime(1900, 1, 1))


def est_professionnel_de_sante(acteur: Acteur) -> bool:
    """Professionnel dont la profession (celle de la situation d'exercice, à défaut celle de la
    personne) est une profession de santé de la TRE_G15."""
    if acteur.type != TypeActeur.PROFESSIONNEL or acteur.exercice is None:
        return False
    code = acteur.exercice.profession_code or acteur.exercice.professionnel.profession_code
    return code in PROFESSIONS_DE_SANTE


def visibilites_permises(acteur: Acteur | None) -> list[str]:
    """Les codes de visibilité des notes que cette sorte d'acteur peut lire (droits à part)."""
    if acteur is None:
        return []
    if acteur.type == TypeActeur.SYSTEME:
        return list(Visibilite.values)
    if acteur.type in (TypeActeur.USAGER, TypeActeur.PROCHE):
        return [Visibilite.TOUS]
    if acteur.type == TypeActeur.PROFESSIONNEL:
        if est_professionnel_de_sante(acteur):
            return [Visibilite.TOUS, Visibilite.SANS_USAGER, Visibilite.SANTE]
        return [Visibilite.TOUS, Visibilite.SANS_USAGER]
    if acteur.type == TypeActeur.LOGICIEL:
        return [Visibilite.TOUS, Visibilite.SANS_USAGER]
    return []


def peut_voir_note(acteur: Acteur | None, note: Note) -> bool:
    """Même décision que `notes_visibles`, pour une note déjà chargée (sans requête de plus que
    l'habilitation, mémorisée sur l'acteur)."""
    return (
        acteur is not None
        and note.visibilite in visibilites_permises(acteur)
        and habilitations.peut(acteur, note.usager_id, "lire", DOMAINE)
    )


def q_ecrites_par(acteur: Acteur, prefixe: str = "") -> Q:
    """Les notes dont l'acteur est l'auteur (même personne, même qualité)."""
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return Q(
            **{
                f"{prefixe}auteur_type": TypeAuteur.PROFESSIONNEL,
                f"{prefixe}auteur_exercice": acteur.exercice,
            }
        )
    if acteur.type == TypeActeur.PROCHE:
        return Q(**{f"{prefixe}auteur_type": TypeAuteur.PROCHE, f"{prefixe}auteur_proche": acteur.proche})
    if acteur.type == TypeActeur.USAGER and acteur.usager is not None:
        return Q(**{f"{prefixe}auteur_type": TypeAuteur.USAGER, f"{prefixe}auteur_usager": acteur.usager})
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        return Q(
            **{
                f"{prefixe}auteur_type": TypeAuteur.LOGICIEL,
                f"{prefixe}auteur_structure": acteur.structure_logiciel,
            }
        )
    return Q(pk__in=[])


def est_auteur(acteur: Acteur, note: Note) -> bool:
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return note.auteur_type == TypeAuteur.PROFESSIONNEL and note.auteur_exercice_id == acteur.exercice.pk
    if acteur.type == TypeActeur.PROCHE:
        return note.auteur_type == TypeAuteur.PROCHE and note.auteur_proche_id == acteur.proche.pk
    if acteur.type == TypeActeur.USAGER:
        return note.auteur_type == TypeAuteur.USAGER and note.auteur_usager_id == acteur.usager.pk
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        # Même structure, et même professionnel quand le logiciel a écrit pour son compte.
        return (
            note.auteur_type == TypeAuteur.LOGICIEL
            and note.auteur_structure_id == acteur.structure_logiciel.pk
            and note.auteur_exercice_id == (acteur.exercice.pk if acteur.exercice is not None else None)
        )
    return False


AUTEURS = (
    "auteur_exercice__professionnel",
    "auteur_exercice__structure",
    "auteur_proche",
    "auteur_usager",
    "auteur_structure",
)


def notes_visibles(acteur: Acteur | None, usager: Usager, *, filtres: dict | None = None) -> QuerySet[Note]:
    """Les notes du cahier de `usager` que l'acteur peut lire, des plus récentes aux plus anciennes,
    auteurs préchargés (une requête, plus au plus une pour l'habilitation).

    `filtres` : `type` (code J23), `urgente` (booléen), `depuis` / `jusqu_au` (moment d'écriture),
    `fil` (une note : elle et ses réponses), `desactivees` (vrai : les notes désactivées aussi)."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", DOMAINE):
        return Note.objects.none()
    filtres = filtres or {}
    notes = Note.objects.filter(usager=usager, visibilite__in=visibilites_permises(acteur))
    if not filtres.get("desactivees"):
        notes = notes.filter(active=True)
    if filtres.get("type"):
        notes = notes.filter(type=filtres["type"])
    if filtres.get("urgente") is not None:
        notes = notes.filter(urgente=filtres["urgente"])
    if filtres.get("depuis"):
        notes = notes.filter(ecrite_le__gte=filtres["depuis"])
    if filtres.get("jusqu_au"):
        notes = notes.filter(ecrite_le__lte=filtres["jusqu_au"])
    if filtres.get("fil") is not None:
        fil = filtres["fil"]
        notes = notes.filter(Q(pk=fil.pk) | Q(reponse_a=fil))
    return notes.select_related(*AUTEURS).order_by("-ecrite_le", "-id")


def cle_lecteur(acteur: Acteur) -> str:
    """Qui lit, pour la marque de lecture : la clé de l'acteur (« exercice:uuid »…), ou la
    structure pour le logiciel d'une structure."""
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        return f"structure:{acteur.structure_logiciel.uuid}"
    return acteur.cle


def _marque(acteur: Acteur, usager_ref) -> Coalesce:
    marque = Lecture.objects.filter(lecteur=cle_lecteur(acteur), usager=usager_ref).values("lu_jusqu_au")[:1]
    return Coalesce(Subquery(marque), Value(LE_DEBUT))


def lu_jusqu_au(acteur: Acteur, usager: Usager) -> datetime | None:
    return (
        Lecture.objects.filter(lecteur=cle_lecteur(acteur), usager=usager)
        .values_list("lu_jusqu_au", flat=True)
        .first()
    )


def non_lus(acteur: Acteur | None, usager: Usager) -> int:
    """Nombre de notes visibles écrites par d'autres depuis la marque de lecture de l'acteur
    (0 sans droit de lecture : pas même un compte). Une requête, plus l'habilitation."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", DOMAINE):
        return 0
    return (
        Note.objects.filter(
            usager=usager,
            active=True,
            visibilite__in=visibilites_permises(acteur),
            ecrite_le__gt=_marque(acteur, usager),
        )
        .exclude(q_ecrites_par(acteur))
        .count()
    )


def non_lus_par_usager(acteur: Acteur | None) -> dict[int, int]:
    """{usager_id: nombre de notes non lues} pour tous les usagers dont l'acteur lit le cahier
    (une requête ; les usagers sans note non lue n'y figurent pas)."""
    if acteur is None or acteur.type == TypeActeur.SYSTEME:
        return {}
    usagers = habilitations.usagers_visibles(acteur, DOMAINE, "lire")
    lignes = (
        Note.objects.filter(
            usager__in=usagers,
            active=True,
            visibilite__in=visibilites_permises(acteur),
            ecrite_le__gt=_marque(acteur, OuterRef("usager_id")),
        )
        .exclude(q_ecrites_par(acteur))
        .order_by()
        .values("usager_id")
        .annotate(nombre=Count("id"))
        .values_list("usager_id", "nombre")
    )
    return dict(lignes)


def attend_mon_accuse(acteur: Acteur | None) -> QuerySet[Sollicitation]:
    """Les demandes d'accusé de réception en attente adressées à l'acteur (en personne, ou à la
    structure où il agit), sur des notes actives qu'il peut lire. Une requête."""
    if acteur is None:
        return Sollicitation.objects.none()
    presences = habilitations.presences_de(acteur, prefixe="destinataire__")
    if presences is None:
        return Sollicitation.objects.none()
    return (
        Sollicitation.objects.filter(
            presences,
            nature=NatureSollicitation.ACCUSE,
            accusee_le__isnull=True,
            note__active=True,
            note__visibilite__in=visibilites_permises(acteur),
            note__usager__in=habilitations.usagers_visibles(acteur, DOMAINE, "lire"),
        )
        .select_related("note", "note__usager", *(f"note__{auteur}" for auteur in AUTEURS))
        .order_by("-demandee_le", "-id")
    )


def notes_lisibles(acteur: Acteur | None) -> QuerySet[Note]:
    """Toutes les notes, de tous les cahiers, que l'acteur peut lire (désactivées comprises : l'API
    FHIR les sert avec le statut entered-in-error), auteurs, usager et note d'origine préchargés.
    Les habilitations filtrent par sous-requête (`usagers_visibles`) : une seule requête."""
    if acteur is None:
        return Note.objects.none()
    return Note.objects.filter(
        usager__in=habilitations.usagers_visibles(acteur, DOMAINE, "lire"),
        visibilite__in=visibilites_permises(acteur),
    ).select_related("usager", "reponse_a", *AUTEURS)
