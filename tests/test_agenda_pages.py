"""Pages de l'agenda : nombre de requêtes constant quel que soit le nombre de rendez-vous (séries
comprises), vues liste, semaine, mois et ligne de vie, ajout d'un rendez-vous, saisies refusées."""

from __future__ import annotations

from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agenda import services as agenda
from agenda.models import Evenement
from coordination.comptes.acteur import SESSION_ACTEUR
from tests.factories import connecter
from tests.monde_agenda import a_paris, construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db
SEMAINE = "?vue=semaine&date=2026-12-14"


@pytest.fixture
def monde():
    return construire_monde_agenda()


def session(client, monde, nom):
    connecter(client, monde.acteurs[nom].compte)
    s = client.session
    s[SESSION_ACTEUR] = monde.acteurs[nom].cle
    s.save()
    return client


def remplir(monde, nombre: int) -> None:
    medecin = agenda.Invite(monde.acteurs["medecin"].exercice)
    for rang in range(nombre):
        jour = 14 + rang % 5
        rendez_vous(
            monde,
            "ide",
            titre=f"Soins {rang}",
            debut=a_paris(2026, 12, jour, 8 + rang % 9),
            invites=[medecin],
        )
    rendez_vous(
        monde, "ide", titre="Kiné", debut=a_paris(2026, 12, 1, 17), rrule="FREQ=DAILY", invites=[medecin]
    )


def requetes(client, adresse: str) -> int:
    with CaptureQueriesContext(connection) as capture:
        reponse = client.get(adresse)
    assert reponse.status_code == 200
    return len(capture.captured_queries)


@pytest.mark.parametrize("vue", ["liste", "semaine", "mois", "ligne"])
def test_agenda_de_l_usager_en_requetes_constantes(client, monde, vue):
    session(client, monde, "medecin")
    adresse = reverse("agenda:usager", args=[monde.usager.uuid]) + f"?vue={vue}&date=2026-12-14"
    remplir(monde, 2)
    peu = requetes(client, adresse)
    remplir(monde, 25)
    beaucoup = requetes(client, adresse)
    assert peu == beaucoup, (peu, beaucoup)
    assert beaucoup <= 14


def test_semaine_du_professionnel_en_requetes_constantes(client, monde):
    session(client, monde, "medecin")
    adresse = reverse("agenda:mon_agenda") + SEMAINE
    remplir(monde, 2)
    peu = requetes(client, adresse)
    remplir(monde, 25)
    page = client.get(adresse).content.decode()
    assert requetes(client, adresse) == peu <= 14
    assert page.count("Soins ") == 27 and page.count(">Kiné<") == 14  # deux séries quotidiennes


def test_ajouter_un_rendez_vous_repetitif_par_la_page(client, monde):
    session(client, monde, "ide")
    reponse = client.post(
        reverse("agenda:ajouter", args=[monde.usager.uuid]),
        {
            "titre": "Kinésithérapie", "jour": "2026-12-15", "heure_debut": "14:00", "heure_fin": "14:45",
            "repetition": "FREQ=WEEKLY", "jusqu_au": "2027-01-12", "lieu": "Domicile",
            "participants": [f"exercice:{monde.acteurs['medecin'].exercice.uuid}"],
        },
    )  # fmt: skip
    assert reponse.status_code == 302 and reponse["Location"].endswith("?date=2026-12-15")
    evenement = Evenement.objects.get(titre="Kinésithérapie")
    assert evenement.rrule == "FREQ=WEEKLY;UNTIL=20270112T225959Z"
    assert evenement.fin_serie == a_paris(2027, 1, 12, 14, 45)
    assert evenement.participants.count() == 1


