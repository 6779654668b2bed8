"""Correspondances FHIR des personnes (instantanés, validation fhir.resources, règles INS), sens
inverse, et exemples publiés par les IG CI-SIS (shared/samples/fhir-ans/).

Instantanés : tests/instantanes/fhir/*.json. Après un changement voulu d'une correspondance,
`MAJ_INSTANTANES=1 make pytest PYTEST_ARGS="-k correspondances"` les réécrit ; relire le diff."""

import datetime
import json
import os
import uuid
from pathlib import Path

import pytest

from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.validation import valider
from coordination.personnes import fhir
from coordination.personnes.identifiants import OID_INS_NIR
from coordination.personnes.models import (
    Exercice,
    LienProche,
    MesureProtection,
    ModeRecueil,
    Proche,
    Professionnel,
    Sexe,
    StatutIdentite,
    Structure,
    Usager,
)

INSTANTANES = Path(__file__).parent / "instantanes" / "fhir"
EXEMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "fhir-ans"
JOUR = datetime.date(2026, 11, 22)


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def instantane(nom: str, ressource: dict) -> None:
    valider(ressource, type_attendu=ressource["resourceType"])
    chemin = INSTANTANES / f"{nom}.json"
    texte = json.dumps(ressource, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("MAJ_INSTANTANES") == "1":
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(texte, encoding="utf-8")
    assert chemin.exists(), f"Instantané {chemin.name} absent : lancez avec MAJ_INSTANTANES=1."
    assert json.loads(chemin.read_text(encoding="utf-8")) == ressource


def structure(**champs) -> Structure:
    valeurs = {
        "pk": 1, "uuid": _uuid(1), "finess_eg": "350000014", "finess_ej": "350000022",
        "siret": "73282932000074",
        "raison_sociale": "EHPAD Les Tilleuls", "enseigne": "Les Tilleuls", "categorie_code": "500",
        "categorie_libelle": "Établissement d'hébergement pour personnes âgées dépendantes",
        "adresse": "3 rue des Lilas", "code_postal": "35000", "commune": "Rennes", "code_commune": "35238",
        "telephone": "0299000000", "bal_mssante": "accueil@tilleuls.mssante.fr",
    }  # fmt: skip
    return Structure(**{**valeurs, **champs})


def professionnel(**champs) -> Professionnel:
    valeurs = {
        "pk": 2, "uuid": _uuid(2), "idnat_ps": "810002222222", "civilite_exercice": "MME",
        "nom_exercice": "MARTIN", "prenom_exercice": "Claire", "profession_code": "60",
        "profession_libelle": "Infirmier", "bal_mssante": "claire.martin@infirmier.mssante.fr",
    }  # fmt: skip
    return Professionnel(**{**valeurs, **champs})


def usager(**champs) -> Usager:
    valeurs = {
        "pk": 3, "uuid": _uuid(3), "nom_naissance": "DUPONT", "prenoms_naissance": "Jeanne Marie Louise",
        "date_naissance": datetime.date(1945, 7, 14), "sexe": Sexe.FEMININ, "code_lieu_naissance": "75056",
        "statut_identite": StatutIdentite.PROVISOIRE, "telephone": "0600000000",
        "adresse": "1 place de la Mairie", "code_postal": "35000", "commune": "Rennes",
    }  # fmt: skip
    return Usager(**{**valeurs, **champs})


QUALIFIEE = {
    "matricule_ins": "245077505600167", "oid_ins": OID_INS_NIR, "statut_identite": StatutIdentite.QUALIFIEE,
    "mode_recueil": ModeRecueil.INSI, "date_interrogation_insi": datetime.date(2026, 1, 15),
}  # fmt: skip


# --- Instantanés ---------------------------------------------------------------------------------


def test_organization():
    instantane("organization", fhir.structure_vers_organization(structure()))


def test_organization_sans_finess_eg_identifiee_par_l_ej():
    ressource = fhir.structure_vers_organization(structure(finess_eg=None, siret="", enseigne=""))
    instantane("organization-ej", ressource)
    assert ressource["identifier"][0]["type"]["coding"][0]["code"] == "FINEJ"
    assert "partOf" not in ressource


def test_practitioner():
    ressource = fhir.professionnel_vers_practitioner(professionnel())
    instantane("practitioner", ressource)
    systemes = [i["system"] for i in ressource["identifier"]]
    assert systemes == ["urn:oid:1.2.250.1.71.4.2.1", "https://rpps.esante.gouv.fr", "urn:ietf:rfc:3986"]
    assert ressource["identifier"][1]["value"] == "10002222222"


def test_practitioner_adeli_sans_rpps():
    ressource = fhir.professionnel_vers_practitioner(
        professionnel(idnat_ps="0123456789", civilite_exercice="")
    )
    assert [i["system"] for i in ressource["identifier"]] == [
        "urn:oid:1.2.250.1.71.4.2.1",
        "urn:ietf:rfc:3986",
    ]


def test_practitionerrole():
    exercice = Exercice(
        pk=4, uuid=_uuid(4), professionnel=professionnel(), structure=structure(), profession_code="60",
        profession_libelle="Infirmier", fonction="Infirmière coordinatrice",
        date_debut=datetime.date(2020, 1, 1),
    )  # fmt: skip
    instantane("practitionerrole", fhir.exercice_vers_practitionerrole(exercice, jour=JOUR))
    exercice.date_fin = datetime.date(2026, 1, 1)
    assert fhir.exercice_vers_practitionerrole(exercice, jour=JOUR)["active"] is False


def test_patient_provisoire_sans_ins():
    ressource = fhir.usager_vers_patient(usager())
    instantane("patient-provisoire", ressource)
    assert ressource["meta"]["profile"] == [fhir.PROFIL_PATIENT]


def test_patient_qualifie_porte_l_ins():
    ressource = fhir.usager_vers_patient(
        usager(**QUALIFIEE, nom_utilise="MARTIN", prenom_utilise="Jeannette")
    )
    instantane("patient-qualifie", ressource)
    assert ressource["meta"]["profile"] == [fhir.PROFIL_PATIENT_INS]
    ins = ressource["identifier"][0]
    assert ins == {
        "use": "official",
        "type": {
            "coding": [
                {"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "INS-NIR"}
            ]
        },
        "system": "urn:oid:1.2.250.1.213.1.4.8",
        "value": "245077505600167",
    }


@pytest.mark.parametrize(
    "statut", [StatutIdentite.RECUPEREE, StatutIdentite.VALIDEE, StatutIdentite.PROVISOIRE]
)
def test_patient_non_qualifie_ne_porte_jamais_l_ins(statut):
    ressource = fhir.usager_vers_patient(usager(**{**QUALIFIEE, "statut_identite": statut}))
    texte = json.dumps(ressource)
    assert "245077505600167" not in texte and "1.2.250.1.213.1.4.8" not in texte
    assert ressource["meta"]["profile"] == [fhir.PROFIL_PATIENT]
    fiabilite = ressource["extension"][0]
    assert {
        "url": "identityStatus",
        "valueCoding": {"system": fhir.SYSTEME_STATUT_IDENTITE, "code": statut},
    } in (fiabilite["extension"])


def test_patient_traits_et_identite_douteuse():
    ressource = fhir.usager_vers_patient(
        usager(identite_douteuse=True, sexe=Sexe.INDETERMINE, code_lieu_naissance="99134")
    )
    nom = ressource["name"][0]
    assert nom["family"] == "DUPONT" and nom["given"] == ["Jeanne"]
    assert nom["extension"][0]["valueString"] == "Jeanne Marie Louise"
    assert ressource["gender"] == "other" and ressource["birthDate"] == "1945-07-14"
    lieu = ressource["extension"][1]["valueAddress"]["extension"][0]["valueCoding"]
    assert lieu == {"system": fhir.SYSTEME_TRE_R13, "code": "99134"}
    commentaires = [e for e in ressource["extension"][0]["extension"] if e["url"] == "comment"]
    assert [c["valueCoding"]["code"] for c in commentaires] == ["DOUT"]


def test_relatedperson():
    proche = Proche(
        pk=5, uuid=_uuid(5), usager=usager(), lien=LienProche.AIDANT, precision_lien="fille", nom="DUPONT",
        prenoms="Sophie Anne", telephone="0611111111", email="sophie@exemple.test",
        date_debut=datetime.date(2024, 1, 1),
    )  # fmt: skip
    ressource = fhir.proche_vers_relatedperson(proche, jour=JOUR)
    instantane("relatedperson", ressource)
    assert ressource["relationship"][0]["coding"][0]["code"] == "CAREGIVER"


@pytest.mark.parametrize(
    "lien, code",
    [
        (LienProche.AIDANT, "CAREGIVER"),
        (LienProche.REPRESENTANT_LEGAL, "GUARD"),
        (LienProche.PERSONNE_CONFIANCE, "NOK"),
        (LienProche.PERSONNE_A_PREVENIR, "ECON"),
        (LienProche.FAMILLE, "CON"),
    ],
)
def test_relatedperson_roles_tre_r260_et_retour(lien, code):
    proche = Proche(
        uuid=_uuid(6), usager=usager(), lien=lien, nom="X", prenoms="Y", telephone="0600000000",
        date_debut=datetime.date(2024, 1, 1), mesure_protection=MesureProtection.TUTELLE,
    )  # fmt: skip
    ressource = fhir.proche_vers_relatedperson(proche, jour=JOUR)
    valider(ressource, type_attendu="RelatedPerson")
    assert ressource["relationship"][0]["coding"][0] == {
        "system": fhir.SYSTEME_TRE_R260, "code": code, "display": fhir.ROLES_PROCHE[lien][1]
    }  # fmt: skip
    attendu = lien if lien != LienProche.FAMILLE else LienProche.AUTRE
    assert fhir.donnees_proche(ressource)["lien"] == attendu


# --- Sens inverse --------------------------------------------------------------------------------


def test_identifiants_organization_aller_retour():
    ressource = fhir.structure_vers_organization(structure())
    trouves = fhir.identifiants_organization(ressource)
    assert (trouves.uuid, trouves.finess_eg, trouves.siret) == (str(_uuid(1)), "350000014", "73282932000074")
    seul_idnat = {"identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1350000014"}]}
    assert fhir.identifiants_organization(seul_idnat).finess_eg == "350000014"
    assert fhir.identifiants_organization({"identifier": [{"system": "https://autre", "value": "1"}]}).vide


