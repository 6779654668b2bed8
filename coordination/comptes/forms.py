"""Formulaires des invitations (ADR 0014)."""

from django import forms

from coordination.personnes.models import LienProche

NOUVEAU = "nouveau"


class CodeInvitationForm(forms.Form):
    code = forms.CharField(
        label="Code d'invitation",
        max_length=40,
        help_text="16 lettres, par exemple ABCD-EFGH-JKMN-PQRS. Les tirets et espaces sont facultatifs.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        error_messages={"required": "Code d'invitation : saisissez le code reçu."},
    )


class InvitationProcheForm(forms.Form):
    """Inviter un proche déjà enregistré (sans compte), ou enregistrer un nouveau proche et l'inviter."""

    proche = forms.ChoiceField(label="Qui inviter ?", widget=forms.RadioSelect)
    lien = forms.ChoiceField(
        label="Lien avec la personne accompagnée",
        choices=[("", "— choisir —"), *LienProche.choices],
        required=False,
    )
    prenoms = forms.CharField(label="Prénom", max_length=200, required=False)
    nom = forms.CharField(label="Nom", max_length=100, required=False)

    def __init__(self, *args, proches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.proches = {str(p.uuid): p for p in proches}
        self.fields["proche"].choices = [
            *((cle, f"{p.prenoms} {p.nom} ({p.get_lien_display()})") for cle, p in self.proches.items()),
            (NOUVEAU, "Une autre personne, à enregistrer maintenant"),
        ]
        self.fields["proche"].error_messages["required"] = "Qui inviter ? : choisissez une personne."
        self.fields["proche"].error_messages["invalid_choice"] = (
            "Qui inviter ? : cette personne n'est plus à inviter (elle a peut-être déjà un compte)."
        )

    def clean(self):
        donnees = super().clean()
        if donnees.get("proche") == NOUVEAU:
            for champ, libelle in (("lien", "Lien"), ("prenoms", "Prénom"), ("nom", "Nom")):
                if not (donnees.get(champ) or "").strip():
                    self.add_error(champ, f"{libelle} : obligatoire pour enregistrer une nouvelle personne.")
        return donnees


class InvitationPersonnelForm(forms.Form):
    prenom = forms.CharField(label="Prénom", max_length=100)
    nom = forms.CharField(label="Nom", max_length=100)
    fonction = forms.CharField(
        label="Fonction",
        max_length=120,
        help_text="Ex. aide médico-psychologique, accompagnant éducatif et social.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for champ in self.fields.values():
            champ.error_messages["required"] = f"{champ.label} : obligatoire."
