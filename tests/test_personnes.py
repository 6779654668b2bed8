"""Personnes : services (journal), règles INS, contraintes en base, doublons, formulaire, admin."""

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.comptes.models import Compte, IdentiteExterne
from coordination.journal.models import Evenement
from coordination.personnes import selectors, services
from coordination.personnes.forms import LIBELLE_CONFIRMATION, UsagerForm
from coordination.personnes.identifiants import OID_INS_DEMO, OID_INS_NIA, OID_INS_TEST
from coordination.personnes.models import (
    ModeRecueil,
    Professionnel,
    StatutIdentite,
    Structure,
    Usager,
    normaliser_trait,
)
from tests.factories import (
    CompteFactory,
    ExerciceFactory,
    ProcheFactory,
    StructureFactory,
    UsagerFactory,
    connecter,
    finess_valide,
    nir_valide,
    rpps_valide,
)

pytestmark = pytest.mark.django_db

NAISSANCE = datetime.date(1945, 7, 14)
INSI = datetime.date(2026, 1, 15)


@pytest.fixture
def acteur():
    exercice = ExerciceFactory(professionnel__compte=CompteFactory())
    return Acteur(TypeActeur.PROFESSIONNEL, exercice.professionnel.compte, exercice=exercice)


def traits(**autres) -> dict:
    donnees = {
        "nom_naissance": "DUPONT",
        "prenoms_naissance": "Jeanne Marie",
        "date_naissance": NAISSANCE,
        "sexe": "F",
        "code_lieu_naissance": "75056",
    }
    donnees.update(autres)
    return donnees


def ins_qualifiee(n: int = 1, **autres) -> dict:
    donnees = traits(
        matricule_ins=nir_valide(n),
        oid_ins=OID_INS_TEST,
        statut_identite=StatutIdentite.QUALIFIEE,
        mode_recueil=ModeRecueil.INSI,
        date_interrogation_insi=INSI,
        justificatif_identite="carte nationale d'identité",
    )
    donnees.update(autres)
    return donnees


def evenements(action: str, **filtres):
    return list(Evenement.objects.filter(action=action, **filtres).order_by("id"))


def violation(contrainte: str, fonction) -> None:
    """L'écriture brute (sans clean) est refusée par la base, par la contrainte nommée."""
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        fonction()
    assert contrainte in str(exc.value)


# --- Services : usagers ----------------------------------------------------------------------


def test_creer_usager_sans_ins_journalise_la_creation(acteur):
    usager = services.creer_usager(acteur=acteur, donnees=traits(telephone="0600000000"))
    assert usager.pk and usager.statut_identite == StatutIdentite.PROVISOIRE
    assert usager.matricule_ins is None and usager.matricule_exportable is None
    [evenement] = evenements("usager.creation")
    assert evenement.usager_uuid == usager.uuid
    assert evenement.objet_uuid == usager.uuid and evenement.objet_type == "personnes.usager"
    assert evenement.acteur_type == TypeActeur.PROFESSIONNEL
    assert evenement.professionnel_uuid == acteur.professionnel.uuid
    assert evenement.details == {"statut_identite": "PROV", "avec_ins": False, "doublons_ecartes": []}


def test_creer_usager_qualifie_normalise_le_matricule_et_l_exporte(acteur):
    matricule = nir_valide(7)
    espace = " ".join([matricule[:1], matricule[1:5], matricule[5:13], matricule[13:]])
    usager = services.creer_usager(acteur=acteur, donnees=ins_qualifiee(matricule_ins=espace))
    usager.refresh_from_db()
    assert usager.matricule_ins == matricule
    assert usager.matricule_exportable == matricule
    assert evenements("usager.creation")[0].details["avec_ins"] is True


def test_creer_usager_refuse_une_cle_fausse_en_francais_sans_rien_ecrire(acteur):
    matricule = nir_valide(3)
    faux = matricule[:13] + f"{(int(matricule[13:]) + 1) % 97:02d}"
    with pytest.raises(ValidationError) as exc:
        services.creer_usager(acteur=acteur, donnees=ins_qualifiee(matricule_ins=faux))
    assert "Matricule INS : la clé de contrôle" in exc.value.message_dict["matricule_ins"][0]
    assert not Usager.objects.exists()
    assert not evenements("usager.creation")


def test_creer_usager_champ_inconnu_est_une_erreur_de_programmation(acteur):
    with pytest.raises(TypeError, match="nom_naissance_normalise"):
        services.creer_usager(acteur=acteur, donnees=traits(nom_naissance_normalise="X"))