def test_donnees_structure_depuis_l_exemple_cds():
    exemple = json.loads(
        (EXEMPLES / "cercle-de-soins" / "Organization-cds-organization-example.json").read_text()
    )
    donnees = fhir.donnees_structure(exemple)
    assert donnees["raison_sociale"] == "Cabinet médical CC CC"
    assert donnees["commune"] == "Rennes" and donnees["code_postal"] == "35000"
    assert donnees["finess_eg"] is None
    with pytest.raises(ErreurFHIR) as erreur:
        fhir.donnees_structure({"resourceType": "Organization"})
    assert erreur.value.statut == 422 and erreur.value.problemes[0].expression == ("Organization.name",)


def test_donnees_proche_depuis_l_exemple_cds():
    exemple = json.loads(
        (EXEMPLES / "cercle-de-soins" / "RelatedPerson-cds-relatedperson-example.json").read_text()
    )
    donnees = fhir.donnees_proche(exemple)
    assert donnees["lien"] == LienProche.PERSONNE_A_PREVENIR  # ECON
    assert (donnees["nom"], donnees["prenoms"], donnees["telephone"]) == ("Lamine", "CHIBOUT", "0602143212")
    sans_role = {**exemple, "relationship": exemple["relationship"][1:]}  # seulement NBOR (TRE_R216)
    with pytest.raises(ErreurFHIR) as erreur:
        fhir.donnees_proche(sans_role)
    assert erreur.value.problemes[0].expression == ("RelatedPerson.relationship",)


