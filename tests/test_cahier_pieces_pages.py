"""Téléchargement des pièces jointes, vignettes et export du cahier : matrice d'autorisation
(routes × chaque sorte d'acteur du monde du cahier × chaque visibilité de note), règle 404/403
(ADR 0008) avec les refus journalisés, en-têtes de service (type détecté, nosniff, CSP sandbox,
no-store, Content-Disposition RFC 6266), note désactivée, nombre de requêtes constant ; export PDF
lu avec pypdf (contenu, notes invisibles absentes, réponses, notes retirées) et rendu en PNG ;
export JSON (forme stable) ; formulaire de période (erreurs en français).

Taille de la matrice : `pytest tests/test_cahier_pieces_pages.py -k matrice --collect-only -q`."""

from __future__ import annotations

import datetime
import io
import json
import shutil
import subprocess
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from cahier_liaison import services as cahier
from coordination.journal.models import Evenement
from tests import fichiers_pieces as f
from tests.factories import connecter
from tests.monde_cahier import (
    ATTENDU,
    VISIBILITES,
    construire_monde_cahier,
    note_de,
    peut_lire,
    qui,
    une_heure_avant,
)

pytestmark = pytest.mark.django_db

# Sortes d'acteurs qui ouvrent une session dans un navigateur (le logiciel d'une structure et le
# système n'en ont pas : ils passent par l'API et FHIR, pas par ces pages).
ACTEURS = ["anonyme"] + [nom for nom in ATTENDU if nom not in ("dui_ssiad", "systeme")]
# Ceux pour qui Jeanne « n'existe pas » (ADR 0008) : 404 sur toute adresse qui la désigne.
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
REFUS = "cercle.acces_refuse"
# Auteur d'une note de chaque visibilité : le médecin (professionnel de santé) peut tout écrire.
AUTEUR = "medecin"


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def fichiers():
    return {"photo": f.photo_jpeg(400, 300), "pdf": f.pdf_sain()}


def ecrire_avec_pieces(monde, fichiers, visibilite="", nom=AUTEUR, **champs):
    valeurs = {"type": "OBS", "survenue_le": champs.pop("survenue_le", None) or une_heure_avant()}
    valeurs.update({"texte": "Rougeur au talon droit.", **champs})
    return cahier.ecrire_note(
        acteur=qui(monde, nom), usager=monde.usager, visibilite=visibilite,
        pieces_jointes=[f.fichier("talon.jpg", fichiers["photo"]), f.fichier("bilan.pdf", fichiers["pdf"])],
        **valeurs,
    )  # fmt: skip


def client_de(client, monde, nom: str):
    if nom != "anonyme":
        connecter(client, monde.acteurs[nom].compte)
    return client


def statut_attendu(nom: str, visibilite: str | None) -> int:
    """Anonyme → connexion ; usager inconnu → 404 ; connu sans lecture du cahier → 403 ; lecteur
    du cahier mais note d'une visibilité qu'il ne lit pas → 404 (la pièce n'existe pas pour lui)."""
    if nom == "anonyme":
        return 302
    if nom in INCONNUS:
        return 404
    niveau, lisibles = ATTENDU[nom]
    if niveau < 1:
        return 403
    if visibilite is not None and visibilite not in lisibles:
        return 404
    return 200


def verifier_refus_journalise(monde, nom, attendu, avant):
    refus = Evenement.objects.exclude(id__in=avant).filter(action=REFUS)
    if attendu == 403:
        evenement = refus.get()
        assert evenement.usager_uuid == monde.usager.uuid and evenement.resultat == "refuse"
        assert evenement.compte_uuid == monde.acteurs[nom].compte.uuid
        assert evenement.details["route"].startswith("cahier_liaison:")
    else:
        assert not refus.exists(), (nom, attendu)


def adresse(nom_route, monde, piece):
    return reverse(
        f"cahier_liaison:{nom_route}", kwargs={"usager_uuid": monde.usager.uuid, "piece_uuid": piece.uuid}
    )


