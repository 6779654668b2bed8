"""API REST du projet personnalisé : comportements (construire un projet de bout en bout jusqu'à sa
validation et son avenant, différentiel, reprise TDDUI), conflits (révision d'une partie, empreinte
périmée), accord ou soumission par qui n'en a pas le droit, entrées invalides refusées en français
sans rien écrire, version validée intouchable par l'API, requêtes constantes, schéma OpenAPI. Les
droits de chaque acteur sur chaque route : tests/test_ppa_api_acces.py."""

from __future__ import annotations

import copy
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination.comptes.acteur import acteur_systeme
from coordination.journal.models import Evenement as Journal
from ppa import fhir, selectors
from ppa import services as ppa
from ppa.models import AccordPPA, Action, Besoin, CommentairePPA, Objectif, ProjetPersonnalise, VersionPPA
from tests.fhir_outils import logiciel
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui, valider
from tests.test_agenda_api import en_tant_que

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


def _v(version, suffixe: str = "") -> str:
    return f"/api/v1/ppa/versions/{version.uuid}/{suffixe}"


def _post(client, chemin: str, corps=None):
    return client.post(chemin, json.dumps(corps or {}), content_type="application/json")


def etat() -> tuple:
    """Le contenu de tous les projets et le journal des écritures."""
    return (
        ProjetPersonnalise.objects.count(),
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "empreinte", "attentes",
                                                            "projet_de_vie", "revisions", "debut")),
        tuple(Besoin.objects.order_by("id").values_list("id", "libelle")),
        tuple(Objectif.objects.order_by("id").values_list("id", "titre", "avis_usager")),
        tuple(Action.objects.order_by("id").values_list("id", "quoi")),
        AccordPPA.objects.count(),
        CommentairePPA.objects.count(),
        Journal.objects.exclude(action__contains="lecture").count(),
    )  # fmt: skip


# --- De bout en bout --------------------------------------------------------------------------------


