"""API FHIR : routes × acteurs (anonyme, logiciel avec jeton, jeton expiré ou révoqué, portée
manquante, utilisateur connecté), négociation, erreurs, CapabilityStatement, lecture et recherche
de l'annuaire, pagination à nombre de requêtes constant, inclusions et recherches chaînées."""

import datetime
import uuid

import pytest
from django.utils import timezone
from freezegun import freeze_time
from oauth2_provider.models import AccessToken

from coordination.comptes.logiciels import revoquer_client
from coordination.fhir.validation import valider
from tests.factories import (
    CompteFactory,
    ExerciceFactory,
    ProfessionnelFactory,
    StructureFactory,
    compte_connectable,
    connecter,
)
from tests.fhir_outils import ADMIN, appel, logiciel, oo

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercice():
    return ExerciceFactory(
        structure=StructureFactory(
            raison_sociale="EHPAD Les Tilleuls", commune="Rennes", code_postal="35000"
        ),
        professionnel=ProfessionnelFactory(nom_exercice="MARTIN", prenom_exercice="Claire"),
    )


@pytest.fixture
def jeton(client):
    return logiciel(client)[1]


@pytest.fixture
def session_pro(client):
    compte = compte_connectable()
    ExerciceFactory(professionnel__compte=compte)
    return connecter(client, compte)


def _routes_lecture(exercice):
    return [
        f"/fhir/Organization/{exercice.structure.uuid}",
        "/fhir/Organization?name=EHPAD",
        f"/fhir/Practitioner/{exercice.professionnel.uuid}",
        "/fhir/Practitioner?family=MARTIN",
        f"/fhir/PractitionerRole/{exercice.uuid}",
        f"/fhir/PractitionerRole?organization=Organization/{exercice.structure.uuid}",
    ]


# --- Qui peut appeler ---------------------------------------------------------------------------


def test_metadata_publique_et_generee_depuis_le_registre(client):
    reponse = appel(client, "GET", "/fhir/metadata")
    assert reponse.status_code == 200
    assert reponse["Content-Type"] == "application/fhir+json; charset=utf-8"
    capacites = reponse.json()
    valider(capacites, type_attendu="CapabilityStatement")
    assert capacites["fhirVersion"] == "4.0.1"
    assert capacites["format"] == ["application/fhir+json", "json"]
    rest = capacites["rest"][0]
    securite = rest["security"]
    assert securite["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    assert securite["extension"][0]["extension"][0] == {
        "url": "token",
        "valueUri": "http://testserver/o/token/",
    }
    ressources = {r["type"]: r for r in rest["resource"]}
    assert {"Organization", "Practitioner", "PractitionerRole"} <= set(ressources)
    # Données d'usager : servies par le cercle (cercle/fhir_cercle.py), avec ses habilitations.
    assert [i["code"] for i in ressources["Patient"]["interaction"]] == ["read", "search-type"]
    careteam = ressources["CareTeam"]
    assert [i["code"] for i in careteam["interaction"]] == [
        "read", "vread", "update", "history-instance", "history-type", "create", "search-type"
    ]  # fmt: skip
    assert careteam["versioning"] == "versioned" and careteam["readHistory"] is True
    assert (
        careteam["profile"]
        == "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
    )
    assert {"CareTeam:patient", "CareTeam:subject", "CareTeam:participant"} == set(careteam["searchInclude"])
    assert {"identifier", "patient", "subject", "status", "participant", "_lastUpdated"} <= {
        p["name"] for p in careteam["searchParam"]
    }
    role = ressources["PractitionerRole"]
    assert [i["code"] for i in role["interaction"]] == ["read", "search-type"]
    assert (
        role["profile"]
        == "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitionerrole"
    )
    assert {"name": "organization", "type": "reference", "documentation": "La structure"} in role[
        "searchParam"
    ]
    assert {"name": "_lastUpdated", "type": "date", "documentation": "Date de dernière modification"} in role[
        "searchParam"
    ]
    assert role["searchInclude"] == ["PractitionerRole:practitioner", "PractitionerRole:organization"]
    assert {"code": "transaction"} in rest["interaction"]


