"""Correspondances FHIR des personnes et structures (fonctions pures, testées par instantanés).

- Structure → Organization (as-organization / cds-organization, tranches FR Core fr-core-organization)
- Professionnel → Practitioner (as-practitioner, tranches idNatPs et rpps)
- Exercice → PractitionerRole (as-practitionerrole, profession TRE_G15)
- Usager → Patient (fr-core-patient, ou fr-core-patient-ins quand l'identité est qualifiée)
- Proche → RelatedPerson (cds-fr-related-person)
Et, dans l'autre sens, ce qu'un Bundle de cercle de soins apporte : identifiants d'Organization,
de PractitionerRole, données d'un RelatedPerson (création d'un proche).

Systèmes et canoniques : interop.md §1 et §3, profils FSH des IG (FR Core 2.1.0, Annuaire, CDS 2.0.1)
et exemples publiés dans shared/samples/fhir-ans/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coordination.fhir.erreurs import non_traitable
from coordination.personnes.identifiants import OID_INS_NIA, SYSTEME_FINESS, SYSTEME_IDNAT_PS, SYSTEME_RPPS
from coordination.personnes.models import (
    Exercice,
    LienProche,
    Proche,
    Professionnel,
    Sexe,
    Structure,
    Usager,
)

# --- Canoniques et systèmes ---------------------------------------------------------------------

FR_CORE = "https://hl7.fr/ig/fhir/core"
PROFIL_PATIENT = f"{FR_CORE}/StructureDefinition/fr-core-patient"
PROFIL_PATIENT_INS = f"{FR_CORE}/StructureDefinition/fr-core-patient-ins"
PROFIL_ORGANIZATION = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-organization"
PROFIL_PRACTITIONER = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitioner"
PROFIL_PRACTITIONERROLE = (
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitionerrole"
)
PROFIL_RELATEDPERSON = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-fr-related-person"

SYSTEME_TYPES_IDENTIFIANT = f"{FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
SYSTEME_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SYSTEME_IDNAT_ST = "urn:oid:1.2.250.1.71.4.2.2"
SYSTEME_SIRENE = "https://sirene.fr"
# Identifiant du portail : l'UUID public, en URN (RFC 4122), pour toute ressource servie.
SYSTEME_URN = "urn:ietf:rfc:3986"

SYSTEME_TRE_G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SYSTEME_TRE_R66 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
)
SYSTEME_TRE_R13 = "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune"
SYSTEME_TRE_R260 = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
SYSTEME_TRE_R216 = "https://mos.esante.gouv.fr/NOS/TRE_R216-HL7RoleCode/FHIR/TRE-R216-HL7RoleCode"

EXT_TYPES_ORGANISATION = (
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-types"
)
EXT_CODE_INSEE = f"{FR_CORE}/StructureDefinition/fr-core-address-insee-code"
EXT_FIABILITE_IDENTITE = f"{FR_CORE}/StructureDefinition/fr-core-identity-reliability"
EXT_LIEU_NAISSANCE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
EXT_PRENOMS_NAISSANCE = f"{FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"
# Statut de l'identité : table v2-0445 de FR Core 2.1.0 (dont dépend CDS 2.0.1), comme dans les
# exemples CDS et CdL ; les branches plus récentes de FR Core la renomment fr-core-cs-identity-status.
SYSTEME_STATUT_IDENTITE = f"{FR_CORE}/CodeSystem/fr-core-cs-v2-0445"
SYSTEME_MODE_RECUEIL = f"{FR_CORE}/CodeSystem/fr-core-cs-method-collection"

# Lien du proche → rôle TRE_R260 (cds-fr-related-person, relationship[Role] 1..). « Personne de
# confiance » : NOK, QUAL étant marqué obsolète dans TRE_R260 (expansion careteam-roles-vs).
ROLES_PROCHE = {
    LienProche.AIDANT: ("CAREGIVER", "Aidant"),
    LienProche.REPRESENTANT_LEGAL: ("GUARD", "Responsable légal"),
    LienProche.PERSONNE_CONFIANCE: ("NOK", "Personne de confiance"),
    LienProche.PERSONNE_A_PREVENIR: ("ECON", "Personne à prévenir en cas d'urgence"),
    LienProche.FAMILLE: ("CON", "Informateur"),
    LienProche.AUTRE: ("CON", "Informateur"),
}
# Et dans l'autre sens (QUAL, obsolète, reste accepté en entrée).
LIENS_PAR_ROLE = {
    "CAREGIVER": LienProche.AIDANT,
    "GUARD": LienProche.REPRESENTANT_LEGAL,
    "NOK": LienProche.PERSONNE_CONFIANCE,
    "QUAL": LienProche.PERSONNE_CONFIANCE,
    "ECON": LienProche.PERSONNE_A_PREVENIR,
    "CON": LienProche.AUTRE,
}
GENRES = {Sexe.FEMININ: "female", Sexe.MASCULIN: "male", Sexe.INDETERMINE: "other"}
TYPES_INS = {  # OID → code de type FR Core (fr-core-cs-v2-0203)
    "1.2.250.1.213.1.4.8": "INS-NIR",
    "1.2.250.1.213.1.4.9": "INS-NIA",
    "1.2.250.1.213.1.4.10": "INS-NIR-TEST",
    "1.2.250.1.213.1.4.11": "INS-NIR-DEMO",
}


# --- Briques -----------------------------------------------------------------------------------


def _codage(systeme: str, code: str, libelle: str = "") -> dict:
    codage = {"system": systeme, "code": code}
    if libelle:
        codage["display"] = libelle
    return codage


def _type_identifiant(code: str, systeme: str = SYSTEME_TYPES_IDENTIFIANT) -> dict:
    return {"coding": [_codage(systeme, code)]}


def _identifiant(systeme: str, valeur: str, *, type_code: str | None = None, use: str | None = None) -> dict:
    identifiant: dict = {}
    if use:
        identifiant["use"] = use
    if type_code:
        identifiant["type"] = _type_identifiant(type_code)
    identifiant["system"] = systeme
    identifiant["value"] = valeur
    return identifiant


def identifiant_portail(objet) -> dict:
    return {"system": SYSTEME_URN, "value": f"urn:uuid:{objet.uuid}"}


def reference(type_ressource: str, objet, libelle: str = "") -> dict:
    ref = {"reference": f"{type_ressource}/{objet.uuid}"}
    if libelle:
        ref["display"] = libelle
    return ref


def _telecom(telephone: str = "", email: str = "") -> list[dict]:
    telecom = []
    if telephone:
        telecom.append({"system": "phone", "value": telephone})
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def _adresse(ligne: str = "", code_postal: str = "", commune: str = "", code_commune: str = "") -> list[dict]:
    adresse: dict = {}
    if code_commune:
        adresse["extension"] = [
            {"url": EXT_CODE_INSEE, "valueCoding": _codage(SYSTEME_TRE_R13, code_commune)}
        ]
    if ligne:
        adresse["line"] = [ligne]
    if commune:
        adresse["city"] = commune
    if code_postal:
        adresse["postalCode"] = code_postal
    return [adresse] if adresse else []


def _periode(debut, fin) -> dict:
    periode = {}
    if debut:
        periode["start"] = debut.isoformat()
    if fin:
        periode["end"] = fin.isoformat()
    return periode


def _ressource(type_ressource: str, objet, profil: str) -> dict:
    return {"resourceType": type_ressource, "id": str(objet.uuid), "meta": {"profile": [profil]}}


# --- Structure → Organization ---------------------------------------------------------------------


def structure_vers_organization(structure: Structure) -> dict:
    """Organization d'une structure (son entité géographique, EG). Identifiants : FINESS EG (type
    FINEG), idNatSt « 1 » + FINESS, SIRET, UUID du portail ; l'entité juridique (FINESS EJ) est
    désignée par `partOf` (référence logique par identifiant, type FINEJ). Sans FINESS EG, la
    structure est identifiée par son FINESS EJ."""
    ressource = _ressource("Organization", structure, PROFIL_ORGANIZATION)
    identifiants = []
    if structure.finess_eg:
        identifiants.append(_identifiant(SYSTEME_FINESS, structure.finess_eg, type_code="FINEG"))
        identifiants.append(
            _identifiant(SYSTEME_IDNAT_ST, f"1{structure.finess_eg}", type_code="IDNST", use="official")
        )
    elif structure.finess_ej:
        identifiants.append(_identifiant(SYSTEME_FINESS, structure.finess_ej, type_code="FINEJ"))
    if structure.siret:
        identifiants.append(_identifiant(SYSTEME_SIRENE, structure.siret, type_code="SIRET"))
    identifiants.append(identifiant_portail(structure))
    ressource["identifier"] = identifiants
    ressource["active"] = True
    if structure.categorie_code:
        ressource["type"] = [
            {
                "extension": [{"url": EXT_TYPES_ORGANISATION, "valueCode": "categorieEtablissementRASS"}],
                "coding": [_codage(SYSTEME_TRE_R66, structure.categorie_code, structure.categorie_libelle)],
            }
        ]
    ressource["name"] = structure.raison_sociale
    if structure.enseigne:
        ressource["alias"] = [structure.enseigne]
    telecom = _telecom(structure.telephone, structure.bal_mssante)
    if telecom:
        ressource["telecom"] = telecom
    adresse = _adresse(structure.adresse, structure.code_postal, structure.commune, structure.code_commune)
    if adresse:
        ressource["address"] = adresse
    if structure.finess_eg and structure.finess_ej:
        ressource["partOf"] = {
            "type": "Organization",
            "identifier": _identifiant(SYSTEME_FINESS, structure.finess_ej, type_code="FINEJ"),
        }
    return ressource


# --- Professionnel → Practitioner ------------------------------------------------------------------


def professionnel_vers_practitioner(professionnel: Professionnel) -> dict:
    ressource = _ressource("Practitioner", professionnel, PROFIL_PRACTITIONER)
    identifiants = []
    if professionnel.idnat_ps:
        identifiants.append(
            _identifiant(SYSTEME_IDNAT_PS, professionnel.idnat_ps, type_code="IDNPS", use="official")
        )
    if professionnel.rpps:
        identifiants.append(_identifiant(SYSTEME_RPPS, professionnel.rpps, type_code="RPPS"))
    identifiants.append(identifiant_portail(professionnel))
    ressource["identifier"] = identifiants
    ressource["active"] = True
    nom: dict = {"family": professionnel.nom_exercice}
    if professionnel.prenom_exercice:
        nom["given"] = [professionnel.prenom_exercice]
    if professionnel.civilite_exercice:
        nom["prefix"] = [professionnel.civilite_exercice]
    ressource["name"] = [nom]
    telecom = _telecom(professionnel.telephone, professionnel.bal_mssante)
    if telecom:
        ressource["telecom"] = telecom
    return ressource


# --- Exercice → PractitionerRole -----------------------------------------------------------------


def exercice_actif(exercice: Exercice, jour) -> bool:
    return (exercice.date_fin is None or exercice.date_fin >= jour) and (
        exercice.date_debut is None or exercice.date_debut <= jour
    )


def exercice_vers_practitionerrole(exercice: Exercice, *, jour) -> dict:
    """PractitionerRole d'une situation d'exercice. `jour` : date du jour (pour `active`), passé
    explicitement pour que la fonction reste pure."""
    ressource = _ressource("PractitionerRole", exercice, PROFIL_PRACTITIONERROLE)
    ressource["identifier"] = [identifiant_portail(exercice)]
    ressource["active"] = exercice_actif(exercice, jour)
    periode = _periode(exercice.date_debut, exercice.date_fin)
    if periode:
        ressource["period"] = periode
    ressource["practitioner"] = reference("Practitioner", exercice.professionnel, str(exercice.professionnel))
    if exercice.structure_id:
        ressource["organization"] = reference(
            "Organization", exercice.structure, exercice.structure.raison_sociale
        )
    codes = []
    if exercice.profession_code:
        codes.append(
            {"coding": [_codage(SYSTEME_TRE_G15, exercice.profession_code, exercice.profession_libelle)]}
        )
    if exercice.fonction:
        codes.append({"text": exercice.fonction})
    if codes:
        ressource["code"] = codes
    return ressource


# --- Usager → Patient -------------------------------------------------------------------------------


def _fiabilite_identite(usager: Usager) -> dict:
    sous_extensions = [
        {"url": "identityStatus", "valueCoding": _codage(SYSTEME_STATUT_IDENTITE, usager.statut_identite)},
        {"url": "methodCollection", "valueCoding": _codage(SYSTEME_MODE_RECUEIL, usager.mode_recueil)},
    ]
    if usager.date_interrogation_insi:
        sous_extensions.append(
            {"url": "dateCollection", "valueDate": usager.date_interrogation_insi.isoformat()}
        )
    if usager.identite_douteuse:
        sous_extensions.append({"url": "comment", "valueCoding": _codage(SYSTEME_STATUT_IDENTITE, "DOUT")})
    if usager.identite_fictive:
        sous_extensions.append({"url": "comment", "valueCoding": _codage(SYSTEME_STATUT_IDENTITE, "FICT")})
    return {"url": EXT_FIABILITE_IDENTITE, "extension": sous_extensions}


def usager_vers_patient(usager: Usager) -> dict:
    """Patient d'un usager. Le matricule INS n'apparaît que pour une identité qualifiée
    (`matricule_exportable`) ; le profil est alors fr-core-patient-ins. Toujours : l'identifiant du
    portail (type PI), la fiabilité de l'identité (statut, mode de recueil, date INSi, identité
    douteuse ou fictive), le nom de naissance avec la liste des prénoms, le sexe, la date et le lieu
    de naissance (code INSEE ; 99xxx pour l'étranger)."""
    matricule = usager.matricule_exportable
    ressource = _ressource("Patient", usager, PROFIL_PATIENT_INS if matricule else PROFIL_PATIENT)
    extensions = [_fiabilite_identite(usager)]
    if usager.code_lieu_naissance:
        extensions.append(
            {
                "url": EXT_LIEU_NAISSANCE,
                "valueAddress": {
                    "extension": [
                        {
                            "url": EXT_CODE_INSEE,
                            "valueCoding": _codage(SYSTEME_TRE_R13, usager.code_lieu_naissance),
                        }
                    ]
                },
            }
        )
    ressource["extension"] = extensions
    identifiants = []
    if matricule:
        type_ins = TYPES_INS.get(usager.oid_ins, "INS-NIR")
        use = "temp" if usager.oid_ins == OID_INS_NIA else "official"
        identifiants.append(_identifiant(f"urn:oid:{usager.oid_ins}", matricule, type_code=type_ins, use=use))
    portail = identifiant_portail(usager)
    portail = {"use": "usual", "type": _type_identifiant("PI", SYSTEME_V2_0203), **portail}
    identifiants.append(portail)
    ressource["identifier"] = identifiants
    noms = [
        {
            "extension": [{"url": EXT_PRENOMS_NAISSANCE, "valueString": usager.prenoms_naissance}],
            "use": "official",
            "family": usager.nom_naissance,
            "given": [usager.premier_prenom],
        }
    ]
    if usager.nom_utilise or usager.prenom_utilise:
        noms.append({"use": "usual", "family": usager.nom_affiche, "given": [usager.prenom_affiche]})
    ressource["name"] = noms
    telecom = _telecom(usager.telephone, usager.email)
    if telecom:
        ressource["telecom"] = telecom
    ressource["gender"] = GENRES[usager.sexe]
    ressource["birthDate"] = usager.date_naissance.isoformat()
    adresse = _adresse(usager.adresse, usager.code_postal, usager.commune)
    if adresse:
        ressource["address"] = adresse
    return ressource


# --- Proche → RelatedPerson --------------------------------------------------------------------------


def proche_vers_relatedperson(proche: Proche, *, jour) -> dict:
    """RelatedPerson d'un proche (cds-fr-related-person) : identifiant du portail, rôle TRE_R260,
    lien de parenté précisé en texte, nom (un seul prénom), téléphone et courriel, période."""
    ressource = _ressource("RelatedPerson", proche, PROFIL_RELATEDPERSON)
    ressource["identifier"] = [identifiant_portail(proche)]
    ressource["active"] = proche.date_fin is None or proche.date_fin >= jour
    ressource["patient"] = reference("Patient", proche.usager)
    code, libelle = ROLES_PROCHE[proche.lien]
    role: dict = {"coding": [_codage(SYSTEME_TRE_R260, code, libelle)]}
    if proche.precision_lien:
        role["text"] = proche.precision_lien
    ressource["relationship"] = [role]
    ressource["name"] = [{"family": proche.nom, "given": [proche.prenoms.split(" ")[0]]}]
    telecom = _telecom(proche.telephone, proche.email)
    if telecom:
        ressource["telecom"] = telecom
    adresse = _adresse(proche.adresse)
    if adresse:
        ressource["address"] = adresse
    ressource["period"] = _periode(proche.date_debut, proche.date_fin)
    return ressource


# --- Sens inverse : ce qu'apporte un Bundle ------------------------------------------------------------


@dataclass
class IdentifiantsStructure:
    """Ce qu'une Organization reçue dit de la structure qu'elle désigne."""

    uuid: str | None = None
    finess_eg: str | None = None
    finess_ej: str | None = None
    siret: str | None = None

    @property
    def vide(self) -> bool:
        return not (self.uuid or self.finess_eg or self.finess_ej or self.siret)


def _code_type(identifiant: dict) -> str | None:
    for codage in (identifiant.get("type") or {}).get("coding", []):
        return codage.get("code")
    return None


def _uuid_urn(valeur: str | None) -> str | None:
    return valeur.removeprefix("urn:uuid:") if valeur and valeur.startswith("urn:uuid:") else None


def identifiants_organization(ressource: dict) -> IdentifiantsStructure:
    """FINESS (EG : type FINEG ou idNatSt « 1… » ; EJ : type FINEJ), SIRET et UUID du portail."""
    trouves = IdentifiantsStructure()
    for identifiant in ressource.get("identifier", []):
        systeme, valeur, type_code = (
            identifiant.get("system"),
            identifiant.get("value"),
            _code_type(identifiant),
        )
        if not valeur:
            continue
        if systeme == SYSTEME_FINESS:
            if type_code == "FINEJ":
                trouves.finess_ej = valeur
            else:
                trouves.finess_eg = valeur
        elif systeme == SYSTEME_IDNAT_ST and valeur.startswith("1") and len(valeur) == 10:
            trouves.finess_eg = trouves.finess_eg or valeur[1:]
        elif systeme == SYSTEME_SIRENE and len(valeur) == 14:
            trouves.siret = valeur
        elif systeme == SYSTEME_URN:
            trouves.uuid = _uuid_urn(valeur)
    return trouves


def donnees_structure(ressource: dict) -> dict:
    """Données de création d'une Structure depuis une Organization (services.creer_structure)."""
    identifiants = identifiants_organization(ressource)
    if not ressource.get("name"):
        raise non_traitable(
            "Organization.name est obligatoire pour créer une structure.", expression=["Organization.name"]
        )
    adresse = (ressource.get("address") or [{}])[0]
    telephone = next(
        (t.get("value", "") for t in ressource.get("telecom", []) if t.get("system") == "phone"), ""
    )
    return {
        "raison_sociale": ressource["name"][:200],
        "enseigne": (ressource.get("alias") or [""])[0][:200],
        "finess_eg": identifiants.finess_eg,
        "finess_ej": identifiants.finess_ej or "",
        "siret": identifiants.siret or "",
        "adresse": " ".join(adresse.get("line", []))[:250],
        "code_postal": adresse.get("postalCode", "")[:5],
        "commune": adresse.get("city", "")[:120],
        "telephone": telephone[:20],
    }


@dataclass
class IdentifiantsExercice:
    """Ce qu'un PractitionerRole reçu dit de la situation d'exercice qu'il désigne."""

    uuid: str | None = None
    practitioner: str | None = None  # référence « Practitioner/… »
    idnat_ps: str | None = None
    organization: str | None = None  # référence « Organization/… »
    profession_code: str | None = None
    structure: IdentifiantsStructure = field(default_factory=IdentifiantsStructure)


def identifiants_practitionerrole(ressource: dict) -> IdentifiantsExercice:
    """Références (ou identifiants logiques) du professionnel et de la structure, profession TRE_G15."""
    trouves = IdentifiantsExercice()
    for identifiant in ressource.get("identifier", []):
        if identifiant.get("system") == SYSTEME_URN:
            trouves.uuid = _uuid_urn(identifiant.get("value"))
    practitioner = ressource.get("practitioner") or {}
    trouves.practitioner = practitioner.get("reference")
    identifiant_ps = practitioner.get("identifier") or {}
    if identifiant_ps.get("system") == SYSTEME_IDNAT_PS:
        trouves.idnat_ps = identifiant_ps.get("value")
    elif identifiant_ps.get("system") == SYSTEME_RPPS and identifiant_ps.get("value"):
        trouves.idnat_ps = "8" + identifiant_ps["value"]
    organization = ressource.get("organization") or {}
    trouves.organization = organization.get("reference")
    if organization.get("identifier"):
        trouves.structure = identifiants_organization({"identifier": [organization["identifier"]]})
    for concept in ressource.get("code", []):
        for codage in concept.get("coding", []):
            if codage.get("system") == SYSTEME_TRE_G15:
                trouves.profession_code = codage.get("code")
    return trouves


def donnees_proche(ressource: dict) -> dict:
    """Données de création d'un Proche depuis un RelatedPerson (cds-fr-related-person) ; lève une
    erreur 422 (avec l'expression FHIRPath) si un élément exigé par le profil manque. L'usager
    (RelatedPerson.patient) est résolu par l'appelant."""
    noms = ressource.get("name") or []
    if not noms or not noms[0].get("family"):
        raise non_traitable(
            "RelatedPerson.name.family est obligatoire.", expression=["RelatedPerson.name[0].family"]
        )
    lien = None
    for concept in ressource.get("relationship", []):
        for codage in concept.get("coding", []):
            if codage.get("system") == SYSTEME_TRE_R260 and codage.get("code") in LIENS_PAR_ROLE:
                lien = lien or LIENS_PAR_ROLE[codage["code"]]
    if lien is None:
        raise non_traitable(
            "RelatedPerson.relationship : un rôle TRE_R260 (CAREGIVER, GUARD, NOK, ECON, CON…) "
            "est obligatoire.",
            expression=["RelatedPerson.relationship"],
        )
    telecom = ressource.get("telecom") or []
    periode = ressource.get("period") or {}
    return {
        "lien": lien,
        "precision_lien": next(
            (c.get("text", "") for c in ressource.get("relationship", []) if c.get("text")), ""
        )[:60],
        "nom": noms[0]["family"][:100],
        "prenoms": " ".join(noms[0].get("given", []))[:200],
        "telephone": next((t.get("value", "") for t in telecom if t.get("system") == "phone"), "")[:20],
        "email": next((t.get("value", "") for t in telecom if t.get("system") == "email"), ""),
        "adresse": " ".join((ressource.get("address") or [{}])[0].get("line", []))[:250],
        "date_debut": periode.get("start", "")[:10] or None,
        "date_fin": periode.get("end", "")[:10] or None,
    }
