"""Identifiants nationaux : normalisation, format et clé de contrôle, avec des messages en français.

Chaque validateur prend la valeur saisie, renvoie la forme normalisée et lève
`django.core.exceptions.ValidationError` avec un message qui nomme le champ.

Clés vérifiées sur les données publiques de `shared/samples/` (voir docs/decisions/0004) :
- RPPS : 11 chiffres, le 11e est une clé de Luhn ;
- ADELI : 9 caractères, le 9e est une clé de Luhn (les 21 ADELI réels de l'extrait
  PS_LibreAcces passent) ; Corse (2A/2B) : format vérifié, clé non vérifiée ;
- FINESS : 9 caractères, le 9e est une clé de Luhn sur les 8 premiers ; pour la Corse (2A/2B)
  la règle n'est pas publiée : format vérifié, clé non vérifiée ;
- NIR / NIA : 13 caractères + clé = 97 - (numéro mod 97), Corse 2A → 19, 2B → 18 ;
- SIRET : 14 chiffres, clé de Luhn (python-stdnum).

Les identifiants reçus d'un fournisseur d'identité ou d'un fichier officiel font foi : on en
vérifie le format, pas la clé (`verifier_cle=False`), car les identités de test du bac à sable
Pro Santé Connect (RPPS 997…) n'ont pas toutes une clé valide (interop.md §1.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from stdnum import luhn
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

# OID des matricules INS (FR Core, fr-core-patient-ins).
OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_TEST = "1.2.250.1.213.1.4.10"
OID_INS_DEMO = "1.2.250.1.213.1.4.11"
OIDS_INS = {
    OID_INS_NIR: "NIR",
    OID_INS_NIA: "NIA",
    OID_INS_TEST: "NIR de test",
    OID_INS_DEMO: "NIR de démonstration",
}

# Systèmes d'identifiants FR Core.
SYSTEME_IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
SYSTEME_RPPS = "https://rpps.esante.gouv.fr"
SYSTEME_FINESS = "https://finess.esante.gouv.fr"

_SEPARATEURS = re.compile(r"[\s.\-]")


def compacter(valeur: str) -> str:
    """Retire espaces, points et tirets et passe en majuscules : la forme stockée des identifiants."""
    return _SEPARATEURS.sub("", valeur or "").upper()


def _luhn_valide(chiffres: str) -> bool:
    try:
        luhn.validate(chiffres)
    except StdnumError:
        return False
    return True


def avec_cle_luhn(corps: str) -> str:
    """Complète un numéro par sa clé de Luhn (RPPS, ADELI, FINESS, SIREN, SIRET) — pour fabriquer
    des identifiants fictifs valides (démonstration, tests, bancs d'essai)."""
    return corps + luhn.calc_check_digit(corps)


def avec_cle_nir(corps: str) -> str:
    """Complète les 13 premiers caractères d'un NIR ou NIA par leur clé (Corse : 2A → 19, 2B → 18)."""
    return corps + stdnum_nir.calc_check_digits(corps)


def valider_rpps(valeur: str, champ: str = "Numéro RPPS", *, verifier_cle: bool = True) -> str:
    """RPPS : 11 chiffres dont une clé de Luhn."""
    rpps = compacter(valeur)
    if not rpps.isdigit() or len(rpps) != 11:
        raise ValidationError(
            f"{champ} : il doit comporter exactement 11 chiffres (reçu « {valeur} »).", code="format"
        )
    if verifier_cle and not _luhn_valide(rpps):
        raise ValidationError(
            f"{champ} : la clé de contrôle (dernier chiffre) ne correspond pas ; vérifiez la saisie.",
            code="cle",
        )
    return rpps


def valider_adeli(valeur: str, champ: str = "Numéro ADELI", *, verifier_cle: bool = True) -> str:
    """ADELI : 9 caractères (département sur 2 caractères, 2A/2B possibles, puis 7 chiffres dont
    la clé de Luhn finale, non vérifiée pour la Corse)."""
    adeli = compacter(valeur)
    if len(adeli) != 9 or not re.fullmatch(r"(\d{2}|2A|2B)\d{7}", adeli):
        raise ValidationError(
            f"{champ} : il doit comporter 9 caractères (ex. 751234567), reçu « {valeur} ».", code="format"
        )
    if verifier_cle and adeli.isdigit() and not _luhn_valide(adeli):
        raise ValidationError(
            f"{champ} : la clé de contrôle (9e chiffre) ne correspond pas ; vérifiez la saisie.", code="cle"
        )
    return adeli


def valider_idnat_ps(
    valeur: str, champ: str = "Identifiant national (idNat_PS)", *, verifier_cle: bool = True
) -> str:
    """idNat_PS : « 8 » + RPPS ou « 0 » + ADELI, clé vérifiée sauf `verifier_cle=False`."""
    idnat = compacter(valeur)
    if idnat.startswith("8") and len(idnat) == 12:
        valider_rpps(idnat[1:], champ=f"{champ} (partie RPPS)", verifier_cle=verifier_cle)
        return idnat
    if idnat.startswith("0") and len(idnat) == 10:
        valider_adeli(idnat[1:], champ=f"{champ} (partie ADELI)", verifier_cle=verifier_cle)
        return idnat
    raise ValidationError(
        f"{champ} : attendu « 8 » suivi des 11 chiffres du RPPS, ou « 0 » suivi des 9 caractères ADELI "
        f"(reçu « {valeur} »).",
        code="format",
    )


@dataclass(frozen=True)
class ResultatFiness:
    valeur: str
    cle_verifiee: bool


def verifier_finess(valeur: str, champ: str = "Numéro FINESS") -> ResultatFiness:
    """FINESS : 9 caractères ; clé de Luhn vérifiée sauf pour la Corse (2A/2B)."""
    finess = compacter(valeur)
    if len(finess) != 9 or not re.fullmatch(r"(\d{2}|2A|2B)\d{7}", finess):
        raise ValidationError(
            f"{champ} : il doit comporter 9 caractères, chiffres ou 2A/2B pour la Corse en tête "
            f"(reçu « {valeur} »).",
            code="format",
        )
    if finess[:2] in {"2A", "2B"}:
        return ResultatFiness(finess, cle_verifiee=False)
    if not _luhn_valide(finess):
        raise ValidationError(
            f"{champ} : la clé de contrôle (9e chiffre) ne correspond pas ; vérifiez la saisie.", code="cle"
        )
    return ResultatFiness(finess, cle_verifiee=True)


def valider_finess(valeur: str, champ: str = "Numéro FINESS") -> str:
    return verifier_finess(valeur, champ).valeur


def valider_siret(valeur: str, champ: str = "Numéro SIRET") -> str:
    siret = compacter(valeur)
    if not siret.isdigit() or len(siret) != 14:
        raise ValidationError(
            f"{champ} : il doit comporter exactement 14 chiffres (reçu « {valeur} »).", code="format"
        )
    try:
        stdnum_siret.validate(siret)
    except StdnumError as exc:
        raise ValidationError(
            f"{champ} : la clé de contrôle ne correspond pas ; vérifiez la saisie.", code="cle"
        ) from exc
    return siret


_FORMAT_MATRICULE = re.compile(r"[1-478]\d{4}(\d{2}|2A|2B)\d{8}")


def valider_matricule_ins(valeur: str, champ: str = "Matricule INS") -> str:
    """NIR ou NIA : 15 caractères, 1er chiffre 1, 2, 3, 4, 7 ou 8, clé = 97 - (numéro mod 97)."""
    matricule = compacter(valeur)
    if len(matricule) != 15:
        raise ValidationError(
            f"{champ} : il doit comporter 15 caractères, clé comprise (reçu {len(matricule)}).",
            code="format",
        )
    if not _FORMAT_MATRICULE.fullmatch(matricule):
        raise ValidationError(
            f"{champ} : format invalide ; attendu 13 chiffres (2A ou 2B possibles pour la Corse) puis "
            "la clé de 2 chiffres, le premier chiffre étant 1, 2, 3, 4, 7 ou 8.",
            code="format",
        )
    try:
        stdnum_nir.validate(matricule)
    except InvalidChecksum as exc:
        raise ValidationError(
            f"{champ} : la clé de contrôle ({matricule[13:]}) ne correspond pas au numéro ; "
            f"vérifiez la saisie.",
            code="cle",
        ) from exc
    except StdnumError as exc:
        raise ValidationError(f"{champ} : format invalide.", code="format") from exc
    return matricule


def valider_oid_ins(valeur: str, champ: str = "OID du matricule INS") -> str:
    if valeur not in OIDS_INS:
        raise ValidationError(
            f"{champ} : « {valeur} » n'est pas un OID d'INS ; valeurs admises : "
            + ", ".join(f"{oid} ({nom})" for oid, nom in OIDS_INS.items()),
            code="oid",
        )
    return valeur


_FORMAT_COG = re.compile(r"(\d{2}|2A|2B)\d{3}")


def valider_code_lieu_naissance(valeur: str, champ: str = "Code INSEE du lieu de naissance") -> str:
    """Code officiel géographique à 5 caractères ; 99xxx pour une naissance à l'étranger."""
    code = compacter(valeur)
    if not _FORMAT_COG.fullmatch(code) or code.startswith("00"):
        raise ValidationError(
            f"{champ} : attendu 5 caractères (code commune INSEE, 2A/2B pour la Corse, ou 99xxx pour "
            f"un pays étranger), reçu « {valeur} ».",
            code="format",
        )
    return code