def test_construire_valider_et_amender_un_projet(client, monde):
    """L'infirmière ouvre le projet et le remplit, Jeanne dit ses attentes et son avis, le projet est
    soumis puis accepté par Jeanne et par le SSIAD ; l'avenant en dérive, et le différentiel montre
    l'objectif ajouté."""
    ide = en_tant_que(client, monde, "ide")
    base = f"/api/v1/usagers/{monde.usager.uuid}/ppa/"
    reponse = _post(ide, base, {"titre": "Vivre chez moi"})  # structure : celle où elle exerce
    assert reponse.status_code == 201, reponse.content
    projet = reponse.json()
    assert projet["structure"]["uuid"] == str(monde.ssiad.uuid) and projet["type"] == "PPA"
    [v1] = projet["versions"]
    version = VersionPPA.objects.get(uuid=v1["uuid"])
    assert v1["statut"] == "brouillon"

    besoin = _post(ide, _v(version, "besoins/"), {"libelle": "Se laver", "code_serafin": "1.2.1.1"})
    assert besoin.status_code == 201, besoin.content
    uuid_besoin = besoin.json()["element"]
    objectif = _post(
        ide, _v(version, "objectifs/"),
        {"titre": "Faire sa toilette seule", "besoins": [uuid_besoin], "date_cible": "2027-06-30"},
    )  # fmt: skip
    assert objectif.status_code == 201, objectif.content
    uuid_objectif = objectif.json()["element"]
    action = _post(
        ide, _v(version, "actions/"),
        {"objectif": uuid_objectif, "quoi": "Aide à la toilette", "frequence": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
         "intervenant": str(monde.membres["ide"].uuid), "duree_minutes": 45, "revision_lue": 0},
    )  # fmt: skip
    assert action.status_code == 201, action.content
    lue = action.json()["version"]
    assert lue["objectifs"][0]["besoins"] == [uuid_besoin]
    assert lue["actions"][0]["intervenant"]["uuid"] == str(monde.membres["ide"].uuid)
    assert lue["revisions"] == {"besoins": 1, "objectifs": 1, "actions": 1}

    jeanne = en_tant_que(client, monde, "usager")
    paroles = _post(jeanne, _v(version, "paroles/"), {"attentes": "Rester chez moi.", "revision_lue": 0})
    assert paroles.status_code == 200 and paroles.json()["version"]["attentes"] == "Rester chez moi."
    avis = _post(jeanne, _v(version, f"objectifs/{uuid_objectif}/avis/"), {"avis": "d_accord"})
    assert avis.status_code == 200 and avis.json()["version"]["objectifs"][0]["avis_usager"] == "d_accord"
    assert (
        _post(jeanne, _v(version, "commentaires/"), {"partie": "actions", "texte": "Le matin."}).status_code
        == 201
    )

    ide = en_tant_que(client, monde, "ide")
    soumise = _post(ide, _v(version, "soumission/"))
    assert soumise.status_code == 200, soumise.content
    empreinte = soumise.json()["version"]["empreinte"]
    assert soumise.json()["version"]["statut"] == "en_validation"
    assert empreinte == ppa.empreinte(VersionPPA.objects.get(pk=version.pk))
    assert (
        _post(ide, _v(version, "accords/"), {"partie": "structure", "empreinte_lue": empreinte}).status_code
        == 201
    )
    jeanne = en_tant_que(client, monde, "usager")
    accord = _post(jeanne, _v(version, "accords/"), {"partie": "usager", "empreinte_lue": empreinte})
    assert accord.status_code == 201 and accord.json()["version"]["statut"] == "validee"

    ide = en_tant_que(client, monde, "ide")
    avenant = _post(ide, _v(version, "avenant/"))
    assert avenant.status_code == 201, avenant.content
    v2 = avenant.json()["version"]
    assert (v2["numero"], v2["statut"], len(v2["actions"])) == (2, "brouillon", 1)
    nouvelle = VersionPPA.objects.get(uuid=v2["uuid"])
    assert _post(ide, _v(nouvelle, "objectifs/"), {"titre": "Sortir au marché"}).status_code == 201
    differentiel = ide.get(_v(version, f"differentiel/{nouvelle.uuid}/"))
    assert differentiel.status_code == 200, differentiel.content
    corps = differentiel.json()
    assert [o["intitule"] for o in corps["objectifs"]["ajoutes"]] == ["Sortir au marché"]
    assert corps["vide"] is False and not corps["actions"]["ajoutes"] and not corps["besoins"]["retires"]
    liste = ide.get(base).json()
    assert [v["statut"] for v in liste["resultats"][0]["versions"]] == ["brouillon", "validee"]
    assert liste["page"] == 1 and liste["suivante"] is False


def test_une_lecture_est_journalisee_une_ecriture_ne_note_que_sa_relecture(client, monde):
    version = brouillon_rempli(monde)
    ide = en_tant_que(client, monde, "ide")
    lectures = Journal.objects.filter(action=selectors.LECTURE_VERSION, objet_uuid=version.uuid)
    ajouts = Journal.objects.filter(action="ppa.besoin.ajout", objet_uuid=version.uuid)
    assert ide.get(_v(version)).status_code == 200 and lectures.count() == 1
    avant = ajouts.count()
    assert _post(ide, _v(version, "besoins/"), {"libelle": "Dormir"}).status_code == 201
    assert lectures.count() == 2  # la version relue et renvoyée, une fois
    assert ajouts.count() == avant + 1


# --- Conflits ------------------------------------------------------------------------------------


