"""Lectures du cercle, toujours à partir de l'acteur : chaque sélecteur vérifie l'habilitation
(cercle/habilitations.py), renvoie des données déjà filtrées, et note la lecture au journal quand une
requête HTTP est fournie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from cercle import habilitations
from cercle.models import (
    Delegation,
    DemandeAdhesion,
    Domaine,
    Habilitation,
    Membre,
    StatutCercle,
    StatutDelegation,
    StatutDemande,
    StatutMembre,
    TypeMembre,
)
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur
from coordination.journal import selectors as journal_selectors
from coordination.journal.lectures import noter_lecture
from coordination.personnes.models import Usager

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur


def _exiger_lecture(acteur: Acteur, usager: Usager, domaine: str = Domaine.CERCLE) -> None:
    if not habilitations.peut(acteur, usager, "lire", domaine):
        raise AccesRefuse("Vous n'avez pas accès au cercle de cette personne.")


# --- « Mes usagers » -----------------------------------------------------------------------------


def mes_usagers(acteur: Acteur, *, recherche: str = "") -> QuerySet[Usager]:
    """Les usagers dont l'acteur est membre actif d'un cercle ouvert : un professionnel en personne,
    par la structure où il agit, ou comme assistant par une délégation active ; le logiciel d'une
    structure, par sa structure. Une requête, triée par nom, à paginer ; les droits de la page se
    lisent ensuite avec `avec_niveaux`. Chaque usager porte `quittable` : l'acteur est membre de son
    cercle en personne et peut le quitter lui-même (sous-requête de la même requête)."""
    if acteur is None or acteur.type not in (TypeActeur.PROFESSIONNEL, TypeActeur.LOGICIEL):
        return Usager.objects.none()
    jour = timezone.localdate()
    presence = habilitations.presences_de(acteur, prefixe="")
    if presence is None:
        return Usager.objects.none()
    exercice_id = acteur.exercice.pk if acteur.exercice else None
    # Les identifiants d'abord (une poignée), puis les usagers : avec EXISTS, le planificateur
    # parcourt les usagers dans l'ordre du tri en testant chacun (mesuré : 120 ms à l'échelle M).
    par_presence = Membre.objects.filter(
        presence, statut=StatutMembre.ACTIF, cercle__statut=StatutCercle.ACTIF
    ).values("cercle__usager_id")
    par_delegation = Delegation.objects.filter(
        statut=StatutDelegation.ACTIVE, delegataire_id=exercice_id, date_debut__lte=jour, date_fin__gte=jour,
        delegant__statut=StatutMembre.ACTIF, delegant__cercle__statut=StatutCercle.ACTIF,
    ).values("delegant__cercle__usager_id")  # fmt: skip
    usagers = Usager.objects.filter(pk__in=par_presence.order_by().union(par_delegation.order_by()))
    if recherche.strip():
        from coordination.personnes.models import normaliser_trait

        terme = normaliser_trait(recherche)
        usagers = usagers.filter(
            Q(nom_naissance_normalise__startswith=terme) | Q(nom_utilise__istartswith=recherche.strip())
        )
    quittable = Exists(_presences_propres(acteur).filter(cercle__usager_id=OuterRef("pk")))
    return usagers.annotate(quittable=quittable).order_by(
        "nom_naissance_normalise", "premier_prenom_normalise", "id"
    )


@dataclass
class LigneUsager:
    usager: Usager
    niveaux: dict[str, int]

    @property
    def domaines_lisibles(self) -> list[str]:
        return [Domaine(d).label for d, n in self.niveaux.items() if n >= 1]


def avec_niveaux(acteur: Acteur, usagers) -> list[LigneUsager]:
    """Une page d'usagers avec les niveaux de l'acteur sur chacun (une requête pour toute la page)."""
    usagers = list(usagers)
    niveaux = habilitations.niveaux_de_plusieurs(acteur, usagers)
    return [LigneUsager(usager, niveaux[usager.pk]) for usager in usagers]


def _presences_propres(acteur: Acteur) -> QuerySet[Membre]:
    """Les présences ouvertes (hors propositions) de l'acteur en personne : un professionnel membre
    lui-même, ou un proche membre. Ce sont celles qu'il peut quitter seul (`services.retirer_membre`) ;
    une présence par sa structure ou par une délégation n'en est pas une."""
    if acteur is not None and acteur.type == TypeActeur.PROFESSIONNEL:
        filtre = Q(type=TypeMembre.PROFESSIONNEL, professionnel_id=acteur.exercice.professionnel_id)
    elif acteur is not None and acteur.type == TypeActeur.PROCHE:
        filtre = Q(type=TypeMembre.PROCHE, proche_id=acteur.proche.pk)
    else:
        return Membre.objects.none()
    return Membre.objects.filter(filtre, date_sortie__isnull=True).exclude(statut=StatutMembre.PROPOSE)


