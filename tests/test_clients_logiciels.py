"""Clients logiciels OAuth2 (client credentials) : émission, jeton, portées, révocation, acteur
LOGICIEL et journal, administration (secret montré une fois), API REST (DRF) et schéma OpenAPI."""

import pytest
from django.core.exceptions import ValidationError
from oauth2_provider.models import AccessToken

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.comptes.logiciels import acteur_du_jeton, emettre_client, revoquer_client
from coordination.comptes.models import ClientLogiciel
from coordination.journal.models import Evenement
from coordination.journal.services import journaliser
from tests.factories import CompteFactory, StructureFactory, compte_connectable, connecter
from tests.fhir_outils import ADMIN, jeton, logiciel

pytestmark = pytest.mark.django_db


@pytest.fixture
def structure():
    return StructureFactory(raison_sociale="SSIAD du Val")


def _emettre(structure, portees=("system/*.read",)):
    return emettre_client(acteur=ADMIN, structure=structure, nom="DUI Exemple", portees=list(portees))


# --- Émission et jeton ----------------------------------------------------------------------------


def test_emission_secret_hache_et_journal(structure):
    client_logiciel, secret = _emettre(structure)
    application = client_logiciel.application
    assert application.authorization_grant_type == "client-credentials"
    assert application.client_secret != secret and application.client_secret.startswith("md5$")
    evenement = Evenement.objects.get(action="client_logiciel.emission")
    assert evenement.objet_uuid == client_logiciel.uuid
    assert evenement.details == {"structure": str(structure.uuid), "portees": ["system/*.read"]}


def test_portees_inconnues_refusees(structure):
    with pytest.raises(ValidationError):
        _emettre(structure, portees=("system/*.read", "admin"))
    with pytest.raises(ValidationError):
        _emettre(structure, portees=())
    assert not ClientLogiciel.objects.exists()


def test_jeton_client_credentials(client, structure):
    client_logiciel, secret = _emettre(structure, portees=("system/*.read", "system/*.write"))
    reponse = jeton(client, client_logiciel.application.client_id, secret)
    assert reponse.status_code == 200
    contenu = reponse.json()
    assert contenu["token_type"] == "Bearer" and contenu["expires_in"] == 3600
    assert set(contenu["scope"].split()) == {"system/*.read", "system/*.write"}
    assert "refresh_token" not in contenu
    # RFC 9700 : le jeton n'est gardé qu'haché, et jamais accepté dans l'adresse.
    assert contenu["access_token"] not in AccessToken.objects.values_list("token", flat=True)
    assert client.get(f"/fhir/Organization?access_token={contenu['access_token']}").status_code == 401
    assert (
        client.get("/fhir/Organization", HTTP_AUTHORIZATION=f"Bearer {contenu['access_token']}").status_code
        == 200
    )


def test_jeton_limite_aux_portees_demandees_et_permises(client, structure):
    client_logiciel, secret = _emettre(structure, portees=("system/*.read",))
    client_id = client_logiciel.application.client_id
    assert (
        jeton(client, client_id, secret, "system/Organization.read").json()["scope"]
        == "system/Organization.read"
    )
    assert jeton(client, client_id, secret, "system/*.write").json()["error"] == "invalid_scope"


def test_mauvais_secret_ou_autre_grant_refuse(client, structure):
    client_logiciel, _ = _emettre(structure)
    client_id = client_logiciel.application.client_id
    assert jeton(client, client_id, "faux").status_code == 401
    reponse = client.post("/o/token/", {"grant_type": "password", "client_id": client_id, "username": "x"})
    assert reponse.status_code in (400, 401)
    assert not AccessToken.objects.exists()


def test_revocation_invalide_secret_et_jetons(client, structure):
    client_logiciel, secret = _emettre(structure)
    client_id = client_logiciel.application.client_id
    assert jeton(client, client_id, secret).status_code == 200
    revoquer_client(acteur=ADMIN, client=client_logiciel)
    client_logiciel.refresh_from_db()
    assert client_logiciel.revoque_le is not None and not client_logiciel.actif
    assert jeton(client, client_id, secret).status_code == 401
    assert not AccessToken.objects.filter(application=client_logiciel.application).exists()
    assert Evenement.objects.filter(
        action="client_logiciel.revocation", objet_uuid=client_logiciel.uuid
    ).exists()
    revoquer_client(acteur=ADMIN, client=client_logiciel)  # deux fois : sans effet
    assert Evenement.objects.filter(action="client_logiciel.revocation").count() == 1


# --- L'acteur LOGICIEL ------------------------------------------------------------------------------