def test_revision_perimee_409_en_francais_et_rien_d_ecrit(client, monde):
    version = brouillon_rempli(monde)  # les paroles ont déjà été écrites une fois : révision 1
    ide = en_tant_que(client, monde, "ide")
    avant = etat()
    reponse = _post(ide, _v(version, "paroles/"), {"attentes": "Autre chose.", "revision_lue": 0})
    assert reponse.status_code == 409, reponse.content
    assert "Votre texte n'est pas perdu" in reponse.json()["revision_lue"][0]
    assert reponse.json()["partie"] == "paroles"
    assert etat() == avant
    besoin = _post(ide, _v(version, "besoins/"), {"libelle": "Dormir", "revision_lue": 0})
    assert besoin.status_code == 409 and etat() == avant
    # Deux parties différentes ne se gênent pas : la révision des actions est encore à jour.
    deux = _post(ide, _v(version, "paroles/"), {"projet_de_vie": "Jardiner.", "revision_lue": 1})
    assert deux.status_code == 200 and deux.json()["version"]["revisions"]["paroles"] == 2


def test_accord_sur_une_empreinte_perimee_409_rien_d_enregistre(client, monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    jeanne = en_tant_que(client, monde, "usager")
    avant = etat()
    reponse = _post(jeanne, _v(version, "accords/"), {"partie": "usager", "empreinte_lue": "0" * 64})
    assert reponse.status_code == 409, reponse.content
    assert "Le projet a changé depuis que vous l'avez lu" in reponse.json()["empreinte_lue"][0]
    assert etat() == avant and not AccordPPA.objects.exists()
    for nom, partie in (("usager", "usager"), ("ide", "structure")):
        ppa.donner_accord(
            acteur=qui(monde, nom), version=version, partie=partie, empreinte_lue=version.empreinte
        )
    # Validée : elle n'attend plus d'accord (400, pas un conflit de lecture).
    autre = _post(jeanne, _v(version, "accords/"), {"partie": "usager", "empreinte_lue": "0" * 64})
    assert autre.status_code == 400 and "n'attend pas d'accord" in autre.json()[0]


@pytest.mark.parametrize(
    ("nom", "partie"),
    [
        ("ide", "usager"), ("aidant_avec_droits", "usager"), ("medecin", "structure"),
        ("usager", "structure"), ("dui_ssiad", "structure"),
    ],
)  # fmt: skip
def test_accord_refuse_a_qui_ne_peut_pas_le_donner(client, monde, nom, partie):
    """Même avec la bonne empreinte : 403 et la phrase du refus, rien d'enregistré."""
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    en_tetes = {}
    if nom == "dui_ssiad":
        en_tetes["HTTP_AUTHORIZATION"] = f"Bearer {logiciel(client, structure=monde.ssiad)[1]}"
    else:
        en_tant_que(client, monde, nom)
    avant = etat()
    corps = json.dumps({"partie": partie, "empreinte_lue": version.empreinte})
    reponse = client.post(_v(version, "accords/"), corps, content_type="application/json", **en_tetes)
    assert reponse.status_code == 403, reponse.content
    assert "accord" in reponse.json()["detail"]
    assert etat() == avant


def test_soumettre_sans_droit_d_ecrire_403(client, monde):
    version = brouillon_rempli(monde)
    medecin = en_tant_que(client, monde, "medecin")  # il lit le projet, il n'y écrit pas
    avant = etat()
    reponse = _post(medecin, _v(version, "soumission/"))
    assert reponse.status_code == 403 and "ne pouvez pas écrire" in reponse.json()["detail"]
    assert etat() == avant


# --- Entrées invalides -----------------------------------------------------------------------------


def _membre_sorti(monde) -> str:
    return str(monde.membres["parti"].uuid)


ENTREES_INVALIDES = {
    "titre_vide": ("objectifs/", lambda m, v: {"titre": "  "}, "titre", "vide"),
    "besoin_d_une_autre_version": (
        "objectifs/", lambda m, v: {"titre": "Marcher", "besoins": [str(m["autre_besoin"])]}, "besoins",
        "n'appartient pas",
    ),
    "besoin_mal_forme": (
        "objectifs/", lambda m, v: {"titre": "Marcher", "besoins": ["x"]}, "besoins", "besoin invalide",
    ),
    "date_illisible": (
        "objectifs/", lambda m, v: {"titre": "Marcher", "date_cible": "demain"}, "date_cible", "format",
    ),
    "libelle_vide": ("besoins/", lambda m, v: {"libelle": ""}, "libelle", ""),
    "paroles_absentes": ("paroles/", lambda m, v: {"revision_lue": 1}, "non_field_errors", "attentes"),
    "revision_negative": ("paroles/", lambda m, v: {"attentes": "x", "revision_lue": -1}, "revision_lue", ""),
    "action_sans_objectif_connu": (
        "actions/", lambda m, v: {"objectif": str(m["objectif_ailleurs"]), "quoi": "Marcher"}, "objectif",
        "n'appartient pas",
    ),
    "intervenant_sorti_du_cercle": (
        "actions/", lambda m, v: {"objectif": str(m["objectif"]), "quoi": "Marcher",
                                  "intervenant": m["sorti"]}, "intervenant", "ne fait pas partie du cercle",
    ),
    "action_vide": ("actions/", lambda m, v: {"objectif": str(m["objectif"]), "quoi": " "}, "quoi", "vide"),
    "partie_inconnue": (
        "commentaires/", lambda m, v: {"partie": "tout", "texte": "x"}, "partie", "Partie attendue",
    ),
    "commentaire_vide": ("commentaires/", lambda m, v: {"partie": "actions", "texte": "   "}, "texte", ""),
    "accord_partie_inconnue": (
        "accords/", lambda m, v: {"partie": "medecin", "empreinte_lue": "x"}, "partie", "Partie attendue",
    ),
    "accord_sans_empreinte": ("accords/", lambda m, v: {"partie": "usager"}, "empreinte_lue", ""),
}  # fmt: skip


@pytest.mark.parametrize("cas", list(ENTREES_INVALIDES))
def test_entrees_invalides_400_en_francais_sans_rien_ecrire(client, monde, cas):
    version = brouillon_rempli(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    ).versions.get()
    reperes = {
        "objectif": version.objectifs.get().uuid,
        "autre_besoin": ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=autre, libelle="Lire").uuid,
        "objectif_ailleurs": ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=autre, titre="Lire").uuid,
        "sorti": _membre_sorti(monde),
    }
    suffixe, corps, champ, message = ENTREES_INVALIDES[cas]
    ide = en_tant_que(client, monde, "ide")
    avant = etat()
    reponse = _post(ide, _v(version, suffixe), corps(reperes, version))
    assert reponse.status_code == 400, reponse.content
    erreurs = reponse.json()
    assert erreurs[champ] and message in json.dumps(erreurs[champ], ensure_ascii=False), erreurs
    assert etat() == avant


