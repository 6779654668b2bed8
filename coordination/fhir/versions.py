"""Le magasin de versions (models.VersionRessource) : ajouter une version, relire, historique.

`ajouter_version` numérote sous un verrou consultatif de transaction propre à (type, id) : deux
écritures concurrentes de la même ressource reçoivent 2 et 3, jamais deux fois 2. Il doit être
appelé dans la transaction qui écrit la donnée métier et le journal, pour que les trois aillent
ensemble.

`RessourceEnVersions` est un gestionnaire complet (read, vread, history, create, update) pour une
ressource gardée telle quelle, sans table métier : le magasin de versions est son stockage.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from coordination.fhir import erreurs
from coordination.fhir.models import VersionRessource
from coordination.fhir.registre import Interaction, Representation, Ressource

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte


def instant_fhir(moment: datetime) -> str:
    """Instant FHIR en UTC à la milliseconde : « 2026-11-22T08:30:00.123Z »."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verrouiller(type_ressource: str, id_logique: uuid.UUID) -> None:
    with connection.cursor() as curseur:
        curseur.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"fhir:{type_ressource}/{id_logique}"]
        )


def representation(version: VersionRessource) -> Representation:
    return Representation(
        ressource=version.contenu or {"resourceType": version.type_ressource, "id": str(version.id_logique)},
        derniere_maj=version.derniere_maj,
        version=str(version.version),
        supprimee=version.supprimee,
    )


