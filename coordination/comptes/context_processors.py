from django.conf import settings
from django.urls import reverse

from coordination.comptes.acteur import TypeActeur
from coordination.comptes.connexions import (
    NIVEAU_FCPLUS_EIDAS2,
    NIVEAU_FCPLUS_EIDAS3,
    NIVEAU_PSC,
    SESSION_NIVEAU,
)


def acteur(request) -> dict:
    """Expose l'acteur de la requête aux gabarits (en-tête « vous agissez en tant que »), si les
    connexions Pro Santé Connect et FranceConnect+ sont ouvertes, et l'adresse du bouton « Se
    déconnecter » (celle du fournisseur quand la session en vient : fin de session des deux côtés)."""
    from coordination.comptes import fcplus

    session = getattr(request, "session", None)
    niveau = session.get(SESSION_NIVEAU) if session is not None else None
    if niveau == NIVEAU_PSC:
        deconnexion = "psc_deconnexion"
    elif niveau in (NIVEAU_FCPLUS_EIDAS2, NIVEAU_FCPLUS_EIDAS3):
        deconnexion = "fcplus_deconnexion"
    else:
        deconnexion = "account_logout"
    return {
        "acteur": getattr(request, "acteur", None),
        "TypeActeur": TypeActeur,
        "psc_actif": bool(settings.PSC_EMETTEUR and settings.PSC_CLIENT_ID and settings.PSC_CLIENT_SECRET),
        "fcplus_actif": fcplus.active,  # appelé par le gabarit seulement s'il s'en sert
        "adresse_deconnexion": reverse(deconnexion),
    }
