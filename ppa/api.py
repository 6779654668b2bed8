"""API REST du projet personnalisé (DRF, schéma OpenAPI par drf-spectacular). Vues minces : lecture
des entrées, sélecteur ou service de `ppa/`, réponse ; mêmes règles de réponse que les API du cercle,
du cahier et de l'agenda (ADR 0008) : anonyme → 401 ; usager dont l'acteur ne voit rien → 404 ;
visible sans le droit → 403 (message français) ; version que l'acteur ne lit pas → 404 (elle
n'existe pas pour lui, ADR 0028). Chaque lecture est journalisée par les sélecteurs.

Écritures : seulement ce que les services offrent (ajouts, paroles, avis, commentaires, soumission,
accords, avenant, reprise TDDUI) ; aucune route PUT, PATCH ou DELETE. Une version soumise ou validée
ne change plus : le service refuse (400, message français), la base aussi. Concurrence : la
`revision_lue` d'une partie périmée donne 409 ; un accord sur une `empreinte_lue` périmée aussi.
Voir docs/decisions/0030-ppa-api-rest-et-admin.md."""

from __future__ import annotations

from types import SimpleNamespace

from django.core.exceptions import ValidationError as ErreurDjango
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agenda.services import membres_invitables
from cercle import habilitations
from cercle.api import _acteur, _usager_visible, _uuid
from cercle.api import _appliquer as _appliquer_cercle
from cercle.services import AccesRefuse
from coordination.journal.lectures import ATTRIBUT_LOT
from coordination.personnes.models import Structure, Usager
from ppa import selectors, services
from ppa.import_tddui import importer_tddui
from ppa.models import StatutVersion, VersionPPA
from ppa.serializers import (
    AccordSerializer,
    ActionEntreeSerializer,
    AvisSerializer,
    BesoinEntreeSerializer,
    CommentaireSerializer,
    CreationProjetSerializer,
    DifferentielSerializer,
    EcritureSerializer,
    ObjectifEntreeSerializer,
    ParolesSerializer,
    ProjetSerializer,
    VersionCompleteSerializer,
)

TAILLE_PAGE = 25
REFUS_ECRITURE = "Vous ne pouvez pas écrire dans le projet personnalisé de cette personne."


class Conflit(APIException):
    """409 : une partie du brouillon, ou le contenu soumis aux accords, a changé depuis la lecture."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Le projet a changé depuis que vous l'avez lu : relisez-le."
    default_code = "conflit"


def _lire(serializer_classe, donnees) -> dict:
    entree = serializer_classe(data=donnees)
    entree.is_valid(raise_exception=True)
    return dict(entree.validated_data)


def _appliquer(fonction, **arguments):
    """Appelle un service (refus → 403, erreurs → 400) ; une partie modifiée entre-temps → 409."""
    try:
        return _appliquer_cercle(fonction, **arguments)
    except ValidationError as exc:
        if isinstance(exc.__cause__, services.ConflitDePartie):
            raise Conflit({"revision_lue": exc.__cause__.messages, "partie": exc.__cause__.partie}) from exc
        raise


def _sans_trace() -> SimpleNamespace:
    """Une « requête » dont le lot de lectures n'est jamais écrit : pour retrouver ce qu'une écriture
    vise sans le noter lu ; la version relue avec la réponse, elle, est notée (un refus n'écrit rien,
    pas même au journal)."""
    return SimpleNamespace(**{ATTRIBUT_LOT: {}})


def _version(request, uuid_version) -> VersionPPA:
    """La version visée par une écriture, si l'acteur lit le projet de la personne ; sinon 404."""
    version = selectors.version_lisible(_acteur(request), _uuid(uuid_version), request=_sans_trace())
    if version is None:
        raise NotFound("Version du projet personnalisé introuvable.")
    return version


def _contenu(request, version: VersionPPA) -> selectors.VersionComplete:
    """Le contenu de la version visée (pour y retrouver besoins et objectifs désignés), sans trace."""
    complete = selectors.version_complete(_acteur(request), version.uuid, request=_sans_trace())
    if complete is None:
        raise NotFound("Version du projet personnalisé introuvable.")
    return complete


def _exiger_ecriture(request, usager: Usager) -> None:
    """Avant de lire une saisie coûteuse (Bundle, structure) : le droit d'abord (403)."""
    if not habilitations.peut(_acteur(request), usager, "ecrire", services.DOMAINE):
        raise PermissionDenied(REFUS_ECRITURE)


def _ecrit(request, version: VersionPPA, element=None, statut=status.HTTP_200_OK) -> Response:
    """La réponse d'une écriture : l'élément créé et la version relue (lecture journalisée)."""
    complete = selectors.version_complete(_acteur(request), version.uuid, request=request)
    if complete is None:
        raise NotFound("Version du projet personnalisé introuvable.")
    uuid_element = getattr(element, "uuid", None)
    return Response(EcritureSerializer({"element": uuid_element, "version": complete}).data, status=statut)


