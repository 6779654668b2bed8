"""Écritures du projet personnalisé, toujours à partir de l'acteur (ADR 0028) : droits par
`cercle/habilitations.py` (domaine `ppa`), chaque écriture journalisée, contenu figé hors brouillon
(la base le garantit aussi). Construire : `ppa` en écriture (professionnels du cercle, la personne,
un aidant à qui elle l'a confié). Accord de la personne : elle-même ou son représentant légal.
Accord de la structure : le référent du projet ou la direction de la structure
(`Exercice.signe_les_projets`), avec `ppa` en écriture."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur
from coordination.journal.services import journaliser
from coordination.notifications import services as notifications
from coordination.notifications.catalogue import NatureNotification as N
from ppa import agenda as ppa_agenda
from ppa import depot_dmp
from ppa.models import (
    AccordPPA,
    Action,
    AvisUsager,
    Besoin,
    CommentairePPA,
    Objectif,
    PartieAccord,
    PartieProjet,
    ProjetPersonnalise,
    StatutVersion,
    TypeProjet,
    VersionPPA,
)

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Exercice, Structure, Usager

DOMAINE = Domaine.PPA


def _exiger_ecriture(acteur: Acteur | None, usager: Usager) -> None:
    if acteur is None or not habilitations.peut(acteur, usager, "ecrire", DOMAINE):
        raise AccesRefuse("Vous ne pouvez pas écrire dans le projet personnalisé de cette personne.")


def _journaliser(acteur: Acteur, action: str, objet, usager: Usager, details: dict | None = None) -> None:
    au_nom_de = str(usager) if habilitations.agit_pour_l_usager(acteur, usager) else ""
    journaliser(
        acteur=acteur, action=action, objet=objet, usager=usager, au_nom_de=au_nom_de, details=details
    )


def _toucher(version: VersionPPA, partie: str, revision_lue: int | None) -> None:
    """Contrôle de concurrence optimiste par partie (la version est verrouillée par l'appelant) :
    si `revision_lue` est donnée et que la partie a changé depuis, refus sans rien écrire (la page
    garde ce que la personne avait saisi) ; sinon la révision de la partie avance."""
    courante = version.revisions.get(partie, 0)
    if revision_lue is not None and revision_lue != courante:
        raise ConflitDePartie(partie)
    version.revisions = {**version.revisions, partie: courante + 1}
    version.save(update_fields=["revisions", "modifie_le"])


class ConflitDePartie(ValidationError):
    """Une partie du brouillon a été modifiée par quelqu'un d'autre depuis qu'on l'a lue."""

    def __init__(self, partie: str):
        self.partie = partie
        super().__init__(
            f"Quelqu'un a modifié la partie « {PartieProjet(partie).label} » pendant que vous écriviez. "
            "Votre texte n'est pas perdu : relisez la nouvelle version, puis enregistrez à nouveau."
        )


def _brouillon(version: VersionPPA) -> None:
    if version.statut != StatutVersion.BROUILLON:
        raise ValidationError(
            "Cette version n'est plus un brouillon : elle est soumise aux accords ou validée. "
            "Pour la changer, créez un avenant."
        )


# --- Projet et brouillon --------------------------------------------------------------------------


@transaction.atomic
def creer_projet(
    *, acteur: Acteur, usager: Usager, structure: Structure, titre: str, type: str = TypeProjet.PPA
) -> ProjetPersonnalise:
    """Ouvre le projet personnalisé de `usager` dans `structure`, avec sa première version en
    brouillon."""
    _exiger_ecriture(acteur, usager)
    titre = (titre or "").strip()
    if not titre:
        raise ValidationError({"titre": ["Donnez un titre au projet."]})
    if ProjetPersonnalise.objects.filter(usager=usager, structure=structure, type=type).exists():
        raise ValidationError("Cette personne a déjà un projet de ce type dans cette structure.")
    exercice = acteur.exercice if acteur.type == TypeActeur.PROFESSIONNEL else None
    projet = ProjetPersonnalise.objects.create(
        usager=usager, structure=structure, type=type, titre=titre[:200], cree_par=acteur.cle,
        referent=exercice if exercice is not None and exercice.structure_id == structure.pk else None,
    )  # fmt: skip
    version = VersionPPA.objects.create(projet=projet, numero=1)
    _journaliser(acteur, "ppa.projet.creation", version, usager, {"type": type})
    return projet


def signataire_de_la_structure(acteur: Acteur | None, projet: ProjetPersonnalise) -> bool:
    """Vrai pour le référent du projet et pour un professionnel de la structure qui signe ses
    projets (direction ou délégation : `Exercice.signe_les_projets`)."""
    exercice = acteur.exercice if acteur is not None and acteur.type == TypeActeur.PROFESSIONNEL else None
    return (
        exercice is not None
        and exercice.structure_id == projet.structure_id
        and (exercice.pk == projet.referent_id or exercice.signe_les_projets)
    )


@transaction.atomic
def designer_referent(
    *, acteur: Acteur, projet: ProjetPersonnalise, exercice: Exercice
) -> ProjetPersonnalise:
    """Désigne le référent du projet, un professionnel qui exerce aujourd'hui dans la structure ; par
    le référent en place ou par la direction de la structure (qui ont aussi `ppa` en écriture)."""
    projet = ProjetPersonnalise.objects.select_for_update().select_related("usager").get(pk=projet.pk)
    if not signataire_de_la_structure(acteur, projet):
        raise AccesRefuse(
            "Le référent est désigné par le référent en place ou par la direction de la structure."
        )
    _exiger_ecriture(acteur, projet.usager)
    jour = timezone.localdate()
    if exercice.structure_id != projet.structure_id or not (
        (exercice.date_debut is None or exercice.date_debut <= jour)
        and (exercice.date_fin is None or exercice.date_fin >= jour)
    ):
        raise ValidationError(
            {"referent": ["Le référent doit exercer aujourd'hui dans la structure du projet."]}
        )
    projet.referent = exercice
    projet.save(update_fields=["referent", "modifie_le"])
    _journaliser(acteur, "ppa.projet.referent", projet, projet.usager, {"referent": str(exercice.uuid)})
    return projet


def _verrouiller(version: VersionPPA) -> VersionPPA:
    """La version relue sous verrou (deux contributions simultanées ne se croisent pas)."""
    return VersionPPA.objects.select_for_update().select_related("projet__usager").get(pk=version.pk)


def _brouillon_a_ecrire(acteur: Acteur, version: VersionPPA) -> tuple[VersionPPA, Usager]:
    """L'ouverture de toute écriture dans un brouillon : la version relue sous verrou, le droit
    d'écrire (`ppa`), puis l'état brouillon ; rend (version verrouillée, usager)."""
    version = _verrouiller(version)
    usager = version.projet.usager
    _exiger_ecriture(acteur, usager)
    _brouillon(version)
    return version, usager


@transaction.atomic
def ecrire_paroles(
    *,
    acteur: Acteur,
    version: VersionPPA,
    attentes: str | None = None,
    projet_de_vie: str | None = None,
    revision_lue: int | None = None,
) -> VersionPPA:
    """Les attentes et le projet de vie de la personne, dans ses mots (elle, son aidant ou un
    professionnel qui les recueille)."""
    version, usager = _brouillon_a_ecrire(acteur, version)
    _toucher(version, PartieProjet.PAROLES, revision_lue)
    if attentes is not None:
        version.attentes = attentes.strip()
    if projet_de_vie is not None:
        version.projet_de_vie = projet_de_vie.strip()
    version.save(update_fields=["attentes", "projet_de_vie", "modifie_le"])
    _journaliser(acteur, "ppa.version.paroles", version, usager)
    return version


def _ordre_suivant(lignes) -> int:
    dernier = lignes.order_by("-ordre").values_list("ordre", flat=True).first()
    return 0 if dernier is None else dernier + 1


@transaction.atomic
def ajouter_besoin(
    *,
    acteur: Acteur,
    version: VersionPPA,
    libelle: str,
    code_serafin: str = "",
    precision: str = "",
    revision_lue: int | None = None,
) -> Besoin:
    version, usager = _brouillon_a_ecrire(acteur, version)
    if not (libelle or "").strip():
        raise ValidationError({"libelle": ["Décrivez le besoin."]})
    _toucher(version, PartieProjet.BESOINS, revision_lue)
    besoin = Besoin(
        version=version, libelle=libelle.strip()[:300], code_serafin=code_serafin.strip(),
        precision=precision.strip(), ordre=_ordre_suivant(version.besoins), ajoute_par=acteur.nom[:200],
    )  # fmt: skip
    besoin.full_clean()
    besoin.save()
    _journaliser(acteur, "ppa.besoin.ajout", version, usager, {"besoin": str(besoin.uuid)})
    return besoin


@transaction.atomic
def ajouter_objectif(
    *,
    acteur: Acteur,
    version: VersionPPA,
    titre: str,
    resultat_attendu: str = "",
    strategie: str = "",
    besoins: list[Besoin] = (),
    date_cible=None,
    revision_lue: int | None = None,
) -> Objectif:
    version, usager = _brouillon_a_ecrire(acteur, version)
    if not (titre or "").strip():
        raise ValidationError({"titre": ["Donnez un titre à l'objectif."]})
    if any(b.version_id != version.pk for b in besoins):
        raise ValidationError({"besoins": ["Un besoin choisi n'appartient pas à cette version du projet."]})
    _toucher(version, PartieProjet.OBJECTIFS, revision_lue)
    objectif = Objectif.objects.create(
        version=version, titre=titre.strip()[:300], resultat_attendu=resultat_attendu.strip(),
        strategie=strategie.strip(), date_cible=date_cible, ordre=_ordre_suivant(version.objectifs),
        ajoute_par=acteur.nom[:200],
    )  # fmt: skip
    objectif.besoins.set(besoins)
    _journaliser(acteur, "ppa.objectif.ajout", version, usager, {"objectif": str(objectif.uuid)})
    return objectif


@transaction.atomic
def donner_avis(
    *, acteur: Acteur, objectif: Objectif, avis: str, commentaire: str = "", revision_lue: int | None = None
) -> Objectif:
    """L'avis de la personne sur un objectif (d'accord, pas d'accord), dit par elle, son représentant
    légal ou un aidant qui écrit dans le projet."""
    version = _verrouiller(objectif.version)
    usager = version.projet.usager
    _exiger_ecriture(acteur, usager)
    if acteur.type not in (TypeActeur.USAGER, TypeActeur.PROCHE):
        raise AccesRefuse("L'avis sur un objectif est celui de la personne ou de son entourage.")
    _brouillon(version)
    if avis not in AvisUsager.values:
        raise ValidationError({"avis": ["Avis inconnu."]})
    _toucher(version, PartieProjet.OBJECTIFS, revision_lue)
    objectif.avis_usager, objectif.commentaire_usager = avis, commentaire.strip()
    objectif.save(update_fields=["avis_usager", "commentaire_usager", "modifie_le"])
    _journaliser(acteur, "ppa.objectif.avis", version, usager, {"objectif": str(objectif.uuid), "avis": avis})
    return objectif


@transaction.atomic
def ajouter_action(
    *,
    acteur: Acteur,
    objectif: Objectif,
    quoi: str,
    intervenant=None,
    intervenant_libelle: str = "",
    ou: str = "",
    frequence: str = "",
    duree_minutes: int | None = None,
    code_prestation: str = "",
    revision_lue: int | None = None,
) -> Action:
    """Une modalité d'accompagnement d'un objectif ; `intervenant` : un membre actif du cercle."""
    version, usager = _brouillon_a_ecrire(acteur, objectif.version)
    if not (quoi or "").strip():
        raise ValidationError({"quoi": ["Décrivez l'action."]})
    if intervenant is not None and (intervenant.cercle.usager_id != usager.pk or not intervenant.actif):
        raise ValidationError(
            {"intervenant": ["Cette personne ne fait pas partie du cercle de la personne."]}
        )
    _toucher(version, PartieProjet.ACTIONS, revision_lue)
    action = Action.objects.create(
        version=version, objectif=objectif, quoi=quoi.strip()[:300], intervenant=intervenant,
        intervenant_libelle=intervenant_libelle.strip()[:200], ou=ou.strip()[:300],
        frequence=frequence.strip(), duree_minutes=duree_minutes, code_prestation=code_prestation.strip(),
        ordre=_ordre_suivant(version.actions), ajoute_par=acteur.nom[:200],
    )  # fmt: skip
    _journaliser(acteur, "ppa.action.ajout", version, usager, {"action": str(action.uuid)})
    return action


# --- Modifier et retirer un élément du brouillon -----------------------------------------------
# Mêmes droits que pour ajouter, seulement en brouillon, révision de la partie contrôlée
# (`_toucher`) ; `origine` ne change pas (l'élément reste le même d'une version à ses avenants).


def _element_frais(modele, element, version: VersionPPA, quoi: str):
    """L'élément relu dans la version verrouillée ; refus clair s'il a été retiré entre-temps."""
    frais = modele.objects.filter(pk=element.pk, version=version).first()
    if frais is None:
        raise ValidationError(f"{quoi} n'est plus dans le projet : quelqu'un l'a retiré entre-temps.")
    return frais


def _requis(valeur: str, champ: str, message: str) -> str:
    valeur = (valeur or "").strip()
    if not valeur:
        raise ValidationError({champ: [message]})
    return valeur


@transaction.atomic
def modifier_besoin(
    *,
    acteur: Acteur,
    besoin: Besoin,
    libelle: str,
    code_serafin: str = "",
    precision: str = "",
    revision_lue: int | None = None,
) -> Besoin:
    """Corrige un besoin du brouillon (libellé, code SERAFIN-PH, précisions)."""
    version, usager = _brouillon_a_ecrire(acteur, besoin.version)
    libelle = _requis(libelle, "libelle", "Décrivez le besoin.")
    besoin = _element_frais(Besoin, besoin, version, "Ce besoin")
    _toucher(version, PartieProjet.BESOINS, revision_lue)
    besoin.libelle, besoin.code_serafin = libelle[:300], (code_serafin or "").strip()
    besoin.precision = (precision or "").strip()
    besoin.full_clean()
    besoin.save(update_fields=["libelle", "code_serafin", "precision", "modifie_le"])
    _journaliser(acteur, "ppa.besoin.modification", version, usager, {"besoin": str(besoin.uuid)})
    return besoin


@transaction.atomic
def retirer_besoin(*, acteur: Acteur, besoin: Besoin, revision_lue: int | None = None) -> None:
    """Retire un besoin du brouillon ; les objectifs qui le visaient restent (sans ce lien)."""
    version, usager = _brouillon_a_ecrire(acteur, besoin.version)
    besoin = _element_frais(Besoin, besoin, version, "Ce besoin")
    _toucher(version, PartieProjet.BESOINS, revision_lue)
    details = {"besoin": str(besoin.uuid), "libelle": besoin.libelle}
    besoin.delete()
    _journaliser(acteur, "ppa.besoin.retrait", version, usager, details)


@transaction.atomic
def modifier_objectif(
    *,
    acteur: Acteur,
    objectif: Objectif,
    titre: str,
    resultat_attendu: str = "",
    strategie: str = "",
    besoins: list[Besoin] = (),
    date_cible=None,
    revision_lue: int | None = None,
) -> Objectif:
    """Corrige un objectif du brouillon ; l'avis et les mots de la personne restent (elle peut les
    redonner) : ils ne sont pas à la main de qui reformule l'objectif."""
    version, usager = _brouillon_a_ecrire(acteur, objectif.version)
    titre = _requis(titre, "titre", "Donnez un titre à l'objectif.")
    if any(b.version_id != version.pk for b in besoins):
        raise ValidationError({"besoins": ["Un besoin choisi n'appartient pas à cette version du projet."]})
    objectif = _element_frais(Objectif, objectif, version, "Cet objectif")
    _toucher(version, PartieProjet.OBJECTIFS, revision_lue)
    objectif.titre, objectif.date_cible = titre[:300], date_cible
    objectif.resultat_attendu = (resultat_attendu or "").strip()
    objectif.strategie = (strategie or "").strip()
    objectif.save(update_fields=["titre", "resultat_attendu", "strategie", "date_cible", "modifie_le"])
    objectif.besoins.set(besoins)
    _journaliser(acteur, "ppa.objectif.modification", version, usager, {"objectif": str(objectif.uuid)})
    return objectif