def test_creation_invalide_ou_en_double(client, monde):
    jeanne = en_tant_que(client, monde, "usager")
    base = f"/api/v1/usagers/{monde.usager.uuid}/ppa/"
    avant = etat()
    cas = [
        ({"titre": "Mon projet"}, "structure", "Précisez la structure"),  # Jeanne n'exerce nulle part
        ({"titre": "Mon projet", "structure": "pas-un-uuid"}, "structure", "invalide"),
        (
            {"titre": "Mon projet", "structure": str(monde.autre_usager.uuid)},
            "structure",
            "Structure inconnue",
        ),
        ({"titre": "Mon projet", "structure": str(monde.ssiad.uuid), "type": "XYZ"}, "type", "inconnu"),
        ({"titre": "", "structure": str(monde.ssiad.uuid)}, "titre", ""),
    ]
    for corps, champ, message in cas:
        reponse = _post(jeanne, base, corps)
        assert reponse.status_code == 400 and message in " ".join(reponse.json()[champ]), reponse.content
    assert etat() == avant
    assert jeanne.get(f"{base}?page=zero").status_code == 400
    corps = {"titre": "Mon projet", "structure": str(monde.ssiad.uuid)}
    assert _post(jeanne, base, corps).status_code == 201
    avant = etat()
    double = _post(jeanne, base, corps)
    assert double.status_code == 400 and "déjà un projet" in double.json()[0]
    assert etat() == avant


