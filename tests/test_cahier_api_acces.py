"""API du cahier de liaison (FHIR DocumentReference et REST) : matrice d'autorisation
interaction (ou route) × sorte d'acteur × visibilité de la note (ADR 0008, 0016, 0020).

Acteurs : ceux du monde du cahier (tests/monde_cahier.py) en session du portail, l'anonyme, et des
logiciels de structure avec un vrai jeton OAuth2 : le DUI du SSIAD (lecture seule au cahier), celui
de la plateforme (écriture), celui d'une structure hors du cercle, le DUI de la plateforme sans la
portée d'écriture, et le DUI de la plateforme pour le compte d'une infirmière membre du cercle, d'une
assistante sociale qui n'en est pas membre, ou d'un professionnel d'une autre structure.

Chaque cas s'exécute dans un point de sauvegarde annulé ensuite (le monde est construit une fois par
acteur). Tout refus est vérifié : statut, corps d'erreur, et rien n'est écrit. Le nombre de cas est
écrit dans le rapport de pytest (`record_property`)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from cahier_liaison import fhir, services
from cahier_liaison.models import EvenementCahier, Lecture, Note, Sollicitation, VersionNote
from coordination.comptes.acteur import SESSION_ACTEUR, acteur_systeme
from coordination.journal.models import Evenement
from tests.factories import StructureFactory, connecter
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_cahier import ATTENDU, PROS, SANS_USAGER, SANTE, TOUS, VISIBILITES, note_de, qui
from tests.monde_cahier_fhir import construire_monde_api, document_reference, patient_ins

pytestmark = pytest.mark.django_db

SESSIONS = [
    "usager", "representant", "autre_usager", "aidant_avec_droits", "aidant_sans_droit", "ide", "medecin",
    "collegue_structure", "gestionnaire", "pro_sans_droit", "pro_hors_cercle", "assistant",
    "assistant_expire", "membre_sorti", "educateur",
]  # fmt: skip
# DUI : (structure, professionnel pour le compte duquel il écrit, portées)
TOUTES = ("system/*.read", "system/*.write")
LOGICIELS = {
    "dui_ssiad": ("ssiad", None, TOUTES),
    "dui_plateforme": ("plateforme", None, TOUTES),
    "dui_autre_structure": (None, None, TOUTES),
    "dui_sans_portee": ("plateforme", None, ("system/*.read",)),
    "dui_pour_ide_plateforme": ("plateforme", "ide_plateforme", TOUTES),
    "dui_pour_as_plateforme": ("plateforme", "as_plateforme", TOUTES),
    "dui_pour_pro_ailleurs": ("plateforme", "pro_ailleurs", TOUTES),
}
DROITS = {
    **{nom: ATTENDU[nom] for nom in SESSIONS},
    "dui_ssiad": (1, PROS),
    "dui_autre_structure": (0, PROS),
    **{nom: (2, PROS) for nom, (structure, _, _) in LOGICIELS.items() if structure == "plateforme"},
}
ACTEURS_FHIR = ["anonyme", *SESSIONS, *LOGICIELS]
ACTEURS_REST = ["anonyme", *SESSIONS, "dui_ssiad", "dui_plateforme", "dui_autre_structure"]
INTERACTIONS = ["read", "vread", "history-instance", "search", "create", "update", "transaction"]
ROUTES = [
    "liste", "note", "creation", "modification", "desactivation", "demande_accuse", "accuse", "alerte",
    "non_lus", "lecture",
]  # fmt: skip
# Qui ne connaît pas l'usager (ADR 0008). FHIR : ni lui, ni un proche, ni un droit, ni « Mes
# usagers » ; REST (comme l'API du cercle) : aucun droit sur son dossier.
INCONNUS_FHIR = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti", "dui_autre_structure"}
INCONNUS_REST = INCONNUS_FHIR | {"pro_sans_droit", "aidant_sans_droit"}

CAS_FHIR = len(ACTEURS_FHIR) * len(INTERACTIONS) * len(VISIBILITES)
CAS_REST = len(ACTEURS_REST) * len(ROUTES) * len(VISIBILITES)


def attendu_fhir(nom: str, interaction: str, visibilite: str) -> int:
    if nom == "anonyme":
        return 401
    niveau, lisibles = DROITS[nom]
    lit, voit, ecrit = niveau >= 1, niveau >= 1 and visibilite in lisibles, niveau >= 2
    if interaction in ("read", "vread", "history-instance"):
        if nom in INCONNUS_FHIR:
            return 404
        if not lit:
            return 403
        return 200 if voit else 404
    if interaction == "search":
        return 200
    if nom in SESSIONS or nom == "dui_sans_portee":
        return 403  # session : lecture seule ; jeton sans « .write »
    if interaction in ("create", "transaction"):
        if nom == "dui_autre_structure":
            return 422  # le patient n'est pas connu de lui : même réponse qu'un patient inconnu
        if not ecrit:
            return 403
        if nom == "dui_pour_pro_ailleurs" or visibilite == SANTE:
            return 422  # auteur hors de la structure ; visibilité que le logiciel ne lit pas
        return 201 if interaction == "create" else 200
    # update d'une note écrite par le DUI de la plateforme (par le médecin pour SANTE)
    if nom == "dui_autre_structure" or visibilite not in lisibles:
        return 404
    if nom == "dui_pour_pro_ailleurs":
        return 422
    return 200 if nom == "dui_plateforme" else 403  # seul l'auteur modifie


def attendu_rest(nom: str, route: str, visibilite: str) -> int:
    if nom == "anonyme":
        return 401
    if nom in INCONNUS_REST:
        return 404
    niveau, lisibles = DROITS[nom]
    lit, ecrit = niveau >= 1, niveau >= 2
    if route in ("liste", "non_lus", "lecture"):
        return 200 if lit else 403
    if route == "creation":
        if not ecrit:
            return 403
        return 201 if visibilite in lisibles else 400
    if not lit:
        return 403
    if visibilite not in lisibles:
        return 404
    if route == "note":
        return 200
    if route == "modification":
        return 200 if nom == "medecin" else 403
    if route == "desactivation":
        return 200 if nom == "medecin" or niveau >= 3 else 403
    if route in ("demande_accuse", "alerte"):
        return 201 if ecrit else 403
    return 200 if nom == "ide" else 400  # accusé : seule l'infirmière en a un en attente


# --- Outils ---------------------------------------------------------------------------------------


class Appelant:
    """Client HTTP authentifié comme l'acteur nommé : session du portail (second facteur franchi,
    qualité choisie) ou jeton OAuth2 du logiciel d'une structure."""

    def __init__(self, client, monde, nom: str):
        self.client, self.jeton, self.exercice = client, None, None
        if nom in LOGICIELS:
            structure, pour, portees = LOGICIELS[nom]
            structure = getattr(monde, structure) if structure else StructureFactory()
            self.jeton = logiciel(client, portees=portees, structure=structure)[1]
            self.exercice = getattr(monde, pour) if pour else None
        elif nom != "anonyme":
            acteur = monde.acteurs[nom]
            connecter(client, acteur.compte)
            session = client.session
            session[SESSION_ACTEUR] = acteur.cle
            session.save()

    def fhir(self, methode: str, chemin: str, corps=None):
        return appel(self.client, methode, chemin, self.jeton, corps)

    def rest(self, methode: str, chemin: str, corps=None):
        en_tetes = {"HTTP_AUTHORIZATION": f"Bearer {self.jeton}"} if self.jeton else {}
        kwargs = {"data": json.dumps(corps), "content_type": "application/json"} if corps is not None else {}
        return getattr(self.client, methode.lower())(chemin, **kwargs, **en_tetes)

    def auteurs(self) -> list[dict]:
        if self.exercice is not None:
            return [{"reference": f"PractitionerRole/{self.exercice.uuid}"}]
        return [{"type": "Device", "display": "DUI de test"}]


