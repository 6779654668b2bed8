"""Sélecteurs du cahier de liaison : fil visible (filtres, auteurs préchargés, nombre de requêtes
constant), non-lus par cahier et par usager, accusés de réception attendus."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cahier_liaison import selectors
from cahier_liaison import services as cahier
from cahier_liaison.models import Note
from tests.monde_cahier import (
    ACTEURS,
    VISIBILITES,
    construire_monde_cahier,
    note_de,
    peut_lire,
    qui,
    une_heure_avant,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_cahier()


AUTEURS = ["ide", "medecin", "educateur", "usager", "gestionnaire"]


def remplir(monde, nombre: int) -> None:
    """`nombre` notes de tous les auteurs, visibilités mêlées (chaque auteur ne prend que celles
    qu'il peut lire)."""
    for rang in range(nombre):
        auteur = AUTEURS[rang % len(AUTEURS)]
        visibilites = [v for v in VISIBILITES if peut_lire(auteur, v)]
        note_de(monde, auteur, visibilite=visibilites[rang % len(visibilites)], texte=f"Note {rang}.")


def lire_le_fil(acteur, usager) -> list[str]:
    """Ce qu'une page affichera : auteur, qualité, structure et profession de chaque note."""
    lignes = []
    for note in selectors.notes_visibles(acteur, usager):
        exercice = note.auteur_exercice
        lignes.append(
            " ".join(
                [
                    note.auteur_nom,
                    note.auteur_qualite,
                    str(exercice.professionnel) if exercice else "",
                    exercice.structure.raison_sociale if exercice and exercice.structure_id else "",
                    note.auteur_usager.nom_naissance if note.auteur_usager_id else "",
                    ", ".join(piece.nom for piece in note.pieces_prechargees),
                ]
            )
        )
    return lignes


@pytest.mark.parametrize(("nom", "requetes"), [("medecin", 3), ("usager", 2), ("educateur", 3)])
def test_fil_en_nombre_de_requetes_constant(monde, nom, requetes, django_assert_num_queries):
    """Trois requêtes (droits, notes avec leurs auteurs, pièces jointes), qu'il y ait 5 ou 50
    notes ; deux pour l'usager, dont les droits sur son propre dossier se décident sans requête."""
    remplir(monde, 5)
    with django_assert_num_queries(requetes):
        cinq = lire_le_fil(qui(monde, nom), monde.usager)
    remplir(monde, 45)
    with django_assert_num_queries(requetes):
        cinquante = lire_le_fil(qui(monde, nom), monde.usager)
    assert 0 < len(cinq) < len(cinquante) <= 50


def test_fil_trie_et_filtre(monde):
    ancienne = note_de(monde, "ide", type="OBS")
    urgente = note_de(monde, "medecin", type="INST", urgente=True)
    reponse = cahier.repondre(
        acteur=qui(monde, "ide"), note=urgente, type="GEN", survenue_le=une_heure_avant(), texte="Fait."
    )
    medecin = qui(monde, "medecin")
    assert list(selectors.notes_visibles(medecin, monde.usager)) == [reponse, urgente, ancienne]
    assert list(selectors.notes_visibles(medecin, monde.usager, filtres={"type": "INST"})) == [urgente]
    assert list(selectors.notes_visibles(medecin, monde.usager, filtres={"urgente": True})) == [urgente]
    assert list(selectors.notes_visibles(medecin, monde.usager, filtres={"fil": urgente})) == [
        reponse,
        urgente,
    ]
    depuis = urgente.ecrite_le
    assert ancienne not in selectors.notes_visibles(medecin, monde.usager, filtres={"depuis": depuis})


def test_fil_d_un_autre_usager_vide(monde):
    note_de(monde, "medecin")
    assert not selectors.notes_visibles(qui(monde, "autre_usager"), monde.usager).exists()
    assert not selectors.notes_visibles(qui(monde, "medecin"), monde.autre_usager).exists()


def test_professionnel_de_sante_selon_la_profession(monde):
    assert selectors.est_professionnel_de_sante(qui(monde, "medecin"))
    assert selectors.est_professionnel_de_sante(qui(monde, "ide"))
    assert not selectors.est_professionnel_de_sante(qui(monde, "educateur"))
    assert not selectors.est_professionnel_de_sante(qui(monde, "aidant_avec_droits"))
    assert not selectors.est_professionnel_de_sante(qui(monde, "dui_ssiad"))


# --- Non-lus ------------------------------------------------------------------------------------


def test_non_lus_et_marque_de_lecture(monde):
    aidant = qui(monde, "aidant_avec_droits")
    assert selectors.non_lus(aidant, monde.usager) == 0
    note_de(monde, "medecin")
    note_de(monde, "ide")
    note_de(monde, "ide", visibilite="INVISIBLE_PATIENT")  # invisible pour l'aidante : pas comptée
    assert selectors.non_lus(aidant, monde.usager) == 2
    assert selectors.non_lus(qui(monde, "medecin"), monde.usager) == 2  # ses propres notes ne comptent pas
    cahier.marquer_lu(acteur=aidant, usager=monde.usager)
    assert selectors.non_lus(qui(monde, "aidant_avec_droits"), monde.usager) == 0
    note_de(monde, "medecin")
    assert selectors.non_lus(qui(monde, "aidant_avec_droits"), monde.usager) == 1
    assert selectors.non_lus_par_usager(qui(monde, "aidant_avec_droits")) == {monde.usager.pk: 1}


def test_marque_de_lecture_n_avance_pas_a_reculons(monde):
    medecin = qui(monde, "medecin")
    lecture = cahier.marquer_lu(acteur=medecin, usager=monde.usager)
    marque = lecture.lu_jusqu_au
    cahier.marquer_lu(acteur=medecin, usager=monde.usager, jusqu_au=marque - datetime.timedelta(days=1))
    assert selectors.lu_jusqu_au(medecin, monde.usager) == marque
    demain = timezone.now() + datetime.timedelta(days=1)
    cahier.marquer_lu(acteur=medecin, usager=monde.usager, jusqu_au=demain)
    assert selectors.lu_jusqu_au(medecin, monde.usager) <= timezone.now()


@pytest.mark.parametrize("nom", ["medecin", "aidant_avec_droits"])
def test_page_du_fil_porte_l_etat_de_lecture(monde, nom, django_assert_num_queries):
    """La marque de lecture et les non-lus viennent avec les notes de la page (quatre requêtes
    pour un professionnel comme pour une aidante : droits, notes, pièces jointes, sollicitations)
    et valent ceux de `etat_de_lecture` ; une page vide (filtre sans résultat) les lit à part."""
    note_de(monde, "ide")
    cahier.marquer_lu(acteur=qui(monde, nom), usager=monde.usager)
    note_de(monde, "ide")
    note_de(monde, "educateur")
    attendu = selectors.etat_de_lecture(qui(monde, nom), monde.usager)
    assert attendu.non_lus == 2 and attendu.lu_jusqu_au is not None
    with django_assert_num_queries(4):
        page = selectors.page_du_fil(qui(monde, nom), monde.usager)
    assert (page.lu_jusqu_au, page.non_lus, len(page.notes)) == (attendu.lu_jusqu_au, 2, 3)
    vide = selectors.page_du_fil(qui(monde, nom), monde.usager, filtres={"type": "INST"})
    assert (vide.notes, vide.lu_jusqu_au, vide.non_lus) == ([], attendu.lu_jusqu_au, 2)


def test_non_lus_matrice(monde):
    """Chaque acteur compte exactement les notes qu'il peut lire, écrites par d'autres ; sans
    droit de lecture au cahier, ni notes ni compte."""
    for visibilite in VISIBILITES:
        note_de(monde, "systeme", visibilite=visibilite)
    for nom in ACTEURS:
        if nom == "systeme":
            continue
        attendu = sum(peut_lire(nom, visibilite) for visibilite in VISIBILITES)
        acteur = qui(monde, nom)
        assert selectors.non_lus(acteur, monde.usager) == attendu, nom
        par_usager = selectors.non_lus_par_usager(qui(monde, nom))
        assert par_usager == ({monde.usager.pk: attendu} if attendu else {}), nom
        assert selectors.notes_visibles(acteur, monde.usager).count() == attendu, nom


def test_non_lus_par_usager_en_une_requete(monde, django_assert_num_queries):
    from cercle.models import TypeMembre
    from cercle.services import ajouter_membre

    ide = monde.acteurs["ide"]
    ajouter_membre(
        acteur=qui(monde, "autre_usager"), usager=monde.autre_usager, type=TypeMembre.PROFESSIONNEL,
        exercice=ide.exercice,
    )  # fmt: skip
    from cercle.models import Membre
    from cercle.services import accorder

    presence = Membre.objects.get(cercle__usager=monde.autre_usager, exercice=ide.exercice)
    accorder(acteur=qui(monde, "autre_usager"), membre=presence, domaine="cahier", niveau=1)
    note_de(monde, "medecin")
    note_de(monde, "medecin")
    cahier.ecrire_note(
        acteur=qui(monde, "systeme"), usager=monde.autre_usager, type="GEN", survenue_le=une_heure_avant(),
        texte="Note de Paul.",
    )  # fmt: skip
    with django_assert_num_queries(1):
        compte = selectors.non_lus_par_usager(qui(monde, "ide"))
    assert compte == {monde.usager.pk: 2, monde.autre_usager.pk: 1}


# --- Accusés attendus ---------------------------------------------------------------------------


def test_attend_mon_accuse(monde, django_assert_num_queries):
    medecin = qui(monde, "medecin")
    premiere = note_de(monde, "medecin")
    seconde = note_de(monde, "medecin", visibilite="INVISIBLE_PATIENT")
    cahier.demander_accuse(acteur=medecin, note=premiere, destinataires=[monde.membres["ssiad"]])
    cahier.demander_accuse(acteur=medecin, note=seconde, destinataires=[monde.membres["ide"]])
    cahier.alerter(acteur=medecin, note=premiere, destinataires=[monde.membres["ide"]])
    with django_assert_num_queries(1):
        attendus = [(s.note, s.destinataire_id) for s in selectors.attend_mon_accuse(qui(monde, "ide"))]
    # L'infirmière agit au SSIAD : la demande faite à la structure l'attend aussi ;
    # l'alerte n'est pas un accusé.
    assert attendus == [(seconde, monde.membres["ide"].pk), (premiere, monde.membres["ssiad"].pk)]
    assert [s.note for s in selectors.attend_mon_accuse(qui(monde, "collegue_structure"))] == [premiere]
    assert not selectors.attend_mon_accuse(qui(monde, "aidant_avec_droits")).exists()
    assert not selectors.attend_mon_accuse(qui(monde, "usager")).exists()
    cahier.desactiver_note(acteur=medecin, note=seconde, motif="Erreur de dossier.")
    assert [s.note for s in selectors.attend_mon_accuse(qui(monde, "ide"))] == [premiere]
    assert Note.objects.count() == 2


def test_page_du_fil_suit_son_index(monde):
    """Sur une table réaliste (des milliers de notes), la page du fil lit l'index des notes d'origine
    dans l'ordre de la pagination (usager, ecrite_le, id) : LIMIT sans tri de tout le cahier, ni
    pour la première page, ni pour une page plus ancienne."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cahier_liaison.models import TypeAuteur

    note_de(monde, texte="Première note.")
    base = {"auteur_type": TypeAuteur.USAGER, "type": "OBS", "survenue_le": timezone.now()}
    Note.objects.bulk_create(
        [Note(usager=usager, auteur_usager=usager, auteur_nom="usager fictif", texte=f"Repas, note {i}.",
              **base) for usager in (monde.usager, monde.autre_usager) for i in range(2500)]
    )  # fmt: skip
    medecin = qui(monde, "medecin")
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE cahier_liaison_note")
        premiere = selectors.page_du_fil(medecin, monde.usager)
        for avant in (None, premiere.curseur):
            with CaptureQueriesContext(connection) as requetes:
                selectors.page_du_fil(qui(monde, "medecin"), monde.usager, avant=avant)
            [sql] = [
                q["sql"]
                for q in requetes.captured_queries
                if q["sql"].startswith('SELECT "cahier_liaison_note"."id"')
            ]
            curseur.execute("EXPLAIN " + sql)
            plan = "\n".join(ligne for (ligne,) in curseur.fetchall())
            assert "cahier_note_fil_origines_idx" in plan, plan
            assert "Sort" not in plan.split("SubPlan")[0], plan


def test_page_du_fil_nomme_les_destinataires_sans_requete_de_plus(monde, django_assert_num_queries):
    """Les sollicitations préchargées portent de quoi nommer leur destinataire (professionnel,
    structure, proche) : afficher « Accusé de réception attendu de … » ne relit rien."""
    note = note_de(monde, "medecin")
    lecteurs = list(selectors.membres_sollicitables(qui(monde, "medecin"), monde.usager))
    assert {m.type for m in lecteurs} >= {"professionnel", "structure", "proche"}
    cahier.demander_accuse(acteur=qui(monde, "medecin"), note=note, destinataires=lecteurs)
    attendus = sorted(m.nom_affiche for m in lecteurs)
    page = selectors.page_du_fil(qui(monde, "ide"), monde.usager)
    with django_assert_num_queries(0):
        noms = sorted(s.destinataire.nom_affiche for s in page.notes[0].sollicitations_prechargees)
    assert noms == attendus
