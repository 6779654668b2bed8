"""Agenda de démonstration (agenda/demo.py) : écrit par les services au chargement de la démo,
idempotent (un second chargement ne change rien), visible sur la page d'agenda d'une usagère de
la démo et dans l'agenda du professionnel ; une réunion en attente ; disponibilités et congés."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from agenda import demo as agenda_demo
from agenda import selectors
from agenda.models import Absence, DemandeReunion, Disponibilite, Evenement, Participant, StatutEvenement
from cercle.demo import _acteur_pro
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.personnes import demo
from coordination.personnes.models import Usager
from tests.factories import connecter

pytestmark = pytest.mark.django_db


def charger() -> str:
    sortie = io.StringIO()
    call_command("demo", stdout=sortie)
    return sortie.getvalue()


def _etat() -> dict:
    return {
        "evenements": sorted(Evenement.objects.values_list("uuid", "sequence", "debut", "modifie_le")),
        "participants": Participant.objects.count(),
        "demandes": DemandeReunion.objects.count(),
        "disponibilites": Disponibilite.objects.count(),
        "absences": Absence.objects.count(),
    }


def test_agenda_de_demo_idempotent():
    charger()
    avant = _etat()
    assert Evenement.objects.filter(systeme_source=agenda_demo.SOURCE).count() == len(agenda_demo.RENDEZ_VOUS)
    assert avant["demandes"] == 1 and avant["disponibilites"] == 4 and avant["absences"] == 2
    charger()
    assert _etat() == avant


def test_une_reunion_en_attente_et_des_series():
    charger()
    (demande,) = DemandeReunion.objects.select_related("evenement")
    assert demande.evenement.titre == agenda_demo.TITRE_REUNION
    assert demande.evenement.statut == StatutEvenement.EN_ATTENTE and demande.date_limite > timezone.now()
    assert Evenement.objects.filter(systeme_source="demo").exclude(rrule="").count() == 4


def test_la_page_d_agenda_de_marcelle_montre_les_rendez_vous(client):
    charger()
    infirmier = _acteur_pro("nguyen", "ssiad")
    connecter(client, infirmier.compte)
    session = client.session
    session[SESSION_ACTEUR] = infirmier.cle
    session.save()
    marcelle = Usager.objects.get(uuid=demo.uuid_demo("usager", "marcelle"))
    page = client.get(reverse("agenda:usager", args=[marcelle.uuid]))
    assert page.status_code == 200
    contenu = page.content.decode()
    for titre in ("Soins infirmiers à domicile", "Aide au repas"):
        assert titre in contenu
    # Sur deux semaines, l'agenda consolidé de Marcelle a tous ses rendez-vous (séries dépliées).
    lundi = agenda_demo._a(0, 0)
    occurrences = selectors.agenda_de_l_usager(infirmier, marcelle, lundi, agenda_demo._a(14, 0))
    titres = {o.titre for o in occurrences}
    assert {"Consultation du médecin traitant", "Atelier mémoire", agenda_demo.TITRE_REUNION} <= titres
    assert len(occurrences) >= 10 + 6 + 3
    # L'agenda de l'infirmier réunit ses rendez-vous chez plusieurs usagers.
    siens = selectors.agenda_du_professionnel(infirmier, lundi, agenda_demo._a(14, 0))
    assert {o.evenement.usager_id for o in siens} >= {marcelle.pk}
    assert len({o.evenement.usager_id for o in siens}) == 3