# --- Matrice : pièces jointes et vignettes ------------------------------------------------------


@pytest.mark.parametrize("acteur", ACTEURS)
@pytest.mark.parametrize("visibilite", VISIBILITES)
@pytest.mark.parametrize("route", ["piece_jointe", "vignette"])
def test_matrice_pieces(client, fichiers, route, visibilite, acteur):
    monde = construire_monde_cahier()
    note = ecrire_avec_pieces(monde, fichiers, visibilite)
    photo = note.pieces_jointes.get(nom="talon.jpg")
    attendu = statut_attendu(acteur, visibilite)
    assert (attendu == 200) == (acteur != "anonyme" and peut_lire(acteur, visibilite))
    avant = set(Evenement.objects.values_list("id", flat=True))
    reponse = client_de(client, monde, acteur).get(adresse(route, monde, photo))
    assert reponse.status_code == attendu, (route, visibilite, acteur)
    verifier_refus_journalise(monde, acteur, attendu, avant)
    lectures = (
        Evenement.objects.exclude(id__in=avant)
        .filter(action__startswith="cahier.")
        .filter(action__endswith=".lecture")
    )
    if attendu == 200:
        contenu = b"".join(reponse.streaming_content)
        assert contenu.startswith(b"\xff\xd8")  # JPEG
        (lecture,) = lectures
        assert lecture.objet_uuid == photo.uuid and lecture.usager_uuid == monde.usager.uuid
        assert lecture.action == (
            "cahier.vignette.lecture" if route == "vignette" else "cahier.piece_jointe.lecture"
        )
    else:
        assert not lectures.exists()
        assert not getattr(reponse, "streaming", False)


@pytest.mark.parametrize("acteur", ACTEURS)
def test_matrice_export(client, acteur):
    monde = construire_monde_cahier()
    note_de(monde, texte="Note de la période.")
    attendu = statut_attendu(acteur, None)
    base = reverse("cahier_liaison:export", kwargs={"usager_uuid": monde.usager.uuid})
    for suffixe, type_attendu in (
        ("", "text/html"),
        ("?du=2020-01-01&au=2020-12-31&format=json", "application/json"),
    ):
        avant = set(Evenement.objects.values_list("id", flat=True))
        reponse = client_de(client, monde, acteur).get(base + suffixe)
        assert reponse.status_code == attendu, (acteur, suffixe)
        verifier_refus_journalise(monde, acteur, attendu, avant)
        exporte = Evenement.objects.exclude(id__in=avant).filter(action="cahier.export")
        if attendu == 200:
            assert reponse["Content-Type"].startswith(type_attendu)
            assert reponse["Cache-Control"] == "private, no-store"
            assert exporte.count() == (1 if suffixe else 0)
        else:
            assert not exporte.exists()


# --- En-têtes, règles de service ----------------------------------------------------------------


