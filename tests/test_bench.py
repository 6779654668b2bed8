"""Banc d'essai (bench/) : générateur de données, fichier annuaire synthétique, scénarios."""

import json

import pytest
from stdnum import luhn

from bench import run
from bench.annuaire import ecrire_fichier
from bench.generer import Echelle, generer
from coordination.personnes import annuaire
from coordination.personnes.identifiants import OID_INS_TEST, valider_finess, valider_matricule_ins
from coordination.personnes.models import Exercice, Proche, Professionnel, Structure, Usager, normaliser_trait

PETITE = Echelle(usagers=40, professionnels=12, structures=4)


@pytest.mark.django_db
def test_generateur_remplit_les_tables_avec_des_lignes_valides():
    resultats = generer(PETITE)

    assert Usager.objects.count() == 40
    assert Professionnel.objects.count() == 12
    assert Structure.objects.count() == 4
    assert Exercice.objects.count() == resultats["personnes_exercice"]["lignes"] >= 12
    assert Proche.objects.count() == resultats["personnes_proche"]["lignes"] > 0
    assert set(resultats) == {
        "personnes_structure", "personnes_professionnel", "personnes_exercice", "personnes_usager",
        "personnes_proche",
    }  # fmt: skip
    assert all(chiffres["lignes_par_s"] > 0 for chiffres in resultats.values())

    # Chaque ligne passe la validation complète des modèles (clés INS, RPPS, FINESS, contraintes).
    for modele in (Structure, Professionnel, Exercice, Usager, Proche):
        for objet in modele.objects.all()[:15]:
            objet.full_clean()
    for usager in Usager.objects.all():
        assert usager.nom_naissance_normalise == normaliser_trait(usager.nom_naissance)
        assert usager.premier_prenom_normalise == normaliser_trait(usager.premier_prenom)
        assert usager.nom_naissance_normalise and usager.premier_prenom_normalise
        if usager.matricule_ins:
            assert usager.oid_ins == OID_INS_TEST
            valider_matricule_ins(usager.matricule_ins)
    assert Usager.objects.filter(matricule_ins__isnull=False).exists()
    assert all(p.rpps.startswith("99") and luhn.is_valid(p.rpps) for p in Professionnel.objects.all())
    for structure in Structure.objects.all():
        valider_finess(structure.finess_eg)


@pytest.mark.django_db
def test_generateur_peut_etre_relance_dans_la_meme_base():
    generer(PETITE)
    generer(PETITE, graine=2)

    assert Usager.objects.count() == 80
    assert Professionnel.objects.values("idnat_ps").distinct().count() == 24
    # Les séquences sont recalées : une création ordinaire ne heurte pas les id réservés.
    nouvelle = Structure.objects.create(raison_sociale="Créée après la génération")
    assert nouvelle.pk > max(Structure.objects.exclude(pk=nouvelle.pk).values_list("pk", flat=True))


def test_fichier_annuaire_synthetique_au_format_officiel(tmp_path):
    chemin = tmp_path / "annuaire.txt"

    attendu = ecrire_fichier(chemin, 300)

    entete, *lignes = chemin.read_text(encoding="utf-8").splitlines()
    assert entete == annuaire.ENTETE
    assert len(lignes) == attendu["lignes"] == 300
    for ligne in lignes:
        champs = ligne.split("|")
        assert len(champs) == annuaire.NB_COLONNES + 1 and champs[-1] == ""
        assert annuaire.verifier_idnat(champs[annuaire.I_IDNAT]) is None  # format et clé justes
        if champs[annuaire.I_FINESS_SITE]:
            assert annuaire.verifier_finess(champs[annuaire.I_FINESS_SITE], "FINESS") == (True, None)
    assert len({ligne.split("|")[2] for ligne in lignes}) == attendu["professionnels"]


