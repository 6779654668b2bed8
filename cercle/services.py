"""Écritures du cercle : membres, droits, délégations, demandes d'adhésion, historique de
remboursement. Chaque service vérifie les habilitations (cercle/habilitations.py), écrit dans une
transaction, incrémente la version du cercle et journalise (« au nom de » l'usager quand un proche
agit pour lui). Les consentements sont des preuves immuables (`Consentement`)."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from cercle import habilitations, textes
from cercle.models import (
    Cercle,
    Consentement,
    Delegation,
    DemandeAdhesion,
    Domaine,
    Habilitation,
    Membre,
    MotifSortie,
    Niveau,
    OrigineHabilitation,
    OrigineMembre,
    QualiteConsentant,
    StatutCercle,
    StatutDelegation,
    StatutDemande,
    StatutMembre,
    TypeMembre,
)
from cercle.roles import FICHES, role_propose
from coordination.comptes.acteur import TypeActeur
from coordination.journal.models import Resultat
from coordination.journal.services import journaliser, journaliser_plusieurs, preparer_evenement
from coordination.notifications import services as notifications
from coordination.notifications.catalogue import NatureNotification as N
from coordination.personnes.models import Exercice, Proche, Professionnel, Structure, Usager

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur


class AccesRefuse(PermissionDenied):
    """Refus d'habilitation, avec un message français destiné à la personne."""


def _exiger(acteur: Acteur, usager: Usager, action: str, domaine: str, message: str) -> None:
    if not habilitations.peut(acteur, usager, action, domaine):
        raise AccesRefuse(message)


# Écritures groupées (mise à jour FHIR d'une CareTeam) : les services appelés à l'intérieur
# journalisent chacun leur action, mais une seule version du cercle est produite, à la fin du lot.
_LOT_EN_COURS: ContextVar[bool] = ContextVar("cercle_lot_en_cours", default=False)


def _journaliser(
    acteur: Acteur,
    action: str,
    *,
    usager: Usager,
    objet=None,
    details: dict | None = None,
    cercle: Cercle | None = None,
):
    """Journalise l'action. `cercle` : l'action a changé le cercle, d'où une nouvelle version de la
    CareTeam (sauf dans un lot, qui en produit une seule à sa fin), reliée à cet événement."""
    au_nom_de = str(usager) if habilitations.agit_pour_l_usager(acteur, usager) else ""
    evenement = preparer_evenement(
        acteur=acteur, action=action, objet=objet, usager=usager, au_nom_de=au_nom_de, details=details or {}
    )
    if cercle is not None and not _LOT_EN_COURS.get():
        _toucher(cercle, evenement)
    return journaliser_plusieurs([evenement])[0]


def _versionner(cercle_id: int, evenement=None) -> None:
    """Ajoute au magasin de versions FHIR la CareTeam du cercle telle qu'elle est maintenant, sous
    le numéro `Cercle.version` (meta.versionId) et à l'instant `Cercle.modifie_le`."""
    from cercle.fhir import PARTICIPANTS, cercle_vers_careteam
    from coordination.fhir.versions import ajouter_version

    cercle = (
        Cercle.objects.select_related("usager", "structure_responsable")
        .prefetch_related(PARTICIPANTS)
        .get(pk=cercle_id)
    )
    ajouter_version(
        type_ressource="CareTeam",
        id_logique=cercle.uuid,
        ressource=cercle_vers_careteam(cercle, cercle.participants),
        evenement=evenement,
        numero=cercle.version,
        moment=cercle.modifie_le,
    )


def _toucher(cercle: Cercle, evenement=None) -> None:
    """Nouvelle version du cercle (meta.versionId de la CareTeam), gardée dans le magasin de
    versions pour vread et _history."""
    Cercle.objects.filter(pk=cercle.pk).update(version=F("version") + 1, modifie_le=timezone.now())
    _versionner(cercle.pk, evenement)


def _consentement(
    acteur: Acteur, usager: Usager, *, objet: str, texte: str, texte_vu: str | None, details: dict
) -> Consentement:
    """Enregistre le consentement de la personne qui agit. `texte_vu` : le texte que la page a montré ;
    s'il diffère du texte recalculé (la situation a changé entre-temps), rien n'est enregistré."""
    if texte_vu is not None and texte_vu.strip() != texte:
        raise ValidationError(
            "Le texte à approuver a changé depuis l'affichage de la page : relisez-le puis confirmez."
        )
    if acteur.type == TypeActeur.USAGER:
        qualite = QualiteConsentant.USAGER
    elif habilitations.est_titulaire(acteur, usager):
        qualite = QualiteConsentant.REPRESENTANT_LEGAL
    else:
        qualite = QualiteConsentant.GESTIONNAIRE
    return Consentement.objects.create(
        usager=usager,
        objet=objet,
        qualite=qualite,
        consentant_nom=acteur.nom,
        compte_uuid=acteur.compte.uuid if acteur.compte else None,
        texte=texte,
        texte_version=textes.VERSIONS[objet],
        details=details,
    )


def noter_refus(*, acteur: Acteur, usager: Usager, route: str, methode: str, motif: str) -> None:
    """Journalise une tentative refusée (403) d'un acteur connecté sur le dossier d'un usager qu'il
    connaît (`cercle.acces_refuse`, résultat « refusé ») : l'usager la voit dans « Qui a consulté mon
    dossier », les audits la retrouvent. Écrit hors de la transaction de l'action refusée."""
    journaliser(
        acteur=acteur,
        action="cercle.acces_refuse",
        usager=usager,
        resultat=Resultat.REFUSE,
        details={"route": route, "methode": methode, "motif": motif[:300]},
    )


# --- Cercle ------------------------------------------------------------------------------------


