"""Pages des notifications : matrice (anonyme → connexion ; chacun ne voit et ne touche que les
siennes ; la notification d'un autre → 404 sans rien écrire), lecture, « tout lire », ouverture
de l'objet, requêtes en nombre constant (1 ou 20 notifications), et préférences pour chaque
sorte de personne (canaux offerts selon ce qu'elle a, saisie refusée en français sans rien perdre)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination.notifications.catalogue import NatureNotification
from coordination.notifications.models import Notification, Preference, Source
from tests.factories import connecter
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db

# Une personne de chaque sorte : professionnel, usager, aidant, représentant légal.
ACTEURS = ["ide", "medecin", "usager", "aidant_avec_droits", "representant"]


@pytest.fixture
def monde():
    return construire_monde()


def notifier(compte, nombre=1, **champs):
    valeurs = {"nature": NatureNotification.NOUVELLE_NOTE, "titre": "Nouvelle transmission", "lien": "/"}
    valeurs.update(champs)
    return [
        Notification.objects.create(compte=compte, source=Source.SIGNAL, source_uuid=uuid.uuid4(), **valeurs)
        for _ in range(nombre)
    ]


def client_de(client, monde, nom):
    return connecter(client, monde.acteurs[nom].compte)


ROUTES_GET = ["notifications:liste", "notifications:preferences"]


@pytest.mark.parametrize("route", ROUTES_GET, ids=["liste", "preferences"])
def test_anonyme_va_a_la_connexion(client, route):
    reponse = client.get(reverse(route))
    assert reponse.status_code == 302 and reponse.url.startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize(
    "route", ["notifications:marquer_lue", "notifications:ouvrir"], ids=["lue", "ouvrir"]
)
def test_anonyme_ne_marque_rien(client, monde, route):
    (notification,) = notifier(monde.acteurs["ide"].compte)
    reponse = client.post(reverse(route, args=[notification.uuid]))
    assert reponse.status_code == 302 and reponse.url.startswith(reverse(settings.LOGIN_URL))
    notification.refresh_from_db()
    assert notification.lue_le is None


@pytest.mark.parametrize("nom", ACTEURS, ids=ACTEURS)
def test_chacun_ne_voit_que_les_siennes(client, monde, nom):
    moi = monde.acteurs[nom].compte
    notifier(moi, titre="La mienne")
    notifier(monde.acteurs["pro_hors_cercle"].compte, titre="Autre compte")
    reponse = client_de(client, monde, nom).get(reverse("notifications:liste"))
    assert reponse.status_code == 200
    assert "La mienne" in reponse.text and "Autre compte" not in reponse.text
    assert 'href="/notifications/"' in reponse.text and ">Notifications</a>" in reponse.text  # navigation


@pytest.mark.parametrize(
    "route", ["notifications:marquer_lue", "notifications:ouvrir"], ids=["lue", "ouvrir"]
)
@pytest.mark.parametrize("nom", ACTEURS, ids=ACTEURS)
def test_la_notification_d_un_autre_repond_404_sans_rien_ecrire(client, monde, nom, route):
    (autre,) = notifier(monde.acteurs["pro_hors_cercle"].compte)
    reponse = client_de(client, monde, nom).post(reverse(route, args=[autre.uuid]))
    assert reponse.status_code == 404
    autre.refresh_from_db()
    assert autre.lue_le is None


@pytest.mark.parametrize("nom", ACTEURS, ids=ACTEURS)
def test_tout_lire_ne_touche_que_les_miennes(client, monde, nom):
    miennes = notifier(monde.acteurs[nom].compte, 3)
    autres = notifier(monde.acteurs["pro_hors_cercle"].compte, 2)
    reponse = client_de(client, monde, nom).post(reverse("notifications:tout_lire"), follow=True)
    assert "3 notification(s) marquée(s) comme lue(s)." in reponse.text
    assert all(n.lue_le for n in Notification.objects.filter(pk__in=[n.pk for n in miennes]))
    assert not any(n.lue_le for n in Notification.objects.filter(pk__in=[n.pk for n in autres]))


def test_non_lues_d_abord_puis_ouvrir_marque_lue_et_mene_a_l_objet(client, monde):
    moi = monde.acteurs["ide"].compte
    (lue,) = notifier(moi, titre="Ancienne lue")
    Notification.objects.filter(pk=lue.pk).update(lue_le=lue.cree_le)
    (neuve,) = notifier(moi, titre="Neuve", lien=f"/usagers/{monde.usager.uuid}/cercle/")
    client_de(client, monde, "ide")
    texte = client.get(reverse("notifications:liste")).text
    assert texte.index("Neuve") < texte.index("Ancienne lue")
    reponse = client.post(reverse("notifications:ouvrir", args=[neuve.uuid]))
    assert (reponse.status_code, reponse.url) == (302, f"/usagers/{monde.usager.uuid}/cercle/")
    neuve.refresh_from_db()
    assert neuve.lue_le is not None


def test_lien_externe_jamais_suivi(client, monde):
    (piege,) = notifier(monde.acteurs["ide"].compte, lien="https://ailleurs.example/")
    reponse = client_de(client, monde, "ide").post(reverse("notifications:ouvrir", args=[piege.uuid]))
    assert reponse.url == reverse("notifications:liste")


def _requetes(client, url) -> int:
    with CaptureQueriesContext(connection) as requetes:
        assert client.get(url).status_code == 200
    return len(requetes)


@pytest.mark.parametrize("route", ROUTES_GET, ids=["liste", "preferences"])
def test_requetes_en_nombre_constant(client, monde, route):
    moi = monde.acteurs["ide"].compte
    client_de(client, monde, "ide")
    notifier(moi, 1)
    Preference.objects.create(
        compte=moi, nature=NatureNotification.ALERTE, canal="courriel", frequence="jamais"
    )
    _requetes(client, reverse(route))  # première requête de la session (mise à jour de la session)
    une = _requetes(client, reverse(route))
    notifier(moi, 19)
    Preference.objects.create(
        compte=moi, nature=NatureNotification.REPONSE, canal="courriel", frequence="jamais"
    )
    assert _requetes(client, reverse(route)) == une


# --- Préférences ---------------------------------------------------------------------------------


def test_preferences_canaux_selon_ce_que_la_personne_a(client, monde):
    professionnel = monde.acteurs["ide"].exercice.professionnel
    professionnel.bal_mssante, professionnel.telephone = "", ""
    professionnel.save()
    texte = client_de(client, monde, "ide").get(reverse("notifications:preferences")).text
    assert "boîte aux lettres MSSanté personnelle" in texte
    assert "aucun numéro de téléphone" in texte
    assert '<th scope="row">Transmission urgente</th>' in texte
    assert re.search(r'name="cahier.note_urgente__mssante"\s+disabled', texte)
    professionnel.bal_mssante, professionnel.telephone = "ide@ssiad.mssante.fr", "0600000001"
    professionnel.save()
    texte = client.get(reverse("notifications:preferences")).text
    assert "boîte aux lettres MSSanté" not in texte and "disabled" not in texte


@pytest.mark.parametrize("nom", ["usager", "aidant_avec_droits"], ids=["usager", "aidant"])
def test_pas_de_mssante_pour_les_usagers_et_aidants(client, monde, nom):
    texte = client_de(client, monde, nom).get(reverse("notifications:preferences")).text
    assert "boîte aux lettres MSSanté personnelle" in texte


@pytest.mark.parametrize("nom", ACTEURS, ids=ACTEURS)
def test_enregistrer_ses_preferences(client, monde, nom):
    moi = monde.acteurs[nom].compte
    donnees = {"cahier.note_urgente__courriel": "quotidienne", "agenda.rdv_annule__portail": "jamais"}
    reponse = client_de(client, monde, nom).post(reverse("notifications:preferences"), donnees, follow=True)
    assert "Vos préférences de notification sont enregistrées." in reponse.text
    assert set(Preference.objects.filter(compte=moi).values_list("nature", "canal", "frequence")) == {
        ("cahier.note_urgente", "courriel", "quotidienne"),
        ("agenda.rdv_annule", "portail", "jamais"),
    }
    # Revenir à la valeur par défaut efface la ligne.
    client.post(reverse("notifications:preferences"), {"cahier.note_urgente__courriel": "immediate"})
    assert not Preference.objects.filter(compte=moi, nature="cahier.note_urgente").exists()


@pytest.mark.parametrize(
    ("champ", "valeur", "message"),
    [
        ("cahier.alerte__courriel", "toutes-les-heures", "choisissez une des fréquences proposées"),
        ("cahier.alerte__portail", "quotidienne", "choisissez une des fréquences proposées"),
        ("cahier.alerte__mssante", "immediate", "boîte aux lettres MSSanté"),
        ("cahier.alerte__sms", "immediate", "aucun numéro de téléphone"),
    ],
    ids=["inconnue", "resume-dans-le-portail", "mssante-sans-bal", "sms-sans-telephone"],
)
def test_saisie_refusee_rien_ecrit_rien_perdu(client, monde, champ, valeur, message):
    moi = monde.acteurs["usager"].compte
    Preference.objects.create(compte=moi, nature="cahier.reponse", canal="courriel", frequence="jamais")
    donnees = {champ: valeur, "cahier.nouvelle_note__courriel": "hebdomadaire"}
    reponse = client_de(client, monde, "usager").post(reverse("notifications:preferences"), donnees)
    assert reponse.status_code == 400
    assert message in reponse.text and "pas été enregistrés" in reponse.text
    assert list(Preference.objects.filter(compte=moi).values_list("nature", "frequence")) == [
        ("cahier.reponse", "jamais")
    ]
    # La saisie valable est remontrée telle quelle.
    bloc = re.search(
        r'<select[^>]*name="cahier.nouvelle_note__courriel"[^>]*>(.*?)</select>', reponse.text, re.S
    )
    assert re.findall(r'value="(\w+)"\s+selected', bloc.group(1)) == ["hebdomadaire"]
