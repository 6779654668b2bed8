"""Pages du cahier de liaison : le fil (nombre de requêtes constant, pagination par clé, filtres,
non-lus, « nouvelle », tout marquer lu, carte d'une note), écrire (messages en français, rien
d'écrit à moitié, forme simple de l'aidant, transmission ciblée), le fil d'une note (réponse,
modification avec conflit de version, historique, retrait motivé, accusé de réception, alerte
après coup), les non-lus de « Mes usagers » et de l'accueil."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from cahier_liaison import services as cahier
from cahier_liaison.models import Note, Sollicitation, VersionNote
from cercle import services as cercle
from tests.factories import connecter
from tests.monde_cahier import SANS_USAGER, SANTE, construire_monde_cahier, note_de, qui

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_cahier()


def texte(reponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(reponse.content.decode())).split())


def maintenant() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def url(nom: str, monde, note=None) -> str:
    arguments = {"usager_uuid": monde.usager.uuid}
    if note is not None:
        arguments["note_uuid"] = note.uuid
    return reverse(f"cahier_liaison:{nom}", kwargs=arguments)


def en_tant_que(client, monde, nom: str):
    connecter(client, monde.acteurs[nom].compte)
    return client


def ecrire_plusieurs(monde, nombre: int, nom: str = "medecin") -> list[Note]:
    return [note_de(monde, nom, texte=f"Observation numéro {i}.") for i in range(nombre)]


# --- Le fil ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nombre", [5, 50])
def test_fil_en_nombre_de_requetes_constant(client, monde, nombre, django_assert_max_num_queries):
    notes = ecrire_plusieurs(monde, nombre)
    for note in notes[:3]:
        cahier.demander_accuse(
            acteur=qui(monde, "medecin"),
            note=note,
            destinataires=[monde.membres["ide"], monde.membres["ssiad"]],
        )
        cahier.repondre(
            acteur=qui(monde, "ide"), note=note, type="OBS", survenue_le=note.survenue_le, texte="Vu."
        )
    en_tant_que(client, monde, "ide").get("/")
    # Compte, acteur, usager de l'adresse, habilitation, puis 4 du cahier (choix des filtres,
    # notes avec marque de lecture et non-lus, sollicitations, pièces jointes), le lot du journal des
    # lectures (verrou de la chaîne, INSERT) et la session, avec les points de sauvegarde de la
    # transaction du test.
    with django_assert_max_num_queries(15) as requetes:
        reponse = client.get(url("fil", monde))
    assert reponse.status_code == 200
    assert reponse.content.decode().count("data-note=") == nombre
    donnees = [r["sql"] for r in requetes.captured_queries if "cahier_" in r["sql"]]
    assert len(donnees) <= 4, donnees  # filtres, notes (et lecture), sollicitations, pièces


def test_fil_pagination_par_cle_sans_trou_ni_doublon(client, monde):
    notes = ecrire_plusieurs(monde, 120)
    en_tant_que(client, monde, "ide")
    vues, adresse = [], url("fil", monde)
    for _ in range(3):
        reponse = client.get(adresse)
        contenu = unescape(reponse.content.decode())
        vues += re.findall(r'data-note="([0-9a-f-]+)"', contenu)
        suite = re.search(r'href="\?avant=([0-9a-f-]+)"', contenu)
        if suite is None:
            break
        adresse = url("fil", monde) + f"?avant={suite.group(1)}"
    assert len(vues) == 120 and len(set(vues)) == 120
    assert vues == [str(n.uuid) for n in reversed(notes)]
    assert "OFFSET" not in str(Note.objects.all()[:1].query)  # rappel : le fil n'en utilise pas
    assert "Voir les plus anciennes" not in contenu


def test_fil_filtres_type_urgence_periode(client, monde):
    note_de(monde, "medecin", type="INST", texte="Instruction : peser chaque matin.")
    note_de(monde, "medecin", urgente=True, texte="Chute dans la salle de bain.")
    vieille = note_de(monde, "medecin", texte="Note de la semaine dernière.")
    Note.objects.filter(pk=vieille.pk).update(ecrite_le=timezone.now() - datetime.timedelta(days=8))
    en_tant_que(client, monde, "ide")
    seulement = texte(client.get(url("fil", monde) + "?type=INST"))
    assert "peser chaque matin" in seulement and "Chute" not in seulement
    urgentes = texte(client.get(url("fil", monde) + "?urgente=oui"))
    assert "Chute" in urgentes and "peser" not in urgentes and "Urgent" in urgentes
    jour = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()
    recentes = texte(client.get(url("fil", monde) + f"?depuis={jour}"))
    assert "semaine dernière" not in recentes and "Chute" in recentes
    anciennes = texte(client.get(url("fil", monde) + f"?jusqu_au={jour}"))
    assert "semaine dernière" in anciennes and "Chute" not in anciennes
    assert "Aucune note ne correspond" in texte(client.get(url("fil", monde) + "?type=DEM-AVIS"))


def test_carte_transmission_ciblee_badges_et_au_nom_de(client, monde):
    ciblee = note_de(
        monde, "ide", texte="", cible="Douleur", donnees="EVA 6/10", actions="Antalgique",
        resultats="EVA 2/10", visibilite=SANTE, urgente=True,
    )  # fmt: skip
    # Une note reçue du DUI du SSIAD pour le compte de l'infirmière.
    dui = note_de(monde, "ide", texte="Passage de l'aide-soignante.")
    Note.objects.filter(pk=dui.pk).update(
        auteur_type="logiciel",
        auteur_structure=monde.ssiad,
        auteur_nom="DUI fictif",
        auteur_qualite="logiciel",
    )
    page = texte(en_tant_que(client, monde, "medecin").get(url("fil", monde)))
    for attendu in (
        "Cible Douleur",
        "Données EVA 6/10",
        "Actions Antalgique",
        "Résultats EVA 2/10",
        "Urgent",
    ):
        assert attendu in page
    assert "Professionnels de santé seulement" in page
    assert f"au nom de {monde.acteurs['ide'].exercice.professionnel}" in page
    assert ciblee.auteur_qualite in page
    assert "Observé le" in page and "écrit le" in page


def test_non_lus_nouvelle_et_tout_marquer_lu(client, monde):
    ecrire_plusieurs(monde, 3)
    note_de(monde, "ide", texte="Ma propre note.")
    en_tant_que(client, monde, "ide")
    page = texte(client.get(url("fil", monde)))
    assert "3 notes non lues" in page
    assert page.count("Nouvelle") == 3  # pas ma propre note
    reponse = client.post(url("marquer_lu", monde))
    assert reponse.status_code == 302
    page = texte(client.get(url("fil", monde)))
    assert "Aucune note non lue" in page and "Nouvelle" not in page
    note_de(monde, "medecin", texte="Une de plus.")
    assert "1 note non lue" in texte(client.get(url("fil", monde)))


def test_fil_lecture_journalisee(client, monde):
    from coordination.journal.models import Evenement

    ecrire_plusieurs(monde, 2)
    en_tant_que(client, monde, "ide").get(url("fil", monde))
    lecture = Evenement.objects.filter(action="cahier.lecture").get()
    assert lecture.usager_uuid == monde.usager.uuid and lecture.details == {"notes": 2}


def test_note_retiree_affichee_avec_son_motif(client, monde):
    note = note_de(monde, "medecin", texte="Texte qui ne doit plus se lire.")
    en_tant_que(client, monde, "medecin")
    reponse = client.post(url("retirer", monde, note), {"motif": ""})
    assert reponse.status_code == 400
    assert "Motif : dites pourquoi la note est désactivée." in texte(reponse)
    assert Note.objects.get(pk=note.pk).active
    client.post(url("retirer", monde, note), {"motif": "Erreur de personne."})
    note.refresh_from_db()
    assert not note.active
    for nom in ("medecin", "usager"):
        client.logout()
        page = texte(en_tant_que(client, monde, nom).get(url("fil", monde)))
        le = timezone.localtime(note.desactivee_le).strftime("%d/%m/%Y à %H:%M")
        assert f"Transmission retirée le {le} : Erreur de personne." in page
        assert "Texte qui ne doit plus se lire" not in page


# --- Écrire ---------------------------------------------------------------------------------------


def test_ecrire_contenu_vide_refuse_en_francais_rien_ecrit(client, monde):
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("ecrire", monde),
        {
            "type": "OBS",
            "mode": "ciblee",
            "cible": "",
            "texte": "",
            "survenue_le": maintenant(),
            "urgente": "on",
        },
    )
    assert reponse.status_code == 400
    assert "Contenu : écrivez un texte, ou une transmission ciblée" in texte(reponse)
    assert not Note.objects.exists()


def test_ecrire_moment_futur_ou_illisible(client, monde):
    en_tant_que(client, monde, "ide")
    demain = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    reponse = client.post(
        url("ecrire", monde), {"type": "OBS", "mode": "libre", "texte": "x", "survenue_le": demain}
    )
    assert "Moment de l'événement : il ne peut pas être dans le futur." in texte(reponse)
    reponse = client.post(
        url("ecrire", monde), {"type": "OBS", "mode": "libre", "texte": "x", "survenue_le": "hier"}
    )
    assert "Moment observé : date et heure attendues" in texte(reponse)
    assert not Note.objects.exists()


def test_ecrire_destinataire_qui_ne_peut_pas_lire_rien_a_moitie(client, monde):
    """La note et ses sollicitations sont écrites ensemble ou pas du tout ; la saisie est gardée."""
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("ecrire", monde),
        {
            "type": "OBS",
            "mode": "libre",
            "texte": "Escarre talon droit.",
            "survenue_le": maintenant(),
            "visibilite": SANTE,
            "accuse": [str(monde.membres["medecin"].uuid)],
            "alerte": [str(monde.membres["aidant"].uuid)],  # l'aidante ne lit pas les notes « santé »
        },
    )
    assert reponse.status_code == 400
    page = texte(reponse)
    assert "Destinataires : ces personnes ne peuvent pas lire cette note : Claire FICTIVE." in page or (
        "ne peuvent pas lire cette note" in page
    )
    assert "Escarre talon droit." in unescape(reponse.content.decode())  # saisie gardée
    assert not Note.objects.exists() and not Sollicitation.objects.exists()


def test_ecrire_transmission_ciblee_avec_accuse_et_alerte(client, monde):
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("ecrire", monde),
        {
            "type": "OBS",
            "mode": "ciblee",
            "texte": "ignoré : la forme choisie est la transmission ciblée",
            "cible": "Alimentation",
            "donnees": "A mangé la moitié du repas.",
            "survenue_le": maintenant(),
            "visibilite": SANS_USAGER,
            "accuse": [str(monde.membres["medecin"].uuid)],
            "alerte": [str(monde.membres["coordinatrice"].uuid)],
        },
    )
    assert reponse.status_code == 302
    note = Note.objects.get()
    assert (note.texte, note.cible, note.visibilite) == ("", "Alimentation", SANS_USAGER)
    assert sorted(note.sollicitations.values_list("nature", flat=True)) == ["accuse", "alerte"]
    assert reponse["Location"] == url("note", monde, note)


def test_visibilites_proposees_selon_l_auteur(client, monde):
    page = texte(en_tant_que(client, monde, "educateur").get(url("ecrire", monde)))
    assert "Professionnels seulement" in page and "Professionnels de santé seulement" not in page
    client.logout()
    page = texte(en_tant_que(client, monde, "medecin").get(url("ecrire", monde)))
    assert "Professionnels de santé seulement" in page
    assert "ni la personne accompagnée ni ses proches" in page


def test_aidant_avec_ecriture_forme_simple(client, monde):
    cercle.accorder(acteur=monde["usager"], membre=monde.membres["aidant"], domaine="cahier", niveau=2)
    en_tant_que(client, monde, "aidant_avec_droits")
    page = texte(client.get(url("ecrire", monde)))
    assert "Transmission ciblée" not in page and "Qui pourra lire" not in page
    assert "Racontez ce qui s'est passé" in page
    reponse = client.post(
        url("ecrire", monde),
        {"type": "OBS", "texte": "Maman a bien dormi.", "survenue_le": maintenant(), "visibilite": SANTE},
    )
    assert reponse.status_code == 302
    note = Note.objects.get()
    assert note.auteur_type == "proche" and note.visibilite == ""  # la forme simple ignore la visibilité


# --- Le fil d'une note ----------------------------------------------------------------------------


def test_repondre_et_nombre_de_reponses(client, monde):
    note = note_de(monde, "medecin", visibilite=SANS_USAGER)
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("repondre", monde, note),
        {"type": "OBS", "mode": "libre", "texte": "Fait.", "survenue_le": maintenant()},
    )
    assert reponse.status_code == 302
    reponse_note = Note.objects.get(reponse_a=note)
    assert reponse_note.visibilite == SANS_USAGER  # garde la visibilité de la note d'origine
    assert reponse["Location"].endswith(f"#note-{reponse_note.uuid}")
    assert "1 réponse" in texte(client.get(url("fil", monde)))
    assert "Fait." in texte(client.get(url("note", monde, note)))
    vide = client.post(
        url("repondre", monde, note), {"type": "OBS", "mode": "libre", "survenue_le": maintenant()}
    )
    assert vide.status_code == 400 and "Contenu : écrivez un texte" in texte(vide)
    assert Note.objects.filter(reponse_a=note).count() == 1


def test_modifier_conflit_de_version_puis_historique(client, monde):
    note = note_de(monde, "medecin", texte="Tension 14/8.")
    en_tant_que(client, monde, "medecin")
    assert 'name="version" value="1"' in client.get(url("modifier", monde, note)).content.decode()
    # Entre-temps, l'auteur la modifie ailleurs (autre onglet, son DUI…).
    cahier.modifier_note(acteur=qui(monde, "medecin"), note=note, texte="Tension 13/8.")
    donnees = {
        "type": "OBS",
        "mode": "libre",
        "texte": "Tension 15/9.",
        "survenue_le": maintenant(),
        "version": "1",
    }
    reponse = client.post(url("modifier", monde, note), donnees)
    assert reponse.status_code == 400
    assert "Cette note a été modifiée entre-temps (version 2" in texte(reponse)
    note.refresh_from_db()
    assert (note.texte, note.version, VersionNote.objects.count()) == ("Tension 13/8.", 2, 1)
    reponse = client.post(url("modifier", monde, note), {**donnees, "version": "2", "urgente": "on"})
    assert reponse.status_code == 302
    note.refresh_from_db()
    assert (note.texte, note.version, note.urgente) == ("Tension 15/9.", 3, True)
    page = texte(client.get(url("historique", monde, note)))
    for attendu in ("Version 3 (actuelle)", "Version 2", "Version 1", "Tension 14/8.", "Tension 13/8."):
        assert attendu in page
    assert "Changé : texte , urgence" in page or "Changé : texte, urgence" in page


def test_modifier_reserve_a_l_auteur(client, monde):
    note = note_de(monde, "medecin")
    reponse = en_tant_que(client, monde, "ide").post(
        url("modifier", monde, note),
        {"type": "OBS", "mode": "libre", "texte": "Autre.", "survenue_le": maintenant(), "version": "1"},
    )
    assert reponse.status_code == 403
    assert "Seul l'auteur d'une note peut la modifier." in texte(reponse)


def test_accuser_reception_depuis_le_fil(client, monde):
    note = note_de(monde, "medecin")
    cahier.demander_accuse(acteur=qui(monde, "medecin"), note=note, destinataires=[monde.membres["ide"]])
    en_tant_que(client, monde, "ide")
    page = texte(client.get(url("fil", monde)))
    assert "Accuser réception" in page and "Accusé de réception attendu de" in page
    assert "1" in texte(client.get(url("fil", monde) + "?attend_mon_accuse=on"))
    reponse = client.post(url("accuser", monde, note))
    assert reponse.status_code == 302
    page = texte(client.get(url("fil", monde)))
    assert "Accuser réception" not in page
    assert f"Reçu par {monde.acteurs['ide'].nom}" in page
    deja = client.post(url("accuser", monde, note))
    assert deja.status_code == 400
    assert "Aucun accusé de réception ne vous est demandé pour cette note." in texte(deja)


def test_alerter_apres_coup_et_refus_explique(client, monde):
    note = note_de(monde, "medecin", visibilite=SANTE)
    en_tant_que(client, monde, "medecin")
    refus = client.post(url("alerter", monde, note), {"membres": [str(monde.membres["educateur"].uuid)]})
    assert refus.status_code == 400
    assert "ne peuvent pas lire cette note" in texte(refus)
    assert not Sollicitation.objects.exists()
    vide = client.post(url("alerter", monde, note), {})
    assert "Destinataires : choisissez au moins un membre du cercle." in texte(vide)
    ok = client.post(url("alerter", monde, note), {"membres": [str(monde.membres["ide"].uuid)]})
    assert ok.status_code == 302
    assert Sollicitation.objects.get().nature == "alerte"


def test_fragment_d_une_reponse_rend_la_carte_d_origine(client, monde):
    note = note_de(monde, "medecin")
    reponse_note = cahier.repondre(
        acteur=qui(monde, "ide"), note=note, type="OBS", survenue_le=note.survenue_le, texte="Vu."
    )
    contenu = en_tant_que(client, monde, "usager").get(url("fragment", monde, reponse_note)).content.decode()
    assert f'id="note-{note.uuid}"' in contenu and "1 réponse" in contenu
    assert 'data-non-lus="2"' in contenu


# --- Ailleurs : « Mes usagers », accueil ----------------------------------------------------------


def test_mes_usagers_montre_les_non_lus_seulement_a_qui_lit_le_cahier(client, monde):
    ecrire_plusieurs(monde, 2)
    page = texte(en_tant_que(client, monde, "ide").get("/"))
    assert "Cahier de liaison de Jeanne FICTIVE" in page and "2 non lues" in page
    client.logout()
    page = texte(en_tant_que(client, monde, "pro_sans_droit").get("/"))
    assert "Cahier de liaison" not in page and "non lue" not in page


def test_accueil_de_l_usager_et_de_l_aidant(client, monde):
    ecrire_plusieurs(monde, 1)
    note_de(monde, "medecin", visibilite=SANS_USAGER)
    page = texte(en_tant_que(client, monde, "usager").get("/"))
    assert "1 note non lue" in page and "Ouvrir le cahier de liaison" in page
    client.logout()
    page = texte(en_tant_que(client, monde, "aidant_sans_droit").get("/"))
    assert "Ouvrir le cahier de liaison" not in page
    assert "Vous n'avez pas accès au cahier de liaison." in page