def test_entetes_de_service(client, fichiers, stockage):
    monde = construire_monde_cahier()
    note = ecrire_avec_pieces(monde, fichiers, nom="ide")
    photo, pdf = note.pieces_jointes.get(nom="talon.jpg"), note.pieces_jointes.get(nom="bilan.pdf")
    connecter(client, monde.acteurs["medecin"].compte)
    client.get("/")
    # Session et acteur (4), usager de l'adresse, droits, pièce et sa note, journal de la lecture (4).
    with CaptureQueriesContext(connection) as requetes:
        reponse = client.get(adresse("piece_jointe", monde, photo))
    assert len(requetes) <= 13, [q["sql"][:80] for q in requetes]
    assert reponse["Content-Type"] == "image/jpeg"
    assert (
        reponse["Content-Disposition"].startswith("inline;") and "talon.jpg" in reponse["Content-Disposition"]
    )
    assert reponse["X-Content-Type-Options"] == "nosniff"
    assert (
        "sandbox" in reponse["Content-Security-Policy"]
        and "default-src 'none'" in reponse["Content-Security-Policy"]
    )
    assert reponse["Cache-Control"] == "private, no-store"
    with photo.fichier.open("rb") as fichier:
        assert b"".join(reponse.streaming_content) == fichier.read()
    reponse = client.get(adresse("piece_jointe", monde, pdf))
    assert reponse["Content-Type"] == "application/pdf"
    assert reponse["Content-Disposition"].startswith("attachment;")
    assert b"".join(reponse.streaming_content) == fichiers["pdf"]
    # Un PDF n'a pas de vignette.
    assert client.get(adresse("vignette", monde, pdf)).status_code == 404
    # Nom accentué : filename* (RFC 6266 / 5987).
    accent = cahier.ecrire_note(
        acteur=qui(monde, "ide"), usager=monde.usager, type="OBS", survenue_le=une_heure_avant(),
        texte="Plaie.",
        pieces_jointes=[f.fichier("plaie été.jpg", fichiers["photo"])],
    ).pieces_jointes.get()  # fmt: skip
    servie = client.get(adresse("piece_jointe", monde, accent))
    b"".join(servie.streaming_content)
    disposition = servie["Content-Disposition"]
    assert "filename*=utf-8''plaie%20%C3%A9t%C3%A9.jpg" in disposition
    # Les fichiers ne sont servis par aucune autre adresse (pas de MEDIA_URL routé).
    assert client.get("/media/" + photo.fichier.name).status_code == 404


def test_piece_d_un_autre_usager_introuvable(client, fichiers):
    monde = construire_monde_cahier()
    note = ecrire_avec_pieces(monde, fichiers)
    photo = note.pieces_jointes.get(nom="talon.jpg")
    connecter(client, monde.acteurs["medecin"].compte)
    # Bonne pièce, mauvais usager dans l'adresse (le médecin ne connaît pas Paul) → 404.
    ailleurs = reverse(
        "cahier_liaison:piece_jointe",
        kwargs={"usager_uuid": monde.autre_usager.uuid, "piece_uuid": photo.uuid},
    )
    assert client.get(ailleurs).status_code == 404


@pytest.mark.parametrize("acteur", ["medecin", "aidant_avec_droits", "gestionnaire"])
def test_note_desactivee_memes_regles(client, fichiers, acteur):
    """Une note désactivée reste une preuve : ses pièces suivent la règle de la note elle-même
    (lisible par qui pouvait la lire, journalisé)."""
    monde = construire_monde_cahier()
    note = ecrire_avec_pieces(monde, fichiers, nom="ide")
    cahier.desactiver_note(acteur=qui(monde, "ide"), note=note, motif="Erreur de dossier.")
    photo = note.pieces_jointes.get(nom="talon.jpg")
    reponse = client_de(client, monde, acteur).get(adresse("piece_jointe", monde, photo))
    assert reponse.status_code == 200
    with photo.fichier.open("rb") as fichier:
        assert b"".join(reponse.streaming_content) == fichier.read()


# --- Export PDF ---------------------------------------------------------------------------------


def texte_du_pdf(contenu: bytes) -> str:
    lecteur = PdfReader(io.BytesIO(contenu))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in lecteur.pages)