def creer_cercle(*, usager: Usager) -> Cercle:
    """Le cercle de l'usager (créé avec lui, par `personnes.services.creer_usager`). Idempotent."""
    cercle, cree = Cercle.objects.get_or_create(usager=usager)
    if cree:
        _versionner(cercle.pk)  # version 1 de la CareTeam
    return cercle


def _cercle_ouvert(usager: Usager) -> Cercle:
    cercle = creer_cercle(usager=usager)
    if cercle.statut != StatutCercle.ACTIF:
        raise ValidationError("Ce cercle est clos : il ne peut plus être modifié.")
    return cercle


# --- Membres -----------------------------------------------------------------------------------


def _verifier_membre(membre: Membre, usager: Usager) -> None:
    fiche = FICHES.get(membre.role)
    if fiche is None or membre.type not in fiche.types:
        raise ValidationError(
            {"role": f"Rôle : « {membre.get_role_display()} » ne convient pas à ce type de membre."}
        )
    if membre.exercice_id and membre.exercice.professionnel_id != membre.professionnel_id:
        raise ValidationError(
            {"exercice": "Situation d'exercice : elle n'appartient pas à ce professionnel."}
        )
    if membre.proche_id and membre.proche.usager_id != usager.pk:
        raise ValidationError({"proche": "Proche : cette personne n'est pas un proche de cet usager."})


def _ecrire_defauts(membre: Membre) -> list[Habilitation]:
    """Droits présumés (équipe de soins) d'un membre qui devient actif : lignes explicites révocables."""
    defauts = habilitations.droits_par_defaut(membre)
    return Habilitation.objects.bulk_create(
        Habilitation(membre=membre, domaine=domaine, niveau=niveau, origine=OrigineHabilitation.PRESOMPTION)
        for domaine, niveau in defauts.items()
    )


def _inserer_membre(membre: Membre, usager: Usager) -> Membre:
    _verifier_membre(membre, usager)
    membre.full_clean(exclude=["cercle"], validate_constraints=False)
    try:
        with transaction.atomic():
            membre.save()
    except IntegrityError as exc:
        if "unique_ouvert" in str(exc):
            raise ValidationError(f"{membre.nom_affiche} fait déjà partie du cercle.") from exc
        raise
    if membre.statut == StatutMembre.ACTIF:
        _ecrire_defauts(membre)
    return membre


@transaction.atomic
def ajouter_membre(
    *,
    acteur: Acteur,
    usager: Usager,
    type: str,
    role: str = "",
    professionnel: Professionnel | None = None,
    exercice: Exercice | None = None,
    structure: Structure | None = None,
    proche: Proche | None = None,
    nom: str = "",
    prenoms: str = "",
    precision: str = "",
    telephone: str = "",
    origine: str = OrigineMembre.AJOUT,
    note_origine: str = "",
    date_entree: dt.date | None = None,
) -> Membre:
    """Ajoute une personne au cercle (écriture sur le cercle requise). Aucun droit n'est donné, sauf
    la présomption de l'équipe de soins pour les professionnels des structures qui accompagnent.
    `date_entree` : aujourd'hui par défaut ; une date passée (entrée déclarée par un logiciel),
    jamais future."""
    _exiger(acteur, usager, "ecrire", Domaine.CERCLE, "Vous ne pouvez pas ajouter de membre à ce cercle.")
    cercle = _cercle_ouvert(usager)
    if date_entree is not None and date_entree > timezone.localdate():
        raise ValidationError({"date_entree": "Date d'entrée : elle ne peut pas être dans le futur."})
    if exercice is not None and professionnel is None:
        professionnel = exercice.professionnel
    if not role:
        role = role_propose(
            type_membre=type,
            profession_code=(
                exercice.profession_code if exercice else getattr(professionnel, "profession_code", "")
            ),
            lien=proche.lien if proche else "",
        )
    membre = _inserer_membre(
        Membre(
            cercle=cercle,
            type=type,
            role=role,
            professionnel=professionnel,
            exercice=exercice,
            structure=structure,
            proche=proche,
            nom=nom.strip(),
            prenoms=prenoms.strip(),
            precision=precision.strip(),
            telephone=telephone.strip(),
            origine=origine,
            note_origine=note_origine,
            date_entree=date_entree or timezone.localdate(),
        ),
        usager,
    )
    _journaliser(
        acteur,
        "cercle.membre.ajout",
        usager=usager,
        objet=membre,
        cercle=cercle,
        details={"type": type, "role": role, "origine": origine},
    )
    lien = reverse("cercle:cercle", args=[usager.uuid])
    notifications.signaler(
        nature=N.MEMBRE_AJOUTE, usager=usager, objet=membre, lien=lien, au_cercle=True, auteur=acteur
    )
    return membre


def _exiger_gestion(acteur: Acteur, usager: Usager) -> None:
    _exiger(
        acteur,
        usager,
        "gerer",
        Domaine.CERCLE,
        "Seuls l'usager, son représentant légal ou le gestionnaire du cercle peuvent faire cela.",
    )


@transaction.atomic
def confirmer_proposition(*, acteur: Acteur, membre: Membre) -> Membre:
    """Un membre proposé (historique de remboursement) devient actif, à la date du jour."""
    usager = membre.cercle.usager
    _exiger_gestion(acteur, usager)
    membre = Membre.objects.select_for_update().get(pk=membre.pk)
    if membre.statut != StatutMembre.PROPOSE:
        raise ValidationError("Cette proposition a déjà été traitée.")
    membre.statut = StatutMembre.ACTIF
    membre.date_entree = timezone.localdate()
    membre.save(update_fields=["statut", "date_entree", "modifie_le"])
    _ecrire_defauts(membre)
    _journaliser(acteur, "cercle.membre.confirmation", usager=usager, objet=membre, cercle=membre.cercle)
    return membre


