"""Recherche dans l'annuaire des professionnels (voie 2 du cercle) : par nom, sans accents, par RPPS,
filtres profession et commune, rattrapage des fautes de frappe, index trigramme utilisé."""

import pytest
from django.db import connection

from coordination.personnes.models import NomAnnuaire, Professionnel, cle_de_recherche, variantes_de_nom
from coordination.personnes.selectors import rechercher_professionnels
from tests.factories import ExerciceFactory, ProfessionnelFactory, StructureFactory, rpps_valide

pytestmark = pytest.mark.django_db

NOMS = ["LEFÈVRE-D'ORNANO", "Œillet", "N'DIAYE", "Saint-André", "Müller", "dupont", "DUPONTEL", "ANDRÉ"]


def test_cle_python_identique_a_la_cle_calculee_par_postgresql():
    for nom in NOMS:
        pro = ProfessionnelFactory(nom_exercice=nom, prenom_exercice="Hélène-Zoé")
        pro.refresh_from_db()
        assert pro.cle_recherche == cle_de_recherche(f"{nom} Hélène-Zoé"), nom
    assert cle_de_recherche("Lefèvre-D'Ornano Hélène") == "LEFEVRE D ORNANO HELENE"


def _noms(recherche) -> list[str]:
    return [p.nom_exercice for p in recherche.professionnels]


def test_recherche_par_nom_sans_accents_ni_casse_premiers_les_noms_qui_commencent():
    for nom in NOMS:
        ProfessionnelFactory(nom_exercice=nom)
    assert _noms(rechercher_professionnels("lefevre")) == ["LEFÈVRE-D'ORNANO"]
    assert _noms(rechercher_professionnels("ornano lefèvre")) == ["LEFÈVRE-D'ORNANO"]
    assert _noms(rechercher_professionnels("oeillet")) == ["Œillet"]
    assert _noms(rechercher_professionnels("andre")) == ["ANDRÉ", "Saint-André"]
    assert _noms(rechercher_professionnels("DUPONT")) == ["dupont", "DUPONTEL"]
    assert _noms(rechercher_professionnels("muller")) == ["Müller"]


def test_recherche_approchee_si_rien_d_exact():
    ProfessionnelFactory(nom_exercice="DUPONTEL", prenom_exercice="Albert")
    resultat = rechercher_professionnels("dupontelle albert")
    assert _noms(resultat) == ["DUPONTEL"]
    rien = rechercher_professionnels("zzzzqqq")
    assert rien.professionnels == [] and "vérifiez l'orthographe" in rien.message


def test_une_faute_de_frappe_dans_le_nom_ou_le_prenom_est_rattrapee():
    dutin = ProfessionnelFactory(nom_exercice="DUTIN", prenom_exercice="Christophe")
    durin = ProfessionnelFactory(nom_exercice="DURIN", prenom_exercice="Christophe")
    martin = ProfessionnelFactory(nom_exercice="MARTIN", prenom_exercice="Inès")
    ProfessionnelFactory(nom_exercice="MARTIN", prenom_exercice="Paul")
    # Lettres voisines inversées : DTUIN est à une faute de DUTIN, à deux de DURIN.
    assert rechercher_professionnels("dtuin christophe").professionnels[:2] == [dutin, durin]
    assert rechercher_professionnels("dtuin").professionnels[:2] == [dutin, durin]
    assert rechercher_professionnels("mratin ines").professionnels == [martin]  # le prénom départage
    assert rechercher_professionnels("martin ienz").professionnels[0] == martin  # faute dans le prénom
    assert rechercher_professionnels("marin ines").professionnels == [martin]  # lettre oubliée
    assert rechercher_professionnels("marttin ines").professionnels == [martin]  # lettre en trop
    assert rechercher_professionnels("ines mratin").professionnels == [martin]  # prénom d'abord


def test_les_noms_de_l_annuaire_suivent_les_professionnels():
    pro = ProfessionnelFactory(nom_exercice="Lefèvre-D'Ornano", prenom_exercice="Hélène")
    # Même calcul en SQL (déclencheur) et en Python (saisie).
    assert sorted(NomAnnuaire.objects.get(nom="LEFEVRE").variantes) == sorted(variantes_de_nom("LEFEVRE"))
    assert sorted(variantes_de_nom("LEFEVRE")) == sorted(
        ["LEFEVRE", "EFEVRE", "LFEVRE", "LEEVRE", "LEFVRE", "LEFERE", "LEFEVE", "LEFEVR"]
    )
    assert variantes_de_nom("DIA") == ["DIA"]  # trop court pour des variantes
    Professionnel.objects.filter(pk=pro.pk).update(nom_exercice="Lefebvre")  # UPDATE ensembliste
    assert NomAnnuaire.objects.filter(nom="LEFEBVRE").exists()
    Professionnel.objects.bulk_create(  # un INSERT de plusieurs lignes : un passage du déclencheur
        Professionnel(nom_exercice=nom, idnat_ps="8" + rpps_valide(94_000_000 + i))
        for i, nom in enumerate(["Pruvost", "PRUVOST", "Ba"])
    )
    assert list(
        NomAnnuaire.objects.filter(nom__in=["PRUVOST", "BA"]).order_by("nom").values_list("nom", flat=True)
    ) == ["BA", "PRUVOST"]
    assert rechercher_professionnels("lefebrve").professionnels == [pro]


