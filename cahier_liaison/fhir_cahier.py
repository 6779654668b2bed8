"""DocumentReference : les notes du cahier de liaison servies en acteur Gestionnaire du volet CI-SIS
« Cahier de liaison » 3.0 (docs/decisions/0020-api-cahier-fhir-rest.md). Enregistrée par
CahierLiaisonConfig.ready().

Lecture (read, vread, _history d'instance, recherche) : droit `cahier` en lecture et visibilité de
la note (cahier_liaison/selectors.py) ; usager hors du monde de l'acteur ou note d'une visibilité
qu'il ne lit pas → 404, usager connu sans le droit → 403 (ADR 0008) ; chaque lecture journalisée.
Écriture (POST, PUT, Bundle `cdl-bundle-creation-note`) : par les services du cahier
(`ecrire_note`, `repondre`, `modifier_note`, `desactiver_note`), qui décident des droits ; rien
n'est écrit sur un refus. Un logiciel de structure (DUI) écrit pour sa structure, et pour le compte
d'un de ses professionnels quand l'auteur en désigne un (PractitionerRole ou Practitioner).
"""

from __future__ import annotations

import copy
import uuid
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from cahier_liaison import fhir, selectors, services
from cahier_liaison.codes import SYSTEME_TYPE_NOTE, SYSTEME_VISIBILITE
from cahier_liaison.models import Note, TypeAuteur
from cercle import habilitations
from cercle import selectors as selectors_cercle
from cercle.fhir_usagers import SYSTEMES_INS, exiger_acces, noter, usager_designe
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur
from coordination.fhir import erreurs
from coordination.fhir.filtres import (
    RIEN,
    Filtre,
    FiltreDate,
    FiltreJeton,
    FiltreReference,
    champ_egal,
    uuid_ou_rien,
)
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Creation,
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
    registre,
)
from coordination.personnes import fhir as fhir_personnes
from coordination.personnes.fhir_annuaire import professionnel_designe, structure_designee
from coordination.personnes.models import Exercice, Usager

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Critere, Inclusion, Maillon, Recherche

T = TypeParametre
P = ParametreRecherche
LECTURE = "fhir.documentreference.lecture"
# --- Recherche --------------------------------------------------------------------------------------


class FiltreAuteur(Filtre):
    """`author` : référence vers l'auteur, quel qu'en soit le type ; chaînage `author:Type.param`
    appliqué sous le chemin de l'auteur de ce type (`author:Practitioner.identifier=…`)."""

    CHEMINS = {
        "PractitionerRole": "auteur_exercice",
        "Practitioner": "auteur_exercice__professionnel",
        "RelatedPerson": "auteur_proche",
        "Patient": "auteur_usager",
        "Organization": "auteur_structure",
    }

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        conditions = RIEN
        for valeur in critere.valeurs:
            code = uuid_ou_rien(valeur.id)
            if code is None:
                continue
            for type_ressource, chemin in self.CHEMINS.items():
                if valeur.type in (None, type_ressource):
                    conditions |= Q(**{f"{prefixe}{chemin}__uuid": code})
        return conditions

    def q_chaine(self, critere: Critere, maillons: tuple[Maillon, ...], prefixe: str = "") -> Q:
        chemin = self.CHEMINS.get(maillons[0].type_cible)
        if chemin is None:
            raise erreurs.requete_invalide(
                f"Paramètre « {critere.nom_complet} » : auteur de type {maillons[0].type_cible} "
                "non pris en charge."
            )
        return FiltreReference(chemin, maillons[0].type_cible).q_chaine(critere, maillons, prefixe)


def _identifiant_note(systeme: str | None, code: str | None, prefixe: str) -> Q:
    if code is None:
        return Q(**{f"{prefixe}systeme_emetteur": systeme}) if systeme else RIEN
    return Q(**{f"{prefixe}systeme_emetteur": systeme, f"{prefixe}master_identifier": code})