def _sortir(membre: Membre, motif: str, date_sortie: dt.date | None = None) -> None:
    """Fin de présence : statut sorti, date de sortie, tous les droits et délégations finis à l'instant."""
    maintenant = timezone.now()
    membre.statut = StatutMembre.INACTIF
    membre.date_sortie = max(date_sortie or timezone.localdate(), membre.date_entree)
    membre.motif_sortie = motif
    membre.save(update_fields=["statut", "date_sortie", "motif_sortie", "modifie_le"])
    membre.habilitations.filter(revoquee_le__isnull=True).update(
        revoquee_le=maintenant, modifie_le=maintenant
    )
    membre.delegations_donnees.filter(
        statut__in=[StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE]
    ).update(statut=StatutDelegation.TERMINEE, terminee_le=maintenant, modifie_le=maintenant)


@transaction.atomic
def ecarter_proposition(*, acteur: Acteur, membre: Membre) -> Membre:
    usager = membre.cercle.usager
    _exiger_gestion(acteur, usager)
    membre = Membre.objects.select_for_update().get(pk=membre.pk)
    if membre.statut != StatutMembre.PROPOSE:
        raise ValidationError("Cette proposition a déjà été traitée.")
    _sortir(membre, MotifSortie.PROPOSITION_ECARTEE)
    _journaliser(acteur, "cercle.membre.ecarte", usager=usager, objet=membre, cercle=membre.cercle)
    return membre


def _est_le_membre(acteur: Acteur, membre: Membre) -> bool:
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return (
            membre.type == TypeMembre.PROFESSIONNEL
            and membre.professionnel_id == acteur.exercice.professionnel_id
        )
    if acteur.type == TypeActeur.PROCHE:
        return membre.type == TypeMembre.PROCHE and membre.proche_id == acteur.proche.pk
    return False


@transaction.atomic
def retirer_membre(
    *,
    acteur: Acteur,
    membre: Membre,
    motif: str = MotifSortie.DEMANDE_USAGER,
    date_sortie: dt.date | None = None,
) -> Membre:
    """Sortie du cercle, décidée par l'usager, son représentant ou le gestionnaire, ou par le membre
    lui-même (départ). Tous ses droits et les délégations qu'il a données prennent fin à l'instant.
    `date_sortie` : aujourd'hui par défaut ; une date passée (sortie déclarée par un logiciel), ni
    future ni antérieure à l'entrée."""
    usager = membre.cercle.usager
    if _est_le_membre(acteur, membre):
        motif = MotifSortie.DEPART_MEMBRE
    else:
        _exiger_gestion(acteur, usager)
    if motif not in MotifSortie.values:
        raise ValidationError("Motif de sortie inconnu.")
    membre = Membre.objects.select_for_update().get(pk=membre.pk)
    if not membre.ouvert:
        raise ValidationError(f"{membre.nom_affiche} a déjà quitté le cercle.")
    if date_sortie is not None and date_sortie > timezone.localdate():
        raise ValidationError({"date_sortie": "Date de sortie : elle ne peut pas être dans le futur."})
    if date_sortie is not None and date_sortie < membre.date_entree:
        raise ValidationError(
            {"date_sortie": f"Date de sortie : elle précède l'entrée de {membre.nom_affiche} dans le cercle."}
        )
    _sortir(membre, motif, date_sortie)
    habilitations.oublier(acteur)
    _journaliser(
        acteur, "cercle.membre.sortie", usager=usager, objet=membre, details={"motif": motif},
        cercle=membre.cercle,
    )  # fmt: skip
    return membre


@transaction.atomic
def suspendre_membre(*, acteur: Acteur, membre: Membre, suspendre: bool = True) -> Membre:
    """Suspend (ou reprend) une présence : ses droits restent écrits mais ne valent rien pendant
    la suspension."""
    usager = membre.cercle.usager
    _exiger_gestion(acteur, usager)
    membre = Membre.objects.select_for_update().get(pk=membre.pk)
    attendu = StatutMembre.ACTIF if suspendre else StatutMembre.SUSPENDU
    if membre.statut != attendu:
        raise ValidationError("Ce membre n'est pas dans un état qui permet cette action.")
    membre.statut = StatutMembre.SUSPENDU if suspendre else StatutMembre.ACTIF
    membre.save(update_fields=["statut", "modifie_le"])
    habilitations.oublier(acteur)
    _journaliser(
        acteur,
        "cercle.membre.suspension" if suspendre else "cercle.membre.reprise",
        usager=usager,
        objet=membre,
        cercle=membre.cercle,
    )
    return membre


# --- Mise à jour d'ensemble (CareTeam reçue d'un logiciel) ------------------------------------------


@dataclass
class MembreVoulu:
    """Une présence demandée (un `participant` de CareTeam), déjà résolue en base. `membre` : pour
    une autre personne (sans fiche), sa présence existante. `date_sortie` : passée ou du jour."""

    type: str
    role: str
    date_entree: dt.date
    date_sortie: dt.date | None = None
    professionnel: Professionnel | None = None
    exercice: Exercice | None = None
    structure: Structure | None = None
    proche: Proche | None = None
    membre: Membre | None = None

    @property
    def cle(self) -> tuple:
        if self.type == TypeMembre.PROFESSIONNEL:
            return (self.type, self.professionnel.pk)
        if self.type == TypeMembre.STRUCTURE:
            return (self.type, self.structure.pk)
        if self.type == TypeMembre.PROCHE:
            return (self.type, self.proche.pk)
        return (self.type, self.membre.nom, self.membre.prenoms, self.membre.telephone)