def test_executer_affiche_un_objet_json_par_scenario(monkeypatch, capsys, tmp_path):
    assert list(run.SCENARIOS)[:2] == ["generation", "import_annuaire"]
    monkeypatch.setitem(run.SCENARIOS, "essai", lambda ctx: {"valeur": ctx.option("essai", "n", 0) * 2})
    ctx = run.Contexte(echelle="S", database_url="", dossier=tmp_path, options={"essai": {"n": 21}})

    resultats = run.executer(ctx, ["essai", "essai"])

    lignes = capsys.readouterr().out.strip().splitlines()
    assert len(lignes) == 2
    objet = json.loads(lignes[0])
    assert objet["scenario"] == "essai" and objet["echelle"] == "S" and objet["valeur"] == 42
    assert "duree_totale_s" in objet
    assert resultats[0] == objet


@pytest.mark.lent
@pytest.mark.django_db(transaction=True)
def test_scenario_import_annuaire_sur_un_petit_fichier(tmp_path):
    ctx = run.Contexte(
        echelle="S",
        database_url=run.url_base_django(),
        dossier=tmp_path,
        options={"import_annuaire": {"lignes": 400, "taille_lot": 150}},
    )

    resultat = run.scenario_import_annuaire(ctx)

    assert resultat["lignes"] == 400
    for passe in ("import", "reimport"):
        chiffres = resultat[passe]
        assert set(chiffres) >= {"duree_s", "duree_import_s", "lignes_par_s", "rss_max_mo", "lignes_rejetees"}
        assert chiffres["lignes_par_s"] > 0
        assert 20 < chiffres["rss_max_mo"] < 1000
        assert chiffres["lignes_rejetees"] == 0
    assert resultat["import"]["professionnels_crees"] == resultat["professionnels_attendus"]
    assert resultat["import"]["structures_creees"] == resultat["structures_attendues"]
    assert resultat["reimport"]["professionnels_crees"] == 0
    assert resultat["reimport"]["exercices_mis_a_jour"] == 0
    assert Professionnel.objects.count() == resultat["professionnels_attendus"]
    assert not list(tmp_path.glob("*.txt"))  # le fichier synthétique est supprimé


@pytest.mark.django_db
def test_generateur_de_cercles_lignes_valides_et_lues_par_la_politique():
    from bench.cercle import generer_cercles
    from cercle import habilitations
    from cercle.models import Cercle, Consentement, Delegation, Habilitation, Membre
    from tests.monde_cercle import acteur_pro

    generer(PETITE)
    tables = generer_cercles()
    assert Cercle.objects.count() == 40 == tables["cercle_cercle"]
    assert Membre.objects.count() == tables["cercle_membre"] >= 40 * 6
    assert Habilitation.objects.count() == tables["cercle_habilitation"] > 40 * 10
    for modele in (Cercle, Membre, Habilitation, Consentement, Delegation):
        for objet in modele.objects.all()[:30]:
            objet.full_clean()
    assert generer_cercles() == {}  # tous les usagers ont déjà leur cercle
    # Un professionnel d'une structure qui accompagne voit ses usagers avec les droits présumés.
    membre = Membre.objects.filter(type="professionnel", exercice__isnull=False, statut="active").first()
    niveaux = habilitations.niveaux(acteur_pro(membre.exercice), membre.cercle.usager)
    attendu = habilitations.DEFAUTS_PAR_ROLE[membre.role]
    assert all(niveaux[domaine] >= niveau for domaine, niveau in attendu.items())


@pytest.mark.django_db
def test_scenario_cercle_a_petite_echelle(tmp_path):
    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"cercle": {"echelle": PETITE, "echantillon": 10}},
    )  # fmt: skip
    resultat = run.scenario_cercle(ctx)
    assert resultat["tables"]["cercle_cercle"] == 40
    assert resultat["professionnels_mesures"] == 10
    assert resultat["mes_usagers"]["requetes_max"] <= 2
    assert resultat["peut_15_decisions"]["requetes_max"] == 1
    # Page entière : session, compte, acteur, page, niveaux, non-lus du cahier de liaison…
    assert resultat["page_mes_usagers_http"]["requetes_max"] <= 9
    assert resultat["mes_usagers"]["p95_ms"] > 0