def _structure(request, uuid_structure) -> Structure:
    if uuid_structure is None:
        structure = _acteur(request).structure
        if structure is None:
            raise ValidationError({"structure": ["Précisez la structure qui accompagne la personne."]})
        return structure
    structure = Structure.objects.filter(uuid=uuid_structure).first()
    if structure is None:
        raise ValidationError({"structure": ["Structure inconnue."]})
    return structure


def _page(request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        raise ValidationError({"page": ["Numéro de page invalide."]}) from None


# --- Les projets d'une personne --------------------------------------------------------------------


class Projets(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("page", int, OpenApiParameter.QUERY, required=False)],
        responses=ProjetSerializer(many=True),
        summary="Les projets personnalisés d'un usager (toutes structures), avec leurs versions",
    )
    def get(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        page = _page(request)
        try:
            projets = selectors.projets_lisibles(_acteur(request), usager, request=request)
        except AccesRefuse as exc:
            raise PermissionDenied(str(exc)) from exc
        debut = (page - 1) * TAILLE_PAGE
        lignes = projets[debut : debut + TAILLE_PAGE]
        return Response(
            {
                "usager": str(usager.uuid),
                "page": page,
                "suivante": len(projets) > debut + TAILLE_PAGE,
                "resultats": ProjetSerializer(lignes, many=True).data,
            }
        )

    @extend_schema(
        request=CreationProjetSerializer,
        responses={201: ProjetSerializer},
        summary="Ouvrir le projet personnalisé d'un usager dans une structure (version 1 en brouillon)",
    )
    def post(self, request, uuid_usager):
        usager = _usager_visible(request, uuid_usager)
        _exiger_ecriture(request, usager)
        donnees = _lire(CreationProjetSerializer, request.data)
        structure = _structure(request, donnees.pop("structure", None))
        projet = _appliquer(
            services.creer_projet, acteur=_acteur(request), usager=usager, structure=structure, **donnees
        )
        projets = selectors.projets_lisibles(_acteur(request), usager, request=request)
        relu = next(p for p in projets if p.pk == projet.pk)
        return Response(ProjetSerializer(relu).data, status=status.HTTP_201_CREATED)


# --- Une version -----------------------------------------------------------------------------------


class UneVersion(APIView):
    @extend_schema(
        responses=VersionCompleteSerializer,
        summary="Lire une version complète (besoins, objectifs, actions ; révisions et empreinte)",
    )
    def get(self, request, uuid_version):
        complete = selectors.version_complete(_acteur(request), _uuid(uuid_version), request=request)
        if complete is None:
            raise NotFound("Version du projet personnalisé introuvable.")
        return Response(VersionCompleteSerializer(complete).data)


class Paroles(APIView):
    @extend_schema(
        request=ParolesSerializer,
        responses={200: EcritureSerializer, 409: None},
        summary="Écrire les attentes et le projet de vie de la personne, dans ses mots (brouillon)",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(ParolesSerializer, request.data)
        _appliquer(services.ecrire_paroles, acteur=_acteur(request), version=version, **donnees)
        return _ecrit(request, version)


class Besoins(APIView):
    @extend_schema(
        request=BesoinEntreeSerializer,
        responses={201: EcritureSerializer, 409: None},
        summary="Ajouter un besoin (code SERAFIN-PH ou texte) au brouillon",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(BesoinEntreeSerializer, request.data)
        besoin = _appliquer(services.ajouter_besoin, acteur=_acteur(request), version=version, **donnees)
        return _ecrit(request, version, besoin, status.HTTP_201_CREATED)


class Objectifs(APIView):
    @extend_schema(
        request=ObjectifEntreeSerializer,
        responses={201: EcritureSerializer, 409: None},
        summary="Ajouter un objectif au brouillon (avec les besoins auxquels il répond)",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(ObjectifEntreeSerializer, request.data)
        voulus = set(donnees.pop("besoins"))
        besoins = [b for b in _contenu(request, version).besoins if b.uuid in voulus] if voulus else []
        if len(besoins) != len(voulus):
            raise ValidationError({"besoins": ["Un besoin choisi n'appartient pas à cette version."]})
        objectif = _appliquer(
            services.ajouter_objectif, acteur=_acteur(request), version=version, besoins=besoins, **donnees
        )
        return _ecrit(request, version, objectif, status.HTTP_201_CREATED)


class Avis(APIView):
    @extend_schema(
        request=AvisSerializer,
        responses={200: EcritureSerializer, 409: None},
        summary="L'avis de la personne sur un objectif (elle, son représentant ou un aidant)",
    )
    def post(self, request, uuid_version, uuid_objectif):
        version = _version(request, uuid_version)
        cible = _uuid(uuid_objectif)
        objectif = next((o for o in _contenu(request, version).objectifs if o.uuid == cible), None)
        if objectif is None:
            raise NotFound("Objectif introuvable dans cette version.")
        donnees = _lire(AvisSerializer, request.data)
        _appliquer(services.donner_avis, acteur=_acteur(request), objectif=objectif, **donnees)
        return _ecrit(request, version, objectif)


class Actions(APIView):
    @extend_schema(
        request=ActionEntreeSerializer,
        responses={201: EcritureSerializer, 409: None},
        summary="Ajouter une action (qui, quoi, où, à quelle fréquence) à un objectif du brouillon",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(ActionEntreeSerializer, request.data)
        cible = donnees.pop("objectif")
        objectif = next((o for o in _contenu(request, version).objectifs if o.uuid == cible), None)
        if objectif is None:
            raise ValidationError({"objectif": ["Cet objectif n'appartient pas à cette version du projet."]})
        if (uuid_membre := donnees.pop("intervenant")) is not None:
            membres = membres_invitables(version.projet.usager)
            donnees["intervenant"] = next((m for m in membres if m.uuid == uuid_membre), None)
            if donnees["intervenant"] is None:
                raise ValidationError(
                    {"intervenant": ["Cette personne ne fait pas partie du cercle de la personne."]}
                )
        action = _appliquer(services.ajouter_action, acteur=_acteur(request), objectif=objectif, **donnees)
        return _ecrit(request, version, action, status.HTTP_201_CREATED)


class Commentaires(APIView):
    @extend_schema(
        request=CommentaireSerializer,
        responses={201: EcritureSerializer},
        summary="Écrire dans le fil de discussion d'une partie (brouillon ou en attente des accords)",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(CommentaireSerializer, request.data)
        commentaire = _appliquer(services.commenter, acteur=_acteur(request), version=version, **donnees)
        return _ecrit(request, version, commentaire, status.HTTP_201_CREATED)


class Soumission(APIView):
    @extend_schema(
        request=None,
        responses=EcritureSerializer,
        summary="Soumettre le brouillon aux accords (il est figé ; son empreinte est calculée)",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        _appliquer(services.soumettre, acteur=_acteur(request), version=version)
        return _ecrit(request, version)


class Accords(APIView):
    @extend_schema(
        request=AccordSerializer,
        responses={201: EcritureSerializer, 409: None},
        summary="Donner l'accord de la personne ou de la structure sur le contenu lu (`empreinte_lue`)",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        donnees = _lire(AccordSerializer, request.data)
        try:
            accord = _appliquer(services.donner_accord, acteur=_acteur(request), version=version, **donnees)
        except ValidationError as exc:
            # Le service refuse une empreinte périmée sans rien écrire : c'est un conflit de lecture.
            attendait = version.statut == StatutVersion.EN_VALIDATION
            if attendait and donnees["empreinte_lue"] != version.empreinte:
                raise Conflit({"empreinte_lue": exc.detail}) from exc
            raise
        return _ecrit(request, version, accord, status.HTTP_201_CREATED)


class Avenant(APIView):
    @extend_schema(
        request=None,
        responses={201: EcritureSerializer},
        summary="Ouvrir un avenant : nouvelle version en brouillon, copie de la version validée",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        avenant = _appliquer(services.creer_avenant, acteur=_acteur(request), version=version)
        return _ecrit(request, avenant, avenant, status.HTTP_201_CREATED)


class ImportTDDUI(APIView):
    @extend_schema(
        request={"application/json": {"type": "object", "description": "Bundle FHIR TDDUI (CarePlan…)"}},
        responses=EcritureSerializer,
        summary="Reprendre le projet d'une structure précédente (Bundle TDDUI) dans un brouillon vide",
    )
    def post(self, request, uuid_version):
        version = _version(request, uuid_version)
        _exiger_ecriture(request, version.projet.usager)
        try:
            _appliquer(importer_tddui, acteur=_acteur(request), version=version, bundle=request.data)
        except ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"bundle": exc.detail}
            raise ValidationError(detail) from exc
        return _ecrit(request, version)


class Differentiel(APIView):
    @extend_schema(
        responses=DifferentielSerializer,
        summary="Ce qui change d'une version à l'autre (typiquement la version validée et son avenant)",
    )
    def get(self, request, uuid_version, uuid_autre):
        # Les deux versions d'abord, sans trace : un refus (404) ou deux projets différents (400)
        # n'écrivent rien au journal ; puis le différentiel, lectures journalisées.
        avant, apres = _version(request, uuid_version), _version(request, uuid_autre)
        if avant.projet_id != apres.projet_id:
            raise ValidationError(
                ["Ces deux versions appartiennent à des projets personnalisés différents : "
                 "on ne compare que deux versions d'un même projet."]
            )  # fmt: skip
        try:
            differentiel = selectors.differentiel_lisible(
                _acteur(request), avant.uuid, apres.uuid, request=request
            )
        except ErreurDjango as exc:
            raise ValidationError(exc.messages) from exc
        if differentiel is None:
            raise NotFound("Version du projet personnalisé introuvable.")
        return Response(DifferentielSerializer(differentiel).data)