def cle_membre(membre: Membre) -> tuple:
    if membre.type == TypeMembre.PROFESSIONNEL:
        return (membre.type, membre.professionnel_id)
    if membre.type == TypeMembre.STRUCTURE:
        return (membre.type, membre.structure_id)
    if membre.type == TypeMembre.PROCHE:
        return (membre.type, membre.proche_id)
    return (membre.type, membre.nom, membre.prenoms, membre.telephone)


@dataclass
class RapportMiseAJour:
    ajoutes: list[Membre] = field(default_factory=list)
    sortis: list[Membre] = field(default_factory=list)
    confirmes: list[Membre] = field(default_factory=list)
    ignores: list[MembreVoulu] = field(default_factory=list)  # périodes passées non reprises
    structure_changee: bool = False

    @property
    def change(self) -> bool:
        return bool(self.ajoutes or self.sortis or self.confirmes or self.structure_changee)


PAS_DE_CHANGEMENT = object()


def _ajouter_voulu(acteur: Acteur, usager: Usager, voulu: MembreVoulu) -> Membre:
    autre = voulu.membre
    return ajouter_membre(
        acteur=acteur,
        usager=usager,
        type=voulu.type,
        role=voulu.role,
        professionnel=voulu.professionnel,
        exercice=voulu.exercice,
        structure=voulu.structure,
        proche=voulu.proche,
        nom=autre.nom if autre else "",
        prenoms=autre.prenoms if autre else "",
        precision=autre.precision if autre else "",
        telephone=autre.telephone if autre else "",
        origine=OrigineMembre.LOGICIEL if acteur.type == TypeActeur.LOGICIEL else OrigineMembre.AJOUT,
        date_entree=voulu.date_entree,
    )


@transaction.atomic
def mettre_a_jour_cercle(
    *,
    acteur: Acteur,
    usager: Usager,
    voulus: list[MembreVoulu],
    structure_responsable=PAS_DE_CHANGEMENT,
    motif_sortie: str = MotifSortie.FIN_ACCOMPAGNEMENT,
    retirer_absents: bool = True,
) -> RapportMiseAJour:
    """Rend le cercle conforme à la liste des présences voulues (CareTeam reçue), par les services
    unitaires (journal de chaque ajout et sortie, droits présumés), en une seule nouvelle version.
    Gestion du cercle requise. Règles (docs/decisions/0011-careteam-cds.md) :
    - présence voulue ouverte : gardée si la personne est présente, confirmée si elle était
      proposée, sinon ajoutée à sa date d'entrée (passée ou du jour) ;
    - présence voulue close : termine à sa date la présence ouverte entrée le même jour ; déjà
      connue, rien ; sinon, si la personne n'est pas présente, la période est enregistrée (entrée
      puis sortie datées) ; une période passée d'une personne encore présente est ignorée (rapport) ;
    - présence ouverte que la liste ne nomme pas : sortie du jour, avec `motif_sortie` (sauf si
      `retirer_absents` est faux : déclaration de participants, POST d'une CareTeam).
    Les rôles des présences existantes ne changent pas ; les propositions non nommées restent."""
    _exiger_gestion(acteur, usager)
    cercle = _cercle_ouvert(usager)
    cercle = Cercle.objects.select_for_update().get(pk=cercle.pk)  # une mise à jour à la fois
    ouverts_voulus: dict[tuple, MembreVoulu] = {}
    for voulu in voulus:
        if voulu.date_sortie is None:
            if voulu.cle in ouverts_voulus:
                raise ValidationError(
                    "Une même personne ne peut avoir qu'une présence en cours dans le cercle."
                )
            ouverts_voulus[voulu.cle] = voulu
    existants = list(Membre.objects.filter(cercle=cercle).order_by("date_entree", "id"))
    ouverts = {cle_membre(m): m for m in existants if m.ouvert and m.statut != StatutMembre.PROPOSE}
    proposes = {cle_membre(m): m for m in existants if m.statut == StatutMembre.PROPOSE}
    fermes = {(cle_membre(m), m.date_entree) for m in existants if not m.ouvert}
    rapport = RapportMiseAJour()
    jeton = _LOT_EN_COURS.set(True)
    try:
        for voulu in sorted(voulus, key=lambda v: (v.date_sortie is None, v.date_entree)):
            cle = voulu.cle
            if voulu.date_sortie is not None:
                present = ouverts.get(cle)
                if present is not None and present.date_entree == voulu.date_entree:
                    rapport.sortis.append(
                        retirer_membre(acteur=acteur, membre=present, motif=motif_sortie,
                                       date_sortie=voulu.date_sortie)
                    )  # fmt: skip
                    del ouverts[cle]
                elif (cle, voulu.date_entree) in fermes:
                    continue
                elif present is None and cle not in proposes:
                    membre = _ajouter_voulu(acteur, usager, voulu)
                    rapport.sortis.append(
                        retirer_membre(acteur=acteur, membre=membre, motif=motif_sortie,
                                       date_sortie=voulu.date_sortie)
                    )  # fmt: skip
                else:
                    rapport.ignores.append(voulu)
            elif cle in ouverts:
                continue
            elif cle in proposes:
                rapport.confirmes.append(confirmer_proposition(acteur=acteur, membre=proposes[cle]))
            else:
                rapport.ajoutes.append(_ajouter_voulu(acteur, usager, voulu))
        for cle, membre in ouverts.items():
            if retirer_absents and cle not in ouverts_voulus:
                rapport.sortis.append(retirer_membre(acteur=acteur, membre=membre, motif=motif_sortie))
    finally:
        _LOT_EN_COURS.reset(jeton)
    if structure_responsable is not PAS_DE_CHANGEMENT:
        nouvelle = structure_responsable.pk if structure_responsable is not None else None
        if nouvelle != cercle.structure_responsable_id:
            Cercle.objects.filter(pk=cercle.pk).update(structure_responsable_id=nouvelle)
            rapport.structure_changee = True
    if rapport.change:
        _journaliser(
            acteur, "cercle.mise_a_jour", usager=usager, objet=cercle, cercle=cercle,
            details={"ajoutes": len(rapport.ajoutes), "sortis": len(rapport.sortis),
                     "confirmes": len(rapport.confirmes), "ignores": len(rapport.ignores),
                     "structure_responsable": rapport.structure_changee},
        )  # fmt: skip
    return rapport


