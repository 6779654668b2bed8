"""API FHIR de l'agenda d'un professionnel (volet GAP 3.0.0 ; docs/decisions/0025-agenda-api-fhir-gap.md) :
Schedule (plages et absences en extensions fr-core-schedule-availability-time), Slot calculés libres et
occupés (autour d'un rendez-vous, d'une absence, d'un changement d'heure), erreurs en français, nombre
de requêtes constant, déclaration dans /fhir/metadata, validation par fhir.resources."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from agenda import services
from agenda.models import Disponibilite, MotifAbsence
from agenda.services import Invite
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as EvenementJournal
from tests.factories import ExerciceFactory, StructureFactory, connecter
from tests.fhir_outils import appel, logiciel, oo
from tests.monde_agenda import a_paris, construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db

EXT = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-schedule-availability-time"
PROFIL_SCHEDULE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-schedule"
PROFIL_SLOT = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-slot"
# Semaine du passage à l'heure d'été (dimanche 31 mars 2030), sans jour férié.
FENETRE_ETE = "earliestStart=ge2030-03-28&latestStart=lt2030-04-04"
FENETRE_MARS = "earliestStart=ge2030-03-01&latestStart=lt2030-04-01"


@pytest.fixture
def monde():
    return construire_monde_agenda()


def _session(client, monde, nom: str = "ide"):
    acteur = monde.acteurs[nom]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return acteur


def _sous(extension: dict) -> dict:
    """Sous-extensions par url (une liste pour byDay de la règle)."""
    resultat: dict = {}
    for sous in extension["extension"]:
        valeur = next(v for k, v in sous.items() if k != "url")
        resultat.setdefault(sous["url"], []).append(valeur)
    return {url: valeurs[0] if len(valeurs) == 1 else valeurs for url, valeurs in resultat.items()}


def _prochain_jour_ouvre(jour: dt.date) -> dt.date:
    while jour.weekday() > 4:
        jour += dt.timedelta(days=1)
    return jour


def _deux_plages_et_un_conge(monde):
    ide = qui(monde, "ide")
    matin = services.ajouter_disponibilite(
        acteur=ide, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(9), heure_fin=dt.time(12)
    )
    mercredi = services.ajouter_disponibilite(
        acteur=ide, jours=[2], heure_debut=dt.time(14), heure_fin=dt.time(17), pour_cette_structure=True,
        du=dt.date(2030, 1, 7), au=dt.date(2030, 6, 30), toutes_les_n_semaines=2,
    )  # fmt: skip
    conge = services.ajouter_absence(
        acteur=ide, debut=a_paris(2030, 2, 11), fin=a_paris(2030, 2, 16), motif=MotifAbsence.FORMATION
    )
    return matin, mercredi, conge


def test_schedule_plages_et_absence_en_extensions_fr_core(client, monde):
    matin, mercredi, conge = _deux_plages_et_un_conge(monde)
    ide = _session(client, monde)
    professionnel = ide.exercice.professionnel
    reponse = appel(client, "GET", f"/fhir/Schedule/{professionnel.uuid}")
    assert reponse.status_code == 200, reponse.content
    contenu = reponse.json()
    Schedule.model_validate(contenu)
    assert contenu["meta"]["profile"] == [PROFIL_SCHEDULE]
    assert {"reference": f"Practitioner/{professionnel.uuid}"}.items() <= contenu["actor"][0].items()
    assert f"PractitionerRole/{ide.exercice.uuid}" in [a["reference"] for a in contenu["actor"]]
    assert {e["url"] for e in contenu["extension"]} == {EXT}
    par_id = {_sous(e)["identifier"]["value"]: _sous(e) for e in contenu["extension"]}
    assert set(par_id) == {f"urn:uuid:{matin.uuid}", f"urn:uuid:{mercredi.uuid}", f"urn:uuid:{conge.uuid}"}

    # Plage sans date de début : première occurrence à partir du jour de sa création, heure de Paris.
    premier = _prochain_jour_ouvre(timezone.localdate(matin.cree_le))
    plage = par_id[f"urn:uuid:{matin.uuid}"]
    assert plage["type"]["code"] == "free"
    assert plage["type"]["system"] == "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-schedule-type"
    assert (plage["start"], plage["end"]) == (
        a_paris(premier.year, premier.month, premier.day, 9).isoformat(),
        a_paris(premier.year, premier.month, premier.day, 12).isoformat(),
    )
    regle = _sous({"extension": plage["rrule"]})
    assert regle["freq"] == {"system": "https://www.ietf.org/rfc/rfc2445", "code": "WEEKLY"}
    assert regle["byDay"] == ["MO", "TU", "WE", "TH", "FR"]
    assert "interval" not in regle and "until" not in regle

    # Plage d'une structure, une semaine sur deux, bornée : DTSTART au premier mercredi, UNTIL en heure d'été.
    plage = par_id[f"urn:uuid:{mercredi.uuid}"]
    assert (plage["start"], plage["end"]) == ("2030-01-09T14:00:00+01:00", "2030-01-09T17:00:00+01:00")
    regle = _sous({"extension": plage["rrule"]})
    assert regle["interval"] == 2
    assert regle["byDay"] == "WE"
    assert regle["until"] == "2030-06-30T17:00:00+02:00"

    # Congé : indisponibilité, sans son motif (l'agenda FHIR est lu aussi par le DUI de ses structures).
    absence = par_id[f"urn:uuid:{conge.uuid}"]
    assert absence["type"]["code"] == "busy-unavailable"
    assert (absence["start"], absence["end"]) == ("2030-02-11T00:00:00+01:00", "2030-02-16T00:00:00+01:00")
    assert "unavailabilityReason" not in absence
    assert "formation" not in str(contenu)


def test_schedule_sans_plage_publie_les_heures_par_defaut(client, monde):
    ide = _session(client, monde)
    contenu = appel(client, "GET", f"/fhir/Schedule/{ide.exercice.professionnel.uuid}").json()
    Schedule.model_validate(contenu)
    [defaut] = [_sous(e) for e in contenu["extension"]]
    assert defaut["identifier"]["value"] == "heures-par-defaut"
    premier = _prochain_jour_ouvre(timezone.localdate())
    assert (defaut["start"], defaut["end"]) == (
        a_paris(premier.year, premier.month, premier.day, 8).isoformat(),
        a_paris(premier.year, premier.month, premier.day, 19).isoformat(),
    )
    assert _sous({"extension": defaut["rrule"]})["byDay"] == ["MO", "TU", "WE", "TH", "FR"]


def test_schedule_recherche_par_actor_et_deux_structures(client, monde):
    """L'éducateur exerce au foyer et au SSIAD : un seul agenda, trouvé par l'une ou l'autre situation."""
    educateur = _session(client, monde, "educateur")
    professionnel = educateur.exercice.professionnel
    for acteur in (
        f"PractitionerRole/{monde.educateur_ssiad.uuid}",
        f"Practitioner/{professionnel.uuid}",
        str(professionnel.uuid),  # sans type : Practitioner ou PractitionerRole, une seule fois
        f"{monde.educateur_ssiad.uuid},{educateur.exercice.uuid}",
    ):
        trouve = appel(client, "GET", f"/fhir/Schedule?actor={acteur}").json()
        assert [e["resource"]["id"] for e in trouve["entry"]] == [str(professionnel.uuid)], acteur
        assert trouve["total"] == 1, acteur
    roles = [a["reference"] for a in trouve["entry"][0]["resource"]["actor"]]
    assert {
        f"PractitionerRole/{educateur.exercice.uuid}",
        f"PractitionerRole/{monde.educateur_ssiad.uuid}",
    } <= set(roles)
    ide = monde.acteurs["ide"].exercice
    assert appel(client, "GET", f"/fhir/Schedule?actor=PractitionerRole/{ide.uuid}").json()["total"] == 0