@pytest.mark.django_db
def test_scenario_recherche_annuaire_a_petite_echelle(tmp_path):
    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"recherche_annuaire": {"professionnels": 3000, "par_sorte": 10}},
    )  # fmt: skip
    resultat = run.scenario_recherche_annuaire(ctx)
    assert resultat["professionnels"] == 3000
    assert resultat["generation"]["lignes"] == 3000 and resultat["generation"]["index_trigramme_s"] > 0
    assert set(resultat["par_sorte"]) == {
        "nom_courant",
        "nom_prenom",
        "debut_de_nom",
        "faute_de_frappe",
        "rpps",
    }
    assert resultat["toutes"]["p95_ms"] > 0
    # Les recherches trouvent bien : un RPPS tiré de la base se retrouve.
    from bench.recherche import requetes_types
    from coordination.personnes.selectors import rechercher_professionnels

    for rpps in requetes_types(5)["rpps"]:
        assert len(rechercher_professionnels(rpps).professionnels) == 1


@pytest.mark.django_db
def test_generateur_de_cahiers_lignes_valides_reprise_et_index_recree():
    from bench import cahier
    from bench.cercle import generer_cercles
    from cahier_liaison.models import Lecture, Note, Sollicitation

    generer(PETITE)
    generer_cercles()
    seuil = cahier.SEUIL_RETRAIT_INDEX
    cahier.SEUIL_RETRAIT_INDEX = 10  # petite échelle : passer quand même par le retrait de l'index
    try:
        tables = cahier.generer_notes(notes_moyennes=6, usagers_par_lot=15)
    finally:
        cahier.SEUIL_RETRAIT_INDEX = seuil
    assert Note.objects.count() == tables["cahier_liaison_note"] >= 40 * 3
    assert tables["notes_par_s"] > 0 and tables["index_gin_s"] >= 0
    assert cahier._definition_index() is not None  # l'index GIN est recréé
    assert Lecture.objects.count() == tables["cahier_liaison_lecture"] > 0
    assert Sollicitation.objects.count() == tables["cahier_liaison_sollicitation"]
    for note in Note.objects.order_by("?")[:60]:
        note.full_clean()
    assert Note.objects.filter(reponse_a__isnull=False).exists()
    assert set(Note.objects.values_list("auteur_type", flat=True)) >= {"professionnel", "logiciel", "usager"}
    assert Note.objects.exclude(visibilite="").exists() and Note.objects.filter(visibilite="").exists()
    assert not Note.objects.filter(auteur_type__in=["usager", "proche"]).exclude(visibilite="").exists()
    assert cahier.generer_notes(notes_moyennes=6) == {}  # rien n'est refait


@pytest.mark.django_db
def test_scenario_cahier_a_petite_echelle(tmp_path):
    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"cahier": {"echelle": PETITE, "notes_moyennes": 8, "paires": 12, "pages": 3,
                            "recherches": 24}},
    )  # fmt: skip
    assert "cahier" in run.SCENARIOS
    resultat = run.scenario_cahier(ctx)
    assert resultat["notes"] == resultat["generation"]["cahier_liaison_note"] > 40 * 3
    assert resultat["paires_mesurees"] >= 10
    assert resultat["fil_selecteurs"]["requetes_max"] <= 6 and resultat["fil_selecteurs"]["p95_ms"] > 0
    assert resultat["fil_page_http"] == "page non servie" or resultat["fil_page_http"]["requetes_max"] <= 17
    dans_un, partout = resultat["recherche_dans_un_cahier"], resultat["recherche_dans_mes_cahiers"]
    assert dans_un["recherches"] == partout["recherches"] == 24
    assert dans_un["requetes_max"] <= 3 and partout["requetes_max"] <= 3  # + les pièces jointes
    assert partout["notes_trouvees_moyenne"] >= dans_un["notes_trouvees_moyenne"] > 0
    # Relancé : rien n'est régénéré.
    assert run.scenario_cahier(ctx)["generation"] == "déjà faite"


