"""Invitations : émettre, vérifier, utiliser, révoquer, faire expirer (ADR 0014).

Une invitation permet à une personne de créer son compte local (courriel, mot de passe, TOTP) ou,
plus tard, de relier son compte FranceConnect+ : `utiliser_invitation(code, compte)` relie le
compte, quel qu'il soit, à la personne de l'invitation.

Qui peut inviter :
- un proche d'un usager (aidant, famille, représentant légal, personne de confiance…) : quiconque
  peut *gérer* le cercle de l'usager (`habilitations.peut(acteur, usager, "gerer", "cercle")`) :
  l'usager, son représentant légal, un membre à qui la gestion du cercle est confiée ;
- une personne de l'équipe d'une structure, sans RPPS (personnel médico-social) : un professionnel
  qui agit dans cette structure, dans une situation d'exercice en cours marquée
  `invite_le_personnel` (posée par l'administration du portail).

Le code (16 lettres sans I, L ni O, en 4 groupes : environ 72 bits) n'est montré qu'une fois ;
seule son empreinte SHA-256 est gardée. Un code aussi long ne se devine pas, et les essais sont de
toute façon limités (`essai_permis`, `noter_essai_manque`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.comptes.models import Compte, Invitation, TypeInvitation
from coordination.journal.models import Resultat
from coordination.journal.services import journaliser, journaliser_plusieurs, preparer_evenement
from coordination.personnes.models import Proche, Professionnel, Structure, Usager

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"  # sans I, L, O (confondus avec 1 et 0)
GROUPES, TAILLE_GROUPE = 4, 4
DUREE_PAR_DEFAUT = dt.timedelta(days=getattr(settings, "INVITATION_DUREE_JOURS", 14))
ESSAIS_MAX = getattr(settings, "INVITATION_ESSAIS_MAX", 5)
ESSAIS_FENETRE = getattr(settings, "INVITATION_ESSAIS_FENETRE_SECONDES", 15 * 60)

MESSAGE_INCONNU = (
    "Code d'invitation : ce code n'existe pas. Vérifiez chaque lettre (le code ne contient ni I, ni L, "
    "ni O, ni chiffre) ou demandez une nouvelle invitation à la personne qui vous l'a donnée."
)
MESSAGE_EXPIRE = (
    "Code d'invitation : cette invitation a expiré. Demandez-en une nouvelle à la personne qui vous l'a "
    "donnée."
)
MESSAGE_UTILISE = (
    "Code d'invitation : ce code a déjà servi. Si vous avez déjà créé votre compte, connectez-vous ; "
    "sinon demandez une nouvelle invitation."
)
MESSAGE_REVOQUE = (
    "Code d'invitation : cette invitation a été annulée. Demandez-en une nouvelle à la personne qui "
    "vous l'a donnée."
)
MESSAGE_TROP_D_ESSAIS = (
    "Trop de codes erronés : par sécurité, la saisie est bloquée pendant 15 minutes. Réessayez plus "
    "tard, en recopiant le code lettre par lettre."
)


class InvitationInvalide(ValidationError):
    """Code inconnu, expiré, déjà utilisé ou révoqué (message en français pour la personne)."""


class InvitationRefusee(ValidationError):
    """L'acteur n'a pas le droit d'émettre ou de révoquer cette invitation."""


@dataclass(frozen=True)
class InvitationEmise:
    invitation: Invitation
    code: str  # en clair : à montrer une seule fois, jamais gardé


# --- Le code --------------------------------------------------------------------------------------


def generer_code() -> str:
    lettres = "".join(secrets.choice(ALPHABET) for _ in range(GROUPES * TAILLE_GROUPE))
    return "-".join(lettres[i : i + TAILLE_GROUPE] for i in range(0, len(lettres), TAILLE_GROUPE))


def normaliser_code(code: str) -> str:
    """Majuscules, sans espaces ni tirets : « abcd efgh-… » et « ABCD-EFGH-… » se valent."""
    return "".join(c for c in (code or "").upper() if c.isalnum())


def empreinte(code: str) -> str:
    return hashlib.sha256(normaliser_code(code).encode()).hexdigest()


# --- Droits ---------------------------------------------------------------------------------------


def peut_inviter_un_proche(acteur: Acteur | None, usager: Usager) -> bool:
    from cercle.habilitations import peut

    return peut(acteur, usager, "gerer", "cercle")


def peut_inviter_le_personnel(acteur: Acteur | None, structure: Structure | None = None) -> bool:
    """Un professionnel qui agit dans la structure, avec `invite_le_personnel` sur cet exercice."""
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL or acteur.exercice.structure_id is None:
        return False
    if structure is not None and acteur.exercice.structure_id != structure.pk:
        return False
    return acteur.exercice.invite_le_personnel


def peut_revoquer(acteur: Acteur | None, invitation: Invitation) -> bool:
    if invitation.type == TypeInvitation.PROCHE:
        return peut_inviter_un_proche(acteur, invitation.proche.usager)
    return peut_inviter_le_personnel(acteur, invitation.structure)


# --- Émission et révocation -----------------------------------------------------------------------


