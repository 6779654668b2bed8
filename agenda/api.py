"""API REST de l'agenda (DRF, schéma OpenAPI par drf-spectacular). Vues minces : lecture des
entrées, sélecteur ou service de l'agenda, réponse ; mêmes règles de réponse que les API du cercle
et du cahier (ADR 0008) : usager dont l'acteur ne voit rien → 404 ; visible sans le droit → 403
(message français) ; événement ou réunion que l'acteur ne voit pas → 404. Chaque lecture est
journalisée (une ligne par requête). Voir docs/decisions/0026-agenda-api-rest.md."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agenda import reunions, selectors, services
from agenda.models import DemandeReunion, Evenement
from agenda.serializers import (
    AnnulationSerializer,
    ContrePropositionSerializer,
    CreationEvenementSerializer,
    DemandeReunionEntreeSerializer,
    DemandeReunionSerializer,
    EvenementSerializer,
    FenetreSerializer,
    ModificationEvenementSerializer,
    OccurrenceSerializer,
    RechercheCreneauxSerializer,
    ReponseSerializer,
    ResultatCreneauxSerializer,
)
from cercle.api import _acteur, _appliquer, _usager_visible, _uuid
from cercle.services import AccesRefuse
from coordination.journal.lectures import noter_lecture
from coordination.personnes.models import Usager


def _lire(serializer_classe, donnees) -> dict:
    entree = serializer_classe(data=donnees)
    entree.is_valid(raise_exception=True)
    return dict(entree.validated_data)


def _invites(usager: Usager, uuids) -> list[services.Invite]:
    """Les personnes désignées par UUID : l'usager, un membre actif de son cercle (professionnel ou
    proche), ou directement le proche ou la situation d'exercice d'un membre. 400 sinon."""
    par_uuid: dict[str, object] = {str(usager.uuid): usager}
    for membre in services.membres_invitables(usager):
        personne = membre.proche if membre.proche_id else membre.exercice if membre.exercice_id else None
        if personne is not None:
            par_uuid[str(membre.uuid)] = personne
            par_uuid[str(personne.uuid)] = personne
    inconnus = [str(u) for u in uuids if str(u) not in par_uuid]
    if inconnus:
        raise ValidationError(
            {"participants": [f"Participants inconnus dans ce cercle : {', '.join(inconnus)}."]}
        )
    return [services.Invite(par_uuid[str(u)]) for u in uuids]


def _fenetre(request) -> tuple[dt.datetime, dt.datetime]:
    donnees = _lire(FenetreSerializer, request.query_params)
    return donnees["debut"], donnees["fin"]


def _evenement(request, uuid_evenement) -> Evenement:
    evenement = selectors.evenement_visible(_acteur(request), _uuid(uuid_evenement))
    if evenement is None:
        raise NotFound("Événement introuvable.")
    return evenement


def _relu(evenement: Evenement) -> dict:
    relu = Evenement.objects.select_related("usager").prefetch_related("participants").get(pk=evenement.pk)
    return EvenementSerializer(relu).data


def _demande(request, uuid_demande) -> DemandeReunion:
    demande = DemandeReunion.objects.select_related("evenement").filter(uuid=_uuid(uuid_demande)).first()
    if demande is None or selectors.evenement_visible(_acteur(request), demande.evenement.uuid) is None:
        raise NotFound("Réunion introuvable.")
    return demande


def _demande_rendue(demande: DemandeReunion) -> dict:
    demande = DemandeReunion.objects.select_related("evenement__usager").get(pk=demande.pk)
    return DemandeReunionSerializer(demande).data


def _refus_en_403(fonction, *args, **kwargs):
    try:
        return fonction(*args, **kwargs)
    except AccesRefuse as exc:
        raise PermissionDenied(str(exc)) from exc


def _duree(donnees: dict) -> dt.timedelta:
    return dt.timedelta(minutes=donnees.pop("duree_minutes"))


# --- Agenda consolidé d'un usager -----------------------------------------------------------------


class AgendaUsager(APIView):
    @extend_schema(
        parameters=[FenetreSerializer],
        responses=OccurrenceSerializer(many=True),
        summary="L'agenda consolidé d'un usager (occurrences dédoublonnées, avec leurs sources)",
    )
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        debut, fin = _fenetre(request)
        acteur = _acteur(request)
        occurrences = _refus_en_403(selectors.agenda_de_l_usager, acteur, usager, debut, fin)
        noter_lecture(request, usager=usager, action="agenda.lecture", acteur=acteur, details={"api": True})
        return Response(OccurrenceSerializer(occurrences, many=True).data)

    @extend_schema(
        request=CreationEvenementSerializer,
        responses={201: EvenementSerializer},
        summary="Ajouter un rendez-vous à l'agenda d'un usager (simple, toute la journée ou récurrent)",
    )
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        donnees = _lire(CreationEvenementSerializer, request.data)
        invites = _invites(usager, donnees.pop("participants"))
        evenement = _appliquer(
            services.creer_evenement, acteur=_acteur(request), usager=usager, invites=invites, **donnees
        )
        return Response(_relu(evenement), status=status.HTTP_201_CREATED)


# --- Un événement ---------------------------------------------------------------------------------


class UnEvenement(APIView):
    @extend_schema(responses=EvenementSerializer, summary="Lire un événement (ou une série)")
    def get(self, request, uuid_evenement):
        evenement = _evenement(request, uuid_evenement)
        noter_lecture(
            request,
            usager=evenement.usager,
            objet=evenement,
            action="agenda.evenement.lecture",
            acteur=_acteur(request),
        )
        return Response(EvenementSerializer(evenement).data)

    @extend_schema(
        request=ModificationEvenementSerializer,
        responses={200: EvenementSerializer, 409: None},
        summary="Modifier un événement (`sequence` : la version lue ; 409 si elle a changé)",
    )
    def patch(self, request, uuid_evenement):
        evenement = _evenement(request, uuid_evenement)
        changements = _lire(ModificationEvenementSerializer, request.data)
        sequence = changements.pop("sequence")
        try:
            evenement = _appliquer(
                services.modifier_evenement,
                acteur=_acteur(request),
                evenement=evenement,
                sequence_lue=sequence,
                **changements,
            )
        except ValidationError as exc:
            if isinstance(exc.__cause__, services.ConflitDeVersion):
                return Response({"sequence": exc.__cause__.messages}, status=status.HTTP_409_CONFLICT)
            raise
        return Response(_relu(evenement))

    @extend_schema(
        request=AnnulationSerializer,
        responses=EvenementSerializer,
        summary="Annuler un événement (il reste visible, annulé ; motif facultatif)",
    )
    def delete(self, request, uuid_evenement):
        evenement = _evenement(request, uuid_evenement)
        motif = _lire(AnnulationSerializer, request.data)["motif"]
        evenement = _appliquer(
            services.annuler_evenement, acteur=_acteur(request), evenement=evenement, motif=motif
        )
        return Response(_relu(evenement))


class ReponseEvenement(APIView):
    @extend_schema(
        request=ReponseSerializer,
        responses=EvenementSerializer,
        summary="Répondre à une invitation (accepted, declined, tentative)",
    )
    def post(self, request, uuid_evenement):
        evenement = _evenement(request, uuid_evenement)
        statut = _lire(ReponseSerializer, request.data)["statut"]
        _appliquer(services.repondre, acteur=_acteur(request), evenement=evenement, statut=statut)
        return Response(_relu(evenement))


# --- Agenda du professionnel ----------------------------------------------------------------------


class MonAgenda(APIView):
    @extend_schema(
        parameters=[FenetreSerializer],
        responses=OccurrenceSerializer(many=True),
        summary="Mon agenda de professionnel, toutes structures (« Occupé » sans accès à l'usager)",
    )
    def get(self, request):
        debut, fin = _fenetre(request)
        acteur = _acteur(request)
        occurrences = _refus_en_403(selectors.agenda_du_professionnel, acteur, debut, fin)
        noter_lecture(
            request, usager=None, action="agenda.professionnel.lecture", acteur=acteur, details={"api": True}
        )
        return Response(OccurrenceSerializer(occurrences, many=True).data)


# --- Réunions de coordination ---------------------------------------------------------------------


def _reunion(request, uuid_usager, serializer, service):
    """Créneaux proposés ou réunion demandée : même saisie (participants, durée, horizon…) lue
    puis confiée au service de `agenda/reunions.py`."""
    usager = _usager_visible(request, uuid_usager)
    donnees = _lire(serializer, request.data)
    invites = _invites(usager, donnees.pop("participants"))
    return _appliquer(
        service, acteur=_acteur(request), usager=usager, invites=invites, duree=_duree(donnees), **donnees
    )


class Creneaux(APIView):
    @extend_schema(
        request=RechercheCreneauxSerializer,
        responses=ResultatCreneauxSerializer,
        summary="Proposer les meilleurs créneaux pour réunir ces personnes (rien n'est écrit)",
    )
    def post(self, request, uuid_usager):
        resultat = _reunion(request, uuid_usager, RechercheCreneauxSerializer, reunions.proposer_creneaux)
        return Response(ResultatCreneauxSerializer(resultat).data)


class Reunions(APIView):
    @extend_schema(
        request=DemandeReunionEntreeSerializer,
        responses={201: DemandeReunionSerializer},
        summary="Demander une réunion de coordination au créneau choisi",
    )
    def post(self, request, uuid_usager):
        demande = _reunion(request, uuid_usager, DemandeReunionEntreeSerializer, reunions.demander_reunion)
        return Response(_demande_rendue(demande), status=status.HTTP_201_CREATED)


class ReponseReunion(APIView):
    @extend_schema(
        request=ReponseSerializer,
        responses=DemandeReunionSerializer,
        summary="Accepter ou décliner une réunion (la dernière acceptation requise la confirme)",
    )
    def post(self, request, uuid_demande):
        demande = _demande(request, uuid_demande)
        statut = _lire(ReponseSerializer, request.data)["statut"]
        demande = _appliquer(reunions.repondre, acteur=_acteur(request), demande=demande, statut=statut)
        return Response(_demande_rendue(demande))


class ContreProposition(APIView):
    @extend_schema(
        request=ContrePropositionSerializer,
        responses={201: DemandeReunionSerializer},
        summary="Proposer un autre créneau pour une réunion (sa réponse devient « peut-être »)",
    )
    def post(self, request, uuid_demande):
        demande = _demande(request, uuid_demande)
        donnees = _lire(ContrePropositionSerializer, request.data)
        _appliquer(reunions.contre_proposer, acteur=_acteur(request), demande=demande, **donnees)
        return Response(_demande_rendue(demande), status=status.HTTP_201_CREATED)