def _creneaux(client, monde, parametres: str = FENETRE_ETE) -> list[tuple[str, str, str]]:
    professionnel = monde.acteurs["ide"].exercice.professionnel
    reponse = appel(
        client, "GET", f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&{parametres}&_count=100"
    )
    assert reponse.status_code == 200, reponse.content
    contenu = reponse.json()
    for entree in contenu.get("entry", []):
        Slot.model_validate(entree["resource"])
        assert entree["resource"]["meta"]["profile"] == [PROFIL_SLOT]
        assert entree["resource"]["schedule"] == {"reference": f"Schedule/{professionnel.uuid}"}
    return [
        (e["resource"]["status"], e["resource"]["start"], e["resource"]["end"])
        for e in contenu.get("entry", [])
    ]


def test_creneaux_libres_et_occupes_autour_d_un_rendez_vous_d_un_conge_et_du_changement_d_heure(
    client, monde
):
    ide = qui(monde, "ide")
    services.ajouter_disponibilite(
        acteur=ide, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(9), heure_fin=dt.time(12)
    )
    services.ajouter_disponibilite(
        acteur=ide, jours=[2], heure_debut=dt.time(14), heure_fin=dt.time(17), pour_cette_structure=True
    )
    rendez_vous(monde, debut=a_paris(2030, 3, 29, 10), invites=[Invite(ide.exercice)])
    services.ajouter_absence(acteur=ide, debut=a_paris(2030, 4, 2), fin=a_paris(2030, 4, 3))
    _session(client, monde)
    assert _creneaux(client, monde) == [
        ("free", "2030-03-28T08:00:00.000Z", "2030-03-28T11:00:00.000Z"),  # jeudi, heure d'hiver (+01:00)
        ("free", "2030-03-29T08:00:00.000Z", "2030-03-29T09:00:00.000Z"),  # vendredi, avant le rendez-vous
        ("busy", "2030-03-29T09:00:00.000Z", "2030-03-29T09:45:00.000Z"),  # le rendez-vous de 10 h
        ("free", "2030-03-29T09:45:00.000Z", "2030-03-29T11:00:00.000Z"),
        ("free", "2030-04-01T07:00:00.000Z", "2030-04-01T10:00:00.000Z"),  # lundi, heure d'été (+02:00)
        ("busy", "2030-04-01T22:00:00.000Z", "2030-04-02T22:00:00.000Z"),  # congé du mardi
        ("free", "2030-04-03T07:00:00.000Z", "2030-04-03T10:00:00.000Z"),  # mercredi matin
        ("free", "2030-04-03T12:00:00.000Z", "2030-04-03T15:00:00.000Z"),  # plage de la structure, 14-17 h
    ]
    assert [c[0] for c in _creneaux(client, monde, FENETRE_ETE + "&status=busy")] == ["busy", "busy"]
    libres = _creneaux(client, monde, FENETRE_ETE + "&status=free")
    assert len(libres) == 6 and {c[0] for c in libres} == {"free"}
    # `start` standard : les créneaux sont rognés à la période cherchée (le rendez-vous commencé avant).
    assert _creneaux(
        client, monde, "start=ge2030-03-29T10:30:00%2B01:00&start=lt2030-03-29T12:00:00%2B01:00"
    ) == [
        ("busy", "2030-03-29T09:30:00.000Z", "2030-03-29T09:45:00.000Z"),
        ("free", "2030-03-29T09:45:00.000Z", "2030-03-29T11:00:00.000Z"),
    ]
    lecture = EvenementJournal.objects.filter(action="fhir.slot.recherche").first()
    assert lecture is not None and lecture.usager_uuid is None