# --- Droits -------------------------------------------------------------------------------------


def _exiger_droit_de_gerer(acteur: Acteur, usager: Usager, domaine: str, niveau: int) -> None:
    _exiger_gestion(acteur, usager)
    if (
        domaine == Domaine.CERCLE
        and niveau == Niveau.GESTION
        and not habilitations.est_titulaire(acteur, usager)
    ):
        raise AccesRefuse(
            "Seuls l'usager ou son représentant légal peuvent confier ou retirer la gestion du cercle."
        )


def texte_octroi(membre: Membre, domaine: str, niveau: int, date_fin: dt.date | None) -> str:
    return textes.texte_octroi(membre=str(membre), domaine=domaine, niveau=niveau, date_fin=date_fin)


@transaction.atomic
def accorder(
    *,
    acteur: Acteur,
    membre: Membre,
    domaine: str,
    niveau: int,
    date_fin: dt.date | None = None,
    texte_vu: str | None = None,
) -> Habilitation:
    """Accorde (ou change) le droit d'un membre actif sur un domaine, permanent ou jusqu'à une date
    incluse. Enregistre le consentement (texte exact) et remplace la ligne en vigueur."""
    usager = membre.cercle.usager
    if domaine not in Domaine.values:
        raise ValidationError({"domaine": "Domaine inconnu."})
    if niveau not in (Niveau.LECTURE, Niveau.ECRITURE, Niveau.GESTION):
        raise ValidationError(
            {
                "niveau": "Niveau : choisissez lecture, écriture ou gestion "
                "(pour retirer, utilisez « Retirer »)."
            }
        )
    _exiger_droit_de_gerer(acteur, usager, domaine, niveau)
    membre = Membre.objects.select_for_update().select_related("cercle").get(pk=membre.pk)
    if membre.statut != StatutMembre.ACTIF or membre.cercle.statut != StatutCercle.ACTIF:
        raise ValidationError(
            f"{membre.nom_affiche} n'est pas un membre actif du cercle : "
            "aucun droit ne peut lui être accordé."
        )
    if date_fin is not None and date_fin < timezone.localdate():
        raise ValidationError({"date_fin": "Date de fin : elle est déjà passée."})
    if membre.type == TypeMembre.AUTRE and niveau > Niveau.LECTURE:
        raise ValidationError(
            {"niveau": "Une personne sans compte sur le portail ne peut recevoir que la lecture."}
        )
    texte = texte_octroi(membre, domaine, niveau, date_fin)
    consentement = _consentement(
        acteur,
        usager,
        objet=textes.objet_octroi(domaine, niveau),
        texte=texte,
        texte_vu=texte_vu,
        details={
            "membre": str(membre.uuid),
            "domaine": domaine,
            "niveau": niveau,
            "date_fin": date_fin.isoformat() if date_fin else None,
        },
    )
    maintenant = timezone.now()
    membre.habilitations.filter(domaine=domaine, revoquee_le__isnull=True).update(
        revoquee_le=maintenant, revocation=consentement, modifie_le=maintenant
    )
    droit = Habilitation.objects.create(
        membre=membre,
        domaine=domaine,
        niveau=niveau,
        origine=OrigineHabilitation.ACCORD,
        date_fin=date_fin,
        consentement=consentement,
    )
    habilitations.oublier(acteur)
    _journaliser(
        acteur,
        "cercle.droit.octroi",
        usager=usager,
        objet=droit,
        cercle=membre.cercle,
        details={
            "membre": str(membre.uuid),
            "domaine": domaine,
            "niveau": niveau,
            "consentement": str(consentement.uuid),
        },
    )
    return droit


def texte_revocation(droit: Habilitation) -> str:
    return textes.texte_revocation(membre=str(droit.membre), domaine=droit.domaine, niveau=droit.niveau)


@transaction.atomic
def revoquer(*, acteur: Acteur, droit: Habilitation, texte_vu: str | None = None) -> Consentement:
    """Retire un droit en vigueur (y compris un droit présumé). Renvoie le consentement du retrait,
    dont la preuve peut être imprimée."""
    membre = droit.membre
    usager = membre.cercle.usager
    _exiger_droit_de_gerer(acteur, usager, droit.domaine, droit.niveau)
    droit = Habilitation.objects.select_for_update().get(pk=droit.pk)
    if droit.revoquee_le is not None:
        raise ValidationError("Ce droit a déjà été retiré.")
    texte = texte_revocation(droit)
    consentement = _consentement(
        acteur,
        usager,
        objet=textes.objet_retrait(droit.domaine, droit.niveau),
        texte=texte,
        texte_vu=texte_vu,
        details={
            "membre": str(membre.uuid),
            "domaine": droit.domaine,
            "niveau": droit.niveau,
            "habilitation": str(droit.uuid),
        },
    )
    droit.revoquee_le = timezone.now()
    droit.revocation = consentement
    droit.save(update_fields=["revoquee_le", "revocation", "modifie_le"])
    habilitations.oublier(acteur)
    _journaliser(
        acteur,
        "cercle.droit.retrait",
        usager=usager,
        objet=droit,
        cercle=membre.cercle,
        details={
            "membre": str(membre.uuid),
            "domaine": droit.domaine,
            "consentement": str(consentement.uuid),
        },
    )
    return consentement


