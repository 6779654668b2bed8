"""Formulaires des personnes. L'enregistrement passe par les services (journal, règles INS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError

from coordination.personnes.models import Usager
from coordination.personnes.selectors import CandidatDoublon, doublons_possibles
from coordination.personnes.services import TRAITS_INS, creer_usager, modifier_identite_usager

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

LIBELLE_CONFIRMATION = "Je confirme qu'il s'agit d'une autre personne"


class UsagerForm(forms.ModelForm):
    """Création (ou modification) d'un usager. Avant d'enregistrer, cherche les doublons sur les
    5 traits : s'il y en a, le formulaire les liste en erreur et fait cocher
    « Je confirme qu'il s'agit d'une autre personne » pour continuer."""

    confirmer_doublon = forms.BooleanField(
        label=LIBELLE_CONFIRMATION,
        required=False,
        widget=forms.HiddenInput,  # devient une case à cocher quand des doublons sont trouvés
    )

    # Acteur utilisé quand aucun n'est passé au constructeur (l'admin le pose sur une sous-classe).
    acteur_par_defaut: Acteur | None = None

    class Meta:
        model = Usager
        fields = [
            "nom_naissance",
            "prenoms_naissance",
            "date_naissance",
            "sexe",
            "code_lieu_naissance",
            "matricule_ins",
            "oid_ins",
            "statut_identite",
            "identite_douteuse",
            "identite_fictive",
            "mode_recueil",
            "date_interrogation_insi",
            "justificatif_identite",
            "nom_utilise",
            "prenom_utilise",
            "telephone",
            "email",
            "adresse",
            "code_postal",
            "commune",
        ]
        labels = {
            "nom_naissance": "Nom de naissance",
            "prenoms_naissance": "Prénoms de naissance",
            "date_naissance": "Date de naissance",
            "sexe": "Sexe",
            "code_lieu_naissance": "Code INSEE du lieu de naissance",
            "matricule_ins": "Matricule INS (NIR ou NIA)",
            "oid_ins": "Type de matricule (OID)",
            "statut_identite": "Statut de l'identité",
            "identite_douteuse": "Identité douteuse",
            "identite_fictive": "Identité fictive",
            "mode_recueil": "Mode de recueil de l'identité",
            "date_interrogation_insi": "Date d'interrogation du téléservice INSi",
            "justificatif_identite": "Pièce d'identité contrôlée",
            "nom_utilise": "Nom utilisé",
            "prenom_utilise": "Prénom utilisé",
            "telephone": "Téléphone",
            "email": "Courriel",
            "adresse": "Adresse",
            "code_postal": "Code postal",
            "commune": "Commune",
        }
        help_texts = {
            "prenoms_naissance": (
                "Tous les prénoms de naissance, dans l'ordre de l'état civil, séparés par une espace."
            ),
            "code_lieu_naissance": (
                "Code commune INSEE (5 caractères, 2A/2B pour la Corse) ; 99xxx si né à l'étranger."
            ),
            "matricule_ins": "15 caractères, clé comprise. À laisser vide si la personne n'a pas d'INS.",
            "identite_douteuse": "Une identité douteuse ou fictive reste au statut provisoire.",
        }
        widgets = {
            "date_naissance": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "date_interrogation_insi": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, acteur: Acteur | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.acteur = acteur if acteur is not None else self.acteur_par_defaut
        self.doublons: list[CandidatDoublon] = []
        # Champs confirmés par FranceConnect+ : affichés, non modifiables (le service les refuse aussi).
        for champ in getattr(self.instance, "champs_figes", None) or ():
            if champ in self.fields:
                self.fields[champ].disabled = True
                self.fields[
                    champ
                ].help_text = "Vient de FranceConnect+ (identité vérifiée) : non modifiable ici."

    def clean(self):
        donnees = super().clean()
        if any(donnees.get(t) in (None, "") for t in TRAITS_INS if t != "code_lieu_naissance"):
            return donnees  # un trait manque ou est invalide : son erreur suffit
        self.doublons = doublons_possibles(
            **{t: donnees.get(t) or "" for t in TRAITS_INS},
            exclure=self.instance.pk,
            acteur=self.acteur,
        )
        if self.doublons:
            self.fields["confirmer_doublon"].widget = forms.CheckboxInput()
            if not donnees.get("confirmer_doublon"):
                raise ValidationError(
                    [
                        "Cette personne est peut-être déjà connue du portail. Vérifiez les usagers "
                        f"ci-dessous ; s'il s'agit d'une autre personne, cochez « {LIBELLE_CONFIRMATION} » "
                        "et enregistrez à nouveau."
                    ]
                    + [c.decrire() for c in self.doublons],
                    code="doublon",
                )
        return donnees

    def donnees_usager(self, *, seulement_changees: bool = False) -> dict:
        """Valeurs des champs du modèle présents dans ce formulaire (l'admin en ajoute, ex. `compte`)."""
        du_modele = {f.name for f in Usager._meta.concrete_fields}
        champs = self.changed_data if seulement_changees else list(self.fields)
        return {c: self.cleaned_data[c] for c in champs if c in du_modele and c in self.cleaned_data}

    def enregistrer(self, *, acteur: Acteur | None = None) -> Usager:
        """Enregistre par les services (création ou modification) ; à appeler après is_valid()."""
        acteur = acteur or self.acteur
        if acteur is None:
            raise ValueError("UsagerForm.enregistrer : l'acteur est requis pour journaliser.")
        if self.instance.pk:
            return modifier_identite_usager(
                acteur=acteur, usager=self.instance, donnees=self.donnees_usager(seulement_changees=True)
            )
        return creer_usager(
            acteur=acteur,
            donnees=self.donnees_usager(),
            confirmer_doublon=bool(self.cleaned_data.get("confirmer_doublon")),
        )
