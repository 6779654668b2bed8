"""Pages du cahier de liaison : matrice d'autorisation. Chaque route (page et POST) × chaque sorte
d'acteur connecté du monde du cahier (tests/monde_cahier.py, plus l'anonyme) × chaque visibilité
quand la route porte sur une note → statut attendu ; un refus n'écrit rien et un 403 est
journalisé comme le cercle le fait (`cercle.acces_refuse`, route « cahier_liaison:… ») ;
une réussite en POST écrit ce qu'elle doit.

Règle (ADR 0008 et 0017) : anonyme → connexion (302) ; usager hors du monde de l'acteur → 404 ;
sans droit de lecture du cahier → 403 ; note que l'acteur ne peut pas lire (visibilité) → 404 ;
action non permise → 403 ; saisie refusée par le service → 400.

Nombre de cas : 5 routes sans note × 16 acteurs + 13 routes d'une note × 16 acteurs × 3
visibilités = 704 (`test_taille_de_la_matrice`)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cahier_liaison import services as cahier
from cahier_liaison.models import Lecture, Note, Sollicitation, VersionNote
from coordination.journal.models import Evenement
from tests.factories import connecter
from tests.monde_cahier import (
    ATTENDU,
    MEMBRE_DE,
    VISIBILITES,
    construire_monde_cahier,
    note_de,
    peut_lire,
    qui,
)

pytestmark = pytest.mark.django_db

# Les acteurs qui ont une session web (le DUI et le système passent par l'API et les tâches).
ACTEURS = ["anonyme", *(nom for nom in ATTENDU if nom not in {"dui_ssiad", "systeme"})]
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
AUTEUR = "medecin"
GESTION_DU_CAHIER = {nom for nom, (niveau, _) in ATTENDU.items() if niveau >= 3} - {"systeme"}
REFUS = "cercle.acces_refuse"


def niveau(nom: str) -> int:
    return ATTENDU[nom][0]


class Scene:
    """Le monde du cahier et une note du médecin par visibilité, avec une demande d'accusé de
    réception à chaque membre sollicitable qui peut la lire (sauf le médecin lui-même)."""

    def __init__(self) -> None:
        self.monde = construire_monde_cahier()
        self.notes = {}
        self.sollicites: dict[str, set[str]] = {}
        for visibilite in VISIBILITES:
            note = note_de(self.monde, AUTEUR, visibilite=visibilite)
            noms = {
                nom
                for nom, membre in MEMBRE_DE.items()
                if peut_lire(nom, visibilite)
                and niveau(nom) >= 1
                and nom != AUTEUR  # l'auteur ne se demande pas d'accusé : on le sollicite dans la matrice
                # Une structure se lit par son logiciel, qui ne lit pas les notes « santé seulement ».
                and not (membre == "ssiad" and visibilite not in ATTENDU["dui_ssiad"][1])
            }
            membres = {self.monde.membres[MEMBRE_DE[nom]] for nom in noms}
            cahier.demander_accuse(acteur=qui(self.monde, AUTEUR), note=note, destinataires=membres)
            self.notes[visibilite] = note
            self.sollicites[visibilite] = noms

    @property
    def usager(self):
        return self.monde.usager


def _maintenant() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def donnees_note() -> dict:
    return {
        "type": "OBS",
        "mode": "libre",
        "texte": "Bonne nuit, aucun réveil.",
        "survenue_le": _maintenant(),
    }


def _adresse(nom_url: str, scene: Scene, visibilite: str | None = None) -> str:
    arguments = {"usager_uuid": scene.usager.uuid}
    if visibilite is not None:
        arguments["note_uuid"] = scene.notes[visibilite].uuid
    return reverse(f"cahier_liaison:{nom_url}", kwargs=arguments)


# --- Ce que chaque route attend ---------------------------------------------------------------------


def _connu_et_lecteur(nom: str) -> int | None:
    if nom == "anonyme":
        return 302
    if nom in INCONNUS:
        return 404
    if niveau(nom) < 1:
        return 403
    return None


def _note_lisible(nom: str, visibilite: str) -> int | None:
    refus = _connu_et_lecteur(nom)
    if refus is not None:
        return refus
    return None if peut_lire(nom, visibilite) else 404


def ecrivain(succes: int):
    return lambda nom, scene, v: succes if niveau(nom) >= 2 else 403


def auteur(succes: int):
    return lambda nom, scene, v: (succes if nom == AUTEUR else 403) if niveau(nom) >= 2 else 403


def retrait(succes: int):
    return lambda nom, scene, v: succes if nom == AUTEUR or nom in GESTION_DU_CAHIER else 403


def lecteur(succes: int):
    return lambda nom, scene, v: succes


def accuse(nom: str, scene: Scene, visibilite: str) -> int:
    return 302 if nom in scene.sollicites[visibilite] else 400


# route: (nom d'URL, méthode, porte sur une note, décision une fois la lecture permise, données POST)
ROUTES = {
    "fil": ("fil", "get", False, lecteur(200), None),
    "flux": ("flux", "get", False, lecteur(200), None),
    "marquer_lu": ("marquer_lu", "post", False, lecteur(302), lambda s: {}),
    "ecrire_page": ("ecrire", "get", False, ecrivain(200), None),
    "ecrire": ("ecrire", "post", False, ecrivain(302), lambda s: donnees_note()),
    "fragment": ("fragment", "get", True, lecteur(200), None),
    "note": ("note", "get", True, lecteur(200), None),
    "historique": ("historique", "get", True, lecteur(200), None),
    "repondre": ("repondre", "post", True, ecrivain(302), lambda s: donnees_note()),
    "modifier_page": ("modifier", "get", True, auteur(200), None),
    "modifier": (
        "modifier",
        "post",
        True,
        auteur(302),
        lambda s: {**donnees_note(), "texte": "Texte corrigé.", "version": "1"},
    ),
    "retirer_page": ("retirer", "get", True, retrait(200), None),
    "retirer": (
        "retirer",
        "post",
        True,
        retrait(302),
        lambda s: {"motif": "Note écrite dans le mauvais cahier."},
    ),
    "accuser": ("accuser", "post", True, accuse, lambda s: {}),
    "demander_accuse_page": ("demander_accuse", "get", True, ecrivain(200), None),
    "demander_accuse": (
        "demander_accuse",
        "post",
        True,
        ecrivain(302),
        lambda s: {"membres": [str(s.monde.membres["medecin"].uuid)]},
    ),
    "alerter_page": ("alerter", "get", True, ecrivain(200), None),
    "alerter": (
        "alerter",
        "post",
        True,
        ecrivain(302),
        lambda s: {"membres": [str(s.monde.membres["ide"].uuid)]},
    ),
}
NOMBRE_DE_CAS = sum(len(ACTEURS) * (len(VISIBILITES) if r[2] else 1) for r in ROUTES.values())


def attendu(route: str, nom: str, scene: Scene, visibilite: str | None) -> int:
    _, _, sur_une_note, decision, _ = ROUTES[route]
    refus = _note_lisible(nom, visibilite) if sur_une_note else _connu_et_lecteur(nom)
    if refus is not None:
        return refus
    return decision(nom, scene, visibilite)


def etat() -> tuple:
    """Tout ce qu'une route du cahier peut écrire (les lectures journalisées à part)."""
    return (
        tuple(Note.objects.order_by("id").values_list("id", "active", "version")),
        VersionNote.objects.count(),
        tuple(Sollicitation.objects.order_by("id").values_list("id", "accusee_le")),
        tuple(Lecture.objects.order_by("id").values_list("lecteur", "lu_jusqu_au")),
        Evenement.objects.exclude(action__contains="lecture").exclude(action=REFUS).count(),
    )


