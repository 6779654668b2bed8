"""Synchronisation CalDAV bidirectionnelle contre un vrai Radicale (ADR 0024) : un événement créé
« sur le téléphone » devient une occupation, les événements du portail y figurent une seule fois,
mises à jour et annulations sans doublon, échos de nos envois jamais réimportés, jeton périmé qui
converge, erreurs en français ; puis les règles de `planifier` en tests purs (sans serveur)."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from agenda.synchronisation import DISTANT, PORTAIL, Envoi, Lien, Local, planifier, synchroniser
from coordination.echanges.caldav import CalendrierDistant, Changements, ElementDistant, ErreurCalDAV
from sandbox.radicale import ServeurRadicale
from tests.radicale import calendrier_radicale, radicale  # noqa: F401

PARIS = ZoneInfo("Europe/Paris")
ECHANTILLONS = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "ics"


def ics_portail(
    uid: str, debut: datetime, *, sequence: int = 0, titre: str = "Réunion de coordination"
) -> bytes:
    calendrier = icalendar.Calendar()
    calendrier.add("prodid", "-//Portail de coordination//FR")
    calendrier.add("version", "2.0")
    evenement = icalendar.Event()
    evenement.add("uid", uid)
    evenement.add("dtstamp", datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("UTC")))
    evenement.add("dtstart", debut)
    evenement.add("dtend", debut + timedelta(hours=1))
    evenement.add("sequence", sequence)
    evenement.add("summary", titre)
    calendrier.add_component(evenement)
    return calendrier.to_ical()


def local(uid: str, version: int = 0, *, heure: int = 10, annule: bool = False) -> Local:
    debut = datetime(2026, 12, 14, heure, tzinfo=PARIS)
    return Local(uid, version, ics_portail(uid, debut, sequence=version), annule)


def debut_de(element: ElementDistant) -> datetime:
    return icalendar.Calendar.from_ical(element.ics).walk("VEVENT")[0].decoded("DTSTART")


def echantillon(nom: str) -> str:
    chemin = ECHANTILLONS / nom
    if not chemin.exists():
        pytest.skip(f"échantillon {nom} absent")
    return chemin.read_text()


# --- Côté serveur : le téléphone du professionnel ----------------------------------------------


@pytest.fixture
def telephone(radicale, calendrier_radicale):  # noqa: F811
    """Le calendrier vu par le client CalDAV du téléphone (la bibliothèque caldav, directement)."""
    client = caldav.DAVClient(
        url=calendrier_radicale, username=radicale.utilisateur, password=radicale.mot_de_passe, timeout=10
    )
    return client.calendar(url=calendrier_radicale)


@pytest.fixture
def distant(radicale, calendrier_radicale) -> CalendrierDistant:  # noqa: F811
    return CalendrierDistant(calendrier_radicale, radicale.utilisateur, radicale.mot_de_passe)


def ressources(distant: CalendrierDistant, uid: str) -> list[ElementDistant]:
    return [element for element in distant.lister() if element.uid == uid]


# --- Le serveur du bac à sable -----------------------------------------------------------------


def test_radicale_demarre_vite_et_s_arrete(tmp_path):
    with ServeurRadicale.demarrer(tmp_path) as serveur:
        assert serveur.en_marche
        assert serveur.duree_demarrage < 10, f"Radicale a mis {serveur.duree_demarrage:.2f} s à démarrer"
        print(f"\nRadicale prêt en {serveur.duree_demarrage:.3f} s")
        url = serveur.url_calendrier("agenda")
        assert url == serveur.url_calendrier("agenda")  # déjà créé : même URL, pas d'erreur
        assert CalendrierDistant(url, serveur.utilisateur, serveur.mot_de_passe).lister() == []
    assert not serveur.en_marche
    assert "professionnel:" in (tmp_path / "utilisateurs").read_text()


# --- Adaptateur --------------------------------------------------------------------------------


def test_ecrire_cree_une_seule_ressource_par_uid(distant):
    ics = ics_portail("rdv-1@portail", datetime(2026, 12, 14, 10, tzinfo=PARIS))
    ecrit = distant.ecrire("rdv-1@portail", ics)
    assert ecrit.href == distant.href_pour("rdv-1@portail")
    with pytest.raises(ErreurCalDAV, match="modifié entre-temps") as exc:
        distant.ecrire("rdv-1@portail", ics)  # création d'un UID déjà présent : refusée (412)
    assert exc.value.code == "conflit"
    remplace = distant.ecrire(
        "rdv-1@portail",
        ics_portail("rdv-1@portail", datetime(2026, 12, 15, 9, tzinfo=PARIS)),
        etag=ecrit.etag,
    )
    assert remplace.etag != ecrit.etag
    with pytest.raises(ErreurCalDAV, match="modifié entre-temps"):
        distant.ecrire("rdv-1@portail", ics, etag=ecrit.etag)  # ETag périmé
    [seul] = ressources(distant, "rdv-1@portail")
    assert seul.etag == remplace.etag and debut_de(seul) == datetime(2026, 12, 15, 9, tzinfo=PARIS)
    distant.supprimer(seul.href)
    distant.supprimer(seul.href)  # déjà disparu : pas une erreur
    assert distant.lister() == []


def test_uid_etrange_adresse_stable_et_sure(distant):
    uid = "../../autre/événement 42"
    ecrit = distant.ecrire(uid, ics_portail(uid, datetime(2026, 12, 14, 10, tzinfo=PARIS)))
    assert ecrit.href.startswith(distant.href_pour("x").rsplit("/", 1)[0] + "/portail-")
    assert [e.uid for e in distant.lister()] == [uid]


def test_contenu_refuse_avant_envoi(distant):
    with pytest.raises(ErreurCalDAV, match="UID « a »"):
        distant.ecrire("a", ics_portail("b", datetime(2026, 12, 14, 10, tzinfo=PARIS)))
    with pytest.raises(ErreurCalDAV, match="iCalendar lisible"):
        distant.ecrire("a", b"pas du tout un calendrier")
    assert distant.lister() == []


def test_mauvais_mot_de_passe(radicale, calendrier_radicale):  # noqa: F811
    mauvais = CalendrierDistant(calendrier_radicale, radicale.utilisateur, "pas-le-bon")
    with pytest.raises(ErreurCalDAV, match="authentification refusée") as exc:
        mauvais.changements(None)
    assert exc.value.code == "authentification"
    with pytest.raises(ErreurCalDAV, match="authentification refusée"):
        synchroniser(mauvais, [local("a")], [], None)


def test_calendrier_introuvable(radicale):  # noqa: F811
    absent = CalendrierDistant(
        f"{radicale.url}{radicale.utilisateur}/absent/", radicale.utilisateur, radicale.mot_de_passe
    )
    with pytest.raises(ErreurCalDAV, match="Calendrier introuvable") as exc:
        absent.changements(None)
    assert exc.value.code == "introuvable"


def test_serveur_arrete_injoignable(tmp_path):
    with ServeurRadicale.demarrer(tmp_path) as serveur:
        calendrier = CalendrierDistant(
            serveur.url_calendrier("agenda"), serveur.utilisateur, serveur.mot_de_passe, delai=2
        )
    with pytest.raises(ErreurCalDAV, match="injoignable") as exc:
        synchroniser(calendrier, [local("a")], [], None)
    assert exc.value.code == "injoignable"


def test_identifiants_jamais_dans_l_url_ni_le_repr():
    with pytest.raises(ErreurCalDAV, match="ne doit pas contenir d'identifiant"):
        CalendrierDistant("https://moi:secret@agenda.example/cal/", "moi", "secret")
    with pytest.raises(ErreurCalDAV, match="https://"):
        CalendrierDistant("ftp://agenda.example/cal/", "moi", "secret")
    assert "secret" not in repr(CalendrierDistant("https://agenda.example/cal", "moi", "secret"))


# --- Synchronisation de bout en bout -----------------------------------------------------------


def test_aller_retour_complet(distant, telephone):
    # Le professionnel crée un événement sur son téléphone (export Thunderbird réel, récurrent).
    telephone.save_event(echantillon("issue_223_thunderbird.ics"))
    uid_distant = "b143dcdc-2154-49a8-abea-5c64310ebabd"

    plan, liens, jeton = synchroniser(distant, [], [], None)
    assert [e.uid for e in plan.occupations_a_importer] == [uid_distant]
    assert plan.a_envoyer == () and plan.conflits == ()
    assert [(lien.uid, lien.origine) for lien in liens] == [(uid_distant, DISTANT)]

    # Trois événements du portail : présents là-bas, une seule fois chacun.
    locaux = [
        local("reunion-1@portail"),
        local("reunion-2@portail", heure=11),
        local("reunion-3@portail", heure=14),
    ]
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert sorted(envoi.local.uid for envoi in plan.a_envoyer) == [ev.uid for ev in locaux]
    assert plan.occupations_a_importer == ()
    for ev in locaux:
        assert len(ressources(distant, ev.uid)) == 1
    assert len(distant.lister()) == 4

    # Deux passages sans changement : plan vide (nos envois renvoyés par le jeton sont des échos).
    for _ in range(2):
        plan, liens_apres, jeton = synchroniser(distant, locaux, liens, jeton)
        assert plan.vide, plan
        assert liens_apres == liens

    # Mise à jour au portail (nouvel horaire, SEQUENCE+1) : toujours une seule ressource.
    locaux[0] = local("reunion-1@portail", 1, heure=16)
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert [(e.local.uid, e.etag is not None) for e in plan.a_envoyer] == [("reunion-1@portail", True)]
    [seule] = ressources(distant, "reunion-1@portail")
    assert debut_de(seule) == datetime(2026, 12, 14, 16, tzinfo=PARIS)

    # Annulation au portail : supprimé là-bas, sans doublon, lien oublié.
    locaux[1] = local("reunion-2@portail", 1, heure=11, annule=True)
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert [lien.uid for lien in plan.a_supprimer_la_bas] == ["reunion-2@portail"]
    assert ressources(distant, "reunion-2@portail") == []
    assert "reunion-2@portail" not in {lien.uid for lien in liens}
    assert synchroniser(distant, locaux, liens, jeton)[0].vide

    # L'événement du téléphone est modifié là-bas : réimporté comme mise à jour, pas en double.
    evenement = telephone.event_by_uid(uid_distant)
    evenement.icalendar_component["SUMMARY"] = "Visite déplacée"
    evenement.save()
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert [e.uid for e in plan.occupations_a_importer] == [uid_distant]
    assert b"Visite d\xc3\xa9plac\xc3\xa9e" in plan.occupations_a_importer[0].ics
    assert plan.a_envoyer == () and plan.occupations_a_retirer == ()
    assert [lien.uid for lien in liens].count(uid_distant) == 1

    # Supprimé là-bas : l'occupation est à retirer, le lien oublié.
    telephone.event_by_uid(uid_distant).delete()
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert plan.occupations_a_retirer == (uid_distant,)
    assert plan.occupations_a_importer == () and plan.a_envoyer == ()
    assert uid_distant not in {lien.uid for lien in liens}
    assert synchroniser(distant, locaux, liens, jeton)[0].vide


def test_jeton_perime_liste_complete_qui_converge(distant, telephone):
    telephone.save_event(echantillon("each_week_but_two_deleted.ics"))
    telephone.save_event(echantillon("duration_edited.ics"))
    locaux = [local("a@portail"), local("b@portail")]
    _, liens, jeton = synchroniser(distant, locaux, [], None)
    assert len(liens) == 4

    jeton_perime = "http://radicale.org/ns/sync/" + "0" * 64
    assert distant.changements(jeton_perime).complet
    plan, liens_apres, jeton = synchroniser(distant, locaux, liens, jeton_perime)
    assert plan.vide, plan  # tout est reconnu à l'ETag : rien à refaire
    assert liens_apres == liens

    # Pendant que le jeton était perdu : un événement distant et un du portail supprimés là-bas.
    telephone.event_by_uid("SX2CURHKFTKKFFU3VUD7K").delete()
    distant.supprimer(distant.href_pour("a@portail"))
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton_perime)
    assert plan.occupations_a_retirer == ("SX2CURHKFTKKFFU3VUD7K",)
    assert [e.local.uid for e in plan.a_envoyer] == ["a@portail"]  # recréé : le portail fait foi
    assert any("supprimé sur le calendrier distant" in c for c in plan.conflits)
    assert sorted(e.uid for e in distant.lister()) == [
        "5d4c6843-9300-4f91-8d88-6094d4b0b840",
        "a@portail",
        "b@portail",
    ]
    assert synchroniser(distant, locaux, liens, jeton)[0].vide


def test_evenement_du_portail_modifie_la_bas_est_remplace(distant, telephone):
    locaux = [local("c@portail")]
    _, liens, jeton = synchroniser(distant, locaux, [], None)
    evenement = telephone.event_by_uid("c@portail")
    evenement.icalendar_component["SUMMARY"] = "Changé sur le téléphone"
    evenement.save()
    plan, liens, jeton = synchroniser(distant, locaux, liens, jeton)
    assert plan.occupations_a_importer == ()  # jamais une occupation : c'est un événement du portail
    assert plan.conflits == (
        "« c@portail » a été modifié sur le calendrier distant : la version du portail le remplace.",
    )
    [seule] = ressources(distant, "c@portail")
    assert "Changé sur le téléphone".encode() not in seule.ics
    assert "Réunion de coordination".encode() in seule.ics
    assert synchroniser(distant, locaux, liens, jeton)[0].vide


def test_lien_perdu_repris_sans_doublon(distant):
    locaux = [local("d@portail")]
    synchroniser(distant, locaux, [], None)
    # La base a perdu le lien (restauration…) : on ne recrée pas une seconde ressource.
    plan, liens, _ = synchroniser(distant, [local("d@portail", 1, heure=8)], [], None)
    assert [e.local.uid for e in plan.a_envoyer] == ["d@portail"] and plan.conflits == ()
    [seule] = ressources(distant, "d@portail")
    assert debut_de(seule) == datetime(2026, 12, 14, 8, tzinfo=PARIS)
    assert liens[0].etag == seule.etag and liens[0].origine == PORTAIL


# --- Planification pure (sans serveur) ---------------------------------------------------------


def element(uid: str, etag: str, *, href: str | None = None, proprietes: str = "") -> ElementDistant:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//FR\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261214T090000Z\r\nDTEND:20261214T100000Z\r\n"
        f"{proprietes}END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    return ElementDistant(href or f"/cal/{uid}.ics", etag, uid, ics)


def changements(
    *modifies: ElementDistant, supprimes: tuple[str, ...] = (), complet: bool = False
) -> Changements:
    return Changements("jeton-2", tuple(modifies), supprimes, complet)


def lien(uid: str, etag: str = '"e1"', origine: str = PORTAIL, version: int = 0) -> Lien:
    return Lien(uid, f"/cal/{uid}.ics", etag, origine, version)


def test_planifier_echo_de_nos_envois_ignore():
    plan = planifier([local("p")], [lien("p")], changements(element("p", '"e1"')))
    assert plan.vide


def test_planifier_modification_la_bas_d_un_evenement_du_portail():
    plan = planifier([local("p")], [lien("p")], changements(element("p", '"e2"')))
    assert plan.a_envoyer == (Envoi(local("p"), '"e2"'),)
    assert plan.occupations_a_importer == ()
    assert plan.conflits == (
        "« p » a été modifié sur le calendrier distant : la version du portail le remplace.",
    )


def test_planifier_suppression_la_bas_d_un_evenement_du_portail_le_recree():
    plan = planifier([local("p")], [lien("p")], changements(supprimes=("/cal/p.ics",)))
    assert plan.a_envoyer == (Envoi(local("p"), None),)
    assert "supprimé sur le calendrier distant" in plan.conflits[0]
    # … sauf s'il est annulé ou retiré au portail : on oublie simplement le lien.
    for locaux in ([local("p", 1, annule=True)], []):
        plan = planifier(locaux, [lien("p")], changements(supprimes=("/cal/p.ics",)))
        assert plan.a_envoyer == () and plan.a_supprimer_la_bas == () and plan.liens_a_oublier == ("p",)


def test_planifier_annule_ou_retire_au_portail_supprime_la_bas():
    plan = planifier([local("p", 1, annule=True)], [lien("p"), lien("q")], changements())
    assert {li.uid for li in plan.a_supprimer_la_bas} == {"p", "q"}
    assert plan.a_envoyer == ()
    assert planifier([local("r", annule=True)], [], changements()).vide  # jamais envoyé : rien


def test_planifier_version_locale():
    assert planifier([local("p", 2)], [lien("p", version=2)], changements()).vide
    plan = planifier([local("p", 3)], [lien("p", version=2)], changements())
    assert plan.a_envoyer == (Envoi(local("p", 3), '"e1"'),) and plan.conflits == ()


def test_planifier_evenements_distants():
    liens = [lien("d", origine=DISTANT)]
    assert planifier([], liens, changements(element("d", '"e1"'))).vide
    plan = planifier([], liens, changements(element("d", '"e2"'), element("n", '"x"')))
    assert [e.uid for e in plan.occupations_a_importer] == ["d", "n"]
    for proprietes in ("STATUS:CANCELLED\r\n", "TRANSP:TRANSPARENT\r\n"):
        plan = planifier([], liens, changements(element("d", '"e3"', proprietes=proprietes)))
        assert plan.occupations_a_retirer == ("d",) and plan.occupations_a_importer == ()
        plan = planifier([], [], changements(element("n", '"x"', proprietes=proprietes)))
        assert plan.vide  # jamais importé
    plan = planifier([], liens, changements(supprimes=("/cal/d.ics",)))
    assert plan.occupations_a_retirer == ("d",) and plan.liens_a_oublier == ("d",)


def test_planifier_liste_complete_reconcilie():
    liens = [lien("p"), lien("d", origine=DISTANT), lien("e", origine=DISTANT)]
    plan = planifier([local("p")], liens, changements(element("e", '"e1"'), complet=True))
    assert plan.occupations_a_retirer == ("d",)
    assert plan.a_envoyer == (Envoi(local("p"), None),)
    assert plan.occupations_a_importer == ()


def test_planifier_meme_adresse_autre_uid():
    plan = planifier([], [lien("d", origine=DISTANT)], changements(element("n", '"x"', href="/cal/d.ics")))
    assert plan.occupations_a_retirer == ("d",)
    assert [e.uid for e in plan.occupations_a_importer] == ["n"]


def test_planifier_refus_en_francais():
    with pytest.raises(ValidationError, match="même UID"):
        planifier([local("p"), local("p")], [], changements())
    with pytest.raises(ValidationError, match="Origine de lien inconnue"):
        Lien("p", "/cal/p.ics", '"e"', "ailleurs")
    plan = planifier([local("d")], [lien("d", origine=DISTANT)], changements())
    assert plan.a_envoyer == () and "vient du calendrier distant" in plan.conflits[0]


def test_uid_aleatoire_reste_distinct():
    assert local(str(uuid.uuid4())).uid != local(str(uuid.uuid4())).uid


def test_serveur_muet_delai_depasse():
    import socket
    import time

    with socket.socket() as muet:  # accepte la connexion (file d'attente du noyau) mais ne répond jamais
        muet.bind(("127.0.0.1", 0))
        muet.listen(4)
        port = muet.getsockname()[1]
        calendrier = CalendrierDistant(f"http://127.0.0.1:{port}/cal/", "moi", "secret", delai=0.3)
        debut = time.monotonic()
        with pytest.raises(ErreurCalDAV, match="délai de 0.3 s") as exc:
            calendrier.changements(None)
        assert exc.value.code == "delai"
        assert time.monotonic() - debut < 5


def test_mot_de_passe_jamais_journalise(radicale, calendrier_radicale, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    distant = CalendrierDistant(calendrier_radicale, radicale.utilisateur, radicale.mot_de_passe)
    synchroniser(distant, [local("j@portail")], [], None)
    with pytest.raises(ErreurCalDAV):
        CalendrierDistant(calendrier_radicale, radicale.utilisateur, "faux-" + radicale.mot_de_passe).lister()
    assert caplog.records  # la bibliothèque et l'adaptateur ont bien journalisé
    assert radicale.mot_de_passe not in caplog.text
    assert "Authorization" not in caplog.text


_UIDS = st.sampled_from(["a", "b", "c", "d", "e"])


@st.composite
def situations(draw):
    """Un état quelconque : événements du portail, liens retenus, changements lus là-bas."""
    locaux = {
        uid: local(uid, draw(st.integers(0, 3)), annule=draw(st.booleans()))
        for uid in draw(st.sets(_UIDS, max_size=5))
    }
    liens = [
        lien(
            uid,
            draw(st.sampled_from(['"e1"', '"e2"'])),
            draw(st.sampled_from([PORTAIL, DISTANT])),
            draw(st.integers(0, 3)),
        )
        for uid in draw(st.sets(_UIDS, max_size=5))
    ]
    modifies = [
        element(
            uid,
            draw(st.sampled_from(['"e1"', '"e2"'])),
            proprietes=draw(st.sampled_from(["", "STATUS:CANCELLED\r\n"])),
        )
        for uid in draw(st.sets(_UIDS, max_size=5))
    ]
    vus = {e.href for e in modifies}
    supprimes = tuple(
        f"/cal/{uid}.ics" for uid in draw(st.sets(_UIDS, max_size=3)) if f"/cal/{uid}.ics" not in vus
    )
    return (
        list(locaux.values()),
        liens,
        changements(*modifies, supprimes=supprimes, complet=draw(st.booleans())),
    )


@settings(max_examples=300, deadline=None)
@given(situations())
def test_planifier_invariants(situation):
    locaux, liens, chgts = situation
    plan = planifier(locaux, liens, chgts)
    envoyes = [e.local.uid for e in plan.a_envoyer]
    supprimes_la_bas = [li.uid for li in plan.a_supprimer_la_bas]
    importes = [e.uid for e in plan.occupations_a_importer]
    # Jamais deux actions pour un même UID, jamais un doublon.
    assert len(envoyes) == len(set(envoyes)) and len(importes) == len(set(importes))
    assert not set(envoyes) & set(supprimes_la_bas)
    assert not set(importes) & set(plan.occupations_a_retirer)
    # On n'envoie que des événements du portail non annulés ; on n'importe jamais un UID du portail.
    annules = {loc.uid for loc in locaux if loc.annule}
    assert not set(envoyes) & annules
    distants = {li.uid for li in liens if li.origine == DISTANT}
    portail = ({loc.uid for loc in locaux} - distants) | {li.uid for li in liens if li.origine == PORTAIL}
    assert not set(importes) & portail
    # Une création (sans ETag) ne vise jamais un UID que l'on sait présent là-bas.
    presents = {e.uid for e in chgts.modifies}
    assert not {e.local.uid for e in plan.a_envoyer if e.etag is None} & presents


_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["portail_cree_ou_modifie", "portail_annule", "portail_retire", "telephone_cree",
             "telephone_modifie", "telephone_supprime", "jeton_perdu"]
        ),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=8,
)  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(_OPERATIONS)
def test_convergence_sans_doublon_sur_radicale(radicale, operations):  # noqa: F811
    """Suites d'opérations quelconques des deux côtés, une synchronisation après chacune : jamais
    deux ressources pour un UID, le portail et les occupations concordent, et un second passage
    n'a plus rien à faire."""
    url = radicale.url_calendrier(f"convergence-{uuid.uuid4().hex[:8]}")
    distant = CalendrierDistant(url, radicale.utilisateur, radicale.mot_de_passe)
    telephone = caldav.DAVClient(
        url=url, username=radicale.utilisateur, password=radicale.mot_de_passe, timeout=10
    )
    telephone = telephone.calendar(url=url)
    locaux: dict[str, Local] = {}
    occupations: dict[str, bytes] = {}
    liens: tuple[Lien, ...] = ()
    jeton = None
    for operation, numero in operations:
        uid_portail, uid_tel = f"p{numero}@portail", f"t{numero}@telephone"
        if operation == "portail_cree_ou_modifie":
            precedent = locaux.get(uid_portail)
            locaux[uid_portail] = local(
                uid_portail, precedent.version + 1 if precedent else 0, heure=8 + numero
            )
        elif operation == "portail_annule" and uid_portail in locaux:
            locaux[uid_portail] = dataclasses.replace(locaux[uid_portail], annule=True)
        elif operation == "portail_retire":
            locaux.pop(uid_portail, None)
        elif operation == "telephone_cree" and not any(e.uid == uid_tel for e in distant.lister()):
            telephone.save_event(ics_portail(uid_tel, datetime(2026, 12, 15, 9, tzinfo=PARIS)).decode())
        elif operation == "telephone_modifie" and any(e.uid == uid_tel for e in distant.lister()):
            evenement = telephone.event_by_uid(uid_tel)
            evenement.icalendar_component["SUMMARY"] = f"Modifié {uuid.uuid4().hex[:6]}"
            evenement.save()
        elif operation == "telephone_supprime" and any(e.uid == uid_tel for e in distant.lister()):
            telephone.event_by_uid(uid_tel).delete()
        elif operation == "jeton_perdu":
            jeton = "http://radicale.org/ns/sync/" + "0" * 64

        plan, liens, jeton = synchroniser(distant, locaux.values(), liens, jeton)
        for uid in plan.occupations_a_retirer:
            occupations.pop(uid, None)
        for element in plan.occupations_a_importer:
            occupations[element.uid] = element.ics

        la_bas = distant.lister()
        uids = [e.uid for e in la_bas]
        assert len(uids) == len(set(uids)), f"doublon après {operation} : {uids}"
        publies = {uid for uid, loc in locaux.items() if not loc.annule}
        assert {u for u in uids if u.endswith("@portail")} == publies
        assert set(occupations) == {u for u in uids if u.endswith("@telephone")}
        for e in la_bas:
            if e.uid in occupations:
                assert occupations[e.uid] == e.ics  # occupation à jour, mise à jour sur place
        assert synchroniser(distant, locaux.values(), liens, jeton)[0].vide