def test_adresses_inconnues_404(client, monde):
    version = brouillon_rempli(monde)
    ide = en_tant_que(client, monde, "ide")
    for chemin in (
        "/api/v1/ppa/versions/pas-un-uuid/",
        "/api/v1/ppa/versions/6f1c1d0e-0000-4000-8000-000000000000/",
        _v(version, "objectifs/pas-un-uuid/avis/"),
        _v(version, f"differentiel/{monde.usager.uuid}/"),
        f"/api/v1/usagers/{monde.ssiad.uuid}/ppa/",
    ):
        reponse = ide.get(chemin) if "avis" not in chemin else _post(ide, chemin, {"avis": "d_accord"})
        assert reponse.status_code == 404 and reponse.json()["detail"], chemin


def test_differentiel_entre_deux_projets_400(client, monde):
    version = brouillon_rempli(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    ).versions.get()
    ide = en_tant_que(client, monde, "ide")
    lectures = Journal.objects.filter(action__contains="lecture").count()
    reponse = ide.get(_v(version, f"differentiel/{autre.uuid}/"))
    assert reponse.status_code == 400 and "projets personnalisés différents" in reponse.json()[0]
    # Une version lisible et une autre qui ne l'est pas (autre personne) : 404, rien au journal.
    ailleurs = ppa.creer_projet(
        acteur=acteur_systeme("test"), usager=monde.autre_usager, structure=monde.ssiad, titre="Paul"
    ).versions.get()
    assert ide.get(_v(version, f"differentiel/{ailleurs.uuid}/")).status_code == 404
    assert ide.get(_v(ailleurs, f"differentiel/{version.uuid}/")).status_code == 404
    assert Journal.objects.filter(action__contains="lecture").count() == lectures


# --- Version validée : intouchable par l'API ------------------------------------------------------

ECRITURES_SUR_LA_VALIDEE = {
    "paroles/": ({"attentes": "Changée en douce."}, "n'est plus un brouillon"),
    "besoins/": ({"libelle": "Ajouté en douce"}, "n'est plus un brouillon"),
    "objectifs/": ({"titre": "Ajouté en douce"}, "n'est plus un brouillon"),
    "actions/": (None, "n'est plus un brouillon"),
    "avis/": ({"avis": "pas_d_accord"}, "n'est plus un brouillon"),
    "commentaires/": ({"partie": "objectifs", "texte": "Encore un mot."}, "se poursuit sur un avenant"),
    "soumission/": ({}, "n'est plus un brouillon"),
    "accords/": (None, "n'attend pas d'accord"),
    "import-tddui/": (None, "brouillon encore vide"),
}  # fmt: skip


@pytest.mark.parametrize("suffixe", list(ECRITURES_SUR_LA_VALIDEE))
def test_une_version_validee_ne_change_pas_par_l_api(client, monde, suffixe):
    """Chaque écriture sur une version validée : 400 avec la phrase du service ; son empreinte (le
    contenu recalculé) et toutes les lignes restent les mêmes."""
    version = valider(monde, brouillon_rempli(monde))
    objectif = version.objectifs.get()
    corps, message = ECRITURES_SUR_LA_VALIDEE[suffixe]
    if suffixe == "actions/":
        corps = {"objectif": str(objectif.uuid), "quoi": "Ajoutée en douce"}
    elif suffixe == "accords/":
        corps = {"partie": "usager", "empreinte_lue": version.empreinte}
    elif suffixe == "import-tddui/":
        complete = selectors.version_complete(acteur_systeme("test"), version.uuid)
        corps = fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, []))
    elif suffixe == "avis/":
        suffixe = f"objectifs/{objectif.uuid}/avis/"
    nom = "usager" if "avis" in suffixe or suffixe == "accords/" else "ide"
    appelant = en_tant_que(client, monde, nom)
    avant = etat()
    reponse = _post(appelant, _v(version, suffixe), corps)
    assert reponse.status_code == 400, reponse.content
    assert message in json.dumps(reponse.json(), ensure_ascii=False)
    assert etat() == avant
    assert ppa.empreinte(VersionPPA.objects.get(pk=version.pk)) == version.empreinte