def test_creer_usager_doublon_leve_puis_confirme(acteur):
    existant = services.creer_usager(acteur=acteur, donnees=traits())
    with pytest.raises(services.DoublonPossible) as exc:
        services.creer_usager(acteur=acteur, donnees=traits(nom_naissance="Dupont", telephone="0611111111"))
    [candidat] = exc.value.candidats
    assert candidat.usager == existant and candidat.niveau == selectors.PROBABLE
    assert "doublon probable" in exc.value.messages[1]
    assert Usager.objects.count() == 1
    # Les traits de l'usager existant ont été montrés : sa consultation est journalisée.
    [consultation] = evenements("usager.doublon.consultation")
    assert consultation.usager_uuid == existant.uuid

    nouveau = services.creer_usager(
        acteur=acteur, donnees=traits(nom_naissance="Dupont"), confirmer_doublon=True
    )
    assert Usager.objects.count() == 2
    creation = evenements("usager.creation", usager_uuid=nouveau.uuid)[0]
    assert creation.details["doublons_ecartes"] == [str(existant.uuid)]


def test_modifier_un_trait_d_une_identite_qualifiee_la_ramene_a_provisoire(acteur):
    usager = UsagerFactory(qualifiee=True)
    assert usager.matricule_exportable
    modifie = services.modifier_identite_usager(
        acteur=acteur, usager=usager, donnees={"nom_naissance": "DUPONT-MARTIN"}
    )
    assert modifie.statut_identite == StatutIdentite.PROVISOIRE
    assert modifie.matricule_ins == usager.matricule_ins  # conservé…
    assert modifie.matricule_exportable is None  # …mais ne sort plus du portail
    assert Usager.objects.get(pk=usager.pk).nom_naissance_normalise == "DUPONTMARTIN"
    [evenement] = evenements("usager.identite.modification", usager_uuid=usager.uuid)
    assert evenement.details["champs"] == ["nom_naissance", "statut_identite"]
    assert evenement.details["statut_avant"] == "QUAL" and evenement.details["statut_apres"] == "PROV"
    assert evenement.details["statut_abaisse"] is True


def test_modifier_un_trait_avec_nouvel_appel_insi_et_piece_garde_qualifiee(acteur):
    usager = UsagerFactory(qualifiee=True)
    modifie = services.modifier_identite_usager(
        acteur=acteur,
        usager=usager,
        donnees={
            "prenoms_naissance": "Jeanne Marie Louise",
            "date_interrogation_insi": datetime.date(2026, 3, 1),
            "justificatif_identite": "passeport",
        },
    )
    assert modifie.statut_identite == StatutIdentite.QUALIFIEE
    assert modifie.matricule_exportable == usager.matricule_ins


def test_modifier_un_trait_avec_nouvel_appel_insi_seul_donne_recuperee(acteur):
    usager = UsagerFactory(qualifiee=True)
    modifie = services.modifier_identite_usager(
        acteur=acteur,
        usager=usager,
        donnees={"code_lieu_naissance": "2a004", "date_interrogation_insi": datetime.date(2026, 3, 1)},
    )
    assert modifie.code_lieu_naissance == "2A004"
    assert modifie.statut_identite == StatutIdentite.RECUPEREE
    assert modifie.matricule_exportable is None


def test_identite_validee_sans_ins(acteur):
    usager = services.creer_usager(
        acteur=acteur,
        donnees=traits(statut_identite=StatutIdentite.VALIDEE, justificatif_identite="titre de séjour"),
    )
    assert usager.statut_identite == StatutIdentite.VALIDEE and usager.matricule_ins is None
    # Changer un trait sans nouveau contrôle de pièce : provisoire ; avec une pièce : validée.
    abaisse = services.modifier_identite_usager(acteur=acteur, usager=usager, donnees={"sexe": "M"})
    assert abaisse.statut_identite == StatutIdentite.PROVISOIRE
    revalide = services.modifier_identite_usager(
        acteur=acteur,
        usager=usager,
        donnees={"statut_identite": "VALI", "sexe": "F", "justificatif_identite": "passeport"},
    )
    assert revalide.statut_identite == StatutIdentite.VALIDEE


