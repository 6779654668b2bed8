"""Sérialiseurs de l'API REST du projet personnalisé : lecture des entrées (messages français) et
rendu des projets, d'une version complète et du différentiel. Aucune règle ici : les services et
sélecteurs de `ppa/` décident (droits, brouillon seul modifiable, empreinte, concurrence)."""

from __future__ import annotations

from rest_framework import serializers

from ppa.models import AvisUsager, PartieAccord, PartieProjet, StatutVersion, TypeProjet

STATUTS = ", ".join(StatutVersion.values)
TYPES = ", ".join(TypeProjet.values)

REVISION_LUE = (
    "La révision lue de la partie (`revisions` de la version) : 409 si quelqu'un l'a modifiée depuis. "
    "Sans elle, l'écriture passe sans contrôle."
)


def _choix(choix, message: str) -> dict:
    return {"choices": choix, "error_messages": {"invalid_choice": message}}


# --- Rendu -----------------------------------------------------------------------------------------


class StructureResumeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    raison_sociale = serializers.CharField()


class VersionResumeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    numero = serializers.IntegerField()
    statut = serializers.CharField(help_text=STATUTS)
    soumise_le = serializers.DateTimeField(allow_null=True)
    validee_le = serializers.DateTimeField(allow_null=True)


class ProjetSerializer(serializers.Serializer):
    """Un projet de la personne de l'adresse (son UUID n'est pas répété : une requête par projet)."""

    uuid = serializers.UUIDField()
    structure = StructureResumeSerializer()
    type = serializers.CharField(help_text=TYPES)
    titre = serializers.CharField()
    versions = VersionResumeSerializer(many=True, source="versions_lues", help_text="Récente d'abord.")


class BesoinSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    origine = serializers.UUIDField(help_text="Stable d'une version à ses avenants.")
    code_serafin = serializers.CharField()
    libelle = serializers.CharField()
    precision = serializers.CharField()
    ajoute_par = serializers.CharField()


class ObjectifSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    origine = serializers.UUIDField()
    titre = serializers.CharField()
    resultat_attendu = serializers.CharField()
    strategie = serializers.CharField()
    avis_usager = serializers.CharField(help_text="« d_accord », « pas_d_accord » ou vide.")
    commentaire_usager = serializers.CharField()
    date_cible = serializers.DateField(allow_null=True)
    besoins = serializers.SerializerMethodField(help_text="UUID des besoins visés.")
    ajoute_par = serializers.CharField()

    def get_besoins(self, objectif) -> list[str]:
        return [str(b.uuid) for b in objectif.besoins_vises]


class IntervenantSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="Le membre du cercle.")
    nom = serializers.CharField(source="nom_affiche")


class ActionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    origine = serializers.UUIDField()
    objectif = serializers.UUIDField(source="objectif.uuid")
    intervenant = IntervenantSerializer(allow_null=True)
    intervenant_libelle = serializers.CharField(help_text="Qui, s'il n'est pas du cercle.")
    quoi = serializers.CharField()
    ou = serializers.CharField()
    frequence = serializers.CharField(help_text="Règle de récurrence RFC 5545 (RRULE).")
    duree_minutes = serializers.IntegerField(allow_null=True)
    code_prestation = serializers.CharField()
    ajoute_par = serializers.CharField()


class ProjetDeLaVersionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    usager = serializers.UUIDField(source="usager.uuid")
    structure = StructureResumeSerializer()
    type = serializers.CharField()
    titre = serializers.CharField()


class VersionCompleteSerializer(serializers.Serializer):
    """Une `ppa.selectors.VersionComplete` : la version et tout son contenu."""

    uuid = serializers.UUIDField(source="version.uuid")
    projet = ProjetDeLaVersionSerializer(source="version.projet")
    numero = serializers.IntegerField(source="version.numero")
    statut = serializers.CharField(source="version.statut", help_text=STATUTS)
    debut = serializers.DateField(source="version.debut", allow_null=True)
    fin = serializers.DateField(source="version.fin", allow_null=True)
    attentes = serializers.CharField(source="version.attentes")
    projet_de_vie = serializers.CharField(source="version.projet_de_vie")
    empreinte = serializers.CharField(
        source="version.empreinte", help_text="À renvoyer en `empreinte_lue` pour donner son accord."
    )
    revisions = serializers.DictField(
        child=serializers.IntegerField(), source="version.revisions",
        help_text="Révision de chaque partie (paroles, besoins, objectifs, actions).",
    )  # fmt: skip
    soumise_le = serializers.DateTimeField(source="version.soumise_le", allow_null=True)
    validee_le = serializers.DateTimeField(source="version.validee_le", allow_null=True)
    besoins = BesoinSerializer(many=True)
    objectifs = ObjectifSerializer(many=True)
    actions = ActionSerializer(many=True)


