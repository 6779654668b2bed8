"""Services du cahier de liaison : matrice acteur × visibilité × action (écrire, lire, répondre,
modifier, désactiver, accuser réception), refus sans aucune écriture, validation en français,
versions immuables, idempotence par identifiant d'émetteur, événements à notifier, journal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cahier_liaison import selectors
from cahier_liaison import services as cahier
from cahier_liaison.models import (
    EvenementCahier,
    Lecture,
    Note,
    Sollicitation,
    VersionNote,
)
from cercle.services import AccesRefuse
from coordination.journal.models import Evenement
from tests.monde_cahier import (
    ACTEURS,
    ATTENDU,
    MEMBRE_DE,
    VISIBILITES,
    construire_monde_cahier,
    note_de,
    peut_ecrire,
    peut_lire,
    qui,
    une_heure_avant,
)

pytestmark = pytest.mark.django_db

REFUS = (AccesRefuse, ValidationError)


@pytest.fixture
def monde():
    return construire_monde_cahier()


def photo() -> dict[str, int]:
    """Le nombre de lignes de chaque table que le cahier peut écrire (et du journal)."""
    return {
        modele.__name__: modele.objects.count()
        for modele in (Note, VersionNote, Sollicitation, EvenementCahier, Lecture, Evenement)
    }


def tenter(action) -> bool:
    """Vrai si l'action passe ; faux si elle est refusée, et alors rien n'a été écrit."""
    avant = photo()
    try:
        action()
    except REFUS:
        assert photo() == avant, "un refus a écrit quelque chose"
        return False
    return True


def comparer(obtenu: dict, attendu: dict) -> None:
    ecarts = {cle: (obtenu[cle], attendu[cle]) for cle in attendu if obtenu[cle] != attendu[cle]}
    assert not ecarts, f"écarts (obtenu, attendu) : {ecarts}"


# --- Matrice ------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_ecrire(monde, visibilite):
    obtenu, attendu = {}, {}
    for nom in ACTEURS:
        attendu[nom] = peut_ecrire(nom, visibilite)
        obtenu[nom] = tenter(lambda nom=nom: note_de(monde, nom, visibilite=visibilite))
    comparer(obtenu, attendu)
    # Chaque auteur (hors système) peut ensuite modifier sa propre note.
    auteurs = [nom for nom in ACTEURS if obtenu[nom] and nom != "systeme"]
    for note in Note.objects.filter(usager=monde.usager).exclude(auteur_type="systeme"):
        auteur = next(nom for nom in auteurs if selectors.est_auteur(qui(monde, nom), note))
        cahier.modifier_note(acteur=qui(monde, auteur), note=note, texte="Précision : toux grasse.")
    assert VersionNote.objects.count() == len(auteurs)


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_lire(monde, visibilite):
    note = note_de(monde, "systeme", visibilite=visibilite)
    obtenu = {nom: note in selectors.notes_visibles(qui(monde, nom), monde.usager) for nom in ACTEURS}
    comparer(obtenu, {nom: peut_lire(nom, visibilite) for nom in ACTEURS})
    assert {nom: selectors.peut_voir_note(qui(monde, nom), note) for nom in ACTEURS} == obtenu


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_repondre(monde, visibilite):
    note = note_de(monde, "systeme", visibilite=visibilite)
    obtenu = {}
    for nom in ACTEURS:
        obtenu[nom] = tenter(
            lambda nom=nom: cahier.repondre(
                acteur=qui(monde, nom),
                note=note,
                type="GEN",
                survenue_le=une_heure_avant(),
                texte="Bien noté.",
            )
        )
    comparer(obtenu, {nom: peut_ecrire(nom, visibilite) for nom in ACTEURS})
    # Une réponse garde la visibilité de la note d'origine.
    assert set(note.reponses.values_list("visibilite", flat=True)) <= {visibilite}


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_modifier(monde, visibilite):
    note = note_de(monde, "medecin", visibilite=visibilite)
    obtenu = {}
    for nom in ACTEURS:
        obtenu[nom] = tenter(
            lambda nom=nom: cahier.modifier_note(
                acteur=qui(monde, nom), note=note, texte=f"Corrigé par {nom}."
            )
        )
    comparer(obtenu, {nom: nom == "medecin" for nom in ACTEURS})
    note.refresh_from_db()
    assert (note.version, note.texte) == (2, "Corrigé par medecin.")


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_desactiver(monde, visibilite):
    obtenu, attendu = {}, {}
    for nom in ACTEURS:
        note = note_de(monde, "medecin", visibilite=visibilite)
        niveau, lisibles = ATTENDU[nom]
        attendu[nom] = nom == "medecin" or (niveau == 3 and visibilite in lisibles)
        obtenu[nom] = tenter(
            lambda nom=nom, note=note: cahier.desactiver_note(
                acteur=qui(monde, nom), note=note, motif="Doublon."
            )
        )
    comparer(obtenu, attendu)


@pytest.mark.parametrize("visibilite", VISIBILITES)
def test_matrice_accuser_reception(monde, visibilite):
    """Le médecin demande un accusé au membre de chaque acteur : permis si ce membre peut lire la
    note ; puis l'acteur accuse réception (permis s'il a une demande en attente et lit la note)."""
    note = note_de(monde, "medecin", visibilite=visibilite)
    medecin = qui(monde, "medecin")
    demande, accuse, attendu_demande, attendu_accuse = {}, {}, {}, {}
    for nom in ACTEURS:
        membre = monde.membres.get(MEMBRE_DE.get(nom, ""))
        lecteur_du_membre = "dui_ssiad" if MEMBRE_DE.get(nom) == "ssiad" else nom
        attendu_demande[nom] = membre is not None and peut_lire(lecteur_du_membre, visibilite)
        attendu_accuse[nom] = attendu_demande[nom] and peut_lire(nom, visibilite)
        if membre is not None:
            demande[nom] = tenter(
                lambda membre=membre: cahier.demander_accuse(
                    acteur=medecin, note=note, destinataires=[membre]
                )
            )
        else:
            demande[nom] = False
    comparer(demande, attendu_demande)
    # L'accusé d'une demande faite à la structure peut venir de toute personne qui y agit : la
    # collègue passe d'abord, sinon l'infirmière du même SSIAD l'aurait déjà donné.
    for nom in sorted(ACTEURS, key=lambda nom: nom != "collegue_structure"):
        if nom == "dui_ssiad":  # même membre que la collègue : déjà accusé par elle
            continue
        accuse[nom] = tenter(lambda nom=nom: cahier.accuser_reception(acteur=qui(monde, nom), note=note))
    comparer(accuse, {nom: valeur for nom, valeur in attendu_accuse.items() if nom != "dui_ssiad"})


def test_taille_de_la_matrice():
    """17 sortes d'acteurs × 3 visibilités × 6 actions."""
    assert len(ACTEURS) * len(VISIBILITES) * 6 == 306
