"""Distribution des notifications : chaque source distribuée une fois, destinataires qui ont
encore le droit de savoir (jamais l'auteur), préférences suivies (tout de suite → boîte d'envoi,
résumé → élément en attente, jamais → rien), résumés groupés et marqués."""

from __future__ import annotations

import pytest

from cahier_liaison.models import EvenementCahier
from cercle import services as cercle
from coordination.echanges.models import MessageSortant
from coordination.notifications import distribution
from coordination.notifications.catalogue import Canal, Frequence, NatureNotification
from coordination.notifications.models import ElementResume, Notification, Preference, Signal, Source
from tests.monde_cahier import ATTENDU, SANTE, TOUS, construire_monde_cahier, note_de, peut_lire

pytestmark = pytest.mark.django_db

HORS_SESSION = {"dui_ssiad", "systeme"}


@pytest.fixture
def monde():
    monde = construire_monde_cahier()
    distribution.distribuer()  # les ajouts de membres du monde de test
    return monde


def comptes_de(monde, noms) -> set[int]:
    return {monde.acteurs[nom].compte.pk for nom in noms}


def notifies(source_uuid) -> set[int]:
    return set(Notification.objects.filter(source_uuid=source_uuid).values_list("compte_id", flat=True))


def lecteurs(visibilite: str, auteur: str = "medecin") -> set[str]:
    return {n for n in ATTENDU if n not in HORS_SESSION | {auteur} and peut_lire(n, visibilite)}


@pytest.mark.parametrize("visibilite", [TOUS, SANTE], ids=["tous", "sante"])
def test_une_note_previent_ses_lecteurs_sauf_l_auteur_une_seule_fois(monde, visibilite):
    note = note_de(monde, visibilite=visibilite)
    evenement = EvenementCahier.objects.get(note=note)
    assert evenement.distribue_le is None
    assert distribution.distribuer() == len(lecteurs(visibilite))
    assert notifies(evenement.uuid) == comptes_de(monde, lecteurs(visibilite))
    evenement.refresh_from_db()
    assert evenement.distribue_le is not None
    avant = (Notification.objects.count(), MessageSortant.objects.count(), ElementResume.objects.count())
    EvenementCahier.objects.filter(pk=evenement.pk).update(distribue_le=None)  # distribuer deux fois
    assert distribution.distribuer() == 0
    assert (
        Notification.objects.count(),
        MessageSortant.objects.count(),
        ElementResume.objects.count(),
    ) == avant


def test_qui_a_perdu_le_droit_n_est_pas_prevenu(monde):
    note = note_de(monde)
    cercle.retirer_membre(acteur=monde["usager"], membre=monde.membres["aidant"])
    distribution.distribuer()
    evenement = EvenementCahier.objects.get(note=note)
    assert monde.acteurs["aidant_avec_droits"].compte.pk not in notifies(evenement.uuid)
    assert notifies(evenement.uuid) == comptes_de(monde, lecteurs(TOUS) - {"aidant_avec_droits"})


def test_par_defaut_resume_du_jour_par_courriel_et_urgence_tout_de_suite(monde):
    ide = monde.acteurs["ide"].compte
    note = note_de(monde, urgente=True)
    distribution.distribuer()
    normale = Notification.objects.get(
        compte=ide, source=Source.CAHIER, nature=NatureNotification.NOUVELLE_NOTE
    )
    urgente = Notification.objects.get(
        compte=ide, source=Source.CAHIER, nature=NatureNotification.NOTE_URGENTE
    )
    assert normale.lien == f"/usagers/{monde.usager.uuid}/cahier/notes/{note.uuid}/"
    assert not MessageSortant.objects.filter(cle_idempotence__startswith=f"notification:{normale.uuid}")
    element = ElementResume.objects.get(notification=normale)
    assert (element.canal, element.frequence, element.message) == (
        Canal.COURRIEL,
        Frequence.QUOTIDIENNE,
        None,
    )
    message = MessageSortant.objects.get(cle_idempotence=f"notification:{urgente.uuid}:courriel")
    assert (message.destination, message.destinataire, message.nature) == (
        "courriel",
        ide.email,
        "notifications.immediate",
    )
    assert not ElementResume.objects.filter(notification=urgente)


def test_preferences_suivies_mssante_tout_de_suite_courriel_jamais(monde):
    ide = monde.acteurs["ide"]
    ide.exercice.professionnel.bal_mssante = "ide.fictive@ssiad.mssante.fr"
    ide.exercice.professionnel.telephone = "0600000001"
    ide.exercice.professionnel.save()
    nature = NatureNotification.NOUVELLE_NOTE
    Preference.objects.create(compte=ide.compte, nature=nature, canal=Canal.MSSANTE, frequence="immediate")
    Preference.objects.create(compte=ide.compte, nature=nature, canal=Canal.COURRIEL, frequence="jamais")
    Preference.objects.create(compte=ide.compte, nature=nature, canal=Canal.SMS, frequence="immediate")
    note_de(monde)
    distribution.distribuer()
    notification = Notification.objects.get(compte=ide.compte, source=Source.CAHIER)
    messages = MessageSortant.objects.filter(objet_uuid=notification.uuid)
    assert sorted(messages.values_list("destination", "destinataire", "cle_idempotence")) == [
        ("mssante", "ide.fictive@ssiad.mssante.fr", f"notification:{notification.uuid}:mssante"),
        ("sms", "0600000001", f"notification:{notification.uuid}:sms"),
    ]
    assert not ElementResume.objects.filter(notification=notification)


