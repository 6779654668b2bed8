"""Le pair FHIR du bac à sable vérifie ce qu'il reçoit comme le DMP et Mon espace santé : lot
ITI-65 et Appointment mal formés refusés avec leur raison (OperationOutcome en français), jeton
d'appariement exigé et limité à sa personne, dédoublonnage sur la clé, pannes commandées, état
gardé à travers un redémarrage sur le même port."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest
import requests

from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401

MATRICULE = "279035121518989"
AUTRE_MATRICULE = "184127645108946"
OID_TEST = "1.2.250.1.213.1.4.10"
PDF = b"%PDF-1.7\n% projet personnalise\n"


@pytest.fixture
def pair(pair_fhir_neuf):  # noqa: F811
    return pair_fhir_neuf


def _ins(matricule=MATRICULE) -> dict:
    return {"system": f"urn:oid:{OID_TEST}", "value": matricule}


def lot(cle="cle-1", identifiant="urn:oid:2.25.1", octets=PDF, remplace="") -> dict:
    reference = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": identifiant},
        "status": "current",
        "subject": {"identifier": _ins()},
        "date": "2026-12-04T10:00:00+00:00",
        "author": [{"display": "SSIAD des Tilleuls"}],
        "custodian": {"display": "SSIAD des Tilleuls"},
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": "urn:uuid:00000000-0000-4000-8000-000000000002",
                    "size": len(octets),
                    "hash": base64.b64encode(hashlib.sha1(octets, usedforsecurity=False).digest()).decode(),
                    "title": "Projet personnalisé — version 1",
                }
            }
        ],
        "context": {"period": {"start": "2026-12-04T10:00:00+00:00"}},
    }
    if remplace:
        reference["relatesTo"] = [{"code": "replaces", "target": {"identifier": {"value": remplace}}}]
    soumis = {
        "resourceType": "List", "status": "current", "mode": "working",
        "code": {"coding": [{"system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                             "code": "submissionset"}]},
        "subject": {"identifier": _ins()},
    }  # fmt: skip
    binaire = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "data": base64.b64encode(octets).decode(),
    }
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:test", "value": cle},
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000000", "resource": soumis,
             "request": {"method": "POST", "url": "List"}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": reference,
             "request": {"method": "POST", "url": "DocumentReference"}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002", "resource": binaire,
             "request": {"method": "POST", "url": "Binary"}},
        ],
    }  # fmt: skip


def rendez_vous(valeur="rdv-1", matricule=MATRICULE, statut="booked") -> dict:
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": "urn:test:rdv", "value": valeur}],
        "status": statut,
        "start": "2026-12-10T09:00:00+01:00",
        "end": "2026-12-10T10:00:00+01:00",
        "participant": [{"actor": {"type": "Patient", "identifier": _ins(matricule)}, "status": "accepted"}],
    }


def _document(reference: dict) -> dict:
    return next(
        e["resource"] for e in reference["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    )


def _diagnostic(reponse) -> str:
    corps = reponse.json()
    assert corps["resourceType"] == "OperationOutcome"
    return corps["issue"][0]["diagnostics"]


def test_depot_valide_range_avec_ins_et_empreinte(pair):
    reponse = requests.post(pair.url_dmp, json=lot(), timeout=5)
    assert reponse.status_code == 200, reponse.text
    assert reponse.json()["entry"][0]["response"]["location"].startswith("DocumentReference/")
    document = pair.recus()["documents"]["urn:oid:2.25.1"]
    assert (document["matricule"], document["systeme_ins"]) == (MATRICULE, f"urn:oid:{OID_TEST}")
    assert document["sha1"] == base64.b64encode(hashlib.sha1(PDF, usedforsecurity=False).digest()).decode()
    assert document["statut"] == "current"


def _casser(chemin: str):
    def casser(bundle):
        reference = _document(bundle)
        if chemin == "taille":
            reference["content"][0]["attachment"]["size"] += 1
        elif chemin == "empreinte":
            reference["content"][0]["attachment"]["hash"] = base64.b64encode(b"x" * 20).decode()
        elif chemin == "ins":
            reference["subject"]["identifier"]["system"] = "urn:oid:1.2.250.1.213.1.4.2"
        elif chemin == "periode":
            del reference["context"]
        elif chemin == "gardien":
            del reference["custodian"]
        elif chemin == "type":
            bundle["type"] = "collection"
        elif chemin == "soumission":
            bundle["entry"].pop(0)
        elif chemin == "structure":
            reference["status"] = 12
        return bundle

    return casser


@pytest.mark.parametrize(
    ("cas", "attendu"),
    [
        ("taille", "taille déclarée"),
        ("empreinte", "SHA-1"),
        ("ins", "INS"),
        ("periode", "context.period.start"),
        ("gardien", "custodian"),
        ("type", "transaction"),
        ("soumission", "SubmissionSet"),
        ("structure", "Bundle invalide (entry.1.resource.status)"),
    ],
    ids=["taille", "empreinte", "ins", "periode", "gardien", "type", "soumission", "structure"],
)
def test_lot_mal_forme_refuse_avec_sa_raison(pair, cas, attendu):
    reponse = requests.post(pair.url_dmp, json=_casser(cas)(lot()), timeout=5)
    assert 400 <= reponse.status_code < 500
    assert attendu in _diagnostic(reponse)
    assert pair.recus()["documents"] == {}


def test_remplacement_rend_l_ancien_superseded(pair):
    requests.post(pair.url_dmp, json=lot(), timeout=5).raise_for_status()
    requests.post(
        pair.url_dmp, json=lot("cle-2", "urn:oid:2.25.2", remplace="urn:oid:2.25.1"), timeout=5
    ).raise_for_status()
    documents = pair.recus()["documents"]
    assert documents["urn:oid:2.25.1"]["statut"] == "superseded"
    assert documents["urn:oid:2.25.2"]["statut"] == "current"
    inconnu = requests.post(
        pair.url_dmp, json=lot("cle-3", "urn:oid:2.25.3", remplace="urn:oid:2.25.9"), timeout=5
    )
    assert inconnu.status_code == 422 and "introuvable" in _diagnostic(inconnu)


def test_lot_renvoye_range_une_fois_et_compte_deux_receptions(pair):
    premiere = requests.post(pair.url_dmp, json=lot(), timeout=5).json()
    seconde = requests.post(pair.url_dmp, json=lot(), timeout=5).json()
    assert premiere == seconde
    assert len(pair.recus()["documents"]) == 1
    assert pair.receptions("cle-1") == 2


def test_mes_exige_un_jeton(pair):
    sans = requests.post(f"{pair.url_mes}/Appointment", json=rendez_vous(), timeout=5)
    assert sans.status_code == 401 and "Jeton" in _diagnostic(sans)
    faux = requests.get(f"{pair.url_mes}/Appointment", headers={"Authorization": "Bearer faux"}, timeout=5)
    assert faux.status_code == 401


def test_un_jeton_ne_touche_que_sa_personne(pair):
    jeton = pair.apparier(MATRICULE, OID_TEST)
    autre = pair.apparier(AUTRE_MATRICULE, OID_TEST)
    entetes = {"Authorization": f"Bearer {autre}"}
    refuse = requests.post(f"{pair.url_mes}/Appointment", json=rendez_vous(), headers=entetes, timeout=5)
    assert refuse.status_code == 403 and "personne" in _diagnostic(refuse)
    pair.saisir_dans_mes(jeton, rendez_vous())
    ecrase = requests.put(
        f"{pair.url_mes}/Appointment?identifier=urn:test:rdv|rdv-1",
        json=rendez_vous(matricule=AUTRE_MATRICULE), headers=entetes, timeout=5,
    )  # fmt: skip
    assert ecrase.status_code == 403
    vus = requests.get(f"{pair.url_mes}/Appointment", headers=entetes, timeout=5).json()
    assert vus["total"] == 0


def test_creation_conditionnelle_dedoublonne(pair):
    jeton = pair.apparier(MATRICULE, OID_TEST)
    entetes = {"Authorization": f"Bearer {jeton}", "If-None-Exist": "identifier=urn:test:rdv|rdv-1"}
    url = f"{pair.url_mes}/Appointment"
    premier = requests.post(url, json=rendez_vous(), headers=entetes, timeout=5)
    second = requests.post(url, json=rendez_vous(), headers=entetes, timeout=5)
    assert (premier.status_code, second.status_code) == (201, 200)
    assert premier.json()["id"] == second.json()["id"]
    assert len(pair.recus()["rendez_vous"]) == 1
    assert pair.receptions("urn:test:rdv|rdv-1") == 2


def test_rendez_vous_mal_forme_refuse(pair):
    jeton = pair.apparier(MATRICULE, OID_TEST)
    entetes = {"Authorization": f"Bearer {jeton}"}
    sans_fin = rendez_vous()
    del sans_fin["end"]
    reponse = requests.post(f"{pair.url_mes}/Appointment", json=sans_fin, headers=entetes, timeout=5)
    assert reponse.status_code == 422 and "fin" in _diagnostic(reponse)
    statut_inconnu = rendez_vous(statut="peut-etre")
    reponse = requests.post(f"{pair.url_mes}/Appointment", json=statut_inconnu, headers=entetes, timeout=5)
    assert reponse.status_code == 422 and "peut-etre" in _diagnostic(reponse)
    sans_patient = rendez_vous()
    sans_patient["participant"] = [{"actor": {"display": "Dr Martin"}, "status": "accepted"}]
    reponse = requests.post(f"{pair.url_mes}/Appointment", json=sans_patient, headers=entetes, timeout=5)
    assert reponse.status_code == 422 and "participant Patient" in _diagnostic(reponse)
    assert pair.recus()["rendez_vous"] == {}


def test_panne_lenteur_et_redemarrage(pair):
    pair.regler("panne")
    reponse = requests.post(pair.url_dmp, json=lot(), timeout=5)
    assert reponse.status_code == 503 and reponse.headers["Retry-After"] == "1"
    pair.regler("lent", 1.0)
    with pytest.raises(requests.Timeout):
        requests.post(pair.url_dmp, json=lot(), timeout=0.3)
    pair.regler("coupure")
    with pytest.raises(requests.ConnectionError):
        requests.post(pair.url_dmp, json=lot(), timeout=5)
    pair.regler("normal")
    assert pair.recus()["documents"] == {}
    requests.post(pair.url_dmp, json=lot("cle-2", "urn:oid:2.25.2"), timeout=5).raise_for_status()
    port = pair.port
    pair.redemarrer()
    assert pair.port == port
    assert "urn:oid:2.25.2" in pair.recus()["documents"]
    pair.arreter()
    with pytest.raises(requests.ConnectionError):
        requests.post(pair.url_dmp, json=copy.deepcopy(lot()), timeout=2)
