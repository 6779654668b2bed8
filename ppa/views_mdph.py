"""Pages de la fiche de liaison MDPH (ppa/mdph.py ; ADR 0031) : les fiches d'une personne, préparer
une fiche depuis une version validée (saisie, aperçu, enregistrement), le consentement de la
personne, l'envoi, la fiche avec l'état de ses messages sortants, son PDF.

Vues minces : lire la saisie → `ppa.mdph` (droits par cercle/habilitations.py, lectures et
écritures journalisées) → afficher. Règle des refus d'ADR 0008, comme le cahier et l'agenda :
anonyme → connexion ; usager hors du monde de l'acteur → 404 ; sans `ppa` en lecture → 403
(journalisé) ; version ou fiche que l'acteur ne lit pas, ou d'une autre personne → 404 ; action
non permise → 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle import habilitations
from cercle.services import AccesRefuse
from cercle.views import _ajouter_erreurs, _refus_journalise, _usager
from ppa import mdph, selectors
from ppa.forms_mdph import ConsentementForm, FicheMDPHForm
from ppa.models import StatutFicheMDPH, StatutVersion


def _lecteur(request: HttpRequest, usager_uuid):
    """L'usager de l'adresse (404 hors du monde de l'acteur), dont l'acteur lit le projet (403)."""
    usager = _usager(request, usager_uuid)
    if not habilitations.peut(request.acteur, usager, "lire", mdph.DOMAINE):
        raise AccesRefuse(mdph.REFUS_LIRE)
    return usager


def _fiche(request: HttpRequest, usager, fiche_uuid):
    fiche = mdph.fiche_lisible(request.acteur, usager, fiche_uuid, request=request)
    if fiche is None:
        raise Http404("Fiche introuvable.")
    return fiche


@login_required
@require_GET
@_refus_journalise
def liste(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Les fiches de la personne, et les versions validées dont l'acteur peut en tirer une."""
    acteur = request.acteur
    usager = _lecteur(request, usager_uuid)
    fiches = mdph.fiches_lisibles(acteur, usager, request=request)
    validees = []
    for projet in selectors.projets_lisibles(acteur, usager, request=request):
        projet.usager = usager  # déjà chargée : pas de requête par projet
        for version in projet.versions_lues:
            if version.statut == StatutVersion.VALIDEE:
                version.projet = projet  # déjà chargé : pas de requête par version
                if mdph.peut_rediger(acteur, version):
                    validees.append(version)
    contexte = {"usager": usager, "fiches": fiches, "validees": validees}
    return render(request, "ppa/mdph_liste.html", contexte)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def nouvelle(request: HttpRequest, usager_uuid, version_uuid) -> HttpResponse:
    """Préparer une fiche : la saisie ; « Voir l'aperçu » contrôle et montre la fiche sans rien
    écrire ; « Enregistrer la fiche » la prépare (contenu figé), puis la page de la fiche."""
    acteur = request.acteur
    usager = _lecteur(request, usager_uuid)
    preparation = mdph.preparation(acteur, version_uuid, request=request)
    if preparation is None or preparation.version.version.projet.usager_id != usager.pk:
        raise Http404("Version introuvable.")
    version = preparation.version.version
    mdph.exiger_redacteur(acteur, version)
    form = FicheMDPHForm(request.POST or None, changements=preparation.changements)
    apercu, statut = None, 200
    if request.method == "POST":
        statut = 400
        if form.is_valid():
            try:
                if request.POST.get("etape") == "enregistrer":
                    fiche = mdph.preparer(acteur=acteur, preparation=preparation, **form.saisie())
                    messages.success(
                        request, "La fiche est prête. Elle attend le consentement de la personne pour partir."
                    )
                    return redirect("ppa:mdph_fiche", usager.uuid, fiche.uuid)
                apercu = mdph.verifier(preparation, **form.saisie())
                statut = 200
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
    contexte = {
        "usager": usager,
        "version": version,
        "preparation": preparation,
        "validee": version.statut == StatutVersion.VALIDEE,
        "form": form,
        "apercu": apercu,
    }
    return render(request, "ppa/mdph_nouvelle.html", contexte, status=statut)


@login_required
@require_GET
@_refus_journalise
def fiche(request: HttpRequest, usager_uuid, fiche_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _lecteur(request, usager_uuid)
    fiche = _fiche(request, usager, fiche_uuid)
    preparee = fiche.statut == StatutFicheMDPH.PREPAREE
    contexte = {
        "usager": usager,
        "fiche": fiche,
        "consentement": fiche.consentement_lu,
        "envois": mdph.messages(fiche),
        "peut_consentir": preparee and fiche.consentement_lu is None and mdph.peut_consentir(acteur, usager),
        "peut_envoyer": preparee and mdph.peut_rediger(acteur, fiche.version),
    }
    return render(request, "ppa/mdph_fiche.html", contexte)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def consentement(request: HttpRequest, usager_uuid, fiche_uuid) -> HttpResponse:
    """Le consentement de la personne (ou de son représentant légal) : le texte exact, puis
    « Je consens » ; le texte lu revient avec la réponse (s'il a changé, rien n'est enregistré)."""
    acteur = request.acteur
    usager = _lecteur(request, usager_uuid)
    fiche = _fiche(request, usager, fiche_uuid)
    mdph.qualite_consentant(acteur, usager)  # 403 pour qui ne consent pas pour la personne
    texte = mdph.texte_consentement(acteur, fiche)
    erreurs, statut = [], 200
    if request.method == "POST":
        statut, form = 400, ConsentementForm(request.POST)
        if not form.is_valid():
            erreurs = ["Le texte lu n'est pas revenu avec votre réponse : relisez-le, puis consentez."]
        else:
            try:
                mdph.consentir(acteur=acteur, fiche=fiche, texte_vu=form.cleaned_data["texte_vu"])
            except ValidationError as exc:
                erreurs = exc.messages
            else:
                messages.success(request, "Votre consentement est enregistré : la fiche peut partir.")
                return redirect("ppa:mdph_fiche", usager.uuid, fiche.uuid)
    contexte = {
        "usager": usager,
        "fiche": fiche,
        "texte": texte,
        "erreurs": erreurs,
        "form": ConsentementForm(initial={"texte_vu": texte}),  # le texte à lire maintenant
    }
    return render(request, "ppa/mdph_consentement.html", contexte, status=statut)


@login_required
@require_POST
@_refus_journalise
def envoyer(request: HttpRequest, usager_uuid, fiche_uuid) -> HttpResponse:
    usager = _lecteur(request, usager_uuid)
    fiche = _fiche(request, usager, fiche_uuid)
    try:
        mdph.envoyer(acteur=request.acteur, fiche=fiche)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, "La fiche part à la MDPH par MSSanté et au DMP : suivez ci-dessous l'état des envois."
        )
    return redirect("ppa:mdph_fiche", usager.uuid, fiche.uuid)


@login_required
@require_GET
@_refus_journalise
def fiche_pdf(request: HttpRequest, usager_uuid, fiche_uuid) -> HttpResponse:
    usager = _lecteur(request, usager_uuid)
    fiche = _fiche(request, usager, fiche_uuid)
    contenu = mdph.pdf(fiche, edite_par=request.acteur.nom)
    reponse = HttpResponse(contenu, content_type="application/pdf")
    reponse["Content-Disposition"] = f'attachment; filename="fiche-liaison-mdph-{fiche.cree_le:%Y%m%d}.pdf"'
    return reponse
