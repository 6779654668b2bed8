"""Projet personnalisé : actions validées dans l'agenda (créées, mises à jour, annulées par les
avenants, jamais en double), échéances de revue, liste des revues à faire d'une structure et rappel
au référent (ticket 7, points 4 et 5 ; ADR 0028)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agenda import selectors as agenda_lectures
from agenda.models import Evenement, StatutEvenement
from cercle import services as cercle
from cercle.services import AccesRefuse
from coordination.journal.models import Evenement as Journal
from ppa import agenda as ppa_agenda
from ppa import revues
from ppa import services as ppa
from ppa.models import AccordPPA, Action, RappelRevue, StatutVersion, TypeProjet, VersionPPA
from ppa.tasks import rappeler_revues
from tests.monde_agenda import ACTEURS, ANONYME, construire_monde_agenda
from tests.monde_agenda import qui as qui_agenda
from tests.monde_ppa import brouillon_rempli, qui, valider

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def monde():
    """Le monde de l'agenda (avec le DUI du SSIAD et l'éducateur d'une autre structure), où Jeanne
    confie aussi l'écriture de son projet au SSIAD et à sa fille (comme tests/monde_ppa.py)."""
    monde = construire_monde_agenda()
    moi = monde["usager"]
    cercle.accorder(acteur=moi, membre=monde.membres["ssiad"], domaine="ppa", niveau=2)
    cercle.accorder(acteur=moi, membre=monde.membres["aidant"], domaine="ppa", niveau=2)
    return monde


def du_ppa():
    return Evenement.objects.filter(systeme_source=ppa_agenda.SOURCE, serie__isnull=True)


def rempli_avec_structure(monde) -> VersionPPA:
    """Le brouillon du monde (toilette par l'infirmière, trois fois par semaine) et trois actions :
    un bilan mensuel du SSIAD (structure), une action sans fréquence, une hors du cercle."""
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    ide = qui(monde, "ide")
    ppa.ajouter_action(
        acteur=ide, objectif=objectif, quoi="Bilan d'autonomie", intervenant=monde.membres["ssiad"],
        frequence="FREQ=MONTHLY;BYMONTHDAY=1", ou="Au domicile",
    )  # fmt: skip
    ppa.ajouter_action(acteur=ide, objectif=objectif, quoi="Choisir un tapis de bain", intervenant=None)
    ppa.ajouter_action(
        acteur=ide, objectif=objectif, quoi="Portage des repas", intervenant_libelle="Association fictive",
        frequence="FREQ=DAILY",
    )  # fmt: skip
    return version


def action(version, quoi) -> Action:
    return version.actions.get(quoi=quoi)


# --- Actions dans l'agenda ----------------------------------------------------------------------


def test_la_validation_met_les_actions_a_l_agenda(monde):
    version = valider(monde, rempli_avec_structure(monde))
    assert du_ppa().count() == 2  # ni l'action sans fréquence, ni celle d'un intervenant hors cercle
    toilette = du_ppa().get(identifiant_externe=str(action(version, "Aide à la toilette").origine))
    assert toilette.usager == monde.usager and toilette.titre == "Aide à la toilette"
    assert toilette.rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    jour = version.validee_le.astimezone(PARIS).date()
    assert toilette.debut == dt.datetime.combine(jour, ppa_agenda.HEURE_DEBUT, tzinfo=PARIS)
    assert toilette.fin - toilette.debut == dt.timedelta(minutes=45)
    assert toilette.fuseau == "Europe/Paris" and toilette.statut == StatutEvenement.RESERVE
    assert toilette.cree_par == "systeme" and toilette.cree_par_nom == ppa_agenda.NOM_SYSTEME
    assert {(p.type, p.usager_id or p.professionnel_id) for p in toilette.participants.all()} == {
        ("usager", monde.usager.pk),
        ("professionnel", monde.membres["ide"].exercice.professionnel_id),
    }
    bilan = du_ppa().get(identifiant_externe=str(action(version, "Bilan d'autonomie").origine))
    # Une structure intervenante : personne à convier que l'usager ; la structure est nommée.
    assert [p.type for p in bilan.participants.all()] == ["usager"]
    assert "SSIAD du Val Fictif" in bilan.description and bilan.lieux[0]["libelle"] == "Au domicile"
    assert bilan.fin - bilan.debut == dt.timedelta(minutes=ppa_agenda.DUREE_PAR_DEFAUT)
    # Le journal dit que c'est le projet qui a écrit dans l'agenda.
    creations = Journal.objects.filter(
        action="agenda.evenement.creation", objet_uuid__in=[toilette.uuid, bilan.uuid]
    )
    assert {(j.acteur_type, j.acteur_nom) for j in creations} == {("systeme", ppa_agenda.NOM_SYSTEME)}