def test_modifier_le_contact_ne_touche_pas_au_statut(acteur):
    usager = UsagerFactory(qualifiee=True)
    modifie = services.modifier_identite_usager(
        acteur=acteur, usager=usager, donnees={"telephone": "0612345678", "nom_utilise": "DURAND"}
    )
    assert modifie.statut_identite == StatutIdentite.QUALIFIEE
    [evenement] = evenements("usager.identite.modification")
    assert evenement.details["champs"] == ["nom_utilise", "telephone"]
    assert evenement.details["statut_abaisse"] is False


def test_modifier_sans_changement_n_ecrit_rien(acteur):
    usager = UsagerFactory()
    services.modifier_identite_usager(acteur=acteur, usager=usager, donnees={"sexe": usager.sexe})
    assert not evenements("usager.identite.modification")


def test_identite_douteuse_force_provisoire_par_le_service(acteur):
    usager = UsagerFactory(qualifiee=True)
    modifie = services.modifier_identite_usager(
        acteur=acteur, usager=usager, donnees={"identite_douteuse": True}
    )
    assert modifie.statut_identite == StatutIdentite.PROVISOIRE
    assert modifie.matricule_exportable is None
    assert evenements("usager.identite.modification")[0].details["statut_apres"] == "PROV"


def test_identite_douteuse_et_fictive_refusee_par_le_service(acteur):
    usager = UsagerFactory()
    with pytest.raises(ValidationError) as exc:
        services.modifier_identite_usager(
            acteur=acteur, usager=usager, donnees={"identite_douteuse": True, "identite_fictive": True}
        )
    assert "à la fois douteuse et fictive" in exc.value.message_dict["identite_fictive"][0]
    assert not Usager.objects.get(pk=usager.pk).identite_douteuse


# --- Services : proches, structures, professionnels, exercices --------------------------------


def test_ajouter_proche_journalise_pour_l_usager(acteur):
    usager = UsagerFactory()
    proche = services.ajouter_proche(
        acteur=acteur,
        usager=usager,
        donnees={
            "lien": "representant_legal",
            "mesure_protection": "tutelle",
            "nom": "TUTEUR",
            "prenoms": "Paul",
            "date_debut": datetime.date(2025, 1, 1),
        },
    )
    assert proche.represente_legalement
    [evenement] = evenements("proche.ajout")
    assert evenement.usager_uuid == usager.uuid and evenement.objet_uuid == proche.uuid
    assert evenement.details == {"lien": "representant_legal", "mesure_protection": "tutelle"}


def test_ajouter_representant_legal_sans_mesure_refuse(acteur):
    with pytest.raises(ValidationError) as exc:
        services.ajouter_proche(
            acteur=acteur,
            usager=UsagerFactory(),
            donnees={"lien": "representant_legal", "nom": "X", "prenoms": "Y", "date_debut": NAISSANCE},
        )
    assert "Représentant légal : précisez la mesure de protection." in exc.value.messages


def test_creer_structure_corse_et_normalisation(acteur):
    structure = services.creer_structure(
        acteur=acteur,
        donnees={"raison_sociale": "SSIAD d'Ajaccio (fictif)", "finess_eg": "2a 000 001 2", "finess_ej": ""},
    )
    assert structure.finess_eg == "2A0000012" and structure.finess_cle_verifiee is False
    continent = services.creer_structure(
        acteur=acteur,
        donnees={"raison_sociale": "EHPAD", "finess_eg": "01 000 002 4", "siret": "260 100 045 00012"},
    )
    assert continent.finess_eg == "010000024" and continent.finess_cle_verifiee is True
    assert continent.siret == "26010004500012"
    details = [e.details for e in evenements("structure.creation")]
    assert details == [
        {"finess_eg": "2A0000012", "finess_cle_verifiee": False},
        {"finess_eg": "010000024", "finess_cle_verifiee": True},
    ]


def test_creer_structure_finess_faux_refuse(acteur):
    with pytest.raises(ValidationError) as exc:
        services.creer_structure(acteur=acteur, donnees={"raison_sociale": "X", "finess_eg": "010000025"})
    assert "la clé de contrôle" in exc.value.message_dict["finess_eg"][0]


