"""Formulaires des pages du cahier. Ils ne vérifient que la saisie ; les règles (droits, visibilité,
contenu des pièces jointes, destinataires) restent dans les services, dont les refus reviennent ici
sous les champs."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.utils import timezone

from cahier_liaison import pieces_jointes as pj
from cahier_liaison import selectors
from cahier_liaison.codes import TypeNote, Visibilite
from cercle.forms import ChampDate

FORMAT_MOMENT = "%Y-%m-%dT%H:%M"

# La visibilité en mots simples, pour celui qui écrit.
VISIBILITES_EN_MOTS = {
    Visibilite.TOUS: (
        "Tout le cercle habilité",
        "Tous ceux qui lisent ce cahier, y compris la personne accompagnée et ses proches.",
    ),
    Visibilite.SANS_USAGER: (
        "Professionnels seulement",
        "Les professionnels du cercle ; ni la personne accompagnée ni ses proches.",
    ),
    Visibilite.SANTE: (
        "Professionnels de santé seulement",
        "Infirmiers, médecins, kinésithérapeutes… ; ni les professionnels du social, ni la personne, "
        "ni ses proches.",
    ),
}
MODES = (("libre", "Texte libre"), ("ciblee", "Transmission ciblée (cible, données, actions, résultats)"))
CHAMPS_CIBLEE = ("cible", "donnees", "actions", "resultats")


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


class ChampMoment(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=FORMAT_MOMENT)


class ChoixMembres(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, membre) -> str:
        return f"{membre.nom_affiche} ({membre.get_role_display()})" if membre.role else membre.nom_affiche


def _maintenant() -> str:
    return timezone.localtime().strftime(FORMAT_MOMENT)


class NoteForm(PiecesJointesMixin, forms.Form):
    """Écrire une note ou une réponse. Forme simple (usager, proche) : type, texte, moment, urgence ;
    sans transmission ciblée, visibilité ni sollicitation."""

    type = forms.ChoiceField(label="Type de note", choices=TypeNote.choices, initial=TypeNote.OBSERVATION)
    mode = forms.ChoiceField(
        label="Forme de la note", choices=MODES, initial="libre", widget=forms.RadioSelect
    )
    texte = forms.CharField(label="Texte", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    cible = forms.CharField(label="Cible", required=False, max_length=200)
    donnees = forms.CharField(label="Données", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(label="Actions", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    resultats = forms.CharField(label="Résultats", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    survenue_le = forms.DateTimeField(
        label="Moment observé",
        help_text="Quand cela s'est passé (maintenant par défaut).",
        input_formats=[FORMAT_MOMENT, "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"],
        widget=ChampMoment,
        error_messages={
            "required": "Moment observé : il est obligatoire.",
            "invalid": "Moment observé : date et heure attendues (jj/mm/aaaa hh:mm).",
        },
    )
    urgente = forms.BooleanField(label="Urgent", required=False)
    visibilite = forms.ChoiceField(
        label="Qui pourra lire cette note", widget=forms.RadioSelect, required=False
    )
    accuse = ChoixMembres(
        label="Demander un accusé de réception à",
        queryset=None,
        required=False,
        to_field_name="uuid",
        help_text="Chaque personne cochée devra confirmer qu'elle a lu la note.",
    )
    alerte = ChoixMembres(
        label="Alerter",
        queryset=None,
        required=False,
        to_field_name="uuid",
        help_text="Chaque personne cochée est prévenue tout de suite.",
    )

    def __init__(self, *args, acteur, usager, simple: bool = False, sollicitations: bool = True, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("survenue_le", _maintenant())
        super().__init__(*args, **kwargs)
        self.simple = simple
        permises = selectors.visibilites_permises(acteur)
        self.fields["visibilite"].choices = [
            (code, VISIBILITES_EN_MOTS[code][0]) for code in Visibilite.values if code in permises
        ]
        self.fields["visibilite"].initial = Visibilite.TOUS
        self.aides_visibilite = {code: VISIBILITES_EN_MOTS[code][1] for code in permises}
        membres = selectors.membres_sollicitables(acteur, usager)
        for champ in ("accuse", "alerte"):
            self.fields[champ].queryset = membres
        retires = []
        if simple:
            retires = ["mode", *CHAMPS_CIBLEE, "visibilite", "accuse", "alerte"]
        elif not sollicitations:
            retires = ["accuse", "alerte"]
        for champ in retires:
            del self.fields[champ]

    def champs_note(self) -> dict:
        """Les arguments de `ecrire_note` : le texte libre ou la transmission ciblée, selon la forme."""
        donnees = self.cleaned_data
        champs = {
            "type": donnees["type"],
            "survenue_le": donnees["survenue_le"],
            "urgente": donnees["urgente"],
        }
        if self.simple or donnees.get("mode") != "ciblee":
            champs["texte"] = donnees["texte"]
        else:
            champs.update({champ: donnees[champ] for champ in CHAMPS_CIBLEE})
        if "visibilite" in self.fields:
            champs["visibilite"] = donnees["visibilite"] or Visibilite.TOUS
        if donnees.get("pieces"):
            champs["pieces_jointes"] = donnees["pieces"]
        return champs

    def destinataires(self) -> dict:
        return {
            "demander_accuse_a": list(self.cleaned_data.get("accuse") or ()),
            "alerter_membres": list(self.cleaned_data.get("alerte") or ()),
        }


class ModificationForm(NoteForm):
    """Modifier une note : mêmes champs, plus la version lue (contrôle de concurrence optimiste)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, note, **kwargs):
        initial = {
            champ: getattr(note, champ)
            for champ in ("type", "texte", *CHAMPS_CIBLEE, "urgente", "visibilite")
        }
        initial["survenue_le"] = timezone.localtime(note.survenue_le).strftime(FORMAT_MOMENT)
        initial["mode"] = "ciblee" if note.est_ciblee else "libre"
        initial["version"] = note.version
        kwargs["initial"] = initial
        super().__init__(*args, sollicitations=False, **kwargs)
        # Une modification n'ajoute pas de pièce jointe (ADR 0019) : les pièces restent celles reçues.
        del self.fields["pieces"]

    def champs_note(self) -> dict:
        champs = super().champs_note()
        # Passer d'une forme à l'autre vide les champs de l'autre forme.
        for champ in ("texte", *CHAMPS_CIBLEE):
            champs.setdefault(champ, "")
        return champs