class FiltreIdentifiant(Filtre):
    """`identifier` : masterIdentifier (`système|valeur` de l'émetteur) ou identifiant du portail."""

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        conditions = RIEN
        for jeton in critere.valeurs:
            if jeton.systeme == fhir_personnes.SYSTEME_URN or jeton.systeme is None:
                if code := uuid_ou_rien((jeton.code or "").removeprefix("urn:uuid:")):
                    conditions |= Q(**{f"{prefixe}uuid": code})
            if jeton.systeme is None:
                conditions |= Q(**{f"{prefixe}master_identifier": jeton.code})
            elif jeton.systeme != fhir_personnes.SYSTEME_URN:
                conditions |= _identifiant_note(jeton.systeme, jeton.code, prefixe)
        return conditions


def _statut(code: str | None, prefixe: str) -> Q:
    if code is None:
        return Q()
    if code not in (fhir.STATUT_ACTIF, fhir.STATUT_DESACTIVE):
        return RIEN
    return Q(**{f"{prefixe}active": code == fhir.STATUT_ACTIF})


def _visibilite(code: str | None, prefixe: str) -> Q:
    return Q(**{f"{prefixe}visibilite": code}) if code else ~Q(**{f"{prefixe}visibilite": ""})


TYPES_AUTEURS = ("PractitionerRole", "Practitioner", "RelatedPerson", "Patient", "Organization")


# --- Outils d'écriture -----------------------------------------------------------------------------


@contextmanager
def services_en_fhir():
    """Refus du service (403) et erreurs de validation par champ (422 situé sur l'élément FHIR)."""
    try:
        yield
    except AccesRefuse as refus:
        raise erreurs.interdit(str(refus)) from None
    except ValidationError as erreur:
        if hasattr(erreur, "error_dict"):
            champs = list(erreur.message_dict)
            expressions = [fhir.EXPRESSIONS.get(c, "DocumentReference") for c in champs]
            raise erreurs.non_traitable(" ".join(erreur.messages), expression=expressions) from None
        raise erreurs.non_traitable(" ".join(erreur.messages), expression=["DocumentReference"]) from None


def _auteur_pour_le_compte(
    contexte: Contexte, recue: fhir.NoteRecue, resolutions: _Resolutions | None = None
) -> Acteur:
    """L'acteur qui écrit : le logiciel de la structure, pour le compte du professionnel que désigne
    l'auteur (PractitionerRole ou Practitioner), qui doit exercer dans cette structure. Les autres
    auteurs cités (la structure elle-même, le logiciel) ne changent rien ; un proche ou l'usager ne
    s'écrit pas par le logiciel d'une structure."""
    acteur = contexte.acteur
    if acteur.type != TypeActeur.LOGICIEL or acteur.structure_logiciel is None:
        raise erreurs.interdit(
            "Seul le logiciel d'une structure (jeton OAuth2) écrit dans le cahier par FHIR."
        )
    structure = acteur.structure_logiciel
    exercice = None
    for chemin, element in recue.auteurs:
        reference = element.get("reference") or ""
        type_auteur = reference.partition("/")[0] if reference else element.get("type", "")
        prechargee = resolutions.exercice(element) if resolutions is not None else None
        if prechargee is not None:
            trouve = prechargee[0]
        elif type_auteur == "PractitionerRole":
            trouve = _exercice_designe(element, structure)
        elif type_auteur == "Practitioner":
            professionnel = professionnel_designe(element)
            trouve = (
                Exercice.objects.select_related("professionnel", "structure")
                .filter(professionnel=professionnel, structure=structure)
                .order_by("-date_debut", "-id")
                .first()
                if professionnel is not None
                else None
            )
        elif type_auteur == "Organization":
            if structure_designee(element) != structure:
                raise erreurs.non_traitable(
                    f"{chemin} : un logiciel écrit pour sa propre structure ({structure.raison_sociale}).",
                    expression=[chemin],
                )
            continue
        elif type_auteur == "Device":
            continue
        else:
            raise erreurs.non_traitable(
                f"{chemin} : le logiciel d'une structure écrit pour sa structure ou pour un de ses "
                f"professionnels (PractitionerRole, Practitioner, Organization, Device), pas pour un "
                f"{type_auteur or 'auteur sans type'}.",
                expression=[chemin],
            )
        if trouve is None or trouve.structure_id != structure.pk:
            raise erreurs.non_traitable(
                f"{chemin} : ce professionnel n'a pas de situation d'exercice connue du portail dans "
                f"votre structure ({structure.raison_sociale}) ; le logiciel n'écrit que pour les "
                "professionnels de sa structure.",
                expression=[chemin],
            )
        if exercice is not None and trouve.pk != exercice.pk:
            raise erreurs.non_traitable(
                f"{chemin} : une note a un seul professionnel auteur.", expression=[chemin]
            )
        exercice = trouve
    if exercice is None:
        return acteur
    # Les droits restent ceux de la structure : le mémo des habilitations est partagé.
    return replace(acteur, exercice=exercice)