def test_creer_professionnel_cle_verifiee_a_la_saisie_pas_pour_une_source_officielle(acteur):
    cle_fausse = "8" + rpps_valide(12)[:10] + str((int(rpps_valide(12)[10]) + 1) % 10)
    with pytest.raises(ValidationError) as exc:
        services.creer_professionnel(acteur=acteur, donnees={"idnat_ps": cle_fausse, "nom_exercice": "A"})
    assert "(partie RPPS) : la clé de contrôle" in exc.value.message_dict["idnat_ps"][0]

    pro = services.creer_professionnel(
        acteur=acteur, donnees={"idnat_ps": cle_fausse, "nom_exercice": "TEST PSC"}, source_officielle=True
    )
    assert pro.idnat_ps == cle_fausse and pro.rpps == cle_fausse[1:]
    evenement = evenements("professionnel.creation")[0]
    assert evenement.details == {"source_officielle": True, "cle_idnat_ps_invalide": True}
    assert evenement.objet_uuid == pro.uuid

    with pytest.raises(ValidationError) as exc:
        services.creer_professionnel(
            acteur=acteur, donnees={"idnat_ps": cle_fausse, "nom_exercice": "B"}, source_officielle=True
        )
    assert "un professionnel porte déjà cet identifiant" in exc.value.message_dict["idnat_ps"][0]
    with pytest.raises(ValidationError) as exc:
        services.creer_professionnel(
            acteur=acteur, donnees={"idnat_ps": "8123", "nom_exercice": "C"}, source_officielle=True
        )
    assert exc.value.message_dict["idnat_ps"][0].startswith("Identifiant national (idNat_PS) :")


def test_creer_professionnel_et_exercice_journalises(acteur):
    structure = StructureFactory()
    pro = services.creer_professionnel(
        acteur=acteur,
        donnees={"idnat_ps": "8" + rpps_valide(99_999_940), "nom_exercice": "SOIGNANTE",
                 "profession_code": "60",
                 "profession_libelle": "Infirmier"},
    )  # fmt: skip
    exercice = services.creer_exercice(
        acteur=acteur,
        professionnel=pro,
        structure=structure,
        donnees={"fonction": "infirmière coordinatrice"},
    )
    assert exercice.profession_code == "60" and exercice.profession_libelle == "Infirmier"
    [evenement] = evenements("exercice.creation")
    assert evenement.details == {"professionnel": str(pro.uuid), "structure": str(structure.uuid)}
    with pytest.raises(ValidationError) as exc:
        services.creer_exercice(
            acteur=acteur,
            professionnel=pro,
            structure=StructureFactory(),
            donnees={"date_debut": datetime.date(2025, 5, 1), "date_fin": datetime.date(2025, 1, 1)},
        )
    assert "Situation d'exercice : la date de fin précède la date de début." in exc.value.messages
    assert len(evenements("exercice.creation")) == 1


# --- Règles INS : modèle et base --------------------------------------------------------------


def test_save_force_provisoire_pour_douteuse_ou_fictive():
    usager = UsagerFactory(qualifiee=True)
    usager.identite_fictive = True
    usager.save()
    usager.refresh_from_db()
    assert usager.statut_identite == StatutIdentite.PROVISOIRE


def test_base_refuse_douteuse_non_provisoire_hors_save():
    usager = UsagerFactory(qualifiee=True)
    violation(
        "usager_douteuse_fictive_provisoire",
        lambda: Usager.objects.filter(pk=usager.pk).update(identite_douteuse=True),
    )


def test_base_refuse_douteuse_et_fictive():
    usager = UsagerFactory()
    violation(
        "usager_douteuse_xor_fictive",
        lambda: Usager.objects.filter(pk=usager.pk).update(identite_douteuse=True, identite_fictive=True),
    )


def test_clean_refuse_douteuse_et_fictive():
    usager = Usager(**traits(identite_douteuse=True, identite_fictive=True))
    with pytest.raises(ValidationError) as exc:
        usager.full_clean()
    assert "à la fois douteuse et fictive" in exc.value.message_dict["identite_fictive"][0]


@pytest.mark.parametrize("statut", ["QUAL", "RECUP"])
def test_base_exige_matricule_et_date_insi_pour_qualifiee_ou_recuperee(statut):
    usager = UsagerFactory()
    violation(
        "usager_statut_exige_ins",
        lambda: Usager.objects.filter(pk=usager.pk).update(
            statut_identite=statut, date_interrogation_insi=INSI
        ),
    )
    avec_ins = UsagerFactory(qualifiee=True)
    violation(
        "usager_insi_date_requise",
        lambda: Usager.objects.filter(pk=avec_ins.pk).update(
            statut_identite=statut, date_interrogation_insi=None
        ),
    )
    violation(
        "usager_matricule_et_oid_ensemble", lambda: Usager.objects.filter(pk=avec_ins.pk).update(oid_ins="")
    )


