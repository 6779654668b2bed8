"""Abonnements NdE des logiciels des structures : lecture d'une Subscription, création et mise à jour
(journalisées), choix des abonnements d'un événement et mise en file de leurs webhooks, et le
constructeur de la notification (CommunicationRequest `nde-notificationrequest`).

Types d'événement (docs/decisions/0036-sms-et-webhooks-nde.md) : le JDV_J46 (codes de la
TRE_R254) n'a que deux codes qui disent nos événements — NOT (« création d'une note dans le cahier
de liaison ») pour toutes les natures du cahier, DOC (« dépôt de document ») pour la validation du
projet personnalisé (déposé au DMP). Les autres natures (cercle, agenda, contributions et revue du
PPA) n'ont pas de code national : elles prennent le code système local `SYSTEME_LOCAL`, dont les
codes sont nos natures (« agenda.reunion_confirmee »…).

Règle d'envoi : un abonnement actif (période en cours, logiciel non révoqué), qui suit la nature,
et dont l'usager (s'il en désigne un) est celui de l'événement, reçoit le webhook si sa structure
peut lire le domaine de l'événement dans le dossier de l'usager (`habilitations.peut` avec
l'acteur LOGICIEL de la structure : exactement ce que son DUI lirait par l'API FHIR). Relu à
l'envoi : un droit retiré ou un abonnement arrêté entre-temps n'envoie rien."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cercle import habilitations, selectors
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.echanges.contenus import Contenu
from coordination.echanges.erreurs import Rejet
from coordination.echanges.models import Destination, MessageSortant
from coordination.echanges.services import mettre_en_file
from coordination.journal.services import journaliser
from coordination.notifications.catalogue import NatureNotification
from coordination.notifications.models_abonnements import Abonnement, StatutAbonnement
from coordination.personnes import fhir as fhir_personnes
from coordination.personnes.models import Usager

if TYPE_CHECKING:
    from coordination.comptes.models import ClientLogiciel

NDE = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition"
PROFIL_SUBSCRIPTION = f"{NDE}/nde-subscription"
PROFIL_NOTIFICATION = f"{NDE}/nde-notificationrequest"
EXT_START, EXT_SUBJECT, EXT_DECLARANT = f"{NDE}/start", f"{NDE}/subject", f"{NDE}/declarant"
EXT_TYPE, EXT_SUBSCRIBER = f"{NDE}/event-type", f"{NDE}/subscriber"
EXT_MOMENT, EXT_EMISSION = f"{NDE}/event-time", f"{NDE}/event-emission-time"
EXT_ENDPOINT = f"{NDE}/recipient-endpoint"
SYSTEME_J46 = "https://mos.esante.gouv.fr/NOS/TRE_R254-TypeEvenement/FHIR/TRE-R254-TypeEvenement"
SYSTEME_LOCAL = "https://coordination.example.org/fhir/CodeSystem/type-evenement-notification"
# Canal : la TRE_R200 n'a pas de code « webhook / API » connu ici ; code local (ADR 0036).
SYSTEME_CANAL = "https://coordination.example.org/fhir/CodeSystem/canal-notification"
NATURE_WEBHOOK = "notifications.webhook"

N = NatureNotification
# Nature → code du JDV_J46 (TRE_R254) quand il en existe un.
CODES_J46: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        (N.NOUVELLE_NOTE, N.NOTE_URGENTE, N.ACCUSE_DEMANDE, N.REPONSE, N.ALERTE),
        ("NOT", "Création d'une note pour un patient dans le cahier de liaison"),
    ),
    N.PPA_VALIDATION: ("DOC", "Dépôt de document pour un patient"),
}
DOMAINES = {"cercle": "cercle", "cahier": "cahier", "agenda": "agenda", "ppa": "ppa"}
EN_TETES_RESERVES = {"content-type", "content-length", "host", "x-idempotency-key", "transfer-encoding"}
NOM_EN_TETE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
HOTES_LOCAUX = {"localhost", "127.0.0.1", "::1"}
# Le destinataire d'un message sortant (MessageSortant.destinataire) tient en 320 caractères.
LONGUEUR_MAX_ENDPOINT = 320


class SubscriptionInvalide(ValueError):
    """Subscription refusée (422) : la raison en français et l'élément en cause (expression FHIRPath)."""

    def __init__(self, message: str, expression: str = "Subscription") -> None:
        super().__init__(message)
        self.expression = expression