def test_portail_jamais_la_notification_est_deja_lue(monde):
    ide = monde.acteurs["ide"].compte
    Preference.objects.create(
        compte=ide, nature=NatureNotification.NOUVELLE_NOTE, canal=Canal.DANS_LE_PORTAIL, frequence="jamais"
    )
    note_de(monde)
    distribution.distribuer()
    assert Notification.objects.get(compte=ide, source=Source.CAHIER).lue_le is not None


def test_resume_groupe_par_compte_et_canal_et_marque(monde):
    note_de(monde)
    note_de(monde, texte="Deuxième transmission.")
    distribution.distribuer()
    ide = monde.acteurs["ide"].compte
    du_cahier = ElementResume.objects.filter(
        compte=ide, message__isnull=True, notification__source=Source.CAHIER
    )
    assert du_cahier.count() == 2
    uuids = {str(e.notification.uuid) for e in du_cahier}
    en_attente = ElementResume.objects.filter(compte=ide, message__isnull=True).count()
    attendus = set(ElementResume.objects.values_list("compte_id", "canal").distinct())
    assert distribution.envoyer_resumes(Frequence.QUOTIDIENNE) == len(attendus)
    assert not ElementResume.objects.filter(message__isnull=True, frequence=Frequence.QUOTIDIENNE)
    resume = MessageSortant.objects.get(nature="notifications.resume", destinataire=ide.email)
    assert resume.cle_idempotence.startswith(f"resume:{ide.pk}:courriel:quotidienne:")
    assert uuids <= set(resume.charge["notifications"])
    assert len(resume.charge["notifications"]) == en_attente
    assert distribution.envoyer_resumes(Frequence.QUOTIDIENNE) == 0
    assert distribution.envoyer_resumes(Frequence.HEBDOMADAIRE) == 0


def test_resume_hebdomadaire_seulement_pour_qui_l_a_choisi(monde):
    aidant = monde.acteurs["aidant_avec_droits"].compte
    Preference.objects.create(
        compte=aidant, nature=NatureNotification.NOUVELLE_NOTE, canal=Canal.COURRIEL, frequence="hebdomadaire"
    )
    note_de(monde)
    distribution.distribuer()
    assert distribution.envoyer_resumes(Frequence.HEBDOMADAIRE) == 1
    message = MessageSortant.objects.get(
        nature="notifications.resume", cle_idempotence__contains="hebdomadaire"
    )
    assert message.destinataire == aidant.email


def test_membre_ajoute_signale_au_cercle_sans_l_auteur(monde):
    from tests.factories import CompteFactory, ExerciceFactory

    nouvel = ExerciceFactory(professionnel__compte=CompteFactory(), professionnel__nom_exercice="NOUVELLE")
    membre = cercle.ajouter_membre(
        acteur=monde["gestionnaire"], usager=monde.usager, type="professionnel", exercice=nouvel
    )
    signal = Signal.objects.get(objet_uuid=membre.uuid)
    assert signal.nature == NatureNotification.MEMBRE_AJOUTE
    assert monde.acteurs["gestionnaire"].cle not in signal.destinataires
    distribution.distribuer()
    prevenus = notifies(signal.uuid)
    assert monde.acteurs["gestionnaire"].compte.pk not in prevenus
    assert comptes_de(monde, ["usager", "ide", "medecin", "representant"]) <= prevenus
    assert not comptes_de(monde, ["pro_sans_droit", "aidant_sans_droit", "pro_hors_cercle"]) & prevenus
    Signal.objects.filter(pk=signal.pk).update(distribue_le=None)
    assert distribution.distribuer() == 0


def test_demande_d_adhesion_seulement_a_qui_gere_le_cercle(monde):
    demande = cercle.demander_adhesion(
        acteur=monde["pro_hors_cercle"],
        nom_naissance=monde.usager.nom_naissance,
        prenom=monde.usager.prenoms_naissance,
        date_naissance=monde.usager.date_naissance,
    )
    signal = Signal.objects.get(objet_uuid=demande.uuid)
    distribution.distribuer()
    assert notifies(signal.uuid) == comptes_de(monde, ["usager", "representant", "gestionnaire"])


