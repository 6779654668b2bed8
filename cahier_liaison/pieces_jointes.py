"""Pièces jointes du cahier de liaison : contrôle des fichiers reçus et rangement (ADR 0019).

- Le type est **détecté d'après le contenu** (jamais le nom ni le Content-Type annoncé) : Pillow
  reconnaît les images par leur signature (JPEG, PNG, WebP, et HEIC/HEIF avec pillow-heif) ; un PDF
  commence par « %PDF- » et doit se lire avec pypdf. Tout le reste est refusé, avec un message
  qui dit ce qui a été reconnu quand on le sait (SVG, page web, programme, archive).
- **Images** : dimensions lues dans l'en-tête et refusées au-delà de `CAHIER_PIECE_PIXELS_MAX`
  avant de décoder les pixels (bombes de décompression ; l'avertissement de Pillow devient un refus
  lui aussi) ; orientation EXIF appliquée, puis ré-encodage sans aucune métadonnée (EXIF dont la
  position GPS, XMP, profil ICC, commentaires) ; les photos HEIC deviennent des JPEG ; vignette
  JPEG de 320 px.
- **PDF** : refusés s'ils sont chiffrés, illisibles, ou s'ils portent du contenu actif
  (JavaScript, action de lancement, fichiers incorporés, formulaires XFA, médias enrichis…).

Chaque refus est une `ValidationError` sur le champ `pieces`, en français, qui nomme le fichier.
`preparer_pieces` contrôle tout avant que rien ne soit écrit ; `ranger_pieces` écrit (dans la
transaction du service) et `effacer_fichiers` retire ce qui a été écrit si elle échoue.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING

import pillow_heif
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from cahier_liaison.models import COTE_VIGNETTE, PieceJointe, TypePiece, stockage_des_pieces

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from cahier_liaison.models import Note

pillow_heif.register_heif_opener()

CHAMP = "pieces"
QUALITE_JPEG = 88
LONGUEUR_NOM = 120
# Formats que Pillow a le droit de reconnaître (aucun autre décodeur n'est essayé) → format rangé.
FORMATS_IMAGE = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
TYPE_DU_FORMAT = {"JPEG": TypePiece.JPEG, "PNG": TypePiece.PNG, "WEBP": TypePiece.WEBP}
EXTENSION = {TypePiece.JPEG: ".jpg", TypePiece.PNG: ".png", TypePiece.WEBP: ".webp", TypePiece.PDF: ".pdf"}

# Ce qu'on reconnaît pour mieux dire pourquoi c'est refusé (début du fichier, en minuscules).
SIGNATURES_REFUSEES = (
    (re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!doctype svg|<svg)", re.S), "une image SVG"),
    (re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<script|<iframe|<\?xml)"), "une page web"),
    (re.compile(rb"^(mz|\x7felf|#!|\xca\xfe\xba\xbe|\xcf\xfa\xed\xfe|\xce\xfa\xed\xfe)"), "un programme"),
    (re.compile(rb"^(pk\x03\x04|pk\x05\x06|rar!|7z\xbc\xaf|\x1f\x8b|bzh|\xfd7zxz)"), "une archive"),
)
POURQUOI_SVG = (
    "les images SVG sont refusées, car elles peuvent contenir du code ; envoyez une photo (JPEG, PNG) "
    "ou un PDF."
)
DEMESUREE = "image démesurée (trop de pixels une fois décompressée) ; elle est refusée."
TYPES_ACCEPTES = "photos (JPEG, PNG, WebP, HEIC) et documents PDF"

# PDF : noms qui signalent du contenu actif (recherchés dans les objets lus par pypdf, et dans
# le fichier brut, noms écrits en #xx compris, pour les objets que pypdf n'aurait pas lus).
CLES_ACTIVES = {"/JS", "/JavaScript", "/EmbeddedFile", "/EmbeddedFiles", "/EF", "/XFA", "/RichMedia"}
ACTIONS_ACTIVES = {
    "/JavaScript",
    "/Launch",
    "/ImportData",
    "/SubmitForm",
    "/GoToE",
    "/RichMediaExecute",
    "/Rendition",
}
NOMS_ACTIFS_BRUTS = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|XFA|RichMedia|ImportData|SubmitForm|GoToE)(?![A-Za-z0-9])"
)


@dataclass(frozen=True)
class PiecePrete:
    """Un fichier accepté, tel qu'il sera rangé (contenu ré-encodé pour une image)."""

    nom: str
    type_mime: str
    contenu: bytes
    largeur: int | None = None
    hauteur: int | None = None
    vignette: bytes = b""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.contenu).hexdigest()

    def pour_journal(self) -> dict:
        """Ce que le journal garde d'une pièce : jamais son contenu."""
        return {"nom": self.nom, "type": self.type_mime, "taille": len(self.contenu), "sha256": self.sha256}


