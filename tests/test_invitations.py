"""Invitations (ADR 0014) : code (forme, empreinte seule gardée), droits d'émission, usage unique,
révocation, échéance et journal ; création d'un compte local seulement sur invitation (courriel
vérifié, TOTP obligatoire, codes de secours) ; essais de code limités."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from coordination.comptes import invitations
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.comptes.models import Compte, Invitation
from coordination.journal.models import Evenement
from coordination.personnes.models import Exercice, LienProche, Professionnel
from tests.factories import ProcheFactory
from tests.monde_cercle import acteur_pro, construire_monde

pytestmark = pytest.mark.django_db

MOT_DE_PASSE = "Cheval-Agrafe-Pile-42"
CODE_FORME = re.compile(r"^[A-HJKMNP-Z]{4}(-[A-HJKMNP-Z]{4}){3}$")


@pytest.fixture(autouse=True)
def cache_vide():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monde():
    return construire_monde()


def _nouveau_proche(monde, **champs):
    return ProcheFactory(usager=monde.usager, lien=LienProche.AIDANT, prenoms="Lucie", nom="NIECE", **champs)


# --- Le code et le service ------------------------------------------------------------------------


def test_code_lisible_haute_entropie_et_seulement_son_empreinte_gardee(monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    assert CODE_FORME.match(emise.code)
    assert len(invitations.ALPHABET) ** 16 > 2**70  # ~72 bits
    invitation = Invitation.objects.get()
    assert emise.code.replace("-", "") not in invitation.empreinte_code
    assert invitation.empreinte_code == invitations.empreinte(emise.code)
    assert invitation.expire_le - timezone.now() > datetime.timedelta(days=13, hours=23)
    assert invitation.expire_le - timezone.now() <= datetime.timedelta(days=14)
    # Saisie tolérante : minuscules, espaces à la place des tirets.
    saisi = emise.code.lower().replace("-", " ")
    assert invitations.verifier_invitation(saisi) == invitation
    evenement = Evenement.objects.get(action="invitation.emission")
    assert evenement.usager_uuid == monde.usager.uuid
    assert emise.code not in str(evenement.details)
    codes = {invitations.generer_code() for _ in range(200)}
    assert len(codes) == 200
    assert not any(c in "ILO0123456789" for code in codes for c in code.replace("-", ""))


@pytest.mark.parametrize(
    ("nom", "permis"),
    [
        ("usager", True),
        ("representant", True),
        ("gestionnaire", True),
        ("aidant_avec_droits", False),
        ("aidant_sans_droit", False),
        ("ide", False),
        ("pro_hors_cercle", False),
        ("autre_usager", False),
        ("assistant", False),
        ("membre_sorti", False),
    ],
)
def test_qui_peut_inviter_un_proche(monde, nom, permis):
    proche = _nouveau_proche(monde)
    if permis:
        invitations.inviter_proche(acteur=monde[nom], proche=proche)
        assert Invitation.objects.filter(proche=proche).count() == 1
    else:
        with pytest.raises(invitations.InvitationRefusee):
            invitations.inviter_proche(acteur=monde[nom], proche=proche)
        assert not Invitation.objects.exists()


def test_utilisation_unique_relie_le_compte_au_proche(monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    compte = Compte.objects.create_user("lucie@exemple.test", MOT_DE_PASSE)
    acteur = invitations.utiliser_invitation(emise.code, compte)
    proche.refresh_from_db()
    assert proche.compte == compte
    assert acteur.proche == proche and acteur.usager == monde.usager
    evenement = Evenement.objects.get(action="invitation.utilisation")
    assert evenement.compte_uuid == compte.uuid and evenement.usager_uuid == monde.usager.uuid
    autre = Compte.objects.create_user("intrus@exemple.test", MOT_DE_PASSE)
    with pytest.raises(invitations.InvitationInvalide, match="déjà servi"):
        invitations.utiliser_invitation(emise.code, autre)
    proche.refresh_from_db()
    assert proche.compte == compte


def test_revocation_expiration_et_remplacement(monde):
    proche = _nouveau_proche(monde)
    premiere = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    seconde = invitations.inviter_proche(acteur=monde["representant"], proche=proche)
    with pytest.raises(invitations.InvitationInvalide, match="annulée"):
        invitations.verifier_invitation(premiere.code)  # une seule invitation valable par proche
    with pytest.raises(invitations.InvitationRefusee):
        invitations.revoquer_invitation(acteur=monde["aidant_sans_droit"], invitation=seconde.invitation)
    invitations.revoquer_invitation(acteur=monde["gestionnaire"], invitation=seconde.invitation)
    with pytest.raises(invitations.InvitationInvalide, match="annulée"):
        invitations.verifier_invitation(seconde.code)
    with pytest.raises(ValidationError, match="révoquée"):
        invitations.revoquer_invitation(acteur=monde["usager"], invitation=seconde.invitation)
    assert Evenement.objects.filter(action="invitation.revocation").count() == 2

    troisieme = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    with freeze_time(timezone.now() + datetime.timedelta(days=14, minutes=1)):
        with pytest.raises(invitations.InvitationInvalide, match="expiré"):
            invitations.verifier_invitation(troisieme.code)
        compte = Compte.objects.create_user("tard@exemple.test", MOT_DE_PASSE)
        with pytest.raises(invitations.InvitationInvalide, match="expiré"):
            invitations.utiliser_invitation(troisieme.code, compte)
        assert invitations.expirer_invitations() == 1
        assert invitations.expirer_invitations() == 0  # journalisée une seule fois
    evenement = Evenement.objects.get(action="invitation.expiration")
    assert evenement.objet_uuid == troisieme.invitation.uuid
    assert evenement.usager_uuid == monde.usager.uuid


def test_code_inconnu_ou_mal_forme(monde):
    for saisie in ("", "ABCD", "ABCD-EFGH-JKMN-PQRS", "x" * 40):
        with pytest.raises(invitations.InvitationInvalide, match="n'existe pas"):
            invitations.verifier_invitation(saisie)


def test_proche_deja_relie_ou_parti_pas_invite(monde):
    relie = ProcheFactory(usager=monde.usager, compte=Compte.objects.create_user("x@exemple.test", "x"))
    with pytest.raises(ValidationError, match="déjà un compte"):
        invitations.inviter_proche(acteur=monde["usager"], proche=relie)
    parti = ProcheFactory(
        usager=monde.usager,
        date_debut=timezone.localdate() - datetime.timedelta(days=30),
        date_fin=timezone.localdate() - datetime.timedelta(days=1),
    )
    with pytest.raises(ValidationError, match="pris fin"):
        invitations.inviter_proche(acteur=monde["usager"], proche=parti)


def test_personnel_d_une_structure(monde):
    ide = monde["ide"]
    with pytest.raises(invitations.InvitationRefusee):
        invitations.inviter_personnel(acteur=ide, nom="Amp", prenom="Léa", fonction="AMP")
    Exercice.objects.filter(pk=ide.exercice.pk).update(invite_le_personnel=True)
    ide = acteur_pro(Exercice.objects.get(pk=ide.exercice.pk))
    with pytest.raises(ValidationError) as erreur:
        invitations.inviter_personnel(acteur=ide, nom="", prenom="Léa", fonction="")
    assert set(erreur.value.message_dict) == {"nom", "fonction"}
    emise = invitations.inviter_personnel(acteur=ide, nom="Martin", prenom="Léa", fonction="AMP")
    compte = Compte.objects.create_user("lea@exemple.test", MOT_DE_PASSE)
    acteur = invitations.utiliser_invitation(emise.code, compte)
    professionnel = Professionnel.objects.get(compte=compte)
    assert professionnel.idnat_ps is None and professionnel.nom_exercice == "MARTIN"
    assert acteur.exercice.structure == monde.ssiad and acteur.exercice.fonction == "AMP"
    # Une collègue sans la marque « invite le personnel » ne peut pas annuler.
    with pytest.raises(invitations.InvitationRefusee):
        invitations.revoquer_invitation(acteur=monde["collegue_structure"], invitation=emise.invitation)


# --- Création du compte local sur invitation ------------------------------------------------------


def test_inscription_impossible_sans_invitation(client):
    reponse = client.get(reverse("account_signup"))
    assert "Pas d'inscription libre" in unescape(reponse.content.decode())
    assert reverse("saisir_invitation") in unescape(reponse.content.decode())
    client.post(
        reverse("account_signup"),
        {"email": "libre@exemple.test", "password1": MOT_DE_PASSE, "password2": MOT_DE_PASSE},
    )
    assert not Compte.objects.filter(email="libre@exemple.test").exists()
    assert not mail.outbox


def _lien_de_confirmation() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/comptes/confirm-email/[^\s]+/)", message.body).group(1)


def test_parcours_complet_aidant(client, monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)

    reponse = client.post(reverse("saisir_invitation"), {"code": emise.code.lower()})
    assert reponse.status_code == 302 and reponse.url == reverse("account_signup")
    reponse = client.get(reverse("account_signup"))
    assert reponse.status_code == 200 and "Créer votre compte" in unescape(reponse.content.decode())

    # Mot de passe trop court : refusé, courriel gardé.
    reponse = client.post(
        reverse("account_signup"), {"email": "lucie@exemple.test", "password1": "court", "password2": "court"}
    )
    assert reponse.status_code == 200
    html = unescape(reponse.content.decode())
    assert 'value="lucie@exemple.test"' in html and "12 caractères" in html
    assert not Compte.objects.filter(email="lucie@exemple.test").exists()

    reponse = client.post(
        reverse("account_signup"),
        {"email": "Lucie@Exemple.test", "password1": MOT_DE_PASSE, "password2": MOT_DE_PASSE},
    )
    assert reponse.status_code == 302
    compte = Compte.objects.get(email="lucie@exemple.test")
    proche.refresh_from_db()
    assert proche.compte == compte
    assert Invitation.objects.get().utilisee_par == compte
    # Pas encore de session utile : le courriel doit être confirmé.
    assert client.get(reverse("accueil")).status_code == 302

    lien = _lien_de_confirmation()
    reponse = client.post(lien)
    assert reponse.status_code == 302
    # Connecté, mais rien avant le TOTP.
    reponse = client.get(reverse("accueil"))
    assert reponse.status_code == 302 and reponse.url == reverse("mfa_activate_totp")
    assert client.get(reverse("cercle:cercle", args=[monde.usager.uuid])).url == reverse("mfa_activate_totp")
    client.get(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    reponse = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert reponse.status_code == 302 and reponse.url == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=compte, type=Authenticator.Type.TOTP).exists()
    assert client.get(reponse.url).status_code == 200
    reponse = client.get(reverse("accueil"))
    assert reponse.status_code == 200
    assert client.session[SESSION_ACTEUR] == f"proche:{proche.uuid}"
    # Le code ne sert plus.
    client.post(reverse("account_logout"))
    reponse = client.post(reverse("saisir_invitation"), {"code": emise.code})
    assert reponse.status_code == 400 and "déjà servi" in unescape(reponse.content.decode())


def test_code_errone_message_clair_saisie_gardee_puis_blocage(client, monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    for rang in range(invitations.ESSAIS_MAX):
        reponse = client.post(reverse("saisir_invitation"), {"code": f"ABCD-EFGH-JKMN-PQR{'STUVW'[rang]}"})
        assert reponse.status_code == 400
        html = unescape(reponse.content.decode())
        assert "ce code n'existe pas" in html
        assert f"ABCD-EFGH-JKMN-PQR{'STUVW'[rang]}" in html  # rien de perdu
    # Même le bon code est refusé pendant le blocage.
    reponse = client.post(reverse("saisir_invitation"), {"code": emise.code})
    assert reponse.status_code == 429
    assert "Trop de codes erronés" in unescape(reponse.content.decode())
    assert "invitation_code" not in client.session
    refus = Evenement.objects.filter(action="invitation.code_refuse")
    assert refus.count() == invitations.ESSAIS_MAX
    assert refus.order_by("-id").first().details["bloque"] is True
    cache.clear()  # fin de la fenêtre
    reponse = client.post(reverse("saisir_invitation"), {"code": emise.code})
    assert reponse.status_code == 302


def _saisir(client, code: str, adresse: str):
    return client.post(reverse("saisir_invitation"), {"code": code}, HTTP_X_FORWARDED_FOR=adresse)


def test_blocage_par_adresse_du_client_derriere_un_repartiteur(client, monde, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    for _ in range(invitations.ESSAIS_MAX):
        _saisir(client, "ABCD-EFGH-JKMN-PQRS", "198.51.100.7")
    bloque = _saisir(client, emise.code, "198.51.100.7")
    assert bloque.status_code == 429
    # Une autre personne derrière le même répartiteur (même REMOTE_ADDR) n'est pas bloquée.
    autre = _saisir(client, emise.code, "203.0.113.9")
    assert autre.status_code == 302


def test_sans_repartiteur_declare_x_forwarded_for_ne_contourne_pas_le_blocage(client, monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    for rang in range(invitations.ESSAIS_MAX):
        _saisir(client, "ABCD-EFGH-JKMN-PQRS", f"198.51.100.{rang}")
    reponse = _saisir(client, emise.code, "203.0.113.9")
    assert reponse.status_code == 429


def test_invitation_revoquee_entre_la_saisie_et_l_inscription(client, monde):
    proche = _nouveau_proche(monde)
    emise = invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    client.post(reverse("saisir_invitation"), {"code": emise.code})
    invitations.revoquer_invitation(acteur=monde["usager"], invitation=emise.invitation)
    client.post(
        reverse("account_signup"),
        {"email": "lucie@exemple.test", "password1": MOT_DE_PASSE, "password2": MOT_DE_PASSE},
    )
    assert not Compte.objects.filter(email="lucie@exemple.test").exists()
    proche.refresh_from_db()
    assert proche.compte is None
