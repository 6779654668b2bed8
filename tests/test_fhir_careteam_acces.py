"""CareTeam : matrice d'autorisation interaction × sorte d'acteur (docs/decisions/0011-careteam-cds.md).

Règles vérifiées : anonyme 401 ; session du portail en lecture seule (403 sur toute écriture) ;
usager hors du monde de l'acteur 404 (comme un id inconnu) ; usager connu sans le droit 403 ; la
recherche et l'_history du type filtrent ; l'écriture demande la gestion du cercle (le logiciel d'une
structure agit avec les droits de sa structure). Chaque refus est un OperationOutcome, et rien n'est
écrit. Le nombre de cas est compté et écrit dans le rapport de pytest (`record_property`)."""

from __future__ import annotations

import pytest

from cercle import services
from cercle.models import Cercle, Membre, StatutMembre, TypeMembre
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement
from tests.factories import StructureFactory, connecter
from tests.fhir_outils import logiciel, oo
from tests.monde_cercle import acteur_usager, construire_monde

pytestmark = pytest.mark.django_db

ACTEURS = [
    "anonyme", "usager", "representant", "autre_usager", "aidant_avec_droits", "aidant_sans_droit",
    "ide", "medecin", "collegue_structure", "gestionnaire", "pro_sans_droit", "pro_hors_cercle",
    "assistant", "assistant_expire", "membre_sorti", "dui_structure_membre", "dui_gestionnaire",
    "dui_autre_structure",
]  # fmt: skip
INTERACTIONS = [
    "read",
    "vread",
    "history-instance",
    "history-type",
    "search",
    "create",
    "update",
    "transaction",
]
# Qui ne connaît pas l'usager (ADR 0008) : ni lui ni un de ses proches, aucun droit, pas dans
# « Mes usagers ». Le fils sans droit est un proche : il connaît l'usager (403).
INVISIBLES = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti", "dui_autre_structure"}
LECTURE_CERCLE = {"usager", "representant", "ide", "medecin", "collegue_structure", "gestionnaire",
                  "dui_structure_membre", "dui_gestionnaire"}  # fmt: skip
ECRITURE_PERMISE = {"dui_gestionnaire"}  # gestion du cercle ET jeton (une session ne fait que lire)
LECTURES_D_INSTANCE = {"read", "vread", "history-instance"}
LECTURES_FILTREES = {"history-type", "search"}

NOMBRE_DE_CAS = len(ACTEURS) * len(INTERACTIONS)


def attendu(nom: str, interaction: str) -> int:
    if nom == "anonyme":
        return 401
    if interaction in LECTURES_FILTREES:
        return 200
    session = not nom.startswith("dui_")
    if interaction in LECTURES_D_INSTANCE:
        if nom in INVISIBLES:
            return 404
        return 200 if nom in LECTURE_CERCLE else 403
    if session:
        return 403  # session du portail : lecture seule (coordination/fhir/acces.py)
    if nom in ECRITURE_PERMISE:
        return {"create": 201, "update": 200, "transaction": 200}[interaction]
    if nom in INVISIBLES:
        # L'usager est cité dans le corps (create) : 422 ; dans l'adresse (update, transaction) : 404.
        return 422 if interaction == "create" else 404
    return 403


class Appelant:
    """Client HTTP authentifié comme l'acteur nommé : session du portail (second facteur franchi,
    qualité choisie) ou jeton OAuth2 du logiciel d'une structure."""

    def __init__(self, client, monde, nom: str):
        self.client, self.en_tetes = client, {}
        if nom.startswith("dui_"):
            structure = {
                "dui_structure_membre": monde.ssiad,
                "dui_gestionnaire": monde.plateforme,
                "dui_autre_structure": None,
            }[nom] or StructureFactory()
            self.en_tetes["HTTP_AUTHORIZATION"] = f"Bearer {logiciel(client, structure=structure)[1]}"
        elif nom != "anonyme":
            acteur = monde.acteurs[nom]
            connecter(client, acteur.compte)
            session = client.session
            session[SESSION_ACTEUR] = acteur.cle
            session.save()

    def appeler(self, methode: str, chemin: str, corps=None, **en_tetes):
        from tests.fhir_outils import appel

        return appel(self.client, methode, chemin, corps=corps, **self.en_tetes, **en_tetes)


@pytest.fixture
def monde():
    monde = construire_monde()
    moi = acteur_usager(monde.usager)
    plateforme = StructureFactory(raison_sociale="Plateforme de coordination fictive")
    membre = services.ajouter_membre(
        acteur=moi, usager=monde.usager, type=TypeMembre.STRUCTURE, structure=plateforme
    )
    services.accorder(acteur=moi, membre=membre, domaine="cercle", niveau=3)
    monde.plateforme = plateforme
    monde.nouvelle = StructureFactory(raison_sociale="Nouvelle structure fictive")
    return monde


