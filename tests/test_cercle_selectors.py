"""Lectures du cercle : « Mes usagers » d'un professionnel, membres d'un cercle, demandes, accès."""

import pytest

from cercle import selectors, services
from cercle.models import TypeMembre
from tests.factories import ExerciceFactory, UsagerFactory
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde()


def test_mes_usagers_par_presence_structure_ou_delegation(monde):
    jeanne = monde.usager
    for nom in ("ide", "collegue_structure", "medecin", "assistant", "pro_sans_droit", "gestionnaire"):
        assert list(selectors.mes_usagers(monde[nom])) == [jeanne], nom
    for nom in (
        "assistant_expire",
        "membre_sorti",
        "pro_hors_cercle",
        "usager",
        "aidant_avec_droits",
        "systeme",
    ):
        assert list(selectors.mes_usagers(monde[nom])) == [], nom


def test_mes_usagers_nombre_de_requetes_constant(monde, django_assert_num_queries):
    ide = monde["ide"]
    for _ in range(30):
        usager = UsagerFactory()
        services.creer_cercle(usager=usager)
        services.ajouter_membre(
            acteur=monde["systeme"], usager=usager, type=TypeMembre.STRUCTURE, structure=monde.ssiad
        )
    with django_assert_num_queries(2):
        lignes = selectors.avec_niveaux(ide, selectors.mes_usagers(ide)[:25])
    assert len(lignes) == 25
    jeanne = next(
        ligne
        for ligne in selectors.avec_niveaux(monde["ide"], selectors.mes_usagers(monde["ide"]))
        if ligne.usager == monde.usager
    )
    assert jeanne.niveaux["cahier"] == 2
    autre = next(ligne for ligne in lignes if ligne.usager != monde.usager)
    assert autre.niveaux == {
        "cercle": 1,
        "cahier": 1,
        "ppa": 0,
        "agenda": 1,
        "identite": 0,
    }  # droits de la structure
    # Les décisions de la page sont mémorisées : plus aucune requête.
    with django_assert_num_queries(0):
        for ligne in lignes:
            selectors.habilitations.peut(ide, ligne.usager, "lire", "cahier")


def test_recherche_dans_mes_usagers(monde):
    assert list(selectors.mes_usagers(monde["ide"], recherche="fict")) == [monde.usager]
    assert list(selectors.mes_usagers(monde["ide"], recherche="zzz")) == []


def test_membres_exige_la_lecture_du_cercle(monde, django_assert_max_num_queries):
    interdits = (
        "pro_sans_droit",
        "aidant_sans_droit",
        "aidant_avec_droits",
        "pro_hors_cercle",
        "autre_usager",
    )
    for nom in (*interdits, "membre_sorti", "assistant"):
        with pytest.raises(services.AccesRefuse):
            selectors.membres(monde[nom], monde.usager)
    with django_assert_max_num_queries(4):
        membres = selectors.membres(monde["ide"], monde.usager)
    assert {m.nom_affiche for m in membres} >= {"SSIAD du Val Fictif", "Sophie FICTIVE"}
    assert "Camille PARTI" not in {m.nom_affiche for m in membres}
    tous = selectors.membres(monde["usager"], monde.usager, avec_anciens=True)
    assert "Camille PARTI" in {m.nom_affiche for m in tous}
    ide = next(m for m in membres if m.pk == monde.membres["ide"].pk)
    assert {d.domaine for d in ide.droits_en_vigueur} == {"cercle", "cahier", "ppa", "agenda", "identite"}
    medecin = next(m for m in membres if m.pk == monde.membres["medecin"].pk)
    assert len(medecin.delegations_en_cours) == 1


def test_demandes_et_delegations_visibles_seulement_par_qui_decide(monde):
    demandeur = ExerciceFactory()
    from tests.monde_cercle import acteur_pro

    services.demander_adhesion(acteur=acteur_pro(demandeur), nom_naissance="Fictive", prenom="Jeanne",
                               date_naissance=monde.usager.date_naissance)  # fmt: skip
    assert selectors.demandes_en_attente(monde["gestionnaire"], monde.usager).count() == 1
    assert selectors.demandes_en_attente(monde["ide"], monde.usager).count() == 0
    assert selectors.demandes_en_attente(monde["aidant_avec_droits"], monde.usager).count() == 0
    assert selectors.delegations_a_consentir(monde["gestionnaire"], monde.usager).count() == 0
    assert list(selectors.mes_demandes(acteur_pro(demandeur)))[0].cercle.usager == monde.usager


def test_qui_a_consulte(monde):
    for nom in ("usager", "representant", "gestionnaire"):
        assert selectors.peut_voir_les_acces(monde[nom], monde.usager), nom
    for nom in ("ide", "aidant_avec_droits", "aidant_sans_droit", "pro_hors_cercle", "autre_usager"):
        with pytest.raises(services.AccesRefuse):
            selectors.qui_a_consulte(monde[nom], monde.usager)
    services.ajouter_membre(acteur=monde["gestionnaire"], usager=monde.usager, type="autre", nom="VOISINE")
    evenements = list(selectors.qui_a_consulte(monde["usager"], monde.usager))
    assert evenements[0].action == "cercle.membre.ajout"
    assert "COORDINATRICE" in evenements[0].acteur_nom
    assert {e.action for e in evenements[1:]} == {"cercle.delegation.proposition"}  # par le médecin
    # Ses propres actions n'y sont pas (« qui d'autre que moi ? »), mais bien dans le journal.
    assert all(e.acteur_type != "usager" for e in evenements)


def test_demandes_sans_reponse_expirent_par_la_tache_de_nuit(monde):
    import datetime

    from django.conf import settings

    from cercle.models import DemandeAdhesion
    from cercle.tasks import expirer_demandes
    from tests.monde_cercle import acteur_pro

    demandeur = acteur_pro(ExerciceFactory())
    demande = services.demander_adhesion(acteur=demandeur, matricule_ins="1 45 07 75 056 001 23")
    recente = services.demander_adhesion(acteur=demandeur, nom_naissance="X", prenom="Y",
                                         date_naissance=datetime.date(1950, 1, 1))  # fmt: skip
    DemandeAdhesion.objects.filter(pk=demande.pk).update(
        expire_le=datetime.date.today() - datetime.timedelta(days=1)
    )
    assert expirer_demandes.apply().get() == 1
    demande.refresh_from_db()
    recente.refresh_from_db()
    assert (demande.statut, recente.statut) == ("expiree", "en_attente")
    assert [d.get_statut_display() for d in selectors.mes_demandes(demandeur)] == [
        "en attente",
        "expirée sans réponse",
    ]
    assert settings.CELERY_BEAT_SCHEDULE["cercle-expirer-demandes"]["task"] == expirer_demandes.name
