"""CalDAV de bout en bout, côté portail, contre un vrai Radicale (cas d'usage 3) : les rendez-vous
du portail arrivent dans le calendrier du professionnel, ce qu'il crée là-bas devient du temps
occupé ici (et compte pour les réunions), mises à jour et annulations sans doublon, mot de passe
chiffré, erreurs gardées et montrées en français."""

from __future__ import annotations

import datetime as dt
import uuid

import caldav
import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agenda import caldav_portail, reunions, tasks
from agenda import services as agenda
from agenda.models import CalendrierCalDAV, OccupationExterne
from coordination.echanges.caldav import ErreurCalDAV
from tests.factories import connecter
from tests.monde_agenda import a_paris, construire_monde_agenda, qui, rendez_vous
from tests.radicale import calendrier_radicale, radicale  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_agenda()


def evenements_la_bas(radicale, url) -> dict[str, icalendar.Event]:  # noqa: F811
    client = caldav.DAVClient(url=url, username=radicale.utilisateur, password=radicale.mot_de_passe)
    resultat = {}
    for objet in client.calendar(url=url).events():
        for vevent in icalendar.Calendar.from_ical(objet.data).walk("VEVENT"):
            resultat.setdefault(str(vevent["UID"]), vevent)
    return resultat


def creer_la_bas(radicale, url, debut: dt.datetime, heures: int = 2) -> str:  # noqa: F811
    uid = f"{uuid.uuid4()}@telephone.exemple"
    fin = debut + dt.timedelta(hours=heures)
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Téléphone//FR\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{debut.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{fin.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Dentiste (privé)\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    client = caldav.DAVClient(url=url, username=radicale.utilisateur, password=radicale.mot_de_passe)
    client.calendar(url=url).save_event(ics)
    return uid


def lundi_prochain(heure: int) -> dt.datetime:
    aujourd_hui = dt.date.today()
    jour = aujourd_hui + dt.timedelta(days=14 - aujourd_hui.weekday())
    return a_paris(jour.year, jour.month, jour.day, heure)


def test_aller_retour_sans_doublon(monde, radicale, calendrier_radicale):  # noqa: F811
    medecin = qui(monde, "medecin")
    calendrier = caldav_portail.relier(
        acteur=medecin,
        url=calendrier_radicale,
        utilisateur=radicale.utilisateur,
        mot_de_passe=radicale.mot_de_passe,
    )
    assert radicale.mot_de_passe not in calendrier.mot_de_passe_chiffre
    rdv = rendez_vous(
        monde, "ide", titre="Pansement", debut=lundi_prochain(9), invites=[agenda.Invite(medecin.exercice)]
    )
    uid_prive = creer_la_bas(radicale, calendrier_radicale, lundi_prochain(14))

    bilan = caldav_portail.synchroniser_calendrier(calendrier)
    assert bilan["envoyes"] == 1 and bilan["occupations_importees"] == 1
    la_bas = evenements_la_bas(radicale, calendrier_radicale)
    assert str(la_bas[f"{rdv.uuid}@portail-coordination"]["SUMMARY"]) == "Pansement"
    [occupe] = OccupationExterne.objects.filter(uid=uid_prive)
    assert occupe.periode.lower == lundi_prochain(14)
    # Le rendez-vous privé compte pour les réunions ; son contenu n'est gardé nulle part.
    resultat = reunions.proposer_creneaux(
        acteur=qui(monde, "ide"), usager=monde.usager, invites=[agenda.Invite(medecin.exercice)],
        duree=dt.timedelta(hours=1), debut=lundi_prochain(13), fin=lundi_prochain(17),
    )  # fmt: skip
    assert all(c.fin <= lundi_prochain(14) or c.debut >= lundi_prochain(16) for c in resultat.creneaux)
    assert not OccupationExterne.objects.filter(uid__icontains="Dentiste").exists()

    # Rien de changé : un second passage ne fait rien.
    assert caldav_portail.synchroniser_calendrier(calendrier) == {
        "envoyes": 0, "supprimes_la_bas": 0, "occupations_importees": 0, "occupations_retirees": 0,
        "conflits": [],
    }  # fmt: skip

    # Déplacé au portail : toujours une seule ressource, au nouvel horaire.
    agenda.modifier_evenement(
        acteur=qui(monde, "ide"), evenement=rdv, debut=lundi_prochain(10), fin=lundi_prochain(11)
    )
    caldav_portail.synchroniser_calendrier(calendrier)
    la_bas = evenements_la_bas(radicale, calendrier_radicale)
    assert len(la_bas) == 2
    assert la_bas[f"{rdv.uuid}@portail-coordination"].decoded("dtstart") == lundi_prochain(10)

    # Annulé au portail : retiré là-bas ; supprimé là-bas : plus occupé ici.
    agenda.annuler_evenement(acteur=qui(monde, "ide"), evenement=rdv)
    client = caldav.DAVClient(
        url=calendrier_radicale, username=radicale.utilisateur, password=radicale.mot_de_passe
    )
    for objet in client.calendar(url=calendrier_radicale).events():
        if uid_prive in objet.data:
            objet.delete()
    bilan = caldav_portail.synchroniser_calendrier(calendrier)
    assert bilan["supprimes_la_bas"] == 1 and bilan["occupations_retirees"] == 1
    assert evenements_la_bas(radicale, calendrier_radicale) == {}
    assert not OccupationExterne.objects.exists()


def test_relier_refuse_un_mauvais_mot_de_passe(monde, radicale, calendrier_radicale):  # noqa: F811
    with pytest.raises(ValidationError, match="(?i)identifiant|mot de passe|refus"):
        caldav_portail.relier(
            acteur=qui(monde, "medecin"),
            url=calendrier_radicale,
            utilisateur=radicale.utilisateur,
            mot_de_passe="faux",
        )
    assert not CalendrierCalDAV.objects.exists()


def test_serveur_arrete_erreur_gardee_et_tache_a_reessayer(monde, tmp_path):
    from sandbox.radicale import ServeurRadicale

    serveur = ServeurRadicale.demarrer(tmp_path / "r")
    url = serveur.url_calendrier("agenda")
    calendrier = caldav_portail.relier(
        acteur=qui(monde, "medecin"),
        url=url,
        utilisateur=serveur.utilisateur,
        mot_de_passe=serveur.mot_de_passe,
    )
    serveur.arreter()
    with pytest.raises(ErreurCalDAV):
        tasks.synchroniser_caldav.apply(args=[calendrier.pk], throw=True, retries=8)
    calendrier.refresh_from_db()
    assert "injoignable" in calendrier.derniere_erreur


def test_page_pour_relier_son_calendrier(client, monde, radicale, calendrier_radicale):  # noqa: F811
    connecter(client, monde.acteurs["medecin"].compte)
    adresse = reverse("agenda:abonnement")
    refus = client.post(
        adresse,
        {
            "quoi": "caldav",
            "url": calendrier_radicale,
            "utilisateur": radicale.utilisateur,
            "mot_de_passe": "x",
        },
    )
    assert refus.status_code == 400 and not CalendrierCalDAV.objects.exists()
    reponse = client.post(
        adresse,
        {"quoi": "caldav", "url": calendrier_radicale, "utilisateur": radicale.utilisateur,
         "mot_de_passe": radicale.mot_de_passe},
    )  # fmt: skip
    assert reponse.status_code == 302
    assert CalendrierCalDAV.objects.get().url == calendrier_radicale
    page = client.get(adresse).content.decode()
    assert calendrier_radicale in page and radicale.mot_de_passe not in page