@pytest.mark.parametrize(
    ("retrait", "champ", "message"),
    [
        ("date_interrogation_insi", "date_interrogation_insi", "Date d'interrogation INSi : obligatoire"),
        ("matricule_ins", "statut_identite", "exige un matricule INS"),
        ("oid_ins", "oid_ins", "OID du matricule INS : obligatoire"),
    ],
)
def test_clean_explique_ce_qui_manque_a_une_identite_qualifiee(retrait, champ, message):
    donnees = ins_qualifiee()
    donnees[retrait] = "" if retrait == "oid_ins" else None
    with pytest.raises(ValidationError) as exc:
        Usager(**donnees).full_clean()
    assert any(message in m for m in exc.value.message_dict[champ])


def test_application_carte_vitale_qualifie_sans_appel_insi():
    usager = Usager(
        **ins_qualifiee(mode_recueil=ModeRecueil.APPLI_CARTE_VITALE, date_interrogation_insi=None)
    )
    usager.full_clean()
    usager.save()
    assert usager.matricule_exportable == usager.matricule_ins


@pytest.mark.parametrize("statut", ["PROV", "RECUP", "VALI"])
def test_matricule_exportable_seulement_si_qualifiee(statut):
    usager = UsagerFactory(qualifiee=True)
    Usager.objects.filter(pk=usager.pk).update(statut_identite=statut)
    usager.refresh_from_db()
    assert usager.matricule_ins and usager.matricule_exportable is None


def test_usager_sans_ins_valide_et_en_base():
    usager = Usager(**traits(code_lieu_naissance=""))
    usager.full_clean()
    usager.save()
    assert usager.matricule_ins is None and usager.oid_ins == ""
    vali = Usager(**traits(nom_naissance="AUTRE", statut_identite="VALI"))
    vali.full_clean()
    vali.save()


def test_matricule_unique_par_oid():
    premier = UsagerFactory(qualifiee=True)
    violation(
        "usager_matricule_unique",
        lambda: UsagerFactory(qualifiee=True, matricule_ins=premier.matricule_ins),
    )
    # Le même numéro sous un autre OID (démonstration) est une autre identité.
    UsagerFactory(qualifiee=True, matricule_ins=premier.matricule_ins, oid_ins=OID_INS_DEMO)
    doublon = Usager(**ins_qualifiee(matricule_ins=premier.matricule_ins))
    with pytest.raises(ValidationError) as exc:
        doublon.full_clean()
    assert "Matricule INS : un autre usager porte déjà ce matricule." in exc.value.messages


def test_nia_avec_son_oid():
    usager = Usager(**traits(sexe="M", matricule_ins="780129912345664", oid_ins=OID_INS_NIA))
    usager.full_clean()
    usager.save()
    assert usager.statut_identite == StatutIdentite.PROVISOIRE


def test_sexe_et_premier_chiffre_du_nir_concordent():
    usager = Usager(**ins_qualifiee(sexe="M"))  # nir_valide commence par 2
    with pytest.raises(ValidationError) as exc:
        usager.full_clean()
    assert "ne correspond pas au sexe saisi" in exc.value.message_dict["matricule_ins"][0]


# --- Doublons ---------------------------------------------------------------------------------


def cherche(**autres):
    return selectors.doublons_possibles(**traits(**autres))


def test_doublon_probable_malgre_accents_tirets_et_casse():
    existant = UsagerFactory(**traits(nom_naissance="LEFÈVRE-D'ORNANO", prenoms_naissance="Jeanne-Marie"))
    [candidat] = cherche(nom_naissance="Lefevre d Ornano", prenoms_naissance="jeanne marie")
    assert candidat.usager == existant
    assert candidat.niveau == selectors.PROBABLE and candidat.traits_differents == ()
    assert "les 5 traits sont identiques" in candidat.decrire()


@pytest.mark.parametrize(
    ("autre", "trait"),
    [
        ({"code_lieu_naissance": "69123"}, "code_lieu_naissance"),
        ({"sexe": "M"}, "sexe"),
        ({"prenoms_naissance": "Jeanne"}, "prenoms_naissance"),
    ],
)
def test_doublon_possible_quand_un_seul_trait_differe(autre, trait):
    existant = UsagerFactory(**traits())
    [candidat] = cherche(**autre)
    assert candidat.usager == existant
    assert candidat.niveau == selectors.POSSIBLE and candidat.traits_differents == (trait,)