def test_anonyme_401_avec_defi_bearer_sur_toutes_les_routes(client, exercice):
    routes = _routes_lecture(exercice) + [
        "/fhir/Patient/123",
        "/fhir/nimporte/quoi",
        "/fhir/Organization/_history",
    ]
    for chemin in routes:
        reponse = appel(client, "GET", chemin)
        oo(reponse, 401)
        assert reponse["WWW-Authenticate"] == 'Bearer realm="fhir"'
    for methode, chemin in [
        ("POST", "/fhir/"),
        ("POST", "/fhir/Organization"),
        ("PUT", f"/fhir/Organization/{uuid.uuid4()}"),
    ]:
        oo(appel(client, methode, chemin, corps={"resourceType": "Organization"}), 401)


def test_logiciel_avec_jeton_lit_l_annuaire(client, exercice, jeton):
    for chemin in _routes_lecture(exercice):
        reponse = appel(client, "GET", chemin, jeton)
        assert reponse.status_code == 200, (chemin, reponse.content[:300])
        assert reponse["Content-Type"].startswith("application/fhir+json")


def test_jeton_inconnu_expire_ou_revoque_401_invalid_token(client, exercice):
    client_logiciel, jeton_valide = logiciel(client)
    chemin = f"/fhir/Organization/{exercice.structure.uuid}"
    reponse = oo(appel(client, "GET", chemin, "jeton-invente"), 401)
    assert reponse["issue"][0]["code"] == "login"
    assert 'error="invalid_token"' in appel(client, "GET", chemin, "jeton-invente")["WWW-Authenticate"]
    with freeze_time(timezone.now() + datetime.timedelta(hours=2)):
        oo(appel(client, "GET", chemin, jeton_valide), 401)
    assert appel(client, "GET", chemin, jeton_valide).status_code == 200
    revoquer_client(acteur=ADMIN, client=client_logiciel)
    oo(appel(client, "GET", chemin, jeton_valide), 401)
    assert not AccessToken.objects.filter(application=client_logiciel.application).exists()


def test_schema_d_autorisation_autre_que_bearer_refuse(client, exercice):
    reponse = appel(client, "GET", "/fhir/Organization", HTTP_AUTHORIZATION="Basic dXRpbDptZHA=")
    oo(reponse, 401)


def test_portee_manquante_403(client, exercice):
    _, jeton_role = logiciel(client, portees=("system/PractitionerRole.read",))
    assert appel(client, "GET", f"/fhir/PractitionerRole/{exercice.uuid}", jeton_role).status_code == 200
    reponse = appel(client, "GET", f"/fhir/Organization/{exercice.structure.uuid}", jeton_role)
    contenu = oo(reponse, 403)
    assert contenu["issue"][0]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in reponse["WWW-Authenticate"]
    # Inclure une ressource d'un type non couvert par les portées : refusé aussi.
    oo(appel(client, "GET", "/fhir/PractitionerRole?_include=PractitionerRole:organization", jeton_role), 403)


def test_utilisateur_connecte_lit_mais_n_ecrit_pas(client, exercice, session_pro):
    for chemin in _routes_lecture(exercice):
        assert appel(client, "GET", chemin).status_code == 200, chemin
    oo(appel(client, "POST", "/fhir/Organization", corps={"resourceType": "Organization", "name": "X"}), 403)
    oo(appel(client, "POST", "/fhir/", corps={"resourceType": "Bundle", "type": "batch"}), 403)


def test_session_sans_second_facteur_401(client, exercice):
    compte = compte_connectable()
    client.force_login(compte)  # mot de passe seul, pas de code TOTP dans cette session
    oo(appel(client, "GET", f"/fhir/Organization/{exercice.structure.uuid}"), 401)


def test_session_qui_doit_choisir_sa_qualite_403(client, exercice):
    compte = compte_connectable()
    ExerciceFactory(professionnel__compte=compte)
    ExerciceFactory(professionnel=compte.professionnel)
    connecter(client, compte)
    contenu = oo(appel(client, "GET", f"/fhir/Organization/{exercice.structure.uuid}"), 403)
    assert "qualité" in contenu["issue"][0]["diagnostics"]


