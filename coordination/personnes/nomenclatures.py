"""Libellés des codes de nomenclatures nationales que le portail reçoit sans leur libellé.

Pro Santé Connect ne transmet que le code de profession (`SubjectRefPro.exercices[].codeProfession`,
TRE_G15-ProfessionSante) ; l'extraction RPPS, elle, porte code et libellé (mêmes libellés que
ci-dessous)."""

# TRE_G15-ProfessionSante : professions enregistrées au RPPS.
LIBELLES_PROFESSION = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-Lunetier",
    "31": "Assistant dentaire",
    "40": "Chirurgien-Dentiste",
    "50": "Sage-Femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute",
    "71": "Ostéopathe",
    "72": "Psychothérapeute",
    "73": "Chiropracteur",
    "80": "Pédicure-Podologue",
    "81": "Orthoprothésiste",
    "82": "Podo-Orthésiste",
    "83": "Orthopédiste-Orthésiste",
    "84": "Oculariste",
    "85": "Épithésiste",
    "86": "Technicien de laboratoire médical",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "93": "Psychologue",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
    "98": "Manipulateur ERM",
}


# Professions de santé au sens du Code de la santé publique (4e partie : professions médicales, de
# la pharmacie et de la physique médicale, auxiliaires médicaux, aides-soignants… ) parmi les codes
# ci-dessus. Psychologue, ostéopathe, psychothérapeute et chiropracteur sont des titres protégés
# hors de cette partie : ils n'en sont pas.
PROFESSIONS_DE_SANTE = frozenset(
    {"10", "21", "26", "28", "31", "40", "50", "60", "69", "70", "80", "81", "82", "83", "84", "85", "86",
     "91", "92", "94", "95", "96", "98"}
)  # fmt: skip


def libelle_profession(code: str | None) -> str:
    """Le libellé TRE_G15 d'un code de profession ; vide si le code est inconnu."""
    return LIBELLES_PROFESSION.get((code or "").strip(), "")
