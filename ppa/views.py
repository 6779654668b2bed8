"""Pages de l'atelier du projet personnalisé (ticket 7, points 2 et 3 ; ADR 0028) : les projets
d'une personne (et en ouvrir un), l'atelier d'une version (une section par partie : les mots de la
personne, besoins, objectifs, actions ; chacune avec son formulaire, sa révision lue et son fil de
commentaires ; l'avis de la personne sur chaque objectif), la soumission aux accords, la page des
accords, l'avenant d'une version validée, et la lecture facile.

Vues minces : lire la saisie → sélecteur ou service → afficher. Les droits viennent de
cercle/habilitations.py par ppa/selectors.py et ppa/services.py, qui journalisent ; les boutons
montrés ne sont qu'une commodité, les services décident toujours. Refus (ADR 0008) : usager hors
du monde de l'acteur → 404 ; sans `ppa` en lecture → 403 sur les projets d'une personne, 404 sur
une version désignée par son UUID (elle n'existe pas pour lui) ; sans droit d'écrire → 403
(journalisé) ; saisie refusée → 400 (saisie gardée) ; partie modifiée entre-temps → 409 (saisie
gardée, contenu actuel montré).

Vue par défaut : depuis la liste des projets, la personne et ses proches ouvrent d'abord la
lecture facile (comprendre avant de contribuer : phrases courtes, à la première personne), qui
mène à l'atelier pour donner son avis ou écrire ; les professionnels ouvrent l'atelier."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agenda.recurrence import decrire_regle
from agenda.services import membres_invitables
from cercle import habilitations
from cercle.models import TypeMembre
from cercle.services import AccesRefuse
from cercle.views import USAGER_RECONNU, _ajouter_erreurs, _refus_journalise, _usager
from coordination.comptes.acteur import TypeActeur
from ppa import forms, mdph, selectors, selectors_atelier, services
from ppa.models import PartieProjet, StatutVersion
from ppa.selectors import VersionComplete

DOMAINE = services.DOMAINE
REFUS_ECRIRE = "Vous ne pouvez pas écrire dans le projet personnalisé de cette personne."
REFUS_AVIS = "L'avis sur un objectif est celui de la personne ou de son entourage."
SECTIONS = {
    PartieProjet.PAROLES: "Ce que la personne veut",
    PartieProjet.BESOINS: "Besoins",
    PartieProjet.OBJECTIFS: "Objectifs",
    PartieProjet.ACTIONS: "Actions",
}


# --- Outils ---------------------------------------------------------------------------------------


def _version(request: HttpRequest, version_uuid) -> VersionComplete:
    """La version et tout son contenu, si l'acteur lit le PPA de la personne (404 sinon, ADR 0008) ;
    la personne est alors connue de l'acteur : un refus ultérieur (403) est journalisé."""
    complete = selectors.version_complete(request.acteur, version_uuid, request=request)
    if complete is None:
        raise Http404("Projet introuvable.")
    setattr(request, USAGER_RECONNU, complete.version.projet.usager)
    return complete


def _peut_ecrire(request: HttpRequest, usager) -> bool:
    return habilitations.peut(request.acteur, usager, "ecrire", DOMAINE)


def _exiger_ecriture(request: HttpRequest, usager) -> None:
    if not _peut_ecrire(request, usager):
        raise AccesRefuse(REFUS_ECRIRE)


def _est_entourage(request: HttpRequest) -> bool:
    return request.acteur.type in (TypeActeur.USAGER, TypeActeur.PROCHE)


def _url_atelier(version, ancre: str = "") -> str:
    adresse = reverse("ppa:atelier", args=[version.uuid])
    return f"{adresse}#{ancre}" if ancre else adresse


class ElementAbsent(Http404):
    """L'élément visé n'est pas (ou plus) dans la version lue."""