def test_aucune_route_ne_remplace_ni_n_efface(client, monde):
    """PUT, PATCH et DELETE : 405 partout, rien d'écrit."""
    version = valider(monde, brouillon_rempli(monde))
    ide = en_tant_que(client, monde, "ide")
    chemins = [
        f"/api/v1/usagers/{monde.usager.uuid}/ppa/", _v(version), _v(version, "paroles/"),
        _v(version, "besoins/"), _v(version, "objectifs/"), _v(version, "actions/"),
        _v(version, f"objectifs/{version.objectifs.get().uuid}/avis/"), _v(version, "commentaires/"),
        _v(version, "soumission/"), _v(version, "accords/"), _v(version, "avenant/"),
        _v(version, "import-tddui/"), _v(version, f"differentiel/{version.uuid}/"),
    ]  # fmt: skip
    avant = etat()
    for chemin in chemins:
        for methode in ("put", "patch", "delete"):
            reponse = getattr(ide, methode)(
                chemin, json.dumps({"attentes": "x"}), content_type="application/json"
            )
            assert reponse.status_code == 405, (methode, chemin)
    assert etat() == avant


def test_avenant_d_une_version_non_validee_ou_deja_en_cours_400(client, monde):
    version = valider(monde, brouillon_rempli(monde))
    ide = en_tant_que(client, monde, "ide")
    assert _post(ide, _v(version, "avenant/")).status_code == 201
    avant = etat()
    deja = _post(ide, _v(version, "avenant/"))
    assert deja.status_code == 400 and "déjà en cours" in deja.json()[0]
    brouillon = VersionPPA.objects.get(derive_de=version)
    pas_validee = _post(ide, _v(brouillon, "avenant/"))
    assert pas_validee.status_code == 400 and "version validée" in pas_validee.json()[0]
    assert etat() == avant


# --- Reprise TDDUI -----------------------------------------------------------------------------------


@pytest.fixture
def reprise(monde):
    """Le Bundle TDDUI du projet validé au SSIAD, et un brouillon vide (PAI) où le reprendre."""
    validee = valider(monde, brouillon_rempli(monde))
    complete = selectors.version_complete(acteur_systeme("test"), validee.uuid)
    bundle = fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, list(validee.accords.all())))
    vide = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Suite", type="PAI"
    ).versions.get()
    return bundle, vide


def test_reprise_tddui_dans_un_brouillon_vide(client, monde, reprise):
    bundle, vide = reprise
    reponse = _post(en_tant_que(client, monde, "ide"), _v(vide, "import-tddui/"), bundle)
    assert reponse.status_code == 200, reponse.content
    lue = reponse.json()["version"]
    assert [o["titre"] for o in lue["objectifs"]] == ["Faire sa toilette seule"]
    assert [b["libelle"] for b in lue["besoins"]] == ["Se laver"]
    assert lue["actions"][0]["quoi"] == "Aide à la toilette" and lue["actions"][0]["intervenant"] is None
    deja = _post(client, _v(vide, "import-tddui/"), bundle)
    assert deja.status_code == 400 and "brouillon encore vide" in deja.json()["bundle"][0]


ABIMES = {
    "pas_un_bundle": (lambda b: b.update(resourceType="Patient"), "pas un Bundle"),
    "sans_careplan": (lambda b: b["entry"].pop(0), "un et un seul projet"),
    "goal_invalide": (
        lambda b: next(e for e in b["entry"] if e["resource"]["resourceType"] == "Goal")["resource"].update(
            description="texte au lieu d'un CodeableConcept"), "Entrée",
    ),
    "action_orpheline": (
        lambda b: next(e for e in b["entry"] if e["resource"]["resourceType"] == "Task")["resource"]["input"]
        .pop(), "objectif est absent",
    ),
    "liste": (lambda b: None, "pas un Bundle"),
}  # fmt: skip


