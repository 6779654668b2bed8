"""Pièces jointes du cahier : type détecté d'après le contenu, ré-encodage sans métadonnées (la
position GPS disparaît), orientation appliquée, vignettes ; chaque refus (bombe, SVG avec script,
page web nommée photo.jpg, archive nommée .pdf, PDF avec JavaScript ou chiffré, fichier trop
gros…) avec un vrai fichier fabriqué, un message en français qui nomme le fichier, et rien d'écrit
(ni note, ni fichier, ni journal) ; fichiers effacés si la transaction échoue ; pièces immuables ;
réception limitée (gestionnaire de téléversement) ; fil à nombre de requêtes constant."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from PIL import Image

from cahier_liaison import pieces_jointes as pj
from cahier_liaison import selectors
from cahier_liaison import services as cahier
from cahier_liaison.forms import PiecesJointesMixin
from cahier_liaison.models import Note, PieceJointe
from coordination.journal.models import Evenement
from tests import fichiers_pieces as f
from tests.monde_cahier import construire_monde_cahier, note_de, qui, une_heure_avant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def monde():
    return construire_monde_cahier()


def fichiers_ranges(racine) -> list:
    return sorted(p for p in racine.rglob("*") if p.is_file())


def ecrire(monde, pieces, nom="ide", **champs):
    valeurs = {"type": "OBS", "survenue_le": une_heure_avant(), "texte": "Plaie au talon, photo jointe."}
    valeurs.update(champs)
    return cahier.ecrire_note(acteur=qui(monde, nom), usager=monde.usager, pieces_jointes=pieces, **valeurs)


def lire_image(piece: PieceJointe, vignette: bool = False) -> Image.Image:
    with (piece.vignette if vignette else piece.fichier).open("rb") as fichier:
        return Image.open(io.BytesIO(fichier.read()))


# --- Acceptés -----------------------------------------------------------------------------------


def test_photo_reencodee_sans_gps_ni_metadonnees_et_orientee(monde, stockage):
    original = f.photo_jpeg(640, 480, orientation=6)
    avant = Image.open(io.BytesIO(original))
    assert avant.getexif().get_ifd(0x8825), "la photo d'essai porte bien une position GPS"
    note = ecrire(monde, [f.fichier("IMG_0001.jpg", original)])
    (piece,) = note.pieces_jointes.all()
    assert (piece.type_mime, piece.nom, piece.ordre) == ("image/jpeg", "IMG_0001.jpg", 0)
    with piece.fichier.open("rb") as fichier:
        contenu = fichier.read()
    assert piece.taille == len(contenu) and len(piece.sha256) == 64
    for trace in (
        b"Exif",
        b"GPS",
        b"Fabricant Fictif",
        b"Appareil Fictif",
        b"commentaire fictif",
        b"http://ns.adobe",
    ):
        assert trace not in contenu, trace
    image = lire_image(piece)
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    assert "icc_profile" not in image.info and "exif" not in image.info
    # Orientation 6 (rotation de 90°) appliquée : 640 × 480 devient 480 × 640, le coin clair passe à droite.
    assert image.size == (480, 640) == (piece.largeur, piece.hauteur)
    assert sum(image.convert("RGB").getpixel((470, 10))) > 700
    assert sum(image.convert("RGB").getpixel((10, 10))) < 400
    vignette = lire_image(piece, vignette=True)
    assert vignette.format == "JPEG" and max(vignette.size) == 320
    assert (piece.largeur_vignette, piece.hauteur_vignette) == vignette.size
    # Le chemin ne dit rien de la personne ni du nom d'origine.
    assert "IMG_0001" not in piece.fichier.name and str(monde.usager.uuid) not in piece.fichier.name
    assert piece.fichier.name.startswith("cahier/") and len(fichiers_ranges(stockage)) == 2


def test_png_webp_et_heic_acceptes(monde):
    sortie = io.BytesIO()
    Image.new("RGB", (120, 90), (20, 160, 60)).save(sortie, "WEBP", exif=Image.Exif())
    pieces = [f.fichier("schema.png", f.image_png()), f.fichier("photo.webp", sortie.getvalue())]
    heic = io.BytesIO()
    Image.new("RGB", (200, 150), (90, 90, 200)).save(heic, "HEIF")  # pillow-heif : une dépendance
    pieces.append(f.fichier("IMG_0002.HEIC", heic.getvalue(), "image/heic"))
    note = ecrire(monde, pieces)
    types = [(p.nom, p.type_mime) for p in note.pieces_jointes.order_by("ordre")]
    attendu = [("schema.png", "image/png"), ("photo.webp", "image/webp")]
    attendu.append(("IMG_0002.HEIC", "image/jpeg"))  # photo d'iPhone ré-encodée en JPEG
    assert types == attendu
    assert lire_image(note.pieces_jointes.get(nom="schema.png")).mode == "RGBA"


def test_pdf_sain_accepte_tel_quel(monde):
    contenu = f.pdf_sain()
    note = ecrire(monde, [f.fichier("compte rendu.pdf", contenu, "application/octet-stream")])
    (piece,) = note.pieces_jointes.all()
    assert (piece.type_mime, piece.largeur, piece.vignette.name) == ("application/pdf", None, "")
    with piece.fichier.open("rb") as fichier:
        assert fichier.read() == contenu


def test_nom_nettoye_pour_l_affichage():
    assert pj.nettoyer_nom("../../etc/passwd") == "passwd"
    assert pj.nettoyer_nom("C:\\Users\\x\\photo\x00\u202e.jpg") == "photo.jpg"
    assert pj.nettoyer_nom("") == "pièce jointe"
    long = pj.nettoyer_nom("a" * 300 + ".pdf")
    assert len(long) <= 120 and long.endswith(".pdf")


# --- Refusés : rien n'est écrit -----------------------------------------------------------------

REFUS = {
    "bombe_png": ("bombe.png", f.bombe_png, "image démesurée"),
    "svg_script": ("schema.svg", f.svg_avec_script, "SVG sont refusées"),
    "svg_nomme_png": ("schema.png", f.svg_avec_script, "SVG sont refusées"),
    "html_nomme_jpg": ("photo.jpg", f.html_deguise, "page web"),
    "zip_nomme_pdf": ("ordonnance.pdf", f.zip_deguise, "archive"),
    "executable": ("photo.jpg", lambda: b"MZ\x90\x00" + b"\x00" * 200, "programme"),
    "texte": ("notes.pdf", lambda: b"Texte brut, pas un PDF.", "type de fichier non reconnu"),
    "pdf_javascript": ("bilan.pdf", f.pdf_javascript, "contenu actif"),
    "pdf_javascript_masque": ("bilan.pdf", f.pdf_javascript_masque, "contenu actif"),
    "pdf_lancement": ("bilan.pdf", f.pdf_lancement, "contenu actif"),
    "pdf_fichier_incorpore": ("bilan.pdf", f.pdf_fichier_incorpore, "contenu actif"),
    "pdf_xfa": ("formulaire.pdf", f.pdf_xfa, "contenu actif"),
    "pdf_chiffre": ("bilan.pdf", f.pdf_chiffre, "protégé par un mot de passe"),
    "pdf_abime": ("bilan.pdf", lambda: b"%PDF-1.7\n" + b"\x00" * 50, "illisible"),
    "jpeg_tronque": ("photo.jpg", lambda: f.photo_jpeg()[:-600], "illisible"),
    "vide": ("vide.jpg", lambda: b"", "vide"),
}


@pytest.mark.parametrize("cas", list(REFUS))
def test_refus_sans_rien_ecrire(monde, stockage, cas):
    nom, fabrique, fragment = REFUS[cas]
    avant = (Note.objects.count(), Evenement.objects.count())
    with pytest.raises(ValidationError) as refus:
        # Une bonne photo d'abord, la mauvaise ensuite : rien du tout n'est écrit.
        ecrire(monde, [f.fichier("bonne.jpg", f.photo_jpeg()), f.fichier(nom, fabrique())])
    (message,) = refus.value.message_dict["pieces"]
    assert message.startswith(f"« {nom} » : ") and fragment in message, message
    assert (Note.objects.count(), Evenement.objects.count()) == avant
    assert not PieceJointe.objects.exists() and fichiers_ranges(stockage) == []


def test_image_trop_grande_refusee_avant_decodage(monde, settings):
    """Sous la limite de Pillow mais au-delà du réglage : refusée sur la foi de l'en-tête."""
    settings.CAHIER_PIECE_PIXELS_MAX = 100_000
    with pytest.raises(ValidationError) as refus:
        ecrire(monde, [f.fichier("grande.png", f.image_png(400, 300, mode="RGB"))])
    assert "400 × 300 pixels" in refus.value.message_dict["pieces"][0]


