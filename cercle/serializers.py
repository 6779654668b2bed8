"""Sérialiseurs de l'API REST du cercle : lecture des membres et de leurs droits, et validation des
entrées (le reste des règles est dans les services)."""

from __future__ import annotations

from rest_framework import serializers

from cercle.models import Domaine, Membre, Niveau, TypeMembre
from cercle.roles import Role


class CodeLibelle(serializers.Serializer):
    code = serializers.CharField()
    libelle = serializers.CharField()


def _code(valeur: str, libelle: str) -> dict:
    return {"code": valeur, "libelle": libelle}


class DroitSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    domaine = serializers.CharField()
    niveau = serializers.IntegerField()
    niveau_libelle = serializers.CharField(source="get_niveau_display")
    origine = serializers.CharField()
    date_debut = serializers.DateField()
    date_fin = serializers.DateField(allow_null=True)


class DelegationSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    assistant = serializers.SerializerMethodField()
    domaine = serializers.CharField()
    niveau = serializers.IntegerField()
    date_fin = serializers.DateField()
    statut = serializers.CharField()

    def get_assistant(self, delegation) -> str:
        return str(delegation.delegataire.professionnel)


class MembreSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    type = serializers.CharField()
    nom = serializers.CharField(source="nom_affiche")
    role = serializers.SerializerMethodField()
    statut = serializers.CharField()
    origine = serializers.CharField()
    note_origine = serializers.CharField()
    date_entree = serializers.DateField()
    date_sortie = serializers.DateField(allow_null=True)
    motif_sortie = serializers.CharField()
    rpps = serializers.SerializerMethodField()
    structure = serializers.SerializerMethodField()
    droits = DroitSerializer(many=True, source="droits_en_vigueur")
    delegations = DelegationSerializer(many=True, source="delegations_en_cours")

    def get_role(self, membre: Membre) -> dict:
        return _code(membre.role, membre.get_role_display())

    def get_rpps(self, membre: Membre) -> str:
        return membre.professionnel.rpps if membre.professionnel_id else ""

    def get_structure(self, membre: Membre) -> dict | None:
        structure = (
            membre.structure
            if membre.structure_id
            else (membre.exercice.structure if membre.exercice_id else None)
        )
        if structure is None:
            return None
        return {
            "uuid": str(structure.uuid),
            "raison_sociale": structure.raison_sociale,
            "finess": structure.finess_eg,
        }


class UsagerResumeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="usager.uuid")
    nom = serializers.SerializerMethodField()
    niveaux = serializers.DictField(child=serializers.IntegerField())

    def get_nom(self, ligne) -> str:
        return str(ligne.usager)


# --- Entrées ------------------------------------------------------------------------------------


class AjoutMembreSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TypeMembre.choices)
    role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    professionnel = serializers.UUIDField(required=False)
    exercice = serializers.UUIDField(required=False)
    structure = serializers.UUIDField(required=False)
    proche = serializers.UUIDField(required=False)
    nom = serializers.CharField(required=False, allow_blank=True, max_length=100)
    prenoms = serializers.CharField(required=False, allow_blank=True, max_length=200)
    precision = serializers.CharField(required=False, allow_blank=True, max_length=120)
    telephone = serializers.CharField(required=False, allow_blank=True, max_length=20)


class SortieSerializer(serializers.Serializer):
    motif = serializers.CharField(required=False, default="demande_usager")


class OctroiSerializer(serializers.Serializer):
    domaine = serializers.ChoiceField(choices=Domaine.choices)
    niveau = serializers.ChoiceField(choices=[(n.value, n.label) for n in Niveau if n > 0])
    date_fin = serializers.DateField(required=False, allow_null=True)
    texte_vu = serializers.CharField(required=False, allow_blank=False)


class RetraitSerializer(serializers.Serializer):
    texte_vu = serializers.CharField(required=False, allow_blank=False)


class DelegationEntreeSerializer(serializers.Serializer):
    assistant = serializers.UUIDField(help_text="UUID de la situation d'exercice de l'assistant.")
    domaine = serializers.ChoiceField(choices=Domaine.choices)
    niveau = serializers.ChoiceField(choices=[(n.value, n.label) for n in Niveau if n > 0])
    date_fin = serializers.DateField()


class DecisionSerializer(serializers.Serializer):
    accepter = serializers.BooleanField()
    motif = serializers.CharField(required=False, allow_blank=True, max_length=500)
    texte_vu = serializers.CharField(required=False, allow_blank=False)


class DemandeAdhesionSerializer(serializers.Serializer):
    matricule_ins = serializers.CharField(required=False, allow_blank=True, max_length=30)
    nom_naissance = serializers.CharField(required=False, allow_blank=True, max_length=100)
    prenom = serializers.CharField(required=False, allow_blank=True, max_length=100)
    date_naissance = serializers.DateField(required=False, allow_null=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    message = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class DemandeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    designation = serializers.CharField()
    role = serializers.CharField()
    statut = serializers.CharField()
    statut_libelle = serializers.CharField(source="get_statut_display")
    cree_le = serializers.DateTimeField()
    expire_le = serializers.DateField()
    decidee_le = serializers.DateTimeField(allow_null=True)
    motif = serializers.CharField()


class ProfessionnelAnnuaireSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    nom = serializers.CharField(source="nom_exercice")
    prenom = serializers.CharField(source="prenom_exercice")
    rpps = serializers.CharField()
    profession = serializers.CharField(source="profession_libelle")
