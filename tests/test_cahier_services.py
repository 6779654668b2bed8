"""Services du cahier de liaison : matrice acteur × visibilité × action (écrire, lire, répondre,
modifier, désactiver, accuser réception), refus sans aucune écriture, validation en français,
versions immuables, idempotence par identifiant d'émetteur, événements à notifier, journal."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cahier_liaison import selectors
from cahier_liaison import services as cahier
from cahier_liaison.models import (
    EvenementCahier,
    Lecture,
    NatureEvenement,
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


# --- Validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("champs", "champ_en_erreur", "extrait"),
    [
        ({"type": "XYZ"}, "type", "Type de note"),
        ({"texte": "   "}, "texte", "Contenu"),
        ({"survenue_le": timezone.now() + datetime.timedelta(hours=2)}, "survenue_le", "futur"),
        ({"survenue_le": None}, "survenue_le", "obligatoire"),
        ({"visibilite": "MASQUE_PS"}, "visibilite", "pas pris en charge"),
        ({"master_identifier": "N-1"}, "systeme_emetteur", "Système émetteur"),
    ],
)
def test_entree_invalide_refusee_avec_message_par_champ(monde, champs, champ_en_erreur, extrait):
    avant = photo()
    with pytest.raises(ValidationError) as erreur:
        note_de(monde, "ide", **champs)
    assert extrait in " ".join(erreur.value.message_dict[champ_en_erreur])
    assert photo() == avant


def test_survenue_tolere_une_petite_avance_d_horloge(monde):
    note = note_de(monde, "ide", survenue_le=timezone.now() + datetime.timedelta(minutes=2))
    assert note.pk


def test_transmission_ciblee_sans_texte(monde):
    note = note_de(
        monde, "ide", texte="", cible="Douleur", donnees="EVA 6/10 au lever", actions="Antalgique donné",
        resultats="EVA 2/10 à 10 h",
    )  # fmt: skip
    assert note.est_ciblee and note.texte == ""


def test_aidant_ne_peut_pas_ecrire_une_note_qu_il_ne_lirait_pas(monde):
    with pytest.raises(ValidationError) as erreur:
        note_de(monde, "representant", visibilite="INVISIBLE_PATIENT")
    assert "visibilite" in erreur.value.message_dict


def test_reponse_a_une_note_d_un_autre_usager_refusee(monde):
    autre = cahier.ecrire_note(
        acteur=qui(monde, "systeme"), usager=monde.autre_usager, type="GEN", survenue_le=une_heure_avant(),
        texte="Note de Paul.",
    )  # fmt: skip
    avant = photo()
    with pytest.raises(ValidationError) as erreur:
        note_de(monde, "medecin", reponse_a=autre)
    assert "autre personne" in erreur.value.message_dict["reponse_a"][0]
    assert photo() == avant


def test_la_base_refuse_une_reponse_sur_un_autre_usager(monde):
    note = note_de(monde, "medecin")
    autre = cahier.ecrire_note(
        acteur=qui(monde, "systeme"), usager=monde.autre_usager, type="GEN", survenue_le=une_heure_avant(),
        texte="Note de Paul.",
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.filter(pk=autre.pk).update(reponse_a=note)
        connection.check_constraints()  # contrainte différée : vérifiée ici plutôt qu'au commit
        with connection.cursor() as curseur:
            curseur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_la_base_exige_un_motif_de_desactivation(monde):
    note = note_de(monde, "medecin")
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.filter(pk=note.pk).update(active=False, desactivee_le=timezone.now())


def test_la_base_exige_un_contenu(monde):
    note = note_de(monde, "medecin")
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.filter(pk=note.pk).update(texte="")


def test_desactivation_sans_motif_refusee(monde):
    note = note_de(monde, "medecin")
    with pytest.raises(ValidationError) as erreur:
        cahier.desactiver_note(acteur=qui(monde, "medecin"), note=note, motif="  ")
    assert "motif" in erreur.value.message_dict
    note.refresh_from_db()
    assert note.active


def test_note_desactivee_sort_du_fil_et_garde_son_motif(monde):
    note = note_de(monde, "medecin")
    cahier.desactiver_note(acteur=qui(monde, "medecin"), note=note, motif="Saisie dans le mauvais dossier.")
    note.refresh_from_db()
    assert (note.active, note.motif_desactivation) == (False, "Saisie dans le mauvais dossier.")
    assert note.desactivee_le is not None
    assert note not in selectors.notes_visibles(qui(monde, "medecin"), monde.usager)
    assert note in selectors.notes_visibles(
        qui(monde, "medecin"), monde.usager, filtres={"desactivees": True}
    )
    with pytest.raises(ValidationError):
        cahier.modifier_note(acteur=qui(monde, "medecin"), note=note, texte="Trop tard.")


# --- Versions -----------------------------------------------------------------------------------


def test_modification_garde_la_version_precedente(monde):
    note = note_de(monde, "ide", texte="Première version.")
    cahier.modifier_note(acteur=qui(monde, "ide"), note=note, texte="Deuxième version.")
    note = cahier.modifier_note(acteur=qui(monde, "ide"), note=note, texte="Troisième version.", urgente=True)
    assert (note.version, note.texte, note.urgente) == (3, "Troisième version.", True)
    versions = list(note.versions.order_by("version"))
    assert [(v.version, v.contenu["texte"]) for v in versions] == [
        (1, "Première version."),
        (2, "Deuxième version."),
    ]
    assert all(v.auteur_exercice_id == monde.acteurs["ide"].exercice.pk for v in versions)
    assert Evenement.objects.filter(action="cahier.note.modification", objet_uuid=note.uuid).count() == 2


def test_modification_identique_n_ajoute_pas_de_version(monde):
    note = note_de(monde, "ide", texte="Même texte.")
    note = cahier.modifier_note(acteur=qui(monde, "ide"), note=note, texte="Même texte.")
    assert note.version == 1 and not note.versions.exists()


def test_champ_non_modifiable_refuse(monde):
    note = note_de(monde, "ide")
    with pytest.raises(ValidationError):
        cahier.modifier_note(acteur=qui(monde, "ide"), note=note, usager=monde.autre_usager)


def test_la_base_refuse_de_modifier_ou_supprimer_une_version(monde):
    note = note_de(monde, "ide")
    cahier.modifier_note(acteur=qui(monde, "ide"), note=note, texte="Corrigé.")
    version = note.versions.get()
    with pytest.raises(IntegrityError, match="immuable"), transaction.atomic():
        VersionNote.objects.filter(pk=version.pk).update(contenu={"texte": "réécrit"})
    with pytest.raises(IntegrityError, match="immuable"), transaction.atomic():
        VersionNote.objects.filter(pk=version.pk).delete()
    version.refresh_from_db()
    assert version.contenu["texte"] == "Toux sèche ce matin, pas de fièvre."


# --- Idempotence --------------------------------------------------------------------------------


def test_meme_identifiant_d_emetteur_une_seule_note(monde):
    from cercle.services import accorder

    accorder(acteur=qui(monde, "usager"), membre=monde.membres["ssiad"], domaine="cahier", niveau=2)
    dui = qui(monde, "dui_ssiad")
    monde_avant = photo()
    premiere = note_de(monde, "dui_ssiad", master_identifier="DUI-42")
    apres_premiere = photo()
    seconde = note_de(monde, "dui_ssiad", master_identifier="DUI-42", texte="Renvoi du même message.")
    assert seconde.pk == premiere.pk
    assert photo() == apres_premiere != monde_avant
    assert premiere.systeme_emetteur == f"structure:{dui.structure_logiciel.uuid}"
    # Le même identifiant venu d'un autre système est une autre note.
    autre = note_de(monde, "medecin", master_identifier="DUI-42", systeme_emetteur="lgc-fictif")
    assert autre.pk != premiere.pk


def test_identifiant_d_emetteur_deja_pris_pour_un_autre_usager(monde):
    note_de(monde, "systeme", master_identifier="N-7", systeme_emetteur="dui-fictif")
    systeme = qui(monde, "systeme")
    with pytest.raises(ValidationError) as erreur:
        cahier.ecrire_note(
            acteur=systeme, usager=monde.autre_usager, type="GEN", survenue_le=une_heure_avant(),
            texte="Autre.", master_identifier="N-7", systeme_emetteur="dui-fictif",
        )  # fmt: skip
    assert "master_identifier" in erreur.value.message_dict


def test_la_base_refuse_un_identifiant_en_double(monde):
    note_de(monde, "systeme", master_identifier="N-8", systeme_emetteur="dui-fictif")
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.create(
            usager=monde.usager, survenue_le=une_heure_avant(), type="GEN", texte="Doublon.",
            systeme_emetteur="dui-fictif", master_identifier="N-8", auteur_type="systeme", auteur_nom="test",
        )  # fmt: skip


# --- Événements à notifier, journal -------------------------------------------------------------


def natures(note) -> list[str]:
    return sorted(note.evenements.values_list("nature", flat=True))


def test_evenements_nouvelle_note_urgente_reponse(monde):
    simple = note_de(monde, "ide")
    urgente = note_de(monde, "ide", urgente=True)
    reponse = cahier.repondre(
        acteur=qui(monde, "medecin"),
        note=urgente,
        type="INST",
        survenue_le=une_heure_avant(),
        texte="Je passe.",
    )
    assert natures(simple) == [NatureEvenement.NOUVELLE_NOTE]
    assert natures(urgente) == sorted([NatureEvenement.NOUVELLE_NOTE, NatureEvenement.NOTE_URGENTE])
    assert natures(reponse) == [NatureEvenement.REPONSE]
    assert reponse.reponse_a_id == urgente.pk
    assert not EvenementCahier.objects.filter(distribue_le__isnull=False).exists()


def test_evenements_accuse_et_alerte_avec_destinataires(monde):
    note = note_de(monde, "medecin")
    medecin = qui(monde, "medecin")
    cahier.demander_accuse(
        acteur=medecin, note=note, destinataires=[monde.membres["ide"], monde.membres["aidant"]]
    )
    cahier.alerter(acteur=medecin, note=note, destinataires=[monde.membres["educateur"]])
    accuse = note.evenements.get(nature=NatureEvenement.ACCUSE_DEMANDE)
    alerte = note.evenements.get(nature=NatureEvenement.ALERTE)
    assert set(accuse.destinataires.all()) == {monde.membres["ide"], monde.membres["aidant"]}
    assert set(alerte.destinataires.all()) == {monde.membres["educateur"]}
    # Redemander au même membre ne répète ni la demande ni l'événement.
    cahier.demander_accuse(acteur=medecin, note=note, destinataires=[monde.membres["ide"]])
    assert note.evenements.filter(nature=NatureEvenement.ACCUSE_DEMANDE).count() == 1
    assert Sollicitation.objects.filter(note=note).count() == 3


def test_destinataire_qui_ne_peut_pas_lire_refuse(monde):
    note = note_de(monde, "medecin", visibilite="INVISIBLE_PATIENT")
    avant = photo()
    with pytest.raises(ValidationError) as erreur:
        cahier.alerter(
            acteur=qui(monde, "medecin"),
            note=note,
            destinataires=[monde.membres["ide"], monde.membres["aidant"]],
        )
    message = erreur.value.message_dict["destinataires"][0]
    assert "ne peuvent pas lire" in message and "Sophie FICTIVE" in message
    assert photo() == avant


def test_destinataire_d_un_autre_cercle_refuse(monde):
    """L'infirmière est aussi dans le cercle de Paul : sa présence là-bas ne vaut pas pour Jeanne."""
    from cercle.models import TypeMembre
    from cercle.services import ajouter_membre

    note = note_de(monde, "medecin")
    ailleurs = ajouter_membre(
        acteur=qui(monde, "autre_usager"), usager=monde.autre_usager, type=TypeMembre.PROFESSIONNEL,
        exercice=monde.acteurs["ide"].exercice,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        cahier.alerter(acteur=qui(monde, "medecin"), note=note, destinataires=[ailleurs])


def test_accuse_de_reception_horodate(monde):
    note = note_de(monde, "medecin")
    cahier.demander_accuse(acteur=qui(monde, "medecin"), note=note, destinataires=[monde.membres["aidant"]])
    assert list(selectors.attend_mon_accuse(qui(monde, "aidant_avec_droits"))) == list(
        Sollicitation.objects.filter(note=note)
    )
    (sollicitation,) = cahier.accuser_reception(acteur=qui(monde, "aidant_avec_droits"), note=note)
    assert sollicitation.accusee_le is not None and sollicitation.accusee_par == "Sophie FICTIVE"
    assert not selectors.attend_mon_accuse(qui(monde, "aidant_avec_droits")).exists()
    with pytest.raises(ValidationError):
        cahier.accuser_reception(acteur=qui(monde, "aidant_avec_droits"), note=note)


def test_journal_au_nom_de_l_usager_quand_un_proche_ecrit(monde):
    from cercle.services import accorder

    accorder(acteur=qui(monde, "usager"), membre=monde.membres["aidant"], domaine="cahier", niveau=2)
    note = note_de(monde, "aidant_avec_droits", texte="Maman a bien mangé ce midi.")
    evenement = Evenement.objects.get(action="cahier.note.ecriture", objet_uuid=note.uuid)
    assert evenement.usager_uuid == monde.usager.uuid
    assert evenement.au_nom_de == str(monde.usager)
    assert evenement.proche_uuid == monde.acteurs["aidant_avec_droits"].proche.uuid
    assert (note.auteur_type, note.auteur_proche_id) == (
        "proche",
        monde.acteurs["aidant_avec_droits"].proche.pk,
    )


def test_chaque_ecriture_est_journalisee(monde):
    note = note_de(monde, "medecin")
    medecin = qui(monde, "medecin")
    cahier.repondre(
        acteur=qui(monde, "ide"), note=note, type="GEN", survenue_le=une_heure_avant(), texte="Vu."
    )
    cahier.modifier_note(acteur=medecin, note=note, texte="Précision.")
    cahier.demander_accuse(acteur=medecin, note=note, destinataires=[monde.membres["ide"]])
    cahier.accuser_reception(acteur=qui(monde, "ide"), note=note)
    cahier.alerter(acteur=medecin, note=note, destinataires=[monde.membres["educateur"]])
    cahier.marquer_lu(acteur=medecin, usager=monde.usager)
    cahier.desactiver_note(acteur=medecin, note=note, motif="Doublon.")
    from coordination.journal.libelles import LIBELLES_ACTIONS

    actions = list(
        Evenement.objects.filter(usager_uuid=monde.usager.uuid, action__startswith="cahier.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "cahier.note.ecriture", "cahier.note.reponse", "cahier.note.modification", "cahier.accuse.demande",
        "cahier.accuse.reception", "cahier.alerte", "cahier.lecture_marquee", "cahier.note.desactivation",
    ]  # fmt: skip
    assert all(action in LIBELLES_ACTIONS for action in actions)


def test_reception_simultanee_du_meme_identifiant_une_seule_note(monde, monkeypatch):
    """Deux réceptions concurrentes : la seconde ne voit pas encore la première, l'insertion bute
    sur la contrainte unique et renvoie la note déjà reçue."""
    premiere = note_de(monde, "systeme", master_identifier="N-9", systeme_emetteur="dui-fictif")
    verifier = cahier._deja_recue
    appels = []

    def pas_encore_vue(*args):
        appels.append(args)
        return None if len(appels) == 1 else verifier(*args)

    monkeypatch.setattr(cahier, "_deja_recue", pas_encore_vue)
    avant = photo()
    seconde = note_de(monde, "systeme", master_identifier="N-9", systeme_emetteur="dui-fictif")
    assert seconde.pk == premiere.pk and len(appels) == 2
    assert photo() == avant


@pytest.mark.parametrize("acteur", [None, "sans_personne"])
def test_personne_non_identifiee_refusee(monde, acteur):
    from coordination.comptes.acteur import Acteur, TypeActeur

    if acteur == "sans_personne":
        acteur = Acteur(TypeActeur.SANS_PERSONNE, monde.acteurs["usager"].compte)
    assert not tenter(
        lambda: cahier.ecrire_note(
            acteur=acteur, usager=monde.usager, type="GEN", survenue_le=une_heure_avant(), texte="Anonyme."
        )
    )
    assert not selectors.notes_visibles(acteur, monde.usager).exists()
    assert selectors.non_lus(acteur, monde.usager) == 0
    assert selectors.non_lus_par_usager(acteur) == {}
    assert not selectors.attend_mon_accuse(acteur).exists()
