"""API FHIR du projet personnalisé (CarePlan, Goal, Task ; docs/decisions/0029-ppa-api-fhir.md) :
ressources du Bundle TDDUI (mêmes fonctions, références vers /fhir/), valides pour fhir.resources et
profilées ; une version = un CarePlan (brouillon, validée, remplacée) ; recherches (personne, statut,
identifiant TDDUI, lien au projet, _include) ; journal ; nombre de requêtes constant ; lecture seule
(aucune écriture ne change une version validée, empreinte comprise) ; déclaration dans /fhir/metadata."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination.comptes.acteur import acteur_systeme
from coordination.fhir.validation import valider as valider_fhir
from coordination.journal.models import Evenement as Journal
from ppa import fhir, selectors
from ppa import services as ppa
from ppa.models import AccordPPA, Action, Besoin, Objectif, TypeProjet, VersionPPA
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


@pytest.fixture
def dui(client, monde):
    """Le jeton du logiciel du SSIAD (membre du cercle de Jeanne, `ppa` en écriture)."""
    return logiciel(client, structure=monde.ssiad)[1]


def _lire(client, jeton: str, chemin: str) -> dict:
    reponse = appel(client, "GET", chemin, jeton)
    assert reponse.status_code == 200, reponse.content[:500]
    return reponse.json()


def _ids(bundle: dict, mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def _bundle(version: VersionPPA) -> dict:
    complete = selectors.version_complete(acteur_systeme("export de test"), version.uuid)
    return fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, list(version.accords.all())))


def _sans_references(valeur):
    """La ressource sans ce qui dépend du contexte : id, meta.lastUpdated, `replaces` (l'API
    seulement) et la forme de chaque référence (urn:uuid du Bundle ou adresse sous /fhir/)."""
    if isinstance(valeur, dict):
        if set(valeur) <= {"reference", "identifier", "display"} and set(valeur) & {
            "reference",
            "identifier",
        }:
            return "référence"
        return {
            cle: _sans_references(v)
            for cle, v in valeur.items()
            if cle not in ("id", "lastUpdated", "replaces")
        }
    if isinstance(valeur, list):
        return [_sans_references(v) for v in valeur]
    return valeur


def test_version_validee_servie_comme_dans_le_bundle_tddui(client, monde, dui):
    version = valider(monde, brouillon_rempli(monde))
    objectif, action = Objectif.objects.get(version=version), Action.objects.get(version=version)
    plan = _lire(client, dui, f"/fhir/CarePlan/{version.uuid}")
    but = _lire(client, dui, f"/fhir/Goal/{objectif.uuid}")
    tache = _lire(client, dui, f"/fhir/Task/{action.uuid}")
    for ressource in (plan, but, tache):
        valider_fhir(ressource, type_attendu=ressource["resourceType"])
        assert ressource["meta"]["profile"] == [fhir.PROFIL[ressource["resourceType"]]]
        assert ressource["meta"]["lastUpdated"]
    assert (plan["id"], plan["status"], plan["title"]) == (str(version.uuid), "active", "Vivre chez moi")
    assert plan["subject"]["reference"] == f"Patient/{monde.usager.uuid}"
    # Les accords (Consent, non servis) : référence logique par identifiant.
    accords = {i["display"]: i["identifier"]["value"] for i in plan["supportingInfo"]}
    uuids = dict(AccordPPA.objects.filter(version=version).values_list("partie", "uuid"))
    assert accords == {
        "Consentement usager": f"urn:uuid:{uuids['usager']}",
        "Consentement structure": f"urn:uuid:{uuids['structure']}",
    }
    assert but["extension"][0]["valueReference"] == {"reference": f"CarePlan/{version.uuid}"}
    besoin = Besoin.objects.get(version=version)
    assert but["addresses"] == [
        {"identifier": fhir._identifiant(version, "PPBesoin", besoin.origine), "display": "Se laver"}
    ]
    assert tache["basedOn"] == [{"reference": f"CarePlan/{version.uuid}"}]
    entrees = {e["type"]["coding"][0]["code"]: e for e in tache["input"]}
    assert entrees["objectif"]["valueReference"] == {"reference": f"Goal/{objectif.uuid}"}
    assert tache["owner"]["display"] == monde.membres["ide"].nom_affiche
    # Les mêmes fonctions que le Bundle TDDUI : mêmes ressources aux références près.
    par_type = {e["resource"]["resourceType"]: e["resource"] for e in _bundle(version)["entry"]}
    for servie in (plan, but, tache):
        exportee = par_type[servie["resourceType"]]
        assert servie["identifier"] == exportee["identifier"]
        assert _sans_references(servie) == _sans_references(exportee), servie["resourceType"]


def test_brouillon_avenant_et_version_remplacee(client, monde, dui):
    validee = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    plan = _lire(client, dui, f"/fhir/CarePlan/{avenant.uuid}")
    valider_fhir(plan, type_attendu="CarePlan")
    assert (plan["status"], plan["replaces"]) == ("draft", [{"reference": f"CarePlan/{validee.uuid}"}])
    assert "supportingInfo" not in plan and "avenant" in plan["description"]
    identifiant = plan["identifier"][0]
    cherche = f"/fhir/CarePlan?identifier={identifiant['system']}|{identifiant['value']}"
    assert sorted(_ids(_lire(client, dui, cherche))) == sorted([str(validee.uuid), str(avenant.uuid)])
    assert _ids(_lire(client, dui, cherche + "&status=active")) == [str(validee.uuid)]
    assert _ids(_lire(client, dui, cherche + "&status=draft")) == [str(avenant.uuid)]
    # Validé à son tour, l'avenant remplace la version : revoked, ses objectifs et actions annulés.
    avenant = valider(monde, avenant)
    assert _ids(_lire(client, dui, cherche + "&status=revoked")) == [str(validee.uuid)]
    assert _ids(_lire(client, dui, cherche + "&status=active")) == [str(avenant.uuid)]
    but = Objectif.objects.get(version=validee)
    statuts = {
        e["resource"]["id"]: e["resource"]["lifecycleStatus"]
        for e in _lire(client, dui, f"/fhir/Goal?patient={monde.usager.uuid}")["entry"]
    }
    assert statuts == {str(but.uuid): "cancelled", str(Objectif.objects.get(version=avenant).uuid): "active"}
    taches = _lire(client, dui, f"/fhir/Task?status=cancelled&patient=Patient/{monde.usager.uuid}")
    assert _ids(taches) == [str(Action.objects.get(version=validee).uuid)]
    # Chaque ressource servie, de chaque statut, est valide et porte son profil TDDUI.
    for type_ressource in ("CarePlan", "Goal", "Task"):
        trouvees = _lire(client, dui, f"/fhir/{type_ressource}?patient={monde.usager.uuid}")["entry"]
        assert len(trouvees) == 2
        for entree in trouvees:
            valider_fhir(entree["resource"], type_attendu=type_ressource)
            assert entree["resource"]["meta"]["profile"] == [fhir.PROFIL[type_ressource]]
    # Un objectif garde son identifiant TDDUI d'une version à l'autre.
    ident = _lire(client, dui, f"/fhir/Goal/{but.uuid}")["identifier"][0]
    meme = _lire(client, dui, f"/fhir/Goal?identifier={ident['system']}|{ident['value']}")
    assert len(_ids(meme)) == 2
    for entree in meme["entry"]:
        valider_fhir(entree["resource"], type_attendu="Goal")


def test_recherches_par_lien_au_projet_et_inclusions(client, monde, dui):
    version = valider(monde, brouillon_rempli(monde))
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=version)
    goals = _lire(client, dui, f"/fhir/Goal?careplan=CarePlan/{avenant.uuid}&_include=Goal:careplan")
    assert _ids(goals) == [str(Objectif.objects.get(version=avenant).uuid)]
    assert _ids(goals, "include") == [str(avenant.uuid)]
    taches = _lire(client, dui, f"/fhir/Task?based-on={version.uuid}&_include=Task:based-on")
    assert _ids(taches) == [str(Action.objects.get(version=version).uuid)]
    assert _ids(taches, "include") == [str(version.uuid)]
    # Chaînage par le registre : les actions des versions validées.
    chainees = _lire(client, dui, "/fhir/Task?based-on:CarePlan.status=active")
    assert _ids(chainees) == [str(Action.objects.get(version=version).uuid)]
    par_type = _lire(
        client, dui, f"/fhir/CarePlan?category={fhir.SYSTEME_TYPE_PROJET}|PPA&_sort=-_lastUpdated"
    )
    assert len(_ids(par_type)) == 2
    assert _ids(_lire(client, dui, "/fhir/CarePlan?category=PAI")) == []
    patient = f"/fhir/CarePlan?subject=Patient/{monde.usager.uuid}&_count=1"
    premiere = _lire(client, dui, patient)
    assert premiere["total"] == 2 and len(premiere["entry"]) == 1
    suivante = next(lien["url"] for lien in premiere["link"] if lien["relation"] == "next")
    assert len(_ids(_lire(client, dui, suivante.split("testserver", 1)[1]))) == 1


def test_identifiant_tddui_exact(client, monde, dui):
    version = valider(monde, brouillon_rempli(monde))
    monde.ssiad.finess_eg = "750000001"
    monde.ssiad.save()
    ident = _lire(client, dui, f"/fhir/CarePlan/{version.uuid}")["identifier"][0]
    assert ident["value"].startswith(f"3750000001/{monde.usager.uuid}-PPER-")
    assert _ids(_lire(client, dui, f"/fhir/CarePlan?identifier={ident['value']}")) == [str(version.uuid)]
    autres = [
        ident["value"].replace("3750000001/", "3750000002/"),
        ident["value"].replace("3750000001/", ""),
        ident["value"].replace(str(monde.usager.uuid), str(monde.autre_usager.uuid)),
        ident["value"] + "0",
        "n'importe quoi",
    ]
    for valeur in autres:
        assert _ids(_lire(client, dui, f"/fhir/CarePlan?identifier={valeur}")) == [], valeur
    assert (
        _ids(_lire(client, dui, f"/fhir/CarePlan?identifier={fhir.SYSTEME_PORTAIL}|{ident['value']}")) == []
    )


def test_entrees_mal_formees_en_francais(client, monde, dui):
    valider(monde, brouillon_rempli(monde))
    for chemin in ("/fhir/CarePlan/pas-un-uuid", f"/fhir/Goal/{monde.usager.uuid}", "/fhir/Task/0"):
        assert "introuvable" in oo(appel(client, "GET", chemin, dui), 404)["issue"][0]["diagnostics"].lower()
    inconnu = oo(appel(client, "GET", "/fhir/CarePlan?intent=plan", dui), 400)
    assert "inconnu" in inconnu["issue"][0]["diagnostics"]
    assert (
        "date"
        in oo(appel(client, "GET", "/fhir/Goal?_lastUpdated=hier", dui), 400)["issue"][0]["diagnostics"]
    )
    assert oo(appel(client, "GET", "/fhir/Task?status:text=x", dui), 400)


def test_journal_des_lectures(client, monde, dui):
    version = valider(monde, brouillon_rempli(monde))
    lectures = Journal.objects.filter(action=selectors.LECTURE_VERSION, objet_uuid=version.uuid)
    avant = lectures.count()
    _lire(client, dui, f"/fhir/CarePlan/{version.uuid}")
    _lire(client, dui, f"/fhir/Goal?patient={monde.usager.uuid}")
    _lire(client, dui, f"/fhir/Task/{Action.objects.get(version=version).uuid}")
    assert lectures.count() == avant + 3
    assert set(lectures.values_list("usager_uuid", flat=True)) == {monde.usager.uuid}
    # Rien trouvé, rien noté.
    _lire(client, dui, f"/fhir/Goal?patient={monde.autre_usager.uuid}")
    assert lectures.count() == avant + 3


def _projets(monde, types: list[str]) -> None:
    """Un projet validé de Jeanne par type de `types`, chacun avec besoin, objectif et action."""
    for type_projet in types:
        version = ppa.creer_projet(
            acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="P", type=type_projet
        ).versions.get()
        besoin = ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=version, libelle="Se laver")
        objectif = ppa.ajouter_objectif(
            acteur=qui(monde, "ide"), version=version, titre="T", besoins=[besoin]
        )
        ppa.ajouter_action(
            acteur=qui(monde, "ide"), objectif=objectif, quoi="Aide", intervenant=monde.membres["ide"]
        )
        valider(monde, version)


def _requetes(client, jeton: str, chemin: str) -> tuple[int, int]:
    """(requêtes SQL de l'appel, ressources servies : correspondances et incluses)."""
    with CaptureQueriesContext(connection) as requetes:
        contenu = _lire(client, jeton, chemin)
    return len(requetes), len(_ids(contenu)) + len(_ids(contenu, "include"))


@pytest.mark.parametrize(
    "chemin",
    [
        "CarePlan?patient={u}",
        "Goal?patient={u}&_include=Goal:careplan",
        "Task?subject={u}&_include=Task:based-on",
    ],
    ids=["careplan", "goal", "task"],
)
def test_nombre_de_requetes_constant(client, monde, dui, chemin):
    """Même nombre de requêtes pour 1 et 5 projets (journal des lectures compris)."""
    chemin = "/fhir/" + chemin.format(u=monde.usager.uuid)
    types = list(TypeProjet.values)
    _projets(monde, types[:1])
    un = _requetes(client, dui, chemin)
    _projets(monde, types[1:5])
    cinq = _requetes(client, dui, chemin)
    assert (un[1], cinq[1]) in ((1, 5), (2, 10))
    assert cinq[0] == un[0], (un, cinq)
    assert un[0] <= 12, un  # mesuré : CarePlan 9, Goal 11, Task 10 (jeton OAuth2 et journal compris)


def _etat(version: VersionPPA) -> tuple:
    return (
        VersionPPA.objects.count(),
        Objectif.objects.count(),
        Action.objects.count(),
        Besoin.objects.count(),
        AccordPPA.objects.count(),
        ppa.empreinte(VersionPPA.objects.get(pk=version.pk)),
        VersionPPA.objects.filter(pk=version.pk).values_list("statut", "modifie_le").get(),
    )


def test_aucune_ecriture_ne_change_une_version_validee(client, monde, dui):
    version = valider(monde, brouillon_rempli(monde))
    assert version.empreinte == ppa.empreinte(version)
    objectif, action = Objectif.objects.get(version=version), Action.objects.get(version=version)
    plan = _lire(client, dui, f"/fhir/CarePlan/{version.uuid}")
    but = _lire(client, dui, f"/fhir/Goal/{objectif.uuid}")
    tache = _lire(client, dui, f"/fhir/Task/{action.uuid}")
    modifie = {**plan, "title": "Autre chose", "status": "revoked"}
    avant = _etat(version)
    essais = [
        ("POST", "/fhir/CarePlan", {k: v for k, v in modifie.items() if k != "id"}),
        ("PUT", f"/fhir/CarePlan/{version.uuid}", modifie),
        ("DELETE", f"/fhir/CarePlan/{version.uuid}", None),
        ("PUT", f"/fhir/CarePlan?identifier={plan['identifier'][0]['value']}", modifie),
        ("PUT", f"/fhir/Goal/{objectif.uuid}", {**but, "lifecycleStatus": "cancelled"}),
        ("DELETE", f"/fhir/Goal/{objectif.uuid}", None),
        ("POST", "/fhir/Task", {k: v for k, v in tache.items() if k != "id"}),
        ("PUT", f"/fhir/Task/{action.uuid}", {**tache, "description": "Rien"}),
        ("DELETE", f"/fhir/Task/{action.uuid}", None),
    ]
    for methode, chemin, corps in essais:
        contenu = oo(appel(client, methode, chemin, dui, corps=corps), 405)
        diagnostic = contenu["issue"][0]["diagnostics"]
        assert "pas prise en charge" in diagnostic or "non permise" in diagnostic, (methode, chemin)
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": modifie, "request": {"method": "PUT", "url": f"CarePlan/{version.uuid}"}}],
    }
    oo(appel(client, "POST", "/fhir/", dui, corps=transaction), 405)
    assert _etat(version) == avant
    assert VersionPPA.objects.get(pk=version.pk).empreinte == avant[5]


def test_declaration_dans_metadata(client):
    reponse = client.get("/fhir/metadata")
    ressources = {r["type"]: r for r in reponse.json()["rest"][0]["resource"]}
    attendus = {
        "CarePlan": {"identifier", "patient", "subject", "status", "category"},
        "Goal": {"identifier", "patient", "subject", "careplan", "lifecycle-status"},
        "Task": {"identifier", "patient", "subject", "based-on", "status"},
    }
    for type_ressource, parametres in attendus.items():
        declaration = ressources[type_ressource]
        assert declaration["profile"] == fhir.PROFIL[type_ressource]
        assert [i["code"] for i in declaration["interaction"]] == ["read", "search-type"]
        assert declaration["conditionalUpdate"] is False
        noms = {p["name"] for p in declaration["searchParam"]}
        assert noms == parametres | {"_id", "_lastUpdated"}
    assert ressources["Goal"]["searchInclude"] == ["Goal:careplan"]
    assert ressources["Task"]["searchInclude"] == ["Task:based-on"]