def exporter(client, monde, nom, format_="pdf", du=None, au=None, connexion=True):
    from django.utils import timezone

    du = du if du is not None else (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    au = au or timezone.localdate().isoformat()
    if connexion:
        connecter(client, monde.acteurs[nom].compte)
    return client.get(
        reverse("cahier_liaison:export", kwargs={"usager_uuid": monde.usager.uuid}),
        {"du": du, "au": au, "format": format_},
    )


@pytest.fixture
def cahier_rempli(fichiers):
    """Un cahier avec une note de chaque visibilité, une transmission ciblée urgente avec photo et
    PDF, une réponse, une note retirée."""
    monde = construire_monde_cahier()
    pour_tous = note_de(monde, "ide", texte="Toux sèche ce matin, pas de fièvre.")
    note_de(monde, "medecin", texte="Réservée aux professionnels.", visibilite="INVISIBLE_PATIENT")
    note_de(monde, "medecin", texte="Réservée aux soignants.", visibilite="MASQUE_PSOCIAL")
    ecrire_avec_pieces(
        monde, fichiers, nom="ide", texte="", cible="Escarre talon", donnees="Rougeur 2 cm.",
        actions="Pansement hydrocolloïde.", resultats="À revoir demain.", urgente=True,
    )  # fmt: skip
    cahier.repondre(
        acteur=qui(monde, "medecin"), note=pour_tous, type="GEN", survenue_le=une_heure_avant(),
        texte="Je passe demain matin.",
    )  # fmt: skip
    retiree = note_de(monde, "ide", texte="Note écrite par erreur.")
    cahier.desactiver_note(acteur=qui(monde, "ide"), note=retiree, motif="Mauvais dossier.")
    return monde


def test_export_pdf_contenu_et_visibilite(client, cahier_rempli):
    monde = cahier_rempli
    reponse = exporter(client, monde, "medecin")
    assert reponse.status_code == 200 and reponse["Content-Type"] == "application/pdf"
    assert (
        reponse["Content-Disposition"].startswith("attachment;")
        and reponse["Cache-Control"] == "private, no-store"
    )
    texte = texte_du_pdf(reponse.content)
    for attendu in (
        "Cahier de liaison de Jeanne FICTIVE",
        "Exporté par",
        "Toux sèche ce matin",
        "Réservée aux professionnels.",
        "Réservée aux soignants.",
        "Escarre talon",
        "Pansement hydrocolloïde.",
        "URGENT",
        "Je passe demain matin.",
        "Note retirée le",
        "Mauvais dossier.",
        "bilan.pdf",
        "talon.jpg",
        "Page 1 /",
    ):
        assert attendu in texte, attendu
    # La réponse est sous sa note : juste après « Toux sèche… ».
    assert (
        texte.index("Toux sèche")
        < texte.index("Je passe demain")
        < texte.index("Réservée aux professionnels")
    )
    # Une image incorporée (la vignette de talon.jpg).
    lecteur = PdfReader(io.BytesIO(reponse.content))
    assert sum(len(page.images) for page in lecteur.pages) >= 1
    evenement = Evenement.objects.get(action="cahier.export")
    assert evenement.details["format"] == "pdf" and len(evenement.details["notes"]) == 6


@pytest.mark.parametrize(
    ("acteur", "absents"),
    [
        ("aidant_avec_droits", ["Réservée aux professionnels.", "Réservée aux soignants."]),
        ("educateur", ["Réservée aux soignants."]),
    ],
)
def test_export_pdf_sans_les_notes_invisibles(client, cahier_rempli, acteur, absents):
    texte = texte_du_pdf(exporter(client, cahier_rempli, acteur).content)
    assert "Toux sèche ce matin" in texte
    for absent in absents:
        assert absent not in texte


def test_export_pdf_rendu_en_image(client, cahier_rempli, tmp_path):
    """Le PDF se rend en image (pdftoppm) : une page A4 lisible (voir l'image produite)."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm absent")
    chemin = tmp_path / "export.pdf"
    chemin.write_bytes(exporter(client, cahier_rempli, "medecin").content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(chemin), str(tmp_path / "page")],
        check=True,
    )
    (image,) = tmp_path.glob("page*.png")
    from PIL import Image

    with Image.open(image) as page:
        largeur, hauteur = page.size
        assert 1.35 < hauteur / largeur < 1.45  # A4
        assert page.convert("L").getextrema()[0] < 60  # du texte sombre sur la page


def test_export_pdf_en_nombre_de_requetes_constant(client, fichiers):
    monde = construire_monde_cahier()

    connecter(client, monde.acteurs["medecin"].compte)
    client.get("/")

    def mesurer():
        with CaptureQueriesContext(connection) as requetes:
            assert exporter(client, monde, "medecin", connexion=False).status_code == 200
        return len(requetes)

    for rang in range(2):
        ecrire_avec_pieces(monde, fichiers, texte=f"Note {rang}.")
    peu = mesurer()
    for rang in range(8):
        ecrire_avec_pieces(monde, fichiers, texte=f"Note {rang}.")
        note_de(monde, "ide", texte=f"Autre {rang}.")
    assert mesurer() == peu <= 13


# --- Export JSON --------------------------------------------------------------------------------


def test_export_json_forme_stable(client, cahier_rempli):
    reponse = exporter(client, cahier_rempli, "medecin", format_="json")
    assert reponse["Content-Type"] == "application/json; charset=utf-8"
    donnees = json.loads(reponse.content)
    assert set(donnees) == {
        "forme", "version", "usager", "periode", "exporte_le", "exporte_par", "nombre_de_notes", "notes",
    }  # fmt: skip
    assert (donnees["forme"], donnees["version"], donnees["nombre_de_notes"]) == (
        "cahier-de-liaison/export",
        1,
        6,
    )
    assert donnees["usager"]["nom"] == "Jeanne FICTIVE"
    ecrites = [note["ecrite_le"] for note in donnees["notes"]]
    assert ecrites == sorted(ecrites)
    ciblee = next(note for note in donnees["notes"] if note["transmission_ciblee"])
    assert ciblee["transmission_ciblee"]["cible"] == "Escarre talon" and ciblee["urgente"] is True
    assert ciblee["auteur"]["structure"]["nom"] == "SSIAD du Val Fictif"
    photo, pdf = ciblee["pieces_jointes"]
    assert set(photo) == {
        "uuid",
        "nom",
        "type",
        "taille",
        "sha256",
        "largeur",
        "hauteur",
        "url",
        "url_vignette",
    }
    assert (photo["nom"], photo["type"], pdf["type"], pdf["url_vignette"]) == (
        "talon.jpg", "image/jpeg", "application/pdf", None,
    )  # fmt: skip
    assert photo["url"].startswith("http://testserver/usagers/") and "base64" not in reponse.content.decode()
    # L'adresse donnée sert bien le fichier.
    servie = client.get(photo["url"])
    assert servie.status_code == 200 and b"".join(servie.streaming_content).startswith(b"\xff\xd8")
    reponse_note = next(note for note in donnees["notes"] if note["reponse_a"])
    assert reponse_note["texte"] == "Je passe demain matin."
    retiree = next(note for note in donnees["notes"] if not note["active"])
    assert retiree["motif_desactivation"] == "Mauvais dossier." and retiree["desactivee_le"]


def test_export_json_sans_notes_invisibles(client, cahier_rempli):
    donnees = json.loads(exporter(client, cahier_rempli, "aidant_avec_droits", format_="json").content)
    assert {note["visibilite"] for note in donnees["notes"]} == {None}
    assert "date_naissance" not in donnees["usager"] or donnees["usager"]["date_naissance"]


# --- Formulaire de période ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("du", "au", "message"),
    [
        ("2026-03-10", "2026-03-01", "Date de fin : elle doit être le même jour ou après la date de début."),
        ("2024-01-01", "2025-06-01", "Période : 366 jours au plus (un an)."),
        ("pas une date", "2026-03-01", "Date de début : écrivez une date (jj/mm/aaaa)."),
        ("", "2026-03-01", "Date de début : elle est obligatoire."),
    ],
)
def test_periode_fautive(client, du, au, message):
    monde = construire_monde_cahier()
    reponse = exporter(client, monde, "medecin", du=du, au=au)
    assert reponse.status_code == 200 and reponse["Content-Type"].startswith("text/html")
    assert message in unescape(reponse.content.decode())
    assert not Evenement.objects.filter(action="cahier.export").exists()
