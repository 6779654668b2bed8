"""Import de l'extraction PS_LibreAcces_Personne_activite (`manage.py import_annuaire`).

Données : l'extrait réel de shared/samples/rpps (22 lignes, données publiques de l'ANS)."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from stdnum import luhn

from coordination.journal.models import Evenement
from coordination.personnes import annuaire
from coordination.personnes.models import Exercice, ModeExercice, NomAnnuaire, Professionnel, Structure
from coordination.personnes.selectors import rechercher_professionnels

pytestmark = pytest.mark.django_db

# shared/ est à côté du dépôt (poste de développement comme CI).
ECHANTILLONS = Path(__file__).resolve().parents[2] / "shared" / "samples"
EXTRAIT = ECHANTILLONS / "rpps" / "PS_LibreAcces_Personne_activite_extrait.txt"


def lignes_extrait() -> list[str]:
    return EXTRAIT.read_text(encoding="utf-8").splitlines()


def importer(chemin, *options) -> tuple[str, str]:
    sortie, erreurs = StringIO(), StringIO()
    call_command("import_annuaire", str(chemin), *options, stdout=sortie, stderr=erreurs)
    return sortie.getvalue(), erreurs.getvalue()


def ecrire(tmp_path: Path, lignes: list[str], nom: str = "annuaire.txt") -> Path:
    chemin = tmp_path / nom
    chemin.write_text("\n".join(lignes) + "\n", encoding="utf-8")
    return chemin


def ligne_de(nom: str) -> str:
    return next(ligne for ligne in lignes_extrait() if f"|{nom}|" in ligne)


def test_import_de_l_extrait_reel():
    sortie, erreurs = importer(EXTRAIT)

    assert Professionnel.objects.count() == 22
    assert Structure.objects.count() == 13
    assert Structure.objects.filter(finess_eg__isnull=False).count() == 7
    assert Exercice.objects.count() == 22
    assert Exercice.objects.filter(structure__isnull=True).count() == 9

    mas = Structure.objects.get(finess_eg="010789956")
    assert mas.raison_sociale == "MAS LES MONTAINES MEILLONNAS"
    assert mas.finess_ej == "010785897"
    assert mas.identifiant_technique == "F010789956"
    assert mas.adresse == "23 Chemin DES MONTAINES"
    assert (mas.code_postal, mas.code_commune, mas.commune) == ("01370", "01241", "Meillonnas")
    assert mas.telephone == "0474513005"
    assert mas.siret == "77554408300386"
    assert mas.finess_cle_verifiee is True

    ergo = Exercice.objects.select_related("professionnel").get(structure=mas)
    assert ergo.professionnel.idnat_ps == "0019401140"
    assert (ergo.professionnel.nom_exercice, ergo.professionnel.prenom_exercice) == ("KRISTIAN", "Helene")
    assert (ergo.profession_code, ergo.profession_libelle) == ("94", "Ergothérapeute")
    assert ergo.mode_exercice == ModeExercice.SALARIE
    assert ergo.secteur_activite_code == "SA16"

    cabinet = Structure.objects.get(identifiant_technique="C01920057500")
    assert cabinet.finess_eg is None
    assert cabinet.raison_sociale == "CABINET MME CHAVANON"
    assert cabinet.adresse == "MAISON DE SANTE DE MIONNAY, 90 Rue PRINCIPALE"
    assert Exercice.objects.get(structure=cabinet).mode_exercice == ModeExercice.LIBERAL

    medecin = Professionnel.objects.get(idnat_ps="810106476764")
    assert medecin.rpps == "10106476764"
    assert (medecin.civilite_exercice, medecin.nom_exercice, medecin.profession_libelle) == (
        "DR", "BENHOUCHAME", "Médecin",
    )  # fmt: skip
    assert (medecin.savoir_faire_code, medecin.savoir_faire_libelle) == ("SM20", "Gynécologie-obstétrique")
    assert medecin.exercices.get().structure is None

    # Une ligne sans structure ni mode d'exercice : le professionnel et un exercice sans structure.
    blanc = Professionnel.objects.get(nom_exercice="BLANC")
    exercices = blanc.exercices.values_list("structure", "profession_code", "mode_exercice")
    assert list(exercices) == [(None, "95", "")]

    assert "Lignes lues : 22" in sortie
    assert "Lignes rejetées : 0" in sortie
    assert "Professionnels créés : 22, mis à jour : 0" in sortie
    assert "Structures créées : 13, mises à jour : 0" in sortie
    assert "Situations d'exercice créées : 22, mises à jour : 0" in sortie
    assert "lignes/s" in sortie
    assert erreurs == ""

    # Un seul événement de journal pour tout l'import, acteur système, avec les compteurs.
    evenement = Evenement.objects.get(action="annuaire.import")
    assert evenement.acteur_type == "systeme"
    assert evenement.acteur_nom == "import_annuaire"
    assert evenement.resultat == "succes"
    assert evenement.details["lignes_lues"] == 22
    assert evenement.details["professionnels_crees"] == 22
    assert evenement.details["structures_creees"] == 13
    assert evenement.details["exercices_crees"] == 22
    assert evenement.details["lignes_rejetees"] == 0


def _etat() -> dict:
    return {
        "professionnels": dict(Professionnel.objects.values_list("idnat_ps", "modifie_le")),
        "structures": dict(Structure.objects.values_list("uuid", "modifie_le")),
        "exercices": dict(Exercice.objects.values_list("uuid", "modifie_le")),
    }


def test_reimport_identique_ne_change_rien():
    importer(EXTRAIT)
    avant = _etat()

    sortie, _ = importer(EXTRAIT)

    assert _etat() == avant  # mêmes lignes, aucune réécrite (modifie_le inchangé)
    assert "Professionnels créés : 0, mis à jour : 0" in sortie
    assert "Structures créées : 0, mises à jour : 0" in sortie
    assert "Situations d'exercice créées : 0, mises à jour : 0" in sortie
    assert Evenement.objects.filter(action="annuaire.import").count() == 2


def test_un_nom_modifie_est_mis_a_jour(tmp_path):
    importer(EXTRAIT)
    kristian = Professionnel.objects.get(idnat_ps="0019401140")
    lignes = [ligne.replace("|KRISTIAN|Helene|", "|KRISTIAN-MARTIN|Hélène|") for ligne in lignes_extrait()]
    lignes = [ligne.replace("|MAS LES MONTAINES MEILLONNAS|", "|MAS LES MONTAINES|") for ligne in lignes]

    sortie, _ = importer(ecrire(tmp_path, lignes))

    kristian_apres = Professionnel.objects.get(idnat_ps="0019401140")
    assert kristian_apres.pk == kristian.pk
    assert (kristian_apres.nom_exercice, kristian_apres.prenom_exercice) == ("KRISTIAN-MARTIN", "Hélène")
    assert Structure.objects.get(finess_eg="010789956").raison_sociale == "MAS LES MONTAINES"
    assert "Professionnels créés : 0, mis à jour : 1" in sortie
    assert "Structures créées : 0, mises à jour : 1" in sortie
    assert Professionnel.objects.count() == 22
    assert Exercice.objects.count() == 22


def test_lignes_malformees_signalees_et_ecartees(tmp_path):
    entete, *donnees = lignes_extrait()
    colonne_manquante = ligne_de("JOLY").rsplit("|", 2)[0] + "|"  # 51 colonnes
    champs = ligne_de("BOUILLOT").split("|")
    champs[2] = ""
    id_vide = "|".join(champs)
    champs = ligne_de("PEYRE").split("|")
    champs[1], champs[2] = "1234", "01234"
    id_mal_forme = "|".join(champs)
    finess_mal_forme = ligne_de("KRISTIAN").replace("|010789956|", "|01078995X|")
    lignes = [entete, colonne_manquante, *donnees[:5], id_vide, id_mal_forme, "", finess_mal_forme]
    lignes += donnees[5:]
    chemin = ecrire(tmp_path, lignes)
    with open(chemin, "ab") as fichier:  # une ligne qui n'est pas de l'UTF-8, en dernier
        fichier.write(ligne_de("THOMAS").replace("THOMAS", "TH\u00d6MAS").encode("latin-1") + b"\n")

    sortie, erreurs = importer(chemin)

    assert "Ligne 2 rejetée : 51 colonnes au lieu de 52." in erreurs
    assert "Ligne 8 rejetée : Identification nationale PP : valeur vide." in erreurs
    assert "Ligne 9 rejetée : Identification nationale PP « 01234 » : attendu « 8 » suivi des 11" in erreurs
    assert "Ligne 10 rejetée : ligne vide." in erreurs
    assert "Ligne 11 rejetée : Numéro FINESS site « 01078995X » : attendu 9 caractères" in erreurs
    assert f"Ligne {len(lignes) + 1} rejetée : ligne illisible en utf-8" in erreurs
    assert "Lignes rejetées : 6" in sortie
    assert f"Lignes lues : {len(lignes)}" in sortie
    # Les autres lignes, avant et après les lignes rejetées, sont importées.
    assert Professionnel.objects.count() == 22
    assert Professionnel.objects.filter(nom_exercice="STEVANATO").exists()  # après les lignes rejetées
    assert not Structure.objects.filter(finess_eg="01078995X").exists()
    assert Evenement.objects.get(action="annuaire.import").details["lignes_rejetees"] == 6


def test_cle_fausse_signalee_mais_ligne_importee(tmp_path):
    entete, *_ = lignes_extrait()
    medecin = ligne_de("BENHOUCHAME").replace("|10106476764|810106476764|", "|10106476765|810106476765|")
    mas = ligne_de("KRISTIAN").replace("|010789956|", "|010789957|")
    assert not luhn.is_valid("10106476765") and not luhn.is_valid("010789957")

    sortie, erreurs = importer(ecrire(tmp_path, [entete, medecin, mas]))

    assert "Lignes rejetées : 0" in sortie
    assert "Avertissements : 2" in sortie
    assert (
        "Ligne 2 (avertissement) : Identification nationale PP « 810106476765 » : la clé de contrôle du RPPS "
        "ne correspond pas ; ligne importée quand même" in erreurs
    )
    assert "Ligne 3 (avertissement) : Numéro FINESS site « 010789957 » : la clé de contrôle" in erreurs
    assert Professionnel.objects.filter(idnat_ps="810106476765").exists()
    structure = Structure.objects.get(finess_eg="010789957")
    assert structure.finess_cle_verifiee is False
    assert Exercice.objects.filter(structure=structure, professionnel__nom_exercice="KRISTIAN").exists()


def test_petits_lots_meme_resultat(tmp_path):
    sortie, _ = importer(EXTRAIT, "--taille-lot", "4")

    assert Professionnel.objects.count() == 22
    assert Structure.objects.count() == 13
    assert Exercice.objects.count() == 22
    assert Evenement.objects.get(action="annuaire.import").details["lots"] == 6
    assert "Structures créées : 13, mises à jour : 0" in sortie


def test_lots_coupes_entre_deux_professionnels(tmp_path):
    """Les lignes d'un même professionnel restent dans le même lot (fichier trié par identifiant)."""
    entete, *donnees = lignes_extrait()
    autre_activite = ligne_de("KRISTIAN").replace("|010789956|", "|010002129|")
    lignes = [entete, *donnees[:3], ligne_de("KRISTIAN"), autre_activite, autre_activite, *donnees[3:6]]
    rapport = annuaire.RapportImport()

    lots = list(annuaire.lire_lots(ecrire(tmp_path, lignes), rapport, taille_lot=2))

    numeros = [[int(ligne.split("|", 1)[0]) for ligne in lot.texte.splitlines()] for lot in lots]
    assert numeros == [[2, 3], [4, 5, 6, 7], [8, 9], [10]]
    assert all(lot.nb_lignes <= 4 for lot in lots)
    assert rapport.lignes_lues == 9