def test_taille_de_la_matrice():
    assert len(ACTEURS) == 16
    assert NOMBRE_DE_CAS == 5 * 16 + 13 * 16 * 3 == 704


def lire_flux(reponse) -> bytes:
    """Lit un flux SSE jusqu'au bout (durée de vie nulle dans ces tests : ouverture puis fin)."""
    return b"".join(reponse.streaming_content)


class Annuler(Exception):
    """Sort du point de sauvegarde d'un cas : chaque cas repart du même monde."""


def verifier_cas(client, scene: Scene, route: str, acteur: str, visibilite: str | None) -> None:
    nom_url, methode, _, _, donnees = ROUTES[route]
    statut = attendu(route, acteur, scene, visibilite)
    cas = (route, acteur, visibilite)
    client.logout()
    if acteur != "anonyme":
        connecter(client, scene.monde.acteurs[acteur].compte)
    avant, refus_avant = etat(), set(Evenement.objects.filter(action=REFUS).values_list("id", flat=True))
    adresse = _adresse(nom_url, scene, visibilite)
    reponse = client.get(adresse) if methode == "get" else client.post(adresse, donnees(scene))
    assert reponse.status_code == statut, cas
    if reponse.streaming:
        assert reponse["Content-Type"] == "text/event-stream", cas
        assert b"event: ouvert" in lire_flux(reponse), cas
    refus = Evenement.objects.filter(action=REFUS).exclude(id__in=refus_avant)
    if statut == 403:
        evenement = refus.get()
        assert evenement.usager_uuid == scene.usager.uuid, cas
        assert evenement.details["route"] == f"cahier_liaison:{nom_url}", cas
        assert evenement.compte_uuid == scene.monde.acteurs[acteur].compte.uuid, cas
    else:
        assert not refus.exists(), cas
    if statut == 302 and acteur == "anonyme":
        assert reponse["Location"].startswith(reverse("account_login")), cas
    if methode == "post" and statut == 302 and acteur != "anonyme":
        assert etat() != avant, cas  # la réussite a écrit
    elif methode == "post" or statut != 200:
        assert etat() == avant, cas  # un refus n'écrit rien


@pytest.mark.parametrize("route", list(ROUTES))
def test_matrice_pages_du_cahier(client, settings, route):
    """Une route, tous ses cas (acteur × visibilité), chacun dans un point de sauvegarde annulé :
    le monde n'est construit qu'une fois par route."""
    settings.CAHIER_TEMPS_REEL_DUREE_MAX = 0
    scene = Scene()
    sur_une_note = ROUTES[route][2]
    cas = 0
    for acteur in ACTEURS:
        for visibilite in VISIBILITES if sur_une_note else [None]:
            try:
                with transaction.atomic():
                    verifier_cas(client, scene, route, acteur, visibilite)
                    raise Annuler
            except Annuler:
                cas += 1
    assert cas == len(ACTEURS) * (len(VISIBILITES) if sur_une_note else 1)
