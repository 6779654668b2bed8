from django.conf import settings

from coordination.comptes.acteur import TypeActeur
from coordination.comptes.middleware import SESSION_METHODE


def acteur(request) -> dict:
    """Expose l'acteur de la requête aux gabarits (en-tête « vous agissez en tant que »), si la
    connexion Pro Santé Connect est ouverte et si la session en vient (bouton de déconnexion)."""
    session = getattr(request, "session", None)
    return {
        "acteur": getattr(request, "acteur", None),
        "TypeActeur": TypeActeur,
        "psc_actif": bool(settings.PSC_EMETTEUR and settings.PSC_CLIENT_ID and settings.PSC_CLIENT_SECRET),
        "connexion_psc": session is not None and session.get(SESSION_METHODE) == "psc",
    }