def test_exercice_sans_structure_pas_de_doublon(tmp_path):
    entete, *_ = lignes_extrait()
    ligne = ligne_de("CLERC")
    importer(ecrire(tmp_path, [entete, ligne, ligne], "a.txt"))
    importer(ecrire(tmp_path, [entete, ligne], "b.txt"))

    assert Exercice.objects.filter(professionnel__nom_exercice="CLERC", structure__isnull=True).count() == 1


def test_entete_inattendu_refuse(tmp_path):
    chemin = ecrire(tmp_path, ["Nom|Prénom|", "DUPONT|Jean|"])

    with pytest.raises(CommandError, match="En-tête inattendu : 2 colonnes au lieu de 52"):
        importer(chemin)
    assert not Evenement.objects.filter(action="annuaire.import").exists()


def test_fichier_absent_refuse(tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        importer(tmp_path / "absent.txt")


def test_encodage_latin1(tmp_path):
    chemin = tmp_path / "latin1.txt"
    chemin.write_bytes(EXTRAIT.read_text(encoding="utf-8").encode("latin-1"))

    importer(chemin, "--encodage", "latin-1")

    assert Professionnel.objects.get(idnat_ps="0019402379").prenom_exercice == "Anaïs"


def test_luhn_rapide_conforme_a_stdnum():
    for nombre in ("10106476764", "010789956", "010002129", "99700427885", "12345678903", "010789957"):
        assert annuaire.luhn_valide(nombre) == luhn.is_valid(nombre), nombre


def test_structure_saisie_a_la_main_completee_sans_doublon():
    saisie = Structure.objects.create(finess_eg="010789956", raison_sociale="MAS de Meillonnas (saisie)")

    importer(EXTRAIT)

    mas = Structure.objects.get(finess_eg="010789956")
    assert mas.pk == saisie.pk
    assert mas.identifiant_technique == "F010789956"
    assert mas.raison_sociale == "MAS LES MONTAINES MEILLONNAS"
    assert Structure.objects.count() == 13


@pytest.mark.django_db(transaction=True)
def test_import_parallele_hors_transaction(tmp_path):
    """Hors transaction englobante, les situations d'exercice sont écrites sur une seconde
    connexion, en parallèle ; le résultat est le même, lot par lot validé."""
    sortie, _ = importer(EXTRAIT, "--taille-lot", "5", "--incremental")

    assert Professionnel.objects.count() == 22
    assert Structure.objects.count() == 13
    assert Exercice.objects.count() == 22
    assert Exercice.objects.get(structure__finess_eg="010789956").professionnel.nom_exercice == "KRISTIAN"
    assert "Situations d'exercice créées : 22, mises à jour : 0" in sortie
    details = Evenement.objects.get(action="annuaire.import").details
    assert (details["lots"], details["lignes_importees"]) == (5, 22)

    avant = _etat()
    sortie, _ = importer(EXTRAIT, "--taille-lot", "5")
    assert _etat() == avant
    assert "Situations d'exercice créées : 0, mises à jour : 0" in sortie


def test_barre_oblique_inverse_conservee(tmp_path):
    """« \\ » est le seul caractère spécial du format COPY texte ici : il doit arriver tel quel."""
    entete, *_ = lignes_extrait()
    ligne = ligne_de("KRISTIAN").replace("|MAS LES MONTAINES MEILLONNAS|", "|MAS \\N LES MONTAINES\\|")

    importer(ecrire(tmp_path, [entete, ligne]))

    assert Structure.objects.get(finess_eg="010789956").raison_sociale == "MAS \\N LES MONTAINES\\"


def test_uuid_des_lignes_creees():
    """PostgreSQL 18 et plus : UUID v7 (ordonnés dans le temps, moins coûteux à indexer) ; avant : v4."""
    from django.db import connection

    with connection.cursor() as curseur:
        attendu = 7 if annuaire.fonction_uuid(curseur) == "uuidv7()" else 4
        curseur.execute("SHOW server_version_num")
        assert (int(curseur.fetchone()[0]) >= 180000) == (attendu == 7)

    importer(EXTRAIT)

    for modele in (Professionnel, Structure, Exercice):
        versions = set(modele.objects.values_list("uuid", flat=True).distinct())
        assert {u.version for u in versions} == {attendu}
        assert len(versions) == modele.objects.count()


# --- Chargement initial (tables vides) ----------------------------------------------------------


def _schema() -> dict:
    """Définitions des index et contraintes des trois tables (et des index de la table des noms),
    telles que le catalogue les rend."""
    from django.db import connection

    with connection.cursor() as curseur:
        curseur.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [[*annuaire.TABLES_CIBLES, "personnes_nomannuaire"]],
        )
        index = curseur.fetchall()
        curseur.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), condeferrable, "
            "condeferred, convalidated FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [list(annuaire.TABLES_CIBLES)],
        )
        return {"index": index, "contraintes": curseur.fetchall()}


