"""API REST de l'agenda : comportements (agenda consolidé dédoublonné, création simple, récurrente
et toute la journée, modification avec la version lue, annulation, réponse, agenda du professionnel
avec « Occupé », créneaux et réunion), erreurs par champ en français sans rien écrire, nombre de
requêtes constant, schéma OpenAPI. Les droits : voir tests/test_agenda_api_acces.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agenda import services
from agenda.models import DemandeReunion, Evenement, Participant, StatutEvenement
from cercle import services as cercle
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from tests.factories import connecter
from tests.monde_agenda import a_paris, construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db

FENETRE = "?debut=2026-12-14T00:00:00%2B01:00&fin=2026-12-21T00:00:00%2B01:00"


@pytest.fixture
def monde():
    return construire_monde_agenda()


def en_tant_que(client, monde, nom: str):
    acteur = monde.acteurs[nom]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return client


@pytest.fixture
def ide(client, monde):
    return en_tant_que(client, monde, "ide")


def _base(monde) -> str:
    return f"/api/v1/usagers/{monde.usager.uuid}/agenda/"


def _envoyer(client, methode, chemin, corps):
    return getattr(client, methode)(chemin, json.dumps(corps), content_type="application/json")


def _rdv(**champs) -> dict:
    return {
        "titre": "Kinésithérapie",
        "debut": "2026-12-15T10:00:00+01:00",
        "fin": "2026-12-15T10:45:00+01:00",
        **champs,
    }


def _etat() -> tuple:
    return (
        Evenement.objects.count(),
        Participant.objects.count(),
        sum(Evenement.objects.values_list("sequence", flat=True)),
    )


# --- Lecture de l'agenda consolidé ----------------------------------------------------------------


def test_agenda_consolide_dedoublonne_avec_ses_sources_et_journalise(ide, monde):
    rendez_vous(monde, "ide")
    # Le même rendez-vous reçu du DUI : une seule occurrence, deux sources.
    rendez_vous(monde, "ide", systeme_source="dui-ssiad", identifiant_externe="RDV-1")
    reponse = ide.get(f"{_base(monde)}{FENETRE}")
    assert reponse.status_code == 200, reponse.content
    (occurrence,) = reponse.json()
    assert occurrence["titre"] == "Soins à domicile"
    assert sorted(occurrence["sources"]) == ["dui-ssiad", "portail"]
    assert occurrence["debut"] == "2026-12-14T09:00:00+01:00"
    assert Journal.objects.filter(action="agenda.lecture", usager_uuid=monde.usager.uuid).exists()


def test_agenda_serie_hebdomadaire_depliee(ide, monde):
    rendez_vous(monde, "ide", rrule="FREQ=WEEKLY;COUNT=4")
    reponse = ide.get(f"{_base(monde)}?debut=2026-12-01T00:00:00Z&fin=2027-01-31T00:00:00Z")
    assert reponse.status_code == 200
    assert [o["debut"][:10] for o in reponse.json()] == [
        "2026-12-14",
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
    ]
    assert all(o["recurrence_id"] for o in reponse.json())


@pytest.mark.parametrize(
    "parametres, champ, message",
    [
        ("", "debut", "obligatoire"),
        ("?debut=2026-12-14T00:00:00Z&fin=2028-03-01T00:00:00Z", "fin", "au plus 400 jours"),
        ("?debut=2026-12-14T00:00:00Z&fin=2026-12-13T00:00:00Z", "fin", "La fin doit suivre le début"),
        ("?debut=demain&fin=2026-12-13T00:00:00Z", "debut", "format"),
    ],
)
def test_fenetre_invalide_400_en_francais(ide, monde, parametres, champ, message):
    reponse = ide.get(f"{_base(monde)}{parametres}")
    assert reponse.status_code == 400, reponse.content
    assert message.casefold() in " ".join(reponse.json()[champ]).casefold(), reponse.json()


def test_nombre_de_requetes_constant_agenda_usager(ide, monde):
    def compter() -> int:
        with CaptureQueriesContext(connection) as requetes:
            assert ide.get(f"{_base(monde)}{FENETRE}").status_code == 200
        return len(requetes)

    rendez_vous(monde, "ide")
    une = compter()
    for jour in range(15, 20):
        rendez_vous(monde, "medecin", titre=f"Consultation {jour}", debut=a_paris(2026, 12, jour, 14))
    rendez_vous(monde, "ide", titre="Série", debut=a_paris(2026, 12, 14, 18), rrule="FREQ=DAILY;COUNT=7")
    assert len(ide.get(f"{_base(monde)}{FENETRE}").json()) == 1 + 5 + 7
    assert compter() == une


# --- Création ---------------------------------------------------------------------------------------


def test_creer_un_rendez_vous_avec_participants_par_uuid(ide, monde):
    medecin = monde.membres["medecin"]
    corps = _rdv(
        participants=[str(medecin.uuid), str(monde.usager.uuid)],
        lieux=[{"libelle": "Domicile", "adresse": "1 rue Fictive, 75000 Paris"}],
    )
    reponse = _envoyer(ide, "post", _base(monde), corps)
    assert reponse.status_code == 201, reponse.content
    contenu = reponse.json()
    evenement = Evenement.objects.get(uuid=contenu["uuid"])
    assert evenement.usager == monde.usager and evenement.sequence == contenu["sequence"]
    assert {p["type"] for p in contenu["participants"]} == {"professionnel", "usager"}
    assert contenu["lieux"][0]["libelle"] == "Domicile"
    assert Journal.objects.filter(action="agenda.evenement.creation", objet_uuid=evenement.uuid).exists()


def test_creer_une_serie_et_une_journee_entiere(ide, monde):
    serie = _envoyer(ide, "post", _base(monde), _rdv(rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=6"))
    assert serie.status_code == 201, serie.content
    assert serie.json()["rrule"].startswith("FREQ=WEEKLY")
    journee = _envoyer(
        ide,
        "post",
        _base(monde),
        _rdv(titre="Atelier mémoire", debut="2026-12-16T00:00:00+01:00", fin="2026-12-17T00:00:00+01:00",
             journee_entiere=True),
    )  # fmt: skip
    assert journee.status_code == 201, journee.content
    assert journee.json()["journee_entiere"] is True


@pytest.mark.parametrize(
    "corps, champ, message",
    [
        (_rdv(titre=""), "titre", "vide"),
        (_rdv(fin="2026-12-15T09:00:00+01:00"), None, ""),
        (_rdv(participants=["00000000-0000-4000-8000-000000000000"]), "participants", "inconnus"),
        (_rdv(participants=["pas-un-uuid"]), "participants", "invalide"),
        (_rdv(rrule="FREQ=N'IMPORTE"), None, ""),
        (_rdv(fuseau="Mars/Olympus"), "fuseau", ""),
    ],
)
def test_creation_invalide_400_sans_rien_ecrire(ide, monde, corps, champ, message):
    avant = _etat()
    reponse = _envoyer(ide, "post", _base(monde), corps)
    assert reponse.status_code == 400, reponse.content
    contenu = reponse.json()
    assert contenu, "un refus explique pourquoi"
    if champ:
        assert champ in contenu and message in json.dumps(contenu, ensure_ascii=False), contenu
    assert _etat() == avant


def test_professionnel_hors_cercle_refuse_comme_participant(ide, monde):
    corps = _rdv(participants=[str(monde.acteurs["pro_hors_cercle"].exercice.uuid)])
    avant = _etat()
    reponse = _envoyer(ide, "post", _base(monde), corps)
    assert reponse.status_code == 400 and "participants" in reponse.json()
    assert _etat() == avant


# --- Modification, annulation, réponse ------------------------------------------------------------


def test_modifier_avec_la_version_lue_puis_conflit_409(ide, monde):
    evenement = rendez_vous(monde, "ide")
    chemin = f"/api/v1/agenda/evenements/{evenement.uuid}/"
    lu = ide.get(chemin).json()
    assert lu["sequence"] == 0
    reponse = _envoyer(ide, "patch", chemin, {"sequence": lu["sequence"], "titre": "Toilette"})
    assert reponse.status_code == 200, reponse.content
    assert reponse.json()["titre"] == "Toilette" and reponse.json()["sequence"] == 1
    avant = _etat()
    conflit = _envoyer(ide, "patch", chemin, {"sequence": 0, "titre": "Pansement"})
    assert conflit.status_code == 409
    assert "modifié entre-temps" in conflit.json()["sequence"][0]
    assert _etat() == avant and Evenement.objects.get(pk=evenement.pk).titre == "Toilette"


def test_service_leve_un_conflit_de_version_distinct(monde):
    """Le service distingue le conflit de version (409 à l'API), sans changer les pages : c'est une
    erreur de validation comme avant."""
    from django.core.exceptions import ValidationError

    evenement = rendez_vous(monde, "ide")
    services.modifier_evenement(acteur=qui(monde, "ide"), evenement=evenement, sequence_lue=0, titre="A")
    with pytest.raises(services.ConflitDeVersion) as erreur:
        services.modifier_evenement(acteur=qui(monde, "ide"), evenement=evenement, sequence_lue=0, titre="B")
    assert isinstance(erreur.value, ValidationError) and "entre-temps" in erreur.value.messages[0]
    assert Evenement.objects.get(pk=evenement.pk).titre == "A"


def test_modification_sans_version_ou_invalide_400(ide, monde):
    evenement = rendez_vous(monde, "ide")
    chemin = f"/api/v1/agenda/evenements/{evenement.uuid}/"
    avant = _etat()
    assert "sequence" in _envoyer(ide, "patch", chemin, {"titre": "Toilette"}).json()
    reponse = _envoyer(ide, "patch", chemin, {"sequence": 0, "fin": "2026-12-14T08:00:00+01:00"})
    assert reponse.status_code == 400 and reponse.json()
    assert _etat() == avant


def test_annuler_avec_un_motif(ide, monde):
    evenement = rendez_vous(monde, "ide")
    reponse = _envoyer(
        ide, "delete", f"/api/v1/agenda/evenements/{evenement.uuid}/", {"motif": "Hospitalisée."}
    )
    assert reponse.status_code == 200, reponse.content
    assert reponse.json()["statut"] == StatutEvenement.ANNULE
    journal = Journal.objects.get(action="agenda.evenement.annulation", objet_uuid=evenement.uuid)
    assert journal.details["motif"] == "Hospitalisée."


def test_repondre_a_une_invitation(client, monde):
    invite = services.Invite(monde.acteurs["medecin"].exercice)
    evenement = rendez_vous(monde, "ide", invites=[invite])
    medecin = en_tant_que(client, monde, "medecin")
    chemin = f"/api/v1/agenda/evenements/{evenement.uuid}/reponse/"
    assert _envoyer(medecin, "post", chemin, {"statut": "peut-etre"}).json()["statut"] == [
        "Réponse attendue : accepted, declined ou tentative."
    ]
    reponse = _envoyer(medecin, "post", chemin, {"statut": "declined"})
    assert reponse.status_code == 200, reponse.content
    (ligne,) = [p for p in reponse.json()["participants"] if p["type"] == "professionnel"]
    assert ligne["statut"] == "declined"


def test_repondre_sans_etre_convie_403(ide, monde):
    evenement = rendez_vous(monde, "medecin")
    avant = _etat()
    reponse = _envoyer(
        ide, "post", f"/api/v1/agenda/evenements/{evenement.uuid}/reponse/", {"statut": "accepted"}
    )
    assert reponse.status_code == 403 and "convié" in reponse.json()["detail"]
    assert _etat() == avant


# --- Agenda du professionnel ----------------------------------------------------------------------


def test_agenda_du_professionnel_occupe_sans_acces(client, monde):
    medecin = en_tant_que(client, monde, "medecin")
    evenement = rendez_vous(monde, "ide", invites=[services.Invite(monde.acteurs["medecin"].exercice)])
    reponse = medecin.get(f"/api/v1/agenda/{FENETRE}")
    assert reponse.status_code == 200
    (occurrence,) = reponse.json()
    assert occurrence["titre"] == "Soins à domicile" and occurrence["detail_visible"] is True
    # Le médecin quitte le cercle : le créneau reste dans son agenda, sans détail.
    cercle.retirer_membre(acteur=qui(monde, "usager"), membre=monde.membres["medecin"])
    (occupe,) = medecin.get(f"/api/v1/agenda/{FENETRE}").json()
    assert occupe["titre"] == "Occupé" and occupe["participants"] == [] and occupe["lieux"] == []
    assert occupe["evenement"] == str(evenement.uuid) and occupe["detail_visible"] is False


def test_agenda_du_professionnel_requetes_constantes(ide, monde):
    moi = services.Invite(monde.acteurs["ide"].exercice)

    def compter() -> int:
        with CaptureQueriesContext(connection) as requetes:
            assert ide.get(f"/api/v1/agenda/{FENETRE}").status_code == 200
        return len(requetes)

    rendez_vous(monde, "ide", invites=[moi])
    une = compter()
    for jour in range(15, 20):
        rendez_vous(monde, "ide", titre=f"Soins {jour}", debut=a_paris(2026, 12, jour, 9), invites=[moi])
    assert compter() == une


def test_agenda_du_professionnel_refuse_a_l_usager(client, monde):
    reponse = en_tant_que(client, monde, "usager").get(f"/api/v1/agenda/{FENETRE}")
    assert reponse.status_code == 403 and "professionnel" in reponse.json()["detail"]


# --- Réunions -------------------------------------------------------------------------------------


def _dans(jours: int, heure: int) -> dt.datetime:
    demain = dt.date.today() + dt.timedelta(days=jours)
    return a_paris(demain.year, demain.month, demain.day, heure)


def test_creneaux_puis_reunion_puis_reponse_et_contre_proposition(ide, client, monde):
    medecin = str(monde.membres["medecin"].uuid)
    corps = {
        "participants": [medecin],
        "duree_minutes": 45,
        "debut": _dans(3, 0).isoformat(),
        "fin": _dans(17, 0).isoformat(),
    }
    avant = _etat()
    resultat = _envoyer(ide, "post", f"{_base(monde)}creneaux/", corps)
    assert resultat.status_code == 200, resultat.content
    contenu = resultat.json()
    assert contenu["creneaux"] and contenu["complet"] is True and isinstance(contenu["message"], str)
    assert _etat() == avant, "chercher des créneaux n'écrit rien"
    choisi = contenu["creneaux"][0]["debut"]
    demande = _envoyer(
        ide,
        "post",
        f"{_base(monde)}reunions/",
        {"participants": [medecin], "titre": "Synthèse", "duree_minutes": 45, "horizon_debut": corps["debut"],
         "horizon_fin": corps["fin"], "date_limite": _dans(2, 12).isoformat(), "debut": choisi},
    )  # fmt: skip
    assert demande.status_code == 201, demande.content
    uuid_demande = demande.json()["uuid"]
    assert demande.json()["evenement"]["statut"] == StatutEvenement.EN_ATTENTE
    client.logout()
    medecin_client = en_tant_que(client, monde, "medecin")
    proposition = _envoyer(
        medecin_client,
        "post",
        f"/api/v1/agenda/reunions/{uuid_demande}/contre-proposition/",
        {"debut": _dans(5, 15).isoformat(), "commentaire": "Plutôt l'après-midi."},
    )
    assert proposition.status_code == 201, proposition.content
    reponse = _envoyer(
        medecin_client, "post", f"/api/v1/agenda/reunions/{uuid_demande}/reponse/", {"statut": "accepted"}
    )
    assert reponse.status_code == 200, reponse.content
    assert reponse.json()["statut"] == "reservee"
    assert DemandeReunion.objects.get(uuid=uuid_demande).evenement.statut == StatutEvenement.RESERVE


def test_reunion_demandee_par_un_usager_refusee(client, monde):
    usager = en_tant_que(client, monde, "usager")
    avant = _etat()
    reponse = _envoyer(
        usager,
        "post",
        f"{_base(monde)}creneaux/",
        {"duree_minutes": 30, "debut": _dans(3, 0).isoformat(), "fin": _dans(10, 0).isoformat()},
    )
    assert reponse.status_code == 403 and "professionnel" in reponse.json()["detail"]
    assert _etat() == avant


def test_reunion_inconnue_404(ide):
    reponse = _envoyer(ide, "post", "/api/v1/agenda/reunions/pas-un-uuid/reponse/", {"statut": "accepted"})
    assert reponse.status_code == 404


# --- Schéma ---------------------------------------------------------------------------------------


def test_schema_openapi_decrit_l_agenda(ide):
    reponse = ide.get("/api/schema/?format=json")
    assert reponse.status_code == 200
    chemins = reponse.json()["paths"]
    for chemin in (
        "/api/v1/usagers/{uuid_usager}/agenda/",
        "/api/v1/agenda/",
        "/api/v1/agenda/evenements/{uuid_evenement}/",
        "/api/v1/agenda/reunions/{uuid_demande}/contre-proposition/",
    ):
        assert chemin in chemins, sorted(chemins)
    assert "Occupé" in chemins["/api/v1/agenda/"]["get"]["summary"]
