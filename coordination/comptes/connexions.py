"""Connexions : niveau d'assurance de la session, verrouillage d'un compte après trop d'échecs, et
journal de chaque connexion, échec, verrouillage et déconnexion, et de chaque ajout ou retrait d'un
second facteur (ADR 0014).

Niveau de la session (`niveau_session`) : « local » (mot de passe seul, en cours de connexion ou
avant l'activation du second facteur), « local+mfa » (mot de passe et TOTP, clé de sécurité ou code
de secours), « psc » (Pro Santé Connect), « fcplus:eidas2 » / « fcplus:eidas3 » (FranceConnect+).
Les connexions fédérées posent leur niveau avec `noter_niveau`. Les pages et API qui montrent des
données d'usager exigent un niveau de `NIVEAUX_FORTS` (`middleware.session_authentifiee_fortement`)."""

from __future__ import annotations

import datetime as dt

from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from coordination.comptes.models import Compte
from coordination.journal.models import Resultat
from coordination.journal.services import journaliser_plusieurs, preparer_evenement

SESSION_NIVEAU = "niveau_connexion"
NIVEAU_LOCAL = "local"
NIVEAU_LOCAL_MFA = "local+mfa"
NIVEAU_PSC = "psc"
NIVEAU_FCPLUS_EIDAS2 = "fcplus:eidas2"
NIVEAU_FCPLUS_EIDAS3 = "fcplus:eidas3"
# Pro Santé Connect (eidas1 : carte CPS ou e-CPS, déjà à double facteur) ; FranceConnect+ à partir
# d'eidas2 ; un compte local passé par son second facteur.
NIVEAUX_FORTS = frozenset({NIVEAU_LOCAL_MFA, NIVEAU_PSC, NIVEAU_FCPLUS_EIDAS2, NIVEAU_FCPLUS_EIDAS3})

DORSAUX_FEDERES = frozenset(
    {"coordination.comptes.psc.DorsalPSC", "coordination.comptes.fcplus.DorsalFCPlus"}
)

ECHECS_MAX = getattr(settings, "CONNEXION_ECHECS_MAX", 5)
DUREE_VERROU = dt.timedelta(seconds=getattr(settings, "CONNEXION_VERROUILLAGE_SECONDES", 30 * 60))


# --- Niveau d'assurance -------------------------------------------------------------------------


def noter_niveau(request, niveau: str) -> None:
    """Pour les connexions fédérées : « psc », « fcplus:eidas2 »… (voir NIVEAUX_FORTS)."""
    request.session[SESSION_NIVEAU] = niveau


def niveau_session(request) -> str | None:
    """Le niveau d'assurance de la session en cours ; None si personne n'est connecté."""
    from coordination.comptes.middleware import SESSION_MFA_OK, session_passee_par_la_mfa

    if not request.user.is_authenticated:
        return None
    session = request.session
    niveau = session.get(SESSION_NIVEAU)
    if niveau and niveau != NIVEAU_LOCAL:
        return niveau
    if session.get(SESSION_MFA_OK) or session_passee_par_la_mfa(request):
        session[SESSION_NIVEAU] = NIVEAU_LOCAL_MFA
        session[SESSION_MFA_OK] = True
        return NIVEAU_LOCAL_MFA
    return NIVEAU_LOCAL


def niveau_fort(request) -> bool:
    return niveau_session(request) in NIVEAUX_FORTS


# --- Verrouillage -------------------------------------------------------------------------------


def _compte(identifiant: str | None) -> Compte | None:
    if not identifiant:
        return None
    return Compte.objects.filter(email__iexact=identifiant.strip()).first()


def message_verrou(jusqu_au: dt.datetime) -> str:
    heure = timezone.localtime(jusqu_au).strftime("%H h %M")
    return (
        f"Ce compte est verrouillé après {ECHECS_MAX} mots de passe erronés, jusqu'à {heure}. "
        "Réessayez après cette heure. Si vous avez oublié votre mot de passe, utilisez « Mot de passe "
        "oublié ? »."
    )


def _journaliser(action: str, compte: Compte | None, resultat: str, details: dict) -> None:
    evenement = preparer_evenement(acteur=None, action=action, resultat=resultat, details=details)
    if compte is not None:
        evenement.compte_uuid = compte.uuid
        evenement.objet_type, evenement.objet_uuid = "comptes.compte", compte.uuid
    journaliser_plusieurs([evenement])


def refuser_si_verrouille(request, identifiant: str | None) -> None:
    """Avant de vérifier le mot de passe : un compte verrouillé est refusé, même avec le bon."""
    compte = _compte(identifiant)
    if compte is None or compte.verrouille_jusqu_au is None:
        return
    if compte.verrouille_jusqu_au <= timezone.now():
        return
    _journaliser("connexion.refus_verrouille", compte, Resultat.REFUSE, {})
    raise ValidationError(message_verrou(compte.verrouille_jusqu_au), code="compte_verrouille")