def _contenu() -> dict:
    """Toutes les valeurs importées, clés étrangères exprimées par les identifiants naturels."""
    techniques = {"id", "uuid", "cree_le", "modifie_le"}

    def lignes(modele, *naturels):
        champs = [f.attname for f in modele._meta.concrete_fields if f.attname not in techniques]
        champs = [c for c in champs if not c.endswith("_id")] + list(naturels)
        return sorted((tuple(ligne.values()) for ligne in modele.objects.values(*champs)), key=repr)

    return {
        "professionnels": lignes(Professionnel),
        "structures": lignes(Structure),
        "exercices": lignes(
            Exercice, "professionnel__idnat_ps", "structure__finess_eg", "structure__identifiant_technique"
        ),
    }


def _extrait_etendu(tmp_path: Path) -> Path:
    """L'extrait, plus des lignes qui éprouvent l'ordre des lignes d'une même clé : la même structure
    reprise plus loin sous un autre nom, une ligne en double, une ligne d'une structure à FINESS sans
    identifiant technique."""
    entete, *donnees = lignes_extrait()
    kristian = ligne_de("KRISTIAN")
    champs = kristian.split("|")
    champs[1], champs[2], champs[7] = "99700427885", "899700427885", "AUTRE"
    autre = "|".join(champs).replace("|MAS LES MONTAINES MEILLONNAS|", "|MAS LES MONTAINES (nouveau nom)|")
    champs = ligne_de("JOLY").split("|")
    champs[1], champs[2], champs[21], champs[23] = "99700427893", "899700427893", "010002129", ""
    sans_identifiant = "|".join(champs)
    return ecrire(tmp_path, [entete, *donnees, ligne_de("CLERC"), autre, sans_identifiant], "etendu.txt")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trie", [False, True], ids=["non_trie", "trie"])
