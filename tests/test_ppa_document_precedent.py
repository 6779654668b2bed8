"""Projet précédent joint (PDF, photo) : contrôlé et rangé comme les pièces jointes du cahier
(mêmes fonctions), refus en français sans rien écrire (ni ligne, ni fichier, ni journal),
téléchargé avec les droits de lecture du projet et journalisé ; service `ppa.reprise`."""

from __future__ import annotations

import io
from html import unescape
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from cercle.services import AccesRefuse
from coordination.journal.models import Evenement
from ppa import reprise, selectors_suivi
from ppa import services as ppa
from ppa.models import DocumentPrecedent
from tests import fichiers_pieces as f
from tests.factories import connecter
from tests.monde_ppa import construire_monde_ppa, projet_de, qui

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def monde():
    return construire_monde_ppa()


@pytest.fixture
def projet(monde):
    return projet_de(monde)


def _fichiers_ranges(stockage: Path) -> list[Path]:
    return [p for p in stockage.rglob("*") if p.is_file()]


def _adresse_ajout(monde, projet) -> str:
    return reverse("ppa:document_ajouter", args=[monde.usager.uuid, projet.uuid])


def _etat() -> tuple:
    return DocumentPrecedent.objects.count(), Evenement.objects.exclude(action__contains="lecture").count()