def test_acteur_logiciel_et_journal(client, structure):
    client_logiciel, _ = logiciel(client, structure=structure)
    acteur = acteur_du_jeton(AccessToken.objects.get(application=client_logiciel.application))
    assert acteur.type == TypeActeur.LOGICIEL and acteur.est_logiciel
    assert acteur.nom == "DUI de test"
    assert acteur.structure == structure and acteur.professionnel is None
    assert acteur.qualite == "logiciel (DUI) · SSIAD du Val"
    evenement = journaliser(acteur=acteur, action="test.logiciel")
    assert (evenement.acteur_type, evenement.acteur_nom) == ("logiciel", "DUI de test")
    assert evenement.structure_uuid == structure.uuid and evenement.compte_uuid is None


def test_acteur_d_une_application_sans_client_logiciel():
    from oauth2_provider.models import Application

    application = Application.objects.create(
        name="autre", client_type="confidential", authorization_grant_type="client-credentials"
    )
    jeton_orphelin = AccessToken.objects.create(
        application=application, token="x", expires="2999-01-01T00:00Z"
    )
    assert acteur_du_jeton(jeton_orphelin) is None


def test_acteurs_existants_inchanges():
    assert Acteur(TypeActeur.SYSTEME, nom_systeme="import").structure is None
    assert Acteur(TypeActeur.SANS_PERSONNE, CompteFactory()).pour_journal()["structure_uuid"] is None


# --- Administration -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    administrateur = compte_connectable(is_staff=True, is_superuser=True)
    return connecter(client, administrateur)


def test_admin_emet_et_montre_le_secret_une_fois(admin_client, structure):
    reponse = admin_client.post(
        "/admin/comptes/clientlogiciel/add/",
        {
            "structure": structure.pk,
            "nom": "DUI Médisoft",
            "portees": ["system/*.read", "system/Organization.write"],
        },
    )
    assert reponse.status_code == 200, reponse.content[:500]
    assert "no-store" in reponse["Cache-Control"]
    client_logiciel = ClientLogiciel.objects.get()
    html = reponse.content.decode()
    assert client_logiciel.application.client_id in html
    secret = reponse.context["secret"]
    assert secret in html and "n'est affiché qu'une fois" in html
    assert client_logiciel.portees == "system/*.read system/Organization.write"
    assert jeton(admin_client, client_logiciel.application.client_id, secret).status_code == 200
    page = admin_client.get(f"/admin/comptes/clientlogiciel/{client_logiciel.pk}/change/")
    assert page.status_code == 200 and secret not in page.content.decode()
    evenement = Evenement.objects.get(action="client_logiciel.emission")
    assert evenement.compte_uuid is not None  # au nom de l'administrateur


def test_admin_revoque_par_action(admin_client, structure):
    client_logiciel, _ = _emettre(structure)
    reponse = admin_client.post(
        "/admin/comptes/clientlogiciel/",
        {"action": "revoquer", "_selected_action": [client_logiciel.pk]},
        follow=True,
    )
    assert reponse.status_code == 200
    client_logiciel.refresh_from_db()
    assert client_logiciel.revoque_le is not None
    assert admin_client.get("/admin/comptes/clientlogiciel/").status_code == 200


def test_admin_refuse_une_portee_inconnue(admin_client, structure):
    reponse = admin_client.post(
        "/admin/comptes/clientlogiciel/add/", {"structure": structure.pk, "nom": "X", "portees": ["admin"]}
    )
    assert reponse.status_code == 200 and not ClientLogiciel.objects.exists()


# --- API REST (DRF) et schéma ------------------------------------------------------------------------


def test_schema_openapi_authentifie(client):
    assert client.get("/api/schema/").status_code == 401
    connecter(client, compte_connectable())
    reponse = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert reponse.status_code == 200
    assert b"API du portail de coordination" in reponse.content


def test_schema_avec_jeton_de_logiciel(client):
    _, jeton_acces = logiciel(client)
    reponse = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {jeton_acces}")
    assert reponse.status_code == 200
    assert client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer faux").status_code == 401


def test_schema_refuse_une_session_sans_second_facteur(client):
    client.force_login(compte_connectable())
    assert client.get("/api/schema/").status_code == 401


def test_purge_nocturne_des_jetons_expires(client, structure):
    import datetime

    from django.utils import timezone

    from coordination.comptes.tasks import purger_jetons_oauth2

    client_logiciel, secret = _emettre(structure)
    jeton(client, client_logiciel.application.client_id, secret)
    jeton(client, client_logiciel.application.client_id, secret)
    AccessToken.objects.filter(pk=AccessToken.objects.first().pk).update(
        expires=timezone.now() - datetime.timedelta(days=1)
    )
    purger_jetons_oauth2()
    assert AccessToken.objects.count() == 1