@pytest.mark.django_db(transaction=True)
def test_scenario_cahier_fhir_a_toute_petite_echelle(tmp_path):
    from cahier_liaison.models import Note, TypeAuteur

    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"cahier_fhir": {"echelle": PETITE, "notes": 12, "clients": 2, "lots": [5]}},
    )  # fmt: skip

    resultat = run.scenario_cahier_fhir(ctx)

    # 12 en séquence, 12 en parallèle ; puis le lot d'essai (5) et 4 lots de 5 notes par passe.
    assert resultat["notes_ecrites"] == 24 + 5 + 2 * 4 * 5
    lots = resultat["lots_de_5"]
    assert lots["sequentiel"]["notes"] == lots["parallele"]["notes"] == 20
    assert 0 < lots["requetes_sql_par_bundle"] < 80
    assert resultat["sequentiel"]["notes_par_s"] > 0 and resultat["parallele"]["clients"] == 2
    assert 0 < resultat["requetes_sql_par_bundle"] < 80
    # Chaque note est écrite par le logiciel pour le compte d'un professionnel de sa structure.
    note = Note.objects.order_by("-id").first()
    assert note.auteur_type == TypeAuteur.LOGICIEL and note.auteur_exercice.structure == note.auteur_structure
    assert Note.objects.count() == 70  # et le Bundle d'essai qui compte les requêtes


@pytest.mark.django_db(transaction=True)
def test_scenario_ppa_a_toute_petite_echelle(tmp_path):
    """Hors de la transaction d'un test (comme le banc) : les requêtes comptées sont les vraies."""
    from ppa.models import StatutVersion, VersionPPA

    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"ppa": {"echelle": PETITE, "executions": 5}},
    )  # fmt: skip
    resultat = run.scenario_ppa(ctx)
    assert resultat["contenu"] == {"objectifs": 30, "actions": 100, "besoins": 12}
    assert resultat["ouverture"]["requetes_max"] <= 8 and resultat["ouverture"]["p95_ms"] > 0
    assert resultat["differentiel"]["p95_ms"] > 0
    # 2 objectifs ajoutés, 2 retirés (avec leurs 6 actions), 3 modifiés ; 3 fréquences changées.
    assert resultat["changements_ajoutes_retires_modifies"] == {"objectifs": [2, 2, 3], "actions": [0, 6, 3]}
    assert list(VersionPPA.objects.values_list("numero", "statut")) == [
        (1, StatutVersion.VALIDEE),
        (2, StatutVersion.BROUILLON),
    ]
    # Relancé : le projet déjà construit est réutilisé.
    assert run.scenario_ppa(ctx)["contenu"]["objectifs"] == 30
    assert VersionPPA.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_scenario_echanges_a_toute_petite_echelle(tmp_path):
    """Vidage dans ce processus et latence avec un vrai worker, vers l'opérateur du bac à sable."""
    from coordination.echanges.models import MessageSortant, StatutMessage

    ctx = run.Contexte(
        echelle="S", database_url=run.url_base_django(), dossier=tmp_path,
        options={"echanges": {"messages": 60, "mesures": 5}},
    )  # fmt: skip
    resultat = run.scenario_echanges(ctx)
    vidage = resultat["vidage"]
    assert vidage["envoyes"] == vidage["traites"] == 60 and vidage["messages_par_s"] > 0
    assert vidage["stockes_par_l_operateur"] == 80  # et les 20 de la chauffe
    assert resultat["latence"]["mesures"] == 5 and 0 < resultat["latence"]["p95_ms"] < 10_000
    assert not MessageSortant.objects.exclude(statut=StatutMessage.ENVOYE).exists()
