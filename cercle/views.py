"""Pages du cercle : « Mes usagers », le cercle d'un usager (« Mon cercle » vu de son côté), ajout et
retrait de membres, droits (choisir → relire le texte exact → confirmer), délégations, demandes
d'adhésion, « Qui a consulté mon dossier », preuve imprimable d'un retrait.

Vues minces : lire la saisie → sélecteur ou service → afficher. Les décisions d'accès viennent de
cercle/habilitations.py (par les sélecteurs, les services, ou `peut()` avant d'afficher un
formulaire) ; les gabarits n'en prennent aucune. Règle des refus (ADR 0008) : un usager hors du
monde de l'acteur, ou un objet qui n'est pas dans son cercle, donne 404 ; un usager connu mais une
action non permise donne 403 (`AccesRefuse`)."""

from __future__ import annotations

import datetime as dt
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cahier_liaison import selectors as cahier_selectors
from cercle import forms, habilitations, preuves, recherche, selectors, services
from cercle.historique import TAILLE_MAX, HistoriqueIllisible
from cercle.models import (
    Consentement,
    Delegation,
    DemandeAdhesion,
    Domaine,
    Habilitation,
    Membre,
    Niveau,
    OrigineHabilitation,
    StatutDelegation,
    StatutMembre,
    TypeMembre,
)
from cercle.roles import roles_pour
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur
from coordination.journal.lectures import noter_lecture
from coordination.journal.libelles import libelle_action, libelle_type_acteur
from coordination.personnes.models import Exercice, Proche, Structure, Usager

PAR_PAGE = 20
NIVEAU_EN_MOTS = {
    Niveau.LECTURE: "consulter",
    Niveau.ECRITURE: "consulter et compléter",
    Niveau.GESTION: "consulter, compléter et gérer",
}
GROUPES = (
    (TypeMembre.PROFESSIONNEL, "Professionnels"),
    (TypeMembre.STRUCTURE, "Structures"),
    (TypeMembre.PROCHE, "Proches"),
    (TypeMembre.AUTRE, "Autres personnes"),
)
MESSAGE_GESTION = (
    "Seuls la personne accompagnée, son représentant légal ou le gestionnaire du cercle peuvent faire cela."
)


# --- Outils communs -------------------------------------------------------------------------------


# Attribut de la requête qui porte l'usager de l'adresse, une fois reconnu (pour `_refus_journalise`).
USAGER_RECONNU = "_cercle_usager_reconnu"


def _usager(request: HttpRequest, usager_uuid) -> Usager:
    usager = selectors.usager_connu(request.acteur, usager_uuid)
    if usager is None:
        raise Http404("Usager introuvable.")
    setattr(request, USAGER_RECONNU, usager)
    return usager


