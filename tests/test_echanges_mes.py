"""Agenda partagé avec Mon espace santé (ADR 0034), contre le pair FHIR du bac à sable : accord et
appariement, poussée des rendez-vous (création, modification, annulation, dans l'ordre), jeton
limité à sa personne, relecture des rendez-vous notés dans MES vers l'agenda consolidé. L'envoi
(bail, tentatives) est celui du cœur : ici `construire` et `envoyer` sont appelés directement."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agenda import mes
from agenda import services as agenda
from agenda.models import AppairageMES, Evenement, StatutEvenement
from agenda.tasks import relire_mes
from cercle.services import AccesRefuse
from coordination.echanges import adaptateurs, natures
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant, StatutMessage
from coordination.journal.models import Evenement as Journal
from coordination.personnes.identifiants import OID_INS_TEST
from coordination.personnes.models import Usager
from tests.factories import nir_valide
from tests.monde_agenda import a_paris, construire_monde_agenda, qui, rendez_vous
from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401

pytestmark = pytest.mark.django_db


def qualifier(usager, n: int = 81) -> None:
    Usager.objects.filter(pk=usager.pk).update(
        matricule_ins=nir_valide(n), oid_ins=OID_INS_TEST, statut_identite="QUAL", mode_recueil="INSI",
        date_interrogation_insi=datetime.date(2026, 11, 2),
    )  # fmt: skip
    usager.refresh_from_db()


@pytest.fixture
def monde():
    return construire_monde_agenda()


@pytest.fixture
def pair(pair_fhir_neuf):  # noqa: F811
    return pair_fhir_neuf


@pytest.fixture
def apparie(monde, pair):
    qualifier(monde.usager)
    mes.donner_accord(acteur=qui(monde, "usager"), usager=monde.usager)
    return monde


def messages_mes():
    return list(MessageSortant.objects.filter(nature=mes.NATURE).order_by("cree_le", "id"))


def envoyer(message: MessageSortant) -> str:
    """Ce que fait le cœur de l'envoi pour un message : rebâtir, remettre, noter l'envoi."""
    message.refresh_from_db()
    identifiant = adaptateurs.remettre(message, natures.construire(message))
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ENVOYE, envoye_le=timezone.now(), identifiant_distant=identifiant
    )
    return identifiant


def test_sans_accord_rien_n_est_mis_en_file(monde, pair):
    qualifier(monde.usager)
    rdv = rendez_vous(monde)
    agenda.annuler_evenement(acteur=qui(monde, "ide"), evenement=rdv)
    assert messages_mes() == []


def test_accord_donne_par_la_personne_jeton_chiffre_et_journalise(apparie, pair):
    appairage = AppairageMES.objects.get(usager=apparie.usager)
    assert appairage.en_cours and appairage.accord_qualite == "la personne elle-même"
    clair = mes.jeton(appairage)
    assert clair and clair not in appairage.jeton_chiffre
    assert Journal.objects.filter(action="agenda.mes.accord", usager_uuid=apparie.usager.uuid).count() == 1


@pytest.mark.parametrize("nom", ["aidant_avec_droits", "ide", "autre_usager"], ids=["aidant", "ide", "autre"])
def test_seuls_la_personne_et_son_representant_donnent_l_accord(monde, pair, nom):
    qualifier(monde.usager)
    avant = Journal.objects.count()
    with pytest.raises(AccesRefuse):
        mes.donner_accord(acteur=qui(monde, nom), usager=monde.usager)
    assert AppairageMES.objects.count() == 0 and Journal.objects.count() == avant
    mes.donner_accord(acteur=qui(monde, "representant"), usager=monde.usager)
    assert AppairageMES.objects.get().accord_qualite == "son représentant légal"


def test_identite_non_qualifiee_pas_d_appariement(monde, pair):
    with pytest.raises(ValidationError, match="identité doit d'abord être qualifiée"):
        mes.donner_accord(acteur=qui(monde, "usager"), usager=monde.usager)
    assert AppairageMES.objects.count() == 0


def test_creation_modification_annulation_arrivent_dans_l_ordre(apparie, pair):
    ide = qui(apparie, "ide")
    rdv = rendez_vous(apparie)
    envoyer(messages_mes()[-1])
    debut, fin = a_paris(2026, 12, 15, 10), a_paris(2026, 12, 15, 11)
    rdv = agenda.modifier_evenement(acteur=ide, evenement=rdv, debut=debut, fin=fin)
    envoyer(messages_mes()[-1])
    agenda.annuler_evenement(acteur=ide, evenement=rdv)
    envoyer(messages_mes()[-1])
    creation, modification, annulation = messages_mes()
    assert [m.cle_idempotence for m in (creation, modification, annulation)] == [
        f"{mes.NATURE}:{rdv.uuid}:{n}" for n in (0, 1, 2)
    ]
    assert (creation.precedent, modification.precedent, annulation.precedent) == (
        None,
        creation,
        modification,
    )
    assert len({m.identifiant_distant for m in messages_mes()}) == 1  # un seul rendez-vous chez MES
    (recu,) = pair.recus()["rendez_vous"].values()
    assert [(v["status"], v["start"]) for v in recu["versions"]] == [
        ("booked", "2026-12-14T08:00:00.000Z"),
        ("booked", "2026-12-15T09:00:00.000Z"),
        ("cancelled", "2026-12-15T09:00:00.000Z"),
    ]
    patients = [p["actor"] for p in recu["ressource"]["participant"] if p["actor"].get("type") == "Patient"]
    assert patients[0]["identifier"] == {
        "system": f"urn:oid:{OID_INS_TEST}",
        "value": apparie.usager.matricule_ins,
    }
    assert pair.receptions(f"urn:ietf:rfc:3986|urn:uuid:{rdv.uuid}") == 3


def test_une_revision_envoyee_en_retard_porte_l_etat_le_plus_recent(apparie, pair):
    """ADR 0034 : la ressource est rebâtie à l'envoi ; jamais de retour à un état dépassé."""
    rdv = rendez_vous(apparie)
    agenda.annuler_evenement(acteur=qui(apparie, "ide"), evenement=rdv)
    creation, annulation = messages_mes()
    envoyer(creation)
    envoyer(annulation)
    (recu,) = pair.recus()["rendez_vous"].values()
    assert [v["status"] for v in recu["versions"]] == ["cancelled", "cancelled"]