def _emettre(
    acteur: Acteur, invitation: Invitation, *, usager: Usager | None, details: dict
) -> InvitationEmise:
    invitation.emise_par = acteur.compte
    invitation.emise_par_nom = f"{acteur.nom} ({acteur.qualite})"[:300]
    invitation.expire_le = timezone.now() + DUREE_PAR_DEFAUT
    for _ in range(3):  # collision d'empreinte : improbable (72 bits), mais on réessaie
        code = generer_code()
        invitation.empreinte_code = empreinte(code)
        try:
            with transaction.atomic():
                invitation.save()
                journaliser(
                    acteur=acteur,
                    action="invitation.emission",
                    objet=invitation,
                    usager=usager,
                    details={**details, "expire_le": invitation.expire_le.isoformat()},
                )
        except IntegrityError:
            invitation.pk = None
            continue
        return InvitationEmise(invitation, code)
    raise RuntimeError("Invitation : impossible de tirer un code unique.")


def inviter_proche(*, acteur: Acteur, proche: Proche) -> InvitationEmise:
    """Invitation pour un proche enregistré de l'usager, sans compte relié. Les invitations encore
    en attente pour ce proche sont révoquées : un seul code valable à la fois."""
    usager = proche.usager
    if not peut_inviter_un_proche(acteur, usager):
        raise InvitationRefusee(
            "Seuls la personne accompagnée, son représentant légal ou le gestionnaire du cercle peuvent "
            "inviter un proche."
        )
    if proche.compte_id is not None:
        raise ValidationError({"proche": "Proche : cette personne a déjà un compte relié."})
    if proche.date_fin is not None and proche.date_fin < timezone.localdate():
        raise ValidationError({"proche": "Proche : ce lien a pris fin ; il ne peut plus être invité."})
    with transaction.atomic():
        for ancienne in Invitation.objects.filter(proche=proche).filter(_en_attente()):
            _revoquer(acteur, ancienne, remplacee=True)
        return _emettre(
            acteur,
            Invitation(type=TypeInvitation.PROCHE, proche=proche),
            usager=usager,
            details={"type": TypeInvitation.PROCHE, "lien": proche.lien},
        )


def inviter_personnel(*, acteur: Acteur, nom: str, prenom: str, fonction: str) -> InvitationEmise:
    """Invitation pour une personne de l'équipe de la structure où l'acteur agit, sans RPPS."""
    if not peut_inviter_le_personnel(acteur):
        raise InvitationRefusee(
            "Seul un professionnel chargé des comptes de sa structure peut inviter une personne de l'équipe."
        )
    erreurs = {}
    if not (nom or "").strip():
        erreurs["nom"] = "Nom : obligatoire."
    if not (prenom or "").strip():
        erreurs["prenom"] = "Prénom : obligatoire."
    if not (fonction or "").strip():
        erreurs["fonction"] = "Fonction : obligatoire (ex. aide médico-psychologique)."
    if erreurs:
        raise ValidationError(erreurs)
    structure = acteur.exercice.structure
    invitation = Invitation(
        type=TypeInvitation.PERSONNEL,
        structure=structure,
        nom=nom.strip().upper()[:100],
        prenom=prenom.strip()[:100],
        fonction=fonction.strip()[:120],
    )
    return _emettre(
        acteur,
        invitation,
        usager=None,
        details={"type": TypeInvitation.PERSONNEL, "fonction": invitation.fonction},
    )


def _en_attente():
    from django.db.models import Q

    return Q(utilisee_le__isnull=True, revoquee_le__isnull=True, expire_le__gt=timezone.now())


def _usager_de(invitation: Invitation) -> Usager | None:
    return invitation.proche.usager if invitation.proche_id else None


def _revoquer(acteur: Acteur, invitation: Invitation, *, remplacee: bool = False) -> None:
    invitation.revoquee_le = timezone.now()
    invitation.save(update_fields=["revoquee_le", "modifie_le"])
    journaliser(
        acteur=acteur,
        action="invitation.revocation",
        objet=invitation,
        usager=_usager_de(invitation),
        details={"type": invitation.type, "remplacee": remplacee},
    )


def revoquer_invitation(*, acteur: Acteur, invitation: Invitation) -> None:
    if not peut_revoquer(acteur, invitation):
        raise InvitationRefusee("Vous ne pouvez pas annuler cette invitation.")
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("proche__usager")
            .get(pk=invitation.pk)
        )
        if not invitation.en_attente:
            raise ValidationError(
                f"Cette invitation ne peut plus être annulée : elle est {invitation.statut}."
            )
        _revoquer(acteur, invitation)


# --- Vérification et utilisation ------------------------------------------------------------------