@transaction.atomic
def ajouter_version(
    *,
    type_ressource: str,
    id_logique: uuid.UUID,
    ressource: dict | None,
    evenement=None,
    supprimee: bool = False,
    numero: int | None = None,
    moment: datetime | None = None,
) -> VersionRessource:
    """Ajoute la version suivante ; pose `id`, `meta.versionId` et `meta.lastUpdated` dans le JSON
    gardé (une copie : l'argument n'est pas modifié). `evenement` : l'événement du journal.

    `numero` et `moment` : pour une ressource dont la table métier tient déjà le numéro de version
    et l'instant du changement (CareTeam : `Cercle.version`, `Cercle.modifie_le`) ; le numéro doit
    dépasser la dernière version gardée (des numéros peuvent manquer : versions non gardées)."""
    _verrouiller(type_ressource, id_logique)
    derniere = (
        VersionRessource.objects.filter(type_ressource=type_ressource, id_logique=id_logique)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    if numero is None:
        numero = (derniere or 0) + 1
    elif numero <= (derniere or 0):
        raise ValueError(
            f"Magasin de versions FHIR : {type_ressource}/{id_logique} a déjà une version {derniere}, "
            f"la version {numero} ne peut pas la suivre."
        )
    maintenant = moment or timezone.now()
    contenu = None
    if ressource is not None:
        contenu = copy.deepcopy(ressource)
        contenu["id"] = str(id_logique)
        meta = contenu.setdefault("meta", {})
        meta["versionId"] = str(numero)
        meta["lastUpdated"] = instant_fhir(maintenant)
    return VersionRessource.objects.create(
        type_ressource=type_ressource,
        id_logique=id_logique,
        version=numero,
        derniere_maj=maintenant,
        contenu=contenu,
        evenement_uuid=getattr(evenement, "uuid", None),
        supprimee=supprimee,
    )


def _uuid(id_logique: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(id_logique)
    except (ValueError, TypeError):
        return None


def version_courante(type_ressource: str, id_logique: str) -> VersionRessource | None:
    identifiant = _uuid(id_logique)
    if identifiant is None:
        return None
    return (
        VersionRessource.objects.filter(type_ressource=type_ressource, id_logique=identifiant)
        .order_by("-version")
        .first()
    )


def lire_version(type_ressource: str, id_logique: str, version: str) -> VersionRessource | None:
    identifiant = _uuid(id_logique)
    if identifiant is None or not version.isdigit() or len(version) > 9:
        return None
    return VersionRessource.objects.filter(
        type_ressource=type_ressource, id_logique=identifiant, version=int(version)
    ).first()


def historique(
    type_ressource: str,
    id_logique: str | None,
    *,
    nombre: int,
    depuis: datetime | None = None,
    parmi=None,
) -> list[VersionRessource]:
    """Les versions (plus récentes d'abord) d'une instance, ou de tout le type. `parmi` : requête
    des ids logiques permis (l'_history d'un type filtré par les habilitations)."""
    versions = VersionRessource.objects.filter(type_ressource=type_ressource)
    if parmi is not None:
        versions = versions.filter(id_logique__in=parmi)
    if id_logique is not None:
        identifiant = _uuid(id_logique)
        if identifiant is None:
            return []
        versions = versions.filter(id_logique=identifiant).order_by("-version")
    else:
        versions = versions.order_by("-derniere_maj", "-id")
    if depuis is not None:
        versions = versions.filter(derniere_maj__gte=depuis)
    return list(versions[:nombre])


class RessourceVersionnee(Ressource):
    """vread et _history lus dans le magasin de versions (pour toute ressource qui y écrit)."""

    versionnee = True

    def lire_version(self, contexte: Contexte, id_logique: str, version: str) -> Representation:
        trouvee = lire_version(self.type, id_logique, version)
        if trouvee is None:
            raise erreurs.introuvable(self.type, id_logique, version)
        if trouvee.supprimee:
            raise erreurs.supprimee(self.type, id_logique)
        return representation(trouvee)

    def historique(
        self, contexte: Contexte, id_logique: str | None, *, nombre: int, depuis: datetime | None
    ) -> list[Representation]:
        if id_logique is not None and version_courante(self.type, id_logique) is None:
            raise erreurs.introuvable(self.type, id_logique)
        return [representation(v) for v in historique(self.type, id_logique, nombre=nombre, depuis=depuis)]


class RessourceEnVersions(RessourceVersionnee):
    """Ressource gardée telle que reçue (après validation) : le magasin de versions est son seul
    stockage. Chaque écriture est journalisée (« fhir.<type>.creation » / « .modification »)."""

    interactions = frozenset(
        {Interaction.READ, Interaction.VREAD, Interaction.HISTORY_INSTANCE, Interaction.HISTORY_TYPE,
         Interaction.CREATE, Interaction.UPDATE}
    )  # fmt: skip

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        courante = version_courante(self.type, id_logique)
        if courante is None:
            raise erreurs.introuvable(self.type, id_logique)
        if courante.supprimee:
            raise erreurs.supprimee(self.type, id_logique)
        return representation(courante)

    def _ecrire(
        self, contexte: Contexte, id_logique: uuid.UUID, ressource: dict, action: str
    ) -> Representation:
        """Version puis journal, dans une transaction ; le journal en dernier (son verrou de chaîne
        est ainsi tenu le moins longtemps possible, et toujours pris après celui de la ressource)."""
        from coordination.journal.services import journaliser_plusieurs, preparer_evenement

        evenement = preparer_evenement(
            acteur=contexte.acteur,
            action=f"fhir.{self.type.lower()}.{action}",
            objet_type=f"fhir.{self.type}",
            objet_uuid=id_logique,
        )
        with transaction.atomic():
            version = ajouter_version(
                type_ressource=self.type, id_logique=id_logique, ressource=ressource, evenement=evenement
            )
            journaliser_plusieurs([evenement])
        return representation(version)

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique: uuid.UUID) -> Representation:
        return self._ecrire(contexte, id_logique, ressource, "creation")

    def modifier(
        self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue: str | None
    ) -> tuple[Representation, bool]:
        identifiant = _uuid(id_logique)
        if identifiant is None:
            raise erreurs.requete_invalide(
                f"Identifiant « {id_logique[:64]} » : ce serveur attribue des UUID.", expression=["id"]
            )
        with transaction.atomic():
            _verrouiller(self.type, identifiant)
            courante = version_courante(self.type, id_logique)
            if version_attendue is not None and (
                courante is None or str(courante.version) != version_attendue
            ):
                raise erreurs.version_perimee(
                    version_attendue, str(courante.version) if courante else "aucune"
                )
            action = "creation" if courante is None else "modification"
            return self._ecrire(contexte, identifiant, ressource, action), courante is None
