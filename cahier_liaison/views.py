"""Pages du cahier de liaison. Vues minces : lire la saisie → sélecteur → afficher ; les droits et
les visibilités sont appliqués par les sélecteurs (cahier_liaison/selectors.py), chaque note
affichée est journalisée (lecture)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from cahier_liaison import selectors
from cahier_liaison.forms import FiltresCahierForm
from cahier_liaison.models import Note
from cercle.views import _est_htmx
from coordination.journal.lectures import noter_lecture

LIMITE_RECHERCHE = 50


def lien_note(note: Note) -> str | None:
    """L'adresse du fil de la note (page `cahier_liaison:note`), s'il est servi."""
    try:
        return reverse(
            "cahier_liaison:note", kwargs={"usager_uuid": note.usager.uuid, "note_uuid": note.uuid}
        )
    except NoReverseMatch:
        return None


@login_required
@require_GET
def recherche(request: HttpRequest) -> HttpResponse:
    """Chercher dans tous les cahiers que l'acteur peut lire (ADR 0018) : les notes les plus
    récentes d'abord, avec l'usager, l'auteur et un extrait où les mots trouvés sont surlignés."""
    form = FiltresCahierForm(request.GET)
    form.is_valid()
    filtres = form.filtres()
    texte = filtres.pop("texte", "")
    notes = selectors.rechercher_dans_mes_cahiers(
        request.acteur, texte, filtres=filtres, limite=LIMITE_RECHERCHE
    )
    for note in notes:
        noter_lecture(request, usager=note.usager, objet=note, action="cahier.recherche")
        note.lien = lien_note(note)
    contexte = {"form": form, "texte": texte, "notes": notes, "limite": LIMITE_RECHERCHE}
    gabarit = (
        "cahier_liaison/_resultats_recherche.html" if _est_htmx(request) else "cahier_liaison/recherche.html"
    )
    return render(request, gabarit, contexte)
