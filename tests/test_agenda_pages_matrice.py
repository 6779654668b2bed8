"""Pages de l'agenda : matrice d'autorisation. Chaque route (page et POST) × chaque sorte d'acteur
connecté du monde de l'agenda (tests/monde_agenda.py, plus l'anonyme) → statut attendu ; un refus
n'écrit rien ; un 403 sur une adresse d'usager est journalisé (`cercle.acces_refuse`).

Règle (ADR 0008) : anonyme → connexion (302) ; usager hors du monde de l'acteur → 404 ; sans droit
de lecture de l'agenda → 403 ; événement que l'acteur ne peut pas voir (ni lecteur de l'agenda de
l'usager, ni convié, ni auteur) → 404 ; action non permise → 403.

Nombre de cas : 21 routes × 16 acteurs = 336 (`test_taille_de_la_matrice`).

Scène : un rendez-vous de Jeanne créé par l'infirmière, le médecin convié ; une réunion demandée
par l'infirmière, le médecin et la fille aidante conviés."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agenda import reunions
from agenda import services as agenda
from agenda.models import ContreProposition, Disponibilite, Evenement, FluxIcs, Participant, PreferenceHoraire
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from tests.factories import connecter
from tests.monde_agenda import NIVEAU_AGENDA, construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db

ACTEURS = ["anonyme", *(nom for nom in NIVEAU_AGENDA if nom not in {"dui_ssiad", "systeme"})]
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
PROFESSIONNELS = {
    "ide", "collegue_structure", "medecin", "assistant", "assistant_expire", "pro_sans_droit", "gestionnaire",
    "membre_sorti", "pro_hors_cercle", "educateur",
}  # fmt: skip
CONVIES_RDV = {"medecin"}  # l'infirmière crée le rendez-vous sans s'y convier
CONVIES_REUNION = {"ide", "medecin", "aidant_avec_droits"}
REFUS = "cercle.acces_refuse"


def niveau(nom: str) -> int:
    return NIVEAU_AGENDA.get(nom, 0)


class Scene:
    def __init__(self) -> None:
        self.monde = monde = construire_monde_agenda()
        self.rdv = rendez_vous(monde, "ide", invites=[agenda.Invite(monde.acteurs["medecin"].exercice)])
        lundi = timezone.localdate() + datetime.timedelta(days=14 - timezone.localdate().weekday())
        debut = timezone.make_aware(datetime.datetime.combine(lundi, datetime.time(10)))
        self.demande = reunions.demander_reunion(
            acteur=qui(monde, "ide"),
            usager=monde.usager,
            invites=[
                agenda.Invite(monde.acteurs["medecin"].exercice),
                agenda.Invite(monde.acteurs["aidant_avec_droits"].proche),
            ],
            titre="Synthèse",
            duree=datetime.timedelta(hours=1),
            horizon_debut=debut - datetime.timedelta(days=1),
            horizon_fin=debut + datetime.timedelta(days=5),
            date_limite=timezone.now() + datetime.timedelta(days=2),
            debut=debut,
        )
        self.proposition = ContreProposition.objects.create(
            demande=self.demande,
            participant=self.demande.evenement.participants.get(proche__isnull=False),
            debut=debut + datetime.timedelta(days=1),
            fin=debut + datetime.timedelta(days=1, hours=1),
        )


def _connu_et_lecteur(nom: str) -> int | None:
    if nom == "anonyme":
        return 302
    if nom in INCONNUS:
        return 404
    return 403 if niveau(nom) < 1 else None


def sur_l_usager(decision):
    def statut(nom: str) -> int:
        refus = _connu_et_lecteur(nom)
        return refus if refus is not None else decision(nom)

    return statut


def sur_l_evenement(convies: set[str], decision):
    def statut(nom: str) -> int:
        if nom == "anonyme":
            return 302
        if niveau(nom) < 1 and nom not in convies:
            return 404
        return decision(nom)

    return statut


def sur_le_rdv(decision):
    return sur_l_evenement(CONVIES_RDV, decision)


def sur_la_reunion(decision):
    return sur_l_evenement(CONVIES_REUNION, decision)


def professionnel(succes: int):
    return lambda nom: 302 if nom == "anonyme" else (succes if nom in PROFESSIONNELS else 403)


def ecrivain(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 else 403


def ecrivain_pro(succes: int):
    return lambda nom: succes if niveau(nom) >= 2 and nom in PROFESSIONNELS else 403


def parmi(noms: set[str], succes: int):
    return lambda nom: succes if nom in noms else 403


def _jour_futur() -> str:
    return (timezone.localdate() + datetime.timedelta(days=20)).isoformat()


def donnees_rdv(scene) -> dict:
    return {"titre": "Kinésithérapie", "jour": _jour_futur(), "heure_debut": "14:00", "heure_fin": "14:45"}


def donnees_recherche(scene) -> dict:
    medecin, ide = scene.monde.acteurs["medecin"].exercice, scene.monde.acteurs["ide"].exercice
    du = timezone.localdate() + datetime.timedelta(days=1)
    return {
        "titre": "Réunion",
        "participants": [f"exercice:{medecin.uuid}", f"exercice:{ide.uuid}"],
        "duree": "60",
        "du": du.isoformat(),
        "au": (du + datetime.timedelta(days=6)).isoformat(),
        "date_limite": du.isoformat(),
    }


def _jour_de_proposition(scene) -> dict:
    return {"jour": (timezone.localdate() + datetime.timedelta(days=21)).isoformat(), "heure": "11:00"}


U, R, D = "usager", "rdv", "demande"
# route: (nom d'URL, méthode, cible, statut attendu par acteur, données POST)
ROUTES = {
    "agenda_usager": ("usager", "get", U, sur_l_usager(lambda nom: 200), None),
    "ajouter_page": ("ajouter", "get", U, sur_l_usager(ecrivain(200)), None),
    "ajouter": ("ajouter", "post", U, sur_l_usager(ecrivain(302)), donnees_rdv),
    "reunion_page": ("demander_reunion", "get", U, sur_l_usager(ecrivain_pro(200)), None),
    "reunion_recherche": ("demander_reunion", "post", U, sur_l_usager(ecrivain_pro(200)), donnees_recherche),
    "rdv": ("evenement", "get", R, sur_le_rdv(lambda nom: 200), None),
    "rdv_repondre": (
        "repondre", "post", R, sur_le_rdv(parmi(CONVIES_RDV, 302)), lambda s: {"statut": "accepted"},
    ),
    "rdv_annuler": ("annuler", "post", R, sur_le_rdv(ecrivain(302)), lambda s: {"motif": "Test"}),
    "reunion": ("evenement", "get", D, sur_la_reunion(lambda nom: 200), None),
    "reunion_repondre": (
        "repondre", "post", D, sur_la_reunion(parmi(CONVIES_REUNION, 302)),
        lambda s: {"statut": "accepted"},
    ),
    "reunion_proposer": (
        "contre_proposer", "post", D, sur_la_reunion(parmi(CONVIES_REUNION, 302)),
        _jour_de_proposition,
    ),
    "reunion_retenir": ("retenir", "post", D, sur_la_reunion(parmi({"ide"}, 302)), lambda s: {}),
    "reunion_annuler": (
        "annuler", "post", D, sur_la_reunion(parmi({"ide"}, 302)), lambda s: {"motif": "Test"},
    ),
    "preferences_page": ("preferences", "get", U, sur_l_usager(ecrivain(200)), None),
    "preferences": ("preferences", "post", U, sur_l_usager(ecrivain(302)), lambda s: {"moment": "matin"}),
    "abonnement_usager": ("abonnement_usager", "get", U, sur_l_usager(lambda nom: 200), None),
    "abonnement_rotation": ("abonnement_usager", "post", U, sur_l_usager(lambda nom: 302), lambda s: {}),
    "mon_agenda": ("mon_agenda", "get", None, professionnel(200), None),
    "abonnement": ("abonnement", "get", None, professionnel(200), None),
    "disponibilites": ("disponibilites", "get", None, professionnel(200), None),
    "disponibilites_ajout": (
        "disponibilites", "post", None, professionnel(302),
        lambda s: {"quoi": "plage", "jours": ["0", "2"], "heure_debut": "09:00", "heure_fin": "12:00"},
    ),
}  # fmt: skip
NOMBRE_DE_CAS = len(ROUTES) * len(ACTEURS)


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 16
    assert NOMBRE_DE_CAS == 21 * 16 == 336


def _adresse(scene: Scene, nom_url: str, cible: str | None) -> str:
    if cible == U:
        return reverse(f"agenda:{nom_url}", args=[scene.monde.usager.uuid])
    if cible is None:
        return reverse(f"agenda:{nom_url}")
    evenement = scene.rdv if cible == R else scene.demande.evenement
    if nom_url == "retenir":
        return reverse("agenda:retenir", args=[evenement.uuid, scene.proposition.pk])
    return reverse(f"agenda:{nom_url}", args=[evenement.uuid])


def etat() -> tuple:
    return (
        tuple(Evenement.objects.order_by("id").values_list("id", "statut", "sequence", "debut")),
        tuple(Participant.objects.order_by("id").values_list("id", "statut")),
        ContreProposition.objects.count(),
        Disponibilite.objects.count(),
        tuple(PreferenceHoraire.objects.order_by("id").values_list("id", "heure_debut")),
        tuple(FluxIcs.objects.order_by("id").values_list("id", "jeton")),
        Journal.objects.exclude(action__contains="lecture").exclude(action=REFUS).count(),
    )


class Annuler(Exception):
    """Levée pour annuler la transaction d'un cas de la matrice (chaque cas repart du même état)."""


