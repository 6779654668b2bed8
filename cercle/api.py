"""API REST du cercle (DRF, schéma OpenAPI par drf-spectacular). Vues minces : lecture des entrées,
sélecteur ou service, réponse. Les règles d'accès sont celles de cercle/habilitations.py.

Règle de réponse : un usager dont l'acteur ne voit rien (aucun droit, aucune présence) est
introuvable (404, comme un UUID inconnu : l'API ne révèle pas qui est accompagné) ; un usager
visible mais sans le droit demandé donne 403 avec un message français."""

from __future__ import annotations

import uuid as uuid_module

from django.core.exceptions import ValidationError as ErreurDjango
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cercle import habilitations, selectors, services
from cercle.historique import HistoriqueIllisible
from cercle.models import Delegation, DemandeAdhesion, Habilitation, Membre
from cercle.serializers import (
    AjoutMembreSerializer,
    DecisionSerializer,
    DelegationEntreeSerializer,
    DemandeAdhesionSerializer,
    DemandeSerializer,
    MembreSerializer,
    OctroiSerializer,
    ProfessionnelAnnuaireSerializer,
    RetraitSerializer,
    SortieSerializer,
    UsagerResumeSerializer,
)
from coordination.personnes.models import Exercice, Proche, Professionnel, Structure, Usager
from coordination.personnes.selectors import rechercher_professionnels

TAILLE_PAGE = 25


def _acteur(request):
    acteur = getattr(request, "acteur", None) or getattr(request._request, "acteur", None)
    if acteur is None:
        raise PermissionDenied("Choisissez d'abord en quelle qualité vous agissez.")
    return acteur


def _uuid(valeur) -> uuid_module.UUID:
    try:
        return uuid_module.UUID(str(valeur))
    except ValueError:
        raise NotFound("Introuvable.") from None


def _usager_visible(request, uuid_usager) -> Usager:
    """L'usager, s'il existe et que l'acteur en voit quelque chose ; sinon 404."""
    usager = Usager.objects.filter(uuid=_uuid(uuid_usager)).first()
    if usager is None or not any(habilitations.niveaux(_acteur(request), usager).values()):
        raise NotFound("Usager introuvable.")
    return usager


def _objet_du_cercle(request, modele, uuid_objet, chemin_usager: str):
    """Un objet du cercle (membre, droit, délégation…) d'un usager visible ; sinon 404."""
    objet = modele.objects.select_related(chemin_usager).filter(uuid=_uuid(uuid_objet)).first()
    if objet is None:
        raise NotFound("Introuvable.")
    usager = objet
    for attribut in chemin_usager.split("__"):
        usager = getattr(usager, attribut)
    _usager_visible(request, usager.uuid)
    return objet


def _appliquer(fonction, **arguments):
    """Appelle un service ; ses refus deviennent 403, ses erreurs de validation 400 (messages français)."""
    try:
        return fonction(**arguments)
    except services.AccesRefuse as exc:
        raise PermissionDenied(str(exc)) from exc
    except ErreurDjango as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc


def _membres(request, usager: Usager) -> list:
    try:
        return selectors.membres(_acteur(request), usager, request=request._request)
    except services.AccesRefuse as exc:
        raise PermissionDenied(str(exc)) from exc


# --- Lectures -------------------------------------------------------------------------------------


class MesUsagers(APIView):
    @extend_schema(responses=UsagerResumeSerializer(many=True), summary="Mes usagers et ce que j'y vois")
    def get(self, request):
        acteur = _acteur(request)
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise ValidationError({"page": "Numéro de page invalide."}) from None
        requete = selectors.mes_usagers(acteur, recherche=request.query_params.get("q", ""))
        debut = (page - 1) * TAILLE_PAGE
        lignes = selectors.avec_niveaux(acteur, requete[debut : debut + TAILLE_PAGE + 1])
        return Response(
            {
                "page": page,
                "suivante": len(lignes) > TAILLE_PAGE,
                "resultats": UsagerResumeSerializer(lignes[:TAILLE_PAGE], many=True).data,
            }
        )


class CercleUsager(APIView):
    @extend_schema(
        responses=MembreSerializer(many=True), summary="Membres du cercle d'un usager et leurs droits"
    )
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        membres = _membres(request, usager)
        cercle = usager.cercle
        return Response(
            {
                "usager": str(usager.uuid),
                "statut": cercle.statut,
                "version": cercle.version,
                "mes_niveaux": habilitations.niveaux(_acteur(request), usager),
                "membres": MembreSerializer(membres, many=True).data,
            }
        )


class ExplicationSerializer(drf_serializers.Serializer):
    domaine = drf_serializers.CharField()
    niveau = drf_serializers.IntegerField()
    explication = drf_serializers.CharField()


