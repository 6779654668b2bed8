"""Formulaires de la fiche de liaison MDPH (ppa/views_mdph.py). Les règles (modalité cochée,
motif, MDPH de l'annuaire ou adresse MSSanté organisationnelle) sont celles de `ppa.mdph.verifier` :
les champs sont facultatifs ici pour que le message vienne d'un seul endroit, en français."""

from __future__ import annotations

from django import forms

from ppa.mdph import LIBELLES_CHANGEMENT


def libelle_modalite(modalite: dict) -> str:
    """« Nouvelle modalité : Aide à la toilette (Faire sa toilette seule) »."""
    return f"{LIBELLES_CHANGEMENT[modalite['changement']].capitalize()} : {modalite['quoi']}"


class FicheMDPHForm(forms.Form):
    modalites = forms.MultipleChoiceField(
        label="Modalités qui changent durablement",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tirées du projet validé ; décochez celles qui ne changent pas durablement.",
    )
    motif = forms.CharField(
        label="Motif",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Pourquoi l'accompagnement change durablement, en quelques phrases.",
    )
    mdph_finess = forms.CharField(
        label="FINESS de la MDPH (annuaire)",
        required=False,
        max_length=20,
        help_text="Sa BAL MSSanté organisationnelle est celle de l'annuaire.",
    )
    bal = forms.CharField(
        label="Ou l'adresse de sa BAL MSSanté",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text="Se termine par .mssante.fr (ex. accueil@mdph-exemple.mssante.fr).",
    )
    nom = forms.CharField(label="Nom de la MDPH (avec une adresse saisie)", required=False, max_length=200)

    def __init__(self, *args, changements: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["modalites"].choices = [(m["origine"], libelle_modalite(m)) for m in changements]
        if not self.is_bound:
            self.initial["modalites"] = [m["origine"] for m in changements]

    def saisie(self) -> dict:
        """Les arguments de `mdph.verifier` / `mdph.preparer`."""
        donnees = self.cleaned_data
        return {
            "origines": donnees["modalites"],
            "motif": donnees["motif"],
            "mdph_finess": donnees["mdph_finess"],
            "bal": donnees["bal"],
            "nom": donnees["nom"],
        }


class ConsentementForm(forms.Form):
    """Le texte lu, renvoyé tel quel : s'il a changé entre-temps, rien n'est enregistré."""

    texte_vu = forms.CharField(widget=forms.HiddenInput, max_length=2000)
