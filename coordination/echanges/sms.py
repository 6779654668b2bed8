"""Adaptateur « sms » : remet le texte d'un message au fournisseur de SMS (API HTTP JSON).

`POST SMS_API_URL` avec `Authorization: Bearer SMS_API_CLE` et `{to, text, reference}` : `to` en
E.164 (numéros français, outre-mer compris, normalisés par `phonenumbers`), `text` = `contenu.texte`
(le lot des notifications n'y met ni donnée de santé ni nom : une phrase neutre et un lien),
`reference` = la clé d'idempotence du message : le fournisseur ne renvoie pas un SMS déjà reçu.

Erreurs : numéro invalide ou fixe, texte vide ou de plus de 320 caractères, refus 4xx du fournisseur
→ `Rejet` ; pas de réponse, délai dépassé, 429, 5xx, clé refusée (401/403 : le réglage se corrige,
les messages attendent) → `PairIndisponible`. Rend l'identifiant du SMS chez le fournisseur.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import phonenumbers
import requests
from django.conf import settings

from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.sessions import session

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant

TEXTE_MAX = 320  # deux SMS concaténés (GSM 7 bits) : au-delà, le texte n'est plus « une phrase »
# Régions qui partagent le préfixe national « 0 » avec la métropole : « 06 92… » est réunionnais.
REGIONS_FRANCAISES = ("FR", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF", "NC", "PF", "WF")
_T = phonenumbers.PhoneNumberType
TYPES_SANS_SMS = {_T.FIXED_LINE, _T.TOLL_FREE, _T.PREMIUM_RATE, _T.SHARED_COST}


class NumeroInvalide(ValueError):
    """Le numéro ne peut pas recevoir de SMS ; le message dit pourquoi, en français."""


def normaliser(numero: str) -> str:
    """Le numéro en E.164 (« +33612345678 ») ; `NumeroInvalide` s'il n'est pas un numéro valide
    pouvant recevoir un SMS. Sans indicatif, un numéro est lu comme français (métropole, puis
    outre-mer)."""
    brut = (numero or "").strip()
    if not brut:
        raise NumeroInvalide("Aucun numéro de téléphone.")
    trouve = None
    for region in REGIONS_FRANCAISES:
        try:
            candidat = phonenumbers.parse(brut, region)
        except phonenumbers.NumberParseException:
            raise NumeroInvalide(f"« {brut[:30]} » n'est pas un numéro de téléphone.") from None
        if phonenumbers.is_valid_number(candidat):
            trouve = candidat
            break
        if brut.startswith("+") or brut.startswith("00"):
            break  # indicatif international donné : la région par défaut n'y change rien
    if trouve is None:
        raise NumeroInvalide(f"« {brut[:30]} » n'est pas un numéro de téléphone valide.")
    if phonenumbers.number_type(trouve) in TYPES_SANS_SMS:
        raise NumeroInvalide(f"« {brut[:30]} » n'est pas un numéro de mobile : il ne reçoit pas de SMS.")
    return phonenumbers.format_number(trouve, phonenumbers.PhoneNumberFormat.E164)


def _raison(reponse: requests.Response) -> str:
    try:
        donnees = reponse.json()
    except ValueError:
        return reponse.text[:300]
    return (
        str(donnees.get("erreur") or donnees.get("error") or donnees)[:300]
        if isinstance(donnees, dict)
        else ""
    )


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """Envoie le SMS ; rend l'identifiant donné par le fournisseur."""
    try:
        numero = normaliser(contenu.donnees.get("telephone") or message.destinataire)
    except NumeroInvalide as erreur:
        raise Rejet(f"SMS non envoyé : {erreur}") from None
    texte = contenu.texte.strip()
    if not texte:
        raise Rejet("SMS non envoyé : le texte est vide.")
    if len(texte) > TEXTE_MAX:
        raise Rejet(f"SMS non envoyé : texte de {len(texte)} caractères ({TEXTE_MAX} au plus).")
    try:
        reponse = session().post(
            settings.SMS_API_URL,
            json={"to": numero, "text": texte, "reference": message.cle_idempotence},
            headers={"Authorization": f"Bearer {settings.SMS_API_CLE}"},
            timeout=settings.SMS_DELAI_SECONDES,
        )
    except requests.Timeout:
        raise PairIndisponible("Fournisseur de SMS : pas de réponse dans le délai.") from None
    except requests.RequestException as erreur:
        raise PairIndisponible(f"Fournisseur de SMS injoignable ({type(erreur).__name__}).") from None
    statut = reponse.status_code
    if statut in (401, 403):
        raise PairIndisponible(
            f"Fournisseur de SMS : clé d'API refusée (HTTP {statut}) ; vérifiez SMS_API_CLE."
        )
    if statut == 429 or statut >= 500:
        raise PairIndisponible(f"Fournisseur de SMS indisponible (HTTP {statut}) : {_raison(reponse)}")
    if statut >= 400:
        raise Rejet(f"SMS refusé par le fournisseur (HTTP {statut}) : {_raison(reponse)}")
    try:
        identifiant = reponse.json()["id"]
    except (ValueError, KeyError, TypeError):
        raise PairIndisponible(f"Fournisseur de SMS : réponse illisible (HTTP {statut}).") from None
    return str(identifiant)