class Pourquoi(APIView):
    @extend_schema(responses=ExplicationSerializer, summary="Pourquoi j'ai (ou non) accès à un domaine")
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        domaine = request.query_params.get("domaine", "cercle")
        if domaine not in habilitations.DOMAINES:
            raise ValidationError(
                {"domaine": f"Domaine inconnu ; attendu : {', '.join(habilitations.DOMAINES)}."}
            )
        explication = habilitations.pourquoi(_acteur(request), usager, domaine)
        return Response({"domaine": domaine, "niveau": explication.niveau, "explication": str(explication)})


# --- Membres --------------------------------------------------------------------------------------


def _par_uuid(modele, valeur, champ: str):
    if not valeur:
        return None
    objet = modele.objects.filter(uuid=valeur).first()
    if objet is None:
        raise ValidationError({champ: "Introuvable."})
    return objet


class MembresUsager(APIView):
    @extend_schema(
        request=AjoutMembreSerializer, responses={201: MembreSerializer}, summary="Ajouter un membre"
    )
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        entree = AjoutMembreSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        donnees = dict(entree.validated_data)
        membre = _appliquer(
            services.ajouter_membre,
            acteur=_acteur(request),
            usager=usager,
            type=donnees.pop("type"),
            role=donnees.pop("role", ""),
            professionnel=_par_uuid(Professionnel, donnees.pop("professionnel", None), "professionnel"),
            exercice=_par_uuid(Exercice, donnees.pop("exercice", None), "exercice"),
            structure=_par_uuid(Structure, donnees.pop("structure", None), "structure"),
            proche=_par_uuid(Proche, donnees.pop("proche", None), "proche"),
            **donnees,
        )
        return Response(_un_membre(request, usager, membre), status=status.HTTP_201_CREATED)


def _un_membre(request, usager: Usager, membre: Membre) -> dict:
    for present in (
        _membres(request, usager) if habilitations.peut(_acteur(request), usager, "lire", "cercle") else []
    ):
        if present.pk == membre.pk:
            return MembreSerializer(present).data
    return {"uuid": str(membre.uuid), "statut": membre.statut}


class ActionMembre(APIView):
    """POST /api/v1/cercle/membres/<uuid>/<action>/ : retrait, confirmation, ecart, suspension, reprise."""

    ACTIONS = {"retrait", "confirmation", "ecart", "suspension", "reprise"}

    @extend_schema(request=SortieSerializer, responses=MembreSerializer, summary="Agir sur une présence")
    def post(self, request, uuid_membre, action):
        if action not in self.ACTIONS:
            raise NotFound("Action inconnue.")
        membre = _objet_du_cercle(request, Membre, uuid_membre, "cercle__usager")
        acteur = _acteur(request)
        if action == "retrait":
            entree = SortieSerializer(data=request.data)
            entree.is_valid(raise_exception=True)
            _appliquer(
                services.retirer_membre, acteur=acteur, membre=membre, motif=entree.validated_data["motif"]
            )
        elif action == "confirmation":
            _appliquer(services.confirmer_proposition, acteur=acteur, membre=membre)
        elif action == "ecart":
            _appliquer(services.ecarter_proposition, acteur=acteur, membre=membre)
        else:
            _appliquer(
                services.suspendre_membre, acteur=acteur, membre=membre, suspendre=action == "suspension"
            )
        membre.refresh_from_db()
        return Response(_un_membre(request, membre.cercle.usager, membre))


# --- Droits -----------------------------------------------------------------------------------------


class DroitsMembre(APIView):
    @extend_schema(request=OctroiSerializer, responses={201: None}, summary="Accorder un droit à un membre")
    def post(self, request, uuid_membre):
        membre = _objet_du_cercle(request, Membre, uuid_membre, "cercle__usager")
        entree = OctroiSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        droit = _appliquer(services.accorder, acteur=_acteur(request), membre=membre, **entree.validated_data)
        return Response(
            {"uuid": str(droit.uuid), "domaine": droit.domaine, "niveau": droit.niveau,
             "date_fin": droit.date_fin, "consentement": str(droit.consentement.uuid),
             "texte": droit.consentement.texte},
            status=status.HTTP_201_CREATED,
        )  # fmt: skip


class RetraitDroit(APIView):
    @extend_schema(request=RetraitSerializer, responses=None, summary="Retirer un droit")
    def post(self, request, uuid_droit):
        droit = _objet_du_cercle(request, Habilitation, uuid_droit, "membre__cercle__usager")
        entree = RetraitSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        consentement = _appliquer(
            services.revoquer, acteur=_acteur(request), droit=droit, **entree.validated_data
        )
        return Response({"consentement": str(consentement.uuid), "texte": consentement.texte})


# --- Délégations --------------------------------------------------------------------------------------