def test_distribution_lancee_une_fois_apres_validation(monde):
    """Le test tient dans une seule transaction (jamais validée) : le monde de test (des membres
    ajoutés) et une note urgente (deux événements) n'y laissent qu'un seul lancement en attente."""
    from django.db import connection

    from coordination.notifications.services import _lancer

    note_de(monde, urgente=True)
    assert EvenementCahier.objects.filter(distribue_le__isnull=True).count() == 2
    assert [appel for _, appel, _ in connection.run_on_commit if appel is _lancer] == [_lancer]


def test_pas_de_mssante_sans_bal_ni_de_sms_sans_telephone(monde):
    medecin = monde.acteurs["medecin"]
    for canal in (Canal.MSSANTE, Canal.SMS):
        Preference.objects.create(
            compte=medecin.compte, nature=NatureNotification.NOUVELLE_NOTE, canal=canal, frequence="immediate"
        )
    note_de(monde, nom="ide")
    distribution.distribuer()
    notification = Notification.objects.get(compte=medecin.compte, source=Source.CAHIER)
    assert not MessageSortant.objects.filter(objet_uuid=notification.uuid).exclude(destination="courriel")


def test_balayage_et_resumes_planifies(settings):
    planning = {entree["task"]: entree["schedule"] for entree in settings.CELERY_BEAT_SCHEDULE.values()}
    assert planning["notifications.distribuer"].minute == set(range(60))
    quotidien, hebdomadaire = (
        planning["notifications.resume_quotidien"],
        planning["notifications.resume_hebdomadaire"],
    )
    assert (quotidien.hour, quotidien.minute) == ({7}, {0})
    assert (hebdomadaire.hour, hebdomadaire.minute, hebdomadaire.day_of_week) == ({7}, {0}, {1})
    assert settings.CELERY_TIMEZONE == "Europe/Paris"


def test_alerte_seulement_aux_membres_sollicites(monde):
    from cahier_liaison import services as cahier

    note = note_de(monde)
    distribution.distribuer()
    cahier.alerter(acteur=monde["medecin"], note=note, destinataires=[monde.membres["ide"]])
    evenement = EvenementCahier.objects.get(note=note, nature="alerte")
    distribution.distribuer()
    assert notifies(evenement.uuid) == comptes_de(monde, ["ide"])
    notification = Notification.objects.get(source_uuid=evenement.uuid)
    assert notification.nature == NatureNotification.ALERTE


def test_administration_en_lecture_seule(client, monde):
    from django.urls import reverse

    from coordination.comptes.models import Compte
    from tests.factories import connecter

    note_de(monde)
    distribution.distribuer()
    connecter(client, Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234"))
    for modele in ("signal", "notification", "preference", "elementresume"):
        assert client.get(reverse(f"admin:notifications_{modele}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:notifications_{modele}_add")).status_code == 403
    notification = Notification.objects.first()
    url = reverse("admin:notifications_notification_change", args=[notification.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"titre": "modifié"})
    notification.refresh_from_db()
    assert notification.titre != "modifié"


def test_le_logiciel_abonne_de_la_structure_recoit_son_webhook_une_fois(monde):
    """Un abonnement NdE du SSIAD aux nouvelles transmissions : la distribution de l'événement met en
    file un webhook pour lui (et un seul, même distribuée deux fois)."""
    from django.utils import timezone

    from coordination.comptes.logiciels import emettre_client
    from coordination.echanges.models import Destination
    from coordination.notifications.models import Abonnement

    client, _secret = emettre_client(
        acteur=monde.acteurs["systeme"], structure=monde.ssiad, nom="DUI", portees=["system/*.write"]
    )
    abonnement = Abonnement.objects.create(
        structure=monde.ssiad, client=client, natures=[NatureNotification.NOUVELLE_NOTE],
        endpoint="https://dui.ssiad-fictif.example/nde", debut=timezone.now(),
        ressource={"resourceType": "Subscription"},
    )  # fmt: skip
    note = note_de(monde)
    distribution.distribuer()
    evenement = EvenementCahier.objects.get(note=note, nature="nouvelle_note")
    webhook = MessageSortant.objects.get(destination=Destination.WEBHOOK)
    assert webhook.cle_idempotence == f"cahier:{evenement.uuid}:abonnement:{abonnement.uuid}"
    assert (webhook.destinataire, webhook.usager) == (abonnement.endpoint, monde.usager)
    EvenementCahier.objects.filter(pk=evenement.pk).update(distribue_le=None)
    distribution.distribuer()
    assert MessageSortant.objects.filter(destination=Destination.WEBHOOK).count() == 1


def test_sans_abonnement_la_distribution_ne_cherche_pas_de_webhook_par_evenement(monde):
    """Les abonnements se cherchent une fois par lot (natures suivies), pas une fois par événement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for rang in range(6):
        note_de(monde, texte=f"Note {rang}")
    with CaptureQueriesContext(connection) as requetes:
        distribution.distribuer()
    abonnements = [q for q in requetes.captured_queries if "notifications_abonnement" in q["sql"]]
    assert len(abonnements) == 1
