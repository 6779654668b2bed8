"""Sérialiseurs de l'API REST de l'agenda : lecture des entrées (messages français) et rendu des
occurrences, événements et réunions. Aucune règle ici : les services et sélecteurs décident."""

from __future__ import annotations

from rest_framework import serializers

from agenda.models import StatutParticipation
from agenda.selectors import FENETRE_MAX

REPONSES = [StatutParticipation.ACCEPTE, StatutParticipation.DECLINE, StatutParticipation.PROVISOIRE]


class FenetreSerializer(serializers.Serializer):
    debut = serializers.DateTimeField(help_text="Début de la fenêtre (ISO 8601, avec fuseau).")
    fin = serializers.DateTimeField(
        help_text="Fin de la fenêtre (exclue) ; au plus 400 jours après le début."
    )

    def validate(self, donnees):
        if donnees["fin"] <= donnees["debut"]:
            raise serializers.ValidationError({"fin": ["La fin doit suivre le début."]})
        if donnees["fin"] - donnees["debut"] > FENETRE_MAX:
            raise serializers.ValidationError({"fin": ["La fenêtre couvre au plus 400 jours."]})
        return donnees


class LieuSerializer(serializers.Serializer):
    libelle = serializers.CharField(required=False, allow_blank=True)
    adresse = serializers.CharField(required=False, allow_blank=True)
    visio = serializers.CharField(required=False, allow_blank=True)


class ParticipantSerializer(serializers.Serializer):
    type = serializers.CharField()
    nom = serializers.CharField()
    statut = serializers.CharField(help_text="needs-action, accepted, declined ou tentative.")
    requis = serializers.BooleanField()


class OccurrenceSerializer(serializers.Serializer):
    """Une occurrence : « Occupé » sans détail quand le lecteur ne lit plus l'agenda de l'usager."""

    evenement = serializers.UUIDField(source="evenement.uuid")
    titre = serializers.CharField()
    debut = serializers.DateTimeField()
    fin = serializers.DateTimeField()
    journee_entiere = serializers.BooleanField()
    recurrence_id = serializers.DateTimeField(allow_null=True)
    statut = serializers.CharField()
    lieux = LieuSerializer(many=True)
    participants = ParticipantSerializer(many=True)
    sources = serializers.ListField(child=serializers.CharField(), help_text="Systèmes qui l'ont transmis.")
    detail_visible = serializers.BooleanField()


class EvenementSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    usager = serializers.UUIDField(source="usager.uuid", allow_null=True, default=None)
    titre = serializers.CharField()
    motif = serializers.CharField()
    description = serializers.CharField()
    debut = serializers.DateTimeField()
    fin = serializers.DateTimeField()
    journee_entiere = serializers.BooleanField()
    fuseau = serializers.CharField()
    statut = serializers.CharField()
    lieux = LieuSerializer(many=True)
    rrule = serializers.CharField()
    sequence = serializers.IntegerField(help_text="Version lue, à renvoyer pour modifier.")
    systeme_source = serializers.CharField()
    participants = ParticipantSerializer(many=True, source="participants.all")


class ParticipantsEntreeMixin(serializers.Serializer):
    participants = serializers.ListField(
        child=serializers.UUIDField(error_messages={"invalid": "Identifiant de participant invalide."}),
        required=False,
        default=list,
        max_length=30,
        help_text="UUID de membres du cercle, de proches, de situations d'exercice, ou de l'usager.",
    )


class ChampsEvenementMixin(serializers.Serializer):
    titre = serializers.CharField(max_length=200)
    motif = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    debut = serializers.DateTimeField(help_text="Avec fuseau (ou minuit du jour, toute la journée).")
    fin = serializers.DateTimeField()
    journee_entiere = serializers.BooleanField(required=False)
    fuseau = serializers.CharField(max_length=40, required=False)
    lieux = LieuSerializer(many=True, required=False)
    rrule = serializers.CharField(required=False, allow_blank=True, help_text="Règle RFC 5545 (RRULE).")


class CreationEvenementSerializer(ChampsEvenementMixin, ParticipantsEntreeMixin):
    """Création d'un rendez-vous : ses champs et ses participants (les deux parties réunies)."""


class ModificationEvenementSerializer(ChampsEvenementMixin):
    sequence = serializers.IntegerField(help_text="La version lue (`sequence`) : 409 si elle a changé.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for nom, champ in self.fields.items():
            if nom != "sequence":
                champ.required = False


class AnnulationSerializer(serializers.Serializer):
    motif = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReponseSerializer(serializers.Serializer):
    statut = serializers.ChoiceField(
        choices=REPONSES,
        error_messages={"invalid_choice": "Réponse attendue : accepted, declined ou tentative."},
    )


class RechercheCreneauxSerializer(ParticipantsEntreeMixin):
    duree_minutes = serializers.IntegerField(min_value=5, max_value=600)
    debut = serializers.DateTimeField()
    fin = serializers.DateTimeField()
    nombre = serializers.IntegerField(min_value=1, max_value=20, required=False, default=8)


class CreneauSerializer(serializers.Serializer):
    debut = serializers.DateTimeField()
    fin = serializers.DateTimeField()
    absents = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField()


class ResultatCreneauxSerializer(serializers.Serializer):
    creneaux = CreneauSerializer(many=True)
    complet = serializers.BooleanField()
    message = serializers.CharField()


class DemandeReunionEntreeSerializer(ParticipantsEntreeMixin):
    titre = serializers.CharField(max_length=200)
    motif = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    duree_minutes = serializers.IntegerField(min_value=5, max_value=600)
    horizon_debut = serializers.DateTimeField()
    horizon_fin = serializers.DateTimeField()
    date_limite = serializers.DateTimeField()
    debut = serializers.DateTimeField(help_text="Le créneau choisi parmi ceux proposés.")
    lieux = LieuSerializer(many=True, required=False, default=list)


class DemandeReunionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    statut = serializers.CharField()
    date_limite = serializers.DateTimeField()
    evenement = EvenementSerializer()


class ContrePropositionSerializer(serializers.Serializer):
    debut = serializers.DateTimeField()
    fin = serializers.DateTimeField(required=False)
    commentaire = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
