from django.conf import settings
from django.urls import reverse

from coordination.comptes.acteur import TypeActeur
from coordination.comptes.connexions import NIVEAU_PSC, SESSION_NIVEAU


def acteur(request) -> dict:
    """Expose l'acteur de la requête aux gabarits (en-tête « vous agissez en tant que »), si la
    connexion Pro Santé Connect est ouverte, et l'adresse du bouton « Se déconnecter » (celle de
    Pro Santé Connect quand la session en vient : fin de session des deux côtés)."""
    session = getattr(request, "session", None)
    connexion_psc = session is not None and session.get(SESSION_NIVEAU) == NIVEAU_PSC
    return {
        "acteur": getattr(request, "acteur", None),
        "TypeActeur": TypeActeur,
        "psc_actif": bool(settings.PSC_EMETTEUR and settings.PSC_CLIENT_ID and settings.PSC_CLIENT_SECRET),
        "adresse_deconnexion": reverse("psc_deconnexion" if connexion_psc else "account_logout"),
    }
