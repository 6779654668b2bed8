"""Second facteur des comptes locaux : clé de sécurité (WebAuthn) à côté du code TOTP (ADR 0014).

Les vues d'allauth font tout le travail (cérémonies WebAuthn, vérification par `fido2`, codes de
secours) ; ces sous-classes ajoutent seulement les règles du portail :
- la première clé d'un compte vaut, comme l'activation du TOTP, une authentification « mfa »
  fraîche de la session (`AjoutCleSecurite`) ;
- on ne retire pas le dernier second facteur (`RetraitCleSecurite`, sous verrou du compte) ;
- à la connexion, la page du code ne propose la clé qu'aux comptes qui en ont une
  (`AuthentificationSecondFacteur`).
"""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.adapter import get_adapter as get_adapter_mfa
from allauth.mfa.base.views import AuthenticateView, ReauthenticateView
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal import flows
from allauth.mfa.webauthn.views import AddWebAuthnView, EditWebAuthnView, RemoveWebAuthnView
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse, reverse_lazy

from coordination.comptes.middleware import compte_a_une_mfa
from coordination.comptes.models import Compte

MESSAGE_DERNIER_FACTEUR = (
    "Cette clé est votre seul second facteur : elle ne peut pas être retirée. Ajoutez d'abord une "
    "autre clé de sécurité (ou activez le code à 6 chiffres), puis retirez celle-ci."
)


class AjoutCleSecurite(AddWebAuthnView):
    """Ajout d'une clé de sécurité (vue d'allauth). Pour la première clé du compte, la cérémonie
    réussie compte comme une authentification fraîche par le second facteur : la page suivante
    (codes de secours, créés par allauth) et le portail s'ouvrent sans redemander ni le mot de
    passe ni la clé. La première clé elle-même ne demande pas le mot de passe (AdaptateurComptes)."""

    def get_context_data(self, **kwargs) -> dict:
        contexte = super().get_context_data(**kwargs)
        contexte["premier_facteur"] = not compte_a_une_mfa(self.request.user)
        return contexte

    def form_valid(self, form) -> HttpResponse:
        premier = not compte_a_une_mfa(self.request.user)
        reponse = super().form_valid(form)
        if premier:
            record_authentication(
                self.request, self.request.user, method="mfa", type="webauthn", reauthenticated=True
            )
        return reponse


class RenommageCleSecurite(EditWebAuthnView):
    success_url = reverse_lazy("mfa_index")


class RetraitCleSecurite(RemoveWebAuthnView):
    """Retrait d'une clé (vue d'allauth), refusé si c'est le dernier second facteur du compte.
    allauth ne vérifie pas cette règle pour les clés ; le verrou sur le compte empêche deux retraits
    simultanés de vider le compte de ses deux dernières clés."""

    success_url = reverse_lazy("mfa_index")

    def get_context_data(self, **kwargs) -> dict:
        contexte = super().get_context_data(**kwargs)
        contexte["retirable"] = get_adapter_mfa().can_delete_authenticator(self.object)
        contexte["message_dernier_facteur"] = MESSAGE_DERNIER_FACTEUR
        return contexte

    def form_valid(self, form) -> HttpResponse:
        with transaction.atomic():
            Compte.objects.select_for_update().get(pk=self.request.user.pk)
            cle = self.get_object()
            if not get_adapter_mfa().can_delete_authenticator(cle):
                messages.error(self.request, MESSAGE_DERNIER_FACTEUR)
                return HttpResponseRedirect(reverse("mfa_index"))
            flows.remove_authenticator(self.request, cle)
        return HttpResponseRedirect(self.get_success_url())


class AuthentificationSecondFacteur(AuthenticateView):
    """Page « second facteur » de la connexion (vue d'allauth) : dit au gabarit quels facteurs le
    compte possède, et traduit l'échec de la clé en une phrase compréhensible."""

    def get_context_data(self, **kwargs) -> dict:
        contexte = super().get_context_data(**kwargs)
        types = set(
            Authenticator.objects.filter(user_id=self.stage.login.user.pk).values_list("type", flat=True)
        )
        contexte["a_un_totp"] = Authenticator.Type.TOTP in types
        contexte["a_une_cle"] = Authenticator.Type.WEBAUTHN in types
        contexte["a_des_codes_de_secours"] = Authenticator.Type.RECOVERY_CODES in types
        formulaire_cle = getattr(self, "webauthn_form", None)
        if formulaire_cle is not None and formulaire_cle.is_bound and formulaire_cle.errors:
            erreurs = formulaire_cle.errors.as_data().get("credential", [])
            autres = [m for e in erreurs if e.code != "incorrect_code" for m in e.messages]
            contexte["erreur_cle"] = " ".join(autres) or (
                "La clé de sécurité n'a pas été reconnue. Réessayez avec la clé enregistrée sur ce "
                "compte, ou utilisez un code de secours."
            )
        return contexte


class ReconfirmationParCode(ReauthenticateView):
    """« Confirmer votre identité » par un code (vue d'allauth) : code à 6 chiffres si le compte a
    l'application, sinon seulement un code de secours (compte protégé par des clés)."""

    def get_context_data(self, **kwargs) -> dict:
        contexte = super().get_context_data(**kwargs)
        contexte["a_un_totp"] = Authenticator.objects.filter(
            user_id=self.request.user.pk, type=Authenticator.Type.TOTP
        ).exists()
        return contexte


ajout_cle = AjoutCleSecurite.as_view()
renommage_cle = RenommageCleSecurite.as_view()
retrait_cle = RetraitCleSecurite.as_view()
authentification = AuthentificationSecondFacteur.as_view()
reconfirmation_code = ReconfirmationParCode.as_view()