# --- Délégations --------------------------------------------------------------------------------


def _presence_directe(acteur: Acteur, usager: Usager) -> Membre:
    if acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Seul un professionnel membre du cercle peut déléguer.")
    membre = (
        Membre.objects.filter(
            cercle__usager=usager,
            type=TypeMembre.PROFESSIONNEL,
            statut=StatutMembre.ACTIF,
            professionnel_id=acteur.exercice.professionnel_id,
        )
        .select_related("professionnel", "cercle")
        .first()
    )
    if membre is None:
        raise AccesRefuse("Vous n'êtes pas membre actif de ce cercle : vous ne pouvez rien déléguer.")
    return membre


def _niveau_detenu(membre: Membre, domaine: str) -> int:
    jour = timezone.localdate()
    droit = membre.habilitations.filter(habilitations._en_vigueur(jour), domaine=domaine).first()
    return droit.niveau if droit else Niveau.AUCUN


@transaction.atomic
def proposer_delegation(
    *, acteur: Acteur, usager: Usager, assistant: Exercice, domaine: str, niveau: int, date_fin: dt.date
) -> Delegation:
    """Un professionnel membre propose de déléguer à un assistant, jusqu'à une date, au plus ce qu'il
    détient lui-même. La délégation n'agit qu'après le consentement de l'usager (`consentir_delegation`)."""
    delegant = _presence_directe(acteur, usager)
    if domaine not in Domaine.values:
        raise ValidationError({"domaine": "Domaine inconnu."})
    if assistant.professionnel_id == delegant.professionnel_id:
        raise ValidationError({"assistant": "On ne se délègue pas à soi-même."})
    if date_fin < timezone.localdate():
        raise ValidationError({"date_fin": "Date de fin : elle est déjà passée."})
    detenu = _niveau_detenu(delegant, domaine)
    if niveau < Niveau.LECTURE or niveau > detenu:
        raise ValidationError(
            {"niveau": "Niveau : on ne peut déléguer que ce que l'on détient soi-même, jamais plus."}
        )
    delegation = Delegation.objects.create(
        delegant=delegant, delegataire=assistant, domaine=domaine, niveau=niveau, date_fin=date_fin
    )
    _journaliser(
        acteur,
        "cercle.delegation.proposition",
        usager=usager,
        objet=delegation,
        details={"assistant": str(assistant.uuid), "domaine": domaine, "niveau": niveau},
    )
    return delegation


def texte_delegation(delegation: Delegation) -> str:
    return textes.texte_delegation(
        delegant=delegation.delegant.nom_affiche,
        assistant=str(delegation.delegataire.professionnel),
        domaine=delegation.domaine,
        niveau=delegation.niveau,
        date_fin=delegation.date_fin,
    )


@transaction.atomic
def consentir_delegation(
    *, acteur: Acteur, delegation: Delegation, accepter: bool, texte_vu: str | None = None
) -> Delegation:
    """L'usager (ou son représentant légal) accepte ou refuse une délégation en attente."""
    usager = delegation.delegant.cercle.usager
    if not habilitations.est_titulaire(acteur, usager):
        raise AccesRefuse("Seuls l'usager ou son représentant légal peuvent consentir à une délégation.")
    delegation = (
        Delegation.objects.select_for_update().select_related("delegant__cercle").get(pk=delegation.pk)
    )
    if delegation.statut != StatutDelegation.EN_ATTENTE:
        raise ValidationError("Cette délégation a déjà été traitée.")
    if accepter:
        delegation.consentement = _consentement(
            acteur,
            usager,
            objet="delegation",
            texte=texte_delegation(delegation),
            texte_vu=texte_vu,
            details={"delegation": str(delegation.uuid)},
        )
        delegation.statut = StatutDelegation.ACTIVE
    else:
        delegation.statut = StatutDelegation.REFUSEE
    delegation.save(update_fields=["statut", "consentement", "modifie_le"])
    _journaliser(
        acteur,
        "cercle.delegation.accord" if accepter else "cercle.delegation.refus",
        usager=usager,
        objet=delegation,
    )
    return delegation


def _partie_a_la_delegation(acteur: Acteur, delegation: Delegation) -> bool:
    """Le délégant, ou l'assistant (qui peut renoncer à l'aide qu'il apporte)."""
    if _est_le_membre(acteur, delegation.delegant):
        return True
    return (
        acteur.type == TypeActeur.PROFESSIONNEL
        and delegation.delegataire.professionnel_id == acteur.exercice.professionnel_id
    )


def exiger_fin_delegation(acteur: Acteur, delegation: Delegation) -> None:
    """Qui peut mettre fin à une délégation : le délégant, l'assistant, sinon qui gère le cercle
    (l'usager, son représentant, le gestionnaire). Lève `AccesRefuse` sinon."""
    if not _partie_a_la_delegation(acteur, delegation):
        _exiger_gestion(acteur, delegation.delegant.cercle.usager)


