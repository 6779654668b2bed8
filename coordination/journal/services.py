"""Écriture dans le journal. Tout service qui lit ou écrit des données d'usager passe par ici.

Ajout en fin de chaîne sous un verrou consultatif de transaction : le verrou est tenu jusqu'à la
fin de la transaction englobante. Journalisez donc en fin de service, juste avant le commit, pour
le tenir le moins longtemps possible. Le niveau d'isolement doit rester READ COMMITTED (celui de
Django) : la dernière empreinte est relue après l'obtention du verrou. Sous un autre niveau, la
contrainte `journal_chaine_sans_bifurcation` ferait échouer l'ajout au lieu de laisser bifurquer
la chaîne.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from coordination.journal.models import Evenement, Resultat

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

# Verrou consultatif qui sérialise l'ajout en fin de chaîne (voir docs/decisions/0004-journal-chaine.md).
VERROU_CHAINE = 0x4A4F55524E414C  # « JOURNAL »


def _objet(objet) -> tuple[str, uuid.UUID | None]:
    if objet is None:
        return "", None
    return objet._meta.label_lower, getattr(objet, "uuid", None)


def _usager_uuid(usager) -> uuid.UUID | None:
    if usager is None:
        return None
    return usager if isinstance(usager, uuid.UUID) else usager.uuid


def _verifier_details(valeur, chemin: str = "details") -> None:
    """Les détails doivent relire à l'identique depuis jsonb, sinon l'empreinte ne se recalcule plus.

    Refusés : nombres à virgule (jsonb les réécrit : 1e20 relu 100000000000000000000), clés non
    textuelles (json.dumps les change en texte), types non JSON (UUID, dates : les passer en texte)."""
    if valeur is None or isinstance(valeur, bool | int | str):
        return
    if isinstance(valeur, dict):
        for cle, sous_valeur in valeur.items():
            if not isinstance(cle, str):
                raise ValueError(f"Journal : la clé {cle!r} de « {chemin} » doit être un texte.")
            _verifier_details(sous_valeur, f"{chemin}.{cle}")
        return
    if isinstance(valeur, list | tuple):
        for rang, sous_valeur in enumerate(valeur):
            _verifier_details(sous_valeur, f"{chemin}[{rang}]")
        return
    raise ValueError(
        f"Journal : « {chemin} » vaut {valeur!r} ({type(valeur).__name__}) ; seuls textes, entiers, "
        "booléens, null, listes et dictionnaires sont acceptés (convertissez-le en texte)."
    )


def _tete_verrouillee() -> str:
    """Prend le verrou de chaîne (jusqu'à la fin de la transaction) et renvoie la dernière empreinte.

    Un seul aller-retour (fonction SQL de la migration 0004) : le verrou est tenu le moins
    longtemps possible, et la lecture suit l'obtention du verrou."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT journal_tete_verrouillee(%s)", [VERROU_CHAINE])
        return cursor.fetchone()[0]


@transaction.atomic
def journaliser_plusieurs(evenements: list[Evenement]) -> list[Evenement]:
    """Ajoute des événements préparés en fin de chaîne, dans l'ordre, en une transaction (un INSERT)."""
    if not evenements:
        return []
    contenus = [evenement.contenu_canonique() for evenement in evenements]  # hors verrou
    precedente = _tete_verrouillee()
    for evenement, contenu in zip(evenements, contenus, strict=True):
        evenement.empreinte_precedente = precedente
        evenement.empreinte = evenement.calculer_empreinte(precedente, contenu)
        precedente = evenement.empreinte
    return Evenement.objects.bulk_create(evenements)


def preparer_evenement(
    *,
    acteur: Acteur | None,
    action: str,
    objet=None,
    objet_type: str = "",
    objet_uuid: uuid.UUID | None = None,
    usager=None,
    au_nom_de: str = "",
    resultat: str = Resultat.SUCCES,
    details: dict | None = None,
) -> Evenement:
    """Construit un événement (non enregistré). `usager` : un Usager ou son UUID."""
    details = details or {}
    _verifier_details(details)
    type_objet, uuid_objet = _objet(objet)
    champs_acteur = (
        acteur.pour_journal()
        if acteur is not None
        else {"compte_id": None, "acteur_type": "anonyme", "acteur_nom": "anonyme", "acteur_qualite": ""}
    )
    compte = acteur.compte if acteur is not None else None
    champs_acteur.pop("compte_id", None)
    return Evenement(
        horodatage=timezone.now(),
        compte_uuid=compte.uuid if compte is not None else None,
        au_nom_de=au_nom_de,
        action=action,
        objet_type=objet_type or type_objet,
        objet_uuid=objet_uuid or uuid_objet,
        usager_uuid=_usager_uuid(usager),
        resultat=resultat,
        details=details,
        **champs_acteur,
    )


def journaliser(**kwargs) -> Evenement:
    """Ajoute un événement au journal (mêmes arguments que `preparer_evenement`)."""
    return journaliser_plusieurs([preparer_evenement(**kwargs)])[0]
