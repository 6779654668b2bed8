"""Formulaires des pages de suivi du projet personnalisé : choix des deux versions à comparer,
reprise d'un Bundle TDDUI, projet précédent joint (document)."""

from __future__ import annotations

from django import forms

from cahier_liaison import pieces_jointes as pj
from ppa import reprise

# Libellés courts (la liste tient dans un téléphone de 360 px).
ETAT_COURT = {"brouillon": "brouillon", "en_validation": "en attente des accords", "validee": "validée",
              "remplacee": "remplacée"}  # fmt: skip


def _libelle(version) -> str:
    return f"Version {version.numero} — {ETAT_COURT.get(version.statut, version.get_statut_display())}"


class ComparerForm(forms.Form):
    """Deux versions du même projet (listées de la plus récente à la plus ancienne)."""

    avant = forms.ChoiceField(label="Version de départ (avant)")
    apres = forms.ChoiceField(label="Version comparée (après)")

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        choix = [(str(v.uuid), _libelle(v)) for v in versions]
        message = "Choisissez une version de ce projet dans la liste."
        for nom in ("avant", "apres"):
            self.fields[nom].choices = choix
            self.fields[nom].error_messages = {
                "required": message,
                "invalid_choice": "Cette version n'est pas une version de ce projet : " + message[0].lower()
                + message[1:],
            }  # fmt: skip


class RepriseTdduiForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier du projet précédent (Bundle TDDUI, .json)",
        help_text=(
            "L'export « TDDUI » du logiciel de la structure précédente (un fichier JSON FHIR), "
            f"{pj.en_mega_octets(reprise.TAILLE_MAX_BUNDLE)} au plus."
        ),
        error_messages={
            "required": "Choisissez le fichier du projet précédent (Bundle TDDUI, .json).",
            "empty": "Le fichier est vide.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json,application/fhir+json"}),
    )


class DocumentPrecedentForm(forms.Form):
    fichier = forms.FileField(
        label="Document du projet précédent (PDF ou photo)",
        help_text=f"{pj.TYPES_ACCEPTES[0].upper()}{pj.TYPES_ACCEPTES[1:]}. Le fichier est contrôlé avant "
        "d'être gardé.",
        error_messages={
            "required": "Choisissez le fichier du projet précédent (PDF ou photo).",
            "empty": "Le fichier est vide.",
        },
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png,image/webp,.heic,.heif"}
        ),
    )
    description = forms.CharField(
        label="De quoi s'agit-il ? (facultatif)",
        help_text="Par exemple : « Projet du foyer de vie, 2025 ».",
        max_length=200,
        required=False,
    )