def _controler(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise InvitationInvalide(MESSAGE_INCONNU, code="inconnu")
    if invitation.utilisee_le:
        raise InvitationInvalide(MESSAGE_UTILISE, code="utilise")
    if invitation.revoquee_le:
        raise InvitationInvalide(MESSAGE_REVOQUE, code="revoque")
    if invitation.expire_le <= timezone.now():
        raise InvitationInvalide(MESSAGE_EXPIRE, code="expire")
    if invitation.proche_id and invitation.proche.compte_id is not None:
        raise InvitationInvalide(MESSAGE_UTILISE, code="utilise")
    return invitation


def verifier_invitation(code: str) -> Invitation:
    """L'invitation en attente de ce code, sans la consommer ; `InvitationInvalide` sinon."""
    if len(normaliser_code(code)) != GROUPES * TAILLE_GROUPE:
        raise InvitationInvalide(MESSAGE_INCONNU, code="inconnu")
    invitation = (
        Invitation.objects.select_related("proche__usager", "structure")
        .filter(empreinte_code=empreinte(code))
        .first()
    )
    return _controler(invitation)


@transaction.atomic
def utiliser_invitation(code: str, compte: Compte) -> Acteur:
    """Consomme l'invitation et relie `compte` à la personne qu'elle désigne ; renvoie l'acteur
    obtenu (le proche, ou le nouveau professionnel dans sa situation d'exercice). Sert à la création
    d'un compte local et servira à la liaison d'un compte FranceConnect+. Verrou sur l'invitation :
    deux utilisations simultanées ne passent pas toutes les deux."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("proche__usager", "structure")
        .filter(empreinte_code=empreinte(code))
        .first()
    )
    invitation = _controler(invitation)
    systeme = acteur_systeme("invitation")
    if invitation.type == TypeInvitation.PROCHE:
        proche = Proche.objects.select_for_update().get(pk=invitation.proche_id)
        if proche.compte_id is not None:
            raise InvitationInvalide(MESSAGE_UTILISE, code="utilise")
        proche.compte = compte
        proche.save(update_fields=["compte", "modifie_le"])
        acteur = Acteur(TypeActeur.PROCHE, compte, proche=proche, usager=proche.usager)
    else:
        if Professionnel.objects.filter(compte=compte).exists():
            raise InvitationInvalide(
                "Code d'invitation : ce compte est déjà celui d'un professionnel ; il ne peut pas en "
                "recevoir un second.",
                code="deja_professionnel",
            )
        from coordination.personnes import services as personnes

        professionnel = personnes.creer_professionnel(
            acteur=systeme,
            donnees={"nom_exercice": invitation.nom, "prenom_exercice": invitation.prenom, "compte": compte},
        )
        exercice = personnes.creer_exercice(
            acteur=systeme,
            professionnel=professionnel,
            structure=invitation.structure,
            donnees={"fonction": invitation.fonction, "date_debut": timezone.localdate()},
        )
        acteur = Acteur(TypeActeur.PROFESSIONNEL, compte, exercice=exercice)
    invitation.utilisee_le = timezone.now()
    invitation.utilisee_par = compte
    invitation.save(update_fields=["utilisee_le", "utilisee_par", "modifie_le"])
    journaliser(
        acteur=acteur,
        action="invitation.utilisation",
        objet=invitation,
        usager=_usager_de(invitation),
        au_nom_de="",
        details={"type": invitation.type},
    )
    return acteur


def expirer_invitations() -> int:
    """Tâche quotidienne : journalise l'expiration des invitations échues (une seule fois chacune)."""
    with transaction.atomic():
        echues = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                utilisee_le__isnull=True,
                revoquee_le__isnull=True,
                expire_le__lte=timezone.now(),
                expiration_journalisee=False,
            )
            .select_related("proche__usager")
        )
        if not echues:
            return 0
        systeme = acteur_systeme("expiration des invitations")
        journaliser_plusieurs(
            [
                preparer_evenement(
                    acteur=systeme,
                    action="invitation.expiration",
                    objet=invitation,
                    usager=_usager_de(invitation),
                    resultat=Resultat.SUCCES,
                    details={"type": invitation.type},
                )
                for invitation in echues
            ]
        )
        Invitation.objects.filter(pk__in=[i.pk for i in echues]).update(expiration_journalisee=True)
    return len(echues)


# --- Limitation des essais de code ----------------------------------------------------------------


def _cles_essais(request) -> list[str]:
    """Par adresse du client, lue comme allauth la lit pour ses propres limites (derrière un
    répartiteur : ALLAUTH_TRUSTED_PROXY_COUNT, sinon X-Forwarded-For est ignoré)."""
    from allauth.account.adapter import get_adapter

    try:
        adresse = get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        adresse = "inconnue"
    return [f"invitation:essais:ip:{adresse}"]


def essai_permis(request) -> bool:
    return all((cache.get(cle) or 0) < ESSAIS_MAX for cle in _cles_essais(request))


def noter_essai_manque(request, erreur: InvitationInvalide) -> None:
    """Compte un code refusé (par adresse IP, fenêtre fixe) et journalise le refus."""
    for cle in _cles_essais(request):
        cache.add(cle, 0, ESSAIS_FENETRE)
        try:
            total = cache.incr(cle)
        except ValueError:
            cache.set(cle, 1, ESSAIS_FENETRE)
            total = 1
    journaliser(
        acteur=None,
        action="invitation.code_refuse",
        resultat=Resultat.REFUSE,
        details={"motif": (erreur.code or "inconnu"), "essais": total, "bloque": total >= ESSAIS_MAX},
    )
