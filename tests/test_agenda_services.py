"""Écritures et lectures de l'agenda : habilitations pour chaque sorte d'acteur, refus sans rien
écrire, participants, versions, occurrences, absences, flux ICS, dédoublonnage."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from agenda import selectors
from agenda import services as agenda
from agenda.models import Absence, Evenement, FluxIcs, Participant, StatutEvenement, StatutParticipation
from cercle import services as cercle
from cercle.services import AccesRefuse
from coordination.journal.models import Evenement as Journal
from tests.factories import ProcheFactory
from tests.monde_agenda import (
    ACTEURS,
    ANONYME,
    NIVEAU_AGENDA,
    PARIS,
    a_paris,
    construire_monde_agenda,
    qui,
    rendez_vous,
)
from tests.monde_cercle import acteur_pro

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
DECEMBRE = (a_paris(2026, 12, 1), a_paris(2027, 1, 1))


@pytest.fixture
def monde():
    return construire_monde_agenda()


def photo() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Evenement, Participant, Absence, FluxIcs, Journal)}


# --- Qui écrit, qui lit -------------------------------------------------------------------------


@pytest.mark.parametrize("nom", [*ACTEURS, ANONYME])
def test_ecrire_dans_l_agenda_de_l_usager_selon_le_droit(monde, nom):
    avant = photo()
    if NIVEAU_AGENDA.get(nom, 0) >= 2:
        evenement = rendez_vous(monde, nom)
        assert evenement.usager == monde.usager and evenement.cree_par == qui(monde, nom).cle
        assert (
            Journal.objects.filter(action="agenda.evenement.creation", objet_uuid=evenement.uuid).count() == 1
        )
    else:
        with pytest.raises(AccesRefuse, match="pas le droit"):
            rendez_vous(monde, nom)
        assert photo() == avant


@pytest.mark.parametrize("nom", [*ACTEURS, ANONYME])
def test_lire_l_agenda_consolide_selon_le_droit(monde, nom):
    rendez_vous(monde, "ide")
    if NIVEAU_AGENDA.get(nom, 0) >= 1:
        occurrences = selectors.agenda_de_l_usager(qui(monde, nom), monde.usager, *DECEMBRE)
        assert [o.titre for o in occurrences] == ["Soins à domicile"]
    else:
        with pytest.raises(AccesRefuse):
            selectors.agenda_de_l_usager(qui(monde, nom), monde.usager, *DECEMBRE)
        assert not selectors.evenements_de_l_usager(qui(monde, nom), monde.usager).exists()


def test_l_autre_usager_ne_voit_que_son_agenda(monde):
    rendez_vous(monde, "ide")
    moi = qui(monde, "autre_usager")
    agenda.creer_evenement(
        acteur=moi,
        usager=monde.autre_usager,
        titre="Coiffeur",
        debut=a_paris(2026, 12, 3, 10),
        fin=a_paris(2026, 12, 3, 11),
    )
    assert [o.titre for o in selectors.agenda_de_l_usager(moi, monde.autre_usager, *DECEMBRE)] == ["Coiffeur"]


def test_l_aidant_avec_le_droit_d_ecrire_ajoute_un_rendez_vous_et_y_va(monde):
    cercle.accorder(acteur=qui(monde, "usager"), membre=monde.membres["aidant"], domaine="agenda", niveau=2)
    evenement = rendez_vous(monde, "aidant_avec_droits", titre="Ophtalmologiste")
    participant = evenement.participants.get()
    assert participant.proche == monde.acteurs["aidant_avec_droits"].proche
    assert participant.statut == StatutParticipation.ACCEPTE


# --- Participants ---------------------------------------------------------------------------------


def test_inviter_les_membres_du_cercle(monde):
    medecin = monde.acteurs["medecin"].exercice
    fille = monde.acteurs["aidant_avec_droits"].proche
    evenement = rendez_vous(
        monde,
        "ide",
        invites=[
            agenda.Invite(monde.acteurs["ide"].exercice),
            agenda.Invite(medecin),
            agenda.Invite(fille, requis=False),
            agenda.Invite(monde.usager),
        ],
    )
    statuts = {p.nom: (p.type, p.statut, p.requis) for p in evenement.participants.all()}
    assert statuts[str(medecin.professionnel)] == ("professionnel", "needs-action", True)
    assert (
        statuts[str(monde.acteurs["ide"].exercice.professionnel)][1] == "accepted"
    )  # l'auteur qui s'est convié
    assert statuts["Sophie FICTIVE"] == ("proche", "needs-action", False)
    assert len(statuts) == 4


@pytest.mark.parametrize(
    "qui_inviter, message",
    [
        ("pro_hors_cercle", "ne fait pas partie du cercle"),
        ("proche_d_un_autre", "n'est pas un proche"),
        ("autre_usager", "Seul l'usager concerné"),
    ],
)
def test_inviter_hors_du_cercle_est_refuse_sans_rien_ecrire(monde, qui_inviter, message):
    personnes = {
        "pro_hors_cercle": monde.acteurs["pro_hors_cercle"].exercice,
        "proche_d_un_autre": ProcheFactory(usager=monde.autre_usager),
        "autre_usager": monde.autre_usager,
    }
    avant = photo()
    with pytest.raises(ValidationError, match=message):
        rendez_vous(monde, "ide", invites=[agenda.Invite(personnes[qui_inviter])])
    assert photo() == avant


def test_un_membre_par_sa_structure_peut_etre_convie(monde):
    """La collègue du SSIAD n'est pas membre à titre personnel : sa structure l'est."""
    collegue = monde.acteurs["collegue_structure"].exercice
    evenement = rendez_vous(monde, "ide", invites=[agenda.Invite(collegue)])
    assert evenement.participants.filter(professionnel=collegue.professionnel).exists()


def test_repondre_a_une_invitation(monde):
    medecin = monde.acteurs["medecin"].exercice
    evenement = rendez_vous(monde, "ide", invites=[agenda.Invite(medecin)])
    participant = agenda.repondre(acteur=qui(monde, "medecin"), evenement=evenement, statut="declined")
    assert participant.statut == StatutParticipation.DECLINE and participant.repondu_le
    with pytest.raises(AccesRefuse, match="pas convié"):
        agenda.repondre(acteur=qui(monde, "pro_sans_droit"), evenement=evenement, statut="accepted")
    with pytest.raises(ValidationError, match="Réponse attendue"):
        agenda.repondre(acteur=qui(monde, "medecin"), evenement=evenement, statut="needs-action")


# --- Modifier, annuler --------------------------------------------------------------------------


def test_modifier_l_horaire_redemande_les_reponses_et_monte_la_version(monde):
    medecin = monde.acteurs["medecin"].exercice
    evenement = rendez_vous(monde, "ide", invites=[agenda.Invite(medecin)])
    agenda.repondre(acteur=qui(monde, "medecin"), evenement=evenement, statut="accepted")
    debut = a_paris(2026, 12, 15, 14)
    modifie = agenda.modifier_evenement(
        acteur=qui(monde, "ide"), evenement=evenement, sequence_lue=0, debut=debut, fin=debut + H
    )
    assert modifie.sequence == 1
    assert evenement.participants.get(professionnel=medecin.professionnel).statut == "needs-action"
    with pytest.raises(ValidationError, match="modifié entre-temps"):
        agenda.modifier_evenement(
            acteur=qui(monde, "ide"), evenement=evenement, sequence_lue=0, titre="Autre"
        )
    assert Evenement.objects.get(pk=evenement.pk).titre == "Soins à domicile"


@pytest.mark.parametrize(
    "nom", ["collegue_structure", "aidant_avec_droits", "pro_hors_cercle", "autre_usager", ANONYME]
)
def test_modifier_ou_annuler_sans_droit_est_refuse(monde, nom):
    evenement = rendez_vous(monde, "ide")
    avant = photo()
    with pytest.raises(AccesRefuse):
        agenda.modifier_evenement(acteur=qui(monde, nom), evenement=evenement, titre="Piraté")
    with pytest.raises(AccesRefuse):
        agenda.annuler_evenement(acteur=qui(monde, nom), evenement=evenement)
    assert photo() == avant


def test_annuler(monde):
    evenement = rendez_vous(monde, "ide")
    agenda.annuler_evenement(acteur=qui(monde, "medecin"), evenement=evenement, motif="Hospitalisation")
    evenement.refresh_from_db()
    assert evenement.statut == StatutEvenement.ANNULE and evenement.sequence == 1
    journal = Journal.objects.get(action="agenda.evenement.annulation")
    assert journal.details == {"motif": "Hospitalisation"}


@pytest.mark.parametrize(
    "champs, message",
    [
        ({"titre": "  "}, "Donnez un titre"),
        ({"fin_decalee": -H}, "La fin doit venir après le début"),
        ({"fin_decalee": datetime.timedelta(days=40)}, "31 jours"),
        ({"lieux": [{"visio": "http://visio.example/abc"}]}, "https://"),
        ({"fuseau": "Europe/Atlantide"}, "Fuseau horaire inconnu"),
        ({"journee_entiere": True}, "minuit"),
    ],
)
def test_mauvaise_saisie_refusee_en_francais_sans_rien_ecrire(monde, champs, message):
    avant = photo()
    debut = a_paris(2026, 12, 14, 9)
    fin = debut + champs.pop("fin_decalee", H)
    with pytest.raises(ValidationError, match=message):
        agenda.creer_evenement(
            acteur=qui(monde, "ide"),
            usager=monde.usager,
            **{"titre": "Soins", "debut": debut, "fin": fin, **champs},
        )
    assert photo() == avant


def test_horaire_sans_fuseau_refuse(monde):
    with pytest.raises(ValidationError, match="fuseau"):
        rendez_vous(monde, "ide", debut=datetime.datetime(2026, 12, 14, 9))


def test_lieux_multiples_et_visio(monde):
    lieux = [
        {"libelle": "Domicile", "adresse": "1 rue Fictive, 99000 Nulle-Part"},
        {"visio": "https://visio.example/salle"},
    ]
    evenement = rendez_vous(monde, "ide", lieux=lieux)
    assert [lieu["libelle"] or lieu["visio"] for lieu in evenement.lieux] == [
        "Domicile",
        "https://visio.example/salle",
    ]


def test_identifiant_externe_unique_par_source(monde):
    rendez_vous(monde, "ide", systeme_source="dui:999000001", identifiant_externe="RDV-1")
    with pytest.raises(ValidationError, match="existe déjà"):
        rendez_vous(monde, "ide", systeme_source="dui:999000001", identifiant_externe="RDV-1")
    rendez_vous(monde, "ide", systeme_source="dui:999000002", identifiant_externe="RDV-1")


# --- Récurrence ---------------------------------------------------------------------------------


def test_serie_hebdomadaire_depliee_dans_la_fenetre_avec_remplacement(monde):
    serie = rendez_vous(monde, "ide", debut=a_paris(2026, 12, 7, 9), rrule="FREQ=WEEKLY;COUNT=4")
    assert serie.fin_serie == a_paris(2026, 12, 28, 9, 45)
    lu = qui(monde, "medecin")
    jours = [o.debut.astimezone(PARIS).day for o in selectors.agenda_de_l_usager(lu, monde.usager, *DECEMBRE)]
    assert jours == [7, 14, 21, 28]
    agenda.modifier_occurrence(
        acteur=qui(monde, "ide"),
        serie=serie,
        recurrence_id=a_paris(2026, 12, 14, 9),
        debut=a_paris(2026, 12, 15, 16),
    )
    agenda.modifier_occurrence(
        acteur=qui(monde, "ide"), serie=serie, recurrence_id=a_paris(2026, 12, 21, 9), annulee=True
    )
    occurrences = [o for o in selectors.agenda_de_l_usager(lu, monde.usager, *DECEMBRE) if not o.annule]
    assert [(o.debut.day, o.debut.astimezone(PARIS).hour) for o in occurrences] == [(7, 9), (15, 16), (28, 9)]
    with pytest.raises(ValidationError, match="n'existe pas"):
        agenda.modifier_occurrence(
            acteur=qui(monde, "ide"), serie=serie, recurrence_id=a_paris(2026, 12, 22, 9)
        )


def test_regle_de_recurrence_invalide_refusee(monde):
    avant = photo()
    with pytest.raises(ValidationError):
        rendez_vous(monde, "ide", rrule="FREQ=SOUVENT")
    assert photo() == avant


def test_serie_sans_fin_vue_dans_toute_fenetre_future(monde):
    rendez_vous(monde, "ide", debut=a_paris(2026, 12, 7, 9), rrule="FREQ=MONTHLY;BYDAY=1MO")
    juin = (a_paris(2027, 6, 1), a_paris(2027, 7, 1))
    occurrences = selectors.agenda_de_l_usager(qui(monde, "ide"), monde.usager, *juin)
    assert [o.debut.astimezone(PARIS).date() for o in occurrences] == [datetime.date(2027, 6, 7)]


# --- Dédoublonnage ------------------------------------------------------------------------------


def test_un_rendez_vous_recu_de_deux_sources_ne_s_affiche_qu_une_fois(monde):
    medecin = agenda.Invite(monde.acteurs["medecin"].exercice)
    rendez_vous(monde, "ide", titre="Consultation", invites=[medecin])
    rendez_vous(
        monde,
        "ide",
        titre="consultation ",
        invites=[medecin],
        systeme_source="mes",
        identifiant_externe="mes-1",
    )
    rendez_vous(
        monde,
        "ide",
        titre="Consultation",
        debut=a_paris(2026, 12, 20, 9),
        systeme_source="dui:1",
        identifiant_externe="X",
    )
    rendez_vous(
        monde,
        "ide",
        titre="Autre titre",
        debut=a_paris(2026, 12, 21, 9),
        systeme_source="mes",
        identifiant_externe="X",
    )
    occurrences = selectors.agenda_de_l_usager(qui(monde, "medecin"), monde.usager, *DECEMBRE)
    assert [(o.titre, o.sources) for o in occurrences] == [
        ("Consultation", ["portail", "mes"]),
        ("Consultation", ["dui:1"]),
        ("Autre titre", ["mes"]),
    ]


# --- Agenda du professionnel ---------------------------------------------------------------------


def test_agenda_du_professionnel_dans_ses_deux_structures(monde):
    educateur = qui(monde, "educateur")
    rendez_vous(monde, "ide", titre="Atelier", invites=[agenda.Invite(educateur.exercice)])
    agenda.creer_evenement(
        acteur=acteur_pro(monde.educateur_ssiad), titre="Réunion d'équipe SSIAD",
        debut=a_paris(2026, 12, 16, 14), fin=a_paris(2026, 12, 16, 15),
    )  # fmt: skip
    titres = [o.titre for o in selectors.agenda_du_professionnel(educateur, *DECEMBRE)]
    assert titres == ["Atelier", "Réunion d'équipe SSIAD"]
    with pytest.raises(AccesRefuse):
        selectors.agenda_du_professionnel(qui(monde, "aidant_avec_droits"), *DECEMBRE)


def test_rendez_vous_d_un_usager_qui_a_retire_l_acces_devient_occupe(monde):
    medecin = qui(monde, "medecin")
    rendez_vous(monde, "ide", titre="Pansement", invites=[agenda.Invite(medecin.exercice)])
    cercle.retirer_membre(acteur=qui(monde, "usager"), membre=monde.membres["medecin"])
    [occurrence] = selectors.agenda_du_professionnel(qui(monde, "medecin"), *DECEMBRE)
    assert occurrence.titre == "Occupé" and occurrence.lieux == [] and occurrence.participants == []


# --- Disponibilités, absences, flux ---------------------------------------------------------------


def test_absences_sans_chevauchement(monde):
    ide = qui(monde, "ide")
    agenda.ajouter_absence(acteur=ide, debut=a_paris(2026, 12, 21), fin=a_paris(2026, 12, 28))
    with pytest.raises(ValidationError, match="déjà une absence"):
        agenda.ajouter_absence(acteur=ide, debut=a_paris(2026, 12, 27), fin=a_paris(2027, 1, 2))
    agenda.ajouter_absence(acteur=ide, debut=a_paris(2026, 12, 28), fin=a_paris(2027, 1, 2))  # bout à bout
    assert selectors.absences_du_professionnel(ide, *DECEMBRE).count() == 2
    with pytest.raises(AccesRefuse):
        agenda.ajouter_absence(
            acteur=qui(monde, "aidant_avec_droits"), debut=a_paris(2026, 12, 1), fin=a_paris(2026, 12, 2)
        )


def test_disponibilites_validees(monde):
    medecin = qui(monde, "medecin")
    dispo = agenda.ajouter_disponibilite(
        acteur=medecin, jours=[3, 0, 0], heure_debut=datetime.time(9), heure_fin=datetime.time(12)
    )
    assert dispo.jours == [0, 3] and dispo.exercice is None
    with pytest.raises(ValidationError) as erreur:
        agenda.ajouter_disponibilite(
            acteur=medecin, jours=[], heure_debut=datetime.time(12), heure_fin=datetime.time(9)
        )
    assert set(erreur.value.message_dict) == {"jours", "heure_fin"}


def test_flux_ics_cree_puis_tourne(monde):
    ide = qui(monde, "ide")
    flux = agenda.flux_ics(acteur=ide)
    assert agenda.flux_ics(acteur=ide).jeton == flux.jeton
    tourne = agenda.flux_ics(acteur=ide, tourner=True)
    assert tourne.pk == flux.pk and tourne.jeton != flux.jeton
    assert not FluxIcs.objects.filter(jeton=flux.jeton).exists()
    pour_maman = agenda.flux_ics(acteur=qui(monde, "aidant_avec_droits"), usager=monde.usager)
    assert pour_maman.usager == monde.usager
    with pytest.raises(AccesRefuse):
        agenda.flux_ics(acteur=qui(monde, "aidant_sans_droit"), usager=monde.usager)
    with pytest.raises(AccesRefuse):
        agenda.flux_ics(acteur=qui(monde, "aidant_avec_droits"))


def test_un_professionnel_tient_son_propre_agenda(monde):
    evenement = agenda.creer_evenement(
        acteur=qui(monde, "pro_hors_cercle"),
        titre="Formation",
        debut=a_paris(2026, 12, 2, 9),
        fin=a_paris(2026, 12, 2, 17),
    )
    assert evenement.usager is None
    assert evenement.participants.get().statut == StatutParticipation.ACCEPTE
    with pytest.raises(AccesRefuse, match="Seul un professionnel"):
        agenda.creer_evenement(
            acteur=qui(monde, "aidant_avec_droits"),
            titre="X",
            debut=a_paris(2026, 12, 2, 9),
            fin=a_paris(2026, 12, 2, 10),
        )


# --- Réponses déclarées, participants remplacés (API FHIR, ADR 0025) -------------------------------


def test_une_invitation_peut_declarer_la_reponse(monde):
    ide = monde.acteurs["ide"].exercice
    evenement = rendez_vous(
        monde, "medecin", invites=[agenda.Invite(ide, requis=False, statut=StatutParticipation.ACCEPTE)]
    )
    participant = evenement.participants.get()
    assert (participant.statut, participant.requis) == (StatutParticipation.ACCEPTE, False)
    assert participant.repondu_le is not None
    avant = photo()
    with pytest.raises(ValidationError, match="Réponse attendue"):
        rendez_vous(monde, "medecin", invites=[agenda.Invite(ide, statut="peut-etre")])
    assert photo() == avant


def test_remplacer_les_participants(monde):
    ide, educateur = monde.acteurs["ide"].exercice, monde.acteurs["educateur"].exercice
    evenement = rendez_vous(monde, "medecin", invites=[agenda.Invite(ide), agenda.Invite(monde.usager)])
    medecin = qui(monde, "medecin")
    agenda.remplacer_participants(
        acteur=medecin,
        evenement=evenement,
        invites=[
            agenda.Invite(ide, statut=StatutParticipation.DECLINE),
            agenda.Invite(educateur, requis=False),
        ],
    )
    lignes = {p.professionnel_id: (p.statut, p.requis) for p in evenement.participants.all()}
    assert lignes == {
        ide.professionnel_id: (StatutParticipation.DECLINE, True),
        educateur.professionnel_id: (StatutParticipation.A_REPONDRE, False),
    }
    assert Evenement.objects.get(pk=evenement.pk).sequence == 1
    journal = Journal.objects.get(action="agenda.evenement.participants")
    assert journal.details == {"ajoutes": 1, "retires": 1, "modifies": 1}
    # Les mêmes invitations une seconde fois : rien n'est écrit.
    avant = photo()
    agenda.remplacer_participants(
        acteur=medecin,
        evenement=evenement,
        invites=[agenda.Invite(ide), agenda.Invite(educateur, requis=False)],
    )
    assert photo() == avant and Evenement.objects.get(pk=evenement.pk).sequence == 1


@pytest.mark.parametrize("nom", [*ACTEURS, ANONYME])
def test_remplacer_les_participants_selon_le_droit(monde, nom):
    evenement = rendez_vous(monde, "medecin", invites=[agenda.Invite(monde.usager)])
    avant = photo()
    invites = [agenda.Invite(monde.acteurs["ide"].exercice)]
    if NIVEAU_AGENDA.get(nom, 0) >= 2:
        agenda.remplacer_participants(acteur=qui(monde, nom), evenement=evenement, invites=invites)
        assert list(evenement.participants.values_list("type", flat=True)) == ["professionnel"]
    else:
        with pytest.raises(AccesRefuse):
            agenda.remplacer_participants(acteur=qui(monde, nom), evenement=evenement, invites=invites)
        assert photo() == avant


def test_remplacer_par_quelqu_un_hors_du_cercle_refuse_sans_rien_ecrire(monde):
    evenement = rendez_vous(monde, "medecin", invites=[agenda.Invite(monde.usager)])
    avant = photo()
    with pytest.raises(ValidationError, match="ne fait pas partie du cercle"):
        agenda.remplacer_participants(
            acteur=qui(monde, "medecin"),
            evenement=evenement,
            invites=[agenda.Invite(monde.acteurs["pro_hors_cercle"].exercice)],
        )
    assert photo() == avant
