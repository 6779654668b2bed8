"""Pages de suivi du projet personnalisé : versions, différentiel côte à côte (étiquettes écrites,
requêtes constantes quelle que soit la taille), exports (PDF facile à lire, PDF complet, Bundle
TDDUI ; journalisés), reprise d'un Bundle TDDUI dans un brouillon vide (saisies refusées en
français, rien d'écrit) et revues à faire d'une structure (requêtes constantes)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cercle import services as cercle
from cercle.models import TypeMembre
from coordination.comptes.acteur import acteur_systeme
from coordination.journal.models import Evenement
from ppa import fhir, reprise, selectors, selectors_suivi
from ppa import services as ppa
from ppa.models import Action, Besoin, Objectif, ProjetPersonnalise, VersionPPA
from tests.factories import StructureFactory, connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui, valider

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


def _client(client, monde, nom: str = "ide"):
    connecter(client, monde.acteurs[nom].compte)
    return client


def _sans_savepoints(requetes) -> int:
    return len([q for q in requetes.captured_queries if "SAVEPOINT" not in q["sql"]])


def texte_pdf(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def avenant_modifie(monde):
    """Version 1 validée (toilette, marché, amies) puis son avenant en brouillon : la toilette change
    de résultat attendu, le marché est retiré, la cuisine est ajoutée, l'aide à la toilette passe à
    deux fois par semaine, et les attentes changent."""
    version = brouillon_rempli(monde)
    ide = qui(monde, "ide")
    marche = ppa.ajouter_objectif(acteur=ide, version=version, titre="Aller au marché")
    ppa.ajouter_action(acteur=ide, objectif=marche, quoi="Accompagnement au marché", frequence="FREQ=WEEKLY")
    ppa.ajouter_objectif(acteur=ide, version=version, titre="Garder le lien avec ses amies")
    validee = valider(monde, version)
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
    # Pas de service de modification ni de retrait (atelier) : écrits en base, ce que les
    # déclencheurs permettent tant que l'avenant est un brouillon.
    Objectif.objects.filter(version=avenant, titre="Faire sa toilette seule").update(
        resultat_attendu="Douche sans aide cinq jours sur sept"
    )
    Objectif.objects.filter(version=avenant, titre="Aller au marché").delete()
    Action.objects.filter(version=avenant, quoi="Aide à la toilette").update(
        frequence="FREQ=WEEKLY;BYDAY=TU,TH"
    )
    ppa.ajouter_objectif(acteur=ide, version=avenant, titre="Cuisiner un repas par semaine")
    ppa.ecrire_paroles(acteur=ide, version=avenant, attentes="Rester chez moi et cuisiner.")
    return validee, VersionPPA.objects.get(pk=avenant.pk)


def _remplir(version: VersionPPA, monde, objectifs: int) -> None:
    """`objectifs` objectifs d'une action chacun, tous liés à un besoin (insertion en bloc)."""
    besoin = Besoin.objects.create(version=version, libelle="Se déplacer", ordre=0)
    crees = Objectif.objects.bulk_create(
        [Objectif(version=version, titre=f"Objectif {n}", ordre=n) for n in range(objectifs)]
    )
    Objectif.besoins.through.objects.bulk_create(
        [Objectif.besoins.through(objectif_id=o.pk, besoin_id=besoin.pk) for o in crees]
    )
    Action.objects.bulk_create(
        [
            Action(
                version=version, objectif=o, quoi=f"Action {n}", ordre=n, frequence="FREQ=WEEKLY",
                intervenant=monde.membres["ide"] if n % 2 else None,
                intervenant_libelle="" if n % 2 else "Voisin",
            )
            for n, o in enumerate(crees)
        ]
    )  # fmt: skip


# --- Versions -------------------------------------------------------------------------------------


