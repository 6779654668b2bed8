"""Jamais d'erreur 500 sur une entrée mal formée : corps, paramètres et en-têtes malveillants ou
maladroits donnent tous une réponse 4xx en OperationOutcome."""

import json
import uuid

import pytest

from coordination.fhir.registre import registre
from coordination.fhir.versions import RessourceEnVersions
from tests.factories import StructureFactory
from tests.fhir_outils import appel, logiciel, oo

pytestmark = pytest.mark.django_db


class Basique(RessourceEnVersions):
    type = "Basic"


@pytest.fixture(autouse=True)
def ressource_de_test():
    with registre.temporairement(Basique):
        yield


@pytest.fixture
def jeton(client):
    return logiciel(client)[1]


ENORME = "x" * 3_000_000  # au-delà de DATA_UPLOAD_MAX_MEMORY_SIZE (2,5 Mo) : 413

CORPS = [
    "",
    "   ",
    "null",
    "[]",
    "[1, 2, 3]",
    '"texte"',
    "42",
    "true",
    "{",
    '{"resourceType": "Basic",}',
    "\ufeff{}",
    "{}",
    '{"resourceType": null}',
    '{"resourceType": 12}',
    '{"resourceType": ["Basic"]}',
    '{"resourceType": "basic"}',
    '{"resourceType": "Licorne"}',
    '{"resourceType": "Basic"}',  # code 1..1 manquant
    '{"resourceType": "Basic", "code": "texte"}',
    '{"resourceType": "Basic", "code": {"text": 12}}',
    '{"resourceType": "Basic", "code": {"coding": {"code": "x"}}}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "created": "2024-02-30"}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "created": "hier"}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "created": "99999-01-01"}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "inconnu": 1}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "id": "a/b"}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "meta": {"lastUpdated": "demain"}}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": 1}]}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"valueString": "sans url"}]}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "subject": {"reference": {"a": 1}}}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "contained": [{"resourceType": "Licorne"}]}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "text": {"status": "generated", "div": 3}}',
    '{"resourceType": "Basic", "code": {"text": "\\ud800"}}',
    '{"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": "x", "valueDecimal": 1e400}]}',
    json.dumps(
        {"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": "x", "valueInteger": 2**70}]}
    ),
    json.dumps({"resourceType": "Basic", "code": {"text": ENORME}}),
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    '{"resourceType": "Basic", "code": {}}',
    '{"resourceType": "Basic", "code": {"text": "x\\u0000y"}}',
]

# Acceptés (201) : valeurs que fhir.resources convertit (pydantic en mode souple) ou simplement
# volumineuses ; l'exigence est seulement de ne jamais répondre 500.
TOLERES = [
    '{"resourceType": "Basic", "code": {"text": "x"}, "identifier": [{"period": {"start": 5}}]}',
    json.dumps({"resourceType": "Basic", "code": {"text": "x"}, "identifier": [{"value": "v"}] * 5000}),
    json.dumps({"resourceType": "Basic", "code": {"text": "x" * 300_000}}),
]

BASIQUE = {"resourceType": "Basic", "code": {"text": "x"}}


def _transaction(*entrees, type_bundle="transaction"):
    return {"resourceType": "Bundle", "type": type_bundle, "entry": list(entrees)}


def _entree(methode="POST", url="Basic", ressource=BASIQUE, **autres):
    return {"resource": ressource, "request": {"method": methode, "url": url}, **autres}


BUNDLES = [
    {"resourceType": "Bundle"},
    {"resourceType": "Bundle", "type": "transaction", "entry": "pas une liste"},
    _transaction({"fullUrl": "urn:uuid:1"}),
    _transaction({"request": {"method": "POST"}}),
    _transaction({"request": {"method": "PATCH", "url": "Basic/1"}}),
    _transaction({"request": {"method": "POST", "url": "Basic"}}),
    _transaction(_entree(ressource={"resourceType": "Basic", "code": {}})),
    _transaction(_entree(url="")),
    _transaction(_entree(url="/")),
    _transaction(_entree("PUT", "Basic/a/b/c")),
    _transaction(
        {"resource": {**BASIQUE, "id": "x"}, "request": {"method": "PUT", "url": "Basic/x", "ifMatch": "W/"}}
    ),
    _transaction(_entree(fullUrl=3)),
    _transaction(*[_entree()] * 201),
    _transaction(type_bundle="transaction-response"),
]

PARAMETRES = [
    "_count=1e3",
    "_count=99999999999999",
    "_count=",
    "_sort=",
    "_sort=-",
    "_sort=name,,",
    "_include=",
    "_include=Organization",
    "_include=Organization:name:extra:plus",
    "_include:iterate=Licorne:x",
    "name:=x",
    "name:exact:contains=x",
    ":=x",
    "=x",
    ".=x",
    "organization.=x",
    "name..x=1",
    "_lastUpdated=2024-02-30",
    "_lastUpdated=gt",
    "_lastUpdated=2024-01-01T25:00",
    "_lastUpdated=2024-01-01T10:00+99:00",
    "_lastUpdated=eq2024-01-01T10:00:00.1234567Z",
    "_lastUpdated=9999-12-31T23:59:59Z",
    "_lastUpdated=0000",
    "identifier=|",
    "identifier=\\",
    "identifier=a\\,b",
    "_id=%00",
    "name=%00",
    "name=%FF%FE",
    "identifier=%00|%00",
    "_curseur=" + "A" * 400,
    "_curseur=.:.",
    "_total=",
    "_summary=text",
    "_elements=id",
    "active=peut-etre",
    "type=" + "x" * 501,
    "&".join(f"name=x{i}" for i in range(60)),
    "_has:PractitionerRole:organization:role=60",
    "_revinclude=PractitionerRole:organization",
]