def _etat() -> tuple:
    return (
        Note.objects.count(),
        Note.objects.filter(active=True).count(),
        sum(Note.objects.values_list("version", flat=True)),
        VersionNote.objects.count(),
        Sollicitation.objects.count(),
        Sollicitation.objects.filter(accusee_le__isnull=False).count(),
        Lecture.objects.count(),
        EvenementCahier.objects.count(),
    )


def _dans_un_point_de_sauvegarde(cas):
    with transaction.atomic():
        cas()
        transaction.set_rollback(True)


def _verifier(reponse, statut: int, avant: tuple, *, fhir_json: bool) -> None:
    if statut >= 400:
        if fhir_json:
            oo(reponse, statut)
        else:
            assert reponse.status_code == statut, (reponse.status_code, reponse.content[:300])
            assert reponse.json(), "un refus explique pourquoi"
        assert _etat() == avant, "un refus n'écrit rien"
    else:
        assert reponse.status_code == statut, (reponse.status_code, reponse.content[:400])


# --- FHIR -----------------------------------------------------------------------------------------


def _cibles_fhir(monde) -> dict:
    """Par visibilité : une note du médecin (lectures) et une note du DUI de la plateforme (sa
    modification ; le médecin pour SANTE, que le logiciel ne peut pas écrire)."""
    dui = qui(monde, "dui_plateforme")
    cibles = {}
    for visibilite in VISIBILITES:
        lue = note_de(monde, "medecin", visibilite=visibilite, texte=f"Note {visibilite or 'tous'}.")
        if visibilite == SANTE:
            modifiee = note_de(monde, "medecin", visibilite=visibilite)
        else:
            modifiee = services.ecrire_note(
                acteur=dui, usager=monde.usager, type="OBS", survenue_le=lue.survenue_le,
                texte="Note du logiciel.", visibilite=visibilite,
            )  # fmt: skip
        cibles[visibilite] = (lue, modifiee)
    return cibles


