"""Le projet personnalisé en PDF, lu avec pypdf : la forme facile à lire (ses mots, ses objectifs,
ce qui est prévu en français courant) et la forme complète (besoins codés, actions, accords et
empreinte) ; rendu en image pour le regarder (ADR 0028)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from ppa import exports
from ppa import services as ppa
from ppa.models import AvisUsager
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider
from tests.test_ppa_fhir import charge

pytestmark = pytest.mark.django_db


def texte(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


@pytest.fixture
def version():
    monde = construire_monde_ppa()
    brouillon = brouillon_rempli(monde)
    objectif = brouillon.objectifs.get()
    ppa.donner_avis(
        acteur=qui(monde, "usager"), objectif=objectif, avis=AvisUsager.D_ACCORD, commentaire="Oui, doucement"
    )
    return valider(monde, brouillon)


def test_pdf_facile_a_lire(version):
    lu = texte(exports.pdf_facile_a_lire(charge(version), edite_par="Jeanne FICTIVE"))
    for attendu in (
        "Mon projet", "Ce que je veux", "Rester chez moi.", "Faire sa toilette seule",
        "Je suis d'accord avec cet objectif.", "Oui, doucement",
        "Aide à la toilette", "chaque semaine, les lundi, mercredi et vendredi",
        "J'ai dit que j'étais d'accord.",
    ):  # fmt: skip
        assert attendu in lu, attendu
    assert "SERAFIN" not in lu and version.empreinte not in lu  # rien de technique pour la personne


def test_pdf_complet(version, django_assert_num_queries):
    contenu = charge(version)
    with django_assert_num_queries(0):
        pdf = exports.pdf_complet(contenu, edite_par="Infirmière du SSIAD")
    lu = texte(pdf)
    for attendu in (
        "Projet personnalisé d'accompagnement de Jeanne FICTIVE", "SERAFIN-PH 1.2.1.1", "Se laver",
        "Douche sans aide trois jours sur sept", "Aide à la toilette", "(45 min)",
        "Empreinte du contenu accepté (SHA-256)", "Infirmière du SSIAD",
    ):  # fmt: skip
        assert attendu in lu, attendu
    assert version.empreinte[:20] in lu.replace(" ", "")