class DelegationsUsager(APIView):
    @extend_schema(
        request=DelegationEntreeSerializer, responses={201: None}, summary="Proposer une délégation"
    )
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        entree = DelegationEntreeSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        donnees = dict(entree.validated_data)
        assistant = _par_uuid(Exercice, donnees.pop("assistant"), "assistant")
        delegation = _appliquer(
            services.proposer_delegation,
            acteur=_acteur(request),
            usager=usager,
            assistant=assistant,
            **donnees,
        )
        return Response(
            {"uuid": str(delegation.uuid), "statut": delegation.statut}, status=status.HTTP_201_CREATED
        )


class ActionDelegation(APIView):
    @extend_schema(
        request=DecisionSerializer, responses=None, summary="Consentir à une délégation, ou y mettre fin"
    )
    def post(self, request, uuid_delegation, action):
        delegation = _objet_du_cercle(request, Delegation, uuid_delegation, "delegant__cercle__usager")
        acteur = _acteur(request)
        if action == "consentement":
            entree = DecisionSerializer(data=request.data)
            entree.is_valid(raise_exception=True)
            delegation = _appliquer(
                services.consentir_delegation, acteur=acteur, delegation=delegation,
                accepter=entree.validated_data["accepter"], texte_vu=entree.validated_data.get("texte_vu"),
            )  # fmt: skip
        elif action == "fin":
            delegation = _appliquer(services.terminer_delegation, acteur=acteur, delegation=delegation)
        else:
            raise NotFound("Action inconnue.")
        return Response({"uuid": str(delegation.uuid), "statut": delegation.statut})


# --- Demandes d'adhésion -------------------------------------------------------------------------------


class Demandes(APIView):
    @extend_schema(responses=DemandeSerializer(many=True), summary="Mes demandes d'adhésion et leur issue")
    def get(self, request):
        return Response(DemandeSerializer(selectors.mes_demandes(_acteur(request))[:100], many=True).data)

    @extend_schema(
        request=DemandeAdhesionSerializer, responses={201: DemandeSerializer}, summary="Demander à entrer"
    )
    def post(self, request):
        entree = DemandeAdhesionSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        demande = _appliquer(services.demander_adhesion, acteur=_acteur(request), **entree.validated_data)
        return Response(DemandeSerializer(demande).data, status=status.HTTP_201_CREATED)


class DecisionDemande(APIView):
    @extend_schema(
        request=DecisionSerializer, responses=DemandeSerializer, summary="Accepter ou refuser une demande"
    )
    def post(self, request, uuid_demande):
        demande = (
            DemandeAdhesion.objects.select_related("cercle__usager").filter(uuid=_uuid(uuid_demande)).first()
        )
        if demande is None or demande.cercle_id is None:
            raise NotFound("Introuvable.")
        _usager_visible(request, demande.cercle.usager.uuid)
        entree = DecisionSerializer(data=request.data)
        entree.is_valid(raise_exception=True)
        demande = _appliquer(
            services.decider_adhesion, acteur=_acteur(request), demande=demande,
            accepter=entree.validated_data["accepter"], motif=entree.validated_data.get("motif", ""),
        )  # fmt: skip
        return Response(DemandeSerializer(demande).data)


# --- Historique de remboursement, annuaire -------------------------------------------------------------


class FichierHistorique(drf_serializers.Serializer):
    fichier = drf_serializers.FileField()


class HistoriqueUsager(APIView):
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(request={"multipart/form-data": FichierHistorique}, responses=None,
                   summary="Importer un historique de remboursement (CSV ou Bundle FHIR)")  # fmt: skip
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        fichier = request.FILES.get("fichier")
        if fichier is None:
            raise ValidationError({"fichier": "Joignez le fichier de l'historique (champ « fichier »)."})
        try:
            rapport = _appliquer(
                services.importer_historique, acteur=_acteur(request), usager=usager,
                contenu=fichier.read(2 * 1024 * 1024 + 1), nom_fichier=fichier.name,
            )  # fmt: skip
        except HistoriqueIllisible as exc:
            raise ValidationError({"fichier": str(exc)}) from exc
        return Response(
            {
                "resume": rapport.resume,
                "proposes": [str(m.uuid) for m in rapport.proposes],
                "inconnus": rapport.inconnus,
                "erreurs": [{"ou": ou, "raison": raison} for ou, raison in rapport.erreurs],
            }
        )


class Annuaire(APIView):
    @extend_schema(responses=ProfessionnelAnnuaireSerializer(many=True), summary="Chercher un professionnel")
    def get(self, request):
        resultat = rechercher_professionnels(
            request.query_params.get("q", ""),
            profession_code=request.query_params.get("profession", ""),
            commune=request.query_params.get("commune", ""),
        )
        return Response(
            {"message": resultat.message,
             "resultats": ProfessionnelAnnuaireSerializer(resultat.professionnels, many=True).data}
        )  # fmt: skip