def test_identifiants_practitionerrole_de_l_exemple_cdl():
    bundle = json.loads((EXEMPLES / "cahier-de-liaison" / "Bundle-cdl-bundle-creation-note.json").read_text())
    role = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "PractitionerRole")
    trouves = fhir.identifiants_practitionerrole(role)
    assert trouves.practitioner == "Practitioner/85652218-ea45-426f-916e-6ca5ea8dd5e1"
    assert trouves.profession_code == "60" and trouves.organization is None
    par_identifiant = {
        "practitioner": {"identifier": {"system": "https://rpps.esante.gouv.fr", "value": "10002222222"}},
        "organization": {"identifier": {"system": "https://finess.esante.gouv.fr", "value": "350000014"}},
    }
    trouves = fhir.identifiants_practitionerrole(par_identifiant)
    assert trouves.idnat_ps == "810002222222" and trouves.structure.finess_eg == "350000014"


# --- Exemples des IG ------------------------------------------------------------------------------


def _exemples():
    return sorted((EXEMPLES / "cercle-de-soins").glob("*.json")) + sorted(
        (EXEMPLES / "cahier-de-liaison").glob("*.json")
    )


@pytest.mark.parametrize(
    "chemin", [c for c in _exemples() if not c.name.startswith("ValueSet-")], ids=lambda c: c.name
)
def test_les_exemples_des_ig_sont_acceptes(chemin):
    ressource = json.loads(chemin.read_text(encoding="utf-8"))
    valider(ressource, type_attendu=ressource["resourceType"])