def test_creneaux_pages_suivantes(client, monde):
    _session(client, monde)
    professionnel = monde.acteurs["ide"].exercice.professionnel
    chemin = f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&{FENETRE_ETE}&status=free&_count=2"
    premiere = appel(client, "GET", chemin).json()
    assert premiere["total"] == 5 and len(premiere["entry"]) == 2  # heures par défaut, lundi à vendredi
    suivant = next(lien["url"] for lien in premiere["link"] if lien["relation"] == "next")
    adresse = urlsplit(suivant)
    deuxieme = appel(client, "GET", f"{adresse.path}?{adresse.query}").json()
    assert [e["resource"]["start"] for e in deuxieme["entry"]] == [
        "2030-04-01T06:00:00.000Z",  # lundi 8 h, heure d'été
        "2030-04-02T06:00:00.000Z",
    ]
    assert appel(client, "GET", chemin + "&_curseur=abc").status_code == 400


@pytest.mark.parametrize(
    ("parametres", "extrait"),
    [
        (FENETRE_ETE, "schedule=Schedule/<id>"),
        ("schedule=Schedule/{id}&earliestStart=ge2030-01-01&latestStart=le2030-04-01", "62 jours au plus"),
        ("schedule=Schedule/{id}&earliestStart=le2030-01-01", "préfixe « le »"),
        ("schedule=Schedule/{id}&latestStart=lt2030-01-01&earliestStart=ge2030-02-01", "après son début"),
        ("schedule=Schedule/{id}&_id=x", "non pris en charge pour Slot"),
        ("schedule=Schedule/{id}&schedule=Schedule/{id}", "un et un seul agenda"),
    ],
)
def test_creneaux_requetes_invalides_400_en_francais(client, monde, parametres, extrait):
    _session(client, monde)
    professionnel = monde.acteurs["ide"].exercice.professionnel
    reponse = appel(client, "GET", "/fhir/Slot?" + parametres.replace("{id}", str(professionnel.uuid)))
    assert extrait in oo(reponse, 400)["issue"][0]["diagnostics"]