def _requete_fhir(appelant: Appelant, monde, interaction: str, visibilite: str, lue: Note, modifiee: Note):
    base = f"/fhir/DocumentReference/{lue.uuid}"
    if interaction == "read":
        return "GET", base, None
    if interaction == "vread":
        return "GET", f"{base}/_history/1", None
    if interaction == "history-instance":
        return "GET", f"{base}/_history", None
    if interaction == "search":
        return "GET", f"/fhir/DocumentReference?patient=Patient/{monde.usager.uuid}", None
    note = document_reference(
        monde.usager, auteurs=appelant.auteurs(), visibilite=visibilite or None, type_note="OBS",
        texte=f"Nouvelle note {visibilite}.",
    )  # fmt: skip
    if interaction == "create":
        return "POST", "/fhir/DocumentReference", note
    if interaction == "transaction":
        patient = "urn:uuid:0d920958-b596-4b91-af67-9bafc707820b"
        note["subject"] = {"reference": patient}
        return (
            "POST",
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"resource": note, "request": {"method": "POST", "url": "DocumentReference"}},
                    {
                        "fullUrl": patient,
                        "resource": {"resourceType": "Patient", "identifier": [patient_ins(monde.usager)]},
                        "request": {"method": "POST", "url": "Patient"},
                    },
                ],
            },
        )
    modifiee = Note.objects.select_related("usager", "reponse_a", "auteur_structure").get(pk=modifiee.pk)
    ressource = fhir.note_vers_documentreference(modifiee)
    ressource["type"]["coding"][0]["code"] = "INST"
    ressource["author"] = appelant.auteurs()
    del ressource["meta"]
    return "PUT", f"/fhir/DocumentReference/{modifiee.uuid}", ressource


def test_nombre_de_cas_de_la_matrice(record_property):
    record_property("cas_matrice_cahier_fhir", CAS_FHIR)
    record_property("cas_matrice_cahier_rest", CAS_REST)
    print(f"Matrice du cahier : FHIR {CAS_FHIR} cas, REST {CAS_REST} cas")  # noqa: T201
    assert (CAS_FHIR, CAS_REST) == (483, 570)


@pytest.mark.parametrize("nom", ACTEURS_FHIR)
def test_matrice_fhir_documentreference(client, nom):
    monde = construire_monde_api()
    cibles = _cibles_fhir(monde)
    appelant = Appelant(client, monde, nom)
    for interaction in INTERACTIONS:
        for visibilite in VISIBILITES:
            lue, modifiee = cibles[visibilite]

            def cas(interaction=interaction, visibilite=visibilite, lue=lue, modifiee=modifiee):
                methode, chemin, corps = _requete_fhir(
                    appelant, monde, interaction, visibilite, lue, modifiee
                )
                avant = _etat()
                lectures = Evenement.objects.filter(action="fhir.documentreference.lecture").count()
                reponse = appelant.fhir(methode, chemin, corps)
                statut = attendu_fhir(nom, interaction, visibilite)
                contexte = (nom, interaction, visibilite)
                try:
                    _verifier(reponse, statut, avant, fhir_json=True)
                except AssertionError as erreur:
                    raise AssertionError(f"{contexte} : {erreur}") from None
                if statut >= 400:
                    assert (
                        Evenement.objects.filter(action="fhir.documentreference.lecture").count() == lectures
                    )
                    return
                contenu = reponse.json()
                if interaction == "search":
                    ids = {e["resource"]["id"] for e in contenu.get("entry", [])}
                    voit = DROITS[nom][0] >= 1 and visibilite in DROITS[nom][1]
                    assert (str(lue.uuid) in ids) is voit, contexte
                elif interaction in ("read", "vread", "history-instance"):
                    assert (
                        Evenement.objects.filter(
                            action="fhir.documentreference.lecture", usager_uuid=monde.usager.uuid
                        ).count()
                        > lectures
                    ), contexte
                elif interaction in ("create", "transaction"):
                    assert _etat()[0] == avant[0] + 1, contexte
                    nouvelle = Note.objects.order_by("-id").first()
                    assert nouvelle.visibilite == visibilite
                    assert nouvelle.auteur_exercice == appelant.exercice, contexte
                else:
                    modifiee.refresh_from_db()
                    assert (modifiee.type, modifiee.version) == ("INST", 2), contexte

            _dans_un_point_de_sauvegarde(cas)