class Refus(Exception):
    """Un fichier refusé ; le message complète « « nom » : … »."""


# --- Noms, tailles ------------------------------------------------------------------------------


def nettoyer_nom(nom: str | None) -> str:
    """Le nom d'origine, pour l'affichage seulement : sans chemin, sans caractère de contrôle,
    normalisé (NFC), 120 caractères au plus. Jamais utilisé pour ranger le fichier."""
    nom = unicodedata.normalize("NFC", str(nom or ""))
    nom = re.split(r"[\\/]", nom)[-1]
    nom = "".join(c for c in nom if unicodedata.category(c)[0] != "C")
    nom = " ".join(nom.split()).strip(" .")
    if len(nom) > LONGUEUR_NOM:
        base, point, ext = nom.rpartition(".")
        if point and 0 < len(ext) <= 8:
            nom = base[: LONGUEUR_NOM - len(ext) - 2].rstrip() + "…." + ext
        else:
            nom = nom[: LONGUEUR_NOM - 1] + "…"
    return nom or "pièce jointe"


def en_mega_octets(taille: int) -> str:
    """Une taille lisible : « 10 Mo », « 2,5 Mo », « 700 Ko »."""
    if taille < 1024 * 1024:
        return f"{max(1, round(taille / 1024))} Ko"
    mo = taille / (1024 * 1024)
    return f"{mo:.0f} Mo" if mo >= 10 or mo == int(mo) else f"{mo:.1f} Mo".replace(".", ",")


def _message(nom: str, pourquoi: str) -> str:
    return f"« {nom} » : {pourquoi}"


def _lire(fichier: UploadedFile, limite: int) -> bytes:
    taille = getattr(fichier, "size", None)
    if taille is not None and taille > limite:
        raise Refus(
            f"le fichier est trop gros ({en_mega_octets(taille)}) ; {en_mega_octets(limite)} au plus."
        )
    fichier.seek(0)
    morceaux, lu = [], 0
    for morceau in fichier.chunks():
        lu += len(morceau)
        if lu > limite:
            raise Refus(f"le fichier est trop gros ; {en_mega_octets(limite)} au plus.")
        morceaux.append(morceau)
    contenu = b"".join(morceaux)
    if not contenu:
        raise Refus("le fichier est vide.")
    return contenu


# --- Détection du type --------------------------------------------------------------------------


def _reconnu_et_refuse(contenu: bytes) -> str | None:
    debut = contenu[:2048].lstrip(b"\xef\xbb\xbf").lower()
    for motif, quoi in SIGNATURES_REFUSEES:
        if motif.search(debut):
            return quoi
    if b"<svg" in debut:
        return "une image SVG"
    return None


def detecter_type(contenu: bytes) -> str:
    """« PDF », un format Pillow accepté (« JPEG », « PNG », « WEBP », « HEIF »), ou Refus."""
    quoi = _reconnu_et_refuse(contenu)
    if quoi == "une image SVG":
        raise Refus(POURQUOI_SVG)
    if quoi is not None:
        raise Refus(
            f"ce fichier est {quoi}, pas une photo ni un PDF ; seuls sont acceptés : {TYPES_ACCEPTES}."
        )
    if contenu.startswith(b"%PDF-"):
        return "PDF"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(contenu), formats=list(FORMATS_IMAGE)) as image:
                return image.format
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise Refus(DEMESUREE) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Ni PDF ni image lisible dans les formats permis : refusé, sans deviner davantage.
        raise Refus(f"type de fichier non reconnu ; seuls sont acceptés : {TYPES_ACCEPTES}.") from exc


