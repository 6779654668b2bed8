"""Territoire de démonstration « Val-Fictif » : données et chargement idempotent.

Tout y est fictif : le département 96 n'existe plus depuis 1976 (aucun code commune, code
postal ni FINESS réel ne commence par 96), les noms portent le suffixe « -FICTIF », les
téléphones sont dans la plage 01 99 00 xx xx, les courriels en « .invalid » (RFC 2606),
les RPPS commencent par 99 et les matricules INS portent l'OID des NIR de test
(1.2.250.1.213.1.4.10). Les clés de contrôle (Luhn pour FINESS, RPPS et SIRET, modulo 97
pour le NIR) sont calculées, donc valides.

Chaque ligne de démonstration a un UUID déterministe (uuid5 d'un espace de noms propre à la
démo) : recharger la démo retrouve les mêmes lignes, ne réécrit que ce qui a changé, et ne
touche jamais une ligne qui n'a pas été créée par elle (si une clé naturelle de la démo —
FINESS, idNat_PS, matricule INS, courriel — est déjà prise par une autre ligne, le chargement
s'arrête sans rien écrire).

Ce module s'importe sans Django configuré (`sandbox/demo_totp.py` s'en sert sans base) : les
modèles ne sont importés que dans les fonctions de chargement.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pyotp

from coordination.personnes import identifiants
from coordination.personnes.identifiants import OID_INS_TEST

MOT_DE_PASSE_DEMO = "demo-portail-2026"
"""Mot de passe commun des comptes de démonstration : public, pour la démonstration uniquement."""

ESPACE_UUID_DEMO = uuid.UUID("5f1c2b7e-9d3a-5e4b-8a61-0c0de0de0001")
DEPARTEMENT = "Val-Fictif (96)"


# --- Secrets déterministes (un seul endroit, partagé avec sandbox/demo_totp.py) -----------------


def _normaliser_email(email: str) -> str:
    return (email or "").strip().lower()


def secret_totp_demo(email: str) -> str:
    """Secret TOTP (base32, 32 caractères = 160 bits) d'un compte de démonstration, dérivé du
    courriel : `make totp EMAIL=…` calcule le code sans base de données."""
    empreinte = hashlib.sha256(f"demo-totp:{_normaliser_email(email)}".encode()).digest()
    return base64.b32encode(empreinte).decode("ascii")[:32]


def graine_codes_secours_demo(email: str) -> str:
    """Graine des codes de secours allauth (80 caractères hexadécimaux, comme `token_hex(40)`)."""
    return hashlib.sha512(f"demo-codes-secours:{_normaliser_email(email)}".encode()).hexdigest()[:80]


def code_totp_actuel(email: str, instant: float | None = None) -> str:
    return pyotp.TOTP(secret_totp_demo(email)).at(instant if instant is not None else time.time())


def secondes_restantes(instant: float | None = None, periode: int = 30) -> int:
    """Secondes de validité restantes du code courant."""
    maintenant = instant if instant is not None else time.time()
    return periode - int(maintenant) % periode


def uuid_demo(nature: str, cle: str) -> uuid.UUID:
    return uuid.uuid5(ESPACE_UUID_DEMO, f"{nature}:{cle}")


# --- Identifiants fictifs à clé valide -------------------------------------------------------------


def _finess(corps: str) -> str:
    """FINESS : 8 chiffres + clé de Luhn."""
    return identifiants.avec_cle_luhn(corps)


def _rpps(corps: str) -> str:
    """RPPS de test (préfixe 99) : 10 chiffres + clé de Luhn."""
    return identifiants.avec_cle_luhn(corps)


def _siret(siren_corps: str, nic_corps: str) -> str:
    """SIRET = SIREN (8 chiffres + clé de Luhn) + NIC (4 chiffres + clé de Luhn sur les 14)."""
    return identifiants.avec_cle_luhn(identifiants.avec_cle_luhn(siren_corps) + nic_corps)


def _nir(corps: str) -> str:
    """NIR : 13 caractères (espaces tolérés) + clé 97 - (numéro mod 97), 2A → 19, 2B → 18."""
    return identifiants.avec_cle_nir(corps.replace(" ", ""))


# --- Les données -----------------------------------------------------------------------------------

# Libellés de la nomenclature TRE_R66 (catégories d'établissement FINESS) ; 460 : libellé 2025 (JDV_J254).
CATEGORIES = {
    "500": "Etablissement d'hébergement pour personnes âgées dépendantes",
    "354": "Service de Soins Infirmiers A Domicile (S.S.I.A.D)",
    "460": "Service autonomie aide (SAA)",
    "183": "Institut Médico-Educatif (I.M.E.)",
    "182": "Service d'Éducation Spéciale et de Soins à Domicile",
    "255": "Maison d'Accueil Spécialisée (M.A.S.)",
    "448": "Etab.Acc.Médicalisé en tout ou partie personnes handicapées",
}
SECTEUR_HANDICAP = "SA16"  # TRE_R02 « Etab. pour Handicapés »


@dataclass(frozen=True)
class CommuneDemo:
    nom: str
    code: str
    code_postal: str


VALFICTIF = CommuneDemo("Valfictif", "96001", "96000")
IMAGINVILLE = CommuneDemo("Imaginville", "96012", "96120")
SAINT_EXEMPLE = CommuneDemo("Saint-Exemple-des-Bois", "96025", "96200")
FAUXMONT = CommuneDemo("Fauxmont", "96033", "96300")
BOURG_INVENTE = CommuneDemo("Le Bourg-Inventé", "96041", "96400")


@dataclass(frozen=True)
class StructureDemo:
    cle: str
    raison_sociale: str
    categorie_code: str
    finess_eg: str | None
    finess_ej: str
    siret: str
    adresse: str
    commune: CommuneDemo
    telephone: str
    enseigne: str = ""
    identifiant_technique: str | None = None


# Entités juridiques (gestionnaires) : un EJ peut gérer plusieurs établissements (EG).
_EJ_TILLEULS = _finess("96000001")  # Association Les Tilleuls fictifs
_EJ_AIDE_SOINS = _finess("96000002")  # Association Aide et soins du Val-Fictif
_EJ_HANDICAP = _finess("96000003")  # Association Val-Fictif Handicap
_EJ_HORIZON = _finess("96000004")  # Fondation fictive de l'Horizon
_SIRET_DAC = _siret("99960005", "0001")

STRUCTURES: tuple[StructureDemo, ...] = (
    StructureDemo(
        "ehpad", "EHPAD Les Tilleuls fictifs", "500", _finess("96000010"), _EJ_TILLEULS,
        _siret("99960001", "0001"), "12 rue des Tilleuls", VALFICTIF, "01 99 00 10 10",
    ),
    StructureDemo(
        "ssiad", "SSIAD du Val-Fictif", "354", _finess("96000020"), _EJ_AIDE_SOINS,
        _siret("99960002", "0001"), "3 place de la Mairie", IMAGINVILLE, "01 99 00 20 20",
    ),
    StructureDemo(
        "saad", "Aide à domicile du Val-Fictif", "460", _finess("96000030"), _EJ_AIDE_SOINS,
        _siret("99960002", "0002"), "3 place de la Mairie", IMAGINVILLE, "01 99 00 30 30",
        enseigne="Val-Fictif Services",
    ),
    StructureDemo(
        "ime", "IME Les Coquelicots fictifs", "183", _finess("96000040"), _EJ_HANDICAP,
        _siret("99960003", "0001"), "8 chemin des Coquelicots", SAINT_EXEMPLE, "01 99 00 40 40",
    ),
    StructureDemo(
        "sessad", "SESSAD du Val-Fictif", "182", _finess("96000050"), _EJ_HANDICAP,
        _siret("99960003", "0002"), "21 avenue de l'Exemple", VALFICTIF, "01 99 00 50 50",
    ),
    StructureDemo(
        "mas", "MAS L'Horizon fictif", "255", _finess("96000060"), _EJ_HORIZON,
        _siret("99960004", "0001"), "1 route de l'Horizon", FAUXMONT, "01 99 00 60 60",
    ),
    StructureDemo(
        "eam", "EAM Les Jardins fictifs", "448", _finess("96000070"), _EJ_HORIZON,
        _siret("99960004", "0002"), "5 allée des Jardins", FAUXMONT, "01 99 00 70 70",
    ),
    # Le DAC n'a pas de FINESS propre ici : repéré par l'identifiant de structure de l'Annuaire
    # Santé construit sur le SIRET (« 3 » + SIRET).
    StructureDemo(
        "dac", "DAC du Val-Fictif (dispositif d'appui à la coordination)", "", None, "",
        _SIRET_DAC, "40 boulevard de la Coordination", VALFICTIF, "01 99 00 80 80",
        identifiant_technique="3" + _SIRET_DAC,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ExerciceDemo:
    structure: str | None  # clé d'une StructureDemo ; None pour un exercice libéral sans structure
    fonction: str
    mode: str  # ModeExercice : "S" salarié, "L" libéral
    date_debut: date
    secteur: str = ""


@dataclass(frozen=True)
class ProfessionnelDemo:
    cle: str
    prenom: str
    nom: str
    profession_libelle: str
    exercices: tuple[ExerciceDemo, ...]
    rpps: str | None = None  # None : personnel médico-social pas (encore) inscrit au RPPS+
    profession_code: str = ""  # TRE_G15
    civilite_exercice: str = ""
    savoir_faire_libelle: str = ""
    telephone: str = ""
    compte: str = ""  # courriel du compte de démonstration

    @property
    def idnat_ps(self) -> str | None:
        return "8" + self.rpps if self.rpps else None


def _sal(structure: str, fonction: str, debut: date, secteur: str = "") -> ExerciceDemo:
    return ExerciceDemo(structure, fonction, "S", debut, secteur)


def _lib(fonction: str, debut: date) -> ExerciceDemo:
    return ExerciceDemo(None, fonction, "L", debut)


_H = SECTEUR_HANDICAP

PROFESSIONNELS: tuple[ProfessionnelDemo, ...] = (
    # Ville
    ProfessionnelDemo(
        "rousseau", "Hélène", "ROUSSEAU-FICTIF", "Médecin", (_lib("médecin traitant", date(2009, 9, 1)),),
        rpps=_rpps("9996000001"), profession_code="10", civilite_exercice="DR",
        savoir_faire_libelle="Médecine générale", telephone="01 99 00 01 01",
    ),
    ProfessionnelDemo(
        "fabre", "Pierre", "FABRE-FICTIF", "Masseur-kinésithérapeute",
        (_lib("masseur-kinésithérapeute", date(2012, 3, 1)),),
        rpps=_rpps("9996000002"), profession_code="70", telephone="01 99 00 01 02",
    ),
    ProfessionnelDemo(
        "lemaire", "Émilie", "LEMAIRE-FICTIF", "Orthophoniste", (_lib("orthophoniste", date(2016, 1, 4)),),
        rpps=_rpps("9996000003"), profession_code="91", telephone="01 99 00 01 03",
    ),
    # DAC et SSIAD : la coordinatrice exerce dans deux structures (choix de la qualité).
    ProfessionnelDemo(
        "giraud", "Élodie", "GIRAUD-FICTIF", "Infirmier",
        (
            _sal("dac", "référente de parcours", date(2021, 1, 4)),
            _sal("ssiad", "infirmière coordinatrice", date(2018, 9, 1)),
        ),
        rpps=_rpps("9996000004"), profession_code="60", telephone="01 99 00 02 01",
        compte="coordinatrice@demo.invalid",
    ),
    ProfessionnelDemo(
        "roche", "Céline", "ROCHE-FICTIF", "Assistante de service social",
        (_sal("dac", "assistante sociale", date(2020, 6, 1)),),
    ),
    # SSIAD
    ProfessionnelDemo(
        "nguyen", "Thomas", "NGUYEN-FICTIF", "Infirmier", (_sal("ssiad", "infirmier", date(2019, 2, 1)),),
        rpps=_rpps("9996000005"), profession_code="60", telephone="01 99 00 02 02",
        compte="ide.ssiad@demo.invalid",
    ),
    ProfessionnelDemo(
        "diallo", "Fatou", "DIALLO-FICTIF", "Aide-soignante",
        (_sal("ssiad", "aide-soignante", date(2017, 5, 2)),),
    ),
    # SAAD
    ProfessionnelDemo(
        "fontaine", "Isabelle", "FONTAINE-FICTIF", "Responsable de secteur",
        (_sal("saad", "responsable de secteur", date(2015, 10, 1)),),
    ),
    ProfessionnelDemo(
        "mercier", "Julie", "MERCIER-FICTIF", "Accompagnante éducative et sociale",
        (_sal("saad", "auxiliaire de vie", date(2022, 4, 11)),),
    ),
    # EHPAD
    ProfessionnelDemo(
        "caron", "Philippe", "CARON-FICTIF", "Directeur d'établissement",
        (_sal("ehpad", "directeur", date(2014, 1, 6)),),
    ),
    ProfessionnelDemo(
        "dubois", "Marc", "DUBOIS-FICTIF", "Médecin",
        (_sal("ehpad", "médecin coordonnateur", date(2016, 9, 1)),),
        rpps=_rpps("9996000006"), profession_code="10", civilite_exercice="DR",
        savoir_faire_libelle="Gériatrie",
    ),
    ProfessionnelDemo(
        "morel", "Sylvie", "MOREL-FICTIF", "Infirmier", (_sal("ehpad", "infirmière", date(2013, 11, 18)),),
        rpps=_rpps("9996000007"), profession_code="60",
    ),
    ProfessionnelDemo(
        "legrand", "Kevin", "LEGRAND-FICTIF", "Aide-soignant",
        (_sal("ehpad", "aide-soignant", date(2021, 7, 1)),),
    ),
    # IME et SESSAD
    ProfessionnelDemo(
        "colin", "Anne-Sophie", "COLIN-FICTIF", "Directrice d'établissement",
        (_sal("ime", "directrice", date(2019, 1, 2), _H),),
    ),
    ProfessionnelDemo(
        "haddad", "Karim", "HADDAD-FICTIF", "Éducateur spécialisé",
        (_sal("ime", "éducateur spécialisé", date(2017, 9, 1), _H),),
        rpps=_rpps("9996000008"),  # inscrit au RPPS+ par son employeur
        compte="educateur.ime@demo.invalid",
    ),
    ProfessionnelDemo(
        "perrin", "Laura", "PERRIN-FICTIF", "Psychologue",
        (_sal("ime", "psychologue", date(2018, 3, 5), _H),),
        rpps=_rpps("9996000009"), profession_code="93",
    ),
    ProfessionnelDemo(
        "roy", "Maxime", "ROY-FICTIF", "Éducateur spécialisé",
        (_sal("sessad", "éducateur spécialisé", date(2020, 9, 1), _H),),
    ),
    ProfessionnelDemo(
        "gauthier", "Chloé", "GAUTHIER-FICTIF", "Psychomotricien",
        (_sal("sessad", "psychomotricienne", date(2019, 9, 2), _H),),
        rpps=_rpps("9996000010"), profession_code="96",
    ),
    # MAS et EAM
    ProfessionnelDemo(
        "brun", "Antoine", "BRUN-FICTIF", "Médecin", (_sal("mas", "médecin", date(2015, 4, 1), _H),),
        rpps=_rpps("9996000011"), profession_code="10", civilite_exercice="DR",
        savoir_faire_libelle="Médecine physique et de réadaptation",
    ),
    ProfessionnelDemo(
        "blanchard", "Sarah", "BLANCHARD-FICTIF", "Ergothérapeute",
        (_sal("mas", "ergothérapeute", date(2018, 6, 4), _H),),
        rpps=_rpps("9996000012"), profession_code="94",
    ),
    ProfessionnelDemo(
        "chevalier", "Vincent", "CHEVALIER-FICTIF", "Infirmier",
        (_sal("mas", "infirmier", date(2020, 2, 3), _H),),
        rpps=_rpps("9996000013"), profession_code="60",
    ),
    ProfessionnelDemo(
        "marchand", "Jordan", "MARCHAND-FICTIF", "Accompagnant éducatif et social",
        (_sal("mas", "accompagnant éducatif et social", date(2022, 1, 3), _H),),
    ),
    ProfessionnelDemo(
        "boyer", "Nadia", "BOYER-FICTIF", "Accompagnante éducative et sociale",
        (_sal("eam", "accompagnante éducative et sociale", date(2016, 5, 17), _H),),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class UsagerDemo:
    cle: str
    nom_naissance: str
    prenoms_naissance: str
    date_naissance: date
    sexe: str  # "F" / "M"
    code_lieu_naissance: str
    statut: str  # StatutIdentite : PROV, RECUP, VALI, QUAL
    situation: str  # pour la lecture : où et par qui la personne est accompagnée
    matricule_ins: str | None = None
    mode_recueil: str = "SM"
    date_interrogation_insi: date | None = None
    justificatif: str = ""
    douteuse: bool = False
    fictive: bool = False
    nom_utilise: str = ""
    adresse: str = ""
    commune: CommuneDemo | None = None
    telephone: str = ""
    email: str = ""
    compte: str = ""

    @property
    def oid_ins(self) -> str:
        return OID_INS_TEST if self.matricule_ins else ""


_INSI = date(2025, 11, 4)
_CNI = "carte nationale d'identité"
_EHPAD = "12 rue des Tilleuls (EHPAD Les Tilleuls fictifs)"
_MAS = "1 route de l'Horizon (MAS L'Horizon fictif)"

USAGERS: tuple[UsagerDemo, ...] = (
    # Personnes âgées à domicile (SSIAD, SAAD) ; un couple aidé par sa fille.
    UsagerDemo(
        "marcelle", "LAMBERT-FICTIF", "Marcelle Louise", date(1938, 3, 12), "F", "96012", "QUAL",
        "à domicile, SSIAD et aide à domicile", matricule_ins=_nir("2 38 03 96012 811"), mode_recueil="INSI",
        date_interrogation_insi=_INSI, justificatif=_CNI, nom_utilise="MARTIN-FICTIF",
        adresse="7 impasse des Glycines", commune=IMAGINVILLE, telephone="01 99 00 31 01",
    ),
    UsagerDemo(
        "robert", "MARTIN-FICTIF", "Robert André", date(1936, 11, 2), "M", "96025", "RECUP",
        "à domicile, SSIAD", matricule_ins=_nir("1 36 11 96025 812"), mode_recueil="INSI",
        date_interrogation_insi=_INSI, adresse="7 impasse des Glycines", commune=IMAGINVILLE,
        telephone="01 99 00 31 01",
    ),
    UsagerDemo(
        "bernard", "PETIT-FICTIF", "Bernard Jean", date(1957, 4, 17), "M", "96001", "QUAL",
        "à domicile après un AVC, SSIAD et aide à domicile ; se connecte lui-même",
        matricule_ins=_nir("1 57 04 96001 816"), mode_recueil="INSI",
        date_interrogation_insi=date(2026, 1, 12),
        justificatif="passeport", adresse="15 rue du Moulin", commune=VALFICTIF, telephone="01 99 00 31 02",
        email="usager@demo.invalid", compte="usager@demo.invalid",
    ),
    UsagerDemo(
        "alice", "CONFIDENTIEL-FICTIF", "Alice", date(1990, 1, 1), "F", "", "PROV",
        "aide à domicile, identité d'emprunt à la demande de la personne (mise à l'abri)", fictive=True,
    ),
    # EHPAD
    UsagerDemo(
        "jeanne", "DURAND-FICTIF", "Jeanne Marie", date(1931, 6, 21), "F", "96001", "VALI",
        "résidente de l'EHPAD, sous tutelle de son neveu ; identité contrôlée sur pièce, INSi pas encore "
        "interrogé (validée sans INS)", justificatif=_CNI, adresse=_EHPAD, commune=VALFICTIF,
    ),
    UsagerDemo(
        "lucien", "BERNARD-FICTIF", "Lucien Paul", date(1940, 1, 30), "M", "75114", "RECUP",
        "résident de l'EHPAD, né à Paris 14e", matricule_ins=_nir("1 40 01 75114 814"), mode_recueil="INSI",
        date_interrogation_insi=date(2025, 6, 30), adresse=_EHPAD, commune=VALFICTIF,
    ),
    UsagerDemo(
        "yvette", "ROUX-FICTIF", "Yvette", date(1935, 8, 8), "F", "96033", "PROV",
        "résidente de l'EHPAD, identité douteuse (homonyme, date de naissance incertaine)",
        matricule_ins=_nir("2 35 08 96033 815"), douteuse=True, adresse=_EHPAD, commune=VALFICTIF,
    ),
    # Enfants (IME, SESSAD)
    UsagerDemo(
        "lucas", "MOREAU-FICTIF", "Lucas Gabriel", date(2014, 5, 22), "M", "96001", "QUAL",
        "enfant accueilli à l'IME", matricule_ins=_nir("1 14 05 96001 817"), mode_recueil="INSI",
        date_interrogation_insi=date(2025, 9, 1), justificatif="livret de famille et CNI du parent",
        adresse="2 rue des Écoles", commune=SAINT_EXEMPLE,
    ),
    UsagerDemo(
        "ines", "GARNIER-FICTIF", "Inès Yasmine", date(2017, 9, 3), "F", "96025", "VALI",
        "enfant suivie par le SESSAD à l'école", matricule_ins=_nir("2 17 09 96025 818"), mode_recueil="CV",
        justificatif=_CNI, adresse="9 rue de la Gare", commune=SAINT_EXEMPLE,
    ),
    UsagerDemo(
        "theo", "LEROY-FICTIF", "Théo", date(2012, 2, 14), "M", "96012", "PROV",
        "admis à l'IME, sans INS (démarches en cours)", adresse="4 rue Basse", commune=BOURG_INVENTE,
    ),
    # Adultes en situation de handicap (MAS, EAM)
    UsagerDemo(
        "nicolas", "FAURE-FICTIF", "Nicolas Pierre", date(1985, 10, 9), "M", "2B033", "RECUP",
        "résident de la MAS, né à Bastia (2B), sous tutelle de sa mère",
        matricule_ins=_nir("1 85 10 2B033 819"), mode_recueil="INSI",
        date_interrogation_insi=date(2025, 3, 17),
        adresse=_MAS, commune=FAUXMONT,
    ),
    UsagerDemo(
        "ana", "SILVA-FICTIF", "Ana Maria", date(1979, 12, 1), "F", "99139", "VALI",
        "accueillie à l'EAM, née au Portugal, sous curatelle", matricule_ins=_nir("2 79 12 99139 820"),
        mode_recueil="CV", justificatif="titre de séjour",
        adresse="5 allée des Jardins (EAM Les Jardins fictifs)", commune=FAUXMONT,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ProcheDemo:
    cle: str
    usager: str  # clé d'un UsagerDemo
    lien: str  # LienProche
    precision: str
    prenoms: str
    nom: str
    date_debut: date
    mesure: str = ""  # MesureProtection
    telephone: str = ""
    email: str = ""
    compte: str = ""


PROCHES: tuple[ProcheDemo, ...] = (
    # Une aidante de ses deux parents : un compte, deux liens.
    ProcheDemo(
        "sophie-marcelle", "marcelle", "aidant", "fille", "Sophie", "MARTIN-FICTIF", date(2022, 3, 1),
        telephone="01 99 00 41 01", email="aidante@demo.invalid", compte="aidante@demo.invalid",
    ),
    ProcheDemo(
        "sophie-robert", "robert", "aidant", "fille", "Sophie", "MARTIN-FICTIF", date(2023, 10, 15),
        telephone="01 99 00 41 01", email="aidante@demo.invalid", compte="aidante@demo.invalid",
    ),
    ProcheDemo(
        "monique", "bernard", "personne_confiance", "épouse", "Monique", "PETIT-FICTIF", date(2024, 5, 6),
        telephone="01 99 00 41 02",
    ),
    ProcheDemo(
        "paul", "jeanne", "representant_legal", "neveu, tuteur familial", "Paul", "DURAND-FICTIF",
        date(2021, 2, 8), mesure="tutelle", telephone="01 99 00 41 03", email="tuteur@demo.invalid",
        compte="tuteur@demo.invalid",
    ),
    ProcheDemo(
        "didier", "lucien", "personne_confiance", "fils", "Didier", "BERNARD-FICTIF", date(2023, 1, 9),
        telephone="01 99 00 41 04",
    ),
    ProcheDemo(
        "gerard", "yvette", "personne_a_prevenir", "voisin", "Gérard", "VOISIN-FICTIF", date(2024, 11, 20),
        telephone="01 99 00 41 05",
    ),
    ProcheDemo(
        "claire", "lucas", "representant_legal", "mère", "Claire", "MOREAU-FICTIF", date(2014, 5, 22),
        mesure="autorite_parentale", telephone="01 99 00 41 06", email="parent@demo.invalid",
        compte="parent@demo.invalid",
    ),
    ProcheDemo(
        "julien", "lucas", "representant_legal", "père", "Julien", "MOREAU-FICTIF", date(2014, 5, 22),
        mesure="autorite_parentale", telephone="01 99 00 41 07",
    ),
    ProcheDemo(
        "mehdi", "ines", "representant_legal", "père", "Mehdi", "GARNIER-FICTIF", date(2017, 9, 3),
        mesure="autorite_parentale", telephone="01 99 00 41 08",
    ),
    ProcheDemo(
        "aurelie", "theo", "representant_legal", "mère", "Aurélie", "LEROY-FICTIF", date(2012, 2, 14),
        mesure="autorite_parentale", telephone="01 99 00 41 09",
    ),
    ProcheDemo(
        "martine", "nicolas", "representant_legal", "mère, tutrice", "Martine", "FAURE-FICTIF",
        date(2004, 1, 12), mesure="tutelle", telephone="01 99 00 41 10",
    ),
    ProcheDemo(
        "helene", "ana", "representant_legal", "curatrice (mandataire judiciaire)", "Hélène",
        "VASSEUR-FICTIF", date(2019, 7, 1), mesure="curatelle", telephone="01 99 00 41 11",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class CompteDemo:
    email: str
    nom_affiche: str
    role: str  # pour la lecture du tableau des connexions
    administrateur: bool = False


COMPTES: tuple[CompteDemo, ...] = (
    CompteDemo(
        "coordinatrice@demo.invalid", "Élodie GIRAUD-FICTIF", "coordinatrice, deux situations d'exercice"
    ),
    CompteDemo("ide.ssiad@demo.invalid", "Thomas NGUYEN-FICTIF", "infirmier du SSIAD"),
    CompteDemo("educateur.ime@demo.invalid", "Karim HADDAD-FICTIF", "éducateur spécialisé de l'IME"),
    CompteDemo("usager@demo.invalid", "Bernard PETIT-FICTIF", "usager (identité qualifiée)"),
    CompteDemo("aidante@demo.invalid", "Sophie MARTIN-FICTIF", "aidante de ses deux parents"),
    CompteDemo("tuteur@demo.invalid", "Paul DURAND-FICTIF", "représentant légal (tutelle)"),
    CompteDemo("parent@demo.invalid", "Claire MOREAU-FICTIF", "mère d'un enfant mineur (autorité parentale)"),
    CompteDemo("admin@demo.invalid", "Administrateur démo", "administrateur technique", administrateur=True),
)

EMAILS_DEMO = tuple(c.email for c in COMPTES)


# --- Chargement --------------------------------------------------------------------------------------


class ErreurDemo(Exception):
    """Le chargement de la démo ne peut pas se faire sans toucher à des données qui ne sont pas à elle."""


@dataclass
class Bilan:
    crees: Counter = field(default_factory=Counter)
    modifies: Counter = field(default_factory=Counter)
    inchanges: Counter = field(default_factory=Counter)

    def noter(self, nature: str, etat: str) -> None:
        getattr(self, etat)[nature] += 1

    @property
    def nb_crees(self) -> int:
        return sum(self.crees.values())

    @property
    def nb_modifies(self) -> int:
        return sum(self.modifies.values())

    @property
    def nb_inchanges(self) -> int:
        return sum(self.inchanges.values())

    def pour_journal(self) -> dict:
        return {"crees": dict(self.crees), "modifies": dict(self.modifies), "inchanges": dict(self.inchanges)}


def _differe(objet, nom: str, valeur) -> bool:
    champ = objet._meta.get_field(nom)
    if champ.is_relation:
        return getattr(objet, champ.attname) != (valeur.pk if valeur is not None else None)
    return getattr(objet, nom) != valeur


def _synchroniser(
    modele, uuid_ligne: uuid.UUID, champs: dict, bilan: Bilan, *, cle_naturelle: dict | None = None
):
    """Crée la ligne de démonstration `uuid_ligne` ou met à jour ses champs qui ont changé.

    Refuse (ErreurDemo) si la clé naturelle est déjà portée par une ligne qui n'est pas celle de
    la démo : la démo ne modifie jamais les données de quelqu'un d'autre."""
    nature = modele._meta.verbose_name
    objet = modele.objects.filter(uuid=uuid_ligne).first()
    if objet is None:
        if cle_naturelle and modele.objects.filter(**cle_naturelle).exists():
            valeurs = ", ".join(
                f"{modele._meta.get_field(k.split('__')[0]).verbose_name} {v}"
                for k, v in cle_naturelle.items()
            )
            raise ErreurDemo(
                f"Démo non chargée : un(e) {nature} existe déjà avec {valeurs} sans appartenir à la démo ; "
                "rien n'a été modifié."
            )
        objet = modele(uuid=uuid_ligne, **champs)
        objet.full_clean()
        objet.save()
        bilan.noter(nature, "crees")
        return objet
    changes = [nom for nom, valeur in champs.items() if _differe(objet, nom, valeur)]
    if not changes:
        bilan.noter(nature, "inchanges")
        return objet
    for nom in changes:
        setattr(objet, nom, champs[nom])
    objet.full_clean()
    objet.save()
    bilan.noter(nature, "modifies")
    return objet


def _hash_mot_de_passe_demo() -> str:
    """Empreinte du mot de passe commun avec un sel fixe : identique d'un chargement à l'autre
    (pas de réécriture des comptes) et calculée une seule fois par chargement."""
    from django.contrib.auth.hashers import make_password

    sel = hashlib.sha256(b"demo-portail-sel").hexdigest()[:24]
    return make_password(MOT_DE_PASSE_DEMO, salt=sel)


def _charger_comptes(bilan: Bilan) -> dict:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt, encrypt

    from coordination.comptes.models import Compte

    empreinte = _hash_mot_de_passe_demo()
    comptes = {}
    for donnees in COMPTES:
        compte = _synchroniser(
            Compte,
            uuid_demo("compte", donnees.email),
            {
                "email": donnees.email,
                "nom_affiche": donnees.nom_affiche,
                "password": empreinte,
                "is_active": True,
                "is_staff": donnees.administrateur,
                "is_superuser": donnees.administrateur,
            },
            bilan,
            cle_naturelle={"email__iexact": donnees.email},
        )
        comptes[donnees.email] = compte

        adresse = EmailAddress.objects.filter(email__iexact=donnees.email).first()
        if adresse is not None and adresse.user_id != compte.pk:
            raise ErreurDemo(
                f"Démo non chargée : le courriel {donnees.email} est déjà vérifié pour un autre compte ; "
                "rien n'a été modifié."
            )
        if adresse is None:
            EmailAddress.objects.create(user=compte, email=donnees.email, verified=True, primary=True)
            bilan.noter("adresse électronique", "crees")
        elif not (adresse.verified and adresse.primary and adresse.email == donnees.email):
            adresse.email, adresse.verified, adresse.primary = donnees.email, True, True
            adresse.save()
            bilan.noter("adresse électronique", "modifies")
        else:
            bilan.noter("adresse électronique", "inchanges")

        secret = secret_totp_demo(donnees.email)
        totp = Authenticator.objects.filter(user=compte, type=Authenticator.Type.TOTP).first()
        if totp is None:
            Authenticator.objects.create(
                user=compte, type=Authenticator.Type.TOTP, data={"secret": encrypt(secret)}
            )
            bilan.noter("authentificateur TOTP", "crees")
        elif decrypt(totp.data.get("secret", "")) != secret:
            totp.data = {"secret": encrypt(secret)}
            totp.save(update_fields=["data"])
            bilan.noter("authentificateur TOTP", "modifies")
        else:
            bilan.noter("authentificateur TOTP", "inchanges")

        graine = graine_codes_secours_demo(donnees.email)
        secours = Authenticator.objects.filter(user=compte, type=Authenticator.Type.RECOVERY_CODES).first()
        if secours is None:
            Authenticator.objects.create(
                user=compte,
                type=Authenticator.Type.RECOVERY_CODES,
                data={"seed": encrypt(graine), "used_mask": 0},
            )
            bilan.noter("codes de secours", "crees")
        elif (
            decrypt(secours.data.get("seed", "")) != graine
            or secours.data.get("used_mask") != 0
            or "migrated_codes" in secours.data
        ):
            secours.data = {"seed": encrypt(graine), "used_mask": 0}
            secours.save(update_fields=["data"])
            bilan.noter("codes de secours", "modifies")
        else:
            bilan.noter("codes de secours", "inchanges")
    return comptes


def _charger_structures(bilan: Bilan) -> dict:
    from coordination.personnes.models import Structure

    structures = {}
    for s in STRUCTURES:
        cle_naturelle = (
            {"finess_eg": s.finess_eg} if s.finess_eg else {"identifiant_technique": s.identifiant_technique}
        )
        structures[s.cle] = _synchroniser(
            Structure,
            uuid_demo("structure", s.cle),
            {
                "finess_eg": s.finess_eg,
                "finess_ej": s.finess_ej,
                "finess_cle_verifiee": True,
                "identifiant_technique": s.identifiant_technique,
                "raison_sociale": s.raison_sociale,
                "enseigne": s.enseigne,
                "categorie_code": s.categorie_code,
                "categorie_libelle": CATEGORIES.get(s.categorie_code, ""),
                "siret": s.siret,
                "adresse": s.adresse,
                "code_postal": s.commune.code_postal,
                "commune": s.commune.nom,
                "code_commune": s.commune.code,
                "telephone": s.telephone,
                "bal_mssante": "",
            },
            bilan,
            cle_naturelle=cle_naturelle,
        )
    return structures


def _charger_professionnels(bilan: Bilan, structures: dict, comptes: dict) -> dict:
    from coordination.personnes.models import Exercice, Professionnel

    professionnels = {}
    for p in PROFESSIONNELS:
        professionnel = _synchroniser(
            Professionnel,
            uuid_demo("professionnel", p.cle),
            {
                "idnat_ps": p.idnat_ps,
                "civilite_exercice": p.civilite_exercice,
                "nom_exercice": p.nom,
                "prenom_exercice": p.prenom,
                "profession_code": p.profession_code,
                "profession_libelle": p.profession_libelle,
                "categorie_professionnelle": "C" if p.rpps else "",
                "savoir_faire_libelle": p.savoir_faire_libelle,
                "telephone": p.telephone,
                "compte": comptes[p.compte] if p.compte else None,
            },
            bilan,
            cle_naturelle={"idnat_ps": p.idnat_ps} if p.idnat_ps else None,
        )
        professionnels[p.cle] = professionnel
        for e in p.exercices:
            _synchroniser(
                Exercice,
                uuid_demo("exercice", f"{p.cle}:{e.structure or 'liberal'}"),
                {
                    "professionnel": professionnel,
                    "structure": structures[e.structure] if e.structure else None,
                    "profession_code": p.profession_code,
                    "profession_libelle": p.profession_libelle,
                    "fonction": e.fonction,
                    "mode_exercice": e.mode,
                    "secteur_activite_code": e.secteur,
                    "date_debut": e.date_debut,
                    "date_fin": None,
                },
                bilan,
            )
    return professionnels


def _charger_usagers(bilan: Bilan, comptes: dict) -> dict:
    from coordination.personnes.models import Usager

    usagers = {}
    for u in USAGERS:
        usagers[u.cle] = _synchroniser(
            Usager,
            uuid_demo("usager", u.cle),
            {
                "matricule_ins": u.matricule_ins,
                "oid_ins": u.oid_ins,
                "nom_naissance": u.nom_naissance,
                "prenoms_naissance": u.prenoms_naissance,
                "date_naissance": u.date_naissance,
                "sexe": u.sexe,
                "code_lieu_naissance": u.code_lieu_naissance,
                "statut_identite": u.statut,
                "identite_douteuse": u.douteuse,
                "identite_fictive": u.fictive,
                "mode_recueil": u.mode_recueil,
                "date_interrogation_insi": u.date_interrogation_insi,
                "justificatif_identite": u.justificatif,
                "nom_utilise": u.nom_utilise,
                "prenom_utilise": "",
                "telephone": u.telephone,
                "email": u.email,
                "adresse": u.adresse,
                "code_postal": u.commune.code_postal if u.commune else "",
                "commune": u.commune.nom if u.commune else "",
                "compte": comptes[u.compte] if u.compte else None,
            },
            bilan,
            cle_naturelle={"oid_ins": u.oid_ins, "matricule_ins": u.matricule_ins}
            if u.matricule_ins
            else None,
        )
    return usagers


def _charger_proches(bilan: Bilan, usagers: dict, comptes: dict) -> None:
    from coordination.personnes.models import Proche

    for p in PROCHES:
        _synchroniser(
            Proche,
            uuid_demo("proche", p.cle),
            {
                "usager": usagers[p.usager],
                "lien": p.lien,
                "precision_lien": p.precision,
                "mesure_protection": p.mesure,
                "nom": p.nom,
                "prenoms": p.prenoms,
                "telephone": p.telephone,
                "email": p.email,
                "adresse": "",
                "date_debut": p.date_debut,
                "date_fin": None,
                "compte": comptes[p.compte] if p.compte else None,
            },
            bilan,
        )


def charger_demo() -> Bilan:
    """Charge (ou remet en état) le territoire de démonstration, en une transaction, et journalise
    un seul événement « demo.chargement ». Idempotent."""
    from django.db import transaction

    from coordination.comptes.acteur import acteur_systeme
    from coordination.journal.services import journaliser

    bilan = Bilan()
    with transaction.atomic():
        comptes = _charger_comptes(bilan)
        structures = _charger_structures(bilan)
        _charger_professionnels(bilan, structures, comptes)
        usagers = _charger_usagers(bilan, comptes)
        _charger_proches(bilan, usagers, comptes)
        from cercle.demo import charger_cercles  # cercles écrits par les services du cercle

        charger_cercles(bilan)
        from agenda.demo import charger_agenda  # agenda écrit par les services de l'agenda

        charger_agenda(bilan)
        from ppa.demo import charger_ppa  # projet personnalisé écrit par les services du PPA

        charger_ppa(bilan)
        journaliser(acteur=acteur_systeme("demo"), action="demo.chargement", details=bilan.pour_journal())
    return bilan


@dataclass(frozen=True)
class ConnexionDemo:
    email: str
    nom: str
    role: str
    qualites: tuple[str, ...]  # en tant que qui le compte peut agir (vide si le compte n'est pas chargé)
    charge: bool
    secret: str
    code: str
    codes_secours: tuple[str, ...]


def connexions_demo(instant: float | None = None) -> list[ConnexionDemo]:
    """Les comptes de démonstration tels qu'ils sont en base, avec leur code TOTP courant."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    from coordination.comptes.acteur import TypeActeur, acteurs_possibles
    from coordination.comptes.models import Compte

    comptes = {c.email: c for c in Compte.objects.filter(email__in=EMAILS_DEMO)}
    secours = {
        a.user_id: a
        for a in Authenticator.objects.filter(
            user__in=comptes.values(), type=Authenticator.Type.RECOVERY_CODES
        )
    }
    resultat = []
    for donnees in COMPTES:
        compte = comptes.get(donnees.email)
        qualites: tuple[str, ...] = ()
        codes: tuple[str, ...] = ()
        if compte is not None:
            acteurs = acteurs_possibles(compte)
            qualites = tuple(
                f"{a.nom} — {a.qualite}" if a.type != TypeActeur.USAGER else f"{a.nom} — usager"
                for a in acteurs
            )
            if not acteurs:
                qualites = ("aucune personne reliée" + (" — accès à /admin/" if compte.is_staff else ""),)
            if compte.pk in secours:
                codes = tuple(RecoveryCodes(secours[compte.pk]).get_unused_codes())
        resultat.append(
            ConnexionDemo(
                email=donnees.email,
                nom=donnees.nom_affiche,
                role=donnees.role,
                qualites=qualites,
                charge=compte is not None,
                secret=secret_totp_demo(donnees.email),
                code=code_totp_actuel(donnees.email, instant),
                codes_secours=codes,
            )
        )
    return resultat
