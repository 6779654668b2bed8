"""L'acteur : la personne en tant que laquelle un compte agit pour la requête en cours.

Un compte agit en tant qu'une seule personne à la fois : un professionnel dans une situation
d'exercice, un proche d'un usager donné, ou l'usager lui-même. Le choix est gardé en session
(`SESSION_ACTEUR`) ; s'il n'y a qu'une possibilité elle est prise d'office.
Un logiciel (le DUI d'une structure) authentifié par OAuth2 (client credentials) est aussi un
acteur : type LOGICIEL, pour le compte de sa structure (comptes/logiciels.py).
Les habilitations (cercle/habilitations.py) et le journal partent de cet objet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q
from django.utils import timezone

from coordination.comptes.models import Compte
from coordination.personnes.models import Exercice, Proche, Structure, Usager

SESSION_ACTEUR = "acteur"


class TypeActeur:
    PROFESSIONNEL = "professionnel"
    PROCHE = "proche"
    USAGER = "usager"
    SANS_PERSONNE = "sans_personne"  # compte sans personne reliée (ex. administrateur technique)
    SYSTEME = "systeme"  # tâche de fond, import, commande d'administration
    LOGICIEL = "logiciel"  # logiciel d'une structure (DUI) authentifié par OAuth2

    LIBELLES = {
        PROFESSIONNEL: "professionnel",
        PROCHE: "proche",
        USAGER: "usager",
        SANS_PERSONNE: "compte sans personne reliée",
        SYSTEME: "système",
        LOGICIEL: "logiciel (DUI)",
    }


@dataclass(frozen=True)
class Acteur:
    type: str
    compte: Compte | None = None
    exercice: Exercice | None = None
    proche: Proche | None = None
    usager: Usager | None = None  # l'usager lui-même, ou l'usager dont la personne est proche
    nom_systeme: str = ""  # nom de la tâche (SYSTEME) ou du logiciel client (LOGICIEL)
    structure_logiciel: Structure | None = None  # structure pour le compte de laquelle agit le logiciel
    # Mémo de la requête : niveaux de droits déjà calculés par cercle/habilitations.py, par usager.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    # -- identité ----------------------------------------------------------------------------

    @property
    def cle(self) -> str:
        """Clé stable gardée en session : « type:uuid »."""
        if self.type == TypeActeur.PROFESSIONNEL:
            return f"exercice:{self.exercice.uuid}"
        if self.type == TypeActeur.PROCHE:
            return f"proche:{self.proche.uuid}"
        if self.type == TypeActeur.USAGER:
            return f"usager:{self.usager.uuid}"
        if self.type == TypeActeur.LOGICIEL and self.structure_logiciel is not None:
            # Le logiciel agit pour sa structure : ceux de deux structures ne se confondent pas (auteur
            # d'un rendez-vous de l'agenda, `Evenement.cree_par`).
            return f"logiciel:{self.structure_logiciel.uuid}"
        return self.type

    @property
    def est_professionnel(self) -> bool:
        return self.type == TypeActeur.PROFESSIONNEL

    @property
    def est_proche(self) -> bool:
        return self.type == TypeActeur.PROCHE

    @property
    def est_usager(self) -> bool:
        return self.type == TypeActeur.USAGER

    @property
    def est_logiciel(self) -> bool:
        return self.type == TypeActeur.LOGICIEL

    @property
    def professionnel(self):
        return self.exercice.professionnel if self.exercice else None

    @property
    def structure(self):
        if self.type == TypeActeur.LOGICIEL:
            return self.structure_logiciel
        return self.exercice.structure if self.exercice else None

    @property
    def nom(self) -> str:
        if self.type == TypeActeur.PROFESSIONNEL:
            return str(self.exercice.professionnel)
        if self.type == TypeActeur.PROCHE:
            return f"{self.proche.prenoms.split(' ')[0]} {self.proche.nom}"
        if self.type == TypeActeur.USAGER:
            return str(self.usager)
        if self.type == TypeActeur.SYSTEME:
            return self.nom_systeme or "système"
        if self.type == TypeActeur.LOGICIEL:
            return self.nom_systeme or "logiciel"
        return str(self.compte) if self.compte else "anonyme"

    @property
    def qualite(self) -> str:
        """En quelle qualité : « Infirmier · SSIAD du Val », « aidant de Jeanne Martin », « usager »."""
        if self.type == TypeActeur.PROFESSIONNEL:
            metier = self.exercice.fonction or self.exercice.profession_libelle or "professionnel"
            lieu = (
                self.exercice.structure.raison_sociale if self.exercice.structure_id else "exercice libéral"
            )
            return f"{metier} · {lieu}"
        if self.type == TypeActeur.PROCHE:
            return f"{self.proche.get_lien_display()} de {self.usager}"
        if self.type == TypeActeur.LOGICIEL and self.structure_logiciel is not None:
            return f"{TypeActeur.LIBELLES[self.type]} · {self.structure_logiciel.raison_sociale}"
        return TypeActeur.LIBELLES[self.type]

    def pour_journal(self) -> dict:
        """Champs de l'acteur tels que le journal les enregistre."""
        return {
            "compte_id": self.compte.pk if self.compte else None,
            "acteur_type": self.type,
            "acteur_nom": self.nom,
            "acteur_qualite": self.qualite,
            "professionnel_uuid": self.professionnel.uuid if self.exercice else None,
            "structure_uuid": self.structure.uuid if self.structure is not None else None,
            "proche_uuid": self.proche.uuid if self.proche else None,
            "acteur_usager_uuid": self.usager.uuid if self.type == TypeActeur.USAGER else None,
        }


