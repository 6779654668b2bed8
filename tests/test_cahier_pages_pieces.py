"""Pièces jointes par les pages du cahier : une photo prise au domicile part avec la note, ses
métadonnées en moins ; un fichier refusé (SVG, trop gros) laisse la saisie intacte, un message en
français qui nomme le fichier, et rien d'écrit — ni note ni fichier."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cahier_liaison.models import Note, PieceJointe
from tests import fichiers_pieces as f
from tests.test_cahier_pages import en_tant_que, maintenant, texte, url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def monde():
    from tests.monde_cahier import construire_monde_cahier

    return construire_monde_cahier()


def fichiers_ranges(racine) -> list:
    return [chemin for chemin in racine.rglob("*") if chemin.is_file()]


def saisie(**autres) -> dict:
    return {
        "type": "OBS",
        "mode": "libre",
        "texte": "Chute dans la salle de bain.",
        "survenue_le": maintenant(),
        **autres,
    }


def test_photo_du_domicile_jointe_a_la_note_et_montree_dans_le_fil(client, monde):
    en_tant_que(client, monde, "representant")
    photo = f.fichier("IMG_2041.jpg", f.photo_jpeg(gps=True))
    reponse = client.post(url("ecrire", monde), saisie(pieces=[photo]))
    assert reponse.status_code == 302, texte(reponse)
    note = Note.objects.get()
    piece = PieceJointe.objects.get(note=note)
    # Dans le fil, la vignette passe par la vue qui vérifie les droits.
    fil = client.get(url("fil", monde)).content.decode()
    adresse = f"/usagers/{monde.usager.uuid}/cahier/pieces/{piece.uuid}/vignette/"
    assert adresse in fil
    vignette = client.get(adresse)
    assert vignette.status_code == 200
    contenu = b"".join(vignette.streaming_content)  # lu jusqu'au bout : le fichier est refermé
    image = Image.open(io.BytesIO(contenu))
    assert not image.getexif()  # ni lieu ni appareil
    # Un professionnel qui lit le cahier la voit aussi ; un professionnel sans droit, non.
    en_tant_que(client, monde, "ide")
    reponse = client.get(adresse)
    assert reponse.status_code == 200
    assert b"".join(reponse.streaming_content)
    en_tant_que(client, monde, "pro_sans_droit")
    assert client.get(adresse).status_code in (403, 404)


def test_svg_refuse_saisie_gardee_rien_ecrit(client, monde, stockage):
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("ecrire", monde),
        saisie(pieces=[f.fichier("schema.svg", f.svg_avec_script(), "image/svg+xml")]),
    )
    assert reponse.status_code == 400
    page = texte(reponse)
    assert "« schema.svg »" in page and "SVG" in page
    assert "Chute dans la salle de bain." in page  # la saisie n'est pas perdue
    assert not Note.objects.exists() and not PieceJointe.objects.exists()
    assert fichiers_ranges(stockage) == []


def test_fichier_trop_gros_ecarte_a_la_reception_avec_un_message(client, monde, settings, stockage):
    settings.CAHIER_PIECE_TAILLE_MAX = 20_000
    en_tant_que(client, monde, "ide")
    gros = f.fichier("radio.jpg", f.photo_jpeg(2000, 1500, gps=False))
    assert gros.size > 20_000
    reponse = client.post(url("ecrire", monde), saisie(pieces=[gros]))
    assert reponse.status_code == 400
    assert "« radio.jpg » : le fichier est trop gros" in texte(reponse)
    assert not Note.objects.exists() and not PieceJointe.objects.exists()
    assert fichiers_ranges(stockage) == []


def test_reponse_avec_un_pdf(client, monde):
    from tests.monde_cahier import note_de

    origine = note_de(monde, "medecin", texte="Ordonnance renouvelée.")
    en_tant_que(client, monde, "ide")
    reponse = client.post(
        url("repondre", monde, origine),
        saisie(texte="Compte rendu joint.", pieces=[f.fichier("cr.pdf", f.pdf_sain(), "application/pdf")]),
    )
    assert reponse.status_code == 302, texte(reponse)
    reponse_note = Note.objects.get(reponse_a=origine)
    assert reponse_note.pieces_jointes.get().type_mime == "application/pdf"


def test_modifier_ne_propose_pas_d_ajouter_des_pieces(client, monde):
    from tests.monde_cahier import note_de

    note = note_de(monde, "ide", texte="Pansement refait.")
    en_tant_que(client, monde, "ide")
    page = client.get(url("modifier", monde, note)).content.decode()
    assert 'name="pieces"' not in page
    assert 'name="pieces"' in client.get(url("ecrire", monde)).content.decode()