def test_page_des_versions(client, monde):
    validee, avenant = avenant_modifie(monde)
    projet = validee.projet
    reponse = _client(client, monde, "usager").get(
        reverse("ppa:versions", args=[monde.usager.uuid, projet.uuid])
    )
    assert reponse.status_code == 200
    page = reponse.content.decode()
    for attendu in (
        "Version 2", "Version 1", "brouillon (en construction)", "validée", "Avenant de", "la version 1",
        "Jeanne FICTIVE", "pour la personne (ou son représentant légal)", "Version facile à lire (PDF)",
        "Version complète (PDF)", "Export TDDUI", "Voir ce qui change depuis la version 1",
        "Comparer deux versions", "Joindre le projet précédent (PDF ou photo)",
        reverse("ppa:export_complet", args=[monde.usager.uuid, validee.uuid]),
        f"?avant={validee.uuid}&amp;apres={avenant.uuid}",
    ):  # fmt: skip
        assert attendu in page, attendu
    # Le dépôt au DMP de la version validée : refusé, avec la raison (l'identité n'est pas qualifiée).
    assert (
        "Dépôt au DMP" in page and "Non déposé. Envoi refusé : l&#x27;identité INS de Jeanne FICTIVE" in page
    )
    # L'avenant a du contenu : pas de reprise proposée.
    assert reverse("ppa:reprise_tddui", args=[monde.usager.uuid, avenant.uuid]) not in page
    assert Evenement.objects.filter(action=selectors_suivi.LECTURE_PROJET, objet_uuid=projet.uuid).exists()


def test_page_des_versions_sans_ecriture_sans_bouton(client, monde):
    version = brouillon_rempli(monde)
    page = _client(client, monde, "medecin").get(
        reverse("ppa:versions", args=[monde.usager.uuid, version.projet.uuid])
    )
    assert page.status_code == 200
    assert "Joindre le projet précédent" not in page.content.decode()
    assert "Reprendre un projet précédent" not in page.content.decode()


def test_brouillon_vide_propose_la_reprise(client, monde):
    projet = projet_de(monde)
    page = _client(client, monde).get(reverse("ppa:versions", args=[monde.usager.uuid, projet.uuid]))
    assert reverse("ppa:reprise_tddui", args=[monde.usager.uuid, projet.versions.get().uuid]) in (
        page.content.decode()
    )
    assert "Comparer deux versions" not in page.content.decode()


def test_projet_d_un_autre_dossier_ou_inconnu_404(client, monde):
    version = brouillon_rempli(monde)
    cercle_autre = monde.autre_usager
    _client(client, monde)
    assert (
        client.get(reverse("ppa:versions", args=[cercle_autre.uuid, version.projet.uuid])).status_code == 404
    )
    assert client.get(reverse("ppa:versions", args=[monde.usager.uuid, version.uuid])).status_code == 404


def _requetes_page(client, adresse: str) -> tuple[int, object]:
    """Les requêtes d'une page, après un premier affichage (session et acteur déjà établis)."""
    client.get(adresse)
    with CaptureQueriesContext(connection) as requetes:
        reponse = client.get(adresse)
    assert reponse.status_code == 200, reponse.content[:500]
    return _sans_savepoints(requetes), reponse


def test_page_des_versions_en_requetes_constantes(client, monde):
    validee, _ = avenant_modifie(monde)
    seul = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    )
    _client(client, monde)
    peu, _ = _requetes_page(client, reverse("ppa:versions", args=[monde.usager.uuid, seul.uuid]))
    beaucoup, reponse = _requetes_page(
        client, reverse("ppa:versions", args=[monde.usager.uuid, validee.projet.uuid])
    )
    print(f"\nPage des versions : {peu} requêtes (1 version) et {beaucoup} (2 versions, accords).")
    assert peu == beaucoup <= 12  # dont le dépôt au DMP des versions
    assert "Version 2" in reponse.content.decode()


# --- Différentiel ---------------------------------------------------------------------------------


def test_differentiel_cote_a_cote_par_defaut(client, monde):
    validee, avenant = avenant_modifie(monde)
    reponse = _client(client, monde, "aidant_avec_droits").get(
        reverse("ppa:comparer", args=[monde.usager.uuid, validee.projet.uuid])
    )
    assert reponse.status_code == 200
    page = reponse.content.decode()
    for attendu in (
        "Ce qui change de la <strong>version 1</strong>", "à la <strong>version 2</strong>",
        "Avant — version 1", "Après — version 2",
        ">Ajouté</span>", "Cuisiner un repas par semaine", "Absent de la version 1.",
        ">Retiré</span>", "Aller au marché", "Retiré dans la version 2.",
        ">Modifié</span>", "Douche sans aide trois jours sur sept", "Douche sans aide cinq jours sur sept",
        "Résultat attendu", "Fréquence", "chaque semaine, les mardi et jeudi",
        "Attentes de la personne", "Rester chez moi et cuisiner.",
        "Objectifs</a> :", "1 ajouté, 1 retiré, 1 modifié",
    ):  # fmt: skip
        assert attendu in page, attendu
    assert page.index("Douche sans aide trois") < page.index("Douche sans aide cinq")  # avant | après
    lues = Evenement.objects.filter(action=selectors.LECTURE_VERSION).values_list("objet_uuid", flat=True)
    assert {validee.uuid, avenant.uuid} <= set(lues)