@pytest.mark.parametrize("cas", list(ABIMES))
def test_bundle_abime_400_en_francais_rien_d_ecrit(client, monde, reprise, cas):
    bundle, vide = reprise
    abimer, message = ABIMES[cas]
    abime = copy.deepcopy(bundle)
    abimer(abime)
    corps = [abime] if cas == "liste" else abime
    ide = en_tant_que(client, monde, "ide")
    avant = etat()
    reponse = _post(ide, _v(vide, "import-tddui/"), corps)
    assert reponse.status_code == 400, reponse.content
    assert message in reponse.json()["bundle"][0]
    assert etat() == avant


def test_bundle_abime_par_qui_n_ecrit_pas_403_avant_toute_lecture(client, monde, reprise):
    _, vide = reprise
    reponse = _post(en_tant_que(client, monde, "medecin"), _v(vide, "import-tddui/"), {"n'importe": "quoi"})
    assert reponse.status_code == 403


# --- Requêtes constantes, schéma ----------------------------------------------------------------------


def _requetes(client, chemin: str) -> int:
    with CaptureQueriesContext(connection) as requetes:
        reponse = client.get(chemin)
    assert reponse.status_code == 200, reponse.content
    return len([q for q in requetes.captured_queries if "SAVEPOINT" not in q["sql"]])


def _objectifs(monde, version: VersionPPA, nombre: int) -> None:
    besoin = ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=version, libelle="Se déplacer")
    for n in range(nombre):
        objectif = ppa.ajouter_objectif(
            acteur=qui(monde, "ide"), version=version, titre=f"Objectif {n}", besoins=[besoin]
        )
        ppa.ajouter_action(
            acteur=qui(monde, "ide"), objectif=objectif, quoi=f"Action {n}",
            intervenant=monde.membres["ide"] if n % 2 else None,
            intervenant_libelle="" if n % 2 else "Voisin",
        )  # fmt: skip


def test_version_et_projets_en_requetes_constantes_1_ou_10_objectifs(client, monde):
    petite = projet_de(monde).versions.get()
    _objectifs(monde, petite, 1)
    grande = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Grand", type="PAI"
    ).versions.get()
    _objectifs(monde, grande, 10)
    ide = en_tant_que(client, monde, "ide")
    ide.get(_v(petite))  # session et qualité déjà lues une fois, comme pour les suivantes
    assert _requetes(ide, _v(petite)) == _requetes(ide, _v(grande))
    assert len(ide.get(_v(grande)).json()["actions"]) == 10
    base = f"/api/v1/usagers/{monde.usager.uuid}/ppa/"
    un_projet = _requetes(ide, base)
    ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="3", type="PP"
    )
    assert _requetes(ide, base) == un_projet
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=valider(monde, grande))
    assert _requetes(ide, _v(grande, f"differentiel/{avenant.uuid}/")) <= 2 * _requetes(ide, _v(grande))


def test_schema_openapi_decrit_le_ppa_sans_remplacement_ni_effacement(client, monde):
    ide = en_tant_que(client, monde, "ide")
    reponse = ide.get("/api/schema/?format=json")
    assert reponse.status_code == 200
    chemins = {c: v for c, v in reponse.json()["paths"].items() if "/ppa/" in c}
    assert "/api/v1/usagers/{uuid_usager}/ppa/" in chemins
    assert "/api/v1/ppa/versions/{uuid_version}/accords/" in chemins
    assert "/api/v1/ppa/versions/{uuid_version}/differentiel/{uuid_autre}/" in chemins
    assert len(chemins) == 13
    assert all(set(v) <= {"get", "post", "parameters"} for v in chemins.values()), chemins
