"""Formulaires du cahier de liaison : le champ des pièces jointes (réutilisé par le formulaire
d'écriture d'une note et de réponse) et la période d'un export."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone

from cahier_liaison import pieces_jointes as pj

PERIODE_MAX_JOURS = 366
FORMATS_EXPORT = (("pdf", "PDF imprimable"), ("json", "JSON (données)"))


class EntreePieces(forms.FileInput):
    """Plusieurs fichiers d'un coup ; sur un téléphone, `accept` propose l'appareil photo ou la
    galerie (sans `capture`, qui imposerait l'appareil photo)."""

    allow_multiple_selected = True


class ChampPieces(forms.FileField):
    """Liste de fichiers (éventuellement vide). Le contenu est contrôlé par le service
    (cahier_liaison/pieces_jointes.py), pas ici : le formulaire ne fait que les recueillir."""

    widget = EntreePieces(attrs={"accept": "image/*,application/pdf"})

    def clean(self, data, initial=None):
        fichiers = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(ChampPieces, self).clean(fichier, initial) for fichier in fichiers if fichier]


def aide_pieces() -> str:
    return (
        f"Photos (JPEG, PNG, WebP, HEIC) ou documents PDF, {settings.CAHIER_PIECES_PAR_NOTE} au plus, "
        f"{pj.en_mega_octets(settings.CAHIER_PIECE_TAILLE_MAX)} chacun au plus. Les informations cachées "
        "des photos (lieu, appareil) sont retirées."
    )


class PiecesJointesMixin(forms.Form):
    """À mêler au formulaire d'une note : champ `pieces` (plusieurs fichiers). `ecartes` : les
    messages des fichiers écartés à la réception (`pieces_jointes.fichiers_ecartes(request)`)."""

    pieces = ChampPieces(label="Photos ou documents", required=False)

    def __init__(self, *args, ecartes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.ecartes = list(ecartes)
        self.fields["pieces"].help_text = aide_pieces()

    def clean_pieces(self):
        fichiers = self.cleaned_data.get("pieces") or []
        if self.ecartes:
            raise forms.ValidationError(self.ecartes)
        if len(fichiers) > settings.CAHIER_PIECES_PAR_NOTE:
            raise forms.ValidationError(pj.trop_de_fichiers(len(fichiers)))
        return fichiers


def _champ_date(libelle: str, nom: str) -> forms.DateField:
    return forms.DateField(
        label=libelle,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": f"{nom} : elle est obligatoire.",
            "invalid": f"{nom} : écrivez une date (jj/mm/aaaa).",
        },
    )


class PeriodeExportForm(forms.Form):
    du = _champ_date("Du", "Date de début")
    au = _champ_date("Au (inclus)", "Date de fin")
    format = forms.ChoiceField(
        label="Format", choices=FORMATS_EXPORT, initial="pdf", widget=forms.RadioSelect,
        error_messages={"required": "Format : choisissez PDF ou JSON.",
                        "invalid_choice": "Format : choisissez PDF ou JSON."},
    )  # fmt: skip

    def clean(self):
        donnees = super().clean()
        du, au = donnees.get("du"), donnees.get("au")
        if du and au:
            if du > au:
                self.add_error("au", "Date de fin : elle doit être le même jour ou après la date de début.")
            elif (au - du).days + 1 > PERIODE_MAX_JOURS:
                self.add_error("au", f"Période : {PERIODE_MAX_JOURS} jours au plus (un an).")
        return donnees

    @staticmethod
    def initiale() -> dict:
        aujourd_hui = timezone.localdate()
        return {"du": aujourd_hui - dt.timedelta(days=30), "au": aujourd_hui, "format": "pdf"}
