"""Analyse des paramètres de recherche FHIR (coordination/fhir/recherche.py), sans base de données."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from coordination.fhir.erreurs import ErreurFHIR
from coordination.fhir.recherche import (
    Intervalle,
    Jeton,
    Maillon,
    ReferenceRecherche,
    analyser,
    decouper,
    lire_date,
)
from coordination.fhir.registre import TypeParametre, registre

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC


def role(*paires, **options):
    return analyser(list(paires), registre.obtenir("PractitionerRole"), **options)


def organisation(*paires):
    return analyser(list(paires), registre.obtenir("Organization"))


@pytest.mark.parametrize(
    "texte, debut, fin",
    [
        ("2024", datetime.datetime(2024, 1, 1, tzinfo=PARIS), datetime.datetime(2025, 1, 1, tzinfo=PARIS)),
        ("2024-02", datetime.datetime(2024, 2, 1, tzinfo=PARIS), datetime.datetime(2024, 3, 1, tzinfo=PARIS)),
        (
            "2024-12",
            datetime.datetime(2024, 12, 1, tzinfo=PARIS),
            datetime.datetime(2025, 1, 1, tzinfo=PARIS),
        ),
        (
            "2024-02-29",
            datetime.datetime(2024, 2, 29, tzinfo=PARIS),
            datetime.datetime(2024, 3, 1, tzinfo=PARIS),
        ),
        (
            "2024-03-05T10:30Z",
            datetime.datetime(2024, 3, 5, 10, 30, tzinfo=UTC),
            datetime.datetime(2024, 3, 5, 10, 31, tzinfo=UTC),
        ),
        (
            "2024-03-05T10:30:15+02:00",
            datetime.datetime(2024, 3, 5, 8, 30, 15, tzinfo=UTC),
            datetime.datetime(2024, 3, 5, 8, 30, 16, tzinfo=UTC),
        ),
        (
            "2024-03-05T10:30:15.5Z",
            datetime.datetime(2024, 3, 5, 10, 30, 15, 500000, tzinfo=UTC),
            datetime.datetime(2024, 3, 5, 10, 30, 15, 600000, tzinfo=UTC),
        ),
    ],
)
def test_dates_partielles_en_intervalles(texte, debut, fin):
    assert lire_date(texte) == (debut, fin)


@pytest.mark.parametrize(
    "texte", ["24", "2024-2", "2024-02-30", "2024-13", "2024-01-01T24:00Z", "2024-01-01T10Z", "hier"]
)
def test_dates_invalides(texte):
    with pytest.raises((ValueError, OverflowError)):
        lire_date(texte)


def test_prefixes_de_date():
    recherche = role(("_lastUpdated", "ge2024-01"), ("_lastUpdated", "lt2024-02-15"))
    premier, second = recherche.criteres
    assert premier.type == TypeParametre.DATE
    assert premier.valeurs == [
        Intervalle(
            "ge", datetime.datetime(2024, 1, 1, tzinfo=PARIS), datetime.datetime(2024, 2, 1, tzinfo=PARIS)
        )
    ]
    assert second.valeurs[0].prefixe == "lt"
    for prefixe in ("eq", "ne", "gt", "le", "sa", "eb"):
        assert role(("_lastUpdated", f"{prefixe}2024")).criteres[0].valeurs[0].prefixe == prefixe


def test_jetons_systeme_code_et_echappements():
    recherche = organisation(
        ("identifier", "https://finess.esante.gouv.fr|350000014,|sans-systeme,systeme|,seul")
    )
    assert recherche.criteres[0].valeurs == [
        Jeton("https://finess.esante.gouv.fr", "350000014"),
        Jeton("", "sans-systeme"),
        Jeton("systeme", None),
        Jeton(None, "seul"),
    ]
    echappe = organisation(("identifier", r"a\|b|c\,d"))
    assert echappe.criteres[0].valeurs == [Jeton("a|b", "c,d")]
    assert decouper(r"un\,deux,trois", ",") == [r"un\,deux", "trois"]


def test_chaines_modificateurs_et_ou():
    recherche = organisation(("name:exact", "EHPAD"), ("name", "a,b"), ("name:contains", "x"))
    assert [(c.nom, c.modificateur, c.valeurs) for c in recherche.criteres] == [
        ("name", "exact", ["EHPAD"]),
        ("name", None, ["a", "b"]),
        ("name", "contains", ["x"]),
    ]


def test_references_et_chainage():
    recherche = role(
        ("organization", "Organization/abc"),
        ("practitioner", "https://ailleurs.test/fhir/Practitioner/def/_history/2"),
        ("organization:Organization", "ghi"),
        ("organization.name", "Tilleuls"),
        ("practitioner:Practitioner.identifier", "810002222222"),
    )
    references = [c.valeurs[0] for c in recherche.criteres[:3]]
    assert references == [
        ReferenceRecherche("Organization", "abc"),
        ReferenceRecherche("Practitioner", "def"),
        ReferenceRecherche("Organization", "ghi"),
    ]
    chaine_nom, chaine_identifiant = recherche.criteres[3:]
    assert chaine_nom.chaine == (Maillon("organization", "Organization"),)
    assert (chaine_nom.nom, chaine_nom.type) == ("name", TypeParametre.STRING)
    assert chaine_identifiant.chaine == (Maillon("practitioner", "Practitioner"),)
    assert chaine_identifiant.valeurs == [Jeton(None, "810002222222")]
    assert chaine_nom.nom_complet == "organization:Organization.name"


def test_parametres_de_resultat():
    recherche = role(
        ("_count", "500"),
        ("_sort", "-_lastUpdated"),
        ("_include", "PractitionerRole:organization"),
        ("_include:iterate", "PractitionerRole:practitioner:Practitioner"),
        ("_total", "none"),
        ("_format", "json"),
    )
    assert recherche.nombre == 100
    assert recherche.tri == [("_lastUpdated", True)]
    assert [(i.cle, i.cible, i.iterer) for i in recherche.inclusions] == [
        ("PractitionerRole:organization", None, False),
        ("PractitionerRole:practitioner", "Practitioner", True),
    ]
    assert recherche.total == "none"
    assert ("_count", "100") in recherche.parametres_de_lien()


@pytest.mark.parametrize(
    "paire",
    [
        ("inconnu", "x"),
        ("organization.inconnu", "x"),
        ("organization:Practitioner.name", "x"),
        ("organization:Licorne.name", "x"),
        ("role.name", "x"),
        ("a.b.c.d.e", "x"),
        ("_count", "-3"),
        ("_sort", "name"),
        ("_include", "PractitionerRole"),
        ("_include", "Practitioner:organization"),
        ("_lastUpdated", "ap2024"),
        ("practitioner", ""),
        ("practitioner", "Organization/1"),
    ],
)
def test_erreurs_400(paire):
    with pytest.raises(ErreurFHIR) as erreur:
        role(paire)
    assert erreur.value.statut == 400


def test_tolerant_ignore_les_inconnus_seulement():
    recherche = role(("inconnu", "x"), ("active", "true"), tolerant=True)
    assert recherche.ignores == ["inconnu"] and [c.nom for c in recherche.criteres] == ["active"]
    with pytest.raises(ErreurFHIR):
        role(("_count", "x"), tolerant=True)
