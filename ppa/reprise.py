"""Reprise d'un projet personnalisé précédent (ticket 7, point 6 ; ADR 0028, « Reprise ») :
- **Bundle TDDUI** reçu en fichier JSON : contrôlé ici (taille, JSON, Bundle, profils TDDUI, chaque
  ressource validée), tous les problèmes listés ensemble en français, puis versé dans un brouillon
  vide par `ppa.import_tddui.importer_tddui` (tout ou rien) ;
- **document joint** (PDF, photo) : le projet d'une structure précédente tel quel, contrôlé et
  rangé comme les pièces jointes du cahier (mêmes fonctions : `cahier_liaison.pieces_jointes`).

Écrire demande `ppa` en écriture (cercle/habilitations.py) ; chaque écriture est journalisée ; un
refus n'écrit rien (ni ligne, ni fichier)."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from cahier_liaison import pieces_jointes as pj
from cahier_liaison.models import stockage_des_pieces
from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.validation import valider
from coordination.journal.services import journaliser
from ppa import fhir
from ppa.import_tddui import TYPES_REPRIS, importer_tddui
from ppa.models import DocumentPrecedent, StatutVersion, VersionPPA

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager
    from ppa.models import ProjetPersonnalise

CHAMP = "fichier"
TAILLE_MAX_BUNDLE = 5 * 1024 * 1024
DOCUMENTS_PAR_PROJET = 10
REFUS_ECRIRE = "Vous ne pouvez pas écrire dans le projet personnalisé de cette personne."
PROBLEMES_AFFICHES = 20


def exiger_ecriture(acteur: Acteur | None, usager: Usager) -> None:
    """AccesRefuse sans `ppa` en écriture sur le dossier de `usager`."""
    if acteur is None or not habilitations.peut(acteur, usager, "ecrire", Domaine.PPA):
        raise AccesRefuse(REFUS_ECRIRE)


def _refus(*problemes: str) -> ValidationError:
    return ValidationError({CHAMP: list(problemes)})


def _lire_octets(fichier: UploadedFile) -> bytes:
    """Le contenu du fichier, sans lire plus que la limite."""
    limite = pj.en_mega_octets(TAILLE_MAX_BUNDLE)
    taille = getattr(fichier, "size", None)
    if taille is not None and taille > TAILLE_MAX_BUNDLE:
        raise _refus(f"Le fichier est trop gros ({pj.en_mega_octets(taille)}) ; {limite} au plus.")
    fichier.seek(0)
    morceaux, lu = [], 0
    for morceau in fichier.chunks():
        lu += len(morceau)
        if lu > TAILLE_MAX_BUNDLE:
            raise _refus(f"Le fichier est trop gros ; {limite} au plus.")
        morceaux.append(morceau)
    contenu = b"".join(morceaux)
    if not contenu.strip():
        raise _refus("Le fichier est vide.")
    return contenu


def _profil_attendu(rang: int, ressource: dict) -> str | None:
    """Le problème de profil d'une ressource reprise (None si elle déclare le profil TDDUI)."""
    type_ = ressource["resourceType"]
    meta = ressource.get("meta") if isinstance(ressource.get("meta"), dict) else {}
    profils = meta.get("profile") if isinstance(meta.get("profile"), list) else []
    if fhir.PROFIL[type_] in profils:
        return None
    recu = ", ".join(str(p) for p in profils) if profils else "aucun profil déclaré"
    return f"Entrée {rang} ({type_}) : profil TDDUI attendu « {fhir.PROFIL[type_]} » ; reçu : {recu}."


def lire_bundle(fichier: UploadedFile) -> dict:
    """Le Bundle TDDUI d'un fichier reçu ; sinon ValidationError (champ `fichier`) qui liste, en
    français, tout ce qui ne va pas : taille, encodage, JSON, type de ressource, projet (CarePlan)
    absent ou en double, profils, ressources invalides."""
    return _decoder_bundle(_lire_octets(fichier))