def _exercice_designe(element: dict, structure) -> Exercice | None:
    """Situation d'exercice d'une référence « PractitionerRole/uuid » (professionnel et structure
    chargés : une requête), ou d'une référence logique par identifiant."""
    reference = element.get("reference") or ""
    exercices = Exercice.objects.select_related("professionnel", "structure")
    if reference:
        type_ressource, _, identifiant = reference.partition("/")
        code = uuid_ou_rien(identifiant) if type_ressource == "PractitionerRole" else None
        return exercices.filter(uuid=code).first() if code else None
    identifiant = element.get("identifier") or {}
    valeur = (identifiant.get("value") or "").removeprefix("urn:uuid:")
    if identifiant.get("system") == fhir_personnes.SYSTEME_URN and (code := uuid_ou_rien(valeur)):
        return exercices.filter(uuid=code).first()
    professionnel = professionnel_designe({"identifier": identifiant})
    if professionnel is None:
        return None
    return exercices.filter(professionnel=professionnel, structure=structure).first()


def _note_d_origine(contexte: Contexte, cible: dict, usager) -> Note:
    """La note à laquelle on répond : « DocumentReference/uuid », ou référence logique par son
    identifiant (masterIdentifier de l'émetteur ou identifiant du portail)."""
    reference = cible.get("reference") or ""
    notes = selectors.notes_lisibles(contexte.acteur)
    if reference.startswith("DocumentReference/"):
        code = uuid_ou_rien(reference.split("/", 1)[1])
        note = notes.filter(uuid=code).first() if code else None
    else:
        identifiant = cible.get("identifier") or {}
        systeme, valeur = identifiant.get("system") or "", identifiant.get("value") or ""
        if systeme == fhir_personnes.SYSTEME_URN:
            code = uuid_ou_rien(valeur.removeprefix("urn:uuid:"))
            note = notes.filter(uuid=code).first() if code else None
        else:
            note = notes.filter(systeme_emetteur=systeme, master_identifier=valeur).first()
    if note is None:
        raise erreurs.non_traitable(
            "DocumentReference.relatesTo[0].target : note d'origine inconnue ou que vous ne pouvez pas lire.",
            expression=["DocumentReference.relatesTo[0].target"],
        )
    return note


def _connu(acteur: Acteur, usager) -> bool:
    """`usager_connu` (ADR 0008) sans relire l'usager déjà chargé ; pour un logiciel, qui n'est ni
    l'usager ni un proche ni un professionnel de « Mes usagers » : un droit sur son dossier."""
    if acteur.type == TypeActeur.LOGICIEL:
        return any(habilitations.niveaux(acteur, usager).values())
    return selectors_cercle.usager_connu(acteur, usager.uuid) is not None


def _usager_du_cahier(contexte: Contexte, element: dict, resolutions: _Resolutions | None = None):
    """Usager cité dans le corps : inconnu ou hors du monde de l'acteur → 422 (même réponse) ; le
    droit d'écrire est ensuite décidé par le service (403)."""
    prechargee = resolutions.usager(element) if resolutions is not None else None
    usager = prechargee[0] if prechargee is not None else usager_designe(element)
    if usager is None or not _connu(contexte.acteur, usager):
        raise erreurs.non_traitable(
            "DocumentReference.subject : ce patient n'est pas connu du portail pour vous (matricule INS "
            "avec son OID, ou identifiant ou référence du portail). Le portail ne crée pas d'usager par "
            "FHIR.",
            expression=["DocumentReference.subject"],
        )
    return usager