def test_differentiel_choix_des_deux_versions(client, monde):
    validee, avenant = avenant_modifie(monde)
    adresse = reverse("ppa:comparer", args=[monde.usager.uuid, validee.projet.uuid])
    _client(client, monde)
    inverse = client.get(adresse, {"avant": avenant.uuid, "apres": validee.uuid}).content.decode()
    assert "Ce qui change de la <strong>version 2</strong>" in inverse
    assert "Cuisiner un repas par semaine" in inverse and "Retiré dans la version 1." in inverse
    identiques = client.get(adresse, {"avant": validee.uuid, "apres": validee.uuid})
    assert "Aucun changement entre ces deux versions." in identiques.content.decode()
    # « avant » seul : comparée à la plus récente.
    seul = client.get(adresse, {"avant": validee.uuid}).content.decode()
    assert "à la <strong>version 2</strong>" in seul


@pytest.mark.parametrize(
    "parametres",
    ["version-inconnue", "pas-un-uuid", "vide", "autre-projet"],
)
def test_differentiel_choix_refuse_en_francais(client, monde, parametres):
    validee, avenant = avenant_modifie(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    )
    avant = {
        "version-inconnue": "3f1e0a55-8d5c-4d1b-9d43-8c0d3f0e9a11",
        "pas-un-uuid": "abc",
        "vide": "",
        "autre-projet": str(autre.versions.get().uuid),
    }[parametres]
    _client(client, monde)
    lectures = Evenement.objects.filter(action=selectors.LECTURE_VERSION).count()
    reponse = client.get(
        reverse("ppa:comparer", args=[monde.usager.uuid, validee.projet.uuid]),
        {"avant": avant, "apres": avenant.uuid},
    )
    assert reponse.status_code == 400
    page = reponse.content.decode()
    assert "Choisissez une version de ce projet dans la liste." in page or "version de ce projet" in page
    assert "aria-describedby" not in page or "id_avant_error" in page
    assert Evenement.objects.filter(action=selectors.LECTURE_VERSION).count() == lectures  # rien de lu


def test_differentiel_en_requetes_constantes(client, monde):
    """1 objectif ou 30 objectifs et 30 actions de chaque côté : autant de requêtes."""
    petit = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Petit", type="PAI"
    )
    grand = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Grand", type="PI"
    )
    for projet, taille in ((petit, 1), (grand, 30)):
        premiere = projet.versions.get()
        _remplir(premiere, monde, taille)
        validee = valider(monde, premiere)
        avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=validee)
        Objectif.objects.filter(version=avenant).update(resultat_attendu="Changé")
        Action.objects.filter(version=avenant).update(ou="À domicile")
        _remplir(avenant, monde, taille)  # autant d'ajouts
    _client(client, monde)
    requetes_petit, _ = _requetes_page(client, reverse("ppa:comparer", args=[monde.usager.uuid, petit.uuid]))
    requetes_grand, reponse = _requetes_page(
        client, reverse("ppa:comparer", args=[monde.usager.uuid, grand.uuid])
    )
    print(f"\nDifférentiel : {requetes_petit} requêtes (1 objectif) et {requetes_grand} (30 objectifs).")
    assert requetes_petit == requetes_grand <= 17
    assert reponse.content.decode().count(">Modifié</span>") == 30 + 30


def test_une_seule_version_rien_a_comparer(client, monde):
    version = brouillon_rempli(monde)
    reponse = _client(client, monde).get(
        reverse("ppa:comparer", args=[monde.usager.uuid, version.projet.uuid])
    )
    assert reponse.status_code == 200
    page = reponse.content.decode()
    assert "n'a qu'une version" in page and "Aucun changement entre ces deux versions." in page


# --- Exports --------------------------------------------------------------------------------------