def test_nombre_de_requetes_constant_schedule_et_slot(client, monde):
    ide = qui(monde, "ide")
    _session(client, monde)
    professionnel = ide.exercice.professionnel
    services.ajouter_disponibilite(acteur=ide, jours=[0], heure_debut=dt.time(9), heure_fin=dt.time(12))
    services.ajouter_absence(acteur=ide, debut=a_paris(2030, 3, 1), fin=a_paris(2030, 3, 2))
    rendez_vous(monde, debut=a_paris(2030, 3, 4, 9), invites=[Invite(ide.exercice)])
    chemins = {
        "schedule": f"/fhir/Schedule?actor=Practitioner/{professionnel.uuid}",
        "slot": f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&earliestStart=ge2030-03-01"
        "&latestStart=lt2030-04-01&_count=100",
    }
    avant = {}
    for nom, chemin in chemins.items():
        appel(client, "GET", chemin)
        with CaptureQueriesContext(connection) as requetes:
            contenu = appel(client, "GET", chemin).json()
        avant[nom] = (len(requetes), contenu)
    for jour in range(2, 5):
        services.ajouter_disponibilite(
            acteur=ide, jours=[jour], heure_debut=dt.time(14), heure_fin=dt.time(16)
        )
        services.ajouter_absence(acteur=ide, debut=a_paris(2030, 3, 8 + jour), fin=a_paris(2030, 3, 9 + jour))
    for semaine in range(1, 4):
        rendez_vous(monde, debut=a_paris(2030, 3, 4 + 7 * semaine, 10), invites=[Invite(ide.exercice)])
    for nom, chemin in chemins.items():
        with CaptureQueriesContext(connection) as requetes:
            contenu = appel(client, "GET", chemin).json()
        assert len(requetes) == avant[nom][0], (nom, [q["sql"][:120] for q in requetes.captured_queries])
        if nom == "schedule":
            assert len(contenu["entry"][0]["resource"]["extension"]) > len(
                avant[nom][1]["entry"][0]["resource"]["extension"]
            )
        else:
            assert contenu["total"] > avant[nom][1]["total"]


def test_metadata_declare_schedule_et_slot(client):
    ressources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    assert ressources["Schedule"]["profile"] == PROFIL_SCHEDULE
    assert {i["code"] for i in ressources["Schedule"]["interaction"]} == {"read", "search-type"}
    assert "actor" in {p["name"] for p in ressources["Schedule"]["searchParam"]}
    slot = ressources["Slot"]
    assert slot["profile"] == PROFIL_SLOT
    assert {i["code"] for i in slot["interaction"]} == {"read", "search-type"}
    assert slot["searchInclude"] == ["Slot:schedule"]
    parametres = {p["name"]: p for p in slot["searchParam"]}
    assert {"schedule", "start", "earliestStart", "latestStart", "status"} <= set(parametres)
    assert parametres["earliestStart"]["definition"] == (
        "https://interop.esante.gouv.fr/ig/fhir/gap/SearchParameter/GAP-Slot-earliestStart"
    )


def test_creneaux_avec_leur_agenda_inclus(client, monde):
    """`_include=Slot:schedule` (exemple du volet GAP) : l'agenda une fois, en mode include."""
    ide = _session(client, monde)
    professionnel = ide.exercice.professionnel
    chemin = f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&{FENETRE_ETE}&_include=Slot:schedule"
    contenu = appel(client, "GET", chemin).json()
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in contenu["entry"]]
    assert modes == [("match", "Slot")] * 5 + [("include", "Schedule")]
    assert contenu["entry"][-1]["resource"]["id"] == str(professionnel.uuid)
    chaine = appel(
        client, "GET", f"/fhir/Slot?schedule.actor=Practitioner/{professionnel.uuid}&{FENETRE_ETE}"
    )
    assert "non pris en charge pour Slot" in oo(chaine, 400)["issue"][0]["diagnostics"]