# --- Images -------------------------------------------------------------------------------------


def _ouvrir_image(contenu: bytes, pixels_max: int) -> Image.Image:
    """Ouvre l'image (en-tête seulement), refuse une image démesurée, puis décode les pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(contenu), formats=list(FORMATS_IMAGE))
            largeur, hauteur = image.size
            if largeur <= 0 or hauteur <= 0:
                raise Refus("image sans dimensions.")
            if largeur * hauteur > pixels_max:
                raise Refus(
                    f"image démesurée ({largeur} × {hauteur} pixels) ; "
                    f"{pixels_max // 1_000_000} millions de pixels au plus."
                )
            image.load()
        except Refus:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise Refus(DEMESUREE) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise Refus("image illisible ou abîmée.") from exc
    return image


def _sans_metadonnees(image: Image.Image, format_range: str) -> Image.Image:
    """Copie des seuls pixels (orientation EXIF appliquée) : aucune information de l'original
    (EXIF, XMP, ICC, commentaires, textes PNG) ne passe."""
    image = ImageOps.exif_transpose(image) or image
    if format_range == "JPEG":
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            fond = Image.new("RGB", image.size, "white")
            fond.paste(image, mask=image.getchannel("A"))
            image = fond
        elif image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    propre = Image.new(image.mode, image.size)
    propre.paste(image)
    propre.info = {}
    return propre


def _encoder(image: Image.Image, format_range: str) -> bytes:
    sortie = io.BytesIO()
    if format_range == "JPEG":
        image.save(sortie, "JPEG", quality=QUALITE_JPEG, optimize=True, exif=b"")
    elif format_range == "PNG":
        image.save(sortie, "PNG", optimize=True)
    else:
        image.save(sortie, "WEBP", quality=QUALITE_JPEG, exif=b"", xmp=b"")
    return sortie.getvalue()


def _vignette(image: Image.Image) -> bytes:
    petite = image.copy()
    petite.thumbnail((COTE_VIGNETTE, COTE_VIGNETTE))
    if petite.mode != "RGB":
        fond = Image.new("RGB", petite.size, "white")
        fond.paste(petite.convert("RGBA"), mask=petite.convert("RGBA").getchannel("A"))
        petite = fond
    sortie = io.BytesIO()
    petite.save(sortie, "JPEG", quality=80, optimize=True, exif=b"")
    return sortie.getvalue()


def preparer_image(contenu: bytes, format_lu: str, *, nom: str, pixels_max: int) -> PiecePrete:
    format_range = FORMATS_IMAGE[format_lu]
    with _ouvrir_image(contenu, pixels_max) as image:
        propre = _sans_metadonnees(image, format_range)
    return PiecePrete(
        nom=nom,
        type_mime=TYPE_DU_FORMAT[format_range],
        contenu=_encoder(propre, format_range),
        largeur=propre.width,
        hauteur=propre.height,
        vignette=_vignette(propre),
    )


# --- PDF ----------------------------------------------------------------------------------------


def _objet_actif(objet) -> bool:
    if not isinstance(objet, DictionaryObject):
        return False
    if CLES_ACTIVES.intersection(objet.keys()):
        return True
    if objet.get("/Type") == "/EmbeddedFile":
        return True
    return objet.get("/S") in ACTIONS_ACTIVES


def _parcourir(objet, vus: set, profondeur: int = 0):
    """Les dictionnaires d'un objet PDF, références suivies une fois chacune."""
    if profondeur > 60:
        return
    if isinstance(objet, IndirectObject):
        cle = (objet.idnum, objet.generation)
        if cle in vus:
            return
        vus.add(cle)
        objet = objet.get_object()
    if isinstance(objet, DictionaryObject):
        yield objet
        for cle, valeur in objet.items():
            if cle != "/Parent":
                yield from _parcourir(valeur, vus, profondeur + 1)
    elif isinstance(objet, ArrayObject):
        for valeur in objet:
            yield from _parcourir(valeur, vus, profondeur + 1)