# --- Types d'événement ------------------------------------------------------------------------------


def type_evenement(nature: str) -> dict:
    """Le Coding de l'extension event-type pour une nature (J46 si possible, sinon local)."""
    if nature in CODES_J46:
        code, libelle = CODES_J46[nature]
        return {"system": SYSTEME_J46, "code": code, "display": libelle}
    return {"system": SYSTEME_LOCAL, "code": nature, "display": NatureNotification(nature).label}


def natures_du_type(systeme: str | None, code: str) -> set[str]:
    """Les natures que désigne un type d'événement (système absent : J46 d'abord, puis local)."""
    if systeme in (None, "", SYSTEME_J46):
        trouvees = {nature for nature, (c, _libelle) in CODES_J46.items() if c == code}
        if trouvees or systeme:
            return trouvees
    if systeme in (None, "", SYSTEME_LOCAL) and code in NatureNotification.values:
        return {code}
    return set()


def domaine_de(nature: str) -> str:
    return DOMAINES[nature.split(".", 1)[0]]


# --- Lecture d'une Subscription -------------------------------------------------------------------


@dataclass
class Souscription:
    """Ce qu'une Subscription valide demande."""

    natures: list[str]
    usager: Usager | None
    endpoint: str
    en_tetes: list[str]
    statut: str
    debut: datetime
    fin: datetime | None


def _extension(ressource: dict, url: str, obligatoire: bool = True) -> dict | None:
    trouvees = [e for e in ressource.get("extension", []) if e.get("url") == url]
    if len(trouvees) > 1:
        raise SubscriptionInvalide(f"Extension {url.rsplit('/', 1)[1]} en double.", "Subscription.extension")
    if not trouvees and obligatoire:
        raise SubscriptionInvalide(
            f"Extension {url.rsplit('/', 1)[1]} absente (profil nde-subscription).", "Subscription.extension"
        )
    return trouvees[0] if trouvees else None


def _contenue(ressource: dict, extension: dict, nom: str) -> dict:
    reference = (extension.get("valueReference") or {}).get("reference", "")
    for contenue in ressource.get("contained", []):
        if reference == f"#{contenue.get('id')}":
            return contenue
    raise SubscriptionInvalide(
        f"L'extension {nom} doit désigner une ressource contenue (« #id ») ; « {reference[:60]} » n'en "
        "désigne aucune.",
        f"Subscription.extension('{nom}')",
    )


def _instant(valeur: str | None, expression: str) -> datetime | None:
    if not valeur:
        return None
    moment = parse_datetime(valeur) if "T" in valeur else parse_datetime(f"{valeur}T00:00:00+00:00")
    if moment is None or timezone.is_naive(moment):
        raise SubscriptionInvalide(
            f"Date « {valeur[:40]} » : un instant avec fuseau est attendu.", expression
        )
    return moment


def _types_du_critere(criteria: str) -> set[tuple[str | None, str]]:
    if not criteria.startswith("CommunicationRequest?"):
        raise SubscriptionInvalide(
            "criteria : une recherche CommunicationRequest est attendue "
            "(« CommunicationRequest?event-type=NOT »).",
            "Subscription.criteria",
        )
    types: set[tuple[str | None, str]] = set()
    for nom, valeur in parse_qsl(criteria.split("?", 1)[1], keep_blank_values=True):
        if nom != "event-type":
            raise SubscriptionInvalide(
                f"criteria : paramètre « {nom[:40]} » non pris en charge (seul event-type l'est ; le patient "
                "se donne dans l'extension subject).",
                "Subscription.criteria",
            )
        for jeton in valeur.split(","):
            systeme, _, code = jeton.rpartition("|")
            types.add((systeme or None, code.strip()))
    return types