class SollicitationForm(forms.Form):
    membres = ChoixMembres(label="Membres du cercle", queryset=None, to_field_name="uuid", required=False)

    def __init__(self, *args, acteur, usager, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membres"].queryset = selectors.membres_sollicitables(acteur, usager)


class RetraitForm(forms.Form):
    motif = forms.CharField(
        label="Motif du retrait",
        help_text="Obligatoire. Il sera affiché à la place de la note, à ceux qui pouvaient la lire.",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


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
        label="Écrites depuis le", required=False, widget=ChampDate,
        error_messages={"invalid": "Date invalide : utilisez le format JJ/MM/AAAA."},
    )  # fmt: skip
    jusqu_au = forms.DateField(
        label="Écrites jusqu'au", required=False, widget=ChampDate,
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
            filtres["jusqu_au"] = _debut_du_jour(valides["jusqu_au"] + dt.timedelta(days=1)) - (
                dt.timedelta(microseconds=1)
            )
        if valides.get("auteur"):
            filtres["auteur"] = valides["auteur"]
        if valides.get("structure"):
            filtres["structure"] = valides["structure"]
        if valides.get("attend_mon_accuse"):
            filtres["attend_mon_accuse"] = True
        return filtres


def _debut_du_jour(jour: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(jour, dt.time.min))