def acteur_systeme(nom: str) -> Acteur:
    return Acteur(type=TypeActeur.SYSTEME, nom_systeme=nom)


def _en_cours(jour: date) -> Q:
    return Q(date_fin__isnull=True) | Q(date_fin__gte=jour)


def acteurs_possibles(compte: Compte) -> list[Acteur]:
    """Toutes les personnes en tant que lesquelles ce compte peut agir aujourd'hui (3 requêtes)."""
    jour = timezone.localdate()
    acteurs: list[Acteur] = []
    exercices = (
        Exercice.objects.filter(professionnel__compte=compte)
        .filter(_en_cours(jour))
        .select_related("professionnel", "structure")
        .order_by("structure__raison_sociale")
    )
    acteurs += [Acteur(TypeActeur.PROFESSIONNEL, compte, exercice=e) for e in exercices]
    proches = Proche.objects.filter(compte=compte).filter(_en_cours(jour)).select_related("usager")
    acteurs += [Acteur(TypeActeur.PROCHE, compte, proche=p, usager=p.usager) for p in proches]
    usager = Usager.objects.filter(compte=compte).first()
    if usager is not None:
        acteurs.append(Acteur(TypeActeur.USAGER, compte, usager=usager))
    return acteurs


def acteur_depuis_cle(compte: Compte, cle: str) -> Acteur | None:
    """Retrouve l'acteur d'une clé de session, en vérifiant qu'il appartient bien au compte (1 requête)."""
    type_cle, _, valeur = cle.partition(":")
    jour = timezone.localdate()
    try:
        if type_cle == "exercice":
            exercice = (
                Exercice.objects.filter(_en_cours(jour))
                .select_related("professionnel", "structure")
                .get(uuid=valeur, professionnel__compte=compte)
            )
            return Acteur(TypeActeur.PROFESSIONNEL, compte, exercice=exercice)
        if type_cle == "proche":
            proche = (
                Proche.objects.filter(_en_cours(jour))
                .select_related("usager")
                .get(uuid=valeur, compte=compte)
            )
            return Acteur(TypeActeur.PROCHE, compte, proche=proche, usager=proche.usager)
        if type_cle == "usager":
            return Acteur(TypeActeur.USAGER, compte, usager=Usager.objects.get(uuid=valeur, compte=compte))
    except (Exercice.DoesNotExist, Proche.DoesNotExist, Usager.DoesNotExist, ValueError):
        return None
    return None


def acteur_de_la_session(request) -> Acteur | None:
    """L'acteur choisi pour cette session, ou l'unique possibilité ; None s'il faut choisir."""
    compte = request.user
    if not compte.is_authenticated:
        return None
    cle = request.session.get(SESSION_ACTEUR)
    if cle:
        acteur = acteur_depuis_cle(compte, cle)
        if acteur is not None:
            return acteur
        del request.session[SESSION_ACTEUR]
    possibles = acteurs_possibles(compte)
    if len(possibles) == 1:
        request.session[SESSION_ACTEUR] = possibles[0].cle
        return possibles[0]
    if not possibles:
        return Acteur(TypeActeur.SANS_PERSONNE, compte)
    return None


def choisir_acteur(request, cle: str) -> Acteur | None:
    """Change la personne en tant que laquelle le compte agit ; None si la clé ne lui appartient pas."""
    acteur = acteur_depuis_cle(request.user, cle)
    if acteur is not None:
        request.session[SESSION_ACTEUR] = acteur.cle
    return acteur