@pytest.mark.parametrize("taille_lot", ["20000", "3"])
def test_chargement_initial_memes_valeurs_que_l_import_incremental(tmp_path, taille_lot, trie):
    chemin = _extrait_etendu(tmp_path)
    if trie:  # fichier trié par idNat_PS, comme l'extraction officielle : chargement en flux
        entete, *donnees = chemin.read_text(encoding="utf-8").splitlines()
        chemin = ecrire(
            tmp_path, [entete, *sorted(donnees, key=lambda ligne: ligne.split("|")[2])], "trie.txt"
        )
    sortie_incrementale, erreurs_incrementales = importer(chemin, "--incremental", "--taille-lot", taille_lot)
    attendu = _contenu()
    if not trie:
        # Dans un lot, la première ligne d'une structure l'emporte ; d'un lot à l'autre, le dernier lot.
        nom = "MAS LES MONTAINES (nouveau nom)" if taille_lot == "3" else "MAS LES MONTAINES MEILLONNAS"
        assert Structure.objects.get(finess_eg="010789956").raison_sociale == nom
    Exercice.objects.all().delete()
    Structure.objects.all().delete()
    Professionnel.objects.all().delete()

    sortie, erreurs = importer(chemin, "--taille-lot", taille_lot)

    assert _contenu() == attendu
    assert erreurs == erreurs_incrementales  # mêmes lignes signalées, mêmes numéros, une seule fois
    assert "Professionnels créés : 24, mis à jour : 0" in sortie
    assert "Structures créées : 13, mises à jour : 0" in sortie
    assert "Situations d'exercice créées : 24, mises à jour : 0" in sortie
    premier, second = Evenement.objects.filter(action="annuaire.import").order_by("pk")
    assert "mode" not in premier.details
    assert second.details["mode"] == "chargement_initial"
    # Fichier non trié (une ligne reprise en fin de fichier) : repli sur la table temporaire.
    assert second.details["chargement"] == ("flux" if trie else "table_temporaire")
    assert second.details["lignes_importees"] == premier.details["lignes_importees"] == 25
    assert second.details["lignes_lues"] == premier.details["lignes_lues"]
    assert second.details["lots"] == premier.details["lots"]


