"""Réunions de coordination (agenda/reunions.py) : créneaux proposés d'après les vrais agendas,
créneau tenu, réponses, contre-proposition retenue, confirmation, annulation, expiration ;
notifications rangées ; refus sans rien écrire."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agenda import reunions, selectors
from agenda import services as agenda
from agenda.models import (
    DemandeReunion,
    Evenement,
    NotificationAgenda,
    PreferenceHoraire,
    ReglagesAgenda,
    StatutDemande,
    StatutEvenement,
)
from cercle.services import AccesRefuse
from tests.monde_agenda import construire_monde_agenda, qui, rendez_vous

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


@pytest.fixture
def monde():
    return construire_monde_agenda()


def lundi_prochain(heure: int = 0) -> dt.datetime:
    aujourd_hui = timezone.localdate()
    jour = aujourd_hui + dt.timedelta(days=14 - aujourd_hui.weekday())
    return timezone.make_aware(dt.datetime.combine(jour, dt.time(heure)))


def invites(monde, *noms):
    personnes = {
        "medecin": monde.acteurs["medecin"].exercice,
        "educateur": monde.acteurs["educateur"].exercice,
        "aidant": monde.acteurs["aidant_avec_droits"].proche,
        "usager": monde.usager,
    }
    return [agenda.Invite(personnes[nom]) for nom in noms]


def demander(monde, debut, *noms, limite=None):
    return reunions.demander_reunion(
        acteur=qui(monde, "ide"),
        usager=monde.usager,
        invites=invites(monde, *noms),
        titre="Synthèse du projet",
        duree=H,
        horizon_debut=lundi_prochain(),
        horizon_fin=lundi_prochain() + dt.timedelta(days=5),
        date_limite=limite or timezone.now() + dt.timedelta(days=3),
        debut=debut,
    )


def test_creneaux_proposes_evitent_rendez_vous_absences_et_temps_de_trajet(monde):
    lundi = lundi_prochain()
    rendez_vous(
        monde, "ide", debut=lundi + 8 * H, duree_min=120, invites=invites(monde, "medecin")
    )  # 8 h–10 h
    agenda.ajouter_absence(acteur=qui(monde, "educateur"), debut=lundi + 13 * H, fin=lundi + 24 * H)
    ReglagesAgenda.objects.create(
        professionnel=qui(monde, "medecin").exercice.professionnel, tampon_avant=dt.timedelta(minutes=30)
    )
    resultat = reunions.proposer_creneaux(
        acteur=qui(monde, "ide"),
        usager=monde.usager,
        invites=invites(monde, "medecin", "educateur"),
        duree=H,
        debut=lundi,
        fin=lundi + dt.timedelta(days=1),
    )
    assert resultat.complet
    premiers = [timezone.localtime(c.debut).strftime("%H:%M") for c in resultat.creneaux]
    assert premiers[0] == "10:30"  # fin du rendez-vous à 10 h + 30 minutes de trajet du médecin
    assert all(timezone.localtime(c.fin).hour <= 13 for c in resultat.creneaux)  # l'éducateur part à 13 h


def test_les_preferences_de_l_usager_classent_les_creneaux(monde):
    lundi = lundi_prochain()
    PreferenceHoraire.objects.create(
        usager=monde.usager, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(14), heure_fin=dt.time(17)
    )
    resultat = reunions.proposer_creneaux(
        acteur=qui(monde, "ide"), usager=monde.usager, invites=invites(monde, "medecin", "usager"),
        duree=H, debut=lundi, fin=lundi + dt.timedelta(days=1),
    )  # fmt: skip
    assert timezone.localtime(resultat.creneaux[0].debut).hour == 14


def test_sans_creneau_commun_le_message_dit_qui_manque(monde):
    lundi = lundi_prochain()
    agenda.ajouter_absence(acteur=qui(monde, "medecin"), debut=lundi, fin=lundi + dt.timedelta(days=7))
    resultat = reunions.proposer_creneaux(
        acteur=qui(monde, "ide"), usager=monde.usager, invites=invites(monde, "medecin", "educateur"),
        duree=H, debut=lundi, fin=lundi + dt.timedelta(days=5),
    )  # fmt: skip
    assert not resultat.complet
    assert str(qui(monde, "medecin").exercice.professionnel) in resultat.message


def test_parcours_complet_d_une_reunion(monde):
    debut = lundi_prochain(10)
    demande = demander(monde, debut, "medecin", "educateur", "aidant")
    evenement = demande.evenement
    assert evenement.statut == StatutEvenement.EN_ATTENTE
    # Tenu dans chaque agenda, en attente.
    for nom in ("medecin", "educateur"):
        [occurrence] = selectors.agenda_du_professionnel(qui(monde, nom), debut - H, debut + 2 * H)
        assert occurrence.statut == "pending"
    assert NotificationAgenda.objects.get(nature="reunion_demandee").destinataires.count() == 3
    # Deux acceptations, une contre-proposition.
    reunions.repondre(acteur=qui(monde, "medecin"), demande=demande, statut="accepted")
    reunions.repondre(acteur=qui(monde, "aidant_avec_droits"), demande=demande, statut="accepted")
    proposition = reunions.contre_proposer(
        acteur=qui(monde, "educateur"),
        demande=demande,
        debut=debut + dt.timedelta(days=1),
        commentaire="Le lundi je suis au foyer.",
    )
    assert DemandeReunion.objects.get(pk=demande.pk).statut == StatutDemande.OUVERTE
    # Le demandeur retient la proposition : chacun confirme à nouveau, sauf l'éducateur.
    reunions.deplacer(
        acteur=qui(monde, "ide"), demande=demande, debut=proposition.debut, proposition=proposition
    )
    evenement.refresh_from_db()
    assert evenement.debut == debut + dt.timedelta(days=1) and evenement.statut == "pending"
    statuts = {p.nom: p.statut for p in evenement.participants.all()}
    assert sorted(statuts.values()) == ["accepted", "accepted", "needs-action", "needs-action"]
    reunions.repondre(acteur=qui(monde, "medecin"), demande=demande, statut="accepted")
    demande = reunions.repondre(acteur=qui(monde, "aidant_avec_droits"), demande=demande, statut="accepted")
    assert demande.statut == StatutDemande.RESERVEE
    evenement.refresh_from_db()
    assert evenement.statut == StatutEvenement.RESERVE
    # Dans l'agenda consolidé de l'usager et dans celui de chaque professionnel.
    mardi = debut + dt.timedelta(days=1)
    [dans_l_agenda] = selectors.agenda_de_l_usager(
        qui(monde, "aidant_avec_droits"), monde.usager, mardi - H, mardi + 2 * H
    )
    assert dans_l_agenda.titre == "Synthèse du projet" and dans_l_agenda.statut == "booked"
    assert {n.nature for n in NotificationAgenda.objects.all()} >= {
        "reunion_demandee", "contre_proposition", "reunion_deplacee", "reunion_confirmee",
    }  # fmt: skip


def test_le_creneau_doit_etre_libre_au_moment_de_demander(monde):
    debut = lundi_prochain(10)
    rendez_vous(monde, "ide", debut=debut, invites=invites(monde, "medecin"))
    avant = Evenement.objects.count()
    with pytest.raises(ValidationError, match="pas libre pour"):
        demander(monde, debut, "medecin", "educateur")
    assert Evenement.objects.count() == avant and not DemandeReunion.objects.exists()


def test_seul_le_demandeur_deplace_ou_annule(monde):
    demande = demander(monde, lundi_prochain(10), "medecin")
    with pytest.raises(AccesRefuse):
        reunions.annuler(acteur=qui(monde, "medecin"), demande=demande)
    with pytest.raises(AccesRefuse):
        reunions.deplacer(acteur=qui(monde, "medecin"), demande=demande, debut=lundi_prochain(14))
    reunions.annuler(acteur=qui(monde, "ide"), demande=demande, motif="Hospitalisation")
    demande.refresh_from_db()
    assert demande.statut == StatutDemande.ANNULEE and demande.evenement.statut == StatutEvenement.ANNULE
    with pytest.raises(ValidationError, match="close"):
        reunions.repondre(acteur=qui(monde, "medecin"), demande=demande, statut="accepted")


def test_qui_n_est_pas_convie_ne_repond_pas(monde):
    demande = demander(monde, lundi_prochain(10), "medecin")
    with pytest.raises(AccesRefuse):
        reunions.repondre(acteur=qui(monde, "educateur"), demande=demande, statut="accepted")


def test_sans_accord_a_la_date_limite_le_creneau_est_libere(monde):
    demande = demander(monde, lundi_prochain(10), "medecin", limite=timezone.now() + dt.timedelta(hours=1))
    assert reunions.expirer_demandes(maintenant=timezone.now()) == 0
    assert reunions.expirer_demandes(maintenant=timezone.now() + dt.timedelta(hours=2)) == 1
    demande.refresh_from_db()
    assert demande.statut == StatutDemande.EXPIREE and demande.evenement.statut == StatutEvenement.ANNULE
    assert NotificationAgenda.objects.filter(nature="reunion_expiree").exists()
    assert reunions.expirer_demandes(maintenant=timezone.now() + dt.timedelta(hours=3)) == 0


@pytest.mark.parametrize(
    "champs, message",
    [
        ({"duree": dt.timedelta(0)}, "durée"),
        ({"horizon_fin": lundi_prochain}, "après son début"),
        ({"date_limite": "passee"}, "dans le futur"),
        ({"date_limite": "apres"}, "avant la réunion"),
    ],
)
def test_demande_mal_formee_refusee_sans_rien_ecrire(monde, champs, message):
    debut = lundi_prochain(10)
    arguments = {
        "acteur": qui(monde, "ide"), "usager": monde.usager, "invites": invites(monde, "medecin"),
        "titre": "R",
        "duree": H, "horizon_debut": lundi_prochain(), "horizon_fin": lundi_prochain() + dt.timedelta(days=5),
        "date_limite": timezone.now() + dt.timedelta(days=1), "debut": debut,
    }  # fmt: skip
    for cle, valeur in champs.items():
        if valeur == "passee":
            valeur = timezone.now() - H
        elif valeur == "apres":
            valeur = debut + H
        elif callable(valeur):
            valeur = valeur()
        arguments[cle] = valeur
    avant = Evenement.objects.count()
    with pytest.raises(ValidationError, match=message):
        reunions.demander_reunion(**arguments)
    assert Evenement.objects.count() == avant


@pytest.mark.parametrize("nom", ["aidant_avec_droits", "usager", "collegue_structure", "pro_hors_cercle"])
def test_qui_peut_demander_une_reunion(monde, nom):
    with pytest.raises(AccesRefuse):
        reunions.proposer_creneaux(
            acteur=qui(monde, nom), usager=monde.usager, invites=invites(monde, "medecin"),
            duree=H, debut=lundi_prochain(), fin=lundi_prochain() + dt.timedelta(days=1),
        )  # fmt: skip


def test_avertissements_a_la_prise_de_rendez_vous(monde):
    medecin = qui(monde, "medecin")
    lundi = lundi_prochain()
    agenda.ajouter_absence(acteur=medecin, debut=lundi + 12 * H, fin=lundi + 24 * H)
    agenda.ajouter_disponibilite(
        acteur=medecin, jours=[0, 1, 2, 3, 4], heure_debut=dt.time(9), heure_fin=dt.time(12)
    )
    premier = rendez_vous(monde, "ide", debut=lundi + 9 * H, invites=invites(monde, "medecin"))
    assert reunions.avertissements(premier) == []
    meme_heure = rendez_vous(
        monde, "ide", titre="Autre", debut=lundi + 9 * H, invites=invites(monde, "medecin")
    )
    assert reunions.avertissements(meme_heure) == [
        f"{medecin.exercice.professionnel} a déjà un rendez-vous à cette heure-là."
    ]
    pendant_l_absence = rendez_vous(monde, "ide", debut=lundi + 14 * H, invites=invites(monde, "medecin"))
    assert (
        reunions.avertissements(pendant_l_absence)[0]
        == f"{medecin.exercice.professionnel} est absent·e à ce moment-là."
    )
    mardi_soir = rendez_vous(monde, "ide", debut=lundi + 42 * H, invites=invites(monde, "medecin"))
    assert reunions.avertissements(mardi_soir) == [
        f"C'est en dehors des disponibilités déclarées de {medecin.exercice.professionnel}."
    ]
    noel = rendez_vous(
        monde,
        "ide",
        debut=timezone.make_aware(dt.datetime(2027, 12, 25, 10)),
        invites=invites(monde, "medecin"),
    )
    assert f"C'est un jour férié pour {medecin.exercice.professionnel} (Noël)." in reunions.avertissements(
        noel
    )
