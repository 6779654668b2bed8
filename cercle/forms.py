"""Formulaires des pages du cercle. Ils ne vérifient que la saisie ; les règles (qui peut quoi,
niveaux permis, dates) restent dans les services, dont les refus reviennent ici en messages."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from cercle.models import Domaine, MotifSortie, Niveau
from cercle.roles import roles_pour

TAILLE_RECHERCHE = 100


class ChampDate(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class RechercheForm(forms.Form):
    q = forms.CharField(label="Rechercher", max_length=TAILLE_RECHERCHE, required=False, strip=True)


class DroitForm(forms.Form):
    domaine = forms.ChoiceField(label="Sur quoi", choices=Domaine.choices)
    niveau = forms.TypedChoiceField(
        label="Ce que la personne pourra faire",
        coerce=int,
        widget=forms.RadioSelect,
        choices=[
            (Niveau.LECTURE, "Consulter"),
            (Niveau.ECRITURE, "Consulter et compléter"),
            (Niveau.GESTION, "Consulter, compléter et gérer"),
        ],
    )
    date_fin = forms.DateField(
        label="Jusqu'au (facultatif)",
        required=False,
        widget=ChampDate,
        help_text="Laissez vide pour un droit sans date de fin. Le jour indiqué est compris.",
        error_messages={"invalid": "Jusqu'au : saisissez une date (jour, mois, année)."},
    )

    def clean_date_fin(self):
        date_fin = self.cleaned_data.get("date_fin")
        if date_fin is not None and date_fin < timezone.localdate():
            raise forms.ValidationError("Jusqu'au : cette date est déjà passée.")
        return date_fin


class RetraitMembreForm(forms.Form):
    motif = forms.ChoiceField(
        label="Pourquoi cette personne quitte le cercle",
        choices=[
            (MotifSortie.DEMANDE_USAGER, "À la demande de la personne accompagnée"),
            (MotifSortie.FIN_ACCOMPAGNEMENT, "L'accompagnement est terminé"),
            (MotifSortie.FIN_LIEN, "Il n'y a plus de lien avec la personne accompagnée"),
            (MotifSortie.AUTRE, "Autre motif"),
        ],
        widget=forms.RadioSelect,
    )


class AjoutAutreForm(forms.Form):
    prenoms = forms.CharField(label="Prénom", max_length=200, required=False)
    nom = forms.CharField(label="Nom", max_length=100)
    precision = forms.CharField(
        label="Qui est-ce ? (facultatif)", max_length=120, required=False, help_text="Par exemple : voisine."
    )
    telephone = forms.CharField(label="Téléphone (facultatif)", max_length=20, required=False)
    role = forms.ChoiceField(label="Rôle", choices=roles_pour("autre"))


class DecisionDemandeForm(forms.Form):
    motif = forms.CharField(
        label="Motif du refus (facultatif, transmis au professionnel)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DemandeAdhesionForm(forms.Form):
    matricule_ins = forms.CharField(
        label="Matricule INS (15 caractères)",
        max_length=21,
        required=False,
        help_text="Le numéro de sécurité sociale de la personne, s'il vous a été communiqué.",
    )
    nom_naissance = forms.CharField(label="Nom de naissance", max_length=100, required=False)
    prenom = forms.CharField(label="Premier prénom de naissance", max_length=100, required=False)
    date_naissance = forms.DateField(
        label="Date de naissance",
        required=False,
        widget=ChampDate,
        error_messages={"invalid": "Date de naissance : saisissez une date (jour, mois, année)."},
    )
    role = forms.ChoiceField(label="Votre rôle auprès de la personne", choices=roles_pour("professionnel"))
    message = forms.CharField(
        label="Message (facultatif)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Expliquez en quelques mots pourquoi vous demandez à entrer dans le cercle.",
    )

    def clean(self):
        donnees = super().clean()
        traits = [donnees.get("nom_naissance"), donnees.get("prenom"), donnees.get("date_naissance")]
        if not donnees.get("matricule_ins") and not all(traits):
            raise forms.ValidationError(
                "Indiquez le matricule INS, ou bien le nom de naissance, le premier prénom et la date "
                "de naissance de la personne."
            )
        return donnees


PERIODES = {"7": 7, "30": 30, "90": 90, "365": 365}


class FiltreAccesForm(forms.Form):
    periode = forms.ChoiceField(
        label="Période",
        required=False,
        choices=[
            ("30", "Les 30 derniers jours"),
            ("7", "Les 7 derniers jours"),
            ("90", "Les 3 derniers mois"),
            ("365", "La dernière année"),
            ("tout", "Depuis le début"),
        ],
    )
    qui = forms.ChoiceField(
        label="Qui",
        required=False,
        choices=[
            ("", "Tout le monde"),
            ("professionnel", "Les professionnels"),
            ("proche", "Les proches"),
            ("systeme", "Le portail (traitements automatiques)"),
        ],
    )
    nature = forms.ChoiceField(
        label="Quoi",
        required=False,
        choices=[
            ("", "Consultations et modifications"),
            ("lecture", "Seulement les consultations"),
            ("modification", "Seulement les modifications"),
        ],
    )


class HistoriqueForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier de l'historique de remboursement (CSV ou FHIR)",
        help_text="Fichier .csv (colonnes « rpps » et « date ») ou .json (Bundle FHIR), 2 Mo au plus.",
        error_messages={
            "required": "Choisissez le fichier de l'historique de remboursement.",
            "empty": "Le fichier est vide.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )
