"""Revues du projet personnalisé : au moins une fois l'an (HAS ; ticket 7, point 5 ; ADR 0028,
« Revues »).

L'échéance d'un projet se calcule dans la base, d'après sa version validée : un an après la
validation (jour de Paris), ou la fin de la période de la version si elle vient avant. Un projet
sans version validée n'a pas d'échéance. `revues_a_faire` liste, pour un professionnel qui exerce
dans la structure, les projets en retard et ceux à revoir dans les 30 jours, dont il lit le PPA, en
une requête ; `rappeler_revues` (tâche quotidienne) range un rappel par projet et par échéance pour
le référent, et le journalise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models import DateField, F, Func, OuterRef, Subquery
from django.db.models.functions import Least, TruncDate
from django.utils import timezone

from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur, acteur_systeme
from coordination.journal.services import journaliser_plusieurs, preparer_evenement
from coordination.notifications import services as notifications
from ppa.models import ProjetPersonnalise, RappelRevue, StatutVersion, VersionPPA

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Structure

DELAI_RAPPEL = dt.timedelta(days=30)
REFUS_REVUES = "Les revues des projets d'une structure sont visibles des professionnels qui y exercent."


class _PlusUnAn(Func):
    """Une date plus un an (le 29 février donne le 28 février, comme PostgreSQL le fait)."""

    template = "((%(expressions)s) + interval '1 year')::date"
    output_field = DateField()


def avec_echeance(projets: models.QuerySet[ProjetPersonnalise]) -> models.QuerySet[ProjetPersonnalise]:
    """Annote `echeance_revue` (None sans version validée) et `version_validee_numero`."""
    validee = VersionPPA.objects.filter(projet=OuterRef("pk"), statut=StatutVersion.VALIDEE)
    return projets.annotate(
        validee_le_jour=Subquery(
            validee.annotate(jour=TruncDate("validee_le", tzinfo=timezone.get_current_timezone())).values(
                "jour"
            )[:1]
        ),
        fin_validee=Subquery(validee.values("fin")[:1]),
        version_validee_numero=Subquery(validee.values("numero")[:1]),
    ).annotate(echeance_revue=Least(_PlusUnAn(F("validee_le_jour")), F("fin_validee")))


def prochaine_revue(projet: ProjetPersonnalise) -> dt.date | None:
    """L'échéance de revue d'un projet (une requête)."""
    return avec_echeance(ProjetPersonnalise.objects.filter(pk=projet.pk)).values_list(
        "echeance_revue", flat=True
    )[0]


def _a_revoir(aujourd_hui: dt.date) -> models.QuerySet[ProjetPersonnalise]:
    return avec_echeance(ProjetPersonnalise.objects.all()).filter(
        echeance_revue__lte=aujourd_hui + DELAI_RAPPEL
    )


@dataclass(frozen=True)
class RevueAFaire:
    projet: ProjetPersonnalise
    echeance: dt.date
    en_retard: bool


def revues_a_faire(
    acteur: Acteur | None, structure: Structure, aujourd_hui: dt.date | None = None
) -> list[RevueAFaire]:
    """Les projets de `structure` en retard de revue ou à revoir dans les 30 jours, échéance la plus
    proche d'abord, dont l'acteur lit le PPA ; pour un professionnel qui exerce dans la structure
    (sinon AccesRefuse). Une requête, quel que soit le nombre de projets."""
    exercice = acteur.exercice if acteur is not None and acteur.type == TypeActeur.PROFESSIONNEL else None
    if exercice is None or exercice.structure_id != structure.pk:
        raise AccesRefuse(REFUS_REVUES)
    aujourd_hui = aujourd_hui or timezone.localdate()
    projets = (
        _a_revoir(aujourd_hui)
        .filter(structure=structure, usager__in=habilitations.usagers_visibles(acteur, Domaine.PPA))
        .select_related("usager")
        .order_by("echeance_revue", "pk")
    )
    return [RevueAFaire(p, p.echeance_revue, p.echeance_revue < aujourd_hui) for p in projets]


def _referent(projet: ProjetPersonnalise) -> str:
    """La clé d'acteur du référent (`exercice:<uuid>`), à défaut celle de qui a ouvert le projet."""
    return f"exercice:{projet.referent.uuid}" if projet.referent_id else projet.cree_par


def rappeler_revues(aujourd_hui: dt.date | None = None) -> int:
    """Range, une seule fois par projet et par échéance, le rappel de revue au référent du projet
    (à défaut d'un référent désigné, la personne qui a ouvert le projet : `cree_par`) pour
    chaque projet dont l'échéance tombe dans les 30 jours ou est passée ; journalise chaque rappel.
    Rend le nombre de rappels rangés (0 au second passage du même jour)."""
    aujourd_hui = aujourd_hui or timezone.localdate()
    systeme = acteur_systeme("rappel des revues de projet personnalisé")
    with transaction.atomic():
        projets = list(_a_revoir(aujourd_hui).select_related("usager", "referent"))
        deja = set(
            RappelRevue.objects.filter(projet__in=[p.pk for p in projets]).values_list(
                "projet_id", "echeance"
            )
        )
        nouveaux = [
            RappelRevue(projet=p, echeance=p.echeance_revue, destinataire=_referent(p))
            for p in projets
            if (p.pk, p.echeance_revue) not in deja
        ]
        # Deux passages simultanés ne rangent pas deux rappels : la contrainte d'unicité tranche, et
        # seuls les rappels vraiment rangés (relus par leur identifiant) sont journalisés.
        RappelRevue.objects.bulk_create(nouveaux, ignore_conflicts=True)
        ranges = set(
            RappelRevue.objects.filter(uuid__in=[r.uuid for r in nouveaux]).values_list("uuid", flat=True)
        )
        nouveaux = [r for r in nouveaux if r.uuid in ranges]
        if nouveaux:
            notifications.distribuer_apres_validation()
        journaliser_plusieurs(
            [
                preparer_evenement(
                    acteur=systeme, action="ppa.revue.rappel", objet=r, usager=r.projet.usager,
                    details={"echeance": r.echeance.isoformat(), "destinataire": r.destinataire},
                )
                for r in nouveaux
            ]
        )  # fmt: skip
    return len(nouveaux)