def _careteam_courante(monde) -> dict:
    from cercle.fhir import PARTICIPANTS, cercle_vers_careteam

    cercle = Cercle.objects.prefetch_related(PARTICIPANTS).select_related("usager").get(usager=monde.usager)
    return cercle_vers_careteam(cercle, cercle.participants)


def _requete(monde, interaction: str) -> tuple[str, str, dict | None]:
    cercle = Cercle.objects.get(usager=monde.usager)
    base = f"/fhir/CareTeam/{cercle.uuid}"
    if interaction == "read":
        return "GET", base, None
    if interaction == "vread":
        return "GET", f"{base}/_history/1", None
    if interaction == "history-instance":
        return "GET", f"{base}/_history", None
    if interaction == "history-type":
        return "GET", "/fhir/CareTeam/_history", None
    if interaction == "search":
        return "GET", f"/fhir/CareTeam?patient=Patient/{monde.usager.uuid}", None
    if interaction == "create":
        return (
            "POST",
            "/fhir/CareTeam",
            {
                "resourceType": "CareTeam",
                "status": "active",
                "subject": {"reference": f"Patient/{monde.usager.uuid}"},
                "participant": [
                    {
                        "member": {"reference": f"Organization/{monde.nouvelle.uuid}"},
                        "period": {"start": "2026-01-05"},
                    }
                ],
            },
        )
    # update et transaction : la CareTeam courante sans la kinésithérapeute (elle sort du cercle).
    careteam = _careteam_courante(monde)
    kine = monde.membres["kine"].exercice
    careteam["participant"] = [
        p for p in careteam["participant"] if p["member"].get("reference") != f"PractitionerRole/{kine.uuid}"
    ]
    if interaction == "update":
        return "PUT", base, careteam
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": careteam, "request": {"method": "PUT", "url": f"CareTeam/{cercle.uuid}"}}],
    }
    return "POST", "/fhir/", bundle


def _etat(monde) -> tuple:
    cercle = Cercle.objects.get(usager=monde.usager)
    return cercle.version, Membre.objects.filter(cercle=cercle, date_sortie__isnull=True).count()


def test_nombre_de_cas_de_la_matrice(record_property):
    record_property("cas_matrice_careteam", NOMBRE_DE_CAS)
    print(f"Matrice d'autorisation CareTeam : {NOMBRE_DE_CAS} cas")  # noqa: T201
    assert NOMBRE_DE_CAS == 144


@pytest.mark.parametrize("interaction", INTERACTIONS)
@pytest.mark.parametrize("nom", ACTEURS)
def test_matrice_careteam(client, monde, nom, interaction):
    appelant = Appelant(client, monde, nom)
    methode, chemin, corps = _requete(monde, interaction)
    avant = _etat(monde)
    lectures_avant = Evenement.objects.filter(action="fhir.careteam.lecture").count()
    reponse = appelant.appeler(methode, chemin, corps)
    statut = attendu(nom, interaction)
    if statut >= 400:
        oo(reponse, statut)
        assert _etat(monde) == avant, "un refus n'écrit rien"
        assert Evenement.objects.filter(action="fhir.careteam.lecture").count() == lectures_avant
        return
    assert reponse.status_code == statut, (reponse.status_code, reponse.content[:400])
    contenu = reponse.json()
    cercle = Cercle.objects.get(usager=monde.usager)
    if interaction in LECTURES_FILTREES:
        ids = {e["resource"]["id"] for e in contenu.get("entry", [])}
        assert (str(cercle.uuid) in ids) is (nom in LECTURE_CERCLE)
        assert str(Cercle.objects.get(usager=monde.autre_usager).uuid) not in ids or nom == "autre_usager"
    elif interaction in LECTURES_D_INSTANCE:
        assert contenu["resourceType"] in ("CareTeam", "Bundle")
    if interaction in LECTURES_D_INSTANCE or (interaction in LECTURES_FILTREES and nom in LECTURE_CERCLE):
        assert Evenement.objects.filter(
            action="fhir.careteam.lecture", usager_uuid=monde.usager.uuid
        ).exists()
    if interaction == "create":
        assert Membre.objects.filter(
            cercle=cercle, structure=monde.nouvelle, statut=StatutMembre.ACTIF
        ).exists()
        assert _etat(monde)[0] == avant[0] + 1
    if interaction in ("update", "transaction"):
        kine = Membre.objects.get(pk=monde.membres["kine"].pk)
        assert kine.statut == StatutMembre.INACTIF and kine.motif_sortie == "fin_accompagnement"
        assert _etat(monde) == (avant[0] + 1, avant[1] - 1)