def test_fichier_trop_gros(monde, settings, stockage):
    settings.CAHIER_PIECE_TAILLE_MAX = 2000
    with pytest.raises(ValidationError) as refus:
        ecrire(monde, [f.fichier("scan.pdf", f.pdf_sain() + b"%" * 3000)])
    assert refus.value.message_dict["pieces"] == [
        "« scan.pdf » : le fichier est trop gros (4 Ko) ; 2 Ko au plus."
    ]
    assert not Note.objects.exists() and fichiers_ranges(stockage) == []


def test_trop_de_fichiers_et_erreurs_reunies(monde, settings):
    settings.CAHIER_PIECES_PAR_NOTE = 2
    with pytest.raises(ValidationError) as refus:
        ecrire(monde, [f.fichier(f"p{i}.png", f.image_png()) for i in range(3)])
    assert refus.value.message_dict["pieces"] == ["Pièces jointes : 2 fichiers au plus par note (3 envoyés)."]
    # Texte manquant et pièce refusée : les deux messages à la fois.
    with pytest.raises(ValidationError) as refus:
        ecrire(monde, [f.fichier("a.svg", f.svg_avec_script())], texte="")
    assert set(refus.value.message_dict) == {"texte", "pieces"}
    assert not Note.objects.exists()


def test_refus_d_acces_avant_tout_controle(monde, stockage):
    from cercle.services import AccesRefuse

    with pytest.raises(AccesRefuse):
        ecrire(monde, [f.fichier("photo.jpg", f.photo_jpeg())], nom="aidant_sans_droit")
    assert fichiers_ranges(stockage) == []


