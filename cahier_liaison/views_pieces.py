"""Pages du cahier de liaison : téléchargement des pièces jointes et de leurs vignettes, export
d'une période (PDF imprimable, JSON).

Vues minces : lire la saisie → sélecteur ou service → répondre. Les décisions d'accès viennent
de cercle/habilitations.py par les sélecteurs du cahier ; règle des refus (ADR 0008) : usager
hors du monde de l'acteur → 404 ; usager connu sans lecture du cahier → 403 journalisé ; pièce
d'une note que l'acteur ne peut pas lire (visibilité) ou d'un autre usager → 404. Chaque lecture
est journalisée (`noter_lecture`)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from cahier_liaison import exports, forms, selectors
from cahier_liaison.models import TypePiece
from cercle import habilitations
from cercle.services import AccesRefuse
from cercle.views import _refus_journalise, _usager
from coordination.journal.lectures import noter_lecture

REFUS_CAHIER = "Vous n'avez pas accès au cahier de liaison de cette personne."


def _exiger_lecture(request: HttpRequest, usager) -> None:
    if not habilitations.peut(request.acteur, usager, "lire", selectors.DOMAINE):
        raise AccesRefuse(REFUS_CAHIER)


def _sans_cache(reponse: HttpResponse) -> HttpResponse:
    reponse["Cache-Control"] = "private, no-store"
    reponse["X-Content-Type-Options"] = "nosniff"
    return reponse


# --- Pièces jointes -----------------------------------------------------------------------------


def _servir_piece(request: HttpRequest, usager_uuid, piece_uuid, *, vignette: bool) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    _exiger_lecture(request, usager)
    piece = selectors.piece_jointe_visible(request.acteur, usager, piece_uuid)
    if piece is None or (vignette and not piece.vignette):
        raise Http404("Pièce jointe introuvable.")
    noter_lecture(
        request,
        usager=usager,
        objet=piece,
        action="cahier.vignette.lecture" if vignette else "cahier.piece_jointe.lecture",
        details={"note": str(piece.note.uuid), "nom": piece.nom, "type": piece.type_mime},
    )
    fichier = piece.vignette if vignette else piece.fichier
    type_mime = TypePiece.JPEG.value if vignette else piece.type_mime
    reponse = FileResponse(
        fichier.open("rb"),
        content_type=type_mime,
        as_attachment=not vignette and not piece.est_image,
        filename=piece.nom,
    )
    # Rien de ce qui est servi ne s'exécute, même ouvert seul dans un onglet.
    reponse["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    reponse["Cross-Origin-Resource-Policy"] = "same-origin"
    return _sans_cache(reponse)


@login_required
@require_GET
@_refus_journalise
def piece_jointe(request: HttpRequest, usager_uuid, piece_uuid) -> HttpResponse:
    """Le fichier d'une pièce jointe : image affichée (inline), PDF téléchargé (attachment)."""
    return _servir_piece(request, usager_uuid, piece_uuid, vignette=False)


@login_required
@require_GET
@_refus_journalise
def vignette(request: HttpRequest, usager_uuid, piece_uuid) -> HttpResponse:
    """La vignette JPEG d'une image (pour le fil) ; une pièce PDF n'en a pas (404)."""
    return _servir_piece(request, usager_uuid, piece_uuid, vignette=True)


# --- Export -------------------------------------------------------------------------------------


@login_required
@require_GET
@_refus_journalise
def export(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Formulaire de période ; avec une période valide, le fichier (PDF ou JSON)."""
    usager = _usager(request, usager_uuid)
    _exiger_lecture(request, usager)
    saisie = request.GET if "du" in request.GET or "au" in request.GET else None
    form = forms.PeriodeExportForm(saisie, initial=forms.PeriodeExportForm.initiale())
    if not form.is_valid():
        return _sans_cache(render(request, "cahier_liaison/export.html", {"usager": usager, "form": form}))
    periode = exports.Periode(form.cleaned_data["du"], form.cleaned_data["au"])
    format_ = form.cleaned_data["format"]
    notes = exports.notes_de_la_periode(request.acteur, usager, periode)
    noter_lecture(
        request,
        usager=usager,
        action="cahier.export",
        details={
            "format": format_,
            "du": periode.du.isoformat(),
            "au": periode.au.isoformat(),
            "notes": [str(note.uuid) for note in notes],
        },
    )
    nom = f"cahier-{slugify(str(usager))}-{periode.du:%Y%m%d}-{periode.au:%Y%m%d}"
    if format_ == "json":
        contenu = json.dumps(
            exports.export_json(request, usager=usager, periode=periode, notes=notes),
            ensure_ascii=False,
            indent=2,
        )
        reponse = HttpResponse(contenu, content_type="application/json; charset=utf-8")
        reponse["Content-Disposition"] = f'attachment; filename="{nom}.json"'
    else:
        contenu = exports.export_pdf(request, usager=usager, periode=periode, notes=notes)
        reponse = HttpResponse(contenu, content_type="application/pdf")
        reponse["Content-Disposition"] = f'attachment; filename="{nom}.pdf"'
    return _sans_cache(reponse)
