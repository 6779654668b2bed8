"""Identifiants nationaux éprouvés sur des données publiques réelles (shared/samples) et sur des
saisies fautives : format, clé, messages en français qui nomment le champ."""

import csv
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from coordination.personnes import identifiants as ident

ECHANTILLONS = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
FINESS_EXTRAIT = ECHANTILLONS / "finess" / "etalab-cs1100502-stock-20260512_extrait.csv"
FINESS_APLATI = ECHANTILLONS / "finess" / "etalab_small_20201231_aplati.csv"
PS_LIBRE_ACCES = ECHANTILLONS / "rpps" / "PS_LibreAcces_Personne_activite_extrait.txt"
EXTRACTIONS_V300 = ECHANTILLONS / "rpps" / "annuaire-sante-extractions-v300"


def _lignes_extrait() -> list[list[str]]:
    # Format positionnel : « structureet;nofinesset;nofinessej;… », 1re ligne d'en-tête de lot.
    with FINESS_EXTRAIT.open(encoding="utf-8", newline="") as f:
        return [ligne for ligne in csv.reader(f, delimiter=";") if ligne and ligne[0] == "structureet"]


def _lignes_aplati() -> list[dict]:
    # Fichier abîmé en Latin-1 (caractères U+FFFD) : lu avec errors="replace".
    with FINESS_APLATI.open(encoding="utf-8", errors="replace", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _lignes_ps() -> list[dict]:
    with PS_LIBRE_ACCES.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="|"))


def _colonne_v300(fichier: str, colonne: str) -> list[str]:
    with (EXTRACTIONS_V300 / fichier).open(encoding="utf-8", newline="") as f:
        return [
            ligne[colonne].strip() for ligne in csv.DictReader(f, delimiter=";") if ligne[colonne].strip()
        ]


FINESS_REELS = sorted(
    (
        {v for ligne in _lignes_extrait() for v in ligne[1:3]}
        | {ligne[c] for ligne in _lignes_aplati() for c in ("nofinesset", "nofinessej")}
        | {
            ligne[c]
            for ligne in _lignes_ps()
            for c in ("Numéro FINESS site", "Numéro FINESS établissement juridique")
        }
    )
    - {""}
)
SIRET_REELS = sorted(
    (
        {ligne[22] for ligne in _lignes_extrait()}
        | {ligne["siret"] for ligne in _lignes_aplati()}
        | {ligne["Numéro SIRET site"] for ligne in _lignes_ps()}
    )
    - {""}
)
IDNAT_PS_REELS = sorted(
    {ligne["Identification nationale PP"] for ligne in _lignes_ps()}
    | {
        v
        for fichier in (
            "Activite_extrait.csv",
            "CoordActivite_extrait.csv",
            "CoordCorresp_extrait.csv",
            "DiplomeObtenu_extrait.csv",
            "EtatCivil_extrait.csv",
            "ExercicePro_extrait.csv",
            "Personne_extrait.csv",
            "ReferenceAE_extrait.csv",
            "SavoirFaire_extrait.csv",
        )
        for v in _colonne_v300(fichier, "Identification nationale PP")
    }
)
RPPS_REELS = sorted(
    {ligne["Identifiant PP"] for ligne in _lignes_ps() if ligne["Type d'identifiant PP"] == "8"}
)
ADELI_REELS = sorted(
    {ligne["Identifiant PP"] for ligne in _lignes_ps() if ligne["Type d'identifiant PP"] == "0"}
)
COG_REELS = sorted(
    {ligne["cog"] for ligne in _lignes_aplati()}
    | set(_colonne_v300("EtatCivil_extrait.csv", "Code commune de naissance"))
    | set(_colonne_v300("EtatCivil_extrait.csv", "Code pays de naissance"))  # 99241 Laos
    | set(_colonne_v300("CoordActivite_extrait.csv", "Code commune (coord. activité)"))  # 97302 Cayenne
)


