"""Pages des notifications : ma liste (non lues d'abord, lire, tout lire, ouvrir) et mes
préférences (nature × canal → fréquence). Chacun ne voit et ne touche que les siennes : l'uuid
d'une notification d'un autre compte répond 404 (ADR 0008)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coordination.notifications import selectors, services
from coordination.notifications.catalogue import Canal
from coordination.notifications.preferences import coordonnees_du_compte


@login_required
@require_GET
def liste(request: HttpRequest) -> HttpResponse:
    notifications = list(selectors.mes_notifications(request.user))
    return render(
        request,
        "notifications/liste.html",
        {"notifications": notifications, "non_lues": sum(1 for n in notifications if n.non_lue)},
    )


@login_required
@require_POST
def marquer_lue(request: HttpRequest, notification_uuid) -> HttpResponse:
    if services.marquer_lue(compte=request.user, notification_uuid=notification_uuid) is None:
        raise Http404("Notification introuvable.")
    return redirect("notifications:liste")


@login_required
@require_POST
def ouvrir(request: HttpRequest, notification_uuid) -> HttpResponse:
    """Marque lue et ouvre l'objet ; sa page vérifie elle-même les droits."""
    notification = services.marquer_lue(compte=request.user, notification_uuid=notification_uuid)
    if notification is None:
        raise Http404("Notification introuvable.")
    if not url_has_allowed_host_and_scheme(notification.lien, allowed_hosts=None):
        return redirect("notifications:liste")
    return redirect(notification.lien)


@login_required
@require_POST
def tout_lire(request: HttpRequest) -> HttpResponse:
    nombre = services.tout_marquer_lu(compte=request.user)
    messages.success(request, f"{nombre} notification(s) marquée(s) comme lue(s).")
    return redirect("notifications:liste")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    coordonnees = coordonnees_du_compte(request.user)
    saisie, erreurs, statut = None, None, 200
    if request.method == "POST":
        saisie = {cle: valeur for cle, valeur in request.POST.items() if "__" in cle}
        try:
            services.enregistrer_preferences(compte=request.user, coordonnees=coordonnees, saisie=saisie)
        except ValidationError as exc:
            erreurs = {champ: " ".join(textes) for champ, textes in exc.message_dict.items()}
            statut = 400
        else:
            messages.success(request, "Vos préférences de notification sont enregistrées.")
            return redirect("notifications:preferences")
    contexte = {
        "themes": selectors.tableau_des_preferences(request.user, coordonnees, saisie, erreurs),
        "canaux": list(Canal),
        "indisponibles": [
            (canal.label, coordonnees.raison_indisponible(canal))
            for canal in Canal
            if coordonnees.raison_indisponible(canal)
        ],
        "erreurs": erreurs,
    }
    return render(request, "notifications/preferences.html", contexte, status=statut)