def test_les_actions_sont_dans_l_agenda_de_l_infirmiere_et_celui_de_jeanne(monde):
    version = brouillon_rempli(monde)
    aujourd_hui = timezone.localdate()
    lundi = aujourd_hui + dt.timedelta(days=7 - aujourd_hui.weekday())  # le prochain lundi
    VersionPPA.objects.filter(pk=version.pk).update(debut=lundi)  # brouillon : modifiable
    valider(monde, version)
    debut = dt.datetime.combine(lundi, dt.time(0), tzinfo=PARIS)
    fin = debut + dt.timedelta(days=14)  # deux semaines : six séances (lundi, mercredi, vendredi)
    chez_l_infirmiere = agenda_lectures.agenda_du_professionnel(qui(monde, "ide"), debut, fin)
    chez_jeanne = agenda_lectures.agenda_de_l_usager(qui(monde, "usager"), monde.usager, debut, fin)
    for occurrences in (chez_l_infirmiere, chez_jeanne):
        assert [o.titre for o in occurrences] == ["Aide à la toilette"] * 6
        assert {o.debut.astimezone(PARIS).weekday() for o in occurrences} == {0, 2, 4}


def test_le_debut_suit_la_periode_du_projet(monde):
    version = brouillon_rempli(monde)
    debut = timezone.localdate() + dt.timedelta(days=10)
    VersionPPA.objects.filter(pk=version.pk).update(debut=debut)  # brouillon : modifiable
    valider(monde, version)
    assert du_ppa().get().debut == dt.datetime(debut.year, debut.month, debut.day, 9, tzinfo=PARIS)


def _avenant(monde, version) -> VersionPPA:
    return ppa.creer_avenant(acteur=qui(monde, "ide"), version=version)


def test_un_avenant_met_a_jour_annule_et_cree_sans_doublon(monde):
    v1 = valider(monde, rempli_avec_structure(monde))
    toilette_v1 = du_ppa().get(identifiant_externe=str(action(v1, "Aide à la toilette").origine))
    bilan_v1 = du_ppa().get(identifiant_externe=str(action(v1, "Bilan d'autonomie").origine))
    v2 = _avenant(monde, v1)
    # Le brouillon de l'avenant change (la base le permet tant qu'il est brouillon) : fréquence et
    # durée de la toilette ; le bilan retiré ; une séance avec le médecin ajoutée par le service.
    Action.objects.filter(version=v2, quoi="Aide à la toilette").update(
        frequence="FREQ=WEEKLY;BYDAY=TU,TH", duree_minutes=30
    )
    Action.objects.filter(version=v2, quoi="Bilan d'autonomie").delete()
    ppa.ajouter_action(
        acteur=qui(monde, "ide"), objectif=v2.objectifs.get(), quoi="Consultation de suivi",
        intervenant=monde.membres["medecin"], frequence="FREQ=MONTHLY;BYDAY=1TH", duree_minutes=20,
    )  # fmt: skip
    v2 = valider(monde, v2)
    assert du_ppa().count() == 3
    toilette = du_ppa().get(pk=toilette_v1.pk)  # le même événement, mis à jour
    assert toilette.rrule == "FREQ=WEEKLY;BYDAY=TU,TH" and toilette.fin - toilette.debut == dt.timedelta(
        minutes=30
    )
    assert toilette.sequence == toilette_v1.sequence + 1 and toilette.statut == StatutEvenement.RESERVE
    assert du_ppa().get(pk=bilan_v1.pk).statut == StatutEvenement.ANNULE
    suivi = du_ppa().get(identifiant_externe=str(action(v2, "Consultation de suivi").origine))
    assert suivi.rrule == "FREQ=MONTHLY;BYDAY=1TH" and suivi.statut == StatutEvenement.RESERVE
    assert suivi.participants.filter(professionnel=monde.membres["medecin"].exercice.professionnel).exists()

    # Un second avenant sans changement : aucun événement de plus, aucun réécrit.
    sequences = dict(du_ppa().values_list("pk", "sequence"))
    journal = Journal.objects.filter(action__startswith="agenda.").count()
    valider(monde, _avenant(monde, v2))
    assert du_ppa().count() == 3 and du_ppa().filter(statut=StatutEvenement.ANNULE).count() == 1
    assert dict(du_ppa().values_list("pk", "sequence")) == sequences
    assert Journal.objects.filter(action__startswith="agenda.").count() == journal