def test_plusieurs_fautes_rattrapees_par_les_trigrammes_des_noms():
    pro = ProfessionnelFactory(nom_exercice="BOURGUIGNON", prenom_exercice="Anne")
    # Deux fautes : aucune variante commune, mais le nom reste proche en trigrammes.
    assert rechercher_professionnels("bourgignnon").professionnels == [pro]


def test_recherche_approchee_en_requetes_bornees():
    from django.test.utils import CaptureQueriesContext

    ProfessionnelFactory(nom_exercice="DUTIN", prenom_exercice="Christophe")
    with CaptureQueriesContext(connection) as requetes:
        assert len(rechercher_professionnels("dtuin christophe").professionnels) == 1
    # début de nom, contenu, noms voisins, plage étroite « DUTIN CHRISTOPHE… »
    assert len(requetes) == 4


def test_saisie_trop_courte_donne_une_consigne():
    resultat = rechercher_professionnels("a ")
    assert resultat.professionnels == [] and "au moins 3 lettres" in resultat.message


def test_recherche_par_rpps_ou_idnat():
    pro = ProfessionnelFactory(idnat_ps="8" + rpps_valide(91_000_001))
    assert rechercher_professionnels(pro.idnat_ps[1:]).professionnels == [pro]
    assert rechercher_professionnels(pro.idnat_ps).professionnels == [pro]
    assert rechercher_professionnels(" ".join(pro.idnat_ps[1:])).professionnels == [pro]


def test_filtres_profession_et_commune():
    brest = StructureFactory(commune="Brest", code_postal="29200")
    ici = ExerciceFactory(
        professionnel__nom_exercice="MARTIN", professionnel__profession_code="60", structure=brest
    )
    ExerciceFactory(
        professionnel__nom_exercice="MARTIN", professionnel__profession_code="10", structure=brest
    )
    ExerciceFactory(professionnel__nom_exercice="MARTIN", professionnel__profession_code="60")
    assert len(rechercher_professionnels("martin").professionnels) == 3
    resultat = rechercher_professionnels("martin", profession_code="60", commune="brest")
    assert resultat.professionnels == [ici.professionnel]
    assert rechercher_professionnels("martin", profession_code="60", commune="29200").professionnels == [
        ici.professionnel
    ]


def test_limite_et_index_trigramme_utilise():
    Professionnel.objects.bulk_create(
        Professionnel(nom_exercice=f"MARTIN{i:03d}", idnat_ps="8" + rpps_valide(92_000_000 + i))
        for i in range(60)
    )
    assert len(rechercher_professionnels("martin").professionnels) == 20
    assert len(rechercher_professionnels("martin", limite=500).professionnels) == 20
    with connection.cursor() as curseur:
        curseur.execute("SET LOCAL enable_seqscan = off")
        curseur.execute(
            "EXPLAIN SELECT id FROM personnes_professionnel WHERE cle_recherche LIKE %s", ["%MARTIN%"]
        )
        plan = "\n".join(ligne for (ligne,) in curseur.fetchall())
    assert "professionnel_recherche_trgm" in plan


def test_debut_de_nom_parcourt_l_index_btree_dans_l_ordre():
    from django.test.utils import CaptureQueriesContext

    Professionnel.objects.bulk_create(
        Professionnel(nom_exercice=f"PECHARD{i:03d}", idnat_ps="8" + rpps_valide(93_000_000 + i))
        for i in range(30)
    )
    with CaptureQueriesContext(connection) as requetes:
        assert len(rechercher_professionnels("pechard").professionnels) == 20
    assert len(requetes) == 1  # la page est pleine dès le premier temps
    with connection.cursor() as curseur:
        curseur.execute("SET LOCAL enable_seqscan = off")
        curseur.execute("SET LOCAL enable_bitmapscan = off")
        curseur.execute("EXPLAIN " + requetes.captured_queries[0]["sql"])
        plan = "\n".join(ligne for (ligne,) in curseur.fetchall())
    assert "professionnel_recherche_debut" in plan and "Presorted Key" in plan