def test_fichiers_effaces_si_la_transaction_echoue(monde, stockage):
    """Une vraie erreur de la base après le rangement des fichiers (déclencheur posé pour le
    test) : la note n'existe pas et les fichiers écrits sont effacés."""
    with connection.cursor() as curseur:
        curseur.execute(
            """
            CREATE FUNCTION test_panne() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'panne simulée' USING ERRCODE = 'integrity_constraint_violation'; END; $$;
            CREATE TRIGGER test_panne BEFORE INSERT ON cahier_liaison_evenementcahier
                FOR EACH ROW EXECUTE FUNCTION test_panne();
            """
        )
    with pytest.raises(IntegrityError):
        ecrire(monde, [f.fichier("photo.jpg", f.photo_jpeg()), f.fichier("cr.pdf", f.pdf_sain())])
    assert not Note.objects.exists() and not PieceJointe.objects.exists()
    assert fichiers_ranges(stockage) == []


# --- Journal, réponses, immuabilité -------------------------------------------------------------


def test_journal_decrit_les_pieces_sans_leur_contenu(monde):
    note = ecrire(monde, [f.fichier("photo.jpg", f.photo_jpeg()), f.fichier("cr.pdf", f.pdf_sain())])
    evenement = Evenement.objects.get(action="cahier.note.ecriture", objet_uuid=note.uuid)
    pieces = list(note.pieces_jointes.order_by("ordre"))
    assert evenement.details["pieces_jointes"] == [
        {"nom": p.nom, "type": p.type_mime, "taille": p.taille, "sha256": p.sha256} for p in pieces
    ]


def test_reponse_avec_piece_et_modification_sans_effet_sur_les_pieces(monde):
    note = note_de(monde, "medecin")
    reponse = cahier.repondre(
        acteur=qui(monde, "ide"), note=note, type="OBS", survenue_le=une_heure_avant(),
        texte="Photo du pansement.",
        pieces_jointes=[f.fichier("pansement.jpg", f.photo_jpeg())],
    )  # fmt: skip
    (piece,) = reponse.pieces_jointes.all()
    cahier.modifier_note(acteur=qui(monde, "ide"), note=reponse, texte="Photo du pansement refait.")
    assert list(reponse.pieces_jointes.all()) == [piece]
    assert PieceJointe.objects.get().sha256 == piece.sha256


def test_piece_immuable_en_base(monde):
    note = ecrire(monde, [f.fichier("cr.pdf", f.pdf_sain())])
    piece = note.pieces_jointes.get()
    for operation in (lambda: PieceJointe.objects.filter(pk=piece.pk).update(nom="autre.pdf"), piece.delete):
        with pytest.raises(IntegrityError, match="immuable"), transaction.atomic():
            operation()


# --- Réception, formulaire ----------------------------------------------------------------------


def test_televersement_trop_gros_ecarte_avec_un_message(settings, request):
    settings.CAHIER_PIECE_TAILLE_MAX = 5000
    grosse = f.fichier("scanner.pdf", b"%PDF-1.7\n" + b"0" * 20_000, "application/pdf")
    petite = f.fichier("photo.jpg", f.photo_jpeg(60, 40))
    requete = RequestFactory().post("/", {"texte": "x", "pieces": [grosse, petite]})
    requete.upload_handlers = [pj.TeleversementLimite(requete)]
    request.addfinalizer(requete.close)  # ferme les fichiers temporaires reçus, comme le serveur
    recus = requete.FILES.getlist("pieces")
    assert [fichier.name for fichier in recus] == ["photo.jpg"]
    messages = pj.fichiers_ecartes(requete)
    assert messages == ["« scanner.pdf » : le fichier est trop gros ; 5 Ko au plus."]

    class FormulaireNote(PiecesJointesMixin):
        pass

    form = FormulaireNote(requete.POST, requete.FILES, ecartes=messages)
    assert not form.is_valid() and "scanner.pdf" in form.errors["pieces"][0]
    champ = str(form["pieces"])
    assert "multiple" in champ and 'accept="image/*,application/pdf"' in champ and 'name="pieces"' in champ