def test_joindre_un_pdf_puis_le_telecharger(client, monde, projet, stockage):
    connecter(client, monde.acteurs["aidant_avec_droits"].compte)
    page = client.get(_adresse_ajout(monde, projet))
    assert page.status_code == 200 and "Joindre ce document" in page.content.decode()
    reponse = client.post(
        _adresse_ajout(monde, projet),
        {
            "fichier": f.fichier("projet foyer 2025.pdf", f.pdf_sain(), "application/pdf"),
            "description": "Foyer",
        },
    )
    assert reponse.status_code == 302
    assert reponse["Location"] == reverse("ppa:versions", args=[monde.usager.uuid, projet.uuid])
    document = DocumentPrecedent.objects.get()
    assert (document.nom, document.type_mime, document.description) == (
        "projet foyer 2025.pdf",
        "application/pdf",
        "Foyer",
    )
    assert document.fichier.name.startswith("ppa/") and "foyer" not in document.fichier.name
    assert document.ajoute_par_nom == "Sophie FICTIVE" and len(_fichiers_ranges(stockage)) == 1
    ajout = Evenement.objects.get(action="ppa.document_precedent.ajout")
    assert ajout.details["sha256"] == document.sha256 and ajout.au_nom_de == "Jeanne FICTIVE"
    assert "contenu" not in ajout.details

    versions = client.get(reponse["Location"]).content.decode()
    assert "« projet foyer 2025.pdf » est joint au projet." in unescape(versions)
    adresse = reverse("ppa:document", args=[monde.usager.uuid, projet.uuid, document.uuid])
    assert adresse in versions

    connecter(client, monde.acteurs["medecin"].compte)  # lit le projet sans l'écrire
    telecharge = client.get(adresse)
    assert telecharge.status_code == 200
    assert b"".join(telecharge.streaming_content) == f.pdf_sain()
    assert telecharge["Content-Type"] == "application/pdf"
    assert telecharge["Content-Disposition"].startswith("attachment;")
    assert (
        telecharge["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in telecharge["Content-Security-Policy"]
    )
    assert telecharge["Cache-Control"] == "private, no-store"
    lecture = Evenement.objects.get(action=selectors_suivi.LECTURE_DOCUMENT)
    assert lecture.objet_uuid == document.uuid and lecture.usager_uuid == monde.usager.uuid
    assert lecture.compte_uuid == monde.acteurs["medecin"].compte.uuid


def test_une_photo_est_reencodee_sans_metadonnees_et_affichee(client, monde, projet):
    connecter(client, monde.acteurs["ide"].compte)
    photo = f.photo_jpeg(800, 600, gps=True)
    assert (
        client.post(_adresse_ajout(monde, projet), {"fichier": f.fichier("scan.jpg", photo)}).status_code
        == 302
    )
    document = DocumentPrecedent.objects.get()
    assert document.type_mime == "image/jpeg" and document.est_image
    with document.fichier.open("rb") as ouvert:
        contenu = ouvert.read()
    assert contenu != photo
    assert not Image.open(io.BytesIO(contenu)).getexif()  # plus de position GPS
    reponse = client.get(reverse("ppa:document", args=[monde.usager.uuid, projet.uuid, document.uuid]))
    assert reponse["Content-Type"] == "image/jpeg" and reponse["Content-Disposition"].startswith("inline;")
    assert b"".join(reponse.streaming_content) == contenu  # lu jusqu'au bout : le client referme le fichier


@pytest.mark.parametrize(
    ("nom", "contenu", "message"),
    [
        ("dessin.svg", f.svg_avec_script(), "les images SVG sont refusées"),
        ("page.pdf", f.html_deguise(), "ce fichier est une page web"),
        ("archive.pdf", f.zip_deguise(), "ce fichier est une archive"),
        ("actif.pdf", f.pdf_javascript(), "ce PDF contient du contenu actif"),
        ("chiffre.pdf", f.pdf_chiffre(), "protégé par un mot de passe"),
        ("texte.txt", b"Projet de Jeanne", "type de fichier non reconnu"),
        ("vide.pdf", b"", "Le fichier est vide."),
    ],
)
def test_fichier_refuse_en_francais_rien_d_ecrit(client, monde, projet, stockage, nom, contenu, message):
    connecter(client, monde.acteurs["ide"].compte)
    avant = _etat()
    reponse = client.post(
        _adresse_ajout(monde, projet), {"fichier": f.fichier(nom, contenu, "application/pdf")}
    )
    assert reponse.status_code == 400
    page = unescape(reponse.content.decode())
    assert message in page, page[page.find("champ__erreur") :][:600]
    assert _etat() == avant and _fichiers_ranges(stockage) == []


def test_fichier_trop_gros_ou_absent(client, monde, projet, stockage, settings):
    settings.CAHIER_PIECE_TAILLE_MAX = 2048
    connecter(client, monde.acteurs["ide"].compte)
    avant = _etat()
    gros = f.fichier("gros.pdf", f.pdf_sain() + b"%" * 4096, "application/pdf")
    reponse = client.post(_adresse_ajout(monde, projet), {"fichier": gros})
    assert reponse.status_code == 400
    assert "« gros.pdf » : le fichier est trop gros ; 2 Ko au plus." in unescape(reponse.content.decode())
    sans = client.post(_adresse_ajout(monde, projet), {"description": "rien"})
    assert sans.status_code == 400
    assert "Choisissez le fichier du projet précédent (PDF ou photo)." in unescape(sans.content.decode())
    assert _etat() == avant and _fichiers_ranges(stockage) == []


def test_nombre_de_documents_limite(monde, projet, stockage, monkeypatch):
    monkeypatch.setattr(reprise, "DOCUMENTS_PAR_PROJET", 1)
    ide = qui(monde, "ide")
    reprise.joindre_document(acteur=ide, projet=projet, fichier=f.fichier("a.pdf", f.pdf_sain()))
    avant = _etat()
    with pytest.raises(ValidationError, match="déjà 1 documents joints"):
        reprise.joindre_document(acteur=ide, projet=projet, fichier=f.fichier("b.pdf", f.pdf_sain()))
    assert _etat() == avant and len(_fichiers_ranges(stockage)) == 1


def test_service_refuse_sans_ecriture_rien_d_ecrit(monde, projet, stockage):
    avant = _etat()
    for nom in ("medecin", "pro_hors_cercle", "aidant_sans_droit"):
        with pytest.raises(AccesRefuse):
            reprise.joindre_document(
                acteur=qui(monde, nom), projet=projet, fichier=f.fichier("a.pdf", f.pdf_sain())
            )
    assert _etat() == avant and _fichiers_ranges(stockage) == []


def test_echec_de_l_ecriture_efface_le_fichier(monde, projet, stockage, monkeypatch):
    """La ligne n'est pas écrite (erreur en base) : le fichier déjà rangé est effacé."""

    def en_panne(**kwargs):
        raise RuntimeError("journal indisponible")

    monkeypatch.setattr(reprise, "journaliser", en_panne)
    with pytest.raises(RuntimeError):
        reprise.joindre_document(
            acteur=qui(monde, "ide"), projet=projet, fichier=f.fichier("a.pdf", f.pdf_sain())
        )
    assert not DocumentPrecedent.objects.exists() and _fichiers_ranges(stockage) == []


def test_document_d_un_autre_projet_404(client, monde, projet):
    reprise.joindre_document(
        acteur=qui(monde, "ide"), projet=projet, fichier=f.fichier("a.pdf", f.pdf_sain())
    )
    document = DocumentPrecedent.objects.get()
    autre = projet_de_type(monde, "PAI")
    connecter(client, monde.acteurs["ide"].compte)
    for adresse in (
        reverse("ppa:document", args=[monde.usager.uuid, autre.uuid, document.uuid]),
        reverse("ppa:document", args=[monde.usager.uuid, projet.uuid, projet.uuid]),
    ):
        assert client.get(adresse).status_code == 404
    assert not Evenement.objects.filter(action=selectors_suivi.LECTURE_DOCUMENT).exists()


def projet_de_type(monde, type_: str):
    return ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type=type_
    )
