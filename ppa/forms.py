"""Formulaires de l'atelier du projet personnalisé : la saisie seulement (types, bornes simples) ;
les règles (droits, brouillon, révisions des parties, cercle) sont dans ppa/services.py, dont les
refus reviennent sous les champs. Chaque formulaire d'une partie porte la révision lue de cette
partie (`revision_lue`, champ caché) : c'est elle qui révèle qu'un autre a écrit entre-temps."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar.prop import vRecur

from agenda.forms import JOURS, PARIS, ChampDate
from agenda.recurrence import decrire_regle, normaliser_rrule
from ppa.models import AvisUsager, PartieAccord, PartieProjet, TypeProjet

CODES_JOURS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
CHOIX_JOURS = [(CODES_JOURS[rang], nom) for rang, nom in JOURS]
REVISION_MANQUANTE = "Le formulaire est incomplet : rechargez la page, puis recommencez."


def _texte(label: str, *, lignes: int = 3, requis: bool = False, max_length: int | None = None, aide=""):
    return forms.CharField(
        label=label,
        required=requis,
        max_length=max_length,
        help_text=aide,
        widget=forms.Textarea(attrs={"rows": lignes}),
    )


class ChampRevision(forms.IntegerField):
    """La révision de la partie lue à l'affichage (caché)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        messages = {"required": REVISION_MANQUANTE, "invalid": REVISION_MANQUANTE}
        super().__init__(min_value=0, error_messages=messages, **kwargs)