def _types_de_l_extension(ressource: dict) -> set[tuple[str | None, str]]:
    extension = _extension(ressource, EXT_TYPE)
    codages = (extension.get("valueCodeableConcept") or {}).get("coding", [])
    if not codages:
        raise SubscriptionInvalide(
            "L'extension event-type doit porter un code (JDV_J46).", "Subscription.extension('event-type')"
        )
    return {(c.get("system"), c.get("code", "")) for c in codages}


def _natures(ressource: dict) -> list[str]:
    natures: set[str] = set()
    for systeme, code in _types_de_l_extension(ressource) | _types_du_critere(ressource.get("criteria", "")):
        trouvees = natures_du_type(systeme, code)
        if not trouvees:
            raise SubscriptionInvalide(
                f"Type d'événement « {code[:40]} » inconnu : codes NOT ou DOC du JDV_J46, ou une nature de "
                f"{SYSTEME_LOCAL}.",
                "Subscription.extension('event-type')",
            )
        natures |= trouvees
    return sorted(natures)


def _endpoint(canal: dict) -> str:
    if canal.get("type") != "rest-hook":
        raise SubscriptionInvalide(
            "Seul le canal « rest-hook » (webhook) est proposé par le portail.", "Subscription.channel.type"
        )
    if canal.get("payload") not in (None, "application/fhir+json"):
        raise SubscriptionInvalide(
            "channel.payload : seul application/fhir+json est envoyé.", "Subscription.channel.payload"
        )
    endpoint = canal.get("endpoint") or ""
    morceaux = urlsplit(endpoint)
    hote = (morceaux.hostname or "").lower()
    local = hote in HOTES_LOCAUX
    if (
        morceaux.scheme == "http"
        and local
        and settings.WEBHOOKS_HTTP_LOCAL
        and len(endpoint) <= LONGUEUR_MAX_ENDPOINT
    ):
        return endpoint
    if morceaux.scheme != "https" or not hote or len(endpoint) > LONGUEUR_MAX_ENDPOINT:
        raise SubscriptionInvalide(
            f"channel.endpoint : une adresse https:// ({LONGUEUR_MAX_ENDPOINT} caractères au plus) "
            "est attendue.",
            "Subscription.channel.endpoint",
        )
    try:
        ip = ipaddress.ip_address(hote)
    except ValueError:
        ip = None
    if local or (ip is not None and (ip.is_private or ip.is_loopback or ip.is_link_local)):
        raise SubscriptionInvalide(
            "channel.endpoint : une adresse du réseau local n'est pas acceptée.",
            "Subscription.channel.endpoint",
        )
    return endpoint


def _en_tetes(canal: dict) -> list[str]:
    en_tetes = []
    for position, ligne in enumerate(canal.get("header", [])):
        nom, separateur, valeur = ligne.partition(":")
        expression = f"Subscription.channel.header[{position}]"
        if not separateur or not NOM_EN_TETE.match(nom.strip()) or any(c in ligne for c in "\r\n\0"):
            raise SubscriptionInvalide(
                "En-tête attendu sous la forme « Nom: valeur », sur une ligne.", expression
            )
        if nom.strip().lower() in EN_TETES_RESERVES:
            raise SubscriptionInvalide(f"L'en-tête « {nom.strip()} » est posé par le portail.", expression)
        en_tetes.append(f"{nom.strip()}: {valeur.strip()}")
    return en_tetes