def _decoder_bundle(contenu: bytes) -> dict:
    try:
        texte = contenu.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refus("Le fichier n'est pas un texte JSON (encodage UTF-8 attendu).") from None
    try:
        bundle = json.loads(texte)
    except json.JSONDecodeError as erreur:
        raise _refus(
            f"Le fichier n'est pas du JSON valide (ligne {erreur.lineno}, colonne {erreur.colno}) : "
            "un export TDDUI est un fichier .json produit par le logiciel de la structure précédente."
        ) from None
    except RecursionError:
        raise _refus("Le fichier JSON est trop imbriqué pour être lu.") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        recu = bundle.get("resourceType") if isinstance(bundle, dict) else None
        raise _refus(
            "Le fichier n'est pas un Bundle FHIR"
            + (f" (c'est une ressource « {recu} »)." if isinstance(recu, str) and recu else ".")
        )
    entrees = bundle.get("entry")
    if not isinstance(entrees, list) or not entrees:
        raise _refus("Le Bundle ne contient aucune entrée.")
    problemes, projets = [], 0
    for rang, entree in enumerate(entrees, start=1):
        ressource = entree.get("resource") if isinstance(entree, dict) else None
        if not isinstance(ressource, dict) or ressource.get("resourceType") not in TYPES_REPRIS:
            continue
        projets += ressource["resourceType"] == "CarePlan"
        probleme = _profil_attendu(rang, ressource)
        if probleme:
            problemes.append(probleme)
            continue
        try:
            valider(ressource, type_attendu=ressource["resourceType"])
        except ErreurFHIR as erreur:
            problemes.append(f"Entrée {rang} ({ressource['resourceType']}) invalide : {erreur}")
    if projets != 1:
        problemes.insert(
            0,
            "Le Bundle doit contenir un et un seul projet personnalisé (CarePlan) ; "
            + ("il n'en contient aucun." if projets == 0 else f"il en contient {projets}."),
        )
    if problemes:
        reste = len(problemes) - PROBLEMES_AFFICHES
        suite = [f"… et {reste} autres problèmes."] if reste > 0 else []
        raise _refus(*problemes[:PROBLEMES_AFFICHES], *suite)
    return bundle


def brouillon_vide(version: VersionPPA) -> bool:
    """Vrai si la version est un brouillon sans besoin ni objectif (elle peut recevoir une reprise)."""
    return (
        version.statut == StatutVersion.BROUILLON
        and not version.besoins.exists()
        and not version.objectifs.exists()
    )


@transaction.atomic
def reprendre_tddui(*, acteur: Acteur, version: VersionPPA, fichier: UploadedFile) -> VersionPPA:
    """Verse le Bundle TDDUI du fichier dans le brouillon vide `version` ; tout ou rien. Journalise
    la reprise (empreinte du fichier reçu) en plus des écritures des services."""
    usager = version.projet.usager
    exiger_ecriture(acteur, usager)
    contenu = _lire_octets(fichier)
    bundle = _decoder_bundle(contenu)
    try:
        reprise = importer_tddui(acteur=acteur, version=version, bundle=bundle)
    except AccesRefuse:
        raise
    except ValidationError as erreur:
        raise _refus(*erreur.messages) from None
    journaliser(
        acteur=acteur, action="ppa.reprise.tddui", objet=reprise, usager=usager,
        details={"sha256": hashlib.sha256(contenu).hexdigest(), "entrees": len(bundle["entry"])},
    )  # fmt: skip
    return reprise


def _chemin(type_mime: str) -> str:
    """Chemin impossible à deviner, sans rien de la personne ni du nom d'origine."""
    jeton = secrets.token_hex(16)
    return f"ppa/{jeton[:2]}/{jeton}{pj.EXTENSION[type_mime]}"


def joindre_document(
    *, acteur: Acteur, projet: ProjetPersonnalise, fichier: UploadedFile | None, description: str = ""
) -> DocumentPrecedent:
    """Joint au projet le document du projet précédent (PDF ou photo), contrôlé par
    `cahier_liaison.pieces_jointes.preparer_piece` ; le fichier écrit est effacé si la ligne ne
    l'est pas. Journalisé (nom, type, taille, empreinte ; jamais le contenu)."""
    usager = projet.usager
    exiger_ecriture(acteur, usager)
    if fichier is None:
        raise _refus("Choisissez le fichier du projet précédent (PDF ou photo).")
    if DocumentPrecedent.objects.filter(projet=projet).count() >= DOCUMENTS_PAR_PROJET:
        raise _refus(f"Ce projet a déjà {DOCUMENTS_PAR_PROJET} documents joints : c'est le maximum.")
    try:
        prete = pj.preparer_piece(fichier)
    except ValidationError as erreur:
        raise _refus(*erreur.message_dict[pj.CHAMP]) from None
    stockage = stockage_des_pieces()
    chemin = stockage.save(_chemin(prete.type_mime), ContentFile(prete.contenu))
    try:
        with transaction.atomic():
            document = DocumentPrecedent.objects.create(
                projet=projet, fichier=chemin, type_mime=prete.type_mime, taille=len(prete.contenu),
                sha256=prete.sha256, nom=prete.nom, description=(description or "").strip()[:200],
                ajoute_par=acteur.cle, ajoute_par_nom=acteur.nom,
            )  # fmt: skip
            journaliser(
                acteur=acteur, action="ppa.document_precedent.ajout", objet=document, usager=usager,
                au_nom_de=str(usager) if habilitations.agit_pour_l_usager(acteur, usager) else "",
                details={**prete.pour_journal(), "projet": str(projet.uuid)},
            )  # fmt: skip
    except BaseException:
        stockage.delete(chemin)
        raise
    return document
