"""Pages de l'agenda : l'agenda consolidé d'un usager (liste, semaine, mois, ligne de vie),
ajouter un rendez-vous, un événement (réponses, annulation), mon agenda de professionnel (toutes
mes structures, absences, réunions à traiter), mes disponibilités et absences, demander une
réunion de coordination et la suivre.

Vues minces : lire la saisie → sélecteur ou service → afficher. Refus (ADR 0008) : usager hors du
monde de l'acteur → 404 ; sans droit sur l'agenda → 403 (journalisé) ; événement que l'acteur ne
peut pas voir → 404."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agenda import caldav_portail, forms, ics, mes, reunions, selectors, services, tasks
from agenda.models import AppairageMES, CalendrierCalDAV, DemandeReunion, FluxIcs, ReglagesAgenda
from cercle import habilitations
from cercle.services import AccesRefuse
from cercle.views import _agir, _ajouter_erreurs, _refus_journalise, _usager
from coordination.comptes.acteur import TypeActeur, acteur_depuis_cle
from coordination.journal.lectures import noter_lecture

DOMAINE = services.DOMAINE
VUES = {"liste": "Liste", "semaine": "Semaine", "mois": "Mois", "ligne": "Ligne de vie"}
NOMS_DES_JOURS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


# --- Outils ---------------------------------------------------------------------------------------


def _jour(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()


def _debut_du_jour(jour: dt.date) -> dt.datetime:
    return forms.a_paris(jour, dt.time(0))


def fenetre(vue: str, jour: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(premier jour, jour après le dernier, période précédente, suivante) d'une vue."""
    if vue == "mois":
        premier = jour.replace(day=1)
        suivant = (premier + dt.timedelta(days=32)).replace(day=1)
        precedent = (premier - dt.timedelta(days=1)).replace(day=1)
        return premier, suivant, precedent, suivant
    if vue == "liste":
        return jour, jour + dt.timedelta(days=60), jour - dt.timedelta(days=60), jour + dt.timedelta(days=60)
    if vue == "ligne":
        debut = jour - dt.timedelta(days=182)
        return (
            debut,
            jour + dt.timedelta(days=92),
            jour - dt.timedelta(days=274),
            jour + dt.timedelta(days=274),
        )
    lundi = jour - dt.timedelta(days=jour.weekday())
    return lundi, lundi + dt.timedelta(days=7), lundi - dt.timedelta(days=7), lundi + dt.timedelta(days=7)


def par_jour(occurrences, premier: dt.date, apres: dt.date, *, tous_les_jours: bool) -> list[dict]:
    """Les occurrences rangées par jour local (un événement sur plusieurs jours apparaît chaque
    jour) ; `tous_les_jours` garde aussi les jours vides (semaine, mois)."""
    jours: dict[dt.date, list] = defaultdict(list)
    for occurrence in occurrences:
        jour = max(timezone.localtime(occurrence.debut).date(), premier)
        dernier = timezone.localtime(occurrence.fin - dt.timedelta(microseconds=1)).date()
        while jour <= dernier and jour < apres:
            jours[jour].append(occurrence)
            jour += dt.timedelta(days=1)
    liste = []
    jour = premier
    while jour < apres:
        if tous_les_jours or jours.get(jour):
            liste.append(
                {
                    "date": jour,
                    "nom": NOMS_DES_JOURS[jour.weekday()],
                    "occurrences": jours.get(jour, []),
                    "aujourd_hui": jour == timezone.localdate(),
                }
            )
        jour += dt.timedelta(days=1)
    return liste


def par_mois(occurrences) -> list[dict]:
    """Ligne de vie : les occurrences groupées par mois, les plus récentes d'abord."""
    mois: dict[dt.date, list] = defaultdict(list)
    for occurrence in occurrences:
        mois[timezone.localtime(occurrence.debut).date().replace(day=1)].append(occurrence)
    return [{"mois": m, "occurrences": mois[m]} for m in sorted(mois, reverse=True)]