def presence_propre(acteur: Acteur, usager: Usager) -> Membre | None:
    """La présence de l'acteur en personne dans le cercle de `usager`, ou None (usager, assistant,
    professionnel présent seulement par sa structure)."""
    return (
        _presences_propres(acteur)
        .filter(cercle__usager=usager)
        .select_related("cercle", "professionnel", "exercice__structure", "proche")
        .first()
    )


def mes_delegations(acteur: Acteur) -> tuple[list[Delegation], list[Delegation]]:
    """Les délégations en cours d'un professionnel : (données, reçues). Données : en attente ou
    actives, par une présence ouverte ; reçues : actives seulement (une délégation en attente ne fait
    pas encore connaître l'usager à l'assistant). Une requête."""
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        return [], []
    jour = timezone.localdate()
    professionnel_id = acteur.exercice.professionnel_id
    donnees = Q(
        delegant__type=TypeMembre.PROFESSIONNEL,
        delegant__professionnel_id=professionnel_id,
        statut__in=[StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE],
    )
    recues = Q(
        delegataire__professionnel_id=professionnel_id, statut=StatutDelegation.ACTIVE, date_debut__lte=jour
    )
    delegations = list(
        Delegation.objects.filter(donnees | recues, date_fin__gte=jour, delegant__date_sortie__isnull=True)
        .select_related(
            "delegant__cercle__usager", "delegant__professionnel", "delegataire__professionnel",
            "delegataire__structure",
        )
        .order_by("date_fin", "id")
    )  # fmt: skip
    return (
        [d for d in delegations if d.delegant.professionnel_id == professionnel_id],
        [d for d in delegations if d.delegataire.professionnel_id == professionnel_id],
    )


# --- Le cercle d'un usager ---------------------------------------------------------------------


def membres(acteur: Acteur, usager: Usager, *, avec_anciens: bool = False, request=None) -> list[Membre]:
    """Les membres du cercle (ouverts ; et sortis si `avec_anciens`), avec leurs droits en vigueur
    (`membre.droits_en_vigueur`) et les délégations qu'ils ont données. Lecture du cercle requise ;
    nombre de requêtes constant quel que soit le nombre de membres."""
    _exiger_lecture(acteur, usager)
    jour = timezone.localdate()
    requete = Membre.objects.filter(cercle__usager=usager)
    if not avec_anciens:
        requete = requete.filter(date_sortie__isnull=True)
    resultat = list(
        requete.select_related("professionnel", "exercice__structure", "structure", "proche")
        .prefetch_related(
            Prefetch(
                "habilitations",
                queryset=Habilitation.objects.filter(revoquee_le__isnull=True).select_related("consentement"),
                to_attr="droits_en_vigueur",
            ),
            Prefetch(
                "delegations_donnees",
                queryset=Delegation.objects.filter(
                    statut__in=[StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE], date_fin__gte=jour
                ).select_related("delegataire__professionnel", "delegataire__structure"),
                to_attr="delegations_en_cours",
            ),
        )
        .order_by("date_sortie", "type", "date_entree", "id")
    )
    if request is not None:
        noter_lecture(request, usager=usager, objet=usager.cercle, action="cercle.lecture")
    return resultat


def demandes_en_attente(acteur: Acteur, usager: Usager) -> QuerySet[DemandeAdhesion]:
    """Demandes d'adhésion à décider : pour qui gère le cercle seulement."""
    if not habilitations.peut(acteur, usager, "gerer", Domaine.CERCLE):
        return DemandeAdhesion.objects.none()
    return (
        DemandeAdhesion.objects.filter(cercle__usager=usager, statut=StatutDemande.EN_ATTENTE)
        .select_related("exercice__professionnel", "exercice__structure")
        .order_by("cree_le")
    )


def delegations_a_consentir(acteur: Acteur, usager: Usager) -> QuerySet[Delegation]:
    """Délégations en attente du consentement de l'usager : pour l'usager ou son représentant."""
    if not habilitations.est_titulaire(acteur, usager):
        return Delegation.objects.none()
    return (
        Delegation.objects.filter(delegant__cercle__usager=usager, statut=StatutDelegation.EN_ATTENTE)
        .select_related("delegant__professionnel", "delegataire__professionnel", "delegataire__structure")
        .order_by("cree_le")
    )