def _erreur(fonction, valeur, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        fonction(valeur, **kwargs)
    return exc.value


# --- Les échantillons sont bien lus -----------------------------------------------------------


def test_les_echantillons_sont_lus_en_entier():
    assert len(_lignes_extrait()) == 14
    assert len(_lignes_aplati()) == 100
    assert len(FINESS_REELS) >= 200  # EG et EJ distincts des deux fichiers FINESS et du fichier RPPS
    assert "010000024" in FINESS_REELS and "010780054" in FINESS_REELS
    assert RPPS_REELS == ["10106476764"]
    assert len(ADELI_REELS) == 21
    assert {"810106476764", "0010001949", "810100669182"} <= set(IDNAT_PS_REELS)
    assert {"38250", "99241", "97302", "01451"} <= set(COG_REELS)


# --- FINESS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("finess", FINESS_REELS)
def test_finess_reel_passe_la_cle_de_luhn(finess):
    resultat = ident.verifier_finess(finess)
    assert resultat.valeur == finess
    assert resultat.cle_verifiee is True


@pytest.mark.parametrize("finess", ["2A0000012", "2B0123456", "2a 000 001 2"])
def test_finess_corse_accepte_sans_cle_verifiee(finess):
    resultat = ident.verifier_finess(finess)
    assert resultat.valeur[:2] in {"2A", "2B"}
    assert len(resultat.valeur) == 9
    assert resultat.cle_verifiee is False


def test_finess_avec_separateurs_est_normalise():
    assert ident.valider_finess(" 01 000 002 4 ") == "010000024"


@pytest.mark.parametrize("finess", ["010000025", "010780050", "970102019"])
def test_finess_mauvaise_cle_refuse(finess):
    erreur = _erreur(ident.verifier_finess, finess, champ="FINESS établissement (EG)")
    assert erreur.code == "cle"
    assert erreur.messages[0].startswith("FINESS établissement (EG) :")
    assert "clé de contrôle" in erreur.messages[0]


@pytest.mark.parametrize("finess", ["01000002", "0100000245", "2C0000012", "AB0000012", ""])
def test_finess_mauvais_format_refuse(finess):
    erreur = _erreur(ident.verifier_finess, finess)
    assert erreur.code == "format"
    assert "Numéro FINESS" in erreur.messages[0]
    assert "9 caractères" in erreur.messages[0]


# --- SIRET ----------------------------------------------------------------------------------


@pytest.mark.parametrize("siret", SIRET_REELS)
def test_siret_reel_accepte(siret):
    assert ident.valider_siret(siret) == siret


def test_siret_mauvaise_cle_refuse():
    erreur = _erreur(ident.valider_siret, "26010004500013")
    assert erreur.code == "cle"
    assert "Numéro SIRET" in erreur.messages[0]


@pytest.mark.parametrize("siret", ["2601000450001", "260100045000120", "2601000450001A"])
def test_siret_mauvais_format_refuse(siret):
    erreur = _erreur(ident.valider_siret, siret)
    assert erreur.code == "format"
    assert "14 chiffres" in erreur.messages[0]


# --- RPPS, ADELI, idNat_PS ------------------------------------------------------------------


@pytest.mark.parametrize("rpps", RPPS_REELS + ["10100669182", "10004973441", "10000037662"])
def test_rpps_reel_accepte(rpps):
    assert ident.valider_rpps(rpps) == rpps


@pytest.mark.parametrize("adeli", ADELI_REELS)
def test_adeli_reel_accepte(adeli):
    assert ident.valider_adeli(adeli) == adeli


@pytest.mark.parametrize("idnat", IDNAT_PS_REELS)
def test_idnat_ps_reel_accepte(idnat):
    assert ident.valider_idnat_ps(idnat) == idnat


def test_rpps_mauvaise_cle_refuse():
    erreur = _erreur(ident.valider_rpps, "10106476765")
    assert erreur.code == "cle"
    assert erreur.messages[0].startswith("Numéro RPPS :")


@pytest.mark.parametrize("rpps", ["1010647676", "101064767640", "1010647676A"])
def test_rpps_mauvais_format_refuse(rpps):
    erreur = _erreur(ident.valider_rpps, rpps)
    assert erreur.code == "format"
    assert "11 chiffres" in erreur.messages[0]


def test_adeli_mauvaise_cle_refuse():
    erreur = _erreur(ident.valider_adeli, "010001948")
    assert erreur.code == "cle"
    assert "Numéro ADELI" in erreur.messages[0]


def test_adeli_mauvais_format_refuse():
    erreur = _erreur(ident.valider_adeli, "01000194")
    assert erreur.code == "format"
    assert "9 caractères" in erreur.messages[0]


def test_idnat_ps_rpps_mauvaise_cle_nomme_la_partie_rpps():
    erreur = _erreur(ident.valider_idnat_ps, "810106476765")
    assert erreur.code == "cle"
    assert erreur.messages[0].startswith("Identifiant national (idNat_PS) (partie RPPS) :")


def test_idnat_ps_adeli_mauvaise_cle_refuse():
    erreur = _erreur(ident.valider_idnat_ps, "0010001948")
    assert erreur.code == "cle"
    assert "partie ADELI" in erreur.messages[0]


@pytest.mark.parametrize(
    "idnat", ["10106476764", "910106476764", "81010647676", "00100019490", "8101064767A4"]
)
def test_idnat_ps_mauvais_format_refuse(idnat):
    erreur = _erreur(ident.valider_idnat_ps, idnat)
    assert erreur.code == "format"
    assert "Identifiant national (idNat_PS)" in erreur.messages[0]


def test_idnat_ps_de_source_officielle_cle_non_verifiee_mais_format_verifie():
    # Identité de test Pro Santé Connect dont la clé peut être fausse : le format seul est vérifié.
    assert ident.valider_idnat_ps("810106476765", verifier_cle=False) == "810106476765"
    assert _erreur(ident.valider_idnat_ps, "8101064767", verifier_cle=False).code == "format"


# --- Matricule INS (NIR / NIA) --------------------------------------------------------------


@pytest.mark.parametrize(
    "matricule",
    [
        "269054958815780",  # exemple public classique du NIR
        "2 69 05 49 588 157 80",  # saisi avec espaces
        "145127505600151",
        "245077505600118",
        "184057645108931",
    ],
)
def test_nir_valide_accepte(matricule):
    assert ident.valider_matricule_ins(matricule) == matricule.replace(" ", "")


def test_nir_corse_2a_cle_calculee_avec_19():
    # 1 80 01 2A 004 123 : clé calculée sur 1800119004123 → 43 (avec « 20 » on trouverait 16).
    assert ident.valider_matricule_ins("180012A00412343") == "180012A00412343"
    assert ident.valider_matricule_ins("1 80 01 2a 004 123 43") == "180012A00412343"
    assert _erreur(ident.valider_matricule_ins, "180012A00412316").code == "cle"


def test_nir_corse_2b_cle_calculee_avec_18():
    # 2 75 03 2B 004 123 : clé calculée sur 2750318004123 → 06 (avec « 20 » on trouverait 49).
    assert ident.valider_matricule_ins("275032B00412306") == "275032B00412306"
    assert _erreur(ident.valider_matricule_ins, "275032B00412349").code == "cle"


@pytest.mark.parametrize("nia", ["780129912345664", "892019912345626"])
def test_nia_accepte(nia):
    assert ident.valider_matricule_ins(nia) == nia


@pytest.mark.parametrize("matricule", ["269054958815781", "145127505600150", "780129912345665"])
def test_matricule_mauvaise_cle_refuse(matricule):
    erreur = _erreur(ident.valider_matricule_ins, matricule)
    assert erreur.code == "cle"
    assert erreur.messages[0].startswith("Matricule INS :")
    assert f"({matricule[13:]})" in erreur.messages[0]


@pytest.mark.parametrize(
    "matricule",
    [
        "26905495881578",  # 14 caractères
        "2690549588157800",  # 16 caractères
        "569054958815780",  # 1er chiffre 5 : ni NIR ni NIA
        "26905495881A780",  # lettre hors département
        "269052C58815780",  # 2C n'existe pas
    ],
)
def test_matricule_mauvais_format_refuse(matricule):
    erreur = _erreur(ident.valider_matricule_ins, matricule)
    assert erreur.code == "format"
    assert erreur.messages[0].startswith("Matricule INS :")


def test_oid_ins_refuse_un_oid_errone_cite_par_des_depots_tiers():
    assert ident.valider_oid_ins(ident.OID_INS_NIA) == "1.2.250.1.213.1.4.9"
    erreur = _erreur(ident.valider_oid_ins, "1.2.250.1.213.1.1.1")
    assert erreur.code == "oid"
    assert "OID du matricule INS" in erreur.messages[0]


# --- Lieu de naissance (COG) ----------------------------------------------------------------


@pytest.mark.parametrize("code", COG_REELS + ["2A004", "2B033", "20004", "99100"])
def test_code_lieu_naissance_reel_accepte(code):
    assert ident.valider_code_lieu_naissance(code) == code


@pytest.mark.parametrize("code", ["7505", "750561", "ABCDE", "00123", "2C004", "", "75 0 5"])
def test_code_lieu_naissance_mauvais_format_refuse(code):
    erreur = _erreur(ident.valider_code_lieu_naissance, code)
    assert erreur.code == "format"
    assert erreur.messages[0].startswith("Code INSEE du lieu de naissance :")
    assert "99xxx" in erreur.messages[0]