@pytest.mark.django_db(transaction=True)
def test_chargement_en_flux_identifiants_et_sequences(tmp_path):
    """Identifiants attribués côté Python : les séquences sont recalées, les UUID sont des v7 distincts,
    et une création ordinaire après le chargement ne heurte aucun identifiant."""
    entete, *donnees = lignes_extrait()
    chemin = ecrire(tmp_path, [entete, *sorted(donnees, key=lambda ligne: ligne.split("|")[2])])
    rapport = annuaire.importer_annuaire(chemin)
    assert rapport.chargement == "flux"
    for modele in (Professionnel, Structure, Exercice):
        uuids = list(modele.objects.values_list("uuid", flat=True))
        assert uuids and len(set(uuids)) == len(uuids)
        assert {u.version for u in uuids} == {7}
    dernier = Structure.objects.order_by("-pk").first().pk
    nouvelle = Structure.objects.create(raison_sociale="Structure créée après l'import")
    assert nouvelle.pk == dernier + 1
    exercice = Exercice.objects.select_related("professionnel").first()
    assert exercice.professionnel.idnat_ps


@pytest.mark.django_db(transaction=True)
def test_chargement_en_flux_identifiant_technique_revendique_apres_coup(tmp_path):
    """Une ligne sans FINESS utilise un identifiant technique qu'une structure à FINESS revendique plus
    loin : le flux ne peut pas reproduire le rattachement, il est abandonné au profit de la table
    temporaire, sans double signalement."""
    entete, *_ = lignes_extrait()
    champs = ligne_de("JOLY").split("|")
    champs[1], champs[2], champs[21], champs[22], champs[23] = "99700000001", "899700000001", "", "", "TECH-X"
    sans_finess = "|".join(champs)
    champs[1], champs[2], champs[21], champs[23] = "99700000019", "899700000019", "010002129", "TECH-X"
    avec_finess = "|".join(champs)
    chemin = ecrire(tmp_path, [entete, sans_finess, avec_finess])
    signales = []
    rapport = annuaire.importer_annuaire(chemin, signaler=signales.append)
    assert rapport.chargement == "table_temporaire"
    assert rapport.lignes_lues == 2 and rapport.lignes_importees == 2
    assert len(signales) == len(set(signales))
    structure = Structure.objects.get(identifiant_technique="TECH-X")
    assert structure.finess_eg == "010002129"
    assert Exercice.objects.filter(structure=structure).count() == 2