def _noms_bruts_actifs(contenu: bytes) -> bool:
    """Les noms PDF peuvent s'écrire avec des #xx (« /J#61vaScript ») : on les décode avant de
    chercher."""
    decodes = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), contenu)
    return NOMS_ACTIFS_BRUTS.search(decodes) is not None


def verifier_pdf(contenu: bytes) -> None:
    """Refuse un PDF chiffré, illisible ou qui porte du contenu actif."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lecteur = PdfReader(io.BytesIO(contenu), strict=False)
            if lecteur.is_encrypted:
                raise Refus(
                    "ce PDF est protégé par un mot de passe (chiffré) ; enregistrez-le sans protection "
                    "avant de l'envoyer."
                )
            if len(lecteur.pages) == 0:
                raise Refus("ce PDF n'a aucune page.")
            vus: set = set()
            racines = [lecteur.trailer.get(NameObject("/Root"))]
            racines += [page.indirect_reference or page for page in lecteur.pages]
            actif = any(_objet_actif(objet) for racine in racines for objet in _parcourir(racine, vus))
    except Refus:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise Refus("ce PDF est illisible ou abîmé.") from exc
    if actif or _noms_bruts_actifs(contenu):
        raise Refus(
            "ce PDF contient du contenu actif (JavaScript, lancement de programme, fichier incorporé "
            "ou formulaire XFA) ; il est refusé. Imprimez-le en PDF pour en retirer ce contenu."
        )


# --- Contrôle de tous les fichiers d'une note ---------------------------------------------------


def preparer_piece(fichier: UploadedFile) -> PiecePrete:
    """Contrôle un fichier et prépare ce qui sera rangé ; ValidationError (champ `pieces`) sinon."""
    nom = nettoyer_nom(getattr(fichier, "name", ""))
    try:
        contenu = _lire(fichier, settings.CAHIER_PIECE_TAILLE_MAX)
        format_lu = detecter_type(contenu)
        if format_lu == "PDF":
            verifier_pdf(contenu)
            return PiecePrete(nom=nom, type_mime=TypePiece.PDF, contenu=contenu)
        return preparer_image(contenu, format_lu, nom=nom, pixels_max=settings.CAHIER_PIECE_PIXELS_MAX)
    except Refus as refus:
        raise ValidationError({CHAMP: _message(nom, str(refus))}, code="piece_refusee") from refus


def trop_de_fichiers(nombre: int) -> str:
    return f"Pièces jointes : {settings.CAHIER_PIECES_PAR_NOTE} fichiers au plus par note ({nombre} envoyés)."


def preparer_pieces(fichiers: Sequence[UploadedFile]) -> list[PiecePrete]:
    """Contrôle tous les fichiers avant que rien ne soit écrit : nombre, puis chacun. Les refus de
    tous les fichiers sont rendus ensemble."""
    fichiers = [fichier for fichier in fichiers or () if fichier is not None]
    if len(fichiers) > settings.CAHIER_PIECES_PAR_NOTE:
        raise ValidationError({CHAMP: trop_de_fichiers(len(fichiers))})
    pretes, erreurs = [], []
    for fichier in fichiers:
        try:
            pretes.append(preparer_piece(fichier))
        except ValidationError as exc:
            erreurs.extend(exc.message_dict[CHAMP])
    if erreurs:
        raise ValidationError({CHAMP: erreurs})
    return pretes


# --- Rangement ----------------------------------------------------------------------------------


def _chemin(type_mime: str, suffixe: str = "") -> str:
    """Chemin impossible à deviner, sans rien de la personne ni du nom d'origine."""
    jeton = secrets.token_hex(16)
    return f"cahier/{jeton[:2]}/{jeton}{suffixe}{EXTENSION[type_mime]}"