class EcritureSerializer(serializers.Serializer):
    """Réponse d'une écriture : l'élément créé (s'il y en a un) et la version relue."""

    element = serializers.UUIDField(allow_null=True, help_text="L'élément créé, s'il y en a un.")
    version = VersionCompleteSerializer()


class ChangementSerializer(serializers.Serializer):
    champ = serializers.CharField()
    avant = serializers.JSONField()
    apres = serializers.JSONField()


def intitule(element) -> str:
    """Ce qui nomme un besoin, un objectif ou une action."""
    return getattr(element, "libelle", None) or getattr(element, "titre", None) or element.quoi


class ElementSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    origine = serializers.UUIDField()
    intitule = serializers.SerializerMethodField()

    def get_intitule(self, element) -> str:
        return intitule(element)


class ModificationSerializer(serializers.Serializer):
    origine = serializers.UUIDField()
    intitule = serializers.SerializerMethodField()
    changements = ChangementSerializer(many=True)

    def get_intitule(self, modification) -> str:
        return intitule(modification.apres)


class SectionSerializer(serializers.Serializer):
    ajoutes = ElementSerializer(many=True)
    retires = ElementSerializer(many=True)
    modifies = ModificationSerializer(many=True)


class DifferentielSerializer(serializers.Serializer):
    avant = serializers.UUIDField(source="avant.version.uuid")
    apres = serializers.UUIDField(source="apres.version.uuid")
    vide = serializers.BooleanField()
    version = ChangementSerializer(many=True, help_text="Attentes, projet de vie, début et fin.")
    besoins = SectionSerializer()
    objectifs = SectionSerializer()
    actions = SectionSerializer()


# --- Entrées ---------------------------------------------------------------------------------------


class CreationProjetSerializer(serializers.Serializer):
    titre = serializers.CharField(max_length=200)
    # Texte vérifié ici plutôt qu'un choix : le schéma a déjà d'autres énumérations « type ».
    type = serializers.CharField(required=False, default=TypeProjet.PPA, help_text=TYPES)
    structure = serializers.UUIDField(
        required=False,
        help_text="La structure qui accompagne ; par défaut celle où exerce l'acteur (ou du logiciel).",
        error_messages={"invalid": "Identifiant de structure invalide."},
    )

    def validate_type(self, valeur: str) -> str:
        if valeur not in TypeProjet.values:
            raise serializers.ValidationError(f"Type de projet inconnu ({TYPES}).")
        return valeur


class ParolesSerializer(serializers.Serializer):
    attentes = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    projet_de_vie = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    revision_lue = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_LUE)

    def validate(self, donnees):
        if "attentes" not in donnees and "projet_de_vie" not in donnees:
            raise serializers.ValidationError("Donnez les attentes, le projet de vie, ou les deux.")
        return donnees


class BesoinEntreeSerializer(serializers.Serializer):
    libelle = serializers.CharField(max_length=300)
    code_serafin = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    precision = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    revision_lue = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_LUE)


class ObjectifEntreeSerializer(serializers.Serializer):
    titre = serializers.CharField(max_length=300)
    resultat_attendu = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    strategie = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    besoins = serializers.ListField(
        child=serializers.UUIDField(error_messages={"invalid": "Identifiant de besoin invalide."}),
        required=False, default=list, max_length=100, help_text="UUID de besoins de cette version.",
    )  # fmt: skip
    date_cible = serializers.DateField(required=False, allow_null=True, default=None)
    revision_lue = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_LUE)


class AvisSerializer(serializers.Serializer):
    avis = serializers.ChoiceField(
        **_choix(AvisUsager.choices, "Avis attendu : « d_accord », « pas_d_accord » ou vide.")
    )
    commentaire = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    revision_lue = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_LUE)


class ActionEntreeSerializer(serializers.Serializer):
    objectif = serializers.UUIDField(
        help_text="L'objectif de cette version que sert l'action.",
        error_messages={"invalid": "Identifiant d'objectif invalide."},
    )
    quoi = serializers.CharField(max_length=300)
    intervenant = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="Un membre actif du cercle.",
        error_messages={"invalid": "Identifiant d'intervenant invalide."},
    )  # fmt: skip
    intervenant_libelle = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    ou = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    frequence = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="RRULE (RFC 5545)."
    )
    duree_minutes = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    code_prestation = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    revision_lue = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_LUE)


class CommentaireSerializer(serializers.Serializer):
    partie = serializers.ChoiceField(
        **_choix(PartieProjet.choices, "Partie attendue : paroles, besoins, objectifs ou actions.")
    )
    texte = serializers.CharField(max_length=5000)


class AccordSerializer(serializers.Serializer):
    partie = serializers.ChoiceField(
        **_choix(PartieAccord.choices, "Partie attendue : « usager » ou « structure ».")
    )
    empreinte_lue = serializers.CharField(
        max_length=64, help_text="L'empreinte de la version lue : contenu changé depuis → 409, rien d'écrit."
    )
