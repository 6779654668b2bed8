"""Ce que les notifications envoient : courriel et SMS sans donnée de santé (ni le nom de la
personne, ni le texte de la note), MSSanté nommant la personne, résumés comptés par nature ; et
l'adaptateur courriel, par le moteur locmem puis par un vrai serveur SMTP (Message-ID dérivé de
la clé, réception dédoublonnée par le pair, erreurs SMTP → PairIndisponible ou Rejet)."""

from __future__ import annotations

import pytest
from django.core import mail

from coordination.echanges import courriel, natures
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant
from coordination.notifications import distribution
from coordination.notifications.catalogue import Canal, Frequence, NatureNotification
from coordination.notifications.models import Notification, Preference, Source
from tests.monde_cahier import construire_monde_cahier, note_de
from tests.pair_mssante import operateur_mssante  # noqa: F401

pytestmark = pytest.mark.django_db

TEXTE = "Chute dans la salle de bain, hématome au genou gauche."
URGENTE = NatureNotification.NOTE_URGENTE


@pytest.fixture
def monde():
    monde = construire_monde_cahier()
    distribution.distribuer()
    ide = monde.acteurs["ide"]
    professionnel = ide.exercice.professionnel
    professionnel.bal_mssante, professionnel.telephone = "ide.fictive@ssiad.mssante.fr", "0600000001"
    professionnel.save()
    for canal in (Canal.MSSANTE, Canal.SMS):
        Preference.objects.create(compte=ide.compte, nature=URGENTE, canal=canal, frequence="immediate")
    return monde


@pytest.fixture
def envois(monde):
    """Une note urgente de la médecin, distribuée : les messages immédiats vers l'infirmière."""
    note_de(monde, texte=TEXTE, urgente=True)
    distribution.distribuer()
    notification = Notification.objects.get(compte=monde.acteurs["ide"].compte, nature=URGENTE)
    return {m.destination: m for m in MessageSortant.objects.filter(objet_uuid=notification.uuid)}


def interdits(monde) -> list[str]:
    usager = monde.usager
    return [usager.nom_naissance, usager.prenoms_naissance, str(usager), TEXTE, "hématome"]


@pytest.mark.parametrize("canal", ["courriel", "sms"], ids=["courriel", "sms"])
def test_courriel_et_sms_sans_donnee_de_sante(monde, envois, canal):
    contenu = natures.construire(envois[canal])
    tout = f"{contenu.sujet}\n{contenu.texte}"
    for mot in interdits(monde):
        assert mot.lower() not in tout.lower()
    assert "Une nouvelle transmission concerne une personne que vous accompagnez." in contenu.texte
    assert contenu.lien.startswith("http://localhost:8000/usagers/") and contenu.lien in contenu.texte


def test_mssante_peut_nommer_la_personne_et_la_nature(monde, envois):
    contenu = natures.construire(envois["mssante"])
    assert str(monde.usager) in contenu.sujet and "Transmission urgente" in contenu.sujet
    assert TEXTE not in contenu.texte  # la note elle-même reste dans le portail


def test_resume_compte_par_nature_sans_donnee_de_sante(monde):
    note_de(monde, texte=TEXTE)
    note_de(monde, texte="Deuxième passage.")
    distribution.distribuer()
    distribution.envoyer_resumes(Frequence.QUOTIDIENNE)
    ide = monde.acteurs["ide"].compte
    resume = MessageSortant.objects.get(nature="notifications.resume", destinataire=ide.email)
    contenu = natures.construire(resume)
    assert "- Nouvelle transmission : 2" in contenu.texte
    assert "http://localhost:8000/notifications/" in contenu.texte
    for mot in interdits(monde):
        assert mot.lower() not in f"{contenu.sujet}\n{contenu.texte}".lower()


def test_courriel_par_le_moteur_locmem(settings, envois):
    settings.NOTIFICATIONS_COURRIEL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = envois["courriel"]
    identifiant = courriel.envoyer(message, natures.construire(message))
    assert identifiant == courriel.message_id(message.cle_idempotence)
    (envoye,) = mail.outbox
    assert envoye.to == [message.destinataire] and envoye.extra_headers["Message-ID"] == identifiant
    assert courriel.envoyer(message, natures.construire(message)) == identifiant  # même clé, même id


@pytest.fixture
def smtp(settings, operateur_mssante):  # noqa: F811
    """Le port « courriel ordinaire » de l'opérateur du bac à sable (SMTP en clair, toute adresse)."""
    if not operateur_mssante.en_marche:
        operateur_mssante.lancer()
    operateur_mssante.reinitialiser()
    settings.NOTIFICATIONS_COURRIEL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.NOTIFICATIONS_SMTP_HOTE = "127.0.0.1"
    settings.NOTIFICATIONS_SMTP_PORT = operateur_mssante.ports["courriel"]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return operateur_mssante


def test_courriel_par_smtp_recu_une_fois_meme_envoye_deux_fois(smtp, envois):
    message = envois["courriel"]
    identifiant = courriel.envoyer(message, natures.construire(message))
    courriel.envoyer(message, natures.construire(message))  # renvoi après une panne au mauvais moment
    assert smtp.receptions(identifiant) == 2
    (range_,) = [m for m in smtp.messages() if m.message_id == identifiant]
    assert range_.a == [message.destinataire] and range_.port == "courriel"


def test_destinataire_inconnu_rejete(smtp, envois):
    message = envois["courriel"]
    message.destinataire = "inconnu@exemple.invalid"
    with pytest.raises(Rejet, match="550"):
        courriel.envoyer(message, natures.construire(message))


def test_serveur_en_panne_plus_tard(smtp, envois):
    smtp.regler(panne=True)
    message = envois["courriel"]
    with pytest.raises(PairIndisponible, match="421"):
        courriel.envoyer(message, natures.construire(message))


def test_serveur_injoignable(settings, envois):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.NOTIFICATIONS_COURRIEL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.NOTIFICATIONS_SMTP_HOTE, settings.NOTIFICATIONS_SMTP_PORT = "127.0.0.1", port
    message = envois["courriel"]
    with pytest.raises(PairIndisponible, match="injoignable"):
        courriel.envoyer(message, natures.construire(message))


def test_la_source_est_le_cahier(envois):
    assert set(envois) == {"courriel", "sms", "mssante"}
    assert all(m.nature == "notifications.immediate" for m in envois.values())
    assert Notification.objects.filter(source=Source.CAHIER, nature=URGENTE).exists()