def test_pas_de_doublon_quand_deux_traits_different_ou_autre_date():
    UsagerFactory(**traits())
    assert cherche(prenoms_naissance="Paul", sexe="M") == []  # jumeaux
    assert cherche(date_naissance=datetime.date(1945, 7, 15)) == []
    assert cherche(nom_naissance="DUPOND") == []


def test_doublon_nom_et_prenom_inverses():
    existant = UsagerFactory(**traits(nom_naissance="MARTIN", prenoms_naissance="Claire Anne"))
    [candidat] = cherche(nom_naissance="Claire", prenoms_naissance="Martin")
    assert candidat.usager == existant and candidat.inversion_nom_prenom
    assert candidat.niveau == selectors.POSSIBLE
    assert candidat.traits_differents == ("nom_naissance", "prenoms_naissance")
    assert "nom et prénom inversés" in candidat.decrire()
    assert (
        cherche(nom_naissance="Claire", prenoms_naissance="Martin", sexe="M", code_lieu_naissance="69123")
        == []
    )


def test_doublons_probables_d_abord_et_exclusion():
    possible = UsagerFactory(**traits(code_lieu_naissance="69123"))
    probable = UsagerFactory(**traits())
    assert [c.usager for c in cherche()] == [probable, possible]
    assert [c.usager for c in cherche(exclure=probable)] == [possible]
    assert [c.usager for c in cherche(exclure=probable.pk)] == [possible]


def test_doublons_montres_a_un_acteur_sont_journalises(acteur):
    existant = UsagerFactory(**traits())
    selectors.doublons_possibles(**traits(), acteur=acteur)
    [evenement] = evenements("usager.doublon.consultation")
    assert evenement.usager_uuid == existant.uuid and evenement.details["niveau"] == "probable"
    selectors.doublons_possibles(**traits())  # sans acteur : rien n'est montré, rien n'est écrit
    assert len(evenements("usager.doublon.consultation")) == 1


def test_recherche_des_doublons_servie_par_les_index():
    noms = [f"NOM{i:03d}" for i in range(400)]
    prenoms = ["Jeanne", "Paul", "Claire", "Louis", "Marie", "Jean", "Anne", "Pierre"]
    usagers = []
    for i in range(6000):
        nom, prenom = noms[i % 400], prenoms[i % 8]
        usagers.append(
            Usager(
                nom_naissance=nom,
                prenoms_naissance=prenom,
                # ~20 personnes par date : la date seule ne suffit pas, il faut les deux index.
                date_naissance=datetime.date(1930, 1, 1) + datetime.timedelta(days=(i * 7) % 300),
                sexe="F",
                nom_naissance_normalise=normaliser_trait(nom),
                premier_prenom_normalise=normaliser_trait(prenom),
            )
        )
    Usager.objects.bulk_create(usagers, batch_size=2000)
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE personnes_usager")
    requete = selectors.requete_doublons(
        nom="NOM007", premier_prenom="JEANNE", date_naissance=usagers[7].date_naissance
    )
    plan = requete.explain()
    assert "Seq Scan" not in plan, plan
    assert "usager_traits_idx" in plan and "usager_prenom_date_idx" in plan, plan
    memes = [
        u.pk for u in usagers if u.nom_naissance == "NOM007" and u.date_naissance == usagers[7].date_naissance
    ]
    assert len(memes) > 1
    trouves = selectors.doublons_possibles(
        nom_naissance="NOM007", prenoms_naissance="Paul", date_naissance=usagers[7].date_naissance,
        sexe="F", code_lieu_naissance="",
    )  # fmt: skip
    assert [c.usager.pk for c in trouves] == memes
    assert {c.traits_differents for c in trouves} == {("prenoms_naissance",)}


# --- Formulaire -------------------------------------------------------------------------------


def donnees_formulaire(**autres) -> dict:
    donnees = {
        "nom_naissance": "DUPONT",
        "prenoms_naissance": "Jeanne Marie",
        "date_naissance": "1945-07-14",
        "sexe": "F",
        "code_lieu_naissance": "75056",
        "oid_ins": "",
        "statut_identite": "PROV",
        "mode_recueil": "SM",
    }
    donnees.update(autres)
    return donnees


def test_formulaire_libelles_en_francais():
    formulaire = UsagerForm()
    assert formulaire.fields["nom_naissance"].label == "Nom de naissance"
    assert formulaire.fields["code_lieu_naissance"].label == "Code INSEE du lieu de naissance"
    assert formulaire.fields["confirmer_doublon"].label == LIBELLE_CONFIRMATION
    assert isinstance(formulaire.fields["confirmer_doublon"].widget, forms.HiddenInput)


