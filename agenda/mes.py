"""L'agenda de la personne partagé avec Mon espace santé (MES ; ticket 8, point 3 ; ADR 0034).

- **Accord et appariement** (`donner_accord`, `retirer_accord`) : la personne ou son représentant
  légal en titre (`habilitations.est_titulaire`) ; l'identité INS doit être qualifiée (MES identifie
  la personne par son INS). Le jeton d'appariement est gardé chiffré et n'est jamais montré.
- **Poussée** (`pousser`, appelé par les services de l'agenda dans leur transaction) : une ligne de
  la boîte d'envoi par révision d'un événement de la personne appariée ; `construire` rebâtit
  l'Appointment (la correspondance FR Core / GAP de `agenda.fhir`) au moment de l'envoi.
- **Relecture** (`relire`, tâche `agenda.relire_mes`) : les rendez-vous que la personne a notés
  dans MES entrent dans son agenda consolidé, créés ou mis à jour par les services de l'agenda."""

from __future__ import annotations

import base64
import hashlib
import logging

import requests
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agenda import fhir
from agenda.models import AppairageMES, Evenement, StatutEvenement
from cercle import habilitations
from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.echanges import services as echanges
from coordination.echanges.contenus import Contenu
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.fhir.erreurs import ErreurFHIR
from coordination.journal.services import journaliser
from coordination.personnes.fhir import SYSTEME_URN
from coordination.personnes.models import Usager

logger = logging.getLogger(__name__)

NATURE = "agenda.mes_rendez_vous"
DESTINATAIRE = "Mon espace santé de la personne"
SYSTEME_SOURCE = "mes"
SERVICE = "Mon espace santé"
REFUS_ACCORD = (
    "Seule la personne, ou son représentant légal, peut donner ou retirer l'accord pour partager "
    "son agenda avec Mon espace santé."
)


# --- Jeton chiffré -------------------------------------------------------------------------------