@pytest.mark.django_db(transaction=True)
def test_chargement_initial_schema_identique_puis_reimport_incremental():
    avant = _schema()
    assert any(nom == "personnes_professionnel_idnat_ps_key" for _, nom, _ in avant["index"])

    importer(EXTRAIT, "--chargement-initial", "--taille-lot", "5")

    assert Evenement.objects.get(action="annuaire.import").details["mode"] == "chargement_initial"
    assert _schema() == avant  # index et contraintes recréés à l'identique
    assert (Professionnel.objects.count(), Structure.objects.count(), Exercice.objects.count()) == (
        22, 13, 22,
    )  # fmt: skip
    # Les déclencheurs ont tenu la table des noms pendant les COPY : une faute de frappe est rattrapée.
    premiers_mots = {p.cle_recherche.split()[0] for p in Professionnel.objects.all()}
    assert set(NomAnnuaire.objects.values_list("nom", flat=True)) == premiers_mots
    un = Professionnel.objects.filter(nom_exercice__regex=r"^[A-Z]{5,}$").order_by("pk").first()
    faute = un.nom_exercice[0] + un.nom_exercice[2] + un.nom_exercice[1] + un.nom_exercice[3:]
    assert un in rechercher_professionnels(f"{faute} {un.prenom_exercice}").professionnels
    etat = _etat()

    # Le second import du même fichier passe par le chemin incrémental et ne change rien.
    sortie, _ = importer(EXTRAIT)

    assert _etat() == etat
    assert "Professionnels créés : 0, mis à jour : 0" in sortie
    assert "Situations d'exercice créées : 0, mises à jour : 0" in sortie
    dernier = Evenement.objects.filter(action="annuaire.import").latest("pk")
    assert "mode" not in dernier.details
    assert _schema() == avant


