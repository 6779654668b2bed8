"""Formulaires du cahier de liaison."""

from __future__ import annotations

import datetime
import re

from django import forms
from django.utils import timezone

from cahier_liaison.codes import TypeNote

# Clé d'auteur (voir `selectors.cle_auteur`) : « exercice:uuid », « proche:uuid », « usager:uuid »,
# « structure:uuid ».
CLE_AUTEUR = re.compile(
    r"^(exercice|proche|usager|structure):[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$"
)
OUI_NON = (("", "toutes"), ("oui", "urgentes seulement"), ("non", "non urgentes seulement"))


class FiltresCahierForm(forms.Form):
    """Les filtres du fil et de la recherche, lus dans les paramètres GET. `filtres()` donne le
    dictionnaire attendu par `selectors.notes_visibles` / `rechercher_dans_mes_cahiers`, avec les
    seules valeurs valides ; les erreurs sont en français, par champ. Les choix d'auteur et de
    structure viennent de `selectors.auteurs_du_cahier` / `structures_du_cahier` quand la page les
    connaît (sinon tout auteur bien formé est accepté : il ne trouve que ce que l'acteur voit)."""

    q = forms.CharField(
        label="Rechercher", required=False, max_length=200, strip=True,
        help_text=(
            'Mots à trouver ; "entre guillemets" pour une expression exacte, -mot pour exclure, '
            "or pour l'un ou l'autre."
        ),
        error_messages={"max_length": "La recherche est trop longue (200 caractères au plus)."},
    )  # fmt: skip
    type = forms.ChoiceField(
        label="Type de note", required=False, choices=[("", "tous les types"), *TypeNote.choices],
        error_messages={"invalid_choice": "Ce type de note n'existe pas."},
    )  # fmt: skip
    urgente = forms.ChoiceField(
        label="Urgence", required=False, choices=OUI_NON,
        error_messages={"invalid_choice": "Choisissez « urgentes » ou « non urgentes »."},
    )  # fmt: skip
    depuis = forms.DateField(
        label="Écrites depuis le", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Date invalide : utilisez le format JJ/MM/AAAA."},
    )  # fmt: skip
    jusqu_au = forms.DateField(
        label="Écrites jusqu'au", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Date invalide : utilisez le format JJ/MM/AAAA."},
    )  # fmt: skip
    auteur = forms.CharField(label="Auteur", required=False, max_length=60)
    structure = forms.UUIDField(
        label="Structure", required=False, error_messages={"invalid": "Cette structure n'existe pas."}
    )
    attend_mon_accuse = forms.BooleanField(label="Attendent mon accusé de réception", required=False)

    def __init__(self, *args, auteurs: list[tuple[str, str]] | None = None,
                 structures: list[tuple] | None = None, **kwargs) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.auteurs_permis = None
        if auteurs is not None:
            self.auteurs_permis = {cle for cle, _ in auteurs}
            self.fields["auteur"].widget = forms.Select(choices=[("", "tous les auteurs"), *auteurs])
        self.structures_permises = None
        if structures is not None:
            self.structures_permises = {str(cle) for cle, _ in structures}
            self.fields["structure"].widget = forms.Select(
                choices=[("", "toutes les structures"), *((str(cle), nom) for cle, nom in structures)]
            )

    def clean_auteur(self) -> str:
        auteur = self.cleaned_data["auteur"].strip()
        if not auteur:
            return ""
        if not CLE_AUTEUR.match(auteur) or (
            self.auteurs_permis is not None and auteur.lower() not in self.auteurs_permis
        ):
            raise forms.ValidationError("Cet auteur n'a pas écrit dans ce cahier.")
        return auteur.lower()

    def clean_structure(self):
        structure = self.cleaned_data["structure"]
        if (
            structure
            and self.structures_permises is not None
            and str(structure) not in self.structures_permises
        ):
            raise forms.ValidationError("Aucune note de ce cahier ne vient de cette structure.")
        return structure

    def clean(self) -> dict:
        donnees = super().clean()
        depuis, jusqu_au = donnees.get("depuis"), donnees.get("jusqu_au")
        if depuis and jusqu_au and depuis > jusqu_au:
            self.add_error("jusqu_au", "La date de fin doit suivre la date de début.")
        return donnees

    def filtres(self) -> dict:
        """Les filtres valides (un champ en erreur est ignoré) pour les sélecteurs du cahier."""
        donnees = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        valides = {nom: valeur for nom, valeur in donnees.items() if nom not in self.errors}
        filtres: dict = {}
        if valides.get("q"):
            filtres["texte"] = valides["q"]
        if valides.get("type"):
            filtres["type"] = valides["type"]
        if valides.get("urgente"):
            filtres["urgente"] = valides["urgente"] == "oui"
        if valides.get("depuis"):
            filtres["depuis"] = _debut_du_jour(valides["depuis"])
        if valides.get("jusqu_au"):
            filtres["jusqu_au"] = _debut_du_jour(valides["jusqu_au"] + datetime.timedelta(days=1)) - (
                datetime.timedelta(microseconds=1)
            )
        if valides.get("auteur"):
            filtres["auteur"] = valides["auteur"]
        if valides.get("structure"):
            filtres["structure"] = valides["structure"]
        if valides.get("attend_mon_accuse"):
            filtres["attend_mon_accuse"] = True
        return filtres


def _debut_du_jour(jour: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(jour, datetime.time.min))
