"""Pages des invitations : « J'ai reçu une invitation » (saisie du code avant la création du compte
local) et invitations du personnel d'une structure (ADR 0014). Les invitations de proches se font
depuis le cercle de l'usager (cercle/views_invitations.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from coordination.comptes import invitations
from coordination.comptes.adapters import SESSION_CODE_INVITATION
from coordination.comptes.forms import CodeInvitationForm, InvitationPersonnelForm
from coordination.comptes.models import Invitation, TypeInvitation


@never_cache
@require_http_methods(["GET", "POST"])
def saisir_invitation(request: HttpRequest) -> HttpResponse:
    """Étape 1 de la création d'un compte local : le code reçu. Limité (par adresse IP) à
    `invitations.ESSAIS_MAX` codes refusés par fenêtre : un code ne se devine pas par essais."""
    if request.user.is_authenticated:
        messages.info(
            request,
            "Vous êtes déjà connecté. Pour créer un autre compte avec une invitation, "
            "déconnectez-vous d'abord.",
        )
        return redirect("accueil")
    form = CodeInvitationForm(request.POST if request.method == "POST" else None)
    statut = 200
    if request.method == "POST":
        if not invitations.essai_permis(request):
            form.is_valid()
            form.add_error("code", invitations.MESSAGE_TROP_D_ESSAIS)
            statut = 429
        elif form.is_valid():
            code = form.cleaned_data["code"]
            try:
                invitations.verifier_invitation(code)
            except invitations.InvitationInvalide as erreur:
                invitations.noter_essai_manque(request, erreur)
                form.add_error("code", erreur.messages)
                statut = 400
            else:
                request.session[SESSION_CODE_INVITATION] = invitations.normaliser_code(code)
                return redirect("account_signup")
        else:
            statut = 400
    return render(request, "comptes/saisir_invitation.html", {"form": form}, status=statut)


# --- Personnel d'une structure ---------------------------------------------------------------------


def _exiger_gestion_personnel(request: HttpRequest) -> None:
    if not invitations.peut_inviter_le_personnel(request.acteur):
        raise PermissionDenied(
            "Inviter l'équipe d'une structure est réservé aux professionnels chargés des comptes de leur "
            "structure (à demander à l'administration du portail)."
        )


def _en_attente_de_la_structure(structure):
    return list(
        Invitation.objects.filter(type=TypeInvitation.PERSONNEL, structure=structure)
        .filter(utilisee_le__isnull=True, revoquee_le__isnull=True, expire_le__gt=timezone.now())
        .order_by("expire_le")
    )


@require_http_methods(["GET", "POST"])
def personnel_invitations(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    _exiger_gestion_personnel(request)
    structure = request.acteur.exercice.structure
    form = InvitationPersonnelForm(request.POST if request.method == "POST" else None)
    statut = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                emise = invitations.inviter_personnel(acteur=request.acteur, **form.cleaned_data)
            except ValidationError as erreur:
                for champ, liste in erreur.message_dict.items():
                    form.add_error(champ if champ in form.fields else None, liste)
            else:
                return render(
                    request, "comptes/invitation_code.html", {"emise": emise, "structure": structure}
                )
        statut = 400
    contexte = {"form": form, "structure": structure, "en_attente": _en_attente_de_la_structure(structure)}
    return render(request, "comptes/personnel_invitations.html", contexte, status=statut)


@require_POST
def personnel_invitation_annuler(request: HttpRequest, invitation_uuid) -> HttpResponse:
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    _exiger_gestion_personnel(request)
    invitation = get_object_or_404(
        Invitation,
        uuid=invitation_uuid,
        type=TypeInvitation.PERSONNEL,
        structure=request.acteur.exercice.structure,
    )
    try:
        invitations.revoquer_invitation(acteur=request.acteur, invitation=invitation)
    except invitations.InvitationRefusee as erreur:
        raise PermissionDenied(" ".join(erreur.messages)) from erreur
    except ValidationError as erreur:
        messages.error(request, " ".join(erreur.messages))
    else:
        messages.success(
            request, f"L'invitation de {invitation.destinataire} est annulée : son code ne sert plus."
        )
    return redirect("personnel_invitations")