def test_formulaire_cree_par_le_service(acteur):
    formulaire = UsagerForm(data=donnees_formulaire(prenoms_naissance="  Jeanne   Marie "), acteur=acteur)
    assert formulaire.is_valid(), formulaire.errors
    usager = formulaire.enregistrer()
    assert usager.prenoms_naissance == "Jeanne Marie"
    assert evenements("usager.creation")[0].usager_uuid == usager.uuid


def test_formulaire_erreur_de_matricule_nommee():
    formulaire = UsagerForm(data=donnees_formulaire(matricule_ins="269054958815781", oid_ins=OID_INS_TEST))
    assert not formulaire.is_valid()
    assert formulaire.errors["matricule_ins"][0].startswith("Matricule INS : la clé de contrôle")


def test_formulaire_montre_les_doublons_et_demande_confirmation(acteur):
    existant = UsagerFactory(**traits())
    formulaire = UsagerForm(data=donnees_formulaire(code_lieu_naissance="69123"), acteur=acteur)
    assert not formulaire.is_valid()
    erreurs = formulaire.non_field_errors()
    assert LIBELLE_CONFIRMATION in erreurs[0]
    assert "Jeanne Marie DUPONT, née le 14/07/1945, lieu de naissance 75056" in erreurs[1]
    assert "doublon possible (lieu de naissance différent(s))" in erreurs[1]
    assert [c.usager for c in formulaire.doublons] == [existant]
    html = str(formulaire["confirmer_doublon"])
    assert 'type="checkbox"' in html
    assert len(evenements("usager.doublon.consultation")) == 1

    confirme = UsagerForm(
        data=donnees_formulaire(code_lieu_naissance="69123", confirmer_doublon="on"), acteur=acteur
    )
    assert confirme.is_valid(), confirme.errors
    usager = confirme.enregistrer()
    assert usager.pk != existant.pk
    creation = evenements("usager.creation")[0]
    assert creation.details["doublons_ecartes"] == [str(existant.uuid)]


def test_formulaire_de_modification_ne_se_prend_pas_pour_un_doublon(acteur):
    usager = UsagerFactory(**traits())
    formulaire = UsagerForm(data=donnees_formulaire(telephone="0600000000"), instance=usager, acteur=acteur)
    assert formulaire.is_valid(), formulaire.errors
    modifie = formulaire.enregistrer()
    assert modifie.telephone == "0600000000"
    assert evenements("usager.identite.modification")[0].details["champs"] == ["telephone"]


# --- Administration ---------------------------------------------------------------------------


@pytest.fixture
def admin_client_mfa(client):
    superuser = Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234")
    connecter(client, superuser)
    client.superuser = superuser
    return client


def _peupler(n: int) -> None:
    for _ in range(n):
        structure = StructureFactory()
        ExerciceFactory(structure=structure, professionnel__compte=CompteFactory())
        usager = UsagerFactory(compte=CompteFactory())
        ProcheFactory(usager=usager, compte=CompteFactory())
        IdentiteExterne.objects.create(compte=usager.compte, fournisseur="fcplus", sub=f"sub-{usager.pk}")


LISTES = [
    "admin:personnes_structure_changelist",
    "admin:personnes_professionnel_changelist",
    "admin:personnes_usager_changelist",
    "admin:personnes_proche_changelist",
    "admin:comptes_compte_changelist",
    "admin:comptes_identiteexterne_changelist",
]


@pytest.mark.parametrize("liste", LISTES)
def test_liste_admin_nombre_de_requetes_constant(admin_client_mfa, liste, django_assert_max_num_queries):
    url = reverse(liste)
    _peupler(2)
    with CaptureQueriesContext(connection) as peu:
        reponse = admin_client_mfa.get(url)
    assert reponse.status_code == 200
    _peupler(25)
    with CaptureQueriesContext(connection) as beaucoup:
        reponse = admin_client_mfa.get(url)
    assert reponse.status_code == 200
    liste_affichee = reponse.context["cl"]
    assert liste_affichee.result_count == liste_affichee.model.objects.count() >= 27
    assert len(beaucoup) == len(peu), [q["sql"] for q in beaucoup.captured_queries]
    with django_assert_max_num_queries(len(peu)):
        assert admin_client_mfa.get(url, {"q": "a"}).status_code == 200