@pytest.mark.django_db(transaction=True)
def test_chargement_initial_echec_en_cours_de_lecture_annule_tout(tmp_path):
    """Une erreur au milieu du chargement (ici, l'appelant qui interrompt à un avertissement de la
    dernière ligne, après plusieurs lots copiés) annule tout, index et contraintes compris."""
    avant = _schema()
    entete, *donnees = lignes_extrait()
    fausse_cle = ligne_de("BENHOUCHAME").replace("|10106476764|810106476764|", "|10106476765|810106476765|")
    chemin = ecrire(tmp_path, [entete, *donnees, fausse_cle])

    def interrompre(message: str) -> None:
        raise RuntimeError(f"interrompu : {message[:20]}")

    with pytest.raises(RuntimeError, match="interrompu"):
        annuaire.importer_annuaire(chemin, taille_lot=2, signaler=interrompre)

    assert (Professionnel.objects.count(), Structure.objects.count(), Exercice.objects.count()) == (0, 0, 0)
    assert _schema() == avant
    evenement = Evenement.objects.get(action="annuaire.import")
    assert evenement.resultat == "echec"
    assert evenement.details["mode"] == "chargement_initial"
    # 20 lignes copiées en 10 lots : le 11e n'est émis qu'une fois la ligne suivante validée.
    assert (evenement.details["lots"], evenement.details["lignes_importees"]) == (10, 20)


@pytest.mark.django_db(transaction=True)
def test_chargement_initial_echec_apres_retrait_des_index_annule_tout():
    """Erreur de PostgreSQL pendant les insertions (index et contraintes déjà retirés, professionnels
    et structures déjà insérés) : tout est annulé, schéma compris."""
    from django.db import connection

    avant = _schema()
    with connection.cursor() as curseur:
        curseur.execute(
            "CREATE FUNCTION test_refus_exercice() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'exercice refusé pour le test'; END $$; "
            "CREATE TRIGGER test_refus_exercice BEFORE INSERT ON personnes_exercice "
            "FOR EACH ROW EXECUTE FUNCTION test_refus_exercice()"
        )
    try:
        with pytest.raises(Exception, match="exercice refusé pour le test"):
            importer(EXTRAIT, "--chargement-initial")
        assert not Professionnel.objects.exists()
        assert not Structure.objects.exists()
        assert _schema() == avant
        assert Evenement.objects.get(action="annuaire.import").resultat == "echec"
    finally:
        with connection.cursor() as curseur:
            curseur.execute(
                "DROP TRIGGER IF EXISTS test_refus_exercice ON personnes_exercice; "
                "DROP FUNCTION IF EXISTS test_refus_exercice()"
            )