def test_compte_sans_personne_peut_lire_l_annuaire(client, exercice):
    connecter(client, compte_connectable())
    assert appel(client, "GET", f"/fhir/Organization/{exercice.structure.uuid}").status_code == 200


# --- Lecture ------------------------------------------------------------------------------------


def test_lecture_organization_en_tetes_et_contenu(client, exercice, jeton):
    structure = exercice.structure
    reponse = appel(client, "GET", f"/fhir/Organization/{structure.uuid}", jeton)
    assert reponse.status_code == 200
    assert "ETag" not in reponse  # ressource d'annuaire non versionnée
    assert reponse["Last-Modified"].endswith("GMT")
    organisation = reponse.json()
    valider(organisation, type_attendu="Organization")
    assert organisation["id"] == str(structure.uuid)
    assert organisation["meta"]["lastUpdated"].endswith("Z")
    assert {"system": "https://finess.esante.gouv.fr", "value": structure.finess_eg} == {
        k: organisation["identifier"][0][k] for k in ("system", "value")
    }


def test_introuvable_404(client, jeton):
    for chemin in (f"/fhir/Organization/{uuid.uuid4()}", "/fhir/Organization/pas-un-uuid"):
        contenu = oo(appel(client, "GET", chemin, jeton), 404)
        assert contenu["issue"][0]["code"] == "not-found"


def test_type_inconnu_404_et_route_inconnue_404(client, jeton):
    assert oo(appel(client, "GET", "/fhir/Observation", jeton), 404)["issue"][0]["code"] == "not-supported"
    assert oo(appel(client, "GET", "/fhir/Licorne/1", jeton), 404)["issue"][0]["code"] == "not-supported"
    assert (
        oo(appel(client, "GET", "/fhir/Organization/1/2/3/4/5", jeton), 404)["issue"][0]["code"]
        == "not-found"
    )
    oo(appel(client, "GET", "/fhir/organization", jeton), 404)


def test_interactions_non_prises_en_charge_405(client, exercice, jeton):
    structure = exercice.structure
    for methode, chemin in [
        ("GET", f"/fhir/Organization/{structure.uuid}/_history"),
        ("GET", f"/fhir/Organization/{structure.uuid}/_history/1"),
        ("GET", "/fhir/Organization/_history"),
    ]:
        assert oo(appel(client, methode, chemin, jeton), 405)["issue"][0]["code"] == "not-supported"
    oo(appel(client, "POST", "/fhir/Organization", jeton, {"resourceType": "Organization", "name": "X"}), 405)
    corps = {"resourceType": "Organization", "id": str(structure.uuid), "name": "X"}
    oo(appel(client, "PUT", f"/fhir/Organization/{structure.uuid}", jeton, corps), 405)
    reponse = appel(client, "DELETE", f"/fhir/Organization/{structure.uuid}", jeton)
    oo(reponse, 405)
    assert reponse["Allow"] == "GET, PUT"
    oo(appel(client, "GET", "/fhir/", jeton), 405)


# --- Négociation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept", ["application/fhir+json", "application/json", "*/*", "application/fhir+json; fhirVersion=4.0"]
)
def test_json_accepte(client, exercice, jeton, accept):
    reponse = appel(client, "GET", f"/fhir/Organization/{exercice.structure.uuid}", jeton, HTTP_ACCEPT=accept)
    assert reponse.status_code == 200


@pytest.mark.parametrize("format_demande", ["json", "application/json", "application/fhir+json"])
def test_format_json_accepte(client, exercice, jeton, format_demande):
    chemin = f"/fhir/Organization/{exercice.structure.uuid}?_format={format_demande}"
    assert appel(client, "GET", chemin, jeton, HTTP_ACCEPT="application/fhir+xml").status_code == 200