class ProjetForm(forms.Form):
    titre = forms.CharField(
        label="Titre du projet", max_length=200, help_text="Par exemple « Vivre chez moi »."
    )
    type = forms.ChoiceField(label="Type de projet", choices=TypeProjet.choices, initial=TypeProjet.PPA)
    structure = forms.ChoiceField(label="Structure qui accompagne")

    def __init__(self, *args, structures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.structures = {str(s.uuid): s for s in structures}
        self.fields["structure"].choices = [(cle, s.raison_sociale) for cle, s in self.structures.items()]

    def clean_structure(self):
        return self.structures[self.cleaned_data["structure"]]


class ParolesForm(forms.Form):
    attentes = _texte(
        "Ce que la personne attend, dans ses mots", lignes=4, aide="Écrivez ses mots tels qu'elle les dit."
    )
    projet_de_vie = _texte("Son projet de vie, dans ses mots", lignes=4)
    revision_lue = ChampRevision()


class BesoinForm(forms.Form):
    libelle = forms.CharField(label="Besoin", max_length=300)
    code_serafin = forms.CharField(
        label="Code SERAFIN-PH (facultatif)", max_length=12, required=False, help_text="Par exemple 1.2.1.1."
    )
    precision = _texte("Précisions", lignes=2)
    revision_lue = ChampRevision()


class ObjectifForm(forms.Form):
    titre = forms.CharField(label="Objectif", max_length=300)
    resultat_attendu = _texte("Résultat attendu", lignes=2)
    strategie = _texte("Comment y arriver (stratégie)", lignes=2)
    besoins = forms.MultipleChoiceField(
        label="Besoins auxquels il répond", required=False, widget=forms.CheckboxSelectMultiple
    )
    date_cible = ChampDate(label="Date visée", required=False)
    revision_lue = ChampRevision()

    def __init__(self, *args, besoins=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.besoins_connus = {str(b.uuid): b for b in besoins}
        self.fields["besoins"].choices = [(cle, b.libelle) for cle, b in self.besoins_connus.items()]
        if not besoins:
            del self.fields["besoins"]

    def clean_besoins(self):
        return [self.besoins_connus[cle] for cle in self.cleaned_data["besoins"]]


class AvisForm(forms.Form):
    avis = forms.ChoiceField(
        label="Êtes-vous d'accord avec cet objectif ?",
        choices=[
            (AvisUsager.D_ACCORD, "Je suis d'accord"),
            (AvisUsager.PAS_D_ACCORD, "Je ne suis pas d'accord"),
            (AvisUsager.SANS_AVIS, "Je ne sais pas encore"),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    commentaire = _texte("Ce que j'en dis, avec mes mots", lignes=2, max_length=2000)
    revision_lue = ChampRevision()


# --- La fréquence d'une action, en contrôles simples → RRULE (comme l'agenda, RFC 5545) -----------

REPETITIONS = [
    ("", "pas de fréquence (une fois, ou quand il le faut)"),
    ("semaine", "chaque semaine, certains jours"),
    ("jours", "tous les N jours"),
    ("mois", "chaque mois"),
]
GARDER = "garder"


def controles_de(regle: str) -> dict:
    """Les contrôles simples qui redonnent `regle`, ou `{"repetition": "garder"}` si elle est plus
    fine que ce qu'ils savent dire (elle est alors gardée telle quelle : rien ne se perd)."""
    if not regle:
        return {"repetition": ""}
    try:
        parties = vRecur.from_ical(regle.removeprefix("RRULE:"))
    except Exception:
        return {"repetition": GARDER}
    frequence = str(parties.get("FREQ", [""])[0]).upper()
    intervalle = int(parties["INTERVAL"][0]) if "INTERVAL" in parties else 1
    autres = set(parties) - {"FREQ", "INTERVAL", "BYDAY"}
    jours = [str(j).upper() for j in parties.get("BYDAY", [])]
    if autres:
        return {"repetition": GARDER}
    if frequence == "WEEKLY" and intervalle == 1 and jours and set(jours) <= set(CODES_JOURS):
        return {"repetition": "semaine", "jours": jours}
    if frequence == "DAILY" and not jours:
        return {"repetition": "jours", "tous_les": intervalle}
    if frequence == "MONTHLY" and intervalle == 1 and not jours:
        return {"repetition": "mois"}
    return {"repetition": GARDER}


class ActionForm(forms.Form):
    quoi = forms.CharField(label="Quoi", max_length=300, help_text="Par exemple « Aide à la toilette ».")
    intervenant = forms.ChoiceField(label="Qui (membre du cercle)", required=False)
    intervenant_libelle = forms.CharField(
        label="Ou qui, hors du cercle", max_length=200, required=False, help_text="Nom ou service."
    )
    ou = forms.CharField(label="Où", max_length=300, required=False)
    repetition = forms.ChoiceField(label="À quelle fréquence", choices=REPETITIONS, required=False)
    jours = forms.MultipleChoiceField(
        label="Quels jours (chaque semaine)", choices=CHOIX_JOURS, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    tous_les = forms.IntegerField(
        label="Tous les combien de jours", min_value=1, max_value=365, required=False
    )
    duree_minutes = forms.IntegerField(label="Durée (minutes)", min_value=1, max_value=1440, required=False)
    code_prestation = forms.CharField(
        label="Prestation SERAFIN-PH (facultatif)",
        max_length=12,
        required=False,
        help_text="Par exemple 2.3.1.",
    )
    revision_lue = ChampRevision()

    def __init__(self, *args, membres=(), regle_actuelle: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.membres = {str(m.uuid): m for m in membres}
        self.fields["intervenant"].choices = [("", "— personne du cercle —")] + [
            (cle, m.nom_affiche) for cle, m in self.membres.items()
        ]
        self.regle_actuelle = regle_actuelle
        if controles_de(regle_actuelle)["repetition"] == GARDER:
            self.fields["repetition"].choices = [
                (GARDER, f"garder la fréquence actuelle : {decrire_regle(regle_actuelle)}"),
                *REPETITIONS,
            ]

    def clean_intervenant(self):
        cle = self.cleaned_data["intervenant"]
        return self.membres.get(cle) if cle else None

    def clean(self):
        donnees = super().clean()
        repetition = donnees.get("repetition") or ""
        regle = ""
        if repetition == GARDER:
            regle = self.regle_actuelle
        elif repetition == "semaine":
            if not donnees.get("jours"):
                self.add_error("jours", "Cochez au moins un jour de la semaine.")
                return donnees
            ordre = {code: rang for rang, code in enumerate(CODES_JOURS)}
            regle = "FREQ=WEEKLY;BYDAY=" + ",".join(sorted(donnees["jours"], key=ordre.__getitem__))
        elif repetition == "jours":
            if not donnees.get("tous_les"):
                self.add_error("tous_les", "Indiquez tous les combien de jours (1 pour tous les jours).")
                return donnees
            n = donnees["tous_les"]
            regle = "FREQ=DAILY" if n == 1 else f"FREQ=DAILY;INTERVAL={n}"
        elif repetition == "mois":
            regle = "FREQ=MONTHLY"
        if regle and repetition != GARDER:
            try:  # la même validation que l'agenda (fréquence, bornes)
                normaliser_rrule(regle, dt.datetime.combine(timezone.localdate(), dt.time(9), tzinfo=PARIS))
            except ValidationError as exc:
                self.add_error("repetition", exc.messages)
        donnees["frequence"] = regle
        return donnees


def initial_action(action) -> dict:
    """Les valeurs d'une action existante pour son formulaire de modification."""
    return {
        "quoi": action.quoi,
        "intervenant": str(action.intervenant.uuid) if action.intervenant_id else "",
        "intervenant_libelle": action.intervenant_libelle,
        "ou": action.ou,
        "duree_minutes": action.duree_minutes,
        "code_prestation": action.code_prestation,
        **controles_de(action.frequence),
    }


class CommentaireForm(forms.Form):
    partie = forms.ChoiceField(choices=PartieProjet.choices, widget=forms.HiddenInput)
    texte = _texte("Votre message", lignes=2, requis=True, max_length=5000)


class AccordForm(forms.Form):
    partie = forms.ChoiceField(choices=PartieAccord.choices, widget=forms.HiddenInput)
    empreinte = forms.CharField(max_length=64, widget=forms.HiddenInput)


class ReferentForm(forms.Form):
    """Le référent d'un projet, parmi les professionnels qui exercent aujourd'hui dans sa structure."""

    referent = forms.ChoiceField(label="Nouveau référent du projet")

    def __init__(self, *args, exercices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.exercices = {str(e.uuid): e for e in exercices}
        self.fields["referent"].choices = [
            (cle, f"{e.professionnel} — {e.profession_libelle or e.fonction or 'professionnel'}")
            for cle, e in self.exercices.items()
        ]

    def clean_referent(self):
        return self.exercices[self.cleaned_data["referent"]]