def propositions(acteur: Acteur, usager: Usager) -> QuerySet[Membre]:
    """Membres proposés (historique de remboursement) à confirmer ou écarter : pour qui gère le cercle."""
    if not habilitations.peut(acteur, usager, "gerer", Domaine.CERCLE):
        return Membre.objects.none()
    return Membre.objects.filter(cercle__usager=usager, statut=StatutMembre.PROPOSE).select_related(
        "professionnel", "exercice__structure"
    )


def mes_demandes(acteur: Acteur) -> QuerySet[DemandeAdhesion]:
    """Les demandes d'adhésion du professionnel (toutes situations d'exercice), et leur issue."""
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        return DemandeAdhesion.objects.none()
    return DemandeAdhesion.objects.filter(
        exercice__professionnel_id=acteur.exercice.professionnel_id
    ).order_by("-cree_le")


def peut_voir_les_acces(acteur: Acteur, usager: Usager) -> bool:
    """« Qui a consulté mon dossier » : l'usager, son représentant légal, le gestionnaire du cercle."""
    return habilitations.peut(acteur, usager, "gerer", Domaine.CERCLE)


def qui_a_consulte(
    acteur: Acteur,
    usager: Usager,
    *,
    depuis=None,
    limite: int = 100,
    types_acteur: list[str] | None = None,
    nature: str = "",
    request=None,
):
    if not peut_voir_les_acces(acteur, usager):
        raise AccesRefuse(
            "Seuls la personne, son représentant légal ou le gestionnaire du cercle voient ces accès."
        )
    if request is not None:
        noter_lecture(request, usager=usager, action="journal.lecture_acces")
    return journal_selectors.acces_a_mon_dossier(
        usager=usager, depuis=depuis, limite=limite, types_acteur=types_acteur, nature=nature
    )


# --- Pages : l'usager désigné dans l'adresse, et les explications --------------------------------


def usager_connu(acteur: Acteur, usager_uuid) -> Usager | None:
    """L'usager de l'adresse, s'il fait partie du monde de l'acteur : l'usager lui-même, un de ses
    proches, quiconque a un droit sur son dossier, ou un professionnel qui le voit dans « Mes
    usagers » (membre sans droit). Sinon None, comme s'il n'existait pas (réponse 404 : une adresse
    ne doit pas révéler qui est suivi ici ; docs/decisions/0008-refus-403-404.md)."""
    if acteur is None:
        return None
    usager = Usager.objects.filter(uuid=usager_uuid).first()
    if usager is None:
        return None
    if acteur.usager is not None and acteur.usager.pk == usager.pk:
        return usager
    if any(habilitations.niveaux(acteur, usager).values()):
        return usager
    if acteur.type == TypeActeur.PROFESSIONNEL and mes_usagers(acteur).filter(pk=usager.pk).exists():
        return usager
    return None


def pourquoi_membre(acteur: Acteur, usager: Usager, membre: Membre) -> list[tuple[str, str]]:
    """Pour l'usager et ses proches : ce que `membre` peut faire dans chaque domaine, et pourquoi,
    en français simple (`habilitations.pourquoi` vu depuis ce membre). Lecture du cercle requise."""
    from coordination.comptes.acteur import Acteur as ActeurMembre
    from coordination.personnes.models import Exercice

    _exiger_lecture(acteur, usager)
    if membre.type == TypeMembre.PROFESSIONNEL:
        # Sans situation d'exercice précisée (libéral), ses droits valent pour toutes : on les lit
        # depuis l'une d'elles, de préférence sans structure.
        exercice = membre.exercice or (
            Exercice.objects.filter(professionnel_id=membre.professionnel_id)
            .select_related("professionnel", "structure")
            .order_by(F("structure_id").asc(nulls_first=True))
            .first()
        )
        if exercice is None:
            return []
        vu = ActeurMembre(TypeActeur.PROFESSIONNEL, exercice=exercice)
    elif membre.type == TypeMembre.PROCHE:
        vu = ActeurMembre(TypeActeur.PROCHE, proche=membre.proche, usager=usager)
    else:
        return []
    return [(Domaine(d).label, str(habilitations.pourquoi(vu, usager, d))) for d in Domaine.values]