def _usager(acteur: Acteur, ressource: dict) -> Usager | None:
    from cercle.fhir_usagers import _usager_par_identifiants

    extension = _extension(ressource, EXT_SUBJECT, obligatoire=False)
    if extension is None:
        return None
    patient = _contenue(ressource, extension, "subject")
    if patient.get("resourceType") != "Patient":
        raise SubscriptionInvalide(
            "L'extension subject doit désigner un Patient contenu.", "Subscription.contained"
        )
    usager = _usager_par_identifiants(patient.get("identifier", []))
    # Même réponse pour un patient inconnu et pour un patient hors du monde de la structure (ADR 0008).
    if usager is None or selectors.usager_connu(acteur, usager.uuid) is None:
        raise SubscriptionInvalide(
            "subject : ce patient n'est pas connu du portail pour vous (matricule INS avec son OID, ou "
            "identifiant du portail).",
            "Subscription.contained",
        )
    return usager


def lire_subscription(acteur: Acteur, ressource: dict) -> Souscription:
    """Vérifie une Subscription (déjà valide pour fhir.resources) au regard du profil NdE et des
    règles du portail ; `SubscriptionInvalide` sinon. Ne lit rien d'autre que l'usager désigné."""
    for url, nom in ((EXT_START, "start"), (EXT_DECLARANT, "declarant"), (EXT_SUBSCRIBER, "subscriber")):
        extension = _extension(ressource, url)
        if nom != "start":
            _contenue(ressource, extension, nom)
    debut = _instant(_extension(ressource, EXT_START).get("valueDateTime"), "Subscription.extension('start')")
    if debut is None:
        raise SubscriptionInvalide(
            "L'extension start doit porter une date.", "Subscription.extension('start')"
        )
    fin = _instant(ressource.get("end"), "Subscription.end")
    if fin is not None and fin <= debut:
        raise SubscriptionInvalide("end doit suivre le début (extension start).", "Subscription.end")
    statut = ressource.get("status")
    if statut not in ("requested", "active", "off"):
        raise SubscriptionInvalide(
            "status : « requested », « active » ou « off » (« error » est posé par le portail).",
            "Subscription.status",
        )
    canal = ressource.get("channel") or {}
    return Souscription(
        natures=_natures(ressource), usager=_usager(acteur, ressource), endpoint=_endpoint(canal),
        en_tetes=_en_tetes(canal), debut=debut, fin=fin,
        statut=StatutAbonnement.OFF if statut == "off" else StatutAbonnement.ACTIVE,
    )  # fmt: skip


# --- Écritures -------------------------------------------------------------------------------------


def _journaliser(acteur: Acteur, action: str, abonnement: Abonnement) -> None:
    journaliser(
        acteur=acteur, action=action, objet=abonnement, usager=abonnement.usager,
        details={"natures": abonnement.natures, "statut": abonnement.statut, "endpoint": abonnement.endpoint},
    )  # fmt: skip


def creer(*, acteur: Acteur, client: ClientLogiciel, ressource: dict, uuid) -> Abonnement:
    """Enregistre l'abonnement du logiciel `client` (pour sa structure). Journalisé."""
    souscription = lire_subscription(acteur, ressource)
    with transaction.atomic():
        abonnement = Abonnement.objects.create(
            uuid=uuid, structure=client.structure, client=client, natures=souscription.natures,
            usager=souscription.usager, endpoint=souscription.endpoint, en_tetes=souscription.en_tetes,
            statut=souscription.statut, debut=souscription.debut, fin=souscription.fin, ressource=ressource,
        )  # fmt: skip
        _journaliser(acteur, "notifications.abonnement.creation", abonnement)
    return abonnement


