"""Pages du cadre commun : accueil selon la personne en tant que laquelle on agit, choix de cette
personne (« qualité »), et sonde de santé pour les répartiteurs de charge."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.totp.views import ActivateTOTPView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from coordination.comptes import acteur as acteurs
from coordination.comptes.acteur import Acteur, TypeActeur

# Vrai quand le compte avait plusieurs qualités possibles lors du dernier choix : l'en-tête
# affiche alors le lien « Changer » sans recalculer les possibilités à chaque page.
SESSION_PLUSIEURS_ACTEURS = "acteur_plusieurs"

GABARITS_ACCUEIL = {
    TypeActeur.PROCHE: "accueil/accompagnement.html",
    TypeActeur.USAGER: "accueil/accompagnement.html",
    TypeActeur.SANS_PERSONNE: "accueil/sans_personne.html",
}


@login_required
@require_GET
def accueil(request: HttpRequest) -> HttpResponse:
    acteur: Acteur | None = request.acteur
    if acteur is None:  # filet : le middleware renvoie normalement déjà vers le choix
        return redirect("choisir_acteur")
    if acteur.type == TypeActeur.PROFESSIONNEL:
        from cercle.views import mes_usagers  # « Mes usagers » est l'accueil des professionnels

        return mes_usagers(request)
    contexte = {"acteur": acteur}
    if acteur.usager is not None:
        from cahier_liaison.selectors import DOMAINE, non_lus
        from cercle.habilitations import peut

        if peut(acteur, acteur.usager, "lire", DOMAINE):
            contexte["cahier_non_lus"] = non_lus(acteur, acteur.usager)
    if acteur.type == TypeActeur.PROCHE:
        from cercle.selectors import presence_propre  # un proche membre peut quitter le cercle

        contexte["presence_propre"] = presence_propre(acteur, acteur.usager)
    return render(request, GABARITS_ACCUEIL[acteur.type], contexte)


def _suivant_sur(request: HttpRequest) -> str:
    """L'adresse où revenir après le choix, si elle reste sur ce site ; sinon l'accueil."""
    suivant = request.POST.get("suivant") or request.GET.get("suivant") or ""
    choix = reverse("choisir_acteur")
    if (
        suivant
        and url_has_allowed_host_and_scheme(
            suivant, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not suivant.startswith(choix)
    ):
        return suivant
    return reverse("accueil")


def libelle_choix(acteur: Acteur) -> str:
    """Libellé d'une possibilité sur la page de choix : « Professionnel · Infirmier · SSIAD du Val »."""
    if acteur.est_professionnel:
        return f"Professionnel · {acteur.qualite}"
    if acteur.est_proche:
        return acteur.qualite[:1].upper() + acteur.qualite[1:]
    return "Moi-même, en tant que personne accompagnée"


@login_required
@require_http_methods(["GET", "POST"])
def choisir_acteur(request: HttpRequest) -> HttpResponse:
    possibles = acteurs.acteurs_possibles(request.user)
    request.session[SESSION_PLUSIEURS_ACTEURS] = len(possibles) > 1
    suivant = _suivant_sur(request)
    erreur = ""
    statut = 200
    if request.method == "POST":
        cle = request.POST.get("cle", "")
        choisi = acteurs.choisir_acteur(request, cle) if cle else None
        if choisi is not None:
            messages.success(request, f"Vous agissez maintenant en tant que {choisi.nom} — {choisi.qualite}.")
            return redirect(suivant)
        erreur = (
            "Qualité : choisissez l'une des possibilités de la liste."
            if not cle
            else "Qualité : cette possibilité n'est pas (ou plus) ouverte à votre compte. "
            "Choisissez-en une autre."
        )
        statut = 400
    actuel = request.acteur.cle if request.acteur is not None else ""
    choix = [
        {"cle": a.cle, "nom": a.nom, "libelle": libelle_choix(a), "actuel": a.cle == actuel}
        for a in possibles
    ]
    return render(
        request,
        "comptes/choisir_acteur.html",
        {"choix": choix, "suivant": suivant, "erreur": erreur},
        status=statut,
    )


@never_cache
@require_GET
def sante(request: HttpRequest) -> JsonResponse:
    """Sonde des répartiteurs de charge : 200 si la base répond, 503 sinon. Publique, sans session."""
    try:
        with connection.cursor() as curseur:
            curseur.execute("SELECT 1")
            curseur.fetchone()
    except DatabaseError:
        return JsonResponse({"statut": "erreur", "detail": "base de données injoignable"}, status=503)
    return JsonResponse({"statut": "ok"})


class ActivationTOTP(ActivateTOTPView):
    """Activation du TOTP (vue d'allauth) qui compte le code saisi comme une authentification
    fraîche : la page suivante (codes de secours) s'ouvre sans redemander le mot de passe.
    La première activation elle-même n'en demande pas (AdaptateurComptes)."""

    def get_context_data(self, **kwargs) -> dict:
        from coordination.comptes.middleware import compte_a_une_mfa

        contexte = super().get_context_data(**kwargs)
        # Premier second facteur : la page propose aussi la clé de sécurité.
        contexte["premier_facteur"] = not compte_a_une_mfa(self.request.user)
        return contexte

    def form_valid(self, form) -> HttpResponse:
        reponse = super().form_valid(form)
        record_authentication(
            self.request, self.request.user, method="mfa", type="totp", reauthenticated=True
        )
        return reponse


activation_totp = ActivationTOTP.as_view()