def _element(elements, element_uuid):
    """L'élément de la version désigné par son UUID ; `ElementAbsent` (404) sinon."""
    for element in elements:
        if element.uuid == element_uuid:
            return element
    raise ElementAbsent("Élément introuvable dans cette version du projet.")


DISPARU = (
    "Cet élément n'est pas (ou plus) dans cette version du projet : quelqu'un l'a peut-être retiré "
    "pendant que vous écriviez. Rien n'a été enregistré."
)


def _saisie_rappelee(request: HttpRequest) -> list[str]:
    """Ce que la personne avait tapé, pour qu'un élément retiré entre-temps ne le lui fasse pas perdre."""
    ignores = {"csrfmiddlewaretoken", "revision_lue"}
    textes = [v.strip() for k, v in request.POST.items() if k not in ignores and len(v.strip()) > 3]
    return [f"Ce que vous aviez écrit : « {t} »" for t in textes]


def _revision(version, partie: str) -> int:
    return version.revisions.get(partie, 0)


def _auto_id(cle: str) -> str:
    """Des identifiants HTML uniques pour chaque formulaire de la page (les noms restent simples)."""
    return f"{cle}_%s"


# --- Les projets d'une personne -------------------------------------------------------------------


def _structures(request: HttpRequest, usager) -> list:
    """Les structures qui accompagnent la personne (membres du cercle, ou lieu d'exercice de ses
    professionnels), celle de l'acteur d'abord."""
    structures = {}
    propre = request.acteur.exercice.structure if request.acteur.type == TypeActeur.PROFESSIONNEL else None
    if propre is not None:
        structures[propre.pk] = propre
    for membre in membres_invitables(usager):
        if membre.type == TypeMembre.STRUCTURE:
            structures.setdefault(membre.structure_id, membre.structure)
        elif membre.exercice_id and membre.exercice.structure_id:
            structures.setdefault(membre.exercice.structure_id, membre.exercice.structure)
    return list(structures.values())


def _page_projets(
    request: HttpRequest, usager, form=None, status: int = 200, form_referent=None
) -> HttpResponse:
    projets = selectors.projets_lisibles(request.acteur, usager, request=request)
    echeances = selectors_atelier.echeances_de_revue(projets)
    for projet in projets:
        projet.courante = projet.versions_lues[0] if projet.versions_lues else None
        projet.validee = next((v for v in projet.versions_lues if v.statut == StatutVersion.VALIDEE), None)
        projet.echeance_revue = echeances.get(projet.pk)
    peut_creer = _peut_ecrire(request, usager)
    if peut_creer and form is None:
        form = forms.ProjetForm(structures=_structures(request, usager))
    # Désigner le référent : le référent en place ou la direction, dans sa seule structure (une
    # requête pour la liste des professionnels de cette structure, quel que soit le nombre de projets).
    designables = [
        p for p in projets if peut_creer and services.signataire_de_la_structure(request.acteur, p)
    ]
    if designables:
        exercices = selectors_atelier.referents_possibles(designables[0].structure_id)
        for projet in designables:
            projet.form_referent = (
                form_referent
                if form_referent is not None and form_referent.projet_uuid == projet.uuid
                else forms.ReferentForm(
                    initial={"referent": str(projet.referent.uuid) if projet.referent_id else ""},
                    exercices=exercices,
                    auto_id=_auto_id(f"referent-{projet.uuid}"),
                )
            )
    contexte = {
        "usager": usager,
        "projets": projets,
        "form": form if peut_creer else None,
        "facile_d_abord": _est_entourage(request),
    }
    return render(request, "ppa/atelier_projets.html", contexte, status=status)


@login_required
@require_GET
@_refus_journalise
def projets(request: HttpRequest, usager_uuid) -> HttpResponse:
    return _page_projets(request, _usager(request, usager_uuid))