# --- REST -----------------------------------------------------------------------------------------


def _requete_rest(monde, route: str, visibilite: str, note: Note):
    base = f"/api/v1/usagers/{monde.usager.uuid}/cahier/"
    chemin_note = f"{base}notes/{note.uuid}/"
    ide = str(monde.membres["ide"].uuid)
    return {
        "liste": ("GET", f"{base}notes/", None),
        "note": ("GET", chemin_note, None),
        "creation": (
            "POST", f"{base}notes/",
            {"type": "OBS", "survenue_le": note.survenue_le.isoformat(), "texte": "Nouvelle note.",
             "visibilite": visibilite},
        ),
        "modification": ("PATCH", chemin_note, {"version": 1, "type": "INST"}),
        "desactivation": ("POST", f"{chemin_note}desactivation/", {"motif": "Mauvais dossier."}),
        "demande_accuse": ("POST", f"{chemin_note}demande-accuse/", {"destinataires": [ide]}),
        "accuse": ("POST", f"{chemin_note}accuse/", {}),
        "alerte": ("POST", f"{chemin_note}alerte/", {"destinataires": [ide]}),
        "non_lus": ("GET", f"{base}non-lus/", None),
        "lecture": ("POST", f"{base}lecture/", {}),
    }[route]  # fmt: skip


@pytest.mark.parametrize("nom", ACTEURS_REST)
def test_matrice_rest_cahier(client, nom):
    monde = construire_monde_api()
    notes = {v: note_de(monde, "medecin", visibilite=v, texte=f"Note {v or 'tous'}.") for v in VISIBILITES}
    appelant = Appelant(client, monde, nom)
    systeme = acteur_systeme("tests de la matrice")
    for route in ROUTES:
        for visibilite in VISIBILITES:
            note = notes[visibilite]

            def cas(route=route, visibilite=visibilite, note=note):
                if route == "accuse":
                    services.demander_accuse(acteur=systeme, note=note, destinataires=[monde.membres["ide"]])
                methode, chemin, corps = _requete_rest(monde, route, visibilite, note)
                avant = _etat()
                reponse = appelant.rest(methode, chemin, corps)
                statut = attendu_rest(nom, route, visibilite)
                contexte = (nom, route, visibilite)
                try:
                    _verifier(reponse, statut, avant, fhir_json=False)
                except AssertionError as erreur:
                    raise AssertionError(f"{contexte} : {erreur}") from None
                if statut >= 400:
                    return
                contenu = reponse.json()
                if route == "liste":
                    uuids = {n["uuid"] for n in contenu["resultats"]}
                    assert (str(note.uuid) in uuids) is (visibilite in DROITS[nom][1]), contexte
                elif route == "note":
                    assert contenu["uuid"] == str(note.uuid)
                    assert Evenement.objects.filter(
                        action="cahier.note.lecture", objet_uuid=note.uuid
                    ).exists()
                elif route == "creation":
                    assert _etat()[0] == avant[0] + 1 and contenu["visibilite"] == visibilite
                elif route == "modification":
                    assert contenu["type"] == "INST" and contenu["version"] == 2
                elif route == "desactivation":
                    assert contenu["active"] is False
                elif route in ("demande_accuse", "alerte"):
                    assert _etat()[4] == avant[4] + 1
                elif route == "accuse":
                    assert _etat()[5] == avant[5] + 1
                elif route == "lecture":
                    assert _etat()[6] == avant[6] + 1 or Lecture.objects.exists()

            _dans_un_point_de_sauvegarde(cas)


def test_visibilites_de_la_matrice():
    """Garde-fou : les trois visibilités et les audiences du logiciel sont celles de l'ADR 0016."""
    assert VISIBILITES == [TOUS, SANS_USAGER, SANTE]
    assert DROITS["dui_plateforme"] == (2, PROS)