@transaction.atomic
def retirer_objectif(*, acteur: Acteur, objectif: Objectif, revision_lue: int | None = None) -> None:
    """Retire un objectif du brouillon. Choix : refusé tant qu'il a des actions — les retirer avec
    lui effacerait sans qu'on le voie ce qui était prévu (qui, quand) ; on retire d'abord les
    actions, une à une, en connaissance de cause."""
    version, usager = _brouillon_a_ecrire(acteur, objectif.version)
    objectif = _element_frais(Objectif, objectif, version, "Cet objectif")
    nombre = objectif.actions.count()
    if nombre:
        raise ValidationError(
            f"Cet objectif a encore {nombre} action{'s' if nombre > 1 else ''} : retirez-les d'abord, "
            "puis retirez l'objectif."
        )
    _toucher(version, PartieProjet.OBJECTIFS, revision_lue)
    details = {"objectif": str(objectif.uuid), "titre": objectif.titre}
    objectif.delete()
    _journaliser(acteur, "ppa.objectif.retrait", version, usager, details)


@transaction.atomic
def modifier_action(
    *,
    acteur: Acteur,
    action: Action,
    quoi: str,
    intervenant=None,
    intervenant_libelle: str = "",
    ou: str = "",
    frequence: str = "",
    duree_minutes: int | None = None,
    code_prestation: str = "",
    revision_lue: int | None = None,
) -> Action:
    """Corrige une action du brouillon (son objectif ne change pas) ; `intervenant` : un membre
    actif du cercle."""
    version, usager = _brouillon_a_ecrire(acteur, action.version)
    quoi = _requis(quoi, "quoi", "Décrivez l'action.")
    if intervenant is not None and (intervenant.cercle.usager_id != usager.pk or not intervenant.actif):
        raise ValidationError(
            {"intervenant": ["Cette personne ne fait pas partie du cercle de la personne."]}
        )
    action = _element_frais(Action, action, version, "Cette action")
    _toucher(version, PartieProjet.ACTIONS, revision_lue)
    action.quoi, action.intervenant = quoi[:300], intervenant
    action.intervenant_libelle = (intervenant_libelle or "").strip()[:200]
    action.ou, action.frequence = (ou or "").strip()[:300], (frequence or "").strip()
    action.duree_minutes, action.code_prestation = duree_minutes, (code_prestation or "").strip()
    action.save(
        update_fields=[
            "quoi", "intervenant", "intervenant_libelle", "ou", "frequence", "duree_minutes",
            "code_prestation", "modifie_le",
        ]
    )  # fmt: skip
    _journaliser(acteur, "ppa.action.modification", version, usager, {"action": str(action.uuid)})
    return action


