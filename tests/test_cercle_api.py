"""API REST du cercle : matrice d'autorisation route × sorte d'acteur (session du portail avec second
facteur, ou jeton OAuth2 d'un logiciel), effets et journal des écritures permises, rien de changé
pour les écritures refusées."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cercle import services
from cercle.models import Consentement, Delegation, DemandeAdhesion, Habilitation, Membre
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement
from tests.factories import ExerciceFactory, ProfessionnelFactory, StructureFactory, connecter, rpps_valide
from tests.fhir_outils import logiciel
from tests.monde_cercle import acteur_pro, construire_monde

pytestmark = pytest.mark.django_db

ACTEURS = [
    "anonyme", "usager", "representant", "autre_usager", "ide", "collegue_structure", "medecin", "assistant",
    "assistant_expire", "pro_sans_droit", "gestionnaire", "aidant_avec_droits", "aidant_sans_droit",
    "membre_sorti", "pro_hors_cercle", "dui_structure_membre", "dui_autre_structure",
]  # fmt: skip
INVISIBLES = {"autre_usager", "assistant_expire", "pro_sans_droit", "aidant_sans_droit", "membre_sorti",
              "pro_hors_cercle", "dui_autre_structure"}  # fmt: skip
GESTION = {"usager", "representant", "gestionnaire"}
LECTURE_CERCLE = GESTION | {"ide", "collegue_structure", "medecin", "dui_structure_membre"}
PROFESSIONNELS = {"ide", "collegue_structure", "medecin", "assistant", "assistant_expire", "pro_sans_droit",
                  "gestionnaire", "membre_sorti", "pro_hors_cercle"}  # fmt: skip


def attendu_usager(nom: str, permis: set[str], succes: int) -> int:
    """Statut attendu sur une route d'un usager : 401 anonyme, 404 qui ne le connaît pas, `succes`
    pour `permis`, 403 pour les autres."""
    if nom == "anonyme":
        return 401
    if nom in INVISIBLES:
        return 404
    return succes if nom in permis else 403


class Appelant:
    """Un client HTTP authentifié comme l'acteur nommé (session + qualité, ou jeton Bearer)."""

    def __init__(self, client, monde, nom: str):
        self.client, self.en_tetes = client, {}
        if nom.startswith("dui_"):
            structure = monde.ssiad if nom == "dui_structure_membre" else StructureFactory()
            _, jeton = logiciel(client, structure=structure)
            self.en_tetes["HTTP_AUTHORIZATION"] = f"Bearer {jeton}"
        elif nom != "anonyme":
            acteur = monde.acteurs[nom]
            connecter(client, acteur.compte)
            session = client.session
            session[SESSION_ACTEUR] = acteur.cle
            session.save()

    def get(self, url, **params):
        return self.client.get(url, params, **self.en_tetes)

    def post(self, url, donnees=None, **kwargs):
        if "format" in kwargs:
            return self.client.post(url, donnees or {}, **self.en_tetes)
        return self.client.post(url, donnees or {}, content_type="application/json", **self.en_tetes)


@pytest.fixture
def monde():
    return construire_monde()


def _nb_evenements():
    return Evenement.objects.count()