def _uuid_de(reference: str, type_ressource: str):
    type_cite, _, identifiant = reference.partition("/")
    return uuid_ou_rien(identifiant) if type_cite == type_ressource else None


def _cle_usager(element: dict) -> tuple | None:
    """La clé de l'usager cité sous ses deux formes courantes (« Patient/uuid », matricule INS avec
    l'OID de son système) ; None pour une autre forme (résolue par `usager_designe`)."""
    if reference := element.get("reference") or "":
        code = _uuid_de(reference, "Patient")
        return ("uuid", code) if code else None
    identifiant = element.get("identifier")
    if not isinstance(identifiant, dict) or identifiant.get("system") not in SYSTEMES_INS:
        return None
    valeur = "".join((identifiant.get("value") or "").split()).upper()
    return ("ins", (valeur, SYSTEMES_INS[identifiant["system"]])) if valeur else None


class _Resolutions:
    """Ce que citent les notes d'un même Bundle, lu en trois requêtes au plus avant de les traiter
    une à une : les usagers (« Patient/uuid » ou INS), les situations d'exercice des auteurs
    (« PractitionerRole/uuid », ou « Practitioner/uuid » : sa situation la plus récente dans la
    structure du logiciel, comme `_auteur_pour_le_compte`), et les droits du logiciel sur tous ces
    usagers (mémo des habilitations). `usager()` et `exercice()` renvoient (trouvé ou None,) pour
    une clé préchargée, None sinon : l'appelant résout alors comme pour une note seule."""

    def __init__(self, contexte: Contexte, recues: list[fhir.NoteRecue]):
        self.usagers: dict[tuple, Usager | None] = {}
        self.exercices: dict[tuple, Exercice | None] = {}
        cles = {c for r in recues if (c := _cle_usager(r.sujet)) is not None}
        if cles:
            uuids = {v for t, v in cles if t == "uuid"}
            matricules = {v[0] for t, v in cles if t == "ins"}
            for usager in Usager.objects.filter(Q(uuid__in=uuids) | Q(matricule_ins__in=matricules)):
                self.usagers[("uuid", usager.uuid)] = usager
                self.usagers[("ins", (usager.matricule_ins, usager.oid_ins))] = usager
        for cle in cles:
            self.usagers.setdefault(cle, None)
        acteur = contexte.acteur
        structure = acteur.structure_logiciel if acteur.type == TypeActeur.LOGICIEL else None
        if structure is None:
            return  # refusé plus loin, note par note
        trouves = [u for u in self.usagers.values() if u is not None]
        if trouves:
            habilitations.niveaux_de_plusieurs(acteur, trouves)
        roles, professionnels = set(), set()
        for recue in recues:
            for _, element in recue.auteurs:
                reference = element.get("reference") or ""
                if code := _uuid_de(reference, "PractitionerRole"):
                    roles.add(code)
                elif code := _uuid_de(reference, "Practitioner"):
                    professionnels.add(code)
        exercices = Exercice.objects.select_related("professionnel", "structure")
        for code in list(roles):  # déjà résolues par les entrées PractitionerRole du Bundle
            if (exercice := contexte.resolues.get(("PractitionerRole", code))) is not None:
                self.exercices[("PractitionerRole", code)] = exercice
                roles.discard(code)
        if roles:
            for exercice in exercices.filter(uuid__in=roles):
                self.exercices[("PractitionerRole", exercice.uuid)] = exercice
        if professionnels:
            lus = exercices.filter(structure=structure, professionnel__uuid__in=professionnels).order_by(
                "professionnel_id", "-date_debut", "-id"
            )
            for exercice in lus:
                self.exercices.setdefault(("Practitioner", exercice.professionnel.uuid), exercice)
        for code in roles:
            self.exercices.setdefault(("PractitionerRole", code), None)
        for code in professionnels:
            self.exercices.setdefault(("Practitioner", code), None)

    def usager(self, element: dict) -> tuple[Usager | None] | None:
        cle = _cle_usager(element)
        return (self.usagers[cle],) if cle in self.usagers else None

    def exercice(self, element: dict) -> tuple[Exercice | None] | None:
        reference = element.get("reference") or ""
        type_ressource = reference.partition("/")[0]
        cle = (type_ressource, _uuid_de(reference, type_ressource)) if reference else None
        return (self.exercices[cle],) if cle in self.exercices else None