@transaction.atomic
def retirer_action(*, acteur: Acteur, action: Action, revision_lue: int | None = None) -> None:
    """Retire une action du brouillon."""
    version, usager = _brouillon_a_ecrire(acteur, action.version)
    action = _element_frais(Action, action, version, "Cette action")
    _toucher(version, PartieProjet.ACTIONS, revision_lue)
    details = {"action": str(action.uuid), "quoi": action.quoi}
    action.delete()
    _journaliser(acteur, "ppa.action.retrait", version, usager, details)


@transaction.atomic
def commenter(*, acteur: Acteur, version: VersionPPA, partie: str, texte: str) -> CommentairePPA:
    """Un message dans le fil d'une partie, tant que la version se discute (brouillon ou en
    attente des accords) ; par qui écrit dans le projet."""
    usager = version.projet.usager
    _exiger_ecriture(acteur, usager)
    if version.statut not in (StatutVersion.BROUILLON, StatutVersion.EN_VALIDATION):
        raise ValidationError("Cette version est validée : la discussion se poursuit sur un avenant.")
    if partie not in PartieProjet.values:
        raise ValidationError({"partie": ["Partie du projet inconnue."]})
    if not (texte or "").strip():
        raise ValidationError({"texte": ["Écrivez votre message."]})
    commentaire = CommentairePPA.objects.create(
        version=version, partie=partie, texte=texte.strip()[:5000], auteur=acteur.cle,
        auteur_nom=acteur.nom[:200], auteur_qualite=(acteur.qualite or "")[:120],
    )  # fmt: skip
    _journaliser(acteur, "ppa.commentaire.ajout", version, usager, {"partie": partie})
    lien = reverse("ppa:atelier", args=[version.uuid])
    notifications.signaler(
        nature=N.PPA_CONTRIBUTION, usager=usager, objet=commentaire, lien=lien, au_cercle=True, auteur=acteur
    )
    return commentaire