def modifier(*, acteur: Acteur, abonnement: Abonnement, ressource: dict) -> Abonnement:
    """Remplace l'abonnement (PUT) ; `status: off` l'arrête. Version incrémentée, journalisé."""
    souscription = lire_subscription(acteur, ressource)
    with transaction.atomic():
        abonnement = Abonnement.objects.select_for_update().get(pk=abonnement.pk)
        for champ in ("natures", "usager", "endpoint", "en_tetes", "statut", "debut", "fin"):
            setattr(abonnement, champ, getattr(souscription, champ))
        abonnement.ressource = ressource
        abonnement.version += 1
        abonnement.save()
        action = "arret" if abonnement.statut == StatutAbonnement.OFF else "modification"
        _journaliser(acteur, f"notifications.abonnement.{action}", abonnement)
    return abonnement


# --- Événements → webhooks ------------------------------------------------------------------------


def acteur_de(abonnement: Abonnement) -> Acteur:
    """Le logiciel abonné, tel qu'il agirait par l'API (droits de sa structure)."""
    return Acteur(
        TypeActeur.LOGICIEL, compte=None, nom_systeme=abonnement.client.nom,
        structure_logiciel=abonnement.structure,
    )  # fmt: skip


def _en_vigueur(moment: datetime) -> Q:
    return (
        Q(statut=StatutAbonnement.ACTIVE, debut__lte=moment, client__revoque_le__isnull=True)
        & (Q(fin__isnull=True) | Q(fin__gt=moment))
    )  # fmt: skip


def natures_suivies() -> set[str]:
    """Les natures qu'au moins un abonnement en vigueur suit (une requête) : la distribution ne
    cherche d'abonnements que pour elles."""
    listes = Abonnement.objects.filter(_en_vigueur(timezone.now())).values_list("natures", flat=True)
    return {nature for natures in listes for nature in natures}


def abonnements_de(nature: str, usager: Usager) -> list[Abonnement]:
    """Les abonnements qui doivent recevoir cet événement (règle en tête de module)."""
    maintenant = timezone.now()
    candidats = (
        Abonnement.objects.filter(_en_vigueur(maintenant), natures__contains=[nature])
        .filter(Q(usager__isnull=True) | Q(usager=usager))
        .select_related("structure", "client")
        .order_by("cree_le", "id")
    )
    domaine = domaine_de(nature)
    return [a for a in candidats if habilitations.peut(acteur_de(a), usager, "lire", domaine)]


def mettre_en_file_webhooks(acteur: Acteur, nature: str, usager: Usager | None, objet, cle_base: str) -> list:
    """Dans la transaction de l'appelant : un message sortant (destination webhook, nature
    `notifications.webhook`, clé `<cle_base>:abonnement:<uuid>`) par abonnement concerné. Rend les
    messages (ceux d'un appel répété sont les mêmes)."""
    if usager is None or nature not in NatureNotification.values:
        return []
    moment = timezone.now().isoformat()
    messages = []
    for abonnement in abonnements_de(nature, usager):
        cle = f"{cle_base}:abonnement:{abonnement.uuid}"
        # Déjà en file (appel répété) : ce message-là, même si l'adresse a changé depuis (l'envoi
        # relit l'adresse de l'abonnement).
        existant = MessageSortant.objects.filter(cle_idempotence=cle).first()
        messages.append(
            existant
            or mettre_en_file(
                acteur=acteur,
                destination=Destination.WEBHOOK,
                destinataire=abonnement.endpoint,
                nature=NATURE_WEBHOOK,
                cle_idempotence=cle,
                charge={"abonnement": str(abonnement.uuid), "nature": nature, "moment": moment},
                usager=usager,
                objet=objet,
            )
        )
    return messages


# --- Constructeur de la notification ---------------------------------------------------------------


def _patient(usager: Usager) -> dict:
    """Patient contenu : l'INS seulement si l'identité est qualifiée, toujours l'identifiant du
    portail ; ni nom, ni date de naissance (le DUI relit le dossier par l'API s'il y a droit)."""
    identifiants = []
    if usager.matricule_exportable:
        identifiants.append({"system": f"urn:oid:{usager.oid_ins}", "value": usager.matricule_exportable})
    identifiants.append(fhir_personnes.identifiant_portail(usager))
    profil = (
        fhir_personnes.PROFIL_PATIENT_INS if usager.matricule_exportable else fhir_personnes.PROFIL_PATIENT
    )
    return {
        "resourceType": "Patient",
        "id": "patient",
        "meta": {"profile": [profil]},
        "identifier": identifiants,
    }