def test_xml_refuse_406_et_415(client, exercice, jeton):
    chemin = f"/fhir/Organization/{exercice.structure.uuid}"
    oo(appel(client, "GET", chemin, jeton, HTTP_ACCEPT="application/fhir+xml"), 406)
    oo(appel(client, "GET", f"{chemin}?_format=xml", jeton), 406)
    oo(appel(client, "GET", f"{chemin}?_format=turtle", jeton), 406)
    xml = '<Bundle xmlns="http://hl7.org/fhir"><type value="batch"/></Bundle>'
    oo(appel(client, "POST", "/fhir/", jeton, xml, content_type="application/fhir+xml"), 415)
    oo(appel(client, "POST", "/fhir/", jeton, "{}", content_type="text/plain"), 415)


# --- Recherche ------------------------------------------------------------------------------------


def test_recherche_organization_par_identifiants_et_nom(client, jeton):
    cible = StructureFactory(
        raison_sociale="SSIAD du Val", siret="73282932000074", code_postal="35700", commune="Rennes"
    )
    StructureFactory(raison_sociale="Autre structure", commune="Brest")

    def ids(requete):
        reponse = appel(client, "GET", f"/fhir/Organization?{requete}", jeton)
        assert reponse.status_code == 200, reponse.content
        bundle = reponse.json()
        valider(bundle, type_attendu="Bundle")
        assert bundle["type"] == "searchset"
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    attendu = [str(cible.uuid)]
    assert ids(f"identifier=https://finess.esante.gouv.fr|{cible.finess_eg}") == attendu
    assert ids(f"identifier={cible.finess_ej}") == attendu  # FINESS EJ, sans système
    assert ids(f"identifier=urn:oid:1.2.250.1.71.4.2.2|1{cible.finess_eg}") == attendu
    assert ids("identifier=https://sirene.fr|73282932000074") == attendu
    assert ids(f"identifier=urn:ietf:rfc:3986|urn:uuid:{cible.uuid}") == attendu
    assert ids(f"_id={cible.uuid}") == attendu
    assert ids("identifier=http://autre.systeme|" + cible.finess_eg) == []
    assert ids("name=ssiad%20du") == attendu
    assert ids("name:exact=SSIAD%20du") == []
    assert ids("name:contains=du%20va") == attendu
    assert ids("address-city=renn&address-postalcode=357") == attendu
    assert ids("name=ssiad%20dù") == attendu  # accents ignorés
    assert ids("name=SSIAD%20du&active=true") == attendu
    assert ids("active=false") == []
    assert ids("name=SSIAD,Autre&address-city=Brest") == [ids("address-city=Brest")[0]]


def test_recherche_practitioner_et_role(client, exercice, jeton):
    professionnel = exercice.professionnel
    ExerciceFactory(professionnel=professionnel, date_fin=datetime.date(2021, 1, 1), profession_code="10")

    def total(chemin):
        reponse = appel(client, "GET", chemin, jeton)
        assert reponse.status_code == 200, reponse.content
        return reponse.json()["total"]

    assert total(f"/fhir/Practitioner?identifier={professionnel.idnat_ps}") == 1
    assert total(f"/fhir/Practitioner?identifier=https://rpps.esante.gouv.fr|{professionnel.rpps}") == 1
    assert total("/fhir/Practitioner?given=clai&family=mart") == 1
    # Sans casse ni accents (FHIR) ; « name » : début du nom ou du prénom.
    ProfessionnelFactory(nom_exercice="LEFÈVRE-D'ORNANO", prenom_exercice="Hélène")
    assert total("/fhir/Practitioner?family=lefevre") == 1
    assert total("/fhir/Practitioner?given=HELENE") == 1
    assert total("/fhir/Practitioner?name=ornano") == 1
    assert total("/fhir/Practitioner?name=hel&name=lef") == 1
    assert total("/fhir/Practitioner?name=rnano") == 0
    assert total("/fhir/Practitioner?name:contains=rnano") == 1
    assert total("/fhir/Practitioner?family:exact=LEFÈVRE-D'ORNANO") == 1
    assert total("/fhir/Practitioner?family:exact=LEFEVRE-D'ORNANO") == 0
    assert total(f"/fhir/PractitionerRole?practitioner={professionnel.uuid}") == 2
    assert total(f"/fhir/PractitionerRole?practitioner={professionnel.uuid}&active=true") == 1
    assert total(f"/fhir/PractitionerRole?practitioner={professionnel.uuid}&active=false") == 1
    tre_g15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
    assert total(f"/fhir/PractitionerRole?role={tre_g15}|60&practitioner={professionnel.uuid}") == 1
    # Recherches chaînées : à travers la référence, les paramètres de la ressource visée.
    assert total("/fhir/PractitionerRole?organization.name=EHPAD%20Les") == 1
    assert total("/fhir/PractitionerRole?organization:Organization.address-city=Rennes") == 1
    assert total(f"/fhir/PractitionerRole?practitioner.identifier={professionnel.idnat_ps}") == 2
    assert total("/fhir/PractitionerRole?organization=Organization/pas-un-uuid") == 0