def test_renvoi_range_une_fois_et_le_pair_compte_deux_receptions(apparie, pair):
    rdv = rendez_vous(apparie)
    (message,) = messages_mes()
    contenu = natures.construire(message)
    assert adaptateurs.remettre(message, contenu) == adaptateurs.remettre(message, contenu)
    assert len(pair.recus()["rendez_vous"]) == 1
    assert pair.receptions(f"urn:ietf:rfc:3986|urn:uuid:{rdv.uuid}") == 2


def test_un_jeton_ne_touche_pas_une_autre_personne(apparie, pair):
    autre = apparie.autre_usager
    qualifier(autre, 82)
    mes.donner_accord(acteur=qui(apparie, "autre_usager"), usager=autre)
    rendez_vous(apparie)
    (message,) = messages_mes()
    contenu = natures.construire(message)
    # Le rendez-vous de Jeanne présenté avec le jeton de l'autre personne : MES refuse.
    message.usager = autre
    with pytest.raises(Rejet, match="HTTP 403.*personne qui l'a donné"):
        adaptateurs.remettre(message, contenu)
    assert pair.recus()["rendez_vous"] == {}


def test_identite_qui_perd_sa_qualification(apparie, pair):
    rendez_vous(apparie)
    (message,) = messages_mes()
    Usager.objects.filter(pk=apparie.usager.pk).update(statut_identite="VALI")
    with pytest.raises(Rejet, match="n'est pas qualifiée"):
        adaptateurs.remettre(message, natures.construire(message))
    rendez_vous(apparie, debut=a_paris(2026, 12, 20, 9))
    refuse = messages_mes()[-1]
    assert refuse.statut == StatutMessage.REFUSE and "n'est pas qualifiée" in refuse.derniere_erreur
    assert pair.recus()["rendez_vous"] == {}


def test_accord_retire_plus_rien_ne_part(apparie, pair):
    rendez_vous(apparie)
    (message,) = messages_mes()
    mes.retirer_accord(acteur=qui(apparie, "usager"), usager=apparie.usager)
    appairage = AppairageMES.objects.get()
    assert appairage.retire_le is not None and appairage.jeton_chiffre == ""
    with pytest.raises(Rejet, match="retiré son accord"):
        adaptateurs.remettre(message, natures.construire(message))
    rendez_vous(apparie, debut=a_paris(2026, 12, 21, 9))
    assert len(messages_mes()) == 1
    with pytest.raises(ValidationError, match="Aucun accord"):
        mes.retirer_accord(acteur=qui(apparie, "usager"), usager=apparie.usager)