@pytest.mark.parametrize("forme", ["facile", "complet", "tddui"])
def test_exports_telecharges_et_journalises(client, monde, forme):
    validee = valider(monde, brouillon_rempli(monde))
    _client(client, monde, "usager")
    reponse = client.get(reverse(f"ppa:export_{forme}", args=[monde.usager.uuid, validee.uuid]))
    assert reponse.status_code == 200
    jour = f"{timezone.localdate():%Y%m%d}"
    nom, type_mime = {
        "facile": (f"projet-facile-a-lire-v1-{jour}.pdf", "application/pdf"),
        "complet": (f"projet-complet-v1-{jour}.pdf", "application/pdf"),
        "tddui": (f"projet-tddui-v1-{jour}.json", "application/fhir+json; charset=utf-8"),
    }[forme]
    assert reponse["Content-Type"] == type_mime
    assert reponse["Content-Disposition"] == f'attachment; filename="{nom}"'
    assert reponse["Cache-Control"] == "private, no-store"
    assert "FICTIVE" not in reponse["Content-Disposition"]
    if forme == "tddui":
        bundle = json.loads(reponse.content)
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
        [plan] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"]
        assert plan["meta"]["profile"] == [fhir.PROFIL["CarePlan"]] and plan["status"] == "active"
    else:
        lu = texte_pdf(reponse.content)
        assert "Faire sa toilette seule" in lu and ("Jeanne FICTIVE" in lu) == (forme == "complet")
        assert ("SERAFIN" in lu) == (forme == "complet")
    [evenement] = Evenement.objects.filter(action=selectors_suivi.EXPORT)
    assert evenement.details["forme"] == forme and evenement.details["empreinte"] == validee.empreinte
    assert evenement.usager_uuid == monde.usager.uuid and evenement.objet_uuid == validee.uuid
    assert evenement.compte_uuid == monde.acteurs["usager"].compte.uuid


def test_version_d_un_autre_dossier_404(client, monde):
    """L'usager de l'adresse et la version doivent aller ensemble, même pour qui lit les deux
    dossiers (le SSIAD accompagne aussi Paul, avec `ppa` en lecture)."""
    validee = valider(monde, brouillon_rempli(monde))
    paul = qui(monde, "autre_usager")
    ssiad = cercle.ajouter_membre(
        acteur=paul, usager=monde.autre_usager, type=TypeMembre.STRUCTURE, structure=monde.ssiad
    )
    cercle.accorder(acteur=paul, membre=ssiad, domaine="ppa", niveau=2)
    _client(client, monde)
    for nom in ("ppa:export_complet", "ppa:export_tddui", "ppa:reprise_tddui"):
        assert client.get(reverse(nom, args=[monde.autre_usager.uuid, validee.uuid])).status_code == 404, nom
        assert client.get(reverse(nom, args=[monde.usager.uuid, monde.usager.uuid])).status_code == 404, nom
    versions = reverse("ppa:versions", args=[monde.autre_usager.uuid, validee.projet.uuid])
    assert client.get(versions).status_code == 404
    lectures = [selectors_suivi.EXPORT, selectors.LECTURE_VERSION, selectors_suivi.LECTURE_PROJET]
    assert not Evenement.objects.filter(action__in=lectures).exists()


# --- Reprise d'un Bundle TDDUI --------------------------------------------------------------------


@pytest.fixture
def depart(monde):
    """Le projet validé par le SSIAD exporté en TDDUI, et le brouillon vide d'un nouveau projet de
    Jeanne (autre structure)."""
    validee = valider(monde, brouillon_rempli(monde))
    complete = selectors.version_complete(acteur_systeme("export de test"), validee.uuid)
    bundle = fhir.bundle_tddui(fhir.ContenuCharge.depuis(complete, list(validee.accords.all())))
    projet = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=StructureFactory(raison_sociale="Foyer"),
        titre="Suite",
    )  # fmt: skip
    return bundle, projet.versions.get()


def _fichier_json(contenu, nom: str = "projet.json") -> SimpleUploadedFile:
    octets = contenu if isinstance(contenu, bytes) else json.dumps(contenu).encode()
    return SimpleUploadedFile(nom, octets, content_type="application/json")


def _etat_reprise(version) -> tuple:
    return (
        Besoin.objects.filter(version=version).count(),
        Objectif.objects.filter(version=version).count(),
        Action.objects.filter(version=version).count(),
        VersionPPA.objects.get(pk=version.pk).attentes,
        Evenement.objects.exclude(action__contains="lecture").count(),
    )