def _refus_journalise(vue):
    """Journalise chaque refus (403) d'une page ou d'une action portant sur un usager que l'acteur
    connaît (`services.noter_refus`, action `cercle.acces_refuse`, avec la route et la méthode) :
    l'usager et les audits voient les tentatives dans « Qui a consulté mon dossier ».

    Les 404 ne le sont pas, volontairement : l'usager de l'adresse n'est pas dans le monde de
    l'acteur (ou n'existe pas), et écrire la tentative dans son journal mettrait dans « Qui a
    consulté » des inconnus qui essaient des UUID, au gré de n'importe quel compte — du bruit qui
    noierait les vraies consultations, sans rien apprendre à l'usager. Les refus sans usager dans
    l'adresse (« Mes usagers » pour un non-professionnel) ne concernent aucun dossier. L'anonyme est
    renvoyé vers la connexion avant toute décision."""

    @wraps(vue)
    def enveloppe(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return vue(request, *args, **kwargs)
        except PermissionDenied as exc:
            usager = getattr(request, USAGER_RECONNU, None)
            if usager is not None:
                services.noter_refus(
                    acteur=request.acteur,
                    usager=usager,
                    route=request.resolver_match.view_name if request.resolver_match else request.path,
                    methode=request.method or "",
                    motif=str(exc),
                )
            raise

    return enveloppe


def _exiger(request: HttpRequest, usager: Usager, action: str, domaine: str, message: str) -> None:
    if not habilitations.peut(request.acteur, usager, action, domaine):
        raise AccesRefuse(message)


def _membre(usager: Usager, membre_uuid) -> Membre:
    return get_object_or_404(
        Membre.objects.select_related(
            "cercle", "professionnel", "exercice__structure", "structure", "proche"
        ),
        uuid=membre_uuid,
        cercle__usager=usager,
    )


def _delegation(usager: Usager, delegation_uuid) -> Delegation:
    return get_object_or_404(
        Delegation.objects.select_related(
            "delegant__cercle", "delegant__professionnel", "delegataire__professionnel"
        ),
        uuid=delegation_uuid,
        delegant__cercle__usager=usager,
    )


def _url_cercle(usager: Usager) -> str:
    return reverse("cercle:cercle", args=[usager.uuid])


def _ajouter_erreurs(form, erreur: ValidationError) -> None:
    """Range les refus d'un service sous le champ qu'ils nomment, sinon en tête du formulaire."""
    if hasattr(erreur, "error_dict"):
        for champ, liste in erreur.error_dict.items():
            form.add_error(champ if champ in form.fields else None, liste)
    else:
        form.add_error(None, erreur.messages)


def _agir(request: HttpRequest, suite: str, service, succes: str, **arguments) -> HttpResponse:
    """Une action POST simple : le service décide et écrit ; son refus de saisie devient un message
    d'erreur (un refus d'accès, `AccesRefuse`, donne la page 403) ; retour à `suite`."""
    try:
        service(acteur=request.acteur, **arguments)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, succes)
    return redirect(suite)


def _est_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _droits_en_mots(membre: Membre) -> list[dict]:
    jour = timezone.localdate()
    lignes = []
    for droit in sorted(membre.droits_en_vigueur, key=lambda d: Domaine.values.index(d.domaine)):
        if droit.date_fin and droit.date_fin < jour:
            continue
        if droit.origine == OrigineHabilitation.PRESOMPTION:
            origine = "par défaut (équipe de soins)"
        else:
            accord = droit.consentement
            origine = (
                f"accordé le {timezone.localtime(accord.horodatage):%d/%m/%Y} par {accord.consentant_nom}"
            )
        lignes.append(
            {
                "droit": droit,
                "domaine": Domaine(droit.domaine).label,
                "niveau": NIVEAU_EN_MOTS[droit.niveau],
                "origine": origine,
                "a_venir": droit.date_debut > jour,
            }
        )
    return lignes


# --- « Mes usagers » (professionnel) --------------------------------------------------------------


@login_required
@require_GET
def mes_usagers(request: HttpRequest) -> HttpResponse:
    acteur = request.acteur
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("« Mes usagers » est la page des professionnels.")
    form = forms.RechercheForm(request.GET)
    texte = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(selectors.mes_usagers(acteur, recherche=texte), PAR_PAGE).get_page(
        request.GET.get("page")
    )
    lignes = []
    # Non-lus du cahier de liaison : une requête pour tous les usagers dont l'acteur lit le cahier.
    non_lus = cahier_selectors.non_lus_par_usager(acteur)
    for ligne in selectors.avec_niveaux(acteur, page.object_list):
        lignes.append(
            {
                "usager": ligne.usager,
                "acces": [
                    (Domaine(d).label, NIVEAU_EN_MOTS[n])
                    for d, n in ligne.niveaux.items()
                    if n >= Niveau.LECTURE
                ],
                "lire_cercle": habilitations.peut(acteur, ligne.usager, "lire", Domaine.CERCLE),
                "lire_cahier": habilitations.peut(acteur, ligne.usager, "lire", Domaine.CAHIER),
                "non_lus": non_lus.get(ligne.usager.pk, 0),
                "quitter": ligne.usager.quittable,
            }
        )
    parametres = urlencode({"q": texte}) if texte else ""
    contexte = {"form": form, "texte": texte, "page": page, "lignes": lignes, "parametres": parametres}
    gabarit = "cercle/_liste_usagers.html" if _est_htmx(request) else "cercle/mes_usagers.html"
    return render(request, gabarit, contexte)