# --- Empreinte, soumission, accords ----------------------------------------------------------------


def contenu(version: VersionPPA) -> dict:
    """Le contenu d'une version sous une forme canonique (clés publiques, ordre stable) : ce sur
    quoi portent l'empreinte et les accords, et ce que compare le différentiel entre versions."""
    besoins = list(version.besoins.order_by("ordre", "id"))
    objectifs = list(version.objectifs.prefetch_related("besoins").order_by("ordre", "id"))
    actions = list(version.actions.select_related("objectif", "intervenant").order_by("ordre", "id"))
    return {
        "periode": [str(version.debut or ""), str(version.fin or "")],
        "attentes": version.attentes,
        "projet_de_vie": version.projet_de_vie,
        "besoins": [
            {"code_serafin": b.code_serafin, "libelle": b.libelle, "precision": b.precision} for b in besoins
        ],
        "objectifs": [
            {
                "titre": o.titre,
                "resultat_attendu": o.resultat_attendu,
                "strategie": o.strategie,
                "avis_usager": o.avis_usager,
                "commentaire_usager": o.commentaire_usager,
                "date_cible": str(o.date_cible or ""),
                "besoins": sorted(b.libelle for b in o.besoins.all()),
            }
            for o in objectifs
        ],  # fmt: skip
        "actions": [
            {
                "objectif": a.objectif.titre,
                "quoi": a.quoi,
                "ou": a.ou,
                "frequence": a.frequence,
                "duree_minutes": a.duree_minutes,
                "code_prestation": a.code_prestation,
                "intervenant": str(a.intervenant.uuid) if a.intervenant_id else a.intervenant_libelle,
            }
            for a in actions
        ],  # fmt: skip
    }


