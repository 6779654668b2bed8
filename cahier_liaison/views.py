"""Pages du cahier de liaison : le fil d'un usager (filtres, pagination par clé, non-lus), écrire,
le fil d'une note (réponses, modifier, historique, retirer, accuser réception, solliciter),
« tout marquer comme lu », et le fragment HTML d'une note que la page va chercher quand le flux
temps réel (views_flux.py) annonce une écriture.

Vues minces : lire la saisie → sélecteur ou service → afficher. Les droits viennent de
cercle/habilitations.py par les sélecteurs et services du cahier ; règle des refus d'ADR 0008 :
usager hors du monde de l'acteur → 404 ; sans droit sur le cahier → 403 (journalisé) ; note que
l'acteur ne peut pas lire (visibilité) → 404, comme une note qui n'existe pas."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cahier_liaison import forms, selectors, services
from cahier_liaison import pieces_jointes as pj
from cahier_liaison.models import NatureSollicitation, Note
from cercle import habilitations
from cercle.services import AccesRefuse
from cercle.views import _ajouter_erreurs, _est_htmx, _refus_journalise, _usager
from coordination.comptes.acteur import TypeActeur
from coordination.journal.lectures import noter_lecture

DOMAINE = selectors.DOMAINE
REFUS_LIRE = "Vous n'avez pas accès au cahier de liaison de cette personne."
# En-tête posé par le script du fil pour ne recevoir que la liste des notes (reconnexion du flux).
EN_TETE_LISTE = "X-Cahier-Liste"


# --- Outils ---------------------------------------------------------------------------------------


def _exiger(request: HttpRequest, usager, action: str, message: str) -> None:
    if not habilitations.peut(request.acteur, usager, action, DOMAINE):
        raise AccesRefuse(message)


def _cahier(request: HttpRequest, usager_uuid, action: str = "lire"):
    """L'usager de l'adresse (404 s'il n'est pas dans le monde de l'acteur), dont l'acteur peut
    lire le cahier (403 sinon) ; `action="ecrire"` exige aussi l'écriture."""
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "lire", REFUS_LIRE)
    if action == "ecrire":
        _exiger(request, usager, "ecrire", services.REFUS_ECRIRE)
    return usager


def _note(request: HttpRequest, usager, note_uuid) -> Note:
    """La note de l'adresse, si l'acteur peut la lire ; sinon 404 (elle n'existe pas pour lui)."""
    note = selectors.note_visible(request.acteur, usager, note_uuid)
    if note is None:
        raise Http404("Note introuvable.")
    return note


def _url_note(note: Note) -> str:
    origine = note.reponse_a if note.reponse_a_id else note
    adresse = reverse("cahier_liaison:note", args=[note.usager.uuid, origine.uuid])
    return adresse if origine is note else f"{adresse}#note-{note.uuid}"


def _saisie(request: HttpRequest):
    """Les données postées (même vides : un POST vide est une saisie à refuser), ou None en GET."""
    return request.POST if request.method == "POST" else None


def _forme_simple(acteur) -> bool:
    """L'usager et ses proches écrivent avec la forme simple (type, texte, moment, urgence)."""
    return acteur.type in (TypeActeur.USAGER, TypeActeur.PROCHE)


def _droits_sur(request: HttpRequest, usager) -> dict:
    acteur = request.acteur
    return {
        "peut_ecrire": habilitations.peut(acteur, usager, "ecrire", DOMAINE),
        "peut_gerer": habilitations.peut(acteur, usager, "gerer", DOMAINE),
    }


def _soumettre(request: HttpRequest, form, action, *, succes: str, suite: str, gabarit: str, contexte: dict):
    """Page d'un formulaire : en POST valide, `action(donnees)` appelle le service ; son refus de
    saisie revient sous les champs (400, saisie gardée) ; la réussite redirige vers `suite`."""
    statut = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                action(form.cleaned_data)
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
                for cache in form.hidden_fields():  # une erreur d'un champ caché se lit en tête
                    if cache.errors:
                        form.add_error(None, list(cache.errors))
            else:
                messages.success(request, succes)
                return redirect(suite)
        statut = 400
    return render(request, gabarit, {**contexte, "form": form}, status=statut)