def _contexte_calendrier(
    request: HttpRequest, occurrences, vue: str, premier, apres, precedent, suivant
) -> dict:
    return {
        "vue": vue,
        "vues": VUES,
        "premier": premier,
        "dernier": apres - dt.timedelta(days=1),
        "precedent": precedent,
        "suivant": suivant,
        "aujourd_hui": timezone.localdate(),
        "jours": par_jour(occurrences, premier, apres, tous_les_jours=vue in ("semaine", "mois")),
        "mois": par_mois(occurrences) if vue == "ligne" else [],
        "decalage_mois": range(premier.weekday()) if vue == "mois" else range(0),
        "occurrences": occurrences,
    }


def _invitables(usager) -> list[tuple[str, str, object]]:
    """(valeur, libellé, personne) des personnes qu'on peut convier pour cet usager : l'usager, ses
    proches membres du cercle, les professionnels membres (avec leur situation d'exercice)."""
    choix = [(f"usager:{usager.uuid}", f"{usager} (la personne elle-même)", usager)]
    for membre in services.membres_invitables(usager):
        if membre.proche_id:
            choix.append((f"proche:{membre.proche.uuid}", f"{membre.proche} (proche)", membre.proche))
        elif membre.exercice_id:
            exercice = membre.exercice
            lieu = exercice.structure.raison_sociale if exercice.structure_id else "exercice libéral"
            choix.append((f"exercice:{exercice.uuid}", f"{exercice.professionnel} · {lieu}", exercice))
    return choix


def _personnes(choix: list[tuple[str, str, object]], valeurs) -> list:
    par_valeur = {valeur: personne for valeur, _, personne in choix}
    return [par_valeur[v] for v in valeurs if v in par_valeur]


# --- L'agenda consolidé d'un usager ---------------------------------------------------------------


def _agenda(request: HttpRequest, usager_uuid, action: str = "lire"):
    usager = _usager(request, usager_uuid)
    if not habilitations.peut(request.acteur, usager, "lire", DOMAINE):
        raise AccesRefuse(selectors.REFUS_LIRE)
    if action == "ecrire" and not habilitations.peut(request.acteur, usager, "ecrire", DOMAINE):
        raise AccesRefuse(services.REFUS_ECRIRE)
    return usager