def _acceptable(reponse, chemin):
    assert reponse.status_code < 500, (chemin, reponse.status_code, reponse.content[:300])
    if reponse.status_code >= 400:
        oo(reponse, reponse.status_code)


@pytest.mark.parametrize("corps", CORPS + TOLERES, ids=range(len(CORPS + TOLERES)))
def test_corps_mal_formes_creation_et_mise_a_jour(client, jeton, corps):
    reponse = appel(client, "POST", "/fhir/Basic", jeton, corps)
    assert 400 <= reponse.status_code < 500 or corps in TOLERES, reponse.status_code
    _acceptable(reponse, "POST")
    identifiant = uuid.uuid4()
    _acceptable(appel(client, "PUT", f"/fhir/Basic/{identifiant}", jeton, corps), "PUT")
    _acceptable(appel(client, "POST", "/fhir/", jeton, corps), "POST /fhir/")


def test_corps_vide_400(client, jeton):
    assert "vide" in oo(appel(client, "POST", "/fhir/Basic", jeton, ""), 400)["issue"][0]["diagnostics"]


@pytest.mark.parametrize("bundle", BUNDLES, ids=range(len(BUNDLES)))
def test_bundles_mal_formes(client, jeton, bundle):
    reponse = appel(client, "POST", "/fhir/", jeton, bundle)
    assert 400 <= reponse.status_code < 500, reponse.content[:300]
    oo(reponse, reponse.status_code)


@pytest.mark.parametrize("requete", PARAMETRES, ids=range(len(PARAMETRES)))
def test_parametres_de_recherche_mal_formes(client, jeton, requete):
    StructureFactory()
    for chemin in ("/fhir/Organization", "/fhir/PractitionerRole", "/fhir/Practitioner"):
        _acceptable(appel(client, "GET", f"{chemin}?{requete}", jeton), f"{chemin}?{requete}")


@pytest.mark.parametrize(
    "en_tetes",
    [
        {"HTTP_ACCEPT": ""},
        {"HTTP_ACCEPT": ";;;,,,"},
        {"HTTP_ACCEPT": "text/html"},
        {"HTTP_PREFER": "return"},
        {"HTTP_PREFER": ";=;="},
        {"HTTP_IF_MATCH": "W/"},
        {"HTTP_IF_MATCH": '"' * 3},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 5000},
        {"HTTP_AUTHORIZATION": "Bearer \x00"},
        {"CONTENT_TYPE": "application/fhir+json; charset=latin-1"},
    ],
)
def test_en_tetes_etranges(client, jeton, en_tetes):
    en_tetes = {"HTTP_AUTHORIZATION": f"Bearer {jeton}", **en_tetes}
    identifiant = str(uuid.uuid4())
    corps = json.dumps({"resourceType": "Basic", "id": identifiant, "code": {"text": "é"}})
    for methode, chemin, donnees in [
        ("get", "/fhir/Organization", None),
        ("post", "/fhir/Basic", corps),
        ("put", f"/fhir/Basic/{identifiant}", corps),
    ]:
        kwargs = dict(en_tetes)
        content_type = kwargs.pop("CONTENT_TYPE", "application/fhir+json")
        if donnees is not None:
            reponse = getattr(client, methode)(chemin, donnees, content_type=content_type, **kwargs)
        else:
            reponse = getattr(client, methode)(chemin, **kwargs)
        _acceptable(reponse, chemin)


@pytest.mark.parametrize(
    "chemin",
    ["/fhir/Basic/" + "a" * 65, "/fhir/Basic/%00", "/fhir/Basic/..", "/fhir/_history",
     "/fhir/Basic/x/_history/" + "9" * 30,
     "/fhir/Basic/00000000-0000-0000-0000-000000000000/_history/99999999999",
     "/fhir/%C3%A9", "/fhir/Basic//"],
)  # fmt: skip
def test_adresses_etranges(client, jeton, chemin):
    _acceptable(appel(client, "GET", chemin, jeton), chemin)