def empreinte(version: VersionPPA) -> str:
    """SHA-256 du contenu canonique (JSON trié, UTF-8)."""
    texte = json.dumps(contenu(version), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(texte.encode()).hexdigest()


@transaction.atomic
def soumettre(*, acteur: Acteur, version: VersionPPA) -> VersionPPA:
    """Fige le brouillon et le soumet aux accords de la personne et de la structure."""
    version, usager = _brouillon_a_ecrire(acteur, version)
    if not version.objectifs.exists():
        raise ValidationError("Un projet sans objectif ne peut pas être soumis aux accords.")
    version.empreinte = empreinte(version)
    version.statut, version.soumise_le = StatutVersion.EN_VALIDATION, timezone.now()
    version.save(update_fields=["empreinte", "statut", "soumise_le", "modifie_le"])
    _journaliser(acteur, "ppa.version.soumission", version, usager, {"empreinte": version.empreinte})
    return version


def _qualite_pour(acteur: Acteur | None, version: VersionPPA, partie: str) -> str:
    """La qualité en laquelle l'acteur peut donner l'accord de `partie`, ou AccesRefuse."""
    if acteur is None:
        raise AccesRefuse("Connectez-vous pour donner votre accord au projet.")
    projet = version.projet
    if partie == PartieAccord.USAGER:
        if not habilitations.est_titulaire(acteur, projet.usager):
            raise AccesRefuse("Seule la personne, ou son représentant légal, donne son accord au projet.")
        return "la personne" if acteur.type == TypeActeur.USAGER else "son représentant légal"
    if partie == PartieAccord.STRUCTURE:
        if not signataire_de_la_structure(acteur, projet):
            raise AccesRefuse(
                "L'accord de la structure est donné par le référent du projet ou par la direction de la "
                "structure."
            )
        _exiger_ecriture(acteur, projet.usager)
        return f"pour {projet.structure.raison_sociale}"
    raise ValidationError("Partie de l'accord inconnue.")


def parties_permises(acteur: Acteur | None, version: VersionPPA) -> list[str]:
    """Les accords (`PartieAccord`) que l'acteur peut donner sur cette version, pour l'affichage ;
    `donner_accord` décide toujours."""
    permises = []
    for partie in PartieAccord.values:
        try:
            _qualite_pour(acteur, version, partie)
        except AccesRefuse:
            continue
        permises.append(partie)
    return permises


@transaction.atomic
def donner_accord(
    *, acteur: Acteur | None, version: VersionPPA, partie: str, empreinte_lue: str
) -> AccordPPA:
    """Enregistre l'accord de `partie` sur le contenu que l'acteur a lu (`empreinte_lue`, celle
    affichée) ; si le contenu a changé depuis, rien n'est enregistré. Quand la personne et la
    structure ont donné leur accord sur la même empreinte, la version est validée (la précédente
    version validée passe « remplacée »)."""
    version = _verrouiller(version)
    usager = version.projet.usager
    qualite = _qualite_pour(acteur, version, partie)
    if version.statut != StatutVersion.EN_VALIDATION:
        raise ValidationError("Cette version n'attend pas d'accord.")
    if empreinte_lue != version.empreinte:
        raise ValidationError(
            "Le projet a changé depuis que vous l'avez lu : relisez-le avant de donner votre accord."
        )
    accord, cree = AccordPPA.objects.get_or_create(
        version=version, partie=partie, empreinte=version.empreinte,
        defaults={"donne_par": acteur.cle, "donne_par_nom": acteur.nom[:200], "qualite": qualite[:120]},
    )  # fmt: skip
    if cree:
        _journaliser(acteur, "ppa.version.accord", version, usager, {"partie": partie})
    parties = set(version.accords.filter(empreinte=version.empreinte).values_list("partie", flat=True))
    if parties == set(PartieAccord.values):
        _valider(acteur, version)
    return accord


def _valider(acteur: Acteur, version: VersionPPA) -> None:
    maintenant = timezone.now()
    VersionPPA.objects.filter(projet=version.projet, statut=StatutVersion.VALIDEE).update(
        statut=StatutVersion.REMPLACEE, modifie_le=maintenant
    )
    version.statut, version.validee_le = StatutVersion.VALIDEE, maintenant
    version.save(update_fields=["statut", "validee_le", "modifie_le"])
    _journaliser(acteur, "ppa.version.validation", version, version.projet.usager)
    lien = reverse("ppa:atelier", args=[version.uuid])
    usager = version.projet.usager
    notifications.signaler(
        nature=N.PPA_VALIDATION, usager=usager, objet=version, lien=lien, au_cercle=True, auteur=acteur
    )
    # Les actions validées dans l'agenda, au nom du projet (acteur système ; ADR 0028).
    ppa_agenda.synchroniser(version)
    depot_dmp.mettre_en_file(acteur=acteur, version=version)  # dépôt au DMP, par la boîte d'envoi


@transaction.atomic
def creer_avenant(*, acteur: Acteur, version: VersionPPA) -> VersionPPA:
    """Un avenant : nouvelle version en brouillon, copie du contenu de la version validée dont elle
    dérive (besoins, objectifs et leurs liens, actions)."""
    version = _verrouiller(version)
    usager = version.projet.usager
    _exiger_ecriture(acteur, usager)
    if version.statut != StatutVersion.VALIDEE:
        raise ValidationError("Un avenant se fait sur la version validée du projet.")
    if version.projet.versions.filter(
        statut__in=[StatutVersion.BROUILLON, StatutVersion.EN_VALIDATION]
    ).exists():
        raise ValidationError("Une nouvelle version de ce projet est déjà en cours.")
    numero = version.projet.versions.order_by("-numero").values_list("numero", flat=True).first() + 1
    avenant = VersionPPA.objects.create(
        projet=version.projet, numero=numero, derive_de=version, debut=version.debut, fin=version.fin,
        attentes=version.attentes, projet_de_vie=version.projet_de_vie,
    )  # fmt: skip
    besoins = {}
    for besoin in version.besoins.order_by("ordre", "id"):
        besoins[besoin.pk] = Besoin.objects.create(
            version=avenant, ordre=besoin.ordre, origine=besoin.origine, code_serafin=besoin.code_serafin,
            libelle=besoin.libelle, precision=besoin.precision,
        )  # fmt: skip
    objectifs = {}
    for objectif in version.objectifs.prefetch_related("besoins").order_by("ordre", "id"):
        copie = Objectif.objects.create(
            version=avenant, ordre=objectif.ordre, origine=objectif.origine, titre=objectif.titre,
            resultat_attendu=objectif.resultat_attendu, strategie=objectif.strategie,
            avis_usager=objectif.avis_usager, commentaire_usager=objectif.commentaire_usager,
            date_cible=objectif.date_cible,
        )  # fmt: skip
        copie.besoins.set([besoins[b.pk] for b in objectif.besoins.all()])
        objectifs[objectif.pk] = copie
    Action.objects.bulk_create(
        [
            Action(
                version=avenant, objectif=objectifs[a.objectif_id], ordre=a.ordre, origine=a.origine,
                quoi=a.quoi, intervenant_id=a.intervenant_id, intervenant_libelle=a.intervenant_libelle,
                ou=a.ou,
                frequence=a.frequence, duree_minutes=a.duree_minutes, code_prestation=a.code_prestation,
            )
            for a in version.actions.order_by("ordre", "id")
        ]
    )  # fmt: skip
    _journaliser(acteur, "ppa.version.avenant", avenant, usager, {"derive_de": str(version.uuid)})
    return avenant