@login_required
@require_POST
@_refus_journalise
def creer_projet(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    if not habilitations.peut(request.acteur, usager, "lire", DOMAINE):
        raise AccesRefuse("Vous n'avez pas accès au projet personnalisé de cette personne.")
    _exiger_ecriture(request, usager)
    form = forms.ProjetForm(request.POST, structures=_structures(request, usager))
    if form.is_valid():
        donnees = form.cleaned_data
        try:
            projet = services.creer_projet(
                acteur=request.acteur, usager=usager, structure=donnees["structure"],
                titre=donnees["titre"], type=donnees["type"],
            )  # fmt: skip
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, "Le projet est ouvert : sa première version est un brouillon.")
            return redirect(_url_atelier(projet.versions.get()))
    return _page_projets(request, usager, form=form, status=400)


@login_required
@require_POST
@_refus_journalise
def designer_referent(request: HttpRequest, usager_uuid, projet_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    projet = next(
        (
            p
            for p in selectors.projets_lisibles(request.acteur, usager, request=request)
            if p.uuid == projet_uuid
        ),
        None,
    )
    if projet is None:
        raise Http404("Projet introuvable.")
    if not services.signataire_de_la_structure(request.acteur, projet):
        raise AccesRefuse(
            "Le référent est désigné par le référent en place ou par la direction de la structure."
        )
    form = forms.ReferentForm(
        request.POST, exercices=selectors_atelier.referents_possibles(projet.structure_id),
        auto_id=_auto_id(f"referent-{projet.uuid}"),
    )  # fmt: skip
    form.projet_uuid = projet.uuid
    if form.is_valid():
        try:
            services.designer_referent(
                acteur=request.acteur, projet=projet, exercice=form.cleaned_data["referent"]
            )
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            referent = form.cleaned_data["referent"].professionnel
            messages.success(request, f"{referent} est désormais référent du projet « {projet.titre} ».")
            return redirect("ppa:projets", usager.uuid)
    return _page_projets(request, usager, status=400, form_referent=form)


# --- L'atelier d'une version ----------------------------------------------------------------------


def _formulaires(request: HttpRequest, complete: VersionComplete, membres: list) -> dict:
    """Tous les formulaires de la page, liés à la révision lue de leur partie."""
    version = complete.version
    rev = {partie: _revision(version, partie) for partie in PartieProjet.values}
    tout = {
        "paroles": forms.ParolesForm(
            initial={"attentes": version.attentes, "projet_de_vie": version.projet_de_vie,
                     "revision_lue": rev["paroles"]},
            auto_id=_auto_id("paroles"),
        ),
        "besoin": forms.BesoinForm(initial={"revision_lue": rev["besoins"]}, auto_id=_auto_id("besoin")),
        "objectif": forms.ObjectifForm(
            initial={"revision_lue": rev["objectifs"]}, besoins=complete.besoins, auto_id=_auto_id("objectif")
        ),
    }  # fmt: skip
    for besoin in complete.besoins:
        cle = f"besoin-{besoin.uuid}"
        tout[cle] = forms.BesoinForm(
            initial={"libelle": besoin.libelle, "code_serafin": besoin.code_serafin,
                     "precision": besoin.precision, "revision_lue": rev["besoins"]},
            auto_id=_auto_id(cle),
        )  # fmt: skip
    for objectif in complete.objectifs:
        cle = f"objectif-{objectif.uuid}"
        tout[cle] = forms.ObjectifForm(
            initial={"titre": objectif.titre, "resultat_attendu": objectif.resultat_attendu,
                     "strategie": objectif.strategie, "date_cible": objectif.date_cible,
                              "besoins": [str(b.uuid) for b in objectif.besoins_vises],
                     "revision_lue": rev["objectifs"]},
            besoins=complete.besoins, auto_id=_auto_id(cle),
        )  # fmt: skip
        tout[f"avis-{objectif.uuid}"] = forms.AvisForm(
            initial={"avis": objectif.avis_usager, "commentaire": objectif.commentaire_usager,
                     "revision_lue": rev["objectifs"]},
            auto_id=_auto_id(f"avis-{objectif.uuid}"),
        )  # fmt: skip
        cle = f"nouvelle-action-{objectif.uuid}"
        tout[cle] = forms.ActionForm(
            initial={"revision_lue": rev["actions"]}, membres=membres, auto_id=_auto_id(cle)
        )
    for action in complete.actions:
        cle = f"action-{action.uuid}"
        tout[cle] = forms.ActionForm(
            initial={**forms.initial_action(action), "revision_lue": rev["actions"]},
            membres=membres, regle_actuelle=action.frequence, auto_id=_auto_id(cle),
        )  # fmt: skip
    for partie in PartieProjet.values:
        cle = f"commentaire-{partie}"
        tout[cle] = forms.CommentaireForm(initial={"partie": partie}, auto_id=_auto_id(cle))
    return tout


def _page_atelier(
    request: HttpRequest,
    complete: VersionComplete,
    *,
    saisie: tuple[str, object] | None = None,
    alerte: list[str] = (),
    conflit: str = "",
    status: int = 200,
) -> HttpResponse:
    """La page de l'atelier ; `saisie` : (clé, formulaire lié) à remontrer tel que la personne l'a
    rempli (erreurs ou conflit) à la place du formulaire vierge de même clé."""
    version = complete.version
    usager = version.projet.usager
    brouillon = version.statut == StatutVersion.BROUILLON
    peut_ecrire = _peut_ecrire(request, usager)
    edition = brouillon and peut_ecrire
    membres = membres_invitables(usager) if edition else []
    tout = _formulaires(request, complete, membres) if peut_ecrire else {}
    if saisie is not None:
        tout[saisie[0]] = saisie[1]
    for besoin in complete.besoins:
        besoin.form = tout.get(f"besoin-{besoin.uuid}")
    actions_par_objectif = {o.pk: [] for o in complete.objectifs}
    for action in complete.actions:
        action.form = tout.get(f"action-{action.uuid}")
        action.frequence_en_clair = decrire_regle(action.frequence) if action.frequence else ""
        actions_par_objectif[action.objectif_id].append(action)
    for objectif in complete.objectifs:
        objectif.form = tout.get(f"objectif-{objectif.uuid}")
        objectif.form_avis = tout.get(f"avis-{objectif.uuid}")
        objectif.form_action = tout.get(f"nouvelle-action-{objectif.uuid}")
        objectif.actions_prevues = actions_par_objectif[objectif.pk]
    fils = selectors_atelier.commentaires_par_partie(version)
    en_discussion = version.statut in (StatutVersion.BROUILLON, StatutVersion.EN_VALIDATION)
    sections = [
        {
            "partie": partie,
            "titre": titre,
            "precision": f"sur la partie « {titre} »",
            "commentaires": fils[partie],
            "form_commentaire": tout.get(f"commentaire-{partie}") if en_discussion else None,
            "conflit": conflit == partie,
        }
        for partie, titre in SECTIONS.items()
    ]
    contexte = {
        "usager": usager,
        "projet": version.projet,
        "version": version,
        "complete": complete,
        "sections": {s["partie"]: s for s in sections},
        "brouillon": brouillon,
        "edition": edition,
        "peut_avis": edition and _est_entourage(request),
        "peut_soumettre": edition,
        "peut_avenant": peut_ecrire and version.statut == StatutVersion.VALIDEE,
        "peut_fiche_mdph": version.statut == StatutVersion.VALIDEE
        and mdph.peut_rediger(request.acteur, version),
        "en_validation": version.statut == StatutVersion.EN_VALIDATION,
        "revisions": {p: _revision(version, p) for p in PartieProjet.values},
        "form_paroles": tout.get("paroles"),
        "form_besoin": tout.get("besoin"),
        "form_objectif": tout.get("objectif"),
        "alerte": list(alerte),
    }
    return render(request, "ppa/atelier.html", contexte, status=status)


@login_required
@require_GET
@_refus_journalise
def atelier(request: HttpRequest, version_uuid) -> HttpResponse:
    return _page_atelier(request, _version(request, version_uuid))


def _editer(
    request: HttpRequest,
    version_uuid,
    *,
    cle: Callable[[VersionComplete], str],
    partie: str,
    formulaire: Callable[[VersionComplete, object], object],
    action: Callable[[VersionComplete, dict], None],
    succes: str,
    avis: bool = False,
) -> HttpResponse:
    """Une écriture d'une partie : droit d'écrire exigé d'abord (403, journalisé), puis le service
    décide. Réussite → retour à la section ; saisie refusée → 400, la page avec la saisie gardée ;
    partie changée entre-temps (`ConflitDePartie`) → 409, la saisie gardée, le contenu actuel montré
    et la révision avancée (un nouvel envoi, après relecture, passe)."""
    complete = _version(request, version_uuid)
    usager = complete.version.projet.usager
    _exiger_ecriture(request, usager)
    if avis and not _est_entourage(request):
        raise AccesRefuse(REFUS_AVIS)
    nom = cle(complete)
    try:
        form = formulaire(complete, request.POST)
    except ElementAbsent:
        alerte = [DISPARU, *_saisie_rappelee(request)]
        return _page_atelier(request, complete, alerte=alerte, status=409)
    form.auto_id = _auto_id(nom)
    alerte, conflit, statut = [], "", 400
    if form.is_valid():
        try:
            action(complete, form.cleaned_data)
        except services.ConflitDePartie as exc:
            alerte, conflit, statut = exc.messages, exc.partie, 409
            form.data = form.data.copy()
            form.data["revision_lue"] = str(_revision(complete.version, exc.partie))
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
            alerte = ["Rien n'a été enregistré.", *(form.non_field_errors() or [])]
        else:
            messages.success(request, succes)
            return redirect(_url_atelier(complete.version, f"partie-{partie}"))
    else:
        for cache in form.hidden_fields():
            if cache.errors:
                form.add_error(None, list(cache.errors))
        alerte = ["Rien n'a été enregistré : corrigez le champ signalé.", *form.non_field_errors()]
    return _page_atelier(request, complete, saisie=(nom, form), alerte=alerte, conflit=conflit, status=statut)


def _retirer(request: HttpRequest, version_uuid, *, partie: str, trouver, service, succes: str):
    """Retirer un élément : la révision lue de sa partie est postée avec le bouton."""
    complete = _version(request, version_uuid)
    _exiger_ecriture(request, complete.version.projet.usager)
    try:
        element = trouver(complete)
    except ElementAbsent:
        return _page_atelier(request, complete, alerte=[DISPARU], status=409)
    form = _FormRevision(request.POST)
    if not form.is_valid():
        return _page_atelier(request, complete, alerte=[forms.REVISION_MANQUANTE], status=400)
    try:
        service(acteur=request.acteur, element=element, revision_lue=form.cleaned_data["revision_lue"])
    except services.ConflitDePartie as exc:
        return _page_atelier(request, complete, alerte=exc.messages, conflit=exc.partie, status=409)
    except ValidationError as exc:
        return _page_atelier(request, complete, alerte=["Rien n'a été retiré.", *exc.messages], status=400)
    messages.success(request, succes)
    return redirect(_url_atelier(complete.version, f"partie-{partie}"))


class _FormRevision(forms.forms.Form):
    revision_lue = forms.ChampRevision()


# Paroles


@login_required
@require_POST
@_refus_journalise
def paroles(request: HttpRequest, version_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: "paroles",
        partie=PartieProjet.PAROLES,
        formulaire=lambda c, donnees: forms.ParolesForm(donnees),
        action=lambda c, d: services.ecrire_paroles(
            acteur=request.acteur,
            version=c.version,
            attentes=d["attentes"],
            projet_de_vie=d["projet_de_vie"],
            revision_lue=d["revision_lue"],
        ),
        succes="Les mots de la personne sont enregistrés.",
    )


# Besoins


def _besoin_de(donnees: dict) -> dict:
    return {k: donnees[k] for k in ("libelle", "code_serafin", "precision", "revision_lue")}


@login_required
@require_POST
@_refus_journalise
def ajouter_besoin(request: HttpRequest, version_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: "besoin",
        partie=PartieProjet.BESOINS,
        formulaire=lambda c, donnees: forms.BesoinForm(donnees),
        action=lambda c, d: services.ajouter_besoin(
            acteur=request.acteur, version=c.version, **_besoin_de(d)
        ),
        succes="Le besoin est ajouté.",
    )


@login_required
@require_POST
@_refus_journalise
def modifier_besoin(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: f"besoin-{element_uuid}",
        partie=PartieProjet.BESOINS,
        formulaire=lambda c, donnees: (
            forms.BesoinForm(donnees) if _element(c.besoins, element_uuid) else None
        ),
        action=lambda c, d: services.modifier_besoin(
            acteur=request.acteur, besoin=_element(c.besoins, element_uuid), **_besoin_de(d)
        ),
        succes="Le besoin est modifié.",
    )


@login_required
@require_POST
@_refus_journalise
def retirer_besoin(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _retirer(
        request,
        version_uuid,
        partie=PartieProjet.BESOINS,
        trouver=lambda c: _element(c.besoins, element_uuid),
        service=lambda element, **k: services.retirer_besoin(besoin=element, **k),
        succes="Le besoin est retiré.",
    )


# Objectifs


def _objectif_de(donnees: dict) -> dict:
    champs = ("titre", "resultat_attendu", "strategie", "date_cible", "revision_lue")
    return {**{k: donnees[k] for k in champs}, "besoins": donnees.get("besoins") or []}


@login_required
@require_POST
@_refus_journalise
def ajouter_objectif(request: HttpRequest, version_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: "objectif",
        partie=PartieProjet.OBJECTIFS,
        formulaire=lambda c, donnees: forms.ObjectifForm(donnees, besoins=c.besoins),
        action=lambda c, d: services.ajouter_objectif(
            acteur=request.acteur, version=c.version, **_objectif_de(d)
        ),
        succes="L'objectif est ajouté.",
    )


@login_required
@require_POST
@_refus_journalise
def modifier_objectif(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: f"objectif-{element_uuid}",
        partie=PartieProjet.OBJECTIFS,
        formulaire=lambda c, donnees: (
            _element(c.objectifs, element_uuid) and forms.ObjectifForm(donnees, besoins=c.besoins)
        ),
        action=lambda c, d: services.modifier_objectif(
            acteur=request.acteur, objectif=_element(c.objectifs, element_uuid), **_objectif_de(d)
        ),
        succes="L'objectif est modifié.",
    )


@login_required
@require_POST
@_refus_journalise
def retirer_objectif(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _retirer(
        request,
        version_uuid,
        partie=PartieProjet.OBJECTIFS,
        trouver=lambda c: _element(c.objectifs, element_uuid),
        service=lambda element, **k: services.retirer_objectif(objectif=element, **k),
        succes="L'objectif est retiré.",
    )


@login_required
@require_POST
@_refus_journalise
def donner_avis(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: f"avis-{element_uuid}",
        partie=PartieProjet.OBJECTIFS,
        formulaire=lambda c, donnees: _element(c.objectifs, element_uuid) and forms.AvisForm(donnees),
        action=lambda c, d: services.donner_avis(
            acteur=request.acteur,
            objectif=_element(c.objectifs, element_uuid),
            avis=d["avis"],
            commentaire=d["commentaire"],
            revision_lue=d["revision_lue"],
        ),
        succes="Votre avis est enregistré.",
        avis=True,
    )


# Actions


def _action_de(donnees: dict) -> dict:
    champs = ("quoi", "intervenant", "intervenant_libelle", "ou", "frequence", "duree_minutes",
              "code_prestation", "revision_lue")  # fmt: skip
    return {k: donnees[k] for k in champs}


def _membres(complete: VersionComplete) -> list:
    return membres_invitables(complete.version.projet.usager)


@login_required
@require_POST
@_refus_journalise
def ajouter_action(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _editer(
        request,
        version_uuid,
        cle=lambda c: f"nouvelle-action-{element_uuid}",
        partie=PartieProjet.ACTIONS,
        formulaire=lambda c, donnees: (
            _element(c.objectifs, element_uuid) and forms.ActionForm(donnees, membres=_membres(c))
        ),
        action=lambda c, d: services.ajouter_action(
            acteur=request.acteur, objectif=_element(c.objectifs, element_uuid), **_action_de(d)
        ),
        succes="L'action est ajoutée.",
    )


@login_required
@require_POST
@_refus_journalise
def modifier_action(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    def formulaire(c, donnees):
        action = _element(c.actions, element_uuid)
        return forms.ActionForm(donnees, membres=_membres(c), regle_actuelle=action.frequence)

    return _editer(
        request,
        version_uuid,
        cle=lambda c: f"action-{element_uuid}",
        partie=PartieProjet.ACTIONS,
        formulaire=formulaire,
        action=lambda c, d: services.modifier_action(
            acteur=request.acteur, action=_element(c.actions, element_uuid), **_action_de(d)
        ),
        succes="L'action est modifiée.",
    )


@login_required
@require_POST
@_refus_journalise
def retirer_action(request: HttpRequest, version_uuid, element_uuid) -> HttpResponse:
    return _retirer(
        request,
        version_uuid,
        partie=PartieProjet.ACTIONS,
        trouver=lambda c: _element(c.actions, element_uuid),
        service=lambda element, **k: services.retirer_action(action=element, **k),
        succes="L'action est retirée.",
    )


# Commentaires


@login_required
@require_POST
@_refus_journalise
def commenter(request: HttpRequest, version_uuid) -> HttpResponse:
    complete = _version(request, version_uuid)
    _exiger_ecriture(request, complete.version.projet.usager)
    form = forms.CommentaireForm(request.POST)
    partie = request.POST.get("partie", "")
    cle = f"commentaire-{partie}" if partie in PartieProjet.values else "commentaire"
    form.auto_id = _auto_id(cle)
    if form.is_valid():
        try:
            services.commenter(
                acteur=request.acteur, version=complete.version, partie=form.cleaned_data["partie"],
                texte=form.cleaned_data["texte"],
            )  # fmt: skip
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, "Votre message est ajouté à la discussion.")
            return redirect(_url_atelier(complete.version, f"partie-{form.cleaned_data['partie']}"))
    alerte = ["Votre message n'a pas été ajouté.", *form.non_field_errors(), *form.errors.get("partie", [])]
    return _page_atelier(request, complete, saisie=(cle, form), alerte=alerte, status=400)


# --- Soumission, accords, avenant -----------------------------------------------------------------


@login_required
@require_POST
@_refus_journalise
def soumettre(request: HttpRequest, version_uuid) -> HttpResponse:
    complete = _version(request, version_uuid)
    _exiger_ecriture(request, complete.version.projet.usager)
    try:
        services.soumettre(acteur=request.acteur, version=complete.version)
    except ValidationError as exc:
        alerte = ["Le projet n'est pas soumis.", *exc.messages]
        return _page_atelier(request, complete, alerte=alerte, status=400)
    messages.success(request, "Le projet est soumis aux accords : il ne change plus pendant ce temps.")
    return redirect("ppa:accord", complete.version.uuid)


def _page_accord(request: HttpRequest, complete: VersionComplete, *, alerte=(), status: int = 200):
    version = complete.version
    donnes = [a for a in selectors_atelier.accords(version) if a.empreinte == version.empreinte]
    deja = {a.partie for a in donnes}
    en_attente = version.statut == StatutVersion.EN_VALIDATION
    boutons = [
        forms.AccordForm(initial={"partie": partie, "empreinte": version.empreinte}, auto_id=_auto_id(partie))
        for partie in (services.parties_permises(request.acteur, version) if en_attente else [])
        if partie not in deja
    ]
    _preparer_lecture(complete)
    contexte = {
        "usager": version.projet.usager,
        "projet": version.projet,
        "version": version,
        "complete": complete,
        "accords": donnes,
        "boutons": boutons,
        "en_attente": en_attente,
        "alerte": list(alerte),
    }
    return render(request, "ppa/atelier_accord.html", contexte, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def accord(request: HttpRequest, version_uuid) -> HttpResponse:
    complete = _version(request, version_uuid)
    if request.method == "GET":
        return _page_accord(request, complete)
    form = forms.AccordForm(request.POST)
    if not form.is_valid():
        return _page_accord(request, complete, alerte=["Accord incomplet : rechargez la page."], status=400)
    try:
        services.donner_accord(
            acteur=request.acteur, version=complete.version, partie=form.cleaned_data["partie"],
            empreinte_lue=form.cleaned_data["empreinte"],
        )  # fmt: skip
    except ValidationError as exc:
        return _page_accord(request, complete, alerte=["Rien n'a été enregistré.", *exc.messages], status=400)
    version = selectors.version_lisible(request.acteur, complete.version.uuid, request=request)
    if version.statut == StatutVersion.VALIDEE:
        messages.success(
            request, "Votre accord est enregistré : les deux accords sont là, le projet est validé."
        )
    else:
        messages.success(request, "Votre accord est enregistré.")
    return redirect("ppa:accord", version.uuid)


@login_required
@require_POST
@_refus_journalise
def avenant(request: HttpRequest, version_uuid) -> HttpResponse:
    complete = _version(request, version_uuid)
    _exiger_ecriture(request, complete.version.projet.usager)
    try:
        nouvelle = services.creer_avenant(acteur=request.acteur, version=complete.version)
    except ValidationError as exc:
        alerte = ["Aucun avenant n'est créé.", *exc.messages]
        return _page_atelier(request, complete, alerte=alerte, status=400)
    messages.success(request, f"L'avenant (version {nouvelle.numero}) est ouvert en brouillon.")
    return redirect(_url_atelier(nouvelle))


# --- Lecture facile -------------------------------------------------------------------------------


def _preparer_lecture(complete: VersionComplete) -> None:
    """Les actions rangées sous leur objectif, avec leur fréquence en français courant."""
    par_objectif = {o.pk: [] for o in complete.objectifs}
    for action in complete.actions:
        action.frequence_en_clair = decrire_regle(action.frequence) if action.frequence else ""
        par_objectif[action.objectif_id].append(action)
    for objectif in complete.objectifs:
        objectif.actions_prevues = par_objectif[objectif.pk]


@login_required
@require_GET
@_refus_journalise
def facile(request: HttpRequest, version_uuid) -> HttpResponse:
    """Le projet en lecture facile (inspirée du FALC) : à la première personne, une idée par ligne,
    gros caractères, rien de technique (ni codes ni empreinte)."""
    complete = _version(request, version_uuid)
    _preparer_lecture(complete)
    version = complete.version
    contexte = {
        "usager": version.projet.usager,
        "projet": version.projet,
        "version": version,
        "complete": complete,
        "peut_ecrire": _peut_ecrire(request, version.projet.usager),
    }
    return render(request, "ppa/atelier_facile.html", contexte)
