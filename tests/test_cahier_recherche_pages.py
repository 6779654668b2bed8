"""Page « Chercher dans mes cahiers de liaison » (cahier_liaison:recherche) : chaque sorte d'acteur
× chaque visibilité (trouvé seulement ce qu'il peut lire, et journalisé), anonyme renvoyé à la
connexion, filtres invalides expliqués en français, fragment htmx, nombre de requêtes constant."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cahier_liaison.models import Note
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement
from tests.factories import connecter
from tests.monde_cahier import ACTEURS, VISIBILITES, construire_monde_cahier, note_de, peut_lire

pytestmark = pytest.mark.django_db

ADRESSE = reverse("cahier_liaison:recherche")
MOTS = {"": "framboise", "INVISIBLE_PATIENT": "groseille", "MASQUE_PSOCIAL": "myrtille"}
# Les acteurs qui se connectent par le navigateur (le logiciel et le système n'ont pas de session).
NAVIGATEUR = [nom for nom in ACTEURS if nom not in ("systeme", "dui_ssiad")]


@pytest.fixture
def monde():
    return construire_monde_cahier()


def client_de(client, monde, nom: str):
    if nom != "anonyme":
        acteur = monde.acteurs[nom]
        connecter(client, acteur.compte)
        session = client.session
        session[SESSION_ACTEUR] = acteur.cle
        session.save()
    return client


def texte(reponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(reponse.content.decode())).split())


@pytest.mark.parametrize("visibilite", VISIBILITES)
@pytest.mark.parametrize("nom", ["anonyme", *NAVIGATEUR])
def test_page_selon_acteur_et_visibilite(client, monde, nom, visibilite):
    note = note_de(monde, visibilite=visibilite, texte=f"Confiture de {MOTS[visibilite]} au goûter.")
    reponse = client_de(client, monde, nom).get(ADRESSE, {"q": MOTS[visibilite]})
    if nom == "anonyme":
        assert reponse.status_code == 302 and "next=" in reponse["Location"]
        return
    assert reponse.status_code == 200
    journalisee = Evenement.objects.filter(action="cahier.recherche", objet_uuid=note.uuid).exists()
    if peut_lire(nom, visibilite):
        assert f"Confiture de {MOTS[visibilite]}" in texte(reponse)
        assert "1 note pour" in texte(reponse)
        assert f"<mark>{MOTS[visibilite]}</mark>" in reponse.content.decode()
        assert journalisee
    else:
        assert MOTS[visibilite] not in texte(reponse).replace(f"« {MOTS[visibilite]} »", "")
        assert "Aucune note de vos cahiers" in texte(reponse)
        assert not journalisee


def test_filtres_invalides_expliques_et_ignores(client, monde):
    note_de(monde, texte="Toux sèche.", type="OBS")
    reponse = client_de(client, monde, "medecin").get(
        ADRESSE, {"q": "toux", "type": "XYZ", "depuis": "31/02/2026", "urgente": "peut-être"}
    )
    assert reponse.status_code == 200
    contenu = texte(reponse)
    assert "Ce type de note n'existe pas." in contenu
    assert "Date invalide : utilisez le format JJ/MM/AAAA." in contenu
    assert "Toux sèche" in contenu  # les filtres fautifs sont ignorés, la recherche a lieu


def test_filtres_appliques_et_fragment_htmx(client, monde):
    note_de(monde, texte="Toux sèche.", type="OBS")
    note_de(monde, texte="Toux grasse.", type="INST", urgente=True)
    client_de(client, monde, "medecin")
    reponse = client.get(ADRESSE, {"q": "toux", "urgente": "oui"}, headers={"HX-Request": "true"})
    contenu = texte(reponse)
    assert "Toux grasse" in contenu and "Toux sèche" not in contenu and "Urgent" in contenu
    assert "<html" not in reponse.content.decode() and 'aria-live="polite"' in reponse.content.decode()
    sans_texte = client.get(ADRESSE)
    assert sans_texte.status_code == 200 and "Aucune note" not in texte(sans_texte)
    assert 'role="search"' in sans_texte.content.decode() and 'for="id_q"' in sans_texte.content.decode()


def test_requetes_constantes(client, monde, django_assert_max_num_queries):
    """Même nombre de requêtes pour 2 ou 40 notes trouvées (session, compte, acteur, droits,
    usagers lisibles, notes, journal des lectures en un INSERT)."""
    client_de(client, monde, "medecin")
    for rang in range(2):
        note_de(monde, texte=f"Hypoglycémie {rang}.")
    client.get(ADRESSE, {"q": "hypoglycémie"})
    with CaptureQueriesContext(connection) as peu:
        client.get(ADRESSE, {"q": "hypoglycémie"})
    for rang in range(38):
        note_de(monde, "ide", texte=f"Hypoglycémie bis {rang}.")
    with django_assert_max_num_queries(len(peu)):
        reponse = client.get(ADRESSE, {"q": "hypoglycémie"})
    assert texte(reponse).count("Hypoglycémie") == 40
    assert len(peu) <= 12
    assert Evenement.objects.filter(action="cahier.recherche").count() == 2 + 2 + 40
    assert Note.objects.count() == 40