def test_admin_fiche_professionnel_avec_exercices(admin_client_mfa):
    exercice = ExerciceFactory(fonction="infirmière coordinatrice")
    reponse = admin_client_mfa.get(
        reverse("admin:personnes_professionnel_change", args=[exercice.professionnel.pk])
    )
    assert reponse.status_code == 200
    contenu = reponse.content.decode()
    assert "infirmière coordinatrice" in contenu and "Situations d&#x27;exercice" in contenu


def _post_usager(client, **autres):
    donnees = donnees_formulaire(**autres)
    donnees.update({"_save": "Enregistrer"})
    return client.post(reverse("admin:personnes_usager_add"), donnees)


def test_admin_cree_un_usager_par_le_service_et_signale_les_doublons(admin_client_mfa):
    reponse = _post_usager(admin_client_mfa)
    assert reponse.status_code == 302, getattr(reponse.context.get("adminform"), "form", None).errors
    usager = Usager.objects.get()
    [creation] = evenements("usager.creation")
    assert creation.usager_uuid == usager.uuid
    assert creation.compte_uuid == admin_client_mfa.superuser.uuid
    assert creation.acteur_type == TypeActeur.SANS_PERSONNE

    reponse = _post_usager(admin_client_mfa)
    assert reponse.status_code == 200
    contenu = reponse.content.decode()
    assert "Je confirme qu&#x27;il s&#x27;agit d&#x27;une autre personne" in contenu
    assert "doublon probable" in contenu
    assert Usager.objects.count() == 1
    assert _post_usager(admin_client_mfa, confirmer_doublon="on").status_code == 302
    assert Usager.objects.count() == 2


def test_admin_modifie_un_usager_par_le_service(admin_client_mfa):
    usager = UsagerFactory(qualifiee=True, **traits())
    donnees = donnees_formulaire(
        nom_naissance="DUPONT-MARTIN",
        matricule_ins=usager.matricule_ins,
        oid_ins=usager.oid_ins,
        statut_identite="QUAL",
        mode_recueil="INSI",
        date_interrogation_insi="2026-01-15",
        _save="Enregistrer",
    )
    reponse = admin_client_mfa.post(reverse("admin:personnes_usager_change", args=[usager.pk]), donnees)
    assert reponse.status_code == 302, getattr(reponse.context.get("adminform"), "form", None).errors
    usager.refresh_from_db()
    assert usager.nom_naissance == "DUPONT-MARTIN" and usager.statut_identite == StatutIdentite.PROVISOIRE
    [evenement] = evenements("usager.identite.modification")
    assert evenement.details["statut_abaisse"] is True


def test_admin_structure_journalise(admin_client_mfa):
    reponse = admin_client_mfa.post(
        reverse("admin:personnes_structure_add"),
        {"raison_sociale": "SAAD fictif", "finess_eg": finess_valide(77), "_save": "Enregistrer"},
    )
    assert reponse.status_code == 302, getattr(reponse.context.get("adminform"), "form", None).errors
    structure = Structure.objects.get()
    [evenement] = evenements("structure.admin.creation")
    assert evenement.objet_uuid == structure.uuid


def test_admin_compte_par_courriel_sans_nom_d_utilisateur(admin_client_mfa):
    formulaire = admin_client_mfa.get(reverse("admin:comptes_compte_add")).content.decode()
    assert 'name="email"' in formulaire and 'name="username"' not in formulaire
    reponse = admin_client_mfa.post(
        reverse("admin:comptes_compte_add"),
        {
            "email": "Nouvelle.Personne@Exemple.TEST",
            "nom_affiche": "Nouvelle personne",
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
            "_save": "Enregistrer",
        },
    )
    assert reponse.status_code == 302, reponse.context["adminform"].form.errors
    compte = Compte.objects.get(email="nouvelle.personne@exemple.test")
    assert compte.check_password("un-mot-de-passe-solide-42")
    fiche = admin_client_mfa.get(reverse("admin:comptes_compte_change", args=[compte.pk]))
    assert fiche.status_code == 200 and "Identités externes" in fiche.content.decode()


def test_professionnel_sans_idnat_multiple():
    # Personnels médico-sociaux hors RPPS : plusieurs professionnels sans idNat_PS coexistent.
    for nom in ("A", "B"):
        pro = Professionnel(nom_exercice=nom, idnat_ps="")
        pro.full_clean()
        pro.save()
    assert Professionnel.objects.filter(idnat_ps__isnull=True).count() == 2