def test_lecture_d_un_creneau_recalcule(client, monde):
    """Un Slot rendu par la recherche se relit tel quel ; pris depuis (un rendez-vous dedans), il n'existe
    plus (404) ; un id mal formé ou d'un autre agenda : 404."""
    ide = _session(client, monde)
    professionnel = ide.exercice.professionnel
    chemin = f"/fhir/Slot?schedule=Schedule/{professionnel.uuid}&{FENETRE_ETE}"
    entrees = appel(client, "GET", chemin).json()["entry"]
    libre = entrees[0]["resource"]  # jeudi 28 mars 2030, 8 h–19 h (heures par défaut)
    reponse = appel(client, "GET", f"/fhir/Slot/{libre['id']}")
    assert reponse.status_code == 200, reponse.content
    assert reponse.json() == libre | {"meta": reponse.json()["meta"]}
    Slot.model_validate(reponse.json())
    rendez_vous(monde, debut=a_paris(2030, 3, 28, 10), invites=[Invite(ide.exercice)])
    oo(appel(client, "GET", f"/fhir/Slot/{libre['id']}"), 404)
    occupe = next(e["resource"] for e in appel(client, "GET", chemin + "&status=busy").json()["entry"])
    assert appel(client, "GET", f"/fhir/Slot/{occupe['id']}").json()["status"] == "busy"
    autre = monde.acteurs["medecin"].exercice.professionnel.uuid
    for id_logique in ("pas-un-creneau", libre["id"].replace(str(professionnel.uuid), str(autre))):
        oo(appel(client, "GET", f"/fhir/Slot/{id_logique}"), 404)
    assert EvenementJournal.objects.filter(action="fhir.slot.lecture").count() == 2


def test_le_dui_d_une_structure_lit_les_agendas_de_ceux_qui_y_exercent(client, monde):
    """Le logiciel du SSIAD lit en libre / occupé l'agenda de chaque professionnel qui y exerce
    aujourd'hui (pas celui d'une situation d'exercice close, ni d'une autre structure), sans le
    détail des rendez-vous ; la recherche de tous ses agendas se fait en requêtes constantes."""
    ide = qui(monde, "ide")
    services.ajouter_disponibilite(acteur=ide, jours=[0], heure_debut=dt.time(9), heure_fin=dt.time(12))
    rendez_vous(
        monde, debut=a_paris(2030, 3, 4, 10), invites=[Invite(ide.exercice)], titre="Toilette secrète"
    )
    _, jeton = logiciel(client, structure=monde.ssiad)
    chemin = f"/fhir/Slot?schedule=Schedule/{ide.exercice.professionnel.uuid}&{FENETRE_MARS}"
    contenu = appel(client, "GET", chemin, jeton).json()
    assert "busy" in [e["resource"]["status"] for e in contenu["entry"]]
    assert "Toilette" not in str(contenu)

    def agendas() -> tuple[set[str], int]:
        with CaptureQueriesContext(connection) as requetes:
            contenu = appel(client, "GET", "/fhir/Schedule?_count=100", jeton).json()
        return {e["resource"]["id"] for e in contenu.get("entry", [])}, len(requetes)

    lus, requetes = agendas()
    assert str(ide.exercice.professionnel.uuid) in lus
    ailleurs = ExerciceFactory(structure=StructureFactory())
    parti = ExerciceFactory(structure=monde.ssiad, date_fin=timezone.localdate() - dt.timedelta(days=1))
    nouveaux = [ExerciceFactory(structure=monde.ssiad) for _ in range(3)]
    for exercice in nouveaux:
        Disponibilite.objects.create(
            professionnel=exercice.professionnel, jours=[1], heure_debut=dt.time(8), heure_fin=dt.time(10)
        )
    lus_apres, requetes_apres = agendas()
    assert lus_apres == lus | {str(e.professionnel.uuid) for e in nouveaux}
    assert (
        str(ailleurs.professionnel.uuid) not in lus_apres and str(parti.professionnel.uuid) not in lus_apres
    )
    assert requetes_apres == requetes