def test_les_value_sets_publies_ne_sont_pas_du_r4_valide():
    """Les deux ValueSet du dossier cercle-de-soins/ ne sont pas des exemples de ressources échangées
    mais de la terminologie produite par l'IG Publisher : `designation` sans `value` (1..1 en R4) et
    `expansion.property` (élément R5). On vérifie qu'ils sont refusés pour ces raisons-là, et
    seulement celles-là."""
    vs = json.loads((EXEMPLES / "cercle-de-soins" / "ValueSet-careteam-roles-vs.json").read_text())
    with pytest.raises(ErreurFHIR) as erreur:
        valider(vs)
    assert [p.expression for p in erreur.value.problemes] == [
        ("ValueSet.compose.include[0].concept[0].designation[0].value",)
    ]
    expansion = json.loads(
        (EXEMPLES / "cercle-de-soins" / "ValueSet-careteam-roles-vs.expansion.json").read_text()
    )
    with pytest.raises(ErreurFHIR) as erreur:
        valider(expansion)
    assert {p.expression[0] for p in erreur.value.problemes} == {
        "ValueSet.expansion.property", "ValueSet.expansion.contains[3].property"
    }  # fmt: skip


def test_chaines_vides_des_exemples_lues_comme_absentes():
    exemple = json.loads((EXEMPLES / "cercle-de-soins" / "CareTeam-cds-careteam-example.json").read_text())
    propre = valider(exemple)
    assert propre["_name"]["extension"][0]["extension"][1] == {"url": "content"}


def test_elements_propres_a_r4b_refuses():
    with pytest.raises(ErreurFHIR) as erreur:
        valider(
            {
                "resourceType": "Basic",
                "code": {"text": "x"},
                "extension": [{"url": "http://x", "valueRatioRange": {}}],
            }
        )
    assert erreur.value.problemes[0].expression == ("Basic.extension[0].valueRatioRange",)


# --- Résolution en base (ce que les Bundles du cercle désigneront) -------------------------------


@pytest.mark.django_db
def test_structure_designee_par_reference_identifiants_ou_ressource():
    from coordination.personnes.fhir_annuaire import structure_designee
    from tests.factories import StructureFactory

    cible = StructureFactory(siret="73282932000074")
    StructureFactory(finess_ej=cible.finess_ej)  # même EJ : l'EJ seule est ambiguë
    assert structure_designee({"reference": f"Organization/{cible.uuid}"}) == cible
    assert structure_designee({"reference": "Organization/inconnue"}) is None
    finess = {"system": "https://finess.esante.gouv.fr", "value": cible.finess_eg}
    assert structure_designee({"identifier": finess}) == cible
    ej = {
        "system": "https://finess.esante.gouv.fr",
        "value": cible.finess_ej,
        "type": {"coding": [{"code": "FINEJ"}]},
    }
    assert structure_designee({"identifier": ej}) is None
    assert structure_designee(fhir.structure_vers_organization(cible)) == cible
    siret_seul = {
        "resourceType": "Organization",
        "identifier": [{"system": "https://sirene.fr", "value": cible.siret}],
    }
    assert structure_designee(siret_seul) == cible
    exemple = json.loads(
        (EXEMPLES / "cercle-de-soins" / "Organization-cds-organization-example.json").read_text()
    )
    assert structure_designee(exemple) is None  # inconnue : à créer (donnees_structure)


@pytest.mark.django_db
def test_exercice_designe_par_reference_ou_par_professionnel_et_structure():
    from coordination.personnes.fhir_annuaire import exercice_designe
    from tests.factories import ExerciceFactory

    exercice = ExerciceFactory()
    ExerciceFactory(professionnel=exercice.professionnel)  # même professionnel, autre structure
    assert exercice_designe({"reference": f"PractitionerRole/{exercice.uuid}"}) == exercice
    ressource = fhir.exercice_vers_practitionerrole(exercice, jour=JOUR)
    assert exercice_designe(ressource) == exercice
    sans_id = {**ressource, "id": None, "identifier": []}
    assert exercice_designe(sans_id) == exercice  # professionnel + structure + profession
    par_identifiants = {
        "resourceType": "PractitionerRole",
        "practitioner": {
            "identifier": {"system": "https://rpps.esante.gouv.fr", "value": exercice.professionnel.rpps}
        },
        "organization": {
            "identifier": {"system": "https://finess.esante.gouv.fr", "value": exercice.structure.finess_eg}
        },
    }
    assert exercice_designe(par_identifiants) == exercice
    ambigu = {**par_identifiants, "organization": None}
    assert exercice_designe(ambigu) is None  # deux situations pour ce professionnel
