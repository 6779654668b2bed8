"""Journal des lectures, par lot : une requête HTTP, un seul INSERT pour toutes ses lectures.

Une vue (ou un sélecteur qui reçoit la requête) appelle `noter_lecture(request, usager=…)` pour
chaque donnée d'usager affichée ; `JournalDesLecturesMiddleware` écrit le lot après la vue, avant
que la réponse ne parte : si l'écriture échoue, la réponse est une erreur et aucune donnée lue
sans trace ne quitte le serveur.

Hors d'une requête passée par le middleware (tâche, commande, test sans middleware), la lecture
est écrite tout de suite : une lecture n'est jamais perdue, elle n'est simplement pas groupée.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.services import journaliser_plusieurs, preparer_evenement

if TYPE_CHECKING:
    from coordination.journal.models import Evenement

# Attribut de la requête Django qui porte le lot (dictionnaire ordonné clé → événement).
ATTRIBUT_LOT = "_journal_lectures"


def _requete_django(request):
    """La requête Django sous une requête DRF (dont les attributs posés ne remontent pas)."""
    return getattr(request, "_request", request)


def _acteur_de(request) -> Acteur | None:
    acteur = getattr(request, "acteur", None)
    if acteur is not None:
        return acteur
    compte = getattr(request, "user", None)
    if compte is not None and compte.is_authenticated:
        # Compte connecté sans qualité choisie (administration) : on garde au moins le compte.
        return Acteur(TypeActeur.SANS_PERSONNE, compte)
    return None


def ouvrir_lot(request) -> None:
    setattr(_requete_django(request), ATTRIBUT_LOT, {})


def noter_lecture(
    request,
    *,
    usager,
    objet=None,
    action: str = "lecture",
    acteur: Acteur | None = None,
    details: dict | None = None,
) -> None:
    """Note que l'acteur de la requête a lu `objet` (ou le dossier) de `usager` (Usager ou UUID).

    L'horodatage est celui de la lecture. Une même lecture (action, objet, usager) notée plusieurs
    fois dans la requête n'est journalisée qu'une fois."""
    brute = _requete_django(request)
    evenement = preparer_evenement(
        acteur=acteur if acteur is not None else _acteur_de(brute),
        action=action,
        objet=objet,
        usager=usager,
        details=details,
    )
    lot: dict | None = getattr(brute, ATTRIBUT_LOT, None)
    if lot is None:
        journaliser_plusieurs([evenement])
        return
    cle = (evenement.action, evenement.objet_type, evenement.objet_uuid, evenement.usager_uuid)
    lot.setdefault(cle, evenement)


def lectures_en_attente(request) -> list[Evenement]:
    """Les lectures notées et pas encore écrites (dans l'ordre où elles ont été notées)."""
    lot: dict | None = getattr(_requete_django(request), ATTRIBUT_LOT, None)
    return list(lot.values()) if lot else []


def ecrire_lectures(request) -> list[Evenement]:
    """Écrit en un seul appel (un INSERT) les lectures notées depuis la dernière écriture."""
    brute = _requete_django(request)
    lot: dict | None = getattr(brute, ATTRIBUT_LOT, None)
    if not lot:
        return []
    evenements = list(lot.values())
    lot.clear()
    return journaliser_plusieurs(evenements)


def fermer_lot(request) -> list[Evenement]:
    """Écrit ce qui reste et referme le lot : les lectures suivantes seront écrites une à une."""
    ecrits = ecrire_lectures(request)
    brute = _requete_django(request)
    if hasattr(brute, ATTRIBUT_LOT):
        delattr(brute, ATTRIBUT_LOT)
    return ecrits