def _fernet() -> Fernet:
    cle = hashlib.sha256(b"agenda.mes:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(cle))


def jeton(appairage: AppairageMES) -> str:
    """Le jeton d'appariement en clair, pour l'appel à MES seulement ; `Rejet` s'il est illisible."""
    try:
        return _fernet().decrypt(appairage.jeton_chiffre.encode()).decode()
    except InvalidToken:
        raise Rejet(
            "Le jeton Mon espace santé ne peut plus être relu : la personne doit refaire l'appariement."
        ) from None


def appairage_en_cours(usager: Usager | int) -> AppairageMES | None:
    usager_id = usager if isinstance(usager, int) else usager.pk
    return AppairageMES.objects.filter(usager_id=usager_id, retire_le__isnull=True).first()


# --- Accord et appariement -----------------------------------------------------------------------


def _qualite(acteur: Acteur) -> str:
    return "la personne elle-même" if acteur.type == TypeActeur.USAGER else "son représentant légal"


def _apparier(usager: Usager) -> str:
    """Demande un jeton à MES pour ce matricule (stand-in de l'API Appariement v2.1, ADR 0034)."""
    try:
        reponse = requests.post(
            settings.MES_URL_APPARIEMENT,
            json={"matricule": usager.matricule_ins, "oid": usager.oid_ins},
            timeout=settings.ECHANGES_FHIR_DELAI_SECONDES,
        )
    except requests.RequestException:
        raise ValidationError("Mon espace santé est injoignable : réessayez dans quelques minutes.") from None
    if reponse.status_code >= 300:
        raise ValidationError(f"Mon espace santé a refusé l'appariement (HTTP {reponse.status_code}).")
    try:
        return reponse.json()["jeton"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError("Réponse illisible de Mon espace santé : réessayez plus tard.") from None


def donner_accord(*, acteur: Acteur, usager: Usager) -> AppairageMES:
    """Enregistre l'accord de la personne et l'appariement de son compte MES. Refus (rien d'écrit) :
    `AccesRefuse` pour qui n'est ni la personne ni son représentant légal ; `ValidationError` (en
    français) si l'identité n'est pas qualifiée, si un accord est déjà en cours, ou si MES ne répond pas."""
    if not habilitations.est_titulaire(acteur, usager):
        raise AccesRefuse(REFUS_ACCORD)
    usager = Usager.objects.get(pk=usager.pk)
    if not usager.identite_qualifiee:
        raise ValidationError(
            "Mon espace santé reconnaît la personne par son INS : son identité doit d'abord être qualifiée "
            f"(statut actuel « {usager.get_statut_identite_display()} »)."
        )
    if appairage_en_cours(usager) is not None:
        raise ValidationError("L'accord est déjà donné et l'agenda déjà apparié à Mon espace santé.")
    jeton_clair = _apparier(usager)  # hors transaction : un appel réseau ne tient pas de verrou
    maintenant = timezone.now()
    with transaction.atomic():
        appairage, _ = AppairageMES.objects.select_for_update().update_or_create(
            usager=usager,
            defaults={
                "accord_par": acteur.cle, "accord_par_nom": acteur.nom[:200],
                "accord_qualite": _qualite(acteur), "accord_le": maintenant,
                "jeton_chiffre": _fernet().encrypt(jeton_clair.encode()).decode(),
                "retire_le": None, "retire_par_nom": "", "derniere_erreur": "",
            },
        )  # fmt: skip
        journaliser(
            acteur=acteur, action="agenda.mes.accord", objet=appairage, usager=usager,
            details={"qualite": appairage.accord_qualite},
        )  # fmt: skip
    return appairage


@transaction.atomic
def retirer_accord(*, acteur: Acteur, usager: Usager) -> AppairageMES:
    """Retire l'accord : le jeton est effacé, plus rien ne part vers MES ni n'en est relu."""
    if not habilitations.est_titulaire(acteur, usager):
        raise AccesRefuse(REFUS_ACCORD)
    appairage = AppairageMES.objects.select_for_update().filter(usager=usager, retire_le__isnull=True).first()
    if appairage is None:
        raise ValidationError("Aucun accord en cours pour Mon espace santé.")
    appairage.retire_le = timezone.now()
    appairage.retire_par_nom = acteur.nom[:200]
    appairage.jeton_chiffre = ""
    appairage.save(update_fields=["retire_le", "retire_par_nom", "jeton_chiffre", "modifie_le"])
    journaliser(acteur=acteur, action="agenda.mes.retrait", objet=appairage, usager=usager)
    return appairage


# --- Poussée : mise en file et constructeur ------------------------------------------------------


def cle(evenement: Evenement) -> str:
    return f"{NATURE}:{evenement.uuid}:{evenement.sequence}"


def pousser(*, acteur: Acteur, evenement: Evenement) -> MessageSortant | None:
    """Dans la transaction d'un service de l'agenda : range la révision courante de l'événement
    pour MES si la personne a donné son accord ; rien sinon, ni pour un événement relu de MES."""
    if evenement.usager_id is None or evenement.systeme_source == SYSTEME_SOURCE or evenement.serie_id:
        return None
    if appairage_en_cours(evenement.usager_id) is None:
        return None
    precedent = (
        MessageSortant.objects.filter(nature=NATURE, objet_type="agenda.evenement", objet_uuid=evenement.uuid)
        .exclude(statut=StatutMessage.REFUSE)
        .order_by("-cree_le", "-id")
        .first()
    )
    usager = Usager.objects.get(pk=evenement.usager_id)  # l'identité telle qu'elle est, pour la règle INS
    return echanges.mettre_en_file(
        acteur=acteur, destination=Destination.MES, destinataire=DESTINATAIRE, nature=NATURE,
        cle_idempotence=cle(evenement),
        charge={"evenement": str(evenement.uuid), "sequence": evenement.sequence},
        usager=usager, objet=evenement, precedent=precedent,
    )  # fmt: skip


def identifiant_ins(usager: Usager) -> dict:
    return {"system": f"urn:oid:{usager.oid_ins}", "value": usager.matricule_ins}


def _acteur_pour_mes(acteur: dict, usager: Usager) -> dict:
    """Les références du portail (« Patient/<uuid> ») ne se résolvent pas chez MES : références
    logiques, l'INS pour la personne, l'identifiant du portail pour les autres."""
    type_ressource, _, ident = (acteur.get("reference") or "").partition("/")
    if not ident:
        return acteur
    logique = {"type": type_ressource, **({"display": acteur["display"]} if acteur.get("display") else {})}
    if type_ressource == "Patient" and ident == str(usager.uuid):
        return {**logique, "identifier": identifiant_ins(usager)}
    return {**logique, "identifier": {"system": SYSTEME_URN, "value": f"urn:uuid:{ident}"}}


def construire(message: MessageSortant) -> Contenu:
    """L'Appointment de l'événement, tel qu'il est au moment de l'envoi (ADR 0034)."""
    evenement = (
        Evenement.objects.select_related("usager")
        .prefetch_related("participants")
        .filter(uuid=message.charge["evenement"])
        .first()
    )
    if evenement is None:
        raise Rejet("L'événement n'existe plus : rien à envoyer à Mon espace santé.")
    usager = evenement.usager
    ressource = fhir.evenement_vers_appointment(evenement)
    ressource.pop("id", None)  # l'identifiant logique est celui de MES
    ressource["participant"] = [
        {**p, "actor": _acteur_pour_mes(p["actor"], usager)} for p in ressource["participant"]
    ]
    identifiant = ressource["identifier"][0]  # identifiant du portail : clé de la mise à jour conditionnelle
    return Contenu(
        sujet=evenement.titre,
        texte=f"Rendez-vous « {evenement.titre} » ({evenement.get_statut_display()}).",
        donnees={
            "appointment": ressource,
            "identifiant": identifiant,
            "revision": message.charge["sequence"],
        },
    )


# --- Relecture -----------------------------------------------------------------------------------


def _est_a_nous(ressource: dict) -> bool:
    return any(
        i.get("system") == SYSTEME_URN and str(i.get("value", "")).startswith("urn:uuid:")
        for i in ressource.get("identifier") or []
    )


def relire(appairage: AppairageMES) -> dict:
    """Lit les rendez-vous de la personne dans MES et range ceux qu'elle y a notés (pas les nôtres)
    dans son agenda : créés une fois (clé : id MES), mis à jour s'ils ont changé, annulés s'ils le
    sont. Rend les compteurs ; lève `PairIndisponible` / `Rejet` si MES ne répond pas."""
    from agenda import services
    from coordination.echanges.http_fhir import appeler

    usager = appairage.usager
    reponse = appeler(
        SERVICE,
        "GET",
        f"{settings.MES_URL}/Appointment",
        entetes={"Authorization": f"Bearer {jeton(appairage)}"},
    )
    acteur = acteur_systeme("agenda.relire_mes")
    compteurs = {"crees": 0, "modifies": 0, "ignores": 0}
    for entree in reponse.json().get("entry") or []:
        ressource = entree.get("resource") or {}
        if (
            ressource.get("resourceType") != "Appointment"
            or _est_a_nous(ressource)
            or not ressource.get("id")
        ):
            continue
        try:
            champs = fhir.lire_appointment(ressource).champs
        except ErreurFHIR as exc:
            logger.warning("Rendez-vous MES %s ignoré : %s", ressource["id"], exc)
            compteurs["ignores"] += 1
            continue
        existant = Evenement.objects.filter(
            systeme_source=SYSTEME_SOURCE, identifiant_externe=ressource["id"]
        ).first()
        try:
            if existant is None and champs["statut"] == StatutEvenement.ANNULE:
                continue  # annulé avant d'avoir été relu : rien à montrer
            if existant is None:
                services.creer_evenement(
                    acteur=acteur, usager=usager, systeme_source=SYSTEME_SOURCE,
                    identifiant_externe=ressource["id"], **champs,
                )  # fmt: skip
                compteurs["crees"] += 1
                continue
            changements = {c: v for c, v in champs.items() if getattr(existant, c) != v}
            if changements.get("statut") == StatutEvenement.ANNULE and len(changements) == 1:
                services.annuler_evenement(
                    acteur=acteur, evenement=existant, motif="Annulé dans Mon espace santé"
                )
                compteurs["modifies"] += 1
            elif changements:
                services.modifier_evenement(acteur=acteur, evenement=existant, **changements)
                compteurs["modifies"] += 1
        except ValidationError as exc:
            logger.warning("Rendez-vous MES %s ignoré : %s", ressource["id"], " ".join(exc.messages))
            compteurs["ignores"] += 1
    AppairageMES.objects.filter(pk=appairage.pk).update(derniere_relecture=timezone.now(), derniere_erreur="")
    return compteurs


def relire_tous() -> dict:
    """Chaque personne appariée, l'une après l'autre ; une panne de MES est notée sur l'appariement
    et la relecture reprend au passage suivant."""
    total = {"crees": 0, "modifies": 0, "ignores": 0, "en_echec": 0}
    for appairage in AppairageMES.objects.filter(retire_le__isnull=True).select_related("usager"):
        try:
            for cle_compteur, valeur in relire(appairage).items():
                total[cle_compteur] += valeur
        except (PairIndisponible, Rejet) as exc:
            AppairageMES.objects.filter(pk=appairage.pk).update(derniere_erreur=str(exc)[:500])
            total["en_echec"] += 1
    return total
