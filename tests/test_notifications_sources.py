"""Les sources de l'agenda et du projet personnalisé : notification d'une réunion ou d'un
rendez-vous (participants, sauf l'auteur, qui lisent encore l'agenda), contribution et validation
du projet, rappel de revue au référent ; chacune distribuée une seule fois."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agenda import reunions
from agenda import services as agenda
from agenda.models import NotificationAgenda
from coordination.notifications import distribution
from coordination.notifications.catalogue import NatureNotification
from coordination.notifications.models import Notification, Signal, Source
from ppa import services as ppa
from ppa.models import RappelRevue
from tests import monde_agenda, monde_ppa

pytestmark = pytest.mark.django_db


def notifies(source_uuid) -> set[int]:
    return set(Notification.objects.filter(source_uuid=source_uuid).values_list("compte_id", flat=True))


def comptes(monde, *noms) -> set[int]:
    return {monde.acteurs[nom].compte.pk for nom in noms}


def test_agenda_participants_sauf_l_auteur():
    monde = monde_agenda.construire_monde_agenda()
    invites = [
        agenda.Invite(monde.acteurs["medecin"].exercice),
        agenda.Invite(monde.acteurs["aidant_avec_droits"].proche),
        agenda.Invite(monde.usager),
    ]
    evenement = monde_agenda.rendez_vous(monde, "ide", invites=invites)
    ide = monde_agenda.qui(monde, "ide")
    reunions.notifier("rdv_annule", evenement, sauf=ide)
    notification = NotificationAgenda.objects.filter(evenement=evenement).latest("cree_le")
    distribution.distribuer()
    assert notifies(notification.uuid) == comptes(monde, "medecin", "aidant_avec_droits", "usager")
    (une,) = Notification.objects.filter(source=Source.AGENDA, source_uuid=notification.uuid)[:1]
    assert (une.nature, une.lien) == (NatureNotification.RDV_ANNULE, f"/agenda/evenements/{evenement.uuid}/")
    NotificationAgenda.objects.filter(pk=notification.pk).update(distribue_le=None)
    assert distribution.distribuer() == 0


@pytest.fixture
def monde():
    monde = monde_ppa.construire_monde_ppa()
    distribution.distribuer()
    return monde


# Qui lit le projet de Jeanne (la coordinatrice gère le cercle, sans droit sur le projet).
LECTEURS_PPA = {"usager", "representant", "collegue_structure", "medecin", "aidant_avec_droits"}


def test_contribution_au_projet(monde):
    version = monde_ppa.brouillon_rempli(monde)
    commentaire = ppa.commenter(
        acteur=monde_ppa.qui(monde, "ide"), version=version, partie="objectifs", texte="Voir avec le kiné."
    )
    signal = Signal.objects.get(objet_uuid=commentaire.uuid)
    assert (signal.nature, signal.au_cercle) == (NatureNotification.PPA_CONTRIBUTION, True)
    distribution.distribuer()
    assert notifies(signal.uuid) == comptes(monde, *LECTEURS_PPA)


def test_validation_du_projet(monde):
    version = monde_ppa.valider(monde, monde_ppa.brouillon_rempli(monde))
    signal = Signal.objects.get(objet_uuid=version.uuid, nature=NatureNotification.PPA_VALIDATION)
    distribution.distribuer()
    assert notifies(signal.uuid) == comptes(monde, *LECTEURS_PPA)  # l'infirmière a validé : pas elle
    assert (
        Notification.objects.filter(source_uuid=signal.uuid).first().lien == f"/ppa/versions/{version.uuid}/"
    )


def test_rappel_de_revue_au_referent(monde):
    projet = monde_ppa.projet_de(monde)
    rappel = RappelRevue.objects.create(
        projet=projet,
        echeance=timezone.localdate() + dt.timedelta(days=20),
        destinataire=monde.acteurs["ide"].cle,
    )
    distribution.distribuer()
    assert notifies(rappel.uuid) == comptes(monde, "ide")
    rappel.refresh_from_db()
    assert rappel.distribue_le is not None


def test_rappel_sans_droit_au_projet_n_arrive_pas(monde):
    projet = monde_ppa.projet_de(monde)
    rappel = RappelRevue.objects.create(
        projet=projet, echeance=timezone.localdate(), destinataire=monde.acteurs["pro_sans_droit"].cle
    )
    distribution.distribuer()
    assert notifies(rappel.uuid) == set()