def _lien(usager: Usager, nature: str) -> str:
    base = settings.NOTIFICATIONS_ADRESSE_PORTAIL.rstrip("/")
    return f"{base}/usagers/{usager.uuid}/{domaine_de(nature)}/"


def construire(message: MessageSortant) -> Contenu:
    """La CommunicationRequest nde-notificationrequest du message (webhook d'un abonnement).
    `Rejet` si l'abonnement n'est plus en vigueur ou si sa structure a perdu le droit de lire."""
    nature = message.charge["nature"]
    abonnement = (
        Abonnement.objects.select_related("structure", "client")
        .filter(uuid=message.charge["abonnement"])
        .first()
    )
    # Relu : l'identité (INS qualifiée ou non) est celle du moment de l'envoi.
    usager = Usager.objects.filter(pk=message.usager_id).first()
    if (
        abonnement is None
        or usager is None
        or not Abonnement.objects.filter(_en_vigueur(timezone.now()), pk=abonnement.pk).exists()
    ):
        raise Rejet(
            "Webhook non envoyé : l'abonnement n'est plus en vigueur (arrêté, expiré ou logiciel révoqué)."
        )
    if not habilitations.peut(acteur_de(abonnement), usager, "lire", domaine_de(nature)):
        raise Rejet("Webhook non envoyé : la structure abonnée n'a plus le droit de lire ce dossier.")
    base = settings.NOTIFICATIONS_ADRESSE_PORTAIL.rstrip("/")
    lien = _lien(usager, nature)
    structure = abonnement.structure
    destinataire = {"resourceType": "Organization", "id": "destinataire", "name": structure.raison_sociale}
    if structure.finess_eg:
        destinataire["identifier"] = [{"system": fhir_personnes.SYSTEME_FINESS, "value": structure.finess_eg}]
    ressource = {
        "resourceType": "CommunicationRequest",
        "id": str(message.uuid),
        "meta": {"profile": [PROFIL_NOTIFICATION]},
        "contained": [
            _patient(usager),
            {"resourceType": "Organization", "id": "portail", "name": "Portail de coordination"},
            destinataire,
        ],
        "extension": [
            {"url": EXT_TYPE, "valueCodeableConcept": {"coding": [type_evenement(nature)]}},
            {"url": EXT_MOMENT, "valueDateTime": message.charge["moment"]},
            {"url": EXT_EMISSION, "valueDateTime": timezone.now().isoformat()},
        ],
        "basedOn": [{"reference": f"{base}/fhir/Subscription/{abonnement.uuid}"}],
        "status": "active",
        "medium": [
            {"coding": [{"system": SYSTEME_CANAL, "code": "rest-hook", "display": "Webhook (FHIR REST)"}]}
        ],
        "subject": {"reference": "#patient"},
        "payload": [
            {"contentAttachment": {"contentType": "text/html", "url": lien, "title": "Voir dans le portail"}}
        ],
        "authoredOn": message.cree_le.isoformat(),
        "requester": {"reference": "#portail"},
        "recipient": [
            {
                "extension": [{"url": EXT_ENDPOINT, "valueUrl": abonnement.endpoint}],
                "reference": "#destinataire",
            }
        ],
    }
    return Contenu(
        sujet=NatureNotification(nature).label,
        texte=f"{NatureNotification(nature).label} : {lien}",
        lien=lien,
        donnees={
            "ressource": ressource,
            "endpoint": abonnement.endpoint,
            "en_tetes": list(abonnement.en_tetes),
        },
    )