def test_recherche_last_updated(client, jeton):
    with freeze_time("2024-03-05T10:00:00Z"):
        ancienne = StructureFactory()
    recente = StructureFactory()
    reponse = appel(
        client, "GET", "/fhir/Organization?_lastUpdated=lt2024-03-06&_lastUpdated=ge2024-03", jeton
    )
    assert [e["resource"]["id"] for e in reponse.json()["entry"]] == [str(ancienne.uuid)]
    reponse = appel(client, "GET", "/fhir/Organization?_lastUpdated=gt2024&_sort=-_lastUpdated", jeton)
    assert reponse.json()["entry"][0]["resource"]["id"] == str(recente.uuid)


def test_inclusions_et_iterate(client, exercice, jeton):
    ExerciceFactory(structure=exercice.structure)
    reponse = appel(
        client,
        "GET",
        f"/fhir/PractitionerRole?organization={exercice.structure.uuid}"
        "&_include=PractitionerRole:organization&_include=PractitionerRole:practitioner",
        jeton,
    )
    bundle = reponse.json()
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]]
    assert modes.count(("PractitionerRole", "match")) == 2
    assert modes.count(("Organization", "include")) == 1  # une seule fois, même citée deux fois
    assert modes.count(("Practitioner", "include")) == 2
    assert bundle["total"] == 2


@pytest.mark.parametrize(
    "requete, attendu",
    [
        ("inconnu=1", "inconnu"),
        ("name:nimporte=1", "modificateur"),
        ("_count=-1", "_count"),
        ("_count=abc", "_count"),
        ("_sort=commune", "_sort"),
        ("_include=Organization:partof", "_include"),
        ("_include=*", "_include"),
        ("_lastUpdated=2024-13-45", "date"),
        ("_lastUpdated=ap2024", "ap"),
        ("_lastUpdated=", "vide"),
        ("identifier=a|b|c", "jeton"),
        ("name.family=x", "référence"),
        ("_total=peut-etre", "_total"),
        ("_curseur=falsifie", "Curseur"),
        ("name=" + "x" * 600, "trop longue"),
    ],
)
def test_parametres_invalides_400(client, jeton, requete, attendu):
    contenu = oo(appel(client, "GET", f"/fhir/Organization?{requete}", jeton), 400)
    assert attendu.lower() in contenu["issue"][0]["diagnostics"].lower()


def test_handling_lenient_ignore_les_parametres_inconnus(client, jeton):
    StructureFactory()
    reponse = appel(client, "GET", "/fhir/Organization?inconnu=1", jeton, HTTP_PREFER="handling=lenient")
    assert reponse.status_code == 200
    assert "inconnu" not in reponse.json()["link"][0]["url"]


def test_recherche_en_post(client, exercice, jeton):
    reponse = client.post(
        "/fhir/Organization/_search",
        "name=EHPAD",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {jeton}",
    )
    assert reponse.status_code == 200
    assert reponse.json()["total"] == 1
    oo(appel(client, "POST", "/fhir/Organization/_search", jeton, {"name": "x"}), 415)


