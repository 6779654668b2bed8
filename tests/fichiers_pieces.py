"""Fichiers fabriqués pour les tests des pièces jointes : vraies photos (Pillow), PDF écrits à la
main (sains, avec JavaScript, chiffrés…), pièges (SVG avec script, page web nommée photo.jpg,
archive nommée .pdf, bombe PNG). Tout est fictif et produit à la volée."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

# Coordonnées GPS fictives (au large, en mer) : on vérifie qu'elles disparaissent.
GPS_LATITUDE = (45.0, 30.0, 12.34)


def photo_jpeg(largeur=640, hauteur=480, *, gps=True, orientation=None, couleur=(180, 40, 40)) -> bytes:
    """Une photo JPEG avec EXIF (appareil, position GPS, orientation) et un commentaire."""
    image = Image.new("RGB", (largeur, hauteur), couleur)
    # Un coin clair en haut à gauche, pour vérifier que l'orientation est appliquée.
    image.paste((250, 250, 250), (0, 0, largeur // 4, hauteur // 4))
    exif = Image.Exif()
    exif[0x010F] = "Fabricant Fictif"  # Make
    exif[0x0110] = "Appareil Fictif"  # Model
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "W", 4: (12.0, 0.0, 0.0)}
    sortie = io.BytesIO()
    image.save(sortie, "JPEG", exif=exif, comment=b"commentaire fictif")
    return sortie.getvalue()


def image_png(largeur=300, hauteur=200, *, mode="RGBA") -> bytes:
    sortie = io.BytesIO()
    Image.new(mode, (largeur, hauteur), (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)).save(
        sortie, "PNG"
    )
    return sortie.getvalue()


def bombe_png(largeur=60_000, hauteur=60_000) -> bytes:
    """Un PNG dont l'en-tête annonce des milliards de pixels (quelques octets de données)."""

    def bloc(nature: bytes, donnees: bytes) -> bytes:
        return (
            struct.pack(">I", len(donnees))
            + nature
            + donnees
            + struct.pack(">I", zlib.crc32(nature + donnees))
        )

    ihdr = struct.pack(">IIBBBBB", largeur, hauteur, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + bloc(b"IHDR", ihdr)
        + bloc(b"IDAT", zlib.compress(b"\x00" * 64))
        + bloc(b"IEND", b"")
    )


def svg_avec_script() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert('fictif')</script><rect width='10' height='10'/></svg>"
    )


def html_deguise() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert('fictif')</script></body></html>"


def zip_deguise() -> bytes:
    sortie = io.BytesIO()
    with zipfile.ZipFile(sortie, "w") as archive:
        archive.writestr("lisez-moi.txt", "contenu fictif")
    return sortie.getvalue()


def _pdf(objets: list[bytes], *, trailer_extra: bytes = b"") -> bytes:
    """Un PDF minimal écrit à la main, avec sa table des références croisées."""
    sortie = io.BytesIO()
    sortie.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    positions = []
    for numero, corps in enumerate(objets, start=1):
        positions.append(sortie.tell())
        sortie.write(f"{numero} 0 obj\n".encode() + corps + b"\nendobj\n")
    xref = sortie.tell()
    sortie.write(f"xref\n0 {len(objets) + 1}\n0000000000 65535 f \n".encode())
    for position in positions:
        sortie.write(f"{position:010d} 00000 n \n".encode())
    sortie.write(
        f"trailer\n<< /Size {len(objets) + 1} /Root 1 0 R ".encode()
        + trailer_extra
        + b">>\n"
        + f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return sortie.getvalue()


def _page(texte: str = "Compte rendu fictif") -> list[bytes]:
    flux = f"BT /F1 18 Tf 72 720 Td ({texte}) Tj ET".encode()
    return [
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(flux)} >>\nstream\n".encode() + flux + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf_sain() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", *_page()])


def pdf_javascript() -> bytes:
    """/OpenAction qui lance du JavaScript à l'ouverture."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
            *_page(),
            b"<< /Type /Action /S /JavaScript /JS (app.alert('fictif');) >>",
        ]
    )


def pdf_javascript_masque() -> bytes:
    """Même chose, noms écrits en #xx (« /J#61vaScript ») pour échapper à une recherche naïve."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
            *_page(),
            b"<< /Type /Action /S /J#61va#53cript /J#53 (app.alert('fictif');) >>",
        ]
    )


def pdf_lancement() -> bytes:
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
            *_page(),
            b"<< /Type /Action /S /Launch /F (calc.exe) >>",
        ]
    )


def pdf_fichier_incorpore() -> bytes:
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 6 0 R >> >>",
            *_page(),
            b"<< /Names [(fictif.txt) 7 0 R] >>",
            b"<< /Type /Filespec /F (fictif.txt) /EF << /F 8 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length 6 >>\nstream\nfictif\nendstream",
        ]
    )


def pdf_xfa() -> bytes:
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 6 0 R >> >>",
            *_page(),
            b"<< /Length 7 >>\nstream\n<xdp/>\n\nendstream",
        ]
    )


def pdf_chiffre() -> bytes:
    from pypdf import PdfReader, PdfWriter

    ecrivain = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_sain())))
    ecrivain.encrypt(user_password="fictif", owner_password="fictif-proprietaire", algorithm="RC4-128")
    sortie = io.BytesIO()
    ecrivain.write(sortie)
    return sortie.getvalue()


def fichier(nom: str, contenu: bytes, type_annonce: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(nom, contenu, content_type=type_annonce)