class _RefusEntree(Exception):
    """Une note d'un lot refusée : son rang dans le lot et l'erreur FHIR (non située)."""

    def __init__(self, rang: int, erreur: erreurs.ErreurFHIR):
        super().__init__(str(erreur))
        self.rang, self.erreur = rang, erreur


@contextmanager
def _entree(rang: int):
    try:
        yield
    except erreurs.ErreurFHIR as erreur:
        raise _RefusEntree(rang, erreur) from None


# --- La ressource ------------------------------------------------------------------------------------


@enregistrer
class RessourceDocumentReference(RessourceModele):
    type = "DocumentReference"
    profil = fhir.PROFIL_DOCUMENTREFERENCE
    documentation = (
        "Notes du cahier de liaison (volet CdL 3.0, acteur Gestionnaire). Lecture : droit « cahier » "
        "et visibilité J110 de la note ; écriture par le logiciel d'une structure membre du cercle "
        "(pour le compte d'un de ses professionnels s'il le désigne comme auteur). Idempotent sur "
        "masterIdentifier ; désactivation par PUT avec status entered-in-error (motif : description) ; "
        "modification par l'auteur seulement, If-Match conseillé."
    )
    interactions = frozenset(
        {Interaction.READ, Interaction.VREAD, Interaction.HISTORY_INSTANCE, Interaction.SEARCH_TYPE,
         Interaction.CREATE, Interaction.UPDATE}
    )  # fmt: skip
    methodes_transaction = frozenset({"POST", "PUT"})
    modele = Note
    versionnee = True
    rang_transaction = 3  # après le Patient et les auteurs qu'elle cite
    parametres = (
        P("identifier", T.TOKEN, "masterIdentifier (système|valeur de l'émetteur) ou UUID du portail",
          filtre=FiltreIdentifiant()),
        P("patient", T.REFERENCE, "L'usager (chaînable : patient.identifier=<système INS>|<matricule>)",
          cibles=("Patient",), filtre=FiltreReference("usager", "Patient")),
        P("subject", T.REFERENCE, "L'usager (subject:Patient.identifier=…)", cibles=("Patient",),
          filtre=FiltreReference("usager", "Patient")),
        P("author", T.REFERENCE,
          "Auteur : author:Practitioner.identifier|family|given|name, author:PractitionerRole…, "
          "author:RelatedPerson.identifier, author:Patient.identifier, author:Organization.identifier",
          cibles=TYPES_AUTEURS, filtre=FiltreAuteur()),
        P("date", T.DATE, "Moment de la note (préfixes eq, ge, le, gt, lt…)",
          filtre=FiltreDate("survenue_le")),
        P("type", T.TOKEN, "Type de note (J23)", filtre=FiltreJeton({SYSTEME_TYPE_NOTE: champ_egal("type")})),
        P("security-label", T.TOKEN, "Restriction de visibilité (J110)",
          filtre=FiltreJeton({SYSTEME_VISIBILITE: _visibilite})),
        P("status", T.TOKEN, "current | entered-in-error",
          filtre=FiltreJeton({"http://hl7.org/fhir/document-reference-status": _statut})),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le",), "date": ("survenue_le",)}
    liens_inclusion = {
        "DocumentReference:subject": ("Patient", "usager_id"),
        "DocumentReference:patient": ("Patient", "usager_id"),
        "DocumentReference:author": ("PractitionerRole", ""),  # plusieurs types : cibles_inclusion
    }

    # -- lecture ---------------------------------------------------------------------------------

    def queryset(self, contexte: Contexte):
        return selectors.notes_lisibles(contexte.acteur)

    def vers_fhir(self, objet: Note) -> dict:
        return fhir.note_vers_documentreference(objet)

    def representation(self, objet: Note) -> Representation:
        courante = super().representation(objet)
        courante.version = str(objet.version)
        return courante

    def _note(self, contexte: Contexte, id_logique: str) -> Note:
        """La note désignée, si l'acteur peut la lire : 404 si elle est inconnue, hors de son
        monde ou d'une visibilité qu'il ne lit pas ; 403 si l'usager est connu sans le droit."""
        code = uuid_ou_rien(id_logique)
        note = (
            Note.objects.select_related("usager", "reponse_a", *selectors.AUTEURS).filter(uuid=code).first()
            if code
            else None
        )
        exiger_acces(contexte, note.usager if note else None, Domaine.CAHIER, (self.type, id_logique))
        if not selectors.peut_voir_note(contexte.acteur, note):
            raise erreurs.introuvable(self.type, id_logique)
        return note

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        note = self._note(contexte, id_logique)
        noter(contexte, note.usager, LECTURE, note)
        return self.representation(note)

    def _versions(self, note: Note) -> list[Note]:
        """La note en chacune de ses versions, de la plus récente à la plus ancienne : les versions
        antérieures refaites à partir de leur contenu figé (VersionNote)."""
        versions = [note]
        anciennes = list(note.versions.order_by("-version"))
        for rang, ancienne in enumerate(anciennes):
            etat = copy.copy(note)
            for champ, valeur in ancienne.contenu.items():
                setattr(etat, champ, parse_datetime(valeur) if champ == "survenue_le" else valeur)
            etat.version, etat.active = ancienne.version, True
            etat.motif_desactivation = ""
            suivante = anciennes[rang + 1] if rang + 1 < len(anciennes) else None
            etat.modifie_le = suivante.remplacee_le if suivante is not None else note.ecrite_le
            versions.append(etat)
        return versions

    def lire_version(self, contexte: Contexte, id_logique: str, version: str) -> Representation:
        note = self._note(contexte, id_logique)
        trouvee = next((v for v in self._versions(note) if str(v.version) == version), None)
        if trouvee is None:
            raise erreurs.introuvable(self.type, id_logique, version)
        noter(contexte, note.usager, LECTURE, note)
        return self.representation(trouvee)

    def historique(self, contexte: Contexte, id_logique, *, nombre: int, depuis) -> list[Representation]:
        note = self._note(contexte, id_logique)
        noter(contexte, note.usager, LECTURE, note)
        versions = [v for v in self._versions(note) if depuis is None or v.modifie_le >= depuis]
        return [self.representation(v) for v in versions[:nombre]]

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        for trouve in page.correspondances:
            sujet = uuid.UUID(trouve.ressource["subject"]["reference"].split("/", 1)[1])
            noter(contexte, sujet, LECTURE)
        return page

    def cibles_inclusion(self, inclusion: Inclusion, sources: list) -> dict[str, set]:
        if inclusion.cle != "DocumentReference:author":
            return super().cibles_inclusion(inclusion, sources)
        cibles: dict[str, set] = {t: set() for t in TYPES_AUTEURS}
        for note in sources:
            if note.auteur_exercice_id:
                cibles["PractitionerRole"].add(note.auteur_exercice_id)
                cibles["Practitioner"].add(note.auteur_exercice.professionnel_id)
            if note.auteur_type == TypeAuteur.PROCHE:
                cibles["RelatedPerson"].add(note.auteur_proche_id)
            elif note.auteur_type == TypeAuteur.USAGER:
                cibles["Patient"].add(note.auteur_usager_id)
            elif note.auteur_type == TypeAuteur.LOGICIEL:
                cibles["Organization"].add(note.auteur_structure_id)
        return {t: pks for t, pks in cibles.items() if pks and registre.existe(t)}

    # -- écriture --------------------------------------------------------------------------------

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        """Une note écrite par le service ; la même (système émetteur, masterIdentifier) déjà reçue
        est renvoyée telle quelle (200), rien n'est écrit de plus. Même chemin qu'un Bundle."""
        try:
            return self._creer_lot(contexte, [ressource])[0]
        except _RefusEntree as refus:
            raise refus.erreur from None

    def creer_plusieurs(self, contexte: Contexte, creations: list[Creation]) -> list[Representation]:
        """Les notes d'un Bundle transaction (une, ou beaucoup) : tout ou rien, en un nombre constant
        de requêtes (ADR 0020). La première entrée refusée est nommée (`Bundle.entry[n]`)."""
        try:
            return self._creer_lot(contexte, [creation.ressource for creation in creations])
        except _RefusEntree as refus:
            raise refus.erreur.avec_prefixe(creations[refus.rang].chemin) from None

    def _creer_lot(self, contexte: Contexte, ressources: list[dict]) -> list[Representation]:
        recues = []
        for rang, ressource in enumerate(ressources):
            with _entree(rang):
                recue = fhir.lire_documentreference(ressource)
                if recue.statut != fhir.STATUT_ACTIF:
                    raise erreurs.non_traitable(
                        "DocumentReference.status : une nouvelle note est « current ».",
                        expression=["DocumentReference.status"],
                    )
                recues.append(recue)
        resolutions = _Resolutions(contexte, recues)
        demandes = []
        for rang, recue in enumerate(recues):
            with _entree(rang):
                usager = _usager_du_cahier(contexte, recue.sujet, resolutions)
                acteur = _auteur_pour_le_compte(contexte, recue, resolutions)
                supplements = {}
                if recue.pieces_jointes:
                    supplements["pieces_jointes"] = recue.pieces_jointes
                reponse_a = _note_d_origine(contexte, recue.reponse_a, usager) if recue.reponse_a else None
                demandes.append(dict(
                    acteur=acteur, usager=usager, systeme_emetteur=recue.systeme_emetteur,
                    master_identifier=recue.master_identifier, reponse_a=reponse_a, **recue.champs,
                    **supplements,
                ))  # fmt: skip
        try:
            notes = services.ecrire_notes(demandes)
        except services.NoteRefusee as refus:
            with _entree(refus.rang), services_en_fhir():
                raise refus.cause from None
        representations: list[Representation | None] = [None] * len(notes)
        deja = []
        for rang, (demande, note) in enumerate(zip(demandes, notes, strict=True)):
            if not getattr(note, "deja_recue", False):
                # Note neuve : écrite avec les objets déjà chargés (usager, auteur, origine).
                representations[rang] = self.representation(note)
            elif not selectors.est_auteur(demande["acteur"], note):
                with _entree(rang):
                    raise erreurs.conflit(
                        "DocumentReference.masterIdentifier : cet identifiant désigne déjà une note d'un "
                        "autre auteur."
                    )
            else:
                deja.append(rang)
        if deja:  # notes déjà reçues : relues ensemble, avec usager et auteurs
            relues = Note.objects.select_related("usager", "reponse_a", *selectors.AUTEURS).in_bulk(
                [notes[r].pk for r in deja]
            )
            for rang in deja:
                representations[rang] = replace(self.representation(relues[notes[rang].pk]), existante=True)
        return representations

    def modifier(self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue):
        """Modification par l'auteur (le logiciel de la même structure, pour le même professionnel),
        ou désactivation avec status entered-in-error (motif : description)."""
        note = self._note(contexte, id_logique)
        recue = fhir.lire_documentreference(ressource)
        if usager_designe(recue.sujet) != note.usager:
            raise erreurs.non_traitable(
                "DocumentReference.subject : le patient d'une note ne change pas.",
                expression=["DocumentReference.subject"],
            )
        acteur = _auteur_pour_le_compte(contexte, recue)
        with transaction.atomic():
            # If-Match relu sous le verrou de la ligne : deux PUT de la même version, un seul passe.
            courante = Note.objects.select_for_update().values_list("version", "active").get(pk=note.pk)
            if version_attendue is not None and version_attendue != str(courante[0]):
                raise erreurs.version_perimee(version_attendue, str(courante[0]))
            with services_en_fhir():
                if recue.statut == fhir.STATUT_DESACTIVE:
                    if courante[1]:
                        services.desactiver_note(
                            acteur=acteur,
                            note=note,
                            motif=recue.motif or "Désactivée par le logiciel émetteur (entered-in-error).",
                        )
                else:
                    if not courante[1]:
                        raise ValidationError("Cette note a été désactivée : elle ne se modifie plus.")
                    services.modifier_note(acteur=acteur, note=note, **recue.champs)
        note = Note.objects.select_related("usager", "reponse_a", *selectors.AUTEURS).get(pk=note.pk)
        return self.representation(note), False