@pytest.mark.parametrize(
    "donnees, champ, message",
    [
        ({"heure_debut": "", "heure_fin": ""}, "heure_debut", "Indiquez l'heure de début"),
        ({"heure_fin": "13:00"}, "fin", "La fin doit venir après le début"),
        ({"visio": "ftp://visio.example"}, "visio", "une adresse https:// complète"),
    ],
)
def test_saisie_refusee_gardee_et_expliquee(client, monde, donnees, champ, message):
    session(client, monde, "ide")
    avant = Evenement.objects.count()
    valeurs = {
        "titre": "Bilan",
        "jour": "2026-12-15",
        "heure_debut": "14:00",
        "heure_fin": "15:00",
        **donnees,
    }
    reponse = client.post(reverse("agenda:ajouter", args=[monde.usager.uuid]), valeurs)
    assert reponse.status_code == 400
    html = unescape(reponse.content.decode())
    assert message in html and 'value="Bilan"' in html
    assert Evenement.objects.count() == avant


def test_l_usager_ajoute_son_rendez_vous_en_forme_simple(client, monde):
    session(client, monde, "usager")
    page = client.get(reverse("agenda:ajouter", args=[monde.usager.uuid])).content.decode()
    assert "Personnes conviées" not in page
    client.post(
        reverse("agenda:ajouter", args=[monde.usager.uuid]),
        {"titre": "Coiffeur", "jour": "2026-12-16", "heure_debut": "10:00", "heure_fin": "11:00"},
    )
    evenement = Evenement.objects.get(titre="Coiffeur")
    assert evenement.participants.get().usager == monde.usager
    assert qui(monde, "usager").cle == evenement.cree_par


def test_reglages_des_reunions(client, monde):
    from agenda.models import ReglagesAgenda

    session(client, monde, "medecin")
    adresse = reverse("agenda:disponibilites")
    reponse = client.post(
        adresse,
        {"quoi": "reglages", "tampon_avant": "30", "tampon_apres": "15", "zone_feries": "alsace-moselle"},
    )
    assert reponse.status_code == 302
    reglages = ReglagesAgenda.objects.get(professionnel=monde.acteurs["medecin"].exercice.professionnel)
    assert (reglages.tampon_avant.seconds, reglages.tampon_apres.seconds, reglages.zone_feries) == (
        1800,
        900,
        "alsace-moselle",
    )
    assert 'value="alsace-moselle" selected' in client.get(adresse).content.decode()
    refus = client.post(
        adresse, {"quoi": "reglages", "tampon_avant": "999", "tampon_apres": "0", "zone_feries": "mars"}
    )
    assert refus.status_code == 400
    reglages.refresh_from_db()
    assert reglages.zone_feries == "alsace-moselle"


@pytest.mark.parametrize(
    "nom, statut", [("aidant_avec_droits", 403), ("usager", 302), ("ide", 302), ("pro_hors_cercle", 404)]
)
def test_preferences_de_l_usager(client, monde, nom, statut):
    from agenda.models import PreferenceHoraire

    session(client, monde, nom)
    reponse = client.post(
        reverse("agenda:preferences", args=[monde.usager.uuid]), {"moment": "matin", "jours": ["0", "3"]}
    )
    assert reponse.status_code == statut
    attendu = [([0, 3], "09:00")] if statut == 302 else []
    assert [(p.jours, f"{p.heure_debut:%H:%M}") for p in PreferenceHoraire.objects.all()] == attendu


def test_l_absence_d_un_professionnel_n_est_signalee_qu_a_qui_organise(client, monde):
    medecin = qui(monde, "medecin")
    debut = a_paris(2026, 12, 15, 10)
    agenda.ajouter_absence(acteur=medecin, debut=a_paris(2026, 12, 15), fin=a_paris(2026, 12, 16))
    evenement = rendez_vous(monde, "ide", debut=debut, invites=[agenda.Invite(medecin.exercice)])
    adresse = reverse("agenda:evenement", args=[evenement.uuid])
    message = f"{medecin.exercice.professionnel} est absent·e"
    assert message in session(client, monde, "ide").get(adresse).content.decode()
    client.logout()
    page = session(client, monde, "aidant_avec_droits").get(adresse)
    assert page.status_code == 200 and message not in page.content.decode()