def test_formulaire_recueille_plusieurs_fichiers():
    class FormulaireNote(PiecesJointesMixin):
        pass

    requete = RequestFactory().post(
        "/", {"pieces": [f.fichier("a.jpg", f.photo_jpeg(20, 20)), f.fichier("b.pdf", f.pdf_sain())]}
    )
    form = FormulaireNote(requete.POST, requete.FILES)
    assert form.is_valid(), form.errors
    assert [fichier.name for fichier in form.cleaned_data["pieces"]] == ["a.jpg", "b.pdf"]
    assert FormulaireNote({}, {}).is_valid()


# --- Fil ----------------------------------------------------------------------------------------


def test_fil_avec_pieces_en_nombre_de_requetes_constant(monde, django_assert_num_queries):
    def remplir(nombre):
        for rang in range(nombre):
            ecrire(monde, [f.fichier(f"p{rang}.png", f.image_png(30, 20))], texte=f"Note {rang}.")

    def lire():
        return [
            (note.texte, [p.nom for p in note.pieces_prechargees])
            for note in selectors.notes_visibles(qui(monde, "medecin"), monde.usager)
        ]

    remplir(3)
    with django_assert_num_queries(3):
        trois = lire()
    remplir(12)
    with django_assert_num_queries(3):
        quinze = lire()
    assert len(trois) == 3 and len(quinze) == 15 and all(len(pieces) == 1 for _, pieces in quinze)


def test_orphelins_effaces_seulement_s_ils_sont_anciens(monde, stockage):
    """Transaction englobante annulée après l'écriture : les fichiers restent sans ligne ; la
    commande de nettoyage les efface (pas ceux des pièces, pas les orphelins trop récents)."""
    import os
    import time

    from django.core.management import call_command

    gardee = ecrire(monde, [f.fichier("gardee.jpg", f.photo_jpeg(40, 30))]).pieces_jointes.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        ecrire(monde, [f.fichier("annulee.jpg", f.photo_jpeg(40, 30))])
        raise RuntimeError("annulation de la transaction de l'appelant")
    assert len(fichiers_ranges(stockage)) == 4 and PieceJointe.objects.count() == 1
    sortie = io.StringIO()
    call_command("nettoyer_pieces_orphelines", stdout=sortie)
    assert sortie.getvalue().startswith("0 fichier(s)") and len(fichiers_ranges(stockage)) == 4
    il_y_a_deux_heures = time.time() - 7200
    for chemin in fichiers_ranges(stockage):
        os.utime(chemin, (il_y_a_deux_heures, il_y_a_deux_heures))
    call_command("nettoyer_pieces_orphelines", stdout=sortie)
    restants = {str(p.relative_to(stockage)) for p in fichiers_ranges(stockage)}
    assert restants == {gardee.fichier.name, gardee.vignette.name}


def test_decorateur_de_vue_limite_la_reception(settings, request):
    """`televersement_limite` pose le gestionnaire avant la lecture du formulaire (et avant la
    vérification CSRF, qui la déclenche) : la vue reçoit les fichiers acceptables et le message
    des autres."""
    from django.http import JsonResponse

    settings.CAHIER_PIECE_TAILLE_MAX = 5000

    @pj.televersement_limite
    def vue(request):
        return JsonResponse(
            {
                "recus": [x.name for x in request.FILES.getlist("pieces")],
                "ecartes": pj.fichiers_ecartes(request),
            }
        )

    grosse = f.fichier("scanner.pdf", b"%PDF-1.7\n" + b"0" * 20_000, "application/pdf")
    requete = RequestFactory().post("/", {"pieces": [grosse, f.fichier("photo.jpg", f.photo_jpeg(60, 40))]})
    requete._dont_enforce_csrf_checks = True
    request.addfinalizer(requete.close)
    reponse = json.loads(vue(requete).content)
    assert reponse == {
        "recus": ["photo.jpg"],
        "ecartes": ["« scanner.pdf » : le fichier est trop gros ; 5 Ko au plus."],
    }
    # Seule l'enveloppe est exemptée : la vue elle-même passe par csrf_protect.
    assert vue.csrf_exempt is True
    assert getattr(vue.__wrapped__, "csrf_exempt", False) is False
