"""Les deux issues d'un envoi qui n'a pas abouti (`envoi.py` décide de la suite).

Toute autre exception levée par un constructeur ou un adaptateur compte comme une tentative
ratée : le message est retenté plus tard, jusqu'à la lettre morte (`ECHANGES_TENTATIVES_MAX`)."""


class PairIndisponible(Exception):
    """Le pair n'a pas pu être joint ou a répondu « plus tard » (connexion refusée, délai dépassé,
    SMTP 4xx, HTTP 429/5xx) : on retente, avec une attente exponentielle."""


class Rejet(Exception):
    """Le pair a lu le message et le refuse (SMTP 5xx, HTTP 4xx, XDM ou ressource FHIR invalide) :
    renvoyer le même contenu ne servirait à rien. Le message passe en échec définitif à la première
    fois, avec ce texte (en français, repris du pair) comme erreur."""