def test_reprise_tddui_remplit_le_brouillon(client, monde, depart):
    bundle, brouillon = depart
    adresse = reverse("ppa:reprise_tddui", args=[monde.usager.uuid, brouillon.uuid])
    _client(client, monde)
    page = client.get(adresse)
    assert page.status_code == 200 and "Reprendre ce projet" in page.content.decode()
    reponse = client.post(adresse, {"fichier": _fichier_json(bundle)})
    assert reponse.status_code == 302
    assert reponse["Location"] == reverse("ppa:versions", args=[monde.usager.uuid, brouillon.projet.uuid])
    assert [o.titre for o in Objectif.objects.filter(version=brouillon)] == ["Faire sa toilette seule"]
    assert Action.objects.get(version=brouillon).quoi == "Aide à la toilette"
    assert VersionPPA.objects.get(pk=brouillon.pk).attentes == "Rester chez moi."
    evenement = Evenement.objects.get(action="ppa.reprise.tddui")
    assert evenement.objet_uuid == brouillon.uuid and len(evenement.details["sha256"]) == 64
    suite = client.get(reponse["Location"]).content.decode()
    assert "Le projet précédent est repris dans le brouillon (version 1)" in suite


def _abimer(bundle: dict, facon: str):
    if facon == "json-casse":
        return b'{"resourceType": "Bundle", "entry": [}'
    if facon == "pas-utf8":
        return "é".encode("latin-1") * 10
    if facon == "patient":
        return {"resourceType": "Patient", "id": "x"}
    if facon == "liste":
        return [1, 2]
    if facon == "sans-entree":
        return {"resourceType": "Bundle", "type": "transaction", "entry": []}
    if facon == "mauvais-profil":
        for entree in bundle["entry"]:
            if entree["resource"]["resourceType"] in ("CarePlan", "Goal"):
                entree["resource"]["meta"] = {"profile": ["http://exemple.test/autre-profil"]}
        return bundle
    if facon == "sans-projet":
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "CarePlan"]
        return bundle
    if facon == "entree-invalide":
        goal = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal")
        goal["resource"]["description"] = "texte au lieu d'un CodeableConcept"
        return bundle
    if facon == "objectif-absent":
        task = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")
        task["resource"]["input"].pop()
        return bundle
    if facon == "vide":
        return b"   "
    raise AssertionError(facon)


@pytest.mark.parametrize(
    ("facon", "messages"),
    [
        ("json-casse", ["pas du JSON valide (ligne 1, colonne"]),
        ("pas-utf8", ["encodage UTF-8"]),
        ("patient", ["pas un Bundle FHIR (c'est une ressource « Patient »)"]),
        ("liste", ["pas un Bundle FHIR."]),
        ("sans-entree", ["aucune entrée"]),
        ("mauvais-profil", ["(CarePlan) : profil TDDUI attendu", "(Goal) : profil TDDUI attendu",
                            "reçu : http://exemple.test/autre-profil"]),
        ("sans-projet", ["un et un seul projet personnalisé (CarePlan) ; il n'en contient aucun"]),
        ("entree-invalide", ["(Goal) invalide"]),
        ("objectif-absent", ["son objectif est absent du Bundle"]),
        ("vide", ["Le fichier est vide."]),
    ],
)  # fmt: skip
def test_reprise_bundle_refuse_en_francais_rien_d_ecrit(client, monde, depart, facon, messages):
    bundle, brouillon = depart
    _client(client, monde)
    avant = _etat_reprise(brouillon)
    reponse = client.post(
        reverse("ppa:reprise_tddui", args=[monde.usager.uuid, brouillon.uuid]),
        {"fichier": _fichier_json(_abimer(bundle, facon))},
    )
    assert reponse.status_code == 400
    page = html.unescape(reponse.content.decode())
    for message in messages:
        assert message in page, (message, page[page.find("champ__erreur") :][:800])
    assert _etat_reprise(brouillon) == avant


def test_reprise_fichier_trop_gros_ou_absent(client, monde, depart, monkeypatch):
    bundle, brouillon = depart
    adresse = reverse("ppa:reprise_tddui", args=[monde.usager.uuid, brouillon.uuid])
    _client(client, monde)
    avant = _etat_reprise(brouillon)
    monkeypatch.setattr(reprise, "TAILLE_MAX_BUNDLE", 1024)
    reponse = client.post(adresse, {"fichier": _fichier_json(bundle)})
    assert reponse.status_code == 400 and "Le fichier est trop gros" in reponse.content.decode()
    assert "1 Ko au plus" in reponse.content.decode()
    sans = client.post(adresse, {})
    assert sans.status_code == 400
    assert "Choisissez le fichier du projet précédent (Bundle TDDUI, .json)." in sans.content.decode()
    assert _etat_reprise(brouillon) == avant


