"""Export d'une période du cahier d'un usager : PDF imprimable (réunion de coordination) et JSON.

Les deux partent du même sélecteur que le fil (`selectors.notes_visibles`, notes désactivées
comprises, montrées comme retirées avec leur motif) : un export ne contient que ce que la personne
qui l'édite peut lire. Ordre chronologique d'écriture ; une réponse se range sous sa note quand
celle-ci est dans l'export, sinon à sa place, signalée comme réponse.

Forme du JSON (stable, version 1, dates ISO 8601 avec fuseau) : voir `FORME_JSON` et
docs/decisions/0019-pieces-jointes-et-exports.md. Les pièces jointes y sont décrites (nom, type,
taille, empreinte, adresse de téléchargement), jamais incluses.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cahier_liaison import selectors
from cahier_liaison.models import Note, PieceJointe
from cercle import habilitations
from cercle.models import Domaine

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager

VERSION_JSON = 1
FORME_JSON = "cahier-de-liaison/export"


@dataclass
class Periode:
    du: dt.date
    au: dt.date

    @property
    def debut(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.du, dt.time.min))

    @property
    def fin(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.au, dt.time.max))


@dataclass
class Ligne:
    """Une note de l'export et, sous elle, ses réponses de la période."""

    note: Note
    reponses: list[Note] = field(default_factory=list)
    reponse_orpheline: bool = False


def notes_de_la_periode(acteur: Acteur, usager: Usager, periode: Periode) -> list[Note]:
    """Les notes lisibles par l'acteur écrites dans la période, désactivées comprises, dans l'ordre
    chronologique (deux requêtes : notes avec auteurs et note d'origine, pièces jointes ; plus
    l'habilitation)."""
    filtres = {"depuis": periode.debut, "jusqu_au": periode.fin, "desactivees": True}
    notes = selectors.notes_visibles(acteur, usager, filtres=filtres)
    return list(notes.select_related("reponse_a").order_by("ecrite_le", "id"))


def en_fils(notes: list[Note]) -> list[Ligne]:
    lignes: dict[int, Ligne] = {}
    ordre: list[Ligne] = []
    for note in notes:
        parent = lignes.get(note.reponse_a_id) if note.reponse_a_id else None
        if parent is not None:
            parent.reponses.append(note)
            continue
        ligne = Ligne(note, reponse_orpheline=note.reponse_a_id is not None)
        lignes[note.pk] = ligne
        ordre.append(ligne)
    return ordre


def identite_visible(acteur: Acteur, usager: Usager) -> dict:
    """Ce que l'en-tête montre de la personne : son nom toujours (qui lit son cahier le connaît),
    sa date de naissance si l'acteur peut lire son identité."""
    identite = {"uuid": str(usager.uuid), "nom": str(usager)}
    if habilitations.peut(acteur, usager, "lire", Domaine.IDENTITE):
        identite["date_naissance"] = usager.date_naissance.isoformat()
    return identite


# --- JSON ---------------------------------------------------------------------------------------


def _adresse(request, nom: str, usager: Usager, piece: PieceJointe) -> str:
    return request.build_absolute_uri(
        reverse(f"cahier_liaison:{nom}", kwargs={"usager_uuid": usager.uuid, "piece_uuid": piece.uuid})
    )


def _piece_en_json(request, usager: Usager, piece: PieceJointe) -> dict:
    return {
        "uuid": str(piece.uuid),
        "nom": piece.nom,
        "type": piece.type_mime,
        "taille": piece.taille,
        "sha256": piece.sha256,
        "largeur": piece.largeur,
        "hauteur": piece.hauteur,
        "url": _adresse(request, "piece_jointe", usager, piece),
        "url_vignette": _adresse(request, "vignette", usager, piece) if piece.vignette else None,
    }


def _auteur_en_json(note: Note) -> dict:
    structure = None
    if note.auteur_exercice_id and note.auteur_exercice.structure_id:
        structure = note.auteur_exercice.structure
    elif note.auteur_structure_id:
        structure = note.auteur_structure
    return {
        "type": note.auteur_type,
        "nom": note.auteur_nom,
        "qualite": note.auteur_qualite,
        "structure": {"uuid": str(structure.uuid), "nom": structure.raison_sociale} if structure else None,
    }


def note_en_json(request, usager: Usager, note: Note) -> dict:
    return {
        "uuid": str(note.uuid),
        "type": {"code": note.type, "libelle": note.get_type_display()},
        "survenue_le": note.survenue_le.isoformat(),
        "ecrite_le": note.ecrite_le.isoformat(),
        "urgente": note.urgente,
        "visibilite": note.visibilite or None,
        "auteur": _auteur_en_json(note),
        "texte": note.texte,
        "transmission_ciblee": (
            {
                "cible": note.cible,
                "donnees": note.donnees,
                "actions": note.actions,
                "resultats": note.resultats,
            }
            if note.est_ciblee
            else None
        ),
        "version": note.version,
        "reponse_a": None if note.reponse_a_id is None else str(note.reponse_a.uuid),
        "active": note.active,
        "desactivee_le": note.desactivee_le.isoformat() if note.desactivee_le else None,
        "motif_desactivation": note.motif_desactivation or None,
        "pieces_jointes": [_piece_en_json(request, usager, piece) for piece in note.pieces_prechargees],
    }


def export_json(request, *, usager: Usager, periode: Periode, notes: list[Note]) -> dict:
    acteur = request.acteur
    return {
        "forme": FORME_JSON,
        "version": VERSION_JSON,
        "usager": identite_visible(acteur, usager),
        "periode": {"du": periode.du.isoformat(), "au": periode.au.isoformat()},
        "exporte_le": timezone.localtime().isoformat(),
        "exporte_par": {"nom": acteur.nom, "qualite": acteur.qualite},
        "nombre_de_notes": len(notes),
        "notes": [note_en_json(request, usager, note) for note in notes],
    }


# --- PDF ----------------------------------------------------------------------------------------


def _vignette_en_ligne(piece: PieceJointe) -> str:
    """La vignette lue dans le stockage, incorporée au PDF (jamais chargée par HTTP)."""
    with piece.vignette.open("rb") as fichier:
        return "data:image/jpeg;base64," + base64.b64encode(fichier.read()).decode("ascii")


def export_pdf(request, *, usager: Usager, periode: Periode, notes: list[Note]) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    for note in notes:
        for piece in note.pieces_prechargees:
            piece.vignette_en_ligne = _vignette_en_ligne(piece) if piece.vignette else ""
    html = render_to_string(
        "cahier_liaison/export.pdf.html",
        {
            "usager": usager,
            "identite": identite_visible(request.acteur, usager),
            "periode": periode,
            "lignes": en_fils(notes),
            "nombre": len(notes),
            "edite_le": timezone.localtime(),
            "edite_par": request.acteur.nom,
            "edite_qualite": request.acteur.qualite,
        },
    )
    feuilles = [CSS(filename=finders.find(f"css/{nom}.css")) for nom in ("preuve", "export_cahier")]
    return HTML(string=html, base_url=None).write_pdf(stylesheets=feuilles)
