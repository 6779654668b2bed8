"""Pages de suivi du projet personnalisé (ticket 7, points 3, 5, 6 et 7) : les versions d'un projet,
le différentiel côte à côte entre deux versions, les exports (PDF facile à lire, PDF complet, Bundle
TDDUI), la reprise d'un projet précédent (Bundle TDDUI dans un brouillon vide, ou document joint)
et les revues à faire d'une structure.

Vues minces : lire la saisie → sélecteur (`ppa.selectors_suivi`, `ppa.selectors`) ou service
(`ppa.reprise`) → afficher. Règle des refus (ADR 0008) : anonyme → connexion ; usager hors du
monde de l'acteur → 404 ; sans `ppa` en lecture → 403 journalisé ; projet, version ou document d'un
autre dossier → 404 ; écrire sans `ppa` en écriture → 403 ; saisie refusée → 400, message en
français sous le champ, rien d'écrit."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from agenda.recurrence import decrire_regle
from cahier_liaison import pieces_jointes as pj
from cercle import habilitations
from cercle.models import Domaine
from cercle.views import _ajouter_erreurs, _refus_journalise, _usager
from ppa import exports, fhir, forms_suivi, reprise, selectors, selectors_suivi
from ppa.models import AvisUsager

# --- Outils ---------------------------------------------------------------------------------------


def _dossier(request: HttpRequest, usager_uuid):
    """L'usager de l'adresse (404 hors du monde de l'acteur) dont l'acteur lit le PPA (403 sinon)."""
    usager = _usager(request, usager_uuid)
    selectors_suivi.exiger_lecture(request.acteur, usager)
    return usager


def _sans_cache(reponse: HttpResponse) -> HttpResponse:
    reponse["Cache-Control"] = "private, no-store"
    reponse["X-Content-Type-Options"] = "nosniff"
    return reponse


def _url_versions(projet) -> str:
    return reverse("ppa:versions", args=[projet.usager.uuid, projet.uuid])


# --- Versions d'un projet -------------------------------------------------------------------------


@login_required
@require_GET
@_refus_journalise
def versions(request: HttpRequest, usager_uuid, projet_uuid) -> HttpResponse:
    """Les versions du projet (numéro, état, dates, accords, avenant de laquelle), leurs exports,
    la comparaison, et les projets précédents joints."""
    usager = _dossier(request, usager_uuid)
    projet = selectors_suivi.projet_et_versions(request.acteur, usager, projet_uuid, request=request)
    if projet is None:
        raise Http404("Projet introuvable.")
    contexte = {
        "usager": usager,
        "projet": projet,
        "versions": projet.versions_lues,
        "documents": projet.documents_lus,
        "peut_ecrire": habilitations.peut(request.acteur, usager, "ecrire", Domaine.PPA),
    }
    return render(request, "ppa/suivi_versions.html", contexte)


# --- Différentiel ---------------------------------------------------------------------------------

LIBELLES = {
    "attentes": "Attentes de la personne",
    "projet_de_vie": "Projet de vie",
    "debut": "Début de la période",
    "fin": "Fin de la période",
    "libelle": "Besoin",
    "code_serafin": "Code SERAFIN-PH",
    "precision": "Précisions",
    "titre": "Objectif",
    "resultat_attendu": "Résultat attendu",
    "strategie": "Stratégie de mise en œuvre",
    "date_cible": "Date visée",
    "besoins": "Besoins visés",
    "avis_usager": "Avis de la personne",
    "commentaire_usager": "Ce qu'en dit la personne",
    "quoi": "Action",
    "objectif": "Pour l'objectif",
    "intervenant": "Qui",
    "ou": "Où",
    "frequence": "Fréquence",
    "duree_minutes": "Durée",
    "code_prestation": "Prestation SERAFIN-PH",
}
ETATS = {"ajoute": "Ajouté", "retire": "Retiré", "modifie": "Modifié"}
PLURIELS = {"ajoute": "ajouté", "retire": "retiré", "modifie": "modifié"}


def _en_clair(champ: str, valeur) -> str:
    """Une valeur telle qu'on la lit : date en français, liste en phrase, fréquence en clair."""
    if valeur in (None, "", [], ()):
        return ""
    if isinstance(valeur, dt.date):
        return f"{valeur:%d/%m/%Y}"
    if isinstance(valeur, list | tuple):
        return ", ".join(str(v) for v in valeur)
    if champ == "frequence":
        return decrire_regle(str(valeur))
    if champ == "duree_minutes":
        return f"{valeur} min"
    return str(valeur)


@dataclass
class Ligne:
    """Un champ d'un élément : son libellé et sa valeur avant et après (vides si absent)."""

    libelle: str
    avant: str = ""
    apres: str = ""


@dataclass
class Bloc:
    """Un élément ajouté, retiré ou modifié (ou les paroles et la période de la version)."""

    etat: str
    titre: str
    lignes: list[Ligne] = field(default_factory=list)

    @property
    def etiquette(self) -> str:
        return ETATS[self.etat]


def _champs_besoin(besoin) -> dict:
    return {"libelle": besoin.libelle, "code_serafin": besoin.code_serafin, "precision": besoin.precision}


def _champs_objectif(objectif) -> dict:
    avis = objectif.get_avis_usager_display() if objectif.avis_usager != AvisUsager.SANS_AVIS else ""
    return {
        "titre": objectif.titre,
        "resultat_attendu": objectif.resultat_attendu,
        "strategie": objectif.strategie,
        "date_cible": objectif.date_cible,
        "besoins": [b.libelle for b in objectif.besoins_vises],
        "avis_usager": avis,
        "commentaire_usager": objectif.commentaire_usager,
    }


def _champs_action(action) -> dict:
    qui = action.intervenant.nom_affiche if action.intervenant_id else action.intervenant_libelle
    return {
        "quoi": action.quoi,
        "objectif": action.objectif.titre,
        "intervenant": qui,
        "ou": action.ou,
        "frequence": action.frequence,
        "duree_minutes": action.duree_minutes,
        "code_prestation": action.code_prestation,
    }


SECTIONS = (
    ("besoins", "Besoins", _champs_besoin, "libelle"),
    ("objectifs", "Objectifs", _champs_objectif, "titre"),
    ("actions", "Actions", _champs_action, "quoi"),
)


def _bloc_entier(etat: str, element, champs, cle_titre: str) -> Bloc:
    valeurs = champs(element)
    lignes = [
        Ligne(LIBELLES[nom], **{("avant" if etat == "retire" else "apres"): _en_clair(nom, valeur)})
        for nom, valeur in valeurs.items()
        if _en_clair(nom, valeur)
    ]
    return Bloc(etat, str(valeurs[cle_titre]), lignes)


def _bloc_modifie(modification, champs, cle_titre: str) -> Bloc:
    lignes = [
        Ligne(LIBELLES[c.champ], _en_clair(c.champ, c.avant), _en_clair(c.champ, c.apres))
        for c in modification.changements
    ]
    return Bloc("modifie", str(champs(modification.apres)[cle_titre]), lignes)


def presenter(differentiel) -> list[dict]:
    """Les sections du différentiel telles que la page les montre : paroles et période, besoins,
    objectifs, actions ; chacune avec ses blocs (retirés, modifiés, ajoutés) et ses comptes."""
    sections = []
    paroles = [
        Ligne(LIBELLES[c.champ], _en_clair(c.champ, c.avant), _en_clair(c.champ, c.apres))
        for c in differentiel.version
    ]
    sections.append(
        {
            "cle": "paroles",
            "titre": "Attentes, projet de vie et période",
            "blocs": [Bloc("modifie", "Paroles de la personne et période", paroles)] if paroles else [],
            "comptes": {"modifie": 1 if paroles else 0},
        }
    )
    for cle, titre, champs, cle_titre in SECTIONS:
        section = getattr(differentiel, cle)
        blocs = [_bloc_entier("retire", e, champs, cle_titre) for e in section.retires]
        blocs += [_bloc_modifie(m, champs, cle_titre) for m in section.modifies]
        blocs += [_bloc_entier("ajoute", e, champs, cle_titre) for e in section.ajoutes]
        comptes = {
            "ajoute": len(section.ajoutes), "retire": len(section.retires), "modifie": len(section.modifies)
        }  # fmt: skip
        sections.append({"cle": cle, "titre": titre, "blocs": blocs, "comptes": comptes})
    for section in sections:
        section["resume"] = ", ".join(
            f"{n} {PLURIELS[etat]}{'s' if n > 1 else ''}" for etat, n in section["comptes"].items() if n
        )
    return sections


def _versions_par_defaut(liste: list) -> tuple[str, str]:
    """Après : la plus récente ; avant : celle dont elle dérive, sinon la précédente (ou elle-même)."""
    apres = liste[0]
    return str((apres.comparer_avec or apres).uuid), str(apres.uuid)


@login_required
@require_GET
@_refus_journalise
def comparer(request: HttpRequest, usager_uuid, projet_uuid) -> HttpResponse:
    """Deux versions du projet côte à côte (avant | après), par défaut la plus récente et celle
    dont elle dérive. Requêtes constantes, quelle que soit la taille des versions."""
    acteur = request.acteur
    usager = _dossier(request, usager_uuid)
    projet = selectors_suivi.projet_et_versions(acteur, usager, projet_uuid, request=request, details=False)
    if projet is None:
        raise Http404("Projet introuvable.")
    liste = projet.versions_lues
    avant, apres = _versions_par_defaut(liste)
    saisie = request.GET if "avant" in request.GET or "apres" in request.GET else None
    if saisie is not None and "avant" in saisie and "apres" not in saisie:  # « cette version et … »
        saisie = {"avant": saisie["avant"], "apres": apres}
    form = forms_suivi.ComparerForm(saisie, versions=liste, initial={"avant": avant, "apres": apres})
    contexte = {"usager": usager, "projet": projet, "versions": liste, "form": form}
    if saisie is not None:
        if not form.is_valid():
            return render(request, "ppa/suivi_comparer.html", contexte, status=400)
        avant, apres = form.cleaned_data["avant"], form.cleaned_data["apres"]
    differentiel = selectors.differentiel_lisible(acteur, avant, apres, request=request)
    if differentiel is None:  # les deux versions viennent d'être lues dans ce projet lisible
        raise Http404("Version introuvable.")
    contexte.update(differentiel=differentiel, sections=presenter(differentiel))
    return render(request, "ppa/suivi_comparer.html", contexte)


# --- Exports --------------------------------------------------------------------------------------

FORMES = {
    "facile": ("projet-facile-a-lire", "pdf", "application/pdf"),
    "complet": ("projet-complet", "pdf", "application/pdf"),
    "tddui": ("projet-tddui", "json", "application/fhir+json; charset=utf-8"),
}


@login_required
@require_GET
@_refus_journalise
def export(request: HttpRequest, usager_uuid, version_uuid, forme: str) -> HttpResponse:
    """Le fichier d'une version : PDF facile à lire, PDF complet ou Bundle TDDUI ; journalisé."""
    usager = _dossier(request, usager_uuid)
    charge = selectors_suivi.contenu_a_exporter(request.acteur, usager, version_uuid, forme, request=request)
    if charge is None:
        raise Http404("Version introuvable.")
    prefixe, extension, type_mime = FORMES[forme]
    edite_par = f"{request.acteur.nom} ({request.acteur.qualite})"
    if forme == "tddui":
        contenu = json.dumps(fhir.bundle_tddui(charge), ensure_ascii=False, indent=2).encode()
    elif forme == "facile":
        contenu = exports.pdf_facile_a_lire(charge, edite_par=edite_par)
    else:
        contenu = exports.pdf_complet(charge, edite_par=edite_par)
    version = charge.version
    # Comme l'export du cahier : rien de la personne dans le nom, sinon la date et le numéro.
    nom = f"{prefixe}-v{version.numero}-{timezone.localdate():%Y%m%d}.{extension}"
    reponse = HttpResponse(contenu, content_type=type_mime)
    reponse["Content-Disposition"] = f'attachment; filename="{nom}"'
    return _sans_cache(reponse)


# --- Reprise d'un projet précédent ----------------------------------------------------------------


@pj.televersement_limite
@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def reprise_tddui(request: HttpRequest, usager_uuid, version_uuid) -> HttpResponse:
    """Verser le Bundle TDDUI d'un projet précédent dans un brouillon encore vide."""
    usager = _dossier(request, usager_uuid)
    version = selectors_suivi.version_du_dossier(request.acteur, usager, version_uuid, request=request)
    if version is None:
        raise Http404("Version introuvable.")
    reprise.exiger_ecriture(request.acteur, usager)
    vide = reprise.brouillon_vide(version)
    form = forms_suivi.RepriseTdduiForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    statut = 200
    if request.method == "POST":
        ecartes = getattr(request, pj.ECARTES, [])
        if ecartes:
            form.is_valid()
            limite = pj.en_mega_octets(reprise.TAILLE_MAX_BUNDLE)
            form.errors.pop("fichier", None)
            form.add_error("fichier", f"Le fichier est trop gros ; {limite} au plus.")
        elif form.is_valid():
            try:
                reprise.reprendre_tddui(
                    acteur=request.acteur, version=version, fichier=form.cleaned_data["fichier"]
                )
            except ValidationError as erreur:
                _ajouter_erreurs(form, erreur)
            else:
                messages.success(
                    request,
                    f"Le projet précédent est repris dans le brouillon (version {version.numero}). "
                    "Relisez-le avec la personne : ni les accords ni les avis ne sont repris.",
                )
                return redirect(_url_versions(version.projet))
        statut = 400
    contexte = {"usager": usager, "version": version, "projet": version.projet, "form": form, "vide": vide}
    return render(request, "ppa/suivi_reprise.html", contexte, status=statut)


@pj.televersement_limite
@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def document_ajouter(request: HttpRequest, usager_uuid, projet_uuid) -> HttpResponse:
    """Joindre au projet le document (PDF, photo) du projet d'une structure précédente."""
    usager = _dossier(request, usager_uuid)
    projet = selectors_suivi.projet_et_versions(
        request.acteur, usager, projet_uuid, request=request, details=False
    )
    if projet is None:
        raise Http404("Projet introuvable.")
    reprise.exiger_ecriture(request.acteur, usager)
    form = forms_suivi.DocumentPrecedentForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    statut = 200
    if request.method == "POST":
        ecartes = pj.fichiers_ecartes(request)
        if ecartes:
            form.is_valid()
            form.errors.pop("fichier", None)
            form.add_error("fichier", ecartes)
        elif form.is_valid():
            try:
                document = reprise.joindre_document(
                    acteur=request.acteur, projet=projet, fichier=form.cleaned_data["fichier"],
                    description=form.cleaned_data["description"],
                )  # fmt: skip
            except ValidationError as erreur:
                _ajouter_erreurs(form, erreur)
            else:
                messages.success(request, f"« {document.nom} » est joint au projet.")
                return redirect(_url_versions(projet))
        statut = 400
    contexte = {
        "usager": usager,
        "projet": projet,
        "form": form,
        "taille_max": pj.en_mega_octets(settings.CAHIER_PIECE_TAILLE_MAX),
    }
    return render(request, "ppa/suivi_document_ajouter.html", contexte, status=statut)


@login_required
@require_GET
@_refus_journalise
def document(request: HttpRequest, usager_uuid, projet_uuid, document_uuid) -> HttpResponse:
    """Le fichier d'un projet précédent joint : image affichée, PDF téléchargé ; journalisé."""
    usager = _dossier(request, usager_uuid)
    piece = selectors_suivi.document_lisible(
        request.acteur, usager, projet_uuid, document_uuid, request=request
    )
    if piece is None:
        raise Http404("Document introuvable.")
    reponse = FileResponse(
        piece.fichier.open("rb"),
        content_type=piece.type_mime,
        as_attachment=not piece.est_image,
        filename=piece.nom,
    )
    # Comme les pièces du cahier : rien de ce qui est servi ne s'exécute.
    reponse["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    reponse["Cross-Origin-Resource-Policy"] = "same-origin"
    return _sans_cache(reponse)


# --- Revues d'une structure -----------------------------------------------------------------------


@login_required
@require_GET
def revues(request: HttpRequest) -> HttpResponse:
    """Les projets de la structure du professionnel en retard de revue ou à revoir dans les 30
    jours (requêtes constantes). Réservé aux professionnels qui exercent dans une structure (403)."""
    structure, a_faire = selectors_suivi.revues_de_ma_structure(request.acteur, request=request)
    aujourd_hui = timezone.localdate()
    lignes = [
        {
            "revue": revue,
            "jours": abs((revue.echeance - aujourd_hui).days),
            "url": _url_versions(revue.projet),
        }
        for revue in a_faire
    ]
    contexte = {
        "structure": structure,
        "en_retard": [ligne for ligne in lignes if ligne["revue"].en_retard],
        "bientot": [ligne for ligne in lignes if not ligne["revue"].en_retard],
        "aujourd_hui": aujourd_hui,
    }
    return render(request, "ppa/suivi_revues.html", contexte)