def test_reprise_dans_un_brouillon_commence_refusee(client, monde, depart):
    bundle, brouillon = depart
    ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=brouillon, titre="Déjà là")
    adresse = reverse("ppa:reprise_tddui", args=[monde.usager.uuid, brouillon.uuid])
    _client(client, monde)
    page = client.get(adresse).content.decode()
    assert "n'est pas un brouillon vide" in page and "Reprendre ce projet" not in page
    avant = _etat_reprise(brouillon)
    reponse = client.post(adresse, {"fichier": _fichier_json(bundle)})
    assert reponse.status_code == 400
    assert "Le projet précédent se reprend dans un brouillon encore vide." in reponse.content.decode()
    assert _etat_reprise(brouillon) == avant


# --- Revues ---------------------------------------------------------------------------------------


def _projet_a_revoir(monde, titre: str, type_: str, jours: int) -> ProjetPersonnalise:
    """Un projet du SSIAD validé dont la période finit dans `jours` jours (négatif : passée)."""
    projet = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre=titre, type=type_
    )
    version = projet.versions.get()
    ppa.ajouter_objectif(acteur=qui(monde, "ide"), version=version, titre="Un objectif")
    fin = timezone.localdate() + dt.timedelta(days=jours)
    VersionPPA.objects.filter(pk=version.pk).update(debut=fin - dt.timedelta(days=300), fin=fin)
    valider(monde, VersionPPA.objects.get(pk=version.pk))
    return projet


def test_page_des_revues(client, monde):
    en_retard = _projet_a_revoir(monde, "Vivre chez moi", "PPA", -5)
    _projet_a_revoir(monde, "Sortir", "PAI", 12)
    _projet_a_revoir(monde, "Plus tard", "PI", 200)
    reponse = _client(client, monde).get(reverse("ppa:revues"))
    assert reponse.status_code == 200
    page = reponse.content.decode()
    for attendu in (
        "SSIAD du Val Fictif", "En retard (1)", "En retard de 5 jours", "À faire dans les 30 jours (1)",
        "Dans 12 jours", "Jeanne FICTIVE", "Projet personnalisé d&#x27;accompagnement — Vivre chez moi",
        reverse("ppa:versions", args=[monde.usager.uuid, en_retard.uuid]),
    ):  # fmt: skip
        assert attendu in page, attendu
    assert "Plus tard" not in page
    assert page.index("En retard de 5 jours") < page.index("Dans 12 jours")
    lues = Evenement.objects.filter(action=selectors_suivi.LECTURE_REVUES)
    assert lues.count() == 2 and {e.usager_uuid for e in lues} == {monde.usager.uuid}


def test_page_des_revues_vide_et_requetes_constantes(client, monde):
    _client(client, monde, "collegue_structure")
    vide, reponse = _requetes_page(client, reverse("ppa:revues"))
    assert "Aucune revue en retard." in reponse.content.decode()
    for rang in range(4):
        _projet_a_revoir(monde, f"Projet {rang}", ["PPA", "PAI", "PI", "PP"][rang], -rang - 1)
    plein, reponse = _requetes_page(client, reverse("ppa:revues"))
    assert reponse.content.decode().count("suivi-revue--retard") == 4
    # Le journal des lectures : tête de chaîne et une insertion groupée, quel que soit le nombre.
    print(f"\nRevues : {vide} requêtes (aucune revue) et {plein} (4 revues).")
    assert plein == vide + 2 <= 6


@pytest.mark.parametrize("nom", ["usager", "aidant_avec_droits", "medecin", "representant"])
def test_page_des_revues_refusee_hors_d_une_structure(client, monde, nom):
    _projet_a_revoir(monde, "Vivre chez moi", "PPA", -5)
    reponse = _client(client, monde, nom).get(reverse("ppa:revues"))
    assert reponse.status_code == 403
    assert not Evenement.objects.filter(action=selectors_suivi.LECTURE_REVUES).exists()