@transaction.atomic
def terminer_delegation(*, acteur: Acteur, delegation: Delegation) -> Delegation:
    """Fin d'une délégation avant sa date, par le délégant, l'assistant, l'usager, son représentant
    ou le gestionnaire du cercle. Le consentement n'est écrit que pour ces trois derniers : le
    délégant et l'assistant ne décident que de leur propre engagement."""
    usager = delegation.delegant.cercle.usager
    exiger_fin_delegation(acteur, delegation)
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if delegation.statut not in (StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE):
        raise ValidationError("Cette délégation est déjà terminée.")
    if delegation.statut == StatutDelegation.ACTIVE and not _partie_a_la_delegation(acteur, delegation):
        _consentement(
            acteur,
            usager,
            objet="fin_delegation",
            texte_vu=None,
            texte=textes.texte_fin_delegation(
                delegant=delegation.delegant.nom_affiche,
                assistant=str(delegation.delegataire.professionnel),
                domaine=delegation.domaine,
            ),
            details={"delegation": str(delegation.uuid)},
        )
    delegation.statut = StatutDelegation.TERMINEE
    delegation.terminee_le = timezone.now()
    delegation.save(update_fields=["statut", "terminee_le", "modifie_le"])
    habilitations.oublier(acteur)
    _journaliser(acteur, "cercle.delegation.fin", usager=usager, objet=delegation)
    return delegation


# --- Demandes d'adhésion ---------------------------------------------------------------------------

DUREE_DEMANDE_JOURS = 30
DEMANDES_PAR_JOUR = 20


@transaction.atomic
def demander_adhesion(
    *,
    acteur: Acteur,
    nom_naissance: str = "",
    prenom: str = "",
    date_naissance: dt.date | None = None,
    matricule_ins: str = "",
    role: str = "",
    message: str = "",
) -> DemandeAdhesion:
    """Un professionnel demande à entrer dans le cercle d'un usager désigné par son matricule INS ou
    par ses traits exacts. La réponse est la même que l'usager existe ou non (pas d'énumération) ;
    au plus DEMANDES_PAR_JOUR demandes par jour et par situation d'exercice."""
    from coordination.personnes.models import normaliser_trait

    if acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Seul un professionnel peut demander à entrer dans un cercle.")
    matricule = "".join(matricule_ins.split()).upper()
    if not matricule and not (nom_naissance.strip() and prenom.strip() and date_naissance):
        raise ValidationError(
            "Indiquez le matricule INS, ou le nom de naissance, le premier prénom et la date de naissance."
        )
    role = role or role_propose(type_membre="professionnel", profession_code=acteur.exercice.profession_code)
    if "professionnel" not in FICHES[role].types:
        raise ValidationError({"role": "Rôle : choisissez un rôle de professionnel."})
    debut_du_jour = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    if (
        DemandeAdhesion.objects.filter(exercice=acteur.exercice, cree_le__gte=debut_du_jour).count()
        >= DEMANDES_PAR_JOUR
    ):
        raise ValidationError(
            f"Vous avez déjà fait {DEMANDES_PAR_JOUR} demandes aujourd'hui : réessayez demain."
        )
    if matricule:
        candidats = Usager.objects.filter(matricule_ins=matricule)
        designation = f"INS {matricule[:1]}…{matricule[-2:]}"
    else:
        candidats = Usager.objects.filter(
            nom_naissance_normalise=normaliser_trait(nom_naissance),
            premier_prenom_normalise=normaliser_trait(prenom.split(" ")[0]),
            date_naissance=date_naissance,
        )
        designation = f"{nom_naissance.strip().upper()} {prenom.strip()}, né(e) le {date_naissance:%d/%m/%Y}"
    trouves = list(candidats.select_related("cercle")[:2])
    cercle = None
    if len(trouves) == 1:
        cercle = creer_cercle(usager=trouves[0])
    deja = cercle is not None and (
        DemandeAdhesion.objects.filter(
            exercice=acteur.exercice, cercle=cercle, statut=StatutDemande.EN_ATTENTE
        ).exists()
    )
    if deja:
        raise ValidationError("Vous avez déjà une demande en attente pour cette personne.")
    demande = DemandeAdhesion.objects.create(
        exercice=acteur.exercice,
        cercle=cercle,
        designation=designation,
        role=role,
        message=message.strip()[:1000],
        expire_le=timezone.localdate() + dt.timedelta(days=DUREE_DEMANDE_JOURS),
    )
    journaliser(
        acteur=acteur,
        action="cercle.adhesion.demande",
        objet=demande,
        usager=cercle.usager if cercle else None,
        details={"usager_trouve": cercle is not None},
    )
    if cercle is not None:
        lien = reverse("cercle:cercle", args=[cercle.usager.uuid])
        usager = cercle.usager
        notifications.signaler(
            nature=N.DEMANDE_ADHESION, usager=usager, objet=demande, lien=lien, au_cercle=True, auteur=acteur
        )
    return demande


@transaction.atomic
def decider_adhesion(
    *, acteur: Acteur, demande: DemandeAdhesion, accepter: bool, motif: str = ""
) -> DemandeAdhesion:
    """L'usager, son représentant ou le gestionnaire accepte (le professionnel entre, sans autre droit
    que la présomption de l'équipe de soins s'il y a lieu) ou refuse, avec un motif facultatif."""
    if demande.cercle_id is None:
        raise AccesRefuse("Demande introuvable.")
    usager = demande.cercle.usager
    _exiger_gestion(acteur, usager)
    demande = (
        DemandeAdhesion.objects.select_for_update(of=("self",))  # cercle facultatif : jointure externe
        .select_related("exercice__professionnel", "cercle")
        .get(pk=demande.pk)
    )
    if demande.statut != StatutDemande.EN_ATTENTE:
        raise ValidationError("Cette demande a déjà été traitée.")
    if accepter:
        exercice = demande.exercice
        demande.membre = _inserer_membre(
            Membre(
                cercle=demande.cercle,
                type=TypeMembre.PROFESSIONNEL,
                role=demande.role,
                professionnel=exercice.professionnel,
                exercice=exercice,
                origine=OrigineMembre.DEMANDE,
            ),
            usager,
        )
    demande.statut = StatutDemande.ACCEPTEE if accepter else StatutDemande.REFUSEE
    demande.decidee_le = timezone.now()
    demande.decidee_par = acteur.nom
    demande.motif = motif.strip()[:500]
    demande.save(update_fields=["statut", "decidee_le", "decidee_par", "motif", "membre", "modifie_le"])
    _journaliser(
        acteur,
        "cercle.adhesion.acceptee" if accepter else "cercle.adhesion.refusee",
        usager=usager,
        objet=demande,
        cercle=demande.cercle if accepter else None,
    )
    return demande


