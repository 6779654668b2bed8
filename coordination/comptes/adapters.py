"""Adaptateurs django-allauth : inscription seulement sur invitation, verrouillage d'un compte après
trop d'échecs de connexion, MFA impossible à désactiver."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.db import transaction

from coordination.comptes import connexions
from coordination.comptes.invitations import InvitationInvalide, verifier_invitation

# Code d'invitation vérifié par « J'ai reçu une invitation », gardé en session (côté serveur)
# jusqu'à la création du compte.
SESSION_CODE_INVITATION = "invitation_code"


def invitation_de_la_session(request):
    """L'invitation en attente dont le code est en session, ou None (code retiré s'il ne vaut plus)."""
    code = request.session.get(SESSION_CODE_INVITATION) if request is not None else None
    if not code:
        return None
    try:
        return verifier_invitation(code)
    except InvitationInvalide:
        request.session.pop(SESSION_CODE_INVITATION, None)
        return None


class AdaptateurComptes(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Pas d'inscription libre : un compte local se crée seulement avec une invitation valable
        (aidant sans FranceConnect+, personnel d'une structure sans RPPS), saisie juste avant."""
        return invitation_de_la_session(request) is not None

    def save_user(self, request, user, form, commit=True):
        """Le compte et l'utilisation de l'invitation (liaison au proche, ou création du
        professionnel et de sa situation d'exercice) vont ensemble, ou pas du tout."""
        from coordination.comptes.invitations import utiliser_invitation

        invitation = invitation_de_la_session(request)
        if invitation is None:  # filet : la vue d'inscription vérifie déjà `is_open_for_signup`
            raise InvitationInvalide("Code d'invitation : il n'est plus valable.")
        with transaction.atomic():
            user.nom_affiche = invitation.destinataire[:150]
            user = super().save_user(request, user, form, commit=True)
            utiliser_invitation(request.session[SESSION_CODE_INVITATION], user)
        request.session.pop(SESSION_CODE_INVITATION, None)
        return user

    def pre_authenticate(self, request, **credentials) -> None:
        connexions.refuser_si_verrouille(request, credentials.get("email") or credentials.get("username"))
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request, **credentials) -> None:
        connexions.noter_echec(request, credentials.get("email") or credentials.get("username"))
        super().authentication_failed(request, **credentials)

    def get_reauthentication_methods(self, user) -> list[dict]:
        """Les moyens de confirmer son identité (page « Confirmer votre identité »), en français
        simple ; même ordre et mêmes adresses qu'allauth."""
        from allauth.mfa.models import Authenticator

        a_un_totp = Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()
        libelles = {
            "reauthenticate": "Utiliser mon mot de passe",
            "mfa_reauthenticate": (
                "Utiliser le code à 6 chiffres ou un code de secours"
                if a_un_totp
                else "Utiliser un code de secours"
            ),
            "mfa_reauthenticate:webauthn": "Utiliser ma clé de sécurité",
        }
        methodes = super().get_reauthentication_methods(user)
        for methode in methodes:
            methode["description"] = libelles.get(methode["id"], methode["description"])
        return methodes

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Première activation du TOTP ou première clé de sécurité : pas de second mot de passe.
        Le compte n'a encore aucun second facteur, et le middleware le cantonne aux pages de compte
        jusqu'à l'activation ; redemander le mot de passe au milieu de l'activation ferait aussi
        changer le code QR."""
        requis = super().is_reauthentication_required(app=app, **kwargs)
        if requis and app == "allauth.mfa":
            from coordination.comptes.middleware import compte_a_une_mfa

            compte = getattr(context.request, "user", None)
            if compte is not None and compte.is_authenticated and not compte_a_une_mfa(compte):
                return False
        return requis


class AdaptateurMFA(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        """La MFA est obligatoire pour un compte local : on remplace le TOTP, on ne le supprime pas ;
        une clé de sécurité se retire seulement s'il reste un autre second facteur (TOTP ou autre
        clé). Les codes de secours ne comptent pas : seuls, ils ne protègent pas la connexion.

        allauth ne consulte cette règle que pour le TOTP : le retrait d'une clé passe par
        `comptes.views.RetraitCleSecurite`, qui la vérifie sous verrou."""
        Type = authenticator.Type
        if authenticator.type == Type.TOTP:
            return False
        if authenticator.type == Type.WEBAUTHN:
            return (
                type(authenticator)
                .objects.filter(user_id=authenticator.user_id, type__in=[Type.TOTP, Type.WEBAUTHN])
                .exclude(pk=authenticator.pk)
                .exists()
            )
        return True