def _lu(request: HttpRequest, usager, objet=None, **details) -> None:
    noter_lecture(request, usager=usager, objet=objet, action="cahier.lecture", details=details or None)


# --- Le fil ---------------------------------------------------------------------------------------


@login_required
@require_GET
@_refus_journalise
def fil(request: HttpRequest, usager_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _cahier(request, usager_uuid)
    auteurs, structures = selectors.choix_des_filtres(acteur, usager)
    filtres_form = forms.FiltresCahierForm(request.GET, auteurs=auteurs, structures=structures)
    filtres_form.is_valid()
    filtres = filtres_form.filtres()
    avant = request.GET.get("avant") or None
    if avant and not _est_uuid(avant):
        avant = None
    page = selectors.page_du_fil(acteur, usager, filtres=filtres, avant=avant)
    _lu(request, usager, notes=len(page.notes))
    parametres = request.GET.copy()
    parametres.pop("avant", None)
    contexte = {
        "usager": usager,
        "page": page,
        "filtres_form": filtres_form,
        "filtre": bool(filtres),
        "avant": avant,
        "parametres": parametres.urlencode(),
        **_droits_sur(request, usager),
    }
    if request.headers.get(EN_TETE_LISTE):
        return render(request, "cahier_liaison/_liste.html", contexte)
    return render(request, "cahier_liaison/fil.html", contexte)


def _est_uuid(valeur: str) -> bool:
    import uuid

    try:
        uuid.UUID(valeur)
    except ValueError:
        return False
    return True


@login_required
@require_GET
@_refus_journalise
def fragment(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    """La carte d'une note du fil (pour une réponse : la carte de sa note d'origine), telle que
    l'acteur peut la voir ; 404 s'il ne peut pas la lire. Le script du fil l'insère en tête."""
    acteur = request.acteur
    usager = _cahier(request, usager_uuid)
    note = _note(request, usager, note_uuid)
    if note.reponse_a_id:
        note = _note(request, usager, note.reponse_a.uuid)
    _lu(request, usager, objet=note)
    contexte = {
        "usager": usager,
        "note": note,
        **asdict(selectors.etat_de_lecture(acteur, usager)),
        **_droits_sur(request, usager),
    }
    return render(request, "cahier_liaison/_fragment.html", contexte)


@login_required
@require_POST
@_refus_journalise
def marquer_lu(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _cahier(request, usager_uuid)
    jusqu_au = parse_datetime(request.POST.get("jusqu_au", ""))
    services.marquer_lu(acteur=request.acteur, usager=usager, jusqu_au=jusqu_au)
    messages.success(request, "Toutes les notes sont marquées comme lues.")
    return redirect("cahier_liaison:fil", usager.uuid)


# --- Écrire ---------------------------------------------------------------------------------------


def _pieces(request: HttpRequest) -> dict:
    """Les fichiers reçus et les messages de ceux écartés à la réception (trop gros)."""
    if request.method != "POST":
        return {}
    return {"files": request.FILES, "ecartes": pj.fichiers_ecartes(request)}


@pj.televersement_limite
@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def ecrire(request: HttpRequest, usager_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _cahier(request, usager_uuid, "ecrire")
    form = forms.NoteForm(
        _saisie(request), acteur=acteur, usager=usager, simple=_forme_simple(acteur), **_pieces(request)
    )
    statut = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                note = services.ecrire_et_solliciter(
                    acteur=acteur, usager=usager, **form.champs_note(), **form.destinataires()
                )
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
            else:
                messages.success(request, "Votre note est dans le cahier de liaison.")
                return redirect(_url_note(note))
        statut = 400
    return render(request, "cahier_liaison/ecrire.html", {"usager": usager, "form": form}, status=statut)


# --- Le fil d'une note ----------------------------------------------------------------------------


def _afficher_note(request: HttpRequest, usager, note: Note, *, reponse_form=None, statut: int = 200):
    acteur = request.acteur
    droits = _droits_sur(request, usager)
    if reponse_form is None and droits["peut_ecrire"] and note.active:
        reponse_form = forms.NoteForm(
            acteur=acteur,
            usager=usager,
            simple=_forme_simple(acteur),
            sollicitations=False,
            initial={"visibilite": note.visibilite},  # une réponse garde la visibilité d'origine
        )
    reponses = selectors.fil_de(acteur, note)
    _lu(request, usager, objet=note, reponses=len(reponses))
    contexte = {
        "usager": usager,
        "note": note,
        "reponses": reponses,
        "reponse_form": reponse_form if note.active else None,
        "lu_jusqu_au": selectors.lu_jusqu_au(acteur, usager),
        "est_auteur": selectors.est_auteur(acteur, note),
        "peut_retirer": selectors.peut_desactiver(acteur, note),
        **droits,
    }
    return render(request, "cahier_liaison/note.html", contexte, status=statut)


@login_required
@require_GET
@_refus_journalise
def note(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    if la_note.reponse_a_id:
        return redirect(_url_note(la_note))
    return _afficher_note(request, usager, la_note)


@pj.televersement_limite
@login_required
@require_POST
@_refus_journalise
def repondre(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _cahier(request, usager_uuid)
    origine = _note(request, usager, note_uuid)
    _exiger(request, usager, "ecrire", services.REFUS_ECRIRE)
    form = forms.NoteForm(
        request.POST,
        acteur=acteur,
        usager=usager,
        simple=_forme_simple(acteur),
        sollicitations=False,
        **_pieces(request),
    )
    if form.is_valid():
        champs = form.champs_note()
        if not request.POST.get("visibilite"):
            champs["visibilite"] = origine.visibilite  # une réponse garde la visibilité d'origine
        try:
            reponse = services.ecrire_et_solliciter(acteur=acteur, usager=usager, reponse_a=origine, **champs)
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, "Votre réponse est ajoutée au fil.")
            return redirect(_url_note(reponse))
    return _afficher_note(request, usager, origine, reponse_form=form, statut=400)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def modifier(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    _exiger(request, usager, "ecrire", services.REFUS_ECRIRE)
    if not selectors.est_auteur(acteur, la_note):
        raise AccesRefuse("Seul l'auteur d'une note peut la modifier.")
    if not la_note.active:
        messages.error(request, "Cette note a été retirée : elle ne peut plus être modifiée.")
        return redirect(_url_note(la_note))
    form = forms.ModificationForm(
        _saisie(request), acteur=acteur, usager=usager, note=la_note, simple=_forme_simple(acteur)
    )
    return _soumettre(
        request,
        form,
        lambda donnees: services.modifier_note(
            acteur=acteur, note=la_note, version_lue=donnees["version"], **form.champs_note()
        ),
        succes="La note est modifiée ; la version précédente est gardée.",
        suite=_url_note(la_note),
        gabarit="cahier_liaison/modifier.html",
        contexte={"usager": usager, "note": la_note},
    )


@login_required
@require_GET
@_refus_journalise
def historique(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    versions = selectors.historique_note(request.acteur, la_note)
    _lu(request, usager, objet=la_note, versions=len(versions))
    contexte = {"usager": usager, "note": la_note, "versions": versions, "libelles": LIBELLES_CHAMPS}
    return render(request, "cahier_liaison/historique.html", contexte)


LIBELLES_CHAMPS = {
    "type": "type",
    "texte": "texte",
    "cible": "cible",
    "donnees": "données",
    "actions": "actions",
    "resultats": "résultats",
    "urgente": "urgence",
    "visibilite": "visibilité",
    "survenue_le": "moment observé",
}


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def retirer(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    """Retirer (désactiver) une note : page de confirmation avec motif obligatoire."""
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    if not selectors.peut_desactiver(request.acteur, la_note):
        raise AccesRefuse(
            "Seuls l'auteur de la note et les personnes qui gèrent ce cahier peuvent la retirer."
        )
    return _soumettre(
        request,
        forms.RetraitForm(_saisie(request)),
        lambda donnees: services.desactiver_note(acteur=request.acteur, note=la_note, motif=donnees["motif"]),
        succes="La note est retirée ; le motif s'affiche à sa place.",
        suite=_url_note(la_note),
        gabarit="cahier_liaison/retirer.html",
        contexte={"usager": usager, "note": la_note},
    )


@login_required
@require_POST
@_refus_journalise
def accuser(request: HttpRequest, usager_uuid, note_uuid) -> HttpResponse:
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    try:
        services.accuser_reception(acteur=request.acteur, note=la_note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _afficher_note(request, usager, la_note.reponse_a or la_note, statut=400)
    messages.success(request, "Vous avez accusé réception de la note.")
    return redirect(_url_note(la_note))


TEXTES_SOLLICITATION = {
    NatureSollicitation.ACCUSE: {
        "titre": "Demander un accusé de réception",
        "explication": "Chaque personne cochée devra confirmer qu'elle a lu cette note.",
        "bouton": "Demander l'accusé de réception",
        "succes": "La demande d'accusé de réception est envoyée.",
    },
    NatureSollicitation.ALERTE: {
        "titre": "Alerter sur cette note",
        "explication": "Chaque personne cochée est prévenue tout de suite de cette note.",
        "bouton": "Alerter",
        "succes": "L'alerte est envoyée.",
    },
}


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def solliciter(request: HttpRequest, usager_uuid, note_uuid, nature: str) -> HttpResponse:
    """Demander un accusé de réception, ou alerter, après coup."""
    acteur = request.acteur
    usager = _cahier(request, usager_uuid)
    la_note = _note(request, usager, note_uuid)
    _exiger(request, usager, "ecrire", services.REFUS_ECRIRE)
    textes = TEXTES_SOLLICITATION[nature]
    service = services.demander_accuse if nature == NatureSollicitation.ACCUSE else services.alerter

    def solliciter_les(donnees) -> None:
        try:
            service(acteur=acteur, note=la_note, destinataires=donnees["membres"])
        except ValidationError as exc:
            raise ValidationError({"membres": exc.messages}) from exc  # sous les cases à cocher

    return _soumettre(
        request,
        forms.SollicitationForm(_saisie(request), acteur=acteur, usager=usager),
        solliciter_les,
        succes=textes["succes"],
        suite=_url_note(la_note),
        gabarit="cahier_liaison/solliciter.html",
        contexte={"usager": usager, "note": la_note, "textes": textes},
    )


# --- Chercher dans tous mes cahiers ---------------------------------------------------------------

LIMITE_RECHERCHE = 50


@login_required
@require_GET
def recherche(request: HttpRequest) -> HttpResponse:
    """Chercher dans tous les cahiers que l'acteur peut lire (ADR 0018) : les notes les plus
    récentes d'abord, avec l'usager, l'auteur et un extrait où les mots trouvés sont surlignés."""
    form = forms.FiltresCahierForm(request.GET)
    form.is_valid()
    filtres = form.filtres()
    texte = filtres.pop("texte", "")
    notes = selectors.rechercher_dans_mes_cahiers(
        request.acteur, texte, filtres=filtres, limite=LIMITE_RECHERCHE
    )
    for note in notes:
        noter_lecture(request, usager=note.usager, objet=note, action="cahier.recherche")
        # La page d'une note ouvre aussi une réponse (sans relire sa note d'origine).
        note.lien = reverse("cahier_liaison:note", args=[note.usager.uuid, note.uuid])
    contexte = {"form": form, "texte": texte, "notes": notes, "limite": LIMITE_RECHERCHE}
    gabarit = (
        "cahier_liaison/_resultats_recherche.html" if _est_htmx(request) else "cahier_liaison/recherche.html"
    )
    return render(request, gabarit, contexte)
