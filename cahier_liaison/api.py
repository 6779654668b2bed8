"""API REST du cahier de liaison (DRF, schéma OpenAPI par drf-spectacular). Vues minces : lecture
des entrées, sélecteur ou service du cahier, réponse ; mêmes règles de réponse que l'API du cercle
(cercle/api.py) : usager dont l'acteur ne voit rien → 404 ; visible sans le droit → 403 (message
français) ; note d'une visibilité que l'acteur ne lit pas → 404. Chaque lecture est journalisée.

Un logiciel (jeton OAuth2) écrit ici au nom de sa structure ; pour écrire au nom d'un de ses
professionnels, il passe par FHIR (auteur PractitionerRole, docs/decisions/0020-api-cahier-fhir-rest.md)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cahier_liaison import selectors, services
from cahier_liaison.models import Note
from cahier_liaison.serializers import (
    DesactivationSerializer,
    DestinatairesSerializer,
    EcritureNoteSerializer,
    FiltresNotesSerializer,
    MarqueLectureSerializer,
    ModificationNoteSerializer,
    NoteSerializer,
)
from cercle import habilitations
from cercle.api import _acteur, _appliquer, _usager_visible, _uuid
from cercle.models import Membre
from coordination.journal.lectures import noter_lecture

TAILLE_PAGE = 25
REFUS_LECTURE = "Vous n'avez pas accès au cahier de liaison de cette personne."


def _exiger_lecture(request, usager) -> None:
    if not habilitations.peut(_acteur(request), usager, "lire", selectors.DOMAINE):
        raise PermissionDenied(REFUS_LECTURE)


def _note(request, uuid_usager, uuid_note) -> Note:
    """La note d'un usager visible, si l'acteur peut la lire (désactivées comprises) ; sinon 403
    (pas de lecture du cahier) ou 404 (note inconnue, d'un autre cahier ou d'une visibilité qu'il
    ne lit pas)."""
    usager = _usager_visible(request, uuid_usager)
    _exiger_lecture(request, usager)
    note = (
        Note.objects.select_related("usager", "reponse_a", *selectors.AUTEURS)
        .filter(uuid=_uuid(uuid_note), usager=usager)
        .first()
    )
    if note is None or not selectors.peut_voir_note(_acteur(request), note):
        raise NotFound("Note introuvable.")
    return note


def _lue(request, note: Note) -> dict:
    noter_lecture(
        request, usager=note.usager, objet=note, action="cahier.note.lecture", acteur=_acteur(request)
    )
    return NoteSerializer(note).data


def _relue(note: Note) -> Note:
    return Note.objects.select_related("usager", "reponse_a", *selectors.AUTEURS).get(pk=note.pk)


def _membres(note: Note, uuids) -> list[Membre]:
    membres = list(Membre.objects.select_related("cercle").filter(uuid__in=uuids, cercle__usager=note.usager))
    if len(membres) != len(set(uuids)):
        raise ValidationError(
            {"destinataires": ["Destinataires : certains ne sont pas membres de ce cercle."]}
        )
    return membres


class Notes(APIView):
    @extend_schema(
        parameters=[FiltresNotesSerializer],
        responses=NoteSerializer(many=True),
        summary="Le fil du cahier de liaison d'un usager (notes visibles, plus récentes d'abord)",
    )
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        _exiger_lecture(request, usager)
        entree = FiltresNotesSerializer(data=request.query_params)
        entree.is_valid(raise_exception=True)
        filtres = {cle: valeur for cle, valeur in entree.validated_data.items() if cle != "page"}
        if "fil" in filtres:
            filtres["fil"] = Note.objects.filter(uuid=filtres["fil"], usager=usager).first()
            if filtres["fil"] is None:
                raise ValidationError({"fil": ["Fil : note introuvable dans ce cahier."]})
        page = entree.validated_data["page"]
        debut = (page - 1) * TAILLE_PAGE
        notes = list(
            selectors.notes_visibles(_acteur(request), usager, filtres=filtres).select_related(
                "usager", "reponse_a"
            )[debut : debut + TAILLE_PAGE + 1]
        )
        resultats = [_lue(request, note) for note in notes[:TAILLE_PAGE]]
        return Response({"page": page, "suivante": len(notes) > TAILLE_PAGE, "resultats": resultats})

    @extend_schema(
        request=EcritureNoteSerializer,
        responses={201: NoteSerializer, 200: NoteSerializer},
        summary="Écrire une note (texte ou transmission ciblée), ou répondre à une note",
    )
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        entree = EcritureNoteSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        donnees = dict(entree.validated_data)
        reponse_a = None
        if uuid_origine := donnees.pop("reponse_a", None):
            reponse_a = Note.objects.filter(uuid=uuid_origine).first()
            if reponse_a is None or not selectors.peut_voir_note(_acteur(request), reponse_a):
                raise ValidationError({"reponse_a": ["Réponse : note d'origine introuvable."]})
        note = _appliquer(
            services.ecrire_note, acteur=_acteur(request), usager=usager, reponse_a=reponse_a, **donnees
        )
        statut = status.HTTP_200_OK if getattr(note, "deja_recue", False) else status.HTTP_201_CREATED
        return Response(NoteSerializer(_relue(note)).data, status=statut)


class UneNote(APIView):
    @extend_schema(responses=NoteSerializer, summary="Lire une note")
    def get(self, request, uuid_usager, uuid_note):
        return Response(_lue(request, _note(request, uuid_usager, uuid_note)))

    @extend_schema(
        request=ModificationNoteSerializer,
        responses=NoteSerializer,
        summary="Modifier une note (son auteur ; `version` : la version lue, 409 si elle a changé)",
    )
    def patch(self, request, uuid_usager, uuid_note):
        note = _note(request, uuid_usager, uuid_note)
        entree = ModificationNoteSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        changements = dict(entree.validated_data)
        version = changements.pop("version")
        with transaction.atomic():
            courante = Note.objects.select_for_update().values_list("version", flat=True).get(pk=note.pk)
            if courante != version:
                return Response(
                    {"version": [f"La note a été modifiée entre-temps (version {courante}) : relisez-la."]},
                    status=status.HTTP_409_CONFLICT,
                )
            note = _appliquer(services.modifier_note, acteur=_acteur(request), note=note, **changements)
        return Response(NoteSerializer(_relue(note)).data)


class Desactivation(APIView):
    @extend_schema(request=DesactivationSerializer, responses=NoteSerializer, summary="Désactiver une note")
    def post(self, request, uuid_usager, uuid_note):
        note = _note(request, uuid_usager, uuid_note)
        entree = DesactivationSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        note = _appliquer(
            services.desactiver_note, acteur=_acteur(request), note=note, motif=entree.validated_data["motif"]
        )
        return Response(NoteSerializer(_relue(note)).data)


def _solliciter(request, uuid_usager, uuid_note, service):
    note = _note(request, uuid_usager, uuid_note)
    entree = DestinatairesSerializer(data=request.data)
    entree.is_valid(raise_exception=True)
    membres = _membres(note, entree.validated_data["destinataires"])
    sollicitations = _appliquer(service, acteur=_acteur(request), note=note, destinataires=membres)
    return Response(
        {"nouvelles": [str(s.destinataire.uuid) for s in sollicitations]}, status=status.HTTP_201_CREATED
    )


class DemandeAccuse(APIView):
    @extend_schema(
        request=DestinatairesSerializer, responses={201: None}, summary="Demander un accusé de réception"
    )
    def post(self, request, uuid_usager, uuid_note):
        return _solliciter(request, uuid_usager, uuid_note, services.demander_accuse)


class Alerte(APIView):
    @extend_schema(request=DestinatairesSerializer, responses={201: None}, summary="Alerter des membres")
    def post(self, request, uuid_usager, uuid_note):
        return _solliciter(request, uuid_usager, uuid_note, services.alerter)


class Accuse(APIView):
    @extend_schema(request=None, responses=None, summary="Accuser réception d'une note")
    def post(self, request, uuid_usager, uuid_note):
        note = _note(request, uuid_usager, uuid_note)
        accuses = _appliquer(services.accuser_reception, acteur=_acteur(request), note=note)
        return Response({"accuses": len(accuses)})


class NonLus(APIView):
    @extend_schema(
        responses=None,
        parameters=[OpenApiParameter("uuid_usager", str, OpenApiParameter.PATH)],
        summary="Nombre de notes non lues dans ce cahier",
    )
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        _exiger_lecture(request, usager)
        acteur = _acteur(request)
        noter_lecture(request, usager=usager, action="cahier.non_lus.lecture", acteur=acteur)
        lecture = selectors.etat_de_lecture(acteur, usager)
        return Response({"non_lus": lecture.non_lus, "lu_jusqu_au": lecture.lu_jusqu_au})


class Lecture(APIView):
    @extend_schema(request=MarqueLectureSerializer, responses=None, summary="Marquer le cahier comme lu")
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        entree = MarqueLectureSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        lecture = _appliquer(
            services.marquer_lu,
            acteur=_acteur(request),
            usager=usager,
            jusqu_au=entree.validated_data.get("jusqu_au"),
        )
        return Response({"lu_jusqu_au": lecture.lu_jusqu_au})