def verifier_cas(client, scene: Scene, route: str, acteur: str) -> None:
    nom_url, methode, cible, decision, donnees = ROUTES[route]
    statut = decision(acteur)
    cas = (route, acteur)
    client.logout()
    if acteur != "anonyme":
        connecter(client, scene.monde.acteurs[acteur].compte)
        session = client.session  # l'éducateur exerce dans deux structures : il agit au foyer
        session[SESSION_ACTEUR] = scene.monde.acteurs[acteur].cle
        session.save()
    avant = etat()
    refus_avant = set(Journal.objects.filter(action=REFUS).values_list("id", flat=True))
    adresse = _adresse(scene, nom_url, cible)
    reponse = client.get(adresse) if methode == "get" else client.post(adresse, donnees(scene))
    assert reponse.status_code == statut, (cas, reponse.content[:3000])
    refus = Journal.objects.filter(action=REFUS).exclude(id__in=refus_avant)
    if statut == 403 and cible == U:
        assert refus.get().details["route"] == f"agenda:{nom_url}", cas
    else:
        assert not refus.exists(), cas
    if statut == 302 and acteur == "anonyme":
        assert reponse["Location"].startswith(reverse("account_login")), cas
    if methode == "post" and statut == 302 and acteur != "anonyme":
        assert etat() != avant, cas
    elif methode == "post" or statut != 200:
        assert etat() == avant, cas


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_pages_de_l_agenda(client, route):
    scene = Scene()
    for acteur in ACTEURS:
        with contextlib.suppress(Annuler):
            with transaction.atomic():
                verifier_cas(client, scene, route, acteur)
                raise Annuler