@login_required
@require_GET
@_refus_journalise
def agenda_usager(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _agenda(request, usager_uuid)
    vue = request.GET.get("vue") if request.GET.get("vue") in VUES else "semaine"
    premier, apres, precedent, suivant = fenetre(vue, _jour(request))
    occurrences = selectors.agenda_de_l_usager(
        request.acteur, usager, _debut_du_jour(premier), _debut_du_jour(apres)
    )
    noter_lecture(request, usager=usager, action="agenda.lecture", details={"vue": vue})
    contexte = _contexte_calendrier(request, occurrences, vue, premier, apres, precedent, suivant)
    contexte.update(
        usager=usager,
        peut_ecrire=habilitations.peut(request.acteur, usager, "ecrire", DOMAINE),
        peut_demander=request.acteur.type == TypeActeur.PROFESSIONNEL
        and habilitations.peut(request.acteur, usager, "ecrire", DOMAINE),
        url_agenda=reverse("agenda:usager", args=[usager.uuid]),
    )
    return render(request, "agenda/agenda.html", contexte)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def ajouter(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _agenda(request, usager_uuid, "ecrire")
    choix = _invitables(usager)
    form = forms.EvenementForm(
        request.POST or None,
        initial={"jour": _jour(request)},
        invitables=[(v, libelle) for v, libelle, _ in choix]
        if request.acteur.type == TypeActeur.PROFESSIONNEL
        else [],
    )
    if request.method == "POST" and form.is_valid():
        donnees = form.cleaned_data
        try:
            evenement = services.creer_evenement(
                acteur=request.acteur,
                usager=usager,
                titre=donnees["titre"],
                motif=donnees["motif"],
                debut=donnees["debut"],
                fin=donnees["fin"],
                journee_entiere=donnees["journee_entiere"],
                lieux=donnees["lieux"],
                rrule=donnees["rrule"],
                invites=[services.Invite(p) for p in _personnes(choix, donnees.get("participants", []))],
            )
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, "Le rendez-vous est ajouté à l'agenda.")
            for avertissement in reunions.avertissements(evenement):
                messages.warning(request, avertissement)
            jour = timezone.localtime(evenement.debut).date()
            return redirect(f"{reverse('agenda:usager', args=[usager.uuid])}?date={jour:%Y-%m-%d}")
    statut = 400 if request.method == "POST" else 200
    return render(request, "agenda/ajouter.html", {"usager": usager, "form": form}, status=statut)


# --- Un événement -----------------------------------------------------------------------------------


def _evenement(request: HttpRequest, evenement_uuid):
    evenement = selectors.evenement_visible(request.acteur, evenement_uuid)
    if evenement is None:
        raise Http404("Événement introuvable.")
    if evenement.usager_id:
        noter_lecture(request, usager=evenement.usager, objet=evenement, action="agenda.lecture")
    return evenement


@login_required
@require_GET
def evenement(request: HttpRequest, evenement_uuid) -> HttpResponse:
    evenement = _evenement(request, evenement_uuid)
    moi = selectors.participation_de(request.acteur, evenement)
    demande = DemandeReunion.objects.filter(evenement=evenement).first()
    peut_modifier = (
        reunions.est_demandeur(request.acteur, demande)
        if demande
        else services.peut_modifier(request.acteur, evenement)
    )
    return render(
        request,
        "agenda/evenement.html",
        {
            "evenement": evenement,
            "moi": moi,
            "demande": demande,
            "peut_modifier": peut_modifier,
            # Absences et indisponibilités des professionnels : pour qui organise, pas pour tous.
            "avertissements": reunions.avertissements(evenement) if peut_modifier else [],
            "reponse_form": forms.ReponseForm(),
            "annulation_form": forms.AnnulationForm(),
        },
    )


@login_required
@require_POST
def repondre(request: HttpRequest, evenement_uuid) -> HttpResponse:
    evenement = _evenement(request, evenement_uuid)
    suite = reverse("agenda:evenement", args=[evenement.uuid])
    demande = DemandeReunion.objects.filter(evenement=evenement).first()
    statut = request.POST.get("statut", "")
    if demande is not None:
        return _agir(
            request,
            suite,
            reunions.repondre,
            "Votre réponse est enregistrée.",
            demande=demande,
            statut=statut,
        )
    return _agir(
        request,
        suite,
        services.repondre,
        "Votre réponse est enregistrée.",
        evenement=evenement,
        statut=statut,
    )


@login_required
@require_POST
def annuler(request: HttpRequest, evenement_uuid) -> HttpResponse:
    evenement = _evenement(request, evenement_uuid)
    form = forms.AnnulationForm(request.POST)
    motif = form.cleaned_data["motif"] if form.is_valid() else ""
    demande = DemandeReunion.objects.filter(evenement=evenement).first()
    suite = reverse("agenda:evenement", args=[evenement.uuid])
    if demande is not None:
        return _agir(
            request,
            suite,
            reunions.annuler,
            "La réunion est annulée ; chacun sera prévenu.",
            demande=demande,
            motif=motif,
        )
    return _agir(
        request,
        suite,
        services.annuler_evenement,
        "Le rendez-vous est annulé.",
        evenement=evenement,
        motif=motif,
    )


# --- Mon agenda de professionnel ------------------------------------------------------------------


def _exiger_professionnel(request: HttpRequest) -> None:
    if request.acteur is None or request.acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Cette page est l'agenda d'un professionnel.")


@login_required
@require_GET
def mon_agenda(request: HttpRequest) -> HttpResponse:
    _exiger_professionnel(request)
    vue = request.GET.get("vue") if request.GET.get("vue") in ("liste", "semaine", "mois") else "semaine"
    premier, apres, precedent, suivant = fenetre(vue, _jour(request))
    debut, fin = _debut_du_jour(premier), _debut_du_jour(apres)
    occurrences = selectors.agenda_du_professionnel(request.acteur, debut, fin)
    contexte = _contexte_calendrier(request, occurrences, vue, premier, apres, precedent, suivant)
    contexte.update(
        vues={k: v for k, v in VUES.items() if k != "ligne"},
        absences=list(selectors.absences_du_professionnel(request.acteur, debut, fin)),
        demandes=reunions.demandes_a_traiter(request.acteur),
        url_agenda=reverse("agenda:mon_agenda"),
    )
    return render(request, "agenda/mon_agenda.html", contexte)


@login_required
@require_http_methods(["GET", "POST"])
def disponibilites(request: HttpRequest) -> HttpResponse:
    _exiger_professionnel(request)
    acteur = request.acteur
    reglages = ReglagesAgenda.objects.filter(professionnel_id=acteur.exercice.professionnel_id).first()
    reglages_form = forms.ReglagesForm(
        request.POST if request.POST.get("quoi") == "reglages" else None,
        initial={
            "tampon_avant": int(reglages.tampon_avant.total_seconds() // 60),
            "tampon_apres": int(reglages.tampon_apres.total_seconds() // 60),
            "zone_feries": reglages.zone_feries,
        }
        if reglages
        else None,
    )
    if reglages_form.is_bound:
        if reglages_form.is_valid():
            donnees = reglages_form.cleaned_data
            try:
                services.regler_agenda(
                    acteur=acteur,
                    tampon_avant=dt.timedelta(minutes=donnees["tampon_avant"]),
                    tampon_apres=dt.timedelta(minutes=donnees["tampon_apres"]),
                    zone_feries=donnees["zone_feries"],
                )
            except ValidationError as exc:
                _ajouter_erreurs(reglages_form, exc)
            else:
                messages.success(request, "Réglages enregistrés.")
                return redirect("agenda:disponibilites")
    dispo_form = forms.DisponibiliteForm(request.POST if request.POST.get("quoi") == "plage" else None)
    absence_form = forms.AbsenceForm(request.POST if request.POST.get("quoi") == "absence" else None)
    if request.method == "POST" and request.POST.get("quoi") in ("plage", "absence"):
        form = dispo_form if request.POST.get("quoi") == "plage" else absence_form
        if form.is_valid():
            donnees = form.cleaned_data
            try:
                if form is dispo_form:
                    services.ajouter_disponibilite(
                        acteur=acteur,
                        jours=donnees["jours"],
                        heure_debut=donnees["heure_debut"],
                        heure_fin=donnees["heure_fin"],
                        pour_cette_structure=donnees["pour_cette_structure"],
                    )
                else:
                    services.ajouter_absence(
                        acteur=acteur, debut=donnees["debut"], fin=donnees["fin"], motif=donnees["motif"]
                    )
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
            else:
                messages.success(request, "C'est enregistré.")
                return redirect("agenda:disponibilites")
    professionnel_id = acteur.exercice.professionnel_id
    contexte = {
        "plages": selectors.disponibilites_du_professionnel(professionnel_id),
        "absences": selectors.absences_a_venir(professionnel_id),
        "dispo_form": dispo_form,
        "reglages_form": reglages_form,
        "absence_form": absence_form,
        "noms_des_jours": NOMS_DES_JOURS,
    }
    return render(
        request, "agenda/disponibilites.html", contexte, status=400 if request.method == "POST" else 200
    )


# --- Réunions de coordination ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def demander_reunion(request: HttpRequest, usager_uuid) -> HttpResponse:
    usager = _agenda(request, usager_uuid, "ecrire")
    _exiger_professionnel(request)
    choix = _invitables(usager)  # le demandeur y est d'office (s'il se coche, rien ne change)
    demain = timezone.localdate() + dt.timedelta(days=1)
    form = forms.DemandeReunionForm(
        request.POST or None,
        invitables=[(v, libelle) for v, libelle, _ in choix],
        initial={
            "du": demain + dt.timedelta(days=3),
            "au": demain + dt.timedelta(days=27),
            "date_limite": demain + dt.timedelta(days=2),
        },
    )
    resultat = None
    statut = 200
    if request.method == "POST":
        statut = 400
        if form.is_valid():
            donnees = form.cleaned_data
            facultatifs = set(donnees["facultatifs"])
            invites = [
                services.Invite(personne, requis=valeur not in facultatifs)
                for valeur, _, personne in choix
                if valeur in set(donnees["participants"]) | facultatifs
            ]
            duree = dt.timedelta(minutes=donnees["duree"])
            try:
                if donnees.get("debut"):
                    demande = reunions.demander_reunion(
                        acteur=request.acteur,
                        usager=usager,
                        invites=invites,
                        titre=donnees["titre"],
                        motif=donnees["motif"],
                        duree=duree,
                        horizon_debut=donnees["horizon_debut"],
                        horizon_fin=donnees["horizon_fin"],
                        date_limite=donnees["date_limite_instant"],
                        debut=donnees["debut"],
                        lieux=donnees["lieux"],
                    )
                    messages.success(
                        request, "La réunion est demandée : le créneau est retenu dans chaque agenda."
                    )
                    return redirect("agenda:evenement", demande.evenement.uuid)
                resultat = reunions.proposer_creneaux(
                    acteur=request.acteur,
                    usager=usager,
                    invites=invites,
                    duree=duree,
                    # Les réponses arrivent avant la réunion : rien avant la date limite.
                    debut=max(donnees["horizon_debut"], donnees["date_limite_instant"]),
                    fin=donnees["horizon_fin"],
                )
                statut = 200
            except ValidationError as exc:
                _ajouter_erreurs(form, exc)
    return render(
        request,
        "agenda/demander_reunion.html",
        {"usager": usager, "form": form, "resultat": resultat},
        status=statut,
    )


@login_required
@require_POST
def contre_proposer(request: HttpRequest, evenement_uuid) -> HttpResponse:
    evenement = _evenement(request, evenement_uuid)
    demande = DemandeReunion.objects.filter(evenement=evenement).first()
    if demande is None:
        raise Http404("Pas de demande de réunion pour cet événement.")
    form = forms.ContrePropositionForm(request.POST)
    suite = reverse("agenda:evenement", args=[evenement.uuid])
    if not form.is_valid() or "debut" not in form.cleaned_data:
        messages.error(request, "Indiquez le jour et l'heure que vous proposez.")
        return redirect(suite)
    return _agir(
        request,
        suite,
        reunions.contre_proposer,
        "Votre proposition est transmise à la personne qui organise.",
        demande=demande,
        debut=form.cleaned_data["debut"],
        commentaire=form.cleaned_data["commentaire"],
    )


@login_required
@require_POST
def retenir(request: HttpRequest, evenement_uuid, proposition_id: int) -> HttpResponse:
    evenement = _evenement(request, evenement_uuid)
    demande = DemandeReunion.objects.filter(evenement=evenement).first()
    proposition = demande.contre_propositions.filter(pk=proposition_id).first() if demande else None
    if proposition is None:
        raise Http404("Proposition introuvable.")
    return _agir(
        request,
        reverse("agenda:evenement", args=[evenement.uuid]),
        reunions.deplacer,
        "La réunion est déplacée ; chacun doit confirmer le nouveau créneau.",
        demande=demande,
        debut=proposition.debut,
        proposition=proposition,
    )


# --- Flux webcal et calendriers extérieurs --------------------------------------------------------

FENETRE_FLUX = (dt.timedelta(days=90), dt.timedelta(days=366))


@require_GET
def flux_ics(request: HttpRequest, jeton: str) -> HttpResponse:
    """Le flux webcal privé : le jeton secret est la seule clé ; les droits de son titulaire sont
    revérifiés à chaque lecture (un jeton tourné, un droit retiré, un compte parti : 404)."""
    flux = FluxIcs.objects.select_related("compte", "usager").filter(jeton=jeton).first()
    acteur = acteur_depuis_cle(flux.compte, flux.titulaire) if flux and flux.compte.is_active else None
    if acteur is None:
        raise Http404("Calendrier introuvable.")
    maintenant = timezone.now()
    debut, fin = maintenant - FENETRE_FLUX[0], maintenant + FENETRE_FLUX[1]
    if flux.usager_id:
        if not selectors.peut_lire(acteur, flux.usager):
            raise Http404("Calendrier introuvable.")
        evenements = selectors.evenements_de_l_usager_sur(flux.usager, debut, fin)
        corps = ics.ecrire_calendrier(ics.evenements_ics(evenements), nom=f"Agenda de {flux.usager}")
        noter_lecture(request, usager=flux.usager, acteur=acteur, action="agenda.flux.lecture")
    elif acteur.type == TypeActeur.PROFESSIONNEL:
        evenements = selectors.evenements_du_professionnel_sur(acteur.exercice.professionnel_id, debut, fin)
        lisibles = selectors.usagers_lisibles(acteur, evenements)
        masquer = lambda e: bool(e.usager_id) and e.usager_id not in lisibles  # noqa: E731
        corps = ics.ecrire_calendrier(ics.evenements_ics(evenements, masquer=masquer), nom="Mon agenda")
    else:
        raise Http404("Calendrier introuvable.")
    if flux.dernier_acces is None or maintenant - flux.dernier_acces > dt.timedelta(hours=1):
        FluxIcs.objects.filter(pk=flux.pk).update(dernier_acces=maintenant)
    reponse = HttpResponse(corps, content_type="text/calendar; charset=utf-8")
    reponse["Cache-Control"] = "no-store, private"
    reponse["Referrer-Policy"] = "no-referrer"
    reponse["Content-Disposition"] = 'inline; filename="agenda.ics"'
    return reponse


def _adresse_du_flux(request: HttpRequest, flux: FluxIcs) -> dict:
    https = request.build_absolute_uri(reverse("agenda:flux_ics", args=[flux.jeton]))
    return {"flux": flux, "adresse": https, "adresse_webcal": "webcal://" + https.split("://", 1)[1]}


@login_required
@require_http_methods(["GET", "POST"])
def abonnement(request: HttpRequest) -> HttpResponse:
    """Mon agenda dans mon calendrier (adresse webcal) et mes occupations venues d'ailleurs."""
    _exiger_professionnel(request)
    tourner = request.method == "POST" and request.POST.get("quoi") == "tourner"
    erreur_import = ""
    if request.method == "POST" and request.POST.get("quoi") == "importer":
        fichier = request.FILES.get("calendrier")
        try:
            if fichier is None:
                raise ValidationError("Choisissez un fichier .ics.")
            nombre = services.importer_occupations(acteur=request.acteur, contenu=fichier.read())
        except ValidationError as exc:
            erreur_import = " ".join(exc.messages)
        else:
            messages.success(request, f"{nombre} temps occupés importés : ils comptent pour les réunions.")
            return redirect("agenda:abonnement")
    caldav_form = forms.CalDAVForm(request.POST if request.POST.get("quoi") == "caldav" else None)
    if caldav_form.is_bound:
        if caldav_form.is_valid():
            try:
                calendrier = caldav_portail.relier(acteur=request.acteur, **caldav_form.cleaned_data)
            except ValidationError as exc:
                _ajouter_erreurs(caldav_form, exc)
            else:
                transaction.on_commit(lambda: tasks.synchroniser_caldav.delay(calendrier.pk))
                messages.success(request, "Calendrier relié : la synchronisation commence.")
                return redirect("agenda:abonnement")
        erreur_import = erreur_import or "caldav"
    flux = services.flux_ics(acteur=request.acteur, tourner=tourner)
    if tourner:
        messages.success(request, "Nouvelle adresse créée : l'ancienne ne fonctionne plus.")
        return redirect("agenda:abonnement")
    contexte = {
        **_adresse_du_flux(request, flux),
        "erreur_import": "" if erreur_import == "caldav" else erreur_import,
        "usager": None,
        "caldav_form": caldav_form,
        "calendrier_caldav": CalendrierCalDAV.objects.filter(
            professionnel_id=request.acteur.exercice.professionnel_id
        ).first(),
    }
    return render(request, "agenda/abonnement.html", contexte, status=400 if erreur_import else 200)


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def abonnement_usager(request: HttpRequest, usager_uuid) -> HttpResponse:
    """L'agenda d'un usager dans le calendrier de son aidant (ou d'un membre qui le lit)."""
    usager = _agenda(request, usager_uuid)
    tourner = request.method == "POST"
    flux = services.flux_ics(acteur=request.acteur, usager=usager, tourner=tourner)
    if tourner:
        messages.success(request, "Nouvelle adresse créée : l'ancienne ne fonctionne plus.")
        return redirect("agenda:abonnement_usager", usager.uuid)
    return render(request, "agenda/abonnement.html", {**_adresse_du_flux(request, flux), "usager": usager})


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def preferences(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Les moments que l'usager préfère pour ses rendez-vous (classement des réunions)."""
    usager = _agenda(request, usager_uuid, "ecrire")
    form = forms.PreferencesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.definir_preferences(acteur=request.acteur, usager=usager, plages=form.plages())
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
        else:
            messages.success(request, "Préférences enregistrées : les réunions en tiendront compte.")
            return redirect("agenda:usager", usager.uuid)
    actuelles = list(usager.preferences_horaires.all())
    return render(
        request,
        "agenda/preferences.html",
        {"usager": usager, "form": form, "actuelles": actuelles, "noms_des_jours": NOMS_DES_JOURS},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def mon_espace_sante(request: HttpRequest, usager_uuid) -> HttpResponse:
    """Le partage de l'agenda avec Mon espace santé : l'état (lecteurs de l'agenda), l'accord et
    son retrait (la personne ou son représentant légal seulement ; agenda/mes.py, ADR 0034)."""
    usager = _agenda(request, usager_uuid)
    titulaire = habilitations.est_titulaire(request.acteur, usager)
    form = forms.AccordMESForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not titulaire:
            raise AccesRefuse(mes.REFUS_ACCORD)
        if request.POST.get("action") == "retrait":
            return _agir(
                request, reverse("agenda:mon_espace_sante", args=[usager.uuid]), mes.retirer_accord,
                "Accord retiré : l'agenda n'est plus partagé avec Mon espace santé.", usager=usager,
            )  # fmt: skip
        try:
            if form.is_valid():
                mes.donner_accord(acteur=request.acteur, usager=usager)
                messages.success(request, "Accord enregistré : l'agenda est partagé avec Mon espace santé.")
                return redirect("agenda:mon_espace_sante", usager.uuid)
        except ValidationError as exc:
            _ajouter_erreurs(form, exc)
    appairage = AppairageMES.objects.filter(usager=usager).first()
    noter_lecture(request, usager=usager, objet=appairage, action="agenda.mes.lecture")
    contexte = {"usager": usager, "appairage": appairage, "titulaire": titulaire, "form": form}
    return render(request, "agenda/mon_espace_sante.html", contexte, status=400 if form.is_bound else 200)
