"""Réception de notes du cahier par lots : un Bundle `transaction` de plusieurs DocumentReference
(avec le PractitionerRole et le Practitioner de leur auteur, partagés) écrit en tout ou rien, en un
nombre de requêtes qui ne dépend pas du nombre de notes ; rejeu idempotent ; une entrée refusée
(contenu invalide, usager hors du cercle, identifiant en double) est nommée et rien n'est écrit."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cahier_liaison.models import EvenementCahier, Note
from coordination.journal.models import Evenement
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_cahier_fhir import construire_monde_api, document_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_api()


@pytest.fixture
def dui(client, monde):
    return logiciel(client, structure=monde.plateforme)[1]


def bundle_lot(monde, nombre: int, *, prefixe: str = "lot", usagers=None, champs=None) -> dict:
    """Un Bundle transaction de `nombre` notes de l'infirmière de la plateforme : ses PractitionerRole
    et Practitioner une fois, cités par toutes les notes (références internes urn:uuid)."""
    exercice = monde.ide_plateforme
    role, pro = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    entrees = []
    for rang in range(nombre):
        usager = (usagers or {}).get(rang, monde.usager)
        note = document_reference(
            usager, identifiant=f"{prefixe}-{rang}", auteurs=[{"reference": role}, {"reference": pro}],
            texte=f"Passage n° {rang} : rien à signaler.", **(champs or {}).get(rang, {}),
        )  # fmt: skip
        entrees.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": note,
                        "request": {"method": "POST", "url": "DocumentReference"}})  # fmt: skip
    entrees += [
        {
            "fullUrl": role,
            "resource": {
                "resourceType": "PractitionerRole",
                "practitioner": {"reference": pro},
                "organization": {"reference": f"Organization/{exercice.structure.uuid}"},
            },
            "request": {"method": "POST", "url": "PractitionerRole"},
        },
        {
            "fullUrl": pro,
            "resource": {
                "resourceType": "Practitioner",
                "identifier": [
                    {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": exercice.professionnel.idnat_ps}
                ],
            },
            "request": {"method": "POST", "url": "Practitioner"},
        },
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entrees}


def _poster(client, jeton, bundle):
    return appel(client, "POST", "/fhir/", jeton, bundle)


def _requetes(client, jeton, bundle) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as requetes:
        reponse = _poster(client, jeton, bundle)
    assert reponse.status_code == 200, reponse.content[:500]
    return len(requetes), reponse


def test_lot_de_100_notes_en_nombre_de_requetes_constant(client, monde, dui):
    _poster(client, dui, bundle_lot(monde, 1, prefixe="chauffe"))  # caches de l'application
    petit, _ = _requetes(client, dui, bundle_lot(monde, 5, prefixe="petit"))
    grand, reponse = _requetes(client, dui, bundle_lot(monde, 100, prefixe="grand"))
    assert grand == petit, f"{petit} requêtes pour 5 notes, {grand} pour 100"
    assert grand <= 20
    statuts = [e["response"]["status"] for e in reponse.json()["entry"]]
    assert statuts == ["201 Created"] * 100 + ["200 OK", "200 OK"]
    notes = Note.objects.filter(master_identifier__startswith="grand-")
    assert notes.count() == 100
    assert set(notes.values_list("auteur_exercice", flat=True)) == {monde.ide_plateforme.pk}
    # Un événement de journal et un événement à notifier par note, chaîne du journal continue.
    ecritures = Evenement.objects.filter(action="cahier.note.ecriture", objet_uuid__in=notes.values("uuid"))
    assert ecritures.count() == 100
    assert EvenementCahier.objects.filter(note__in=notes, nature="nouvelle_note").count() == 100
    evenements = list(Evenement.objects.order_by("id"))
    for precedent, suivant in zip(evenements, evenements[1:], strict=False):
        assert suivant.empreinte_precedente == precedent.empreinte
    locations = {e["response"]["location"].split("/")[1] for e in reponse.json()["entry"][:100]}
    assert locations == {str(u) for u in notes.values_list("uuid", flat=True)}


def test_lot_rejoue_idempotent_rien_en_double(client, monde, dui):
    bundle = bundle_lot(monde, 30, prefixe="rejeu")
    premier = _poster(client, dui, bundle)
    journal = Evenement.objects.count()
    second = _poster(client, dui, bundle)
    assert premier.status_code == second.status_code == 200
    assert [e["response"]["status"] for e in second.json()["entry"][:30]] == ["200 OK"] * 30
    assert [e["response"]["location"] for e in premier.json()["entry"]] == [
        e["response"]["location"] for e in second.json()["entry"]
    ]
    assert Note.objects.count() == 30 and EvenementCahier.objects.count() == 30
    assert Evenement.objects.filter(action="cahier.note.ecriture").count() == 30
    assert Evenement.objects.count() == journal
    # Un lot en partie déjà reçu : les nouvelles seules sont écrites.
    plus = bundle_lot(monde, 35, prefixe="rejeu")
    statuts = [e["response"]["status"] for e in _poster(client, dui, plus).json()["entry"][:35]]
    assert statuts == ["200 OK"] * 30 + ["201 Created"] * 5
    assert Note.objects.count() == 35


def test_entree_fautive_au_milieu_rien_ecrit(client, monde, dui):
    bundle = bundle_lot(monde, 40, champs={17: {"type_note": "INCONNU"}})
    contenu = oo(_poster(client, dui, bundle), 422)
    probleme = contenu["issue"][0]
    assert probleme["diagnostics"].startswith("Bundle.entry[17] : ")
    assert "J23" in probleme["diagnostics"]
    assert probleme["expression"] == ["Bundle.entry[17].DocumentReference.type"]
    assert Note.objects.count() == 0 and EvenementCahier.objects.count() == 0
    assert not Evenement.objects.filter(action="cahier.note.ecriture").exists()


def test_date_future_au_milieu_refusee_par_le_service_rien_ecrit(client, monde, dui):
    futur = {"date": timezone.now() + datetime.timedelta(days=2)}
    contenu = oo(_poster(client, dui, bundle_lot(monde, 12, champs={9: futur})), 422)
    assert contenu["issue"][0]["diagnostics"].startswith("Bundle.entry[9] : ")
    assert "futur" in contenu["issue"][0]["diagnostics"]
    assert Note.objects.count() == 0


def test_usager_hors_du_cercle_dans_un_lot_refuse_rien_ecrit(client, monde, dui):
    bundle = bundle_lot(monde, 25, usagers={12: monde.autre_usager})
    contenu = oo(_poster(client, dui, bundle), 422)
    diagnostics = contenu["issue"][0]["diagnostics"]
    assert diagnostics.startswith("Bundle.entry[12] : ")
    assert "pas connu du portail pour vous" in diagnostics
    assert Note.objects.count() == 0 and EvenementCahier.objects.count() == 0
    assert not Evenement.objects.filter(action="cahier.note.ecriture").exists()


def test_meme_identifiant_deux_fois_dans_un_lot_refuse(client, monde, dui):
    bundle = bundle_lot(monde, 6)
    bundle["entry"][4]["resource"]["masterIdentifier"]["value"] = "lot-1"
    contenu = oo(_poster(client, dui, bundle), 422)
    assert contenu["issue"][0]["diagnostics"].startswith("Bundle.entry[4] : ")
    assert "deux fois" in contenu["issue"][0]["diagnostics"]
    assert Note.objects.count() == 0


def test_lot_croise_un_envoi_simultane_repris_note_par_note(monde, monkeypatch):
    """Un identifiant reçu par un autre envoi entre la lecture des identifiants et l'écriture : la
    contrainte unique refuse le lot, qui est repris note par note (la note déjà reçue est rendue,
    les autres écrites), sans double."""
    from cahier_liaison import services
    from coordination.comptes.acteur import acteur_systeme

    acteur = acteur_systeme("test des lots")

    def demande(identifiant):
        return {
            "acteur": acteur, "usager": monde.usager, "type": "OBS", "texte": f"Note {identifiant}.",
            "survenue_le": timezone.now() - datetime.timedelta(hours=1),
            "systeme_emetteur": "urn:oid:1.2.3", "master_identifier": identifiant,
        }  # fmt: skip

    premiere = services.ecrire_note(**demande("a"))
    reelle = services._deja_recues
    appels = []

    def en_retard(cles):  # la lecture du lot a précédé l'écriture de « a » par l'autre envoi
        appels.append(cles)
        return {} if len(appels) == 1 else reelle(cles)

    monkeypatch.setattr(services, "_deja_recues", en_retard)
    notes = services.ecrire_notes([demande("a"), demande("b")])
    assert notes[0].pk == premiere.pk and notes[0].deja_recue
    assert not getattr(notes[1], "deja_recue", False)
    assert Note.objects.filter(systeme_emetteur="urn:oid:1.2.3").count() == 2
    assert Evenement.objects.filter(action="cahier.note.ecriture").count() == 2
    assert EvenementCahier.objects.count() == 2


def test_reponse_a_une_note_du_meme_lot(client, monde, dui):
    """Une note qui répond à une note créée plus haut dans le même Bundle (référence urn:uuid) :
    le lot est coupé avant elle, la note d'origine est écrite d'abord."""
    bundle = bundle_lot(monde, 4)
    origine = bundle["entry"][0]["fullUrl"]
    bundle["entry"][2]["resource"]["relatesTo"] = [{"code": "appends", "target": {"reference": origine}}]
    reponse = _poster(client, dui, bundle)
    assert reponse.status_code == 200, reponse.content[:500]
    notes = {n.master_identifier: n for n in Note.objects.all()}
    assert len(notes) == 4
    assert notes["lot-2"].reponse_a == notes["lot-0"]
    assert notes["lot-1"].reponse_a is None
    assert EvenementCahier.objects.filter(nature="reponse", note=notes["lot-2"]).exists()
