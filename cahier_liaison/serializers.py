"""Sérialiseurs de l'API REST du cahier de liaison : lecture des notes et validation des entrées
(le reste des règles est dans cahier_liaison/services.py)."""

from __future__ import annotations

from rest_framework import serializers

from cahier_liaison.codes import TypeNote, Visibilite
from cahier_liaison.models import Note


class AuteurSerializer(serializers.Serializer):
    type = serializers.CharField(source="auteur_type")
    nom = serializers.CharField(source="auteur_nom")
    qualite = serializers.CharField(source="auteur_qualite")


class NoteSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    type = serializers.CharField()
    type_libelle = serializers.CharField(source="get_type_display")
    texte = serializers.CharField()
    cible = serializers.CharField()
    donnees = serializers.CharField()
    actions = serializers.CharField()
    resultats = serializers.CharField()
    urgente = serializers.BooleanField()
    visibilite = serializers.CharField()
    visibilite_libelle = serializers.CharField(source="get_visibilite_display")
    survenue_le = serializers.DateTimeField()
    ecrite_le = serializers.DateTimeField()
    auteur = serializers.SerializerMethodField()
    reponse_a = serializers.SerializerMethodField()
    active = serializers.BooleanField()
    desactivee_le = serializers.DateTimeField(allow_null=True)
    motif_desactivation = serializers.CharField()
    version = serializers.IntegerField()
    systeme_emetteur = serializers.CharField()
    master_identifier = serializers.CharField(allow_null=True)

    def get_auteur(self, note: Note) -> dict:
        return AuteurSerializer(note).data

    def get_reponse_a(self, note: Note) -> str | None:
        return str(note.reponse_a.uuid) if note.reponse_a_id else None


CHOIX_VISIBILITE = [(v, libelle) for v, libelle in Visibilite.choices]


class ContenuNoteSerializer(serializers.Serializer):
    """Champs d'une note ; tous facultatifs pour une modification (`partial=True`)."""

    type = serializers.ChoiceField(choices=TypeNote.choices)
    survenue_le = serializers.DateTimeField()
    texte = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    cible = serializers.CharField(required=False, allow_blank=True, max_length=200)
    donnees = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    actions = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    resultats = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    urgente = serializers.BooleanField(required=False)
    visibilite = serializers.ChoiceField(choices=CHOIX_VISIBILITE, required=False, allow_blank=True)


class EcritureNoteSerializer(ContenuNoteSerializer):
    reponse_a = serializers.UUIDField(required=False, allow_null=True)
    systeme_emetteur = serializers.CharField(required=False, allow_blank=True, max_length=200)
    master_identifier = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ModificationNoteSerializer(ContenuNoteSerializer):
    version = serializers.IntegerField(
        min_value=1, help_text="Version lue (contrôle des modifications concurrentes)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for nom, champ in self.fields.items():
            if nom != "version":
                champ.required = False


class DesactivationSerializer(serializers.Serializer):
    motif = serializers.CharField(max_length=300)


class DestinatairesSerializer(serializers.Serializer):
    destinataires = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)


class MarqueLectureSerializer(serializers.Serializer):
    jusqu_au = serializers.DateTimeField(required=False)


class FiltresNotesSerializer(serializers.Serializer):
    """Filtres du fil (mêmes clés que `selectors.notes_visibles`)."""

    type = serializers.ChoiceField(choices=TypeNote.choices, required=False)
    urgente = serializers.BooleanField(required=False, allow_null=True, default=None)
    depuis = serializers.DateTimeField(required=False)
    jusqu_au = serializers.DateTimeField(required=False)
    fil = serializers.UUIDField(required=False)
    desactivees = serializers.BooleanField(required=False, default=False)
    texte = serializers.CharField(required=False, max_length=200)
    auteur = serializers.CharField(required=False, max_length=60)
    structure = serializers.UUIDField(required=False)
    attend_mon_accuse = serializers.BooleanField(required=False, default=False)
    page = serializers.IntegerField(required=False, min_value=1, default=1)
