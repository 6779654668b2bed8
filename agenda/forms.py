"""Formulaires de l'agenda : la saisie seulement (types, bornes simples) ; les règles (droits,
cercle, horaires) sont dans les services, dont les refus reviennent sous les champs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms

from agenda import disponibilites
from agenda.models import MotifAbsence

PARIS = ZoneInfo("Europe/Paris")
JOURS = [
    (0, "lundi"),
    (1, "mardi"),
    (2, "mercredi"),
    (3, "jeudi"),
    (4, "vendredi"),
    (5, "samedi"),
    (6, "dimanche"),
]
REPETITIONS = [
    ("", "ne se répète pas"),
    ("FREQ=DAILY", "tous les jours"),
    ("FREQ=WEEKLY", "toutes les semaines"),
    ("FREQ=WEEKLY;INTERVAL=2", "toutes les deux semaines"),
    ("FREQ=MONTHLY", "tous les mois"),
]


class ChampDate(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ChampHeure(forms.TimeField):
    widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def a_paris(jour: dt.date, heure: dt.time) -> dt.datetime:
    """Heure murale de Paris → instant (l'heure d'été est celle du jour choisi)."""
    return dt.datetime.combine(jour, heure, tzinfo=PARIS)


class EvenementForm(forms.Form):
    titre = forms.CharField(
        label="Titre", max_length=200, help_text="Par exemple « Séance de kinésithérapie »."
    )
    jour = ChampDate(label="Jour")
    heure_debut = ChampHeure(label="De", required=False)
    heure_fin = ChampHeure(label="À", required=False)
    journee_entiere = forms.BooleanField(label="Toute la journée", required=False)
    motif = forms.CharField(label="Motif", max_length=300, required=False)
    lieu = forms.CharField(label="Lieu (adresse)", max_length=300, required=False)
    visio = forms.URLField(
        label="Lien de visio",
        required=False,
        assume_scheme="https",
        help_text="Adresse https:// de la visio, s'il y en a une.",
    )
    repetition = forms.ChoiceField(label="Répétition", choices=REPETITIONS, required=False)
    jusqu_au = ChampDate(label="Jusqu'au (compris)", required=False)
    participants = forms.MultipleChoiceField(
        label="Personnes conviées", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, invitables: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participants"].choices = list(invitables)
        if not invitables:
            del self.fields["participants"]

    def clean(self):
        donnees = super().clean()
        jour = donnees.get("jour")
        if donnees.get("journee_entiere"):
            if jour:
                donnees["debut"] = a_paris(jour, dt.time(0))
                donnees["fin"] = dt.datetime.combine(jour + dt.timedelta(days=1), dt.time(0), tzinfo=PARIS)
        else:
            debut, fin = donnees.get("heure_debut"), donnees.get("heure_fin")
            if debut is None:
                self.add_error("heure_debut", "Indiquez l'heure de début, ou cochez « Toute la journée ».")
            if fin is None:
                self.add_error("heure_fin", "Indiquez l'heure de fin.")
            if jour and debut and fin:
                donnees["debut"], donnees["fin"] = a_paris(jour, debut), a_paris(jour, fin)
        rrule = donnees.get("repetition") or ""
        if rrule and donnees.get("jusqu_au"):
            fin_serie = a_paris(donnees["jusqu_au"], dt.time(23, 59, 59)).astimezone(dt.UTC)
            rrule += f";UNTIL={fin_serie:%Y%m%dT%H%M%SZ}"
        donnees["rrule"] = rrule
        donnees["lieux"] = [{"adresse": donnees.get("lieu") or "", "visio": donnees.get("visio") or ""}]
        return donnees


class ReponseForm(forms.Form):
    statut = forms.ChoiceField(
        choices=[("accepted", "J'accepte"), ("declined", "Je décline"), ("tentative", "Peut-être")]
    )


class AnnulationForm(forms.Form):
    motif = forms.CharField(label="Motif de l'annulation", max_length=300, required=False)


class DemandeReunionForm(forms.Form):
    titre = forms.CharField(label="Objet de la réunion", max_length=200, initial="Réunion de coordination")
    motif = forms.CharField(
        label="Motif", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    participants = forms.MultipleChoiceField(label="Qui réunir", widget=forms.CheckboxSelectMultiple)
    facultatifs = forms.MultipleChoiceField(
        label="Présence souhaitée mais pas indispensable", required=False, widget=forms.CheckboxSelectMultiple
    )
    duree = forms.TypedChoiceField(
        label="Durée",
        coerce=int,
        choices=[(30, "30 minutes"), (45, "45 minutes"), (60, "1 heure"), (90, "1 h 30"), (120, "2 heures")],
        initial=60,
    )
    du = ChampDate(label="Chercher à partir du")
    au = ChampDate(label="Jusqu'au")
    date_limite = ChampDate(label="Réponses attendues avant le")
    lieu = forms.CharField(label="Lieu (adresse)", max_length=300, required=False)
    visio = forms.URLField(label="Lien de visio", required=False, assume_scheme="https")
    debut = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, invitables: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participants"].choices = list(invitables)
        self.fields["facultatifs"].choices = list(invitables)

    def clean(self):
        donnees = super().clean()
        du, au, limite = donnees.get("du"), donnees.get("au"), donnees.get("date_limite")
        if du and au:
            if au < du:
                self.add_error("au", "La fin de la période doit venir après son début.")
            donnees["horizon_debut"] = a_paris(du, dt.time(0))
            donnees["horizon_fin"] = a_paris(au + dt.timedelta(days=1), dt.time(0))
        if limite:
            donnees["date_limite_instant"] = a_paris(limite, dt.time(23, 59))
        donnees["lieux"] = [{"adresse": donnees.get("lieu") or "", "visio": donnees.get("visio") or ""}]
        return donnees


class ContrePropositionForm(forms.Form):
    jour = ChampDate(label="Jour proposé")
    heure = ChampHeure(label="Heure proposée")
    commentaire = forms.CharField(label="Commentaire", max_length=300, required=False)

    def clean(self):
        donnees = super().clean()
        if donnees.get("jour") and donnees.get("heure"):
            donnees["debut"] = a_paris(donnees["jour"], donnees["heure"])
        return donnees


class DisponibiliteForm(forms.Form):
    jours = forms.TypedMultipleChoiceField(
        label="Jours", choices=JOURS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    heure_debut = ChampHeure(label="De")
    heure_fin = ChampHeure(label="À")
    pour_cette_structure = forms.BooleanField(
        label="Seulement pour la structure où j'agis en ce moment", required=False
    )


class AbsenceForm(forms.Form):
    du = ChampDate(label="Du")
    au = ChampDate(label="Au (compris)")
    motif = forms.ChoiceField(label="Motif (vous seul le voyez)", choices=MotifAbsence.choices)

    def clean(self):
        donnees = super().clean()
        if donnees.get("du") and donnees.get("au"):
            donnees["debut"] = a_paris(donnees["du"], dt.time(0))
            donnees["fin"] = a_paris(donnees["au"] + dt.timedelta(days=1), dt.time(0))
        return donnees


class CalDAVForm(forms.Form):
    url = forms.URLField(
        label="Adresse CalDAV du calendrier",
        max_length=500,
        assume_scheme="https",
        help_text="Donnée par votre fournisseur de calendrier (Nextcloud, iCloud, Fastmail…).",
    )
    utilisateur = forms.CharField(label="Identifiant", max_length=200)
    mot_de_passe = forms.CharField(
        label="Mot de passe d'application", widget=forms.PasswordInput(render_value=False), max_length=200
    )


NOMS_DES_ZONES = {
    "metropole": "Métropole", "alsace-moselle": "Alsace-Moselle", "la-reunion": "La Réunion",
    "saint-barthelemy": "Saint-Barthélemy", "nouvelle-caledonie": "Nouvelle-Calédonie",
    "polynesie-francaise": "Polynésie française", "saint-pierre-et-miquelon": "Saint-Pierre-et-Miquelon",
    "wallis-et-futuna": "Wallis-et-Futuna",
}  # fmt: skip
# Les zones sont celles du calcul des fériés (agenda/disponibilites.py), nommées pour l'écran.
ZONES_FERIES = [(zone, NOMS_DES_ZONES.get(zone, zone.replace("-", " ").title().replace(" ", "-")))
                for zone in disponibilites.ZONES_FERIES]  # fmt: skip
MINUTES = [(m, f"{m} min" if m else "aucun") for m in (0, 10, 15, 20, 30, 45, 60, 90)]


class ReglagesForm(forms.Form):
    tampon_avant = forms.TypedChoiceField(
        label="Temps libre avant une réunion (trajet)", choices=MINUTES, coerce=int, initial=0
    )
    tampon_apres = forms.TypedChoiceField(
        label="Temps libre après une réunion", choices=MINUTES, coerce=int, initial=0
    )
    zone_feries = forms.ChoiceField(label="Jours fériés de", choices=ZONES_FERIES, initial="metropole")


MOMENTS = [("", "pas de préférence"), ("matin", "plutôt le matin (9 h – 12 h)"),
           ("apres-midi", "plutôt l'après-midi (14 h – 17 h)")]  # fmt: skip
HEURES_DES_MOMENTS = {"matin": (dt.time(9), dt.time(12)), "apres-midi": (dt.time(14), dt.time(17))}


class PreferencesForm(forms.Form):
    moment = forms.ChoiceField(label="Moment préféré pour les rendez-vous", choices=MOMENTS, required=False)
    jours = forms.TypedMultipleChoiceField(
        label="Jours préférés",
        choices=JOURS[:5],
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def plages(self) -> list:
        moment = self.cleaned_data.get("moment")
        if not moment:
            return []
        debut, fin = HEURES_DES_MOMENTS[moment]
        return [(self.cleaned_data.get("jours") or range(5), debut, fin)]


class AccordMESForm(forms.Form):
    """L'accord de la personne (ou de son représentant légal) pour partager son agenda avec Mon
    espace santé : une case à cocher, exigée, au texte exact de ce qui est partagé."""

    accord = forms.BooleanField(
        label=(
            "J'accepte que les rendez-vous de cet agenda soient envoyés à Mon espace santé "
            "(créations, modifications, annulations) et que les rendez-vous notés dans Mon espace santé "
            "apparaissent ici. Je peux retirer cet accord à tout moment."
        ),
        error_messages={"required": "Cochez la case pour donner votre accord."},
    )