def test_mes_arrete_ou_en_panne_pair_indisponible(apparie, pair):
    rendez_vous(apparie)
    (message,) = messages_mes()
    contenu = natures.construire(message)
    pair.regler("panne")
    with pytest.raises(PairIndisponible, match="HTTP 503"):
        adaptateurs.remettre(message, contenu)
    assert relire_mes() == {"crees": 0, "modifies": 0, "ignores": 0, "en_echec": 1}
    assert "HTTP 503" in AppairageMES.objects.get().derniere_erreur
    pair.arreter()
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateurs.remettre(message, contenu)


def _rdv_mes(
    matricule: str, valeur: str = "mes-1", debut="2026-12-22T14:00:00+01:00", statut="booked"
) -> dict:
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": "https://monespacesante.fr/agenda", "value": valeur}],
        "status": statut,
        "description": "Dentiste",
        "start": debut,
        "end": "2026-12-22T15:00:00+01:00",
        "participant": [
            {
                "actor": {
                    "type": "Patient",
                    "identifier": {"system": f"urn:oid:{OID_INS_TEST}", "value": matricule},
                },
                "status": "accepted",
            }
        ],
    }


def test_relecture_ramene_un_rendez_vous_de_mes_une_seule_fois(apparie, pair):
    usager = apparie.usager
    jeton = mes.jeton(AppairageMES.objects.get())
    pair.saisir_dans_mes(jeton, _rdv_mes(usager.matricule_ins))
    pair.saisir_dans_mes(jeton, _rdv_mes(usager.matricule_ins, "mes-2", statut="cancelled"))  # jamais montré
    rendez_vous(apparie)  # le nôtre, poussé vers MES : jamais relu
    envoyer(messages_mes()[0])
    assert relire_mes() == {"crees": 1, "modifies": 0, "ignores": 0, "en_echec": 0}
    assert relire_mes() == {"crees": 0, "modifies": 0, "ignores": 0, "en_echec": 0}
    (importe,) = Evenement.objects.filter(usager=usager, systeme_source=mes.SYSTEME_SOURCE)
    assert (importe.titre, importe.debut) == ("Dentiste", a_paris(2026, 12, 22, 14))
    assert Evenement.objects.filter(usager=usager).count() == 2
    assert len(messages_mes()) == 1  # un rendez-vous relu de MES n'y est pas repoussé
    # Annulé dans MES : annulé dans l'agenda, une fois.
    requete = _rdv_mes(usager.matricule_ins, statut="cancelled")
    pair_jeton = {"Authorization": f"Bearer {jeton}"}
    import requests

    requests.put(
        f"{pair.url_mes}/Appointment?identifier=https://monespacesante.fr/agenda|mes-1",
        json=requete, headers=pair_jeton, timeout=5,
    ).raise_for_status()  # fmt: skip
    assert relire_mes()["modifies"] == 1
    importe.refresh_from_db()
    assert importe.statut == StatutEvenement.ANNULE
    assert relire_mes()["modifies"] == 0


def test_relecture_planifiee_et_enregistree(settings):
    """La tâche est connue de Celery sous son nom et planifiée par beat (réglages du lot)."""
    from coordination.celery import app

    entree = settings.CELERY_BEAT_SCHEDULE["agenda-relire-mes"]
    assert entree["task"] == relire_mes.name == "agenda.relire_mes"
    assert "agenda.relire_mes" in app.tasks
    assert entree["schedule"].minute == set(range(0, 60, settings.MES_RELECTURE_MINUTES))


def test_participants_remplaces_une_revision_de_plus(apparie, pair):
    """Un logiciel remplace les participants (API FHIR) : MES reçoit la révision, après la création."""
    ide = qui(apparie, "ide")
    rdv = rendez_vous(apparie)
    envoyer(messages_mes()[-1])
    rdv = agenda.remplacer_participants(
        acteur=ide, evenement=rdv, invites=[agenda.Invite(personne=apparie.usager)]
    )
    creation, revision = messages_mes()
    assert (
        revision.cle_idempotence == f"{mes.NATURE}:{rdv.uuid}:{rdv.sequence}"
        and revision.precedent == creation
    )
    envoyer(revision)
    (recu,) = pair.recus()["rendez_vous"].values()
    assert len(recu["versions"]) == 2