def test_corps_trop_volumineux_413(client, jeton, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    corps = json.dumps({"resourceType": "Basic", "code": {"text": "x" * 2000}})
    oo(appel(client, "POST", "/fhir/Basic", jeton, corps), 413)


# --- CareTeam du cercle : même exigence, jusqu'au fond de la correspondance et des services --------


def _careteam_de(usager, **autres):
    return {
        "resourceType": "CareTeam",
        "status": "active",
        "subject": {"reference": f"Patient/{usager.uuid}"},
        **autres,
    }


def _membre(reference=None, debut="2020-01-01", **autres):
    element = {"member": {"reference": reference} if reference else autres}
    element["period"] = {"start": debut} if debut else {}
    return element


def _careteams_hostiles(usager) -> list:
    inconnu = str(uuid.uuid4())
    nir = "urn:oid:1.2.250.1.213.1.4.8"
    return [
        {"resourceType": "CareTeam"},
        _careteam_de(usager, subject={"reference": "Patient/"}),
        _careteam_de(usager, subject={"reference": "Patient/../../etc/passwd"}),
        _careteam_de(usager, subject={"identifier": {"system": nir, "value": "x" * 500}}),
        _careteam_de(usager, subject={"reference": f"Organization/{inconnu}"}),
        _careteam_de(usager, participant=[_membre("PractitionerRole/" + "9" * 5000)]),
        _careteam_de(usager, participant=[_membre(f"RelatedPerson/{inconnu}")]),
        _careteam_de(usager, participant=[_membre(f"Practitioner/{inconnu}")]),
        _careteam_de(usager, participant=[_membre("Organization")]),
        _careteam_de(usager, participant=[_membre("urn:uuid:" + inconnu)]),
        _careteam_de(usager, participant=[_membre(type="PractitionerRole", identifier={
            "system": "https://rpps.esante.gouv.fr", "value": "1" * 300})]),
        _careteam_de(usager, participant=[_membre(type="RelatedPerson", identifier={"value": "é" * 100})]),
        _careteam_de(usager, participant=[_membre(f"Organization/{inconnu}", debut="0001-01-01")]),
        _careteam_de(usager, participant=[_membre(f"Organization/{inconnu}", debut="2020-01-01T25:00:00Z")]),
        _careteam_de(usager, participant=[{"member": {"reference": f"Organization/{inconnu}"},
                                           "period": {"start": "2020-01-02", "end": "2020-01-01"}}]),
        _careteam_de(usager, participant=[{"member": {"reference": f"Organization/{inconnu}"}}]),
        _careteam_de(usager, participant=[{"role": [{"coding": [{"code": "PCP"}]}]}]),
        _careteam_de(usager, managingOrganization=[{"identifier": {"system": "https://finess.esante.gouv.fr",
                                                                   "value": "%00"}}]),
        _careteam_de(usager, managingOrganization=[{"display": "sans référence"}, {"display": "deux"}]),
        _careteam_de(usager, period={"start": "9999-12-31"}, status="entered-in-error"),
        _careteam_de(usager, participant=[_membre(f"Organization/{inconnu}")] * 500),
    ]  # fmt: skip


@pytest.fixture
def cercle_gere(client):
    from cercle import services
    from cercle.models import TypeMembre
    from tests.factories import UsagerFactory
    from tests.monde_cercle import acteur_usager

    usager = UsagerFactory()
    cercle = services.creer_cercle(usager=usager)
    structure = StructureFactory()
    moi = acteur_usager(usager)
    membre = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.STRUCTURE, structure=structure
    )
    services.accorder(acteur=moi, membre=membre, domaine="cercle", niveau=3)
    return usager, cercle, logiciel(client, structure=structure)[1]


def test_careteams_hostiles_4xx_et_rien_d_ecrit(client, cercle_gere):
    from cercle.models import Cercle

    usager, cercle, jeton_dui = cercle_gere
    version = Cercle.objects.get(pk=cercle.pk).version
    for rang, careteam in enumerate(_careteams_hostiles(usager)):
        reponse = appel(client, "POST", "/fhir/CareTeam", jeton_dui, careteam)
        assert 400 <= reponse.status_code < 500, (rang, reponse.status_code, reponse.content[:300])
        oo(reponse, reponse.status_code)
        remplacement = {**careteam, "id": str(cercle.uuid)}
        _acceptable(appel(client, "PUT", f"/fhir/CareTeam/{cercle.uuid}", jeton_dui, remplacement), rang)
        bundle = _transaction(_entree("PUT", f"CareTeam/{cercle.uuid}", remplacement))
        _acceptable(appel(client, "POST", "/fhir/", jeton_dui, bundle), rang)
    assert Cercle.objects.get(pk=cercle.pk).version == version


@pytest.mark.parametrize("requete", PARAMETRES, ids=range(len(PARAMETRES)))
def test_parametres_mal_formes_sur_les_ressources_du_cercle(client, cercle_gere, requete):
    _, _, jeton_dui = cercle_gere
    for chemin in ("/fhir/CareTeam", "/fhir/Patient", "/fhir/RelatedPerson"):
        _acceptable(appel(client, "GET", f"{chemin}?{requete}", jeton_dui), f"{chemin}?{requete}")
    for requete_cercle in (
        "patient.identifier=|",
        "patient.name=x",
        "participant=Licorne/1",
        "participant:=x",
        "subject.identifier=urn:oid:1.2.250.1.213.1.4.8|%00",
        "_include:iterate=*&_include=*",
    ):
        _acceptable(appel(client, "GET", f"/fhir/CareTeam?{requete_cercle}", jeton_dui), requete_cercle)