@transaction.atomic
def noter_echec(request, identifiant: str | None) -> None:
    """Un mot de passe erroné : compté sur le compte ; au ECHECS_MAX-ième, verrouillage."""
    compte = _compte(identifiant)
    if compte is None:
        _journaliser("connexion.echec", None, Resultat.ECHEC, {"compte_connu": False})
        return
    maintenant = timezone.now()
    compte = Compte.objects.select_for_update().get(pk=compte.pk)
    if compte.verrouille_jusqu_au is not None and compte.verrouille_jusqu_au <= maintenant:
        compte.echecs_connexion = 0  # verrou échu : on repart de zéro
        compte.verrouille_jusqu_au = None
    compte.echecs_connexion = F("echecs_connexion") + 1
    compte.save(update_fields=["echecs_connexion", "verrouille_jusqu_au"])
    compte.refresh_from_db(fields=["echecs_connexion"])
    _journaliser(
        "connexion.echec", compte, Resultat.ECHEC, {"compte_connu": True, "echecs": compte.echecs_connexion}
    )
    if compte.echecs_connexion >= ECHECS_MAX and compte.verrouille_jusqu_au is None:
        compte.verrouille_jusqu_au = maintenant + DUREE_VERROU
        compte.save(update_fields=["verrouille_jusqu_au"])
        _journaliser(
            "connexion.verrouillage",
            compte,
            Resultat.REFUSE,
            {"echecs": compte.echecs_connexion, "jusqu_au": compte.verrouille_jusqu_au.isoformat()},
        )


# --- Journal des connexions et déconnexions -----------------------------------------------------


def _methodes(request, compte) -> list[str]:
    from allauth.account.authentication import get_authentication_records

    try:
        return sorted({r.get("method", "") for r in get_authentication_records(request, compte)})
    except Exception:  # session sans enregistrements (force_login des tests, admin)
        return []


@receiver(user_logged_in, dispatch_uid="comptes_connexion_reussie")
def _connexion_reussie(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    # login() range le dorsal en session sans toujours le poser sur l'objet (user.backend n'est posé
    # que par authenticate()) : on lit l'un puis l'autre.
    dorsal = getattr(user, "backend", "") or request.session.get(BACKEND_SESSION_KEY, "")
    if user.echecs_connexion or user.verrouille_jusqu_au:
        Compte.objects.filter(pk=user.pk).update(echecs_connexion=0, verrouille_jusqu_au=None)
        user.echecs_connexion, user.verrouille_jusqu_au = 0, None
    if dorsal in DORSAUX_FEDERES:
        # journalisées par comptes/psc.py (« connexion.psc », idNat_PS et activités) et
        # comptes/fcplus.py (« connexion.fcplus », niveau eIDAS et liaison)
        return
    _journaliser("connexion.reussie", user, Resultat.SUCCES, {"methodes": _methodes(request, user)})


@receiver(user_logged_out, dispatch_uid="comptes_deconnexion")
def _deconnexion(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    niveau = request.session.get(SESSION_NIVEAU, "") if request is not None else ""
    if niveau in (NIVEAU_PSC, NIVEAU_FCPLUS_EIDAS2, NIVEAU_FCPLUS_EIDAS3):
        return  # journalisée par comptes/psc.py ou fcplus.py (« deconnexion.psc » / « .fcplus »)
    _journaliser("deconnexion", user, Resultat.SUCCES, {"niveau": niveau or ""})


# --- Journal du second facteur (signaux d'allauth.mfa) ------------------------------------------

TYPES_SECOND_FACTEUR = {"totp": "application", "webauthn": "cle_securite", "recovery_codes": "codes_secours"}


def _journaliser_second_facteur(action: str, request, compte, authenticator) -> None:
    """Ajout ou retrait d'un second facteur : qui (la personne en tant que laquelle le compte agit,
    s'il l'a déjà choisie, sinon le compte seul), quel type, et le nom d'une clé de sécurité."""
    details = {"type": TYPES_SECOND_FACTEUR.get(authenticator.type, authenticator.type)}
    if authenticator.type == "webauthn":
        details["nom"] = str(authenticator.data.get("name", ""))[:100]
    acteur = getattr(request, "acteur", None) if request is not None else None
    evenement = preparer_evenement(acteur=acteur, action=action, resultat=Resultat.SUCCES, details=details)
    evenement.compte_uuid = compte.uuid
    evenement.objet_type, evenement.objet_uuid = "comptes.compte", compte.uuid
    journaliser_plusieurs([evenement])


@receiver(authenticator_added, dispatch_uid="comptes_second_facteur_ajout")
def _second_facteur_ajoute(sender, request, user, authenticator, **kwargs) -> None:
    _journaliser_second_facteur("second_facteur.ajout", request, user, authenticator)


@receiver(authenticator_removed, dispatch_uid="comptes_second_facteur_retrait")
def _second_facteur_retire(sender, request, user, authenticator, **kwargs) -> None:
    _journaliser_second_facteur("second_facteur.retrait", request, user, authenticator)