def test_une_action_remise_par_un_avenant_reprend_son_evenement(monde):
    v1 = valider(monde, rempli_avec_structure(monde))
    v2 = _avenant(monde, v1)
    Action.objects.filter(version=v2, quoi="Bilan d'autonomie").update(frequence="")  # plus à l'agenda
    v2 = valider(monde, v2)
    origine = str(action(v1, "Bilan d'autonomie").origine)
    assert du_ppa().get(identifiant_externe=origine).statut == StatutEvenement.ANNULE
    v3 = _avenant(monde, v2)
    Action.objects.filter(version=v3, quoi="Bilan d'autonomie").update(frequence="FREQ=MONTHLY")
    valider(monde, v3)
    assert du_ppa().filter(identifiant_externe=origine).count() == 1
    assert du_ppa().get(identifiant_externe=origine).statut == StatutEvenement.RESERVE


def test_une_frequence_illisible_refuse_la_validation_sans_rien_ecrire(monde):
    version = brouillon_rempli(monde)
    Action.objects.filter(version=version).update(frequence="tous les jours sauf quand il pleut")
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=version)
    ppa.donner_accord(
        acteur=qui(monde, "usager"), version=version, partie="usager", empreinte_lue=version.empreinte
    )
    avant = Journal.objects.count()
    with pytest.raises(ValidationError, match="« Aide à la toilette » ne peut pas être mise à l'agenda"):
        ppa.donner_accord(
            acteur=qui(monde, "ide"), version=version, partie="structure", empreinte_lue=version.empreinte
        )
    assert not du_ppa().exists()
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.EN_VALIDATION
    assert not AccordPPA.objects.filter(version=version, partie="structure").exists()
    assert Journal.objects.count() == avant


DONNENT_L_ACCORD_DE_LA_STRUCTURE = {"ide"}  # le référent du projet, qui l'a ouvert


@pytest.mark.parametrize("nom", ACTEURS)
def test_seul_l_accord_qui_valide_met_a_l_agenda(monde, nom):
    """Chaque sorte d'acteur tente de donner l'accord de la structure, qui validerait le projet :
    un refus ne valide rien et n'écrit rien dans l'agenda ni au journal."""
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    ppa.donner_accord(
        acteur=qui(monde, "usager"), version=version, partie="usager", empreinte_lue=version.empreinte
    )
    acteur = qui_agenda(monde, nom)
    if nom in DONNENT_L_ACCORD_DE_LA_STRUCTURE:
        ppa.donner_accord(acteur=acteur, version=version, partie="structure", empreinte_lue=version.empreinte)
        assert du_ppa().count() == 1
        return
    avant = Journal.objects.count()
    with pytest.raises(AccesRefuse):
        ppa.donner_accord(acteur=acteur, version=version, partie="structure", empreinte_lue=version.empreinte)
    assert not du_ppa().exists() and Journal.objects.count() == avant
    assert VersionPPA.objects.get(pk=version.pk).statut == StatutVersion.EN_VALIDATION


# --- Revues -------------------------------------------------------------------------------------


def test_l_echeance_est_un_an_apres_la_validation_ou_la_fin_de_periode(monde):
    version = brouillon_rempli(monde)
    projet = version.projet
    assert revues.prochaine_revue(projet) is None  # pas encore de version validée
    version = valider(monde, version)
    jour = version.validee_le.astimezone(PARIS).date()
    assert revues.prochaine_revue(projet) == jour.replace(year=jour.year + 1)
    avenant = _avenant(monde, version)
    fin = jour + dt.timedelta(days=100)
    VersionPPA.objects.filter(pk=avenant.pk).update(fin=fin)
    valider(monde, avenant)
    assert revues.prochaine_revue(projet) == fin  # la période finit avant l'anniversaire


def _projets_a_revoir(monde):
    """Trois projets de Jeanne au SSIAD : le PPA validé (revue dans un an), un PAI validé dont la
    période finit dans 10 jours, un PP encore en brouillon (sans échéance)."""
    ppa_valide = valider(monde, brouillon_rempli(monde)).projet
    ide = qui(monde, "ide")
    pai = ppa.creer_projet(
        acteur=ide, usager=monde.usager, structure=monde.ssiad, titre="Accueil de jour", type=TypeProjet.PAI
    )
    version = pai.versions.get()
    VersionPPA.objects.filter(pk=version.pk).update(fin=timezone.localdate() + dt.timedelta(days=10))
    ppa.ajouter_objectif(acteur=ide, version=version, titre="Sortir deux fois par semaine")
    valider(monde, version)
    ppa.creer_projet(
        acteur=ide, usager=monde.usager, structure=monde.ssiad, titre="Brouillon", type=TypeProjet.PP
    )
    return ppa_valide, pai