def ranger_pieces(note: Note, pretes: Sequence[PiecePrete], ecrits: list[str]) -> list[PieceJointe]:
    """Écrit les fichiers dans le stockage et leurs lignes en base (dans la transaction de
    l'appelant). Chaque chemin écrit est ajouté à `ecrits`, pour `effacer_fichiers` en cas
    d'échec."""
    stockage = stockage_des_pieces()
    pieces = []
    for ordre, prete in enumerate(pretes):
        chemin = stockage.save(_chemin(prete.type_mime), ContentFile(prete.contenu))
        ecrits.append(chemin)
        vignette = ""
        if prete.vignette:
            vignette = stockage.save(_chemin(TypePiece.JPEG, "-vignette"), ContentFile(prete.vignette))
            ecrits.append(vignette)
        pieces.append(
            PieceJointe(
                note=note,
                fichier=chemin,
                vignette=vignette,
                type_mime=prete.type_mime,
                taille=len(prete.contenu),
                sha256=prete.sha256,
                largeur=prete.largeur,
                hauteur=prete.hauteur,
                nom=prete.nom,
                ordre=ordre,
            )
        )
    return PieceJointe.objects.bulk_create(pieces)


def effacer_fichiers(chemins: Sequence[str]) -> None:
    stockage = stockage_des_pieces()
    for chemin in chemins:
        stockage.delete(chemin)


def effacer_orphelins(*, plus_vieux_que: dt.timedelta = dt.timedelta(hours=1)) -> list[str]:
    """Efface les fichiers du stockage qu'aucune pièce ne désigne, écrits il y a plus de
    `plus_vieux_que` : ceux d'une transaction englobante annulée après leur écriture (ADR 0019).
    Un dossier à la fois (256 au plus), une requête par dossier."""
    from django.db.models import Q
    from django.utils import timezone

    stockage = stockage_des_pieces()
    limite = timezone.now() - plus_vieux_que
    effaces: list[str] = []
    if not stockage.exists("cahier"):
        return effaces
    dossiers, _ = stockage.listdir("cahier")
    for dossier in dossiers:
        prefixe = f"cahier/{dossier}/"
        _, fichiers = stockage.listdir(prefixe)
        connus = set()
        for fichier, vignette in PieceJointe.objects.filter(
            Q(fichier__startswith=prefixe) | Q(vignette__startswith=prefixe)
        ).values_list("fichier", "vignette"):
            connus.update((fichier, vignette))
        for nom in fichiers:
            chemin = prefixe + nom
            if chemin not in connus and stockage.get_modified_time(chemin) < limite:
                stockage.delete(chemin)
                effaces.append(chemin)
    return effaces


# --- Téléversement ------------------------------------------------------------------------------

# Attribut de la requête : noms des fichiers écartés pendant la réception (trop gros, trop nombreux).
ECARTES = "_cahier_pieces_ecartees"


class TeleversementLimite(TemporaryFileUploadHandler):
    """Reçoit les fichiers sur disque et arrête de lire un fichier dès qu'il dépasse
    `CAHIER_PIECE_TAILLE_MAX` (le reste est jeté sans être écrit) : la vue peut alors dire en
    français lequel était trop gros, au lieu d'une erreur 400 muette."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        self.recu = 0
        self.nom_en_cours = nettoyer_nom(file_name)
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.recu += len(raw_data)
        if self.recu > settings.CAHIER_PIECE_TAILLE_MAX:
            ecartes = getattr(self.request, ECARTES, [])
            ecartes.append(self.nom_en_cours)
            setattr(self.request, ECARTES, ecartes)
            self.file.close()  # fichier temporaire effacé tout de suite
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


def fichiers_ecartes(request) -> list[str]:
    """Messages en français pour les fichiers écartés à la réception."""
    limite = en_mega_octets(settings.CAHIER_PIECE_TAILLE_MAX)
    return [
        _message(nom, f"le fichier est trop gros ; {limite} au plus.")
        for nom in getattr(request, ECARTES, [])
    ]


def televersement_limite(vue):
    """Décorateur d'une vue qui reçoit des pièces jointes : installe `TeleversementLimite` avant
    que la requête ne soit lue (la vérification CSRF, qui lit le formulaire, vient après)."""
    protegee = csrf_protect(vue)

    @wraps(vue)
    @csrf_exempt
    def enveloppe(request, *args, **kwargs):
        request.upload_handlers = [TeleversementLimite(request)]
        return protegee(request, *args, **kwargs)

    return enveloppe