@pytest.mark.parametrize("nom", ACTEURS)
def test_mes_usagers_et_annuaire(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    attendu = 401 if nom == "anonyme" else 200
    reponse = appelant.get("/api/v1/usagers/")
    assert reponse.status_code == attendu
    if attendu == 200:
        uuids = {u["uuid"] for u in reponse.json()["resultats"]}
        voit = nom in {
            "ide",
            "collegue_structure",
            "medecin",
            "assistant",
            "pro_sans_droit",
            "gestionnaire",
            "dui_structure_membre",
        }
        assert (str(monde.usager.uuid) in uuids) is voit
        assert str(monde.autre_usager.uuid) not in uuids
    assert appelant.get("/api/v1/annuaire/professionnels/", q="infirmiere").status_code == attendu


@pytest.mark.parametrize("nom", ACTEURS)
def test_lire_le_cercle(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    reponse = appelant.get(f"/api/v1/usagers/{monde.usager.uuid}/cercle/")
    assert reponse.status_code == attendu_usager(nom, LECTURE_CERCLE, 200)
    if reponse.status_code == 200:
        noms = {m["nom"] for m in reponse.json()["membres"]}
        assert "SSIAD du Val Fictif" in noms and "Camille PARTI" not in noms
        assert Evenement.objects.filter(action="cercle.lecture", usager_uuid=monde.usager.uuid).exists()
    elif reponse.status_code in (403, 404):
        assert reponse.json()["detail"]
    pourquoi = appelant.get(f"/api/v1/usagers/{monde.usager.uuid}/pourquoi/", domaine="cahier")
    assert pourquoi.status_code == attendu_usager(nom, set(ACTEURS) - INVISIBLES, 200)
    if pourquoi.status_code == 200:
        assert pourquoi.json()["explication"]


@pytest.mark.parametrize("nom", ACTEURS)
def test_ajouter_un_membre(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    avant, journal = Membre.objects.count(), _nb_evenements()
    reponse = appelant.post(
        f"/api/v1/usagers/{monde.usager.uuid}/cercle/membres/",
        {"type": "autre", "nom": "VOISINE", "prenoms": "Rose"},
    )
    assert reponse.status_code == attendu_usager(nom, GESTION, 201)
    if reponse.status_code == 201:
        assert Membre.objects.count() == avant + 1
        assert Evenement.objects.filter(action="cercle.membre.ajout").count() >= 1
    else:
        assert Membre.objects.count() == avant and _nb_evenements() == journal


@pytest.mark.parametrize("nom", ACTEURS)
def test_accorder_puis_retirer_un_droit(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    kine = monde.membres["kine"]
    avant = Consentement.objects.count()
    reponse = appelant.post(f"/api/v1/cercle/membres/{kine.uuid}/droits/", {"domaine": "cahier", "niveau": 1})
    assert reponse.status_code == attendu_usager(nom, GESTION, 201)
    if reponse.status_code == 201:
        assert reponse.json()["texte"].startswith("J'autorise")
        assert Habilitation.objects.filter(membre=kine, revoquee_le__isnull=True).count() == 1
    else:
        assert not Habilitation.objects.filter(membre=kine).exists() and Consentement.objects.count() == avant
    droit = Habilitation.objects.get(membre=monde.membres["ide"], domaine="ppa", revoquee_le__isnull=True)
    retrait = appelant.post(f"/api/v1/cercle/droits/{droit.uuid}/retrait/")
    assert retrait.status_code == attendu_usager(nom, GESTION, 200)
    droit.refresh_from_db()
    assert (droit.revoquee_le is not None) is (retrait.status_code == 200)


def test_octroi_invalide_messages_francais(client, monde):
    appelant = Appelant(client, monde, "usager")
    kine = monde.membres["kine"]
    url = f"/api/v1/cercle/membres/{kine.uuid}/droits/"
    assert appelant.post(url, {"domaine": "finances", "niveau": 1}).status_code == 400
    hier = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    reponse = appelant.post(url, {"domaine": "cahier", "niveau": 1, "date_fin": hier})
    assert reponse.status_code == 400 and "déjà passée" in str(reponse.json())
    reponse = appelant.post(url, {"domaine": "cahier", "niveau": 2, "texte_vu": "autre chose"})
    assert reponse.status_code == 400 and "a changé" in str(reponse.json())
    assert appelant.post("/api/v1/cercle/membres/pas-un-uuid/droits/", {}).status_code == 404
    assert not Habilitation.objects.filter(membre=kine).exists()


@pytest.mark.parametrize("nom", ACTEURS)
def test_suspendre_un_membre(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    kine = monde.membres["kine"]
    reponse = appelant.post(f"/api/v1/cercle/membres/{kine.uuid}/suspension/")
    assert reponse.status_code == attendu_usager(nom, GESTION, 200)
    kine.refresh_from_db()
    assert (kine.statut == "suspended") is (reponse.status_code == 200)


@pytest.mark.parametrize("nom", ACTEURS)
def test_proposer_une_delegation(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    assistant = ExerciceFactory(structure=None)
    fin = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    avant = Delegation.objects.count()
    reponse = appelant.post(
        f"/api/v1/usagers/{monde.usager.uuid}/cercle/delegations/",
        {"assistant": str(assistant.uuid), "domaine": "agenda", "niveau": 1, "date_fin": fin},
    )
    if nom == "gestionnaire":
        attendu = 400  # membre, mais ne détient rien sur l'agenda : jamais plus
    else:
        attendu = attendu_usager(nom, {"ide", "medecin"}, 201)
    assert reponse.status_code == attendu
    assert Delegation.objects.count() == avant + (attendu == 201)


@pytest.mark.parametrize("nom", ACTEURS)
def test_consentir_a_une_delegation(client, monde, nom):
    delegation = services.proposer_delegation(
        acteur=monde["ide"], usager=monde.usager, assistant=ExerciceFactory(structure=None), domaine="cahier",
        niveau=1, date_fin=timezone.localdate() + datetime.timedelta(days=30),
    )  # fmt: skip
    appelant = Appelant(client, monde, nom)
    reponse = appelant.post(f"/api/v1/cercle/delegations/{delegation.uuid}/consentement/", {"accepter": True})
    assert reponse.status_code == attendu_usager(nom, {"usager", "representant"}, 200)
    delegation.refresh_from_db()
    assert (delegation.statut == "active") is (reponse.status_code == 200)


@pytest.mark.parametrize("nom", ACTEURS)
def test_decider_une_demande_d_adhesion(client, monde, nom):
    demande = services.demander_adhesion(
        acteur=acteur_pro(ExerciceFactory()), nom_naissance="FICTIVE", prenom="Jeanne",
        date_naissance=monde.usager.date_naissance,
    )  # fmt: skip
    appelant = Appelant(client, monde, nom)
    reponse = appelant.post(
        f"/api/v1/cercle/demandes/{demande.uuid}/decision/", {"accepter": False, "motif": "non"}
    )
    assert reponse.status_code == attendu_usager(nom, GESTION, 200)
    demande.refresh_from_db()
    assert (demande.statut == "refusee") is (reponse.status_code == 200)


@pytest.mark.parametrize("nom", ACTEURS)
def test_importer_un_historique(client, monde, nom):
    pro = ProfessionnelFactory(idnat_ps="8" + rpps_valide(94_000_001))
    appelant = Appelant(client, monde, nom)
    from django.core.files.uploadedfile import SimpleUploadedFile

    fichier = SimpleUploadedFile("historique.csv", f"rpps;date\n{pro.rpps};2026-06-01\n".encode(), "text/csv")
    reponse = appelant.post(f"/api/v1/usagers/{monde.usager.uuid}/cercle/historique/", {"fichier": fichier},
                            format="multipart")  # fmt: skip
    assert reponse.status_code == attendu_usager(nom, GESTION, 200)
    proposes = Membre.objects.filter(professionnel=pro, statut="proposed").count()
    assert proposes == (reponse.status_code == 200)


@pytest.mark.parametrize("nom", ACTEURS)
def test_demander_a_entrer_dans_un_cercle(client, monde, nom):
    appelant = Appelant(client, monde, nom)
    avant = DemandeAdhesion.objects.count()
    reponse = appelant.post(
        "/api/v1/cercle/demandes/",
        {
            "nom_naissance": "FICTIVE",
            "prenom": "Jeanne",
            "date_naissance": monde.usager.date_naissance.isoformat(),
        },
    )
    if nom == "anonyme":
        assert reponse.status_code == 401
    else:
        assert reponse.status_code == (201 if nom in PROFESSIONNELS else 403)
        # La réponse est la même que la personne existe ou non.
        if reponse.status_code == 201:
            assert reponse.json()["statut"] == "en_attente"
            assert appelant.get("/api/v1/cercle/demandes/").json()[0]["uuid"] == reponse.json()["uuid"]
    assert DemandeAdhesion.objects.count() == avant + (reponse.status_code == 201)


def test_schema_openapi_sans_avertissement(tmp_path):
    from django.core.management import call_command

    chemin = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(chemin))
    schema = chemin.read_text()
    for route in ("/api/v1/usagers/{uuid_usager}/cercle/", "/api/v1/cercle/membres/{uuid_membre}/droits/",
                  "/api/v1/cercle/demandes/", "/api/v1/annuaire/professionnels/"):  # fmt: skip
        assert route in schema
    assert "clientCredentials" in schema and "sessionPortail" in schema
