"""Le parcours d'une connexion fédérée dans les tests, commun à Pro Santé Connect et FranceConnect+ :
le portail (client de test de Django) redirige vers le fournisseur du bac à sable, un « navigateur »
`requests` y choisit une identité de test, puis le client de test suit le retour vers le portail.
Et le contrôle d'un refus : message expliqué, pas de session, motif journalisé."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import requests

from coordination.journal.models import Evenement
from sandbox.fournisseurs.oidc import FournisseurOIDC


def demarrer_connexion(client, adresse_connexion: str) -> tuple[str, dict]:
    reponse = client.get(adresse_connexion)
    assert reponse.status_code == 302, reponse.content
    adresse = reponse["Location"]
    return adresse, dict(parse_qsl(urlsplit(adresse).query))


def choisir(
    fournisseur: FournisseurOIDC, navigateur: requests.Session, parametres: dict, identite: str
) -> str:
    """Le « navigateur » choisit une identité sur la page du fournisseur ; renvoie l'adresse de retour."""
    page = navigateur.get(fournisseur.adresse_autorisation, params=parametres)
    assert page.status_code == 200, page.text
    assert "Choisir une identité de test" in page.text
    reponse = navigateur.post(
        fournisseur.adresse_autorisation + "/choisir",
        data={**parametres, "identite": identite},
        allow_redirects=False,
    )
    assert reponse.status_code == 302, reponse.text
    return reponse.headers["Location"]


def chemin(adresse: str) -> str:
    morceaux = urlsplit(adresse)
    return f"{morceaux.path}?{morceaux.query}"


def se_connecter(client, fournisseur, adresse_connexion: str, identite: str, navigateur=None):
    _, parametres = demarrer_connexion(client, adresse_connexion)
    return client.get(chemin(choisir(fournisseur, navigateur or requests.Session(), parametres, identite)))


def assert_refus(reponse, *, nom: str, action: str, motif: str, extrait: str) -> None:
    assert reponse.status_code in (400, 403), reponse.status_code
    texte = reponse.content.decode()
    assert f"Connexion avec {nom} impossible" in texte
    assert extrait in texte, texte
    assert "_auth_user_id" not in reponse.wsgi_request.session
    evenement = Evenement.objects.filter(action=action).latest("horodatage")
    assert evenement.details["motif"] == motif
    assert evenement.resultat == "refuse"
