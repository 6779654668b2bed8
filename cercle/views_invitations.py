"""Invitations des proches, depuis le cercle de l'usager (ADR 0014) : liste des invitations en
attente, émission (le code n'est montré qu'une fois, avec la marche à suivre imprimable), annulation.
Réservé à qui peut gérer le cercle ; règle des refus de l'ADR 0008 (404 / 403)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cercle.services import AccesRefuse
from cercle.views import MESSAGE_GESTION, _refus_journalise, _usager
from coordination.comptes import invitations
from coordination.comptes.forms import NOUVEAU, InvitationProcheForm
from coordination.comptes.models import Invitation, TypeInvitation
from coordination.personnes import services as personnes
from coordination.personnes.models import Proche


def _exiger_gestion(request: HttpRequest, usager) -> None:
    if not invitations.peut_inviter_un_proche(request.acteur, usager):
        raise AccesRefuse(MESSAGE_GESTION)


def _proches_a_inviter(usager) -> list[Proche]:
    jour = timezone.localdate()
    return list(
        Proche.objects.filter(usager=usager, compte__isnull=True)
        .exclude(date_fin__lt=jour)
        .order_by("nom", "prenoms")
    )


@login_required
@require_http_methods(["GET", "POST"])
@_refus_journalise
def invitations_proches(request: HttpRequest, usager_uuid) -> HttpResponse:
    acteur = request.acteur
    usager = _usager(request, usager_uuid)
    _exiger_gestion(request, usager)
    donnees = request.POST if request.method == "POST" else None
    form = InvitationProcheForm(donnees, proches=_proches_a_inviter(usager))
    statut = 200
    if request.method == "POST":
        if form.is_valid():
            donnees = form.cleaned_data
            try:
                with transaction.atomic():
                    if donnees["proche"] == NOUVEAU:
                        proche = personnes.ajouter_proche(
                            acteur=acteur,
                            usager=usager,
                            donnees={
                                "lien": donnees["lien"],
                                "prenoms": donnees["prenoms"].strip(),
                                "nom": donnees["nom"].strip().upper(),
                                "date_debut": timezone.localdate(),
                            },
                        )
                    else:
                        proche = form.proches[donnees["proche"]]
                    emise = invitations.inviter_proche(acteur=acteur, proche=proche)
            except invitations.InvitationRefusee as erreur:
                raise AccesRefuse(" ".join(erreur.messages)) from erreur
            except ValidationError as erreur:
                for champ, liste in erreur.message_dict.items():
                    form.add_error(champ if champ in form.fields else None, liste)
            else:
                return render(request, "comptes/invitation_code.html", {"emise": emise, "usager": usager})
        statut = 400
    en_attente = list(
        Invitation.objects.filter(type=TypeInvitation.PROCHE, proche__usager=usager)
        .filter(utilisee_le__isnull=True, revoquee_le__isnull=True, expire_le__gt=timezone.now())
        .select_related("proche")
        .order_by("expire_le")
    )
    contexte = {"usager": usager, "form": form, "en_attente": en_attente, "NOUVEAU": NOUVEAU}
    return render(request, "cercle/invitations.html", contexte, status=statut)


@login_required
@require_POST
@_refus_journalise
def invitation_annuler(request: HttpRequest, usager_uuid, invitation_uuid) -> HttpResponse:
    usager = _usager(request, usager_uuid)
    _exiger_gestion(request, usager)
    invitation = get_object_or_404(
        Invitation.objects.select_related("proche__usager"), uuid=invitation_uuid, proche__usager=usager
    )
    try:
        invitations.revoquer_invitation(acteur=request.acteur, invitation=invitation)
    except invitations.InvitationRefusee as erreur:
        raise AccesRefuse(" ".join(erreur.messages)) from erreur
    except ValidationError as erreur:
        messages.error(request, " ".join(erreur.messages))
    else:
        messages.success(
            request, f"L'invitation de {invitation.destinataire} est annulée : son code ne sert plus."
        )
    return redirect("cercle:invitations", usager.uuid)