# --- Le cercle d'un usager ------------------------------------------------------------------------


@login_required
@require_GET
def mon_cercle(request: HttpRequest) -> HttpResponse:
    """« Mon cercle » : l'usager, ou un proche, arrive sur le cercle de la personne accompagnée."""
    acteur = request.acteur
    if acteur is None or acteur.type not in (TypeActeur.USAGER, TypeActeur.PROCHE):
        raise AccesRefuse("« Mon cercle » est la page de la personne accompagnée et de ses proches.")
    return redirect("cercle:cercle", acteur.usager.uuid)


@login_required
@require_GET
@_refus_journalise
def cercle(request: HttpRequest, usager_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    membres = selectors.membres(acteur, usager, avec_anciens=True, request=request)
    peut_gerer = habilitations.peut(acteur, usager, "gerer", Domaine.CERCLE)
    moi = selectors.presence_propre(acteur, usager)
    groupes = {type_membre: [] for type_membre, _ in GROUPES}
    anciens = []
    for membre in membres:
        if membre.statut == StatutMembre.INACTIF:
            anciens.append(membre)
        elif membre.statut != StatutMembre.PROPOSE:
            groupes[membre.type].append(
                {
                    "membre": membre,
                    "droits": _droits_en_mots(membre),
                    # Le délégant, ou qui gère le cercle, peut finir ses délégations (le service revérifie).
                    "finir_delegations": peut_gerer or (moi is not None and moi.pk == membre.pk),
                }
            )
    titulaire = habilitations.est_titulaire(acteur, usager)
    delegations = [
        {"delegation": d, "texte": services.texte_delegation(d)}
        for d in selectors.delegations_a_consentir(acteur, usager)
    ]
    contexte = {
        "usager": usager,
        "cote_usager": acteur.usager is not None and acteur.usager.pk == usager.pk,
        "mon_cercle": acteur.type == TypeActeur.USAGER,
        "groupes": [(libelle, groupes[type_membre]) for type_membre, libelle in GROUPES],
        "nombre": sum(len(liste) for liste in groupes.values()),
        "anciens": anciens,
        "propositions": list(selectors.propositions(acteur, usager)),
        "demandes": list(selectors.demandes_en_attente(acteur, usager)),
        "delegations": delegations,
        "peut_gerer": peut_gerer,
        "moi": moi,
        "peut_ajouter": habilitations.peut(acteur, usager, "ecrire", Domaine.CERCLE),
        "titulaire": titulaire,
        "peut_voir_acces": selectors.peut_voir_les_acces(acteur, usager),
        "form_demande": forms.DecisionDemandeForm(),
        "StatutDelegation": StatutDelegation,
    }
    return render(request, "cercle/cercle.html", contexte)


@login_required
@require_GET
@_refus_journalise
def pourquoi(request: HttpRequest, usager_uuid, membre_uuid) -> HttpResponse:
    """Ce qu'un membre peut voir, et pourquoi : pour la personne accompagnée et ses proches."""
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    if acteur.usager is None or acteur.usager.pk != usager.pk:
        raise AccesRefuse("Cette explication s'adresse à la personne accompagnée et à ses proches.")
    membre = _membre(usager, membre_uuid)
    explications = selectors.pourquoi_membre(acteur, usager, membre)
    noter_lecture(request, usager=usager, objet=usager.cercle, action="cercle.lecture")
    contexte = {"usager": usager, "membre": membre, "explications": explications}
    gabarit = "cercle/_pourquoi.html" if _est_htmx(request) else "cercle/pourquoi.html"
    return render(request, gabarit, contexte)


# --- Ajouter un membre ----------------------------------------------------------------------------

TYPES_AJOUT = {
    "professionnel": "Un professionnel",
    "structure": "Une structure (service, établissement)",
    "proche": "Un proche déjà connu",
    "autre": "Une autre personne (voisin, bénévole…)",
}


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def ajouter(request: HttpRequest, usager_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "ecrire", Domaine.CERCLE, "Vous ne pouvez pas ajouter de membre à ce cercle.")
    type_membre = request.POST.get("type") or request.GET.get("type", "")
    if type_membre not in TYPES_AJOUT:
        type_membre = ""
    recherche_form = forms.RechercheForm(request.GET if request.method == "GET" else None)
    autre_form = forms.AjoutAutreForm(request.POST if type_membre == "autre" else None)
    erreur = ""
    statut = 200
    if request.method == "POST":
        try:
            membre = _ajouter_depuis(request, usager, type_membre, autre_form)
        except ValidationError as exc:
            if type_membre == "autre":
                _ajouter_erreurs(autre_form, exc)
            else:
                erreur = " ".join(exc.messages)
            statut = 400
        else:
            if membre is not None:
                messages.success(request, f"{membre.nom_affiche} fait maintenant partie du cercle.")
                return redirect(_url_cercle(usager))
            statut = 400
    resultats = None
    texte = recherche_form.cleaned_data.get("q", "") if recherche_form.is_valid() else ""
    if type_membre == "professionnel" and texte:
        resultats = recherche.professionnels(texte)
    elif type_membre == "structure" and texte:
        resultats = recherche.structures(texte)
    elif type_membre == "proche":
        resultats = recherche.Resultats(recherche.proches(usager))
    if request.method == "POST" and type_membre in ("professionnel", "structure"):
        texte = request.POST.get("q", "")
    contexte = {
        "usager": usager,
        "type_membre": type_membre,
        "types": TYPES_AJOUT,
        "recherche_form": recherche_form,
        "texte": texte,
        "resultats": resultats,
        "autre_form": autre_form,
        "roles_pro": roles_pour("professionnel"),
        "roles_proche": roles_pour("proche"),
        "erreur": erreur,
        "acteur_nom": acteur.nom,
    }
    gabarit = (
        "cercle/_resultats.html" if _est_htmx(request) and request.method == "GET" else "cercle/ajouter.html"
    )
    return render(request, gabarit, contexte, status=statut)


def _ajouter_depuis(request: HttpRequest, usager: Usager, type_membre: str, autre_form) -> Membre | None:
    """Lit le choix posté et appelle le service ; None si la saisie est incomplète (formulaire)."""
    acteur = request.acteur
    post = request.POST
    role = post.get("role", "")
    if type_membre == "professionnel":
        exercice = Exercice.objects.filter(uuid=_uuid_ou_none(post.get("exercice"))).first()
        if exercice is None:
            raise ValidationError("Choisissez un professionnel dans les résultats de la recherche.")
        return services.ajouter_membre(
            acteur=acteur, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=exercice, role=role
        )
    if type_membre == "structure":
        structure = Structure.objects.filter(uuid=_uuid_ou_none(post.get("structure"))).first()
        if structure is None:
            raise ValidationError("Choisissez une structure dans les résultats de la recherche.")
        return services.ajouter_membre(
            acteur=acteur, usager=usager, type=TypeMembre.STRUCTURE, structure=structure
        )
    if type_membre == "proche":
        proche = Proche.objects.filter(uuid=_uuid_ou_none(post.get("proche")), usager=usager).first()
        if proche is None:
            raise ValidationError("Choisissez un proche dans la liste.")
        return services.ajouter_membre(
            acteur=acteur, usager=usager, type=TypeMembre.PROCHE, proche=proche, role=role
        )
    if type_membre == "autre":
        if not autre_form.is_valid():
            return None
        return services.ajouter_membre(
            acteur=acteur, usager=usager, type=TypeMembre.AUTRE, **autre_form.cleaned_data
        )
    raise ValidationError("Choisissez d'abord qui ajouter.")


def _uuid_ou_none(valeur: str | None):
    import uuid

    try:
        return uuid.UUID(valeur or "")
    except ValueError:
        return None


# --- Retirer, suspendre, propositions -------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def membre_retirer(request: HttpRequest, usager_uuid, membre_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "gerer", Domaine.CERCLE, MESSAGE_GESTION)
    membre = _membre(usager, membre_uuid)
    form = forms.RetraitMembreForm(request.POST or None)
    statut = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.retirer_membre(
                    acteur=request.acteur, membre=membre, motif=form.cleaned_data["motif"]
                )
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
            else:
                messages.success(
                    request, f"{membre.nom_affiche} ne fait plus partie du cercle. Ses droits ont pris fin."
                )
                return redirect(_url_cercle(usager))
        statut = 400
    return render(
        request,
        "cercle/retirer_membre.html",
        {"usager": usager, "membre": membre, "form": form},
        status=statut,
    )


@login_required
@require_POST
@_refus_journalise
def membre_suspendre(request: HttpRequest, usager_uuid, membre_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    membre = _membre(usager, membre_uuid)
    suspendre = request.POST.get("suspendre") != "0"
    succes = (
        f"La présence de {membre.nom_affiche} est suspendue : plus aucun accès."
        if suspendre
        else f"{membre.nom_affiche} retrouve ses droits dans le cercle."
    )
    return _agir(
        request, _url_cercle(usager), services.suspendre_membre, succes, membre=membre, suspendre=suspendre
    )


@login_required
@require_POST
@_refus_journalise
def proposition(request: HttpRequest, usager_uuid, membre_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    membre = _membre(usager, membre_uuid)
    decision = request.POST.get("decision")
    if decision == "confirmer":
        succes = f"{membre.nom_affiche} fait maintenant partie du cercle."
        return _agir(request, _url_cercle(usager), services.confirmer_proposition, succes, membre=membre)
    if decision == "ecarter":
        succes = f"La proposition de {membre.nom_affiche} est écartée."
        return _agir(request, _url_cercle(usager), services.ecarter_proposition, succes, membre=membre)
    messages.error(request, "Choisissez « Confirmer » ou « Écarter ».")
    return redirect(_url_cercle(usager))


# --- Droits : choisir → relire → confirmer --------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def droit_accorder(request: HttpRequest, usager_uuid, membre_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "gerer", Domaine.CERCLE, MESSAGE_GESTION)
    membre = _membre(usager, membre_uuid)
    etape = request.POST.get("etape", "choisir") if request.method == "POST" else "choisir"
    donnees = (
        request.POST if request.method == "POST" else (request.GET if "domaine" in request.GET else None)
    )
    form = forms.DroitForm(donnees)
    contexte = {"usager": usager, "membre": membre, "form": form}
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "cercle/droit_choisir.html", contexte, status=200 if request.method == "GET" else 400
        )
    domaine, niveau, date_fin = (form.cleaned_data[c] for c in ("domaine", "niveau", "date_fin"))
    if etape == "confirmer":
        try:
            services.accorder(
                acteur=acteur,
                membre=membre,
                domaine=domaine,
                niveau=niveau,
                date_fin=date_fin,
                texte_vu=request.POST.get("texte_vu", ""),
            )
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
            return render(request, "cercle/droit_choisir.html", contexte, status=400)
        messages.success(
            request,
            f"C'est enregistré : {membre.nom_affiche} peut maintenant {NIVEAU_EN_MOTS[niveau]} "
            f"« {Domaine(domaine).label} ».",
        )
        return redirect(_url_cercle(usager))
    contexte.update(
        {
            "texte": services.texte_octroi(membre, domaine, niveau, date_fin),
            "domaine": domaine,
            "niveau": niveau,
            "date_fin": date_fin.isoformat() if date_fin else "",
        }
    )
    return render(request, "cercle/droit_relire.html", contexte)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def droit_retirer(request: HttpRequest, usager_uuid, droit_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "gerer", Domaine.CERCLE, MESSAGE_GESTION)
    droit = get_object_or_404(
        Habilitation.objects.select_related(
            "membre__cercle", "membre__professionnel", "membre__structure", "membre__proche"
        ),
        uuid=droit_uuid,
        membre__cercle__usager=usager,
    )
    erreur = ""
    if request.method == "POST":
        try:
            consentement = services.revoquer(
                acteur=request.acteur, droit=droit, texte_vu=request.POST.get("texte_vu", "")
            )
        except ValidationError as exc:
            erreur = " ".join(exc.messages)
        else:
            messages.success(request, "C'est enregistré : le droit est retiré.")
            return redirect("cercle:consentement", usager.uuid, consentement.uuid)
    contexte = {
        "usager": usager,
        "droit": droit,
        "membre": droit.membre,
        "texte": services.texte_revocation(droit) if droit.revoquee_le is None else "",
        "erreur": erreur,
    }
    return render(request, "cercle/droit_retirer.html", contexte, status=400 if erreur else 200)


# --- Demandes d'adhésion et délégations (décisions) -----------------------------------------------


@login_required
@require_POST
@_refus_journalise
def demande_decider(request: HttpRequest, usager_uuid, demande_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    demande = get_object_or_404(
        DemandeAdhesion.objects.select_related("exercice__professionnel", "cercle"),
        uuid=demande_uuid,
        cercle__usager=usager,
    )
    decision = request.POST.get("decision")
    if decision not in ("accepter", "refuser"):
        messages.error(request, "Choisissez « Accepter » ou « Refuser ».")
        return redirect(_url_cercle(usager))
    form = forms.DecisionDemandeForm(request.POST)
    motif = form.cleaned_data["motif"] if form.is_valid() else ""
    nom = str(demande.exercice.professionnel)
    succes = (
        f"{nom} fait maintenant partie du cercle."
        if decision == "accepter"
        else f"La demande de {nom} est refusée ; il ou elle en sera informé(e)."
    )
    return _agir(
        request,
        _url_cercle(usager),
        services.decider_adhesion,
        succes,
        demande=demande,
        accepter=decision == "accepter",
        motif=motif,
    )


@login_required
@require_POST
@_refus_journalise
def delegation_consentir(request: HttpRequest, usager_uuid, delegation_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    delegation = _delegation(usager, delegation_uuid)
    decision = request.POST.get("decision")
    if decision not in ("accepter", "refuser"):
        messages.error(request, "Choisissez « J'accepte » ou « Je refuse ».")
        return redirect(_url_cercle(usager))
    assistant = delegation.delegataire.professionnel
    delegant = delegation.delegant.nom_affiche
    succes = (
        f"C'est enregistré : {assistant} peut assister {delegant}."
        if decision == "accepter"
        else f"C'est enregistré : vous avez refusé que {assistant} assiste {delegant}."
    )
    return _agir(
        request,
        _url_cercle(usager),
        services.consentir_delegation,
        succes,
        delegation=delegation,
        accepter=decision == "accepter",
        texte_vu=request.POST.get("texte_vu", ""),
    )


# --- Preuve d'un consentement (page et PDF) -------------------------------------------------------


def _consentement(request: HttpRequest, usager_uuid, consentement_uuid):
    usager = _usager(request, usager_uuid)
    if not selectors.peut_voir_les_acces(request.acteur, usager):
        raise AccesRefuse(
            "Seuls la personne accompagnée, son représentant légal ou le gestionnaire du cercle "
            "peuvent obtenir cette preuve."
        )
    consentement = get_object_or_404(Consentement, uuid=consentement_uuid, usager=usager)
    preuve = preuves.preuve_consentement(consentement)
    noter_lecture(request, usager=usager, objet=consentement, action="cercle.consentement.lecture")
    return usager, consentement, preuve


@login_required
@require_GET
@_refus_journalise
def consentement(request: HttpRequest, usager_uuid, consentement_uuid) -> HttpResponse:
    usager, consentement, preuve = _consentement(request, usager_uuid, consentement_uuid)
    return render(
        request,
        "cercle/consentement.html",
        {"usager": usager, "consentement": consentement, "preuve": preuve},
    )


@login_required
@require_GET
@_refus_journalise
def consentement_pdf(request: HttpRequest, usager_uuid, consentement_uuid) -> HttpResponse:
    usager, consentement, preuve = _consentement(request, usager_uuid, consentement_uuid)
    contenu = preuves.pdf_du_consentement(request, usager=usager, consentement=consentement, preuve=preuve)
    reponse = HttpResponse(contenu, content_type="application/pdf")
    nom = f"preuve-{consentement.get_objet_display().replace(' ', '-')}-{consentement.horodatage:%Y%m%d}.pdf"
    reponse["Content-Disposition"] = f'attachment; filename="{nom.replace(chr(39), "")}"'
    return reponse


# --- Qui a consulté mon dossier -------------------------------------------------------------------


@login_required
@require_GET
@_refus_journalise
def acces(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    form = forms.FiltreAccesForm(request.GET or None)
    filtres = form.cleaned_data if form.is_valid() else {}
    periode = filtres.get("periode") or "30"
    depuis = None
    if periode in forms.PERIODES:
        depuis = timezone.now() - dt.timedelta(days=forms.PERIODES[periode])
    evenements = selectors.qui_a_consulte(
        request.acteur,
        usager,
        depuis=depuis,
        limite=1000,
        types_acteur=[filtres["qui"]] if filtres.get("qui") else None,
        nature=filtres.get("nature", ""),
        request=request,
    )
    page = Paginator(evenements, PAR_PAGE).get_page(request.GET.get("page"))
    lignes = [
        {
            "evenement": e,
            "quoi": libelle_action(e.action),
            "qui": libelle_type_acteur(e.acteur_type),
            "refuse": e.resultat != "succes",
        }
        for e in page.object_list
    ]
    parametres = request.GET.copy()
    parametres.pop("page", None)
    contexte = {
        "usager": usager,
        "form": form,
        "page": page,
        "lignes": lignes,
        "parametres": parametres.urlencode(),
        "mon_dossier": request.acteur.type == TypeActeur.USAGER,
    }
    return render(request, "cercle/acces.html", contexte)


# --- Demandes d'adhésion (professionnel) ----------------------------------------------------------


def _exiger_professionnel(request: HttpRequest) -> None:
    if request.acteur is None or request.acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Seul un professionnel peut demander à entrer dans un cercle.")


MESSAGE_DEMANDE = (
    "Votre demande est enregistrée. Si cette personne a un cercle sur le portail, elle-même ou la "
    "personne qui gère son cercle pourra l'accepter ou la refuser ; la réponse s'affichera ici. "
    "Sans réponse, la demande expire au bout de 30 jours."
)


@login_required
@require_GET
def mes_demandes(request: HttpRequest) -> HttpResponse:
    _exiger_professionnel(request)
    demandes = selectors.mes_demandes(request.acteur).select_related("exercice__structure")
    page = Paginator(demandes, PAR_PAGE).get_page(request.GET.get("page"))
    return render(request, "cercle/mes_demandes.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def demande_nouvelle(request: HttpRequest) -> HttpResponse:
    _exiger_professionnel(request)
    form = forms.DemandeAdhesionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.demander_adhesion(acteur=request.acteur, **form.cleaned_data)
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, MESSAGE_DEMANDE)
            return redirect("cercle:mes_demandes")
    statut = 400 if request.method == "POST" else 200
    return render(request, "cercle/demande_nouvelle.html", {"form": form}, status=statut)


@login_required
@require_POST
def demande_retirer(request: HttpRequest, demande_uuid) -> HttpResponse:
    _exiger_professionnel(request)
    demande = get_object_or_404(
        DemandeAdhesion.objects.select_related("exercice"),
        uuid=demande_uuid,
        exercice__professionnel_id=request.acteur.exercice.professionnel_id,
    )
    suite = reverse("cercle:mes_demandes")
    return _agir(request, suite, services.retirer_demande, "Votre demande est retirée.", demande=demande)


# --- Quitter le cercle (le membre lui-même) -------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def quitter(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Un professionnel ou un proche membre quitte le cercle lui-même : tous ses droits et les
    délégations qu'il a données prennent fin à l'instant (`services.retirer_membre`, motif « départ
    du membre »). Une structure quitte le cercle par « Retirer du cercle », avec la gestion."""
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    membre = selectors.presence_propre(acteur, usager)
    if membre is None:
        raise AccesRefuse(
            "Vous ne faites pas partie de ce cercle en votre nom : il n'y a rien à quitter. "
            "Une présence par votre structure se retire par la personne qui gère le cercle."
        )
    if request.method == "POST":
        try:
            services.retirer_membre(acteur=acteur, membre=membre)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        professionnel = acteur.type == TypeActeur.PROFESSIONNEL
        succes = f"Vous avez quitté le cercle de {usager}. Vos droits sur son dossier ont pris fin."
        if professionnel and selectors.usager_connu(acteur, usager.uuid) is not None:
            succes += " Vous gardez l'accès que votre structure a dans ce cercle."
        messages.success(request, succes)
        return redirect("cercle:mes_usagers" if professionnel else "accueil")
    membre.droits_en_vigueur = list(
        membre.habilitations.filter(revoquee_le__isnull=True).select_related("consentement")
    )
    contexte = {
        "usager": usager,
        "membre": membre,
        "droits": _droits_en_mots(membre),
        "delegations": list(
            membre.delegations_donnees.filter(
                statut__in=[StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE],
                date_fin__gte=timezone.localdate(),
            ).select_related("delegataire__professionnel")
        ),
        "lire_cercle": habilitations.peut(acteur, usager, "lire", Domaine.CERCLE),
    }
    return render(request, "cercle/quitter.html", contexte)


# --- Délégations : fin avant la date, « Mes délégations » -----------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def delegation_terminer(request: HttpRequest, usager_uuid, delegation_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    delegation = _delegation(usager, delegation_uuid)
    services.exiger_fin_delegation(acteur, delegation)
    en_cours = delegation.statut in (StatutDelegation.EN_ATTENTE, StatutDelegation.ACTIVE)
    if habilitations.peut(acteur, usager, "lire", Domaine.CERCLE):
        suite = _url_cercle(usager)
    elif acteur.type == TypeActeur.PROFESSIONNEL:
        suite = reverse("cercle:mes_delegations")
    else:
        suite = reverse("accueil")
    if request.method == "POST":
        assistant = delegation.delegataire.professionnel
        succes = (
            f"C'est enregistré : la délégation à {assistant} a pris fin. "
            "Ses droits venus de cette délégation s'arrêtent tout de suite."
        )
        return _agir(request, suite, services.terminer_delegation, succes, delegation=delegation)
    contexte = {"usager": usager, "delegation": delegation, "en_cours": en_cours, "suite": suite}
    return render(request, "cercle/delegation_terminer.html", contexte)


@login_required
@require_GET
def mes_delegations(request: HttpRequest) -> HttpResponse:
    """Pour un professionnel : les délégations qu'il a données et celles qu'il reçoit, avec « Mettre
    fin ». Ne montre que le nom des usagers, comme « Mes usagers » (non journalisé, ADR 0008)."""
    if request.acteur is None or request.acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("« Mes délégations » est la page des professionnels.")
    donnees, recues = selectors.mes_delegations(request.acteur)
    return render(request, "cercle/mes_delegations.html", {"donnees": donnees, "recues": recues})


# --- Historique de remboursement (voie 1) ---------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def historique(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Dépôt d'un historique de remboursement (CSV ou Bundle FHIR, docs/historique-remboursement.md) :
    les professionnels trouvés sont proposés au cercle, à confirmer ou écarter ; le compte rendu
    montre chaque ligne ignorée et sa raison, les lignes valables sont gardées."""
    usager = _usager(request, usager_uuid)
    _exiger(request, usager, "gerer", Domaine.CERCLE, MESSAGE_GESTION)
    envoye = request.method == "POST"
    form = forms.HistoriqueForm(request.POST if envoye else None, request.FILES if envoye else None)
    rapport = None
    statut = 200
    if envoye:
        if form.is_valid():
            fichier = form.cleaned_data["fichier"]
            try:
                rapport = services.importer_historique(
                    acteur=request.acteur,
                    usager=usager,
                    contenu=fichier.read(TAILLE_MAX + 1),
                    nom_fichier=fichier.name or "",
                )
            except HistoriqueIllisible as exc:
                form.add_error("fichier", str(exc))
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
        if rapport is None:
            statut = 400
    contexte = {"usager": usager, "form": form, "rapport": rapport, "taille_max_ko": TAILLE_MAX // 1024}
    return render(request, "cercle/historique.html", contexte, status=statut)
