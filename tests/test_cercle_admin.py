"""Administration du cercle : consultation à nombre de requêtes constant, aucune modification
possible (les droits ne changent que par les services, avec consentement)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.models import Consentement, Habilitation
from coordination.comptes.models import Compte
from tests.factories import connecter
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db

LISTES = [
    "cercle",
    "membre",
    "habilitation",
    "delegation",
    "consentement",
    "demandeadhesion",
    "droitpardefaut",
]


@pytest.fixture
def admin_client_mfa(client):
    connecter(client, Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234"))
    return client


@pytest.mark.parametrize("modele", LISTES)
def test_liste_admin_cercle_nombre_de_requetes_constant(admin_client_mfa, modele):
    url = reverse(f"admin:cercle_{modele}_changelist")
    construire_monde()
    with CaptureQueriesContext(connection) as peu:
        assert admin_client_mfa.get(url).status_code == 200
    construire_monde()
    construire_monde()
    with CaptureQueriesContext(connection) as beaucoup:
        assert admin_client_mfa.get(url).status_code == 200
    assert len(beaucoup) == len(peu), [q["sql"] for q in beaucoup.captured_queries]


def test_admin_ne_modifie_ni_droits_ni_consentements(admin_client_mfa):
    construire_monde()
    droit = Habilitation.objects.first()
    consentement = Consentement.objects.first()
    for nom, objet in (("habilitation", droit), ("consentement", consentement)):
        page = admin_client_mfa.get(reverse(f"admin:cercle_{nom}_change", args=[objet.pk]))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert (
            admin_client_mfa.post(
                reverse(f"admin:cercle_{nom}_delete", args=[objet.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        assert admin_client_mfa.get(reverse(f"admin:cercle_{nom}_add")).status_code == 403
    assert Habilitation.objects.filter(pk=droit.pk).exists()