LISENT_LES_REVUES_DU_SSIAD = {"ide", "collegue_structure"}


@pytest.mark.parametrize("nom", [*ACTEURS, ANONYME])
def test_qui_voit_les_revues_a_faire_de_la_structure(monde, nom):
    ppa_valide, pai = _projets_a_revoir(monde)
    acteur = qui_agenda(monde, nom)
    aujourd_hui = timezone.localdate()
    if nom not in LISENT_LES_REVUES_DU_SSIAD:
        with pytest.raises(AccesRefuse):
            revues.revues_a_faire(acteur, monde.ssiad)
        return
    # Dans 20 jours : le PAI est en retard, le PPA n'est pas encore à revoir.
    dans_20 = revues.revues_a_faire(acteur, monde.ssiad, aujourd_hui + dt.timedelta(days=20))
    assert [(r.projet, r.en_retard) for r in dans_20] == [(pai, True)]
    # Dans 340 jours : le PPA est à revoir sous 30 jours, après le PAI (échéance la plus proche).
    dans_340 = revues.revues_a_faire(acteur, monde.ssiad, aujourd_hui + dt.timedelta(days=340))
    assert [(r.projet, r.en_retard) for r in dans_340] == [(pai, True), (ppa_valide, False)]
    assert dans_340[1].echeance == revues.prochaine_revue(ppa_valide)


def test_les_revues_sans_droit_de_lecture_du_ppa_ne_se_voient_pas(monde):
    _projets_a_revoir(monde)
    # Jeanne reprend au SSIAD l'accès à son projet : la collègue (qui le tenait de la structure)
    # ne voit plus ses projets dans la liste.
    droit = cercle.accorder(acteur=monde["usager"], membre=monde.membres["ssiad"], domaine="ppa", niveau=2)
    cercle.revoquer(acteur=monde["usager"], droit=droit)
    dans_340 = timezone.localdate() + dt.timedelta(days=340)
    assert revues.revues_a_faire(qui_agenda(monde, "collegue_structure"), monde.ssiad, dans_340) == []


def test_la_liste_des_revues_coute_autant_de_requetes_quel_que_soit_le_nombre(monde):
    _projets_a_revoir(monde)
    aujourd_hui = timezone.localdate()
    comptes = []
    for jours, attendus in ((20, 1), (340, 2)):
        acteur = qui_agenda(monde, "ide")
        with CaptureQueriesContext(connection) as requetes:
            liste = revues.revues_a_faire(acteur, monde.ssiad, aujourd_hui + dt.timedelta(days=jours))
            assert [r.projet.usager.pk for r in liste] == [monde.usager.pk] * attendus
        comptes.append(len(requetes))
    assert comptes[0] == comptes[1] <= 2


def test_le_rappel_au_referent_est_range_une_fois_par_echeance(monde):
    ppa_valide, pai = _projets_a_revoir(monde)
    dans_340 = timezone.localdate() + dt.timedelta(days=340)
    assert revues.rappeler_revues(dans_340) == 2
    assert revues.rappeler_revues(dans_340) == 0  # idempotent
    rappels = {r.projet_id: r for r in RappelRevue.objects.all()}
    assert set(rappels) == {ppa_valide.pk, pai.pk}
    assert rappels[ppa_valide.pk].echeance == revues.prochaine_revue(ppa_valide)
    assert rappels[ppa_valide.pk].destinataire == qui(monde, "ide").cle  # qui a ouvert le projet
    assert rappels[pai.pk].distribue_le is None  # à distribuer par les notifications
    journal = Journal.objects.filter(action="ppa.revue.rappel")
    assert journal.count() == 2 and {j.acteur_type for j in journal} == {"systeme"}


def test_la_tache_periodique_rappelle_les_revues_proches(monde):
    _ppa_valide, pai = _projets_a_revoir(monde)
    assert rappeler_revues() == 1  # aujourd'hui : seul le PAI (fin dans 10 jours) est à revoir
    assert rappeler_revues() == 0
    assert list(RappelRevue.objects.values_list("projet_id", flat=True)) == [pai.pk]
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["ppa-rappeler-revues"]["task"] == "ppa.rappeler_revues"