def test_chargement_initial_refuse_si_tables_non_vides():
    Professionnel.objects.create(idnat_ps="899700427885", nom_exercice="DÉJÀ LÀ")
    avant = _schema()

    with pytest.raises(CommandError, match="Chargement initial impossible : les tables des professionnels"):
        importer(EXTRAIT, "--chargement-initial")

    assert Professionnel.objects.count() == 1
    assert not Exercice.objects.exists()
    assert _schema() == avant
    assert not Evenement.objects.filter(action="annuaire.import").exists()


def test_tables_non_vides_import_incremental_par_defaut():
    Structure.objects.create(finess_eg="010789956", raison_sociale="MAS (saisie)")

    importer(EXTRAIT)

    assert "mode" not in Evenement.objects.get(action="annuaire.import").details
    assert Professionnel.objects.count() == 22


@pytest.mark.django_db(transaction=True)
def test_chargement_en_flux_structure_reprise_dans_un_lot_ulterieur(tmp_path):
    """Fichier trié, un professionnel par lot : la structure vue d'abord sans identifiant technique et
    sous un nom, puis dans un lot ultérieur sous un autre nom avec un identifiant technique, finit comme
    par l'import incrémental (dernier lot pour les valeurs, identifiant technique complété)."""
    entete, *_ = lignes_extrait()
    champs = ligne_de("JOLY").split("|")
    champs[1], champs[2], champs[21], champs[23], champs[24] = (
        "99700000001", "899700000001", "010002129", "", "PREMIER NOM")  # fmt: skip
    premiere = "|".join(champs)
    champs[1], champs[2], champs[23], champs[24] = "99700000019", "899700000019", "F010002129", "SECOND NOM"
    chemin = ecrire(tmp_path, [entete, premiere, "|".join(champs)])
    annuaire.importer_annuaire(chemin, taille_lot=1, chargement_initial=False)
    attendu = _contenu()
    structure = Structure.objects.get(finess_eg="010002129")
    assert (structure.raison_sociale, structure.identifiant_technique) == ("SECOND NOM", "F010002129")
    Exercice.objects.all().delete()
    Structure.objects.all().delete()
    Professionnel.objects.all().delete()

    rapport = annuaire.importer_annuaire(chemin, taille_lot=1)

    assert rapport.chargement == "flux" and rapport.lots == 2
    assert _contenu() == attendu


def _enfants() -> list:
    import psutil

    return [enfant for enfant in psutil.Process().children(recursive=True) if enfant.status() != "zombie"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("interruption", [None, RuntimeError, KeyboardInterrupt])
def test_chargement_en_flux_aucun_processus_ne_survit(tmp_path, monkeypatch, interruption):
    """Le processus de préparation du flux est arrêté à la fin de l'import, après une erreur comme après
    une interruption (Ctrl-C) ; c'est le seul processus lancé."""
    entete, *donnees = lignes_extrait()
    fausse_cle = ligne_de("BENHOUCHAME").replace("|10106476764|810106476764|", "|10106476765|810106476765|")
    chemin = ecrire(tmp_path, [entete, *sorted(donnees, key=lambda ligne: ligne.split("|")[2]), fausse_cle])
    lances = []
    demarrer = annuaire._Preparation.__init__

    def demarrer_et_noter(self, *args) -> None:
        demarrer(self, *args)
        lances.append(self.processus)

    monkeypatch.setattr(annuaire._Preparation, "__init__", demarrer_et_noter)

    def signaler(message: str) -> None:
        if interruption is not None:
            raise interruption("interrompu")

    if interruption is None:
        assert annuaire.importer_annuaire(chemin, taille_lot=2, signaler=signaler).chargement == "flux"
    else:
        with pytest.raises(interruption, match="interrompu"):
            annuaire.importer_annuaire(chemin, taille_lot=2, signaler=signaler)
        assert not Professionnel.objects.exists()
    assert len(lances) == 1
    assert lances[0].poll() is not None  # terminé et attendu
    assert _enfants() == []