def test_count_zero_et_summary_count(client, jeton):
    StructureFactory.create_batch(3, commune="Vitré")
    for requete in ("_count=0", "_summary=count"):
        bundle = appel(client, "GET", f"/fhir/Organization?address-city=Vitré&{requete}", jeton).json()
        assert bundle["total"] == 3 and "entry" not in bundle
    bundle = appel(
        client, "GET", "/fhir/Organization?address-city=Vitré&_total=none&_count=1000", jeton
    ).json()
    assert "total" not in bundle and len(bundle["entry"]) == 3
    assert "_count=100" in bundle["link"][0]["url"]  # plafonné


def _page(client, jeton, url):
    reponse = appel(client, "GET", url.removeprefix("http://testserver"), jeton)
    assert reponse.status_code == 200, reponse.content
    bundle = reponse.json()
    liens = {lien["relation"]: lien["url"] for lien in bundle["link"]}
    return [e["resource"]["name"] for e in bundle.get("entry", [])], liens, bundle


def test_pagination_suivante_precedente_par_nom(client, jeton):
    noms = [f"Structure {i:02d}" for i in range(7)]
    for nom in reversed(noms):
        StructureFactory(raison_sociale=nom)
    StructureFactory(raison_sociale="Structure 03")  # ex æquo : départagés par la clé

    vus, liens, bundle = _page(client, jeton, "/fhir/Organization?name=Structure&_sort=name&_count=3")
    assert bundle["total"] == 8 and "previous" not in liens
    tous = list(vus)
    while "next" in liens:
        vus, liens, _ = _page(client, jeton, liens["next"])
        tous += vus
    assert tous == sorted(noms + ["Structure 03"])
    assert len(vus) == 2
    # Et à rebours depuis la dernière page.
    retour, liens, _ = _page(client, jeton, liens["previous"])
    assert retour == tous[3:6]
    retour, liens, _ = _page(client, jeton, liens["previous"])
    assert retour == tous[0:3] and "previous" not in liens


def test_pagination_decroissante(client, jeton):
    for i in range(5):
        StructureFactory(raison_sociale=f"Zeta {i}")
    vus, liens, _ = _page(client, jeton, "/fhir/Organization?name=Zeta&_sort=-name&_count=2")
    tous = list(vus)
    while "next" in liens:
        vus, liens, _ = _page(client, jeton, liens["next"])
        tous += vus
    assert tous == ["Zeta 4", "Zeta 3", "Zeta 2", "Zeta 1", "Zeta 0"]


def test_curseur_d_une_autre_recherche_refuse(client, jeton):
    StructureFactory.create_batch(3)
    _, liens, _ = _page(client, jeton, "/fhir/Organization?_sort=name&_count=1")
    curseur = liens["next"].split("_curseur=")[1]
    oo(appel(client, "GET", f"/fhir/Organization?_sort=-name&_count=1&_curseur={curseur}", jeton), 400)
    oo(appel(client, "GET", f"/fhir/Practitioner?_count=1&_curseur={curseur}", jeton), 400)


def test_nombre_de_requetes_constant_par_page(client, jeton, django_assert_max_num_queries):
    def page_complete(nombre):
        structure = StructureFactory()
        ExerciceFactory.create_batch(nombre, structure=structure)
        url = (
            f"/fhir/PractitionerRole?organization={structure.uuid}&_count=50"
            "&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization"
        )
        # Jeton (1), total (1), page (1), deux inclusions (2), plus la session et le journal vide.
        with django_assert_max_num_queries(8):
            reponse = appel(client, "GET", url, jeton)
        assert len(reponse.json()["entry"]) == 2 * nombre + 1

    page_complete(2)
    page_complete(40)


def test_compte_ordinaire_sans_mfa_n_est_pas_redirige_sur_l_api(client):
    client.force_login(CompteFactory())
    reponse = appel(client, "GET", "/fhir/Organization")
    oo(reponse, 401)  # pas de redirection vers l'activation du TOTP : une API répond dans son format