@transaction.atomic
def retirer_demande(*, acteur: Acteur, demande: DemandeAdhesion) -> DemandeAdhesion:
    if (
        acteur.type != TypeActeur.PROFESSIONNEL
        or demande.exercice.professionnel_id != acteur.exercice.professionnel_id
    ):
        raise AccesRefuse("Seul le demandeur peut retirer sa demande.")
    demande = DemandeAdhesion.objects.select_for_update().get(pk=demande.pk)
    if demande.statut != StatutDemande.EN_ATTENTE:
        raise ValidationError("Cette demande a déjà été traitée.")
    demande.statut = StatutDemande.RETIREE
    demande.save(update_fields=["statut", "modifie_le"])
    journaliser(acteur=acteur, action="cercle.adhesion.retrait", objet=demande)
    return demande


def expirer_demandes() -> int:
    """Tâche périodique : les demandes restées sans réponse après DUREE_DEMANDE_JOURS jours expirent."""
    return DemandeAdhesion.objects.filter(
        statut=StatutDemande.EN_ATTENTE, expire_le__lt=timezone.localdate()
    ).update(statut=StatutDemande.EXPIREE, modifie_le=timezone.now())


# --- Historique de remboursement --------------------------------------------------------------------


@dataclass
class RapportHistorique:
    proposes: list[Membre] = field(default_factory=list)
    deja_membres: list[str] = field(default_factory=list)  # noms
    ecartes_avant: list[str] = field(default_factory=list)  # proposition déjà écartée, pas revus depuis
    inconnus: list[str] = field(default_factory=list)  # RPPS absents de l'annuaire
    erreurs: list[tuple[str, str]] = field(default_factory=list)
    lignes: int = 0

    @property
    def resume(self) -> str:
        morceaux = [f"{len(self.proposes)} professionnel(s) proposé(s)"]
        if self.deja_membres:
            morceaux.append(f"{len(self.deja_membres)} déjà dans le cercle")
        if self.ecartes_avant:
            morceaux.append(f"{len(self.ecartes_avant)} déjà écarté(s) auparavant")
        if self.inconnus:
            morceaux.append(f"{len(self.inconnus)} RPPS introuvable(s) dans l'annuaire")
        if self.erreurs:
            morceaux.append(f"{len(self.erreurs)} ligne(s) ignorée(s)")
        return f"{self.lignes} ligne(s) lue(s) : " + ", ".join(morceaux) + "."


@transaction.atomic
def importer_historique(
    *, acteur: Acteur, usager: Usager, contenu: bytes, nom_fichier: str = ""
) -> RapportHistorique:
    """Propose au cercle les professionnels de l'historique de remboursement (statut « proposé », sans
    aucun droit) ; l'usager ou le gestionnaire confirme ou écarte chacun. Un professionnel déjà
    présent n'est pas reproposé ; un professionnel déjà écarté ne l'est que s'il a été revu depuis.
    Lève `historique.HistoriqueIllisible` si le fichier entier est inutilisable."""
    from cercle.historique import lire

    _exiger_gestion(acteur, usager)
    cercle = _cercle_ouvert(usager)
    lecture = lire(contenu, nom_fichier)
    rapport = RapportHistorique(erreurs=lecture.erreurs, lignes=lecture.lignes)
    idnats = {"8" + rpps: vu for rpps, vu in lecture.vus.items()}
    professionnels = {p.idnat_ps: p for p in Professionnel.objects.filter(idnat_ps__in=idnats)}
    presents = set(
        Membre.objects.filter(
            cercle=cercle, type=TypeMembre.PROFESSIONNEL, date_sortie__isnull=True
        ).values_list("professionnel_id", flat=True)
    )
    ecartes = dict(
        Membre.objects.filter(cercle=cercle, motif_sortie=MotifSortie.PROPOSITION_ECARTEE)
        .order_by("professionnel_id", "date_sortie")
        .values_list("professionnel_id", "date_sortie")
    )
    for idnat, vu in sorted(idnats.items()):
        professionnel = professionnels.get(idnat)
        if professionnel is None:
            rapport.inconnus.append(vu.rpps)
        elif professionnel.pk in presents:
            rapport.deja_membres.append(str(professionnel))
        elif professionnel.pk in ecartes and vu.derniere <= ecartes[professionnel.pk]:
            rapport.ecartes_avant.append(str(professionnel))
        else:
            membre = _inserer_membre(
                Membre(
                    cercle=cercle, type=TypeMembre.PROFESSIONNEL, professionnel=professionnel,
                    role=role_propose(type_membre=TypeMembre.PROFESSIONNEL,
                                      profession_code=professionnel.profession_code),
                    statut=StatutMembre.PROPOSE, origine=OrigineMembre.HISTORIQUE, note_origine=vu.resume,
                ),
                usager,
            )  # fmt: skip
            rapport.proposes.append(membre)
    _journaliser(
        acteur, "cercle.historique.import", usager=usager, objet=cercle,
        cercle=cercle if rapport.proposes else None,
        details={"fichier": nom_fichier[:200], "lignes": rapport.lignes, "proposes": len(rapport.proposes),
                 "inconnus": len(rapport.inconnus), "erreurs": len(rapport.erreurs)},
    )  # fmt: skip
    return rapport
