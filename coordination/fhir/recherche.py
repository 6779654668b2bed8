"""Analyse des paramètres de recherche FHIR (https://hl7.org/fhir/R4/search.html).

`analyser(paires, ressource)` transforme les paires (nom, valeur) de l'adresse (ou du corps d'un
POST `_search`) en une `Recherche` : des critères typés (jeton, chaîne, date, référence, nombre,
uri), éventuellement chaînés, et les paramètres de résultat (`_count`, `_sort`, `_include`,
`_total`, curseur de page). Tout nom inconnu ou valeur mal formée lève une erreur 400, sauf
`Prefer: handling=lenient` (les paramètres inconnus sont alors ignorés).

Répétition d'un paramètre = ET ; virgule dans la valeur = OU. Les caractères `\\,` `\\|` `\\$` et
`\\\\` sont des échappements.

Ce module ne touche pas la base : la traduction en requête est dans filtres.py, et c'est le
gestionnaire de la ressource qui décide de ce qu'il sait chercher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings

from coordination.fhir.erreurs import requete_invalide
from coordination.fhir.registre import ParametreRecherche, TypeParametre, registre

if TYPE_CHECKING:
    from coordination.fhir.registre import Ressource

NOMBRE_PAR_DEFAUT = 20
NOMBRE_MAX = 100
LONGUEUR_VALEUR_MAX = 500
NOMBRE_DE_PARAMETRES_MAX = 50
PROFONDEUR_CHAINE_MAX = 3

# Paramètres communs à toutes les ressources.
PARAMETRES_COMMUNS = (
    ParametreRecherche("_id", TypeParametre.TOKEN, "Identifiant logique de la ressource"),
    ParametreRecherche("_lastUpdated", TypeParametre.DATE, "Date de dernière modification"),
)
PARAMETRE_CURSEUR = "_curseur"
PARAMETRES_IGNORES = {"_format", "_pretty"}

MODIFICATEURS = {
    TypeParametre.STRING: {"exact", "contains"},
    TypeParametre.TOKEN: {"not", "text"},
    TypeParametre.REFERENCE: set(),  # « :Type » traité à part
    TypeParametre.DATE: set(),
    TypeParametre.NUMBER: set(),
    TypeParametre.URI: {"below", "above"},
}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


# --- Valeurs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jeton:
    """`system|code`, `|code` (code sans système), `system|` (tout code de ce système), `code`."""

    systeme: str | None  # None : système non précisé ; "" : explicitement sans système
    code: str | None  # None : tout code du système


@dataclass(frozen=True)
class Intervalle:
    """Une date FHIR, partielle ou non, lue comme l'intervalle [debut, fin[ qu'elle désigne."""

    prefixe: str
    debut: datetime
    fin: datetime


@dataclass(frozen=True)
class ReferenceRecherche:
    type: str | None
    id: str


@dataclass(frozen=True)
class Nombre:
    prefixe: str
    valeur: Decimal


@dataclass(frozen=True)
class Maillon:
    """Un maillon de chaîne : paramètre référence et type visé (`subject:Patient`)."""

    parametre: str
    type_cible: str


@dataclass
class Critere:
    """Un paramètre de recherche : `valeurs` sont en OU. `chaine` : maillons traversés avant le
    paramètre final (`organization.name` → chaîne [organization→Organization], nom « name »)."""

    nom: str
    type: TypeParametre
    valeurs: list
    modificateur: str | None = None
    chaine: tuple[Maillon, ...] = ()
    brut: str = ""

    @property
    def nom_complet(self) -> str:
        debut = "".join(f"{m.parametre}:{m.type_cible}." for m in self.chaine)
        return debut + self.nom + (f":{self.modificateur}" if self.modificateur else "")


@dataclass(frozen=True)
class Inclusion:
    source: str
    parametre: str
    cible: str | None = None
    iterer: bool = False

    @property
    def cle(self) -> str:
        return f"{self.source}:{self.parametre}"


@dataclass
class Recherche:
    type: str
    criteres: list[Critere] = field(default_factory=list)
    nombre: int = NOMBRE_PAR_DEFAUT
    tri: list[tuple[str, bool]] = field(default_factory=list)  # (paramètre, décroissant)
    inclusions: list[Inclusion] = field(default_factory=list)
    total: str = "accurate"  # none | estimate | accurate
    curseur: str | None = None
    compter_seulement: bool = False
    ignores: list[str] = field(default_factory=list)

    def parametres_de_lien(self) -> list[tuple[str, str]]:
        """Les paramètres tels que compris, pour les liens self/next/previous (sans curseur)."""
        paires = [(c.nom_complet, c.brut) for c in self.criteres]
        if self.tri:
            paires.append(("_sort", ",".join(("-" if d else "") + n for n, d in self.tri)))
        for inclusion in self.inclusions:
            nom = "_include:iterate" if inclusion.iterer else "_include"
            valeur = inclusion.cle + (f":{inclusion.cible}" if inclusion.cible else "")
            paires.append((nom, valeur))
        if self.total != "accurate":
            paires.append(("_total", self.total))
        paires.append(("_count", str(self.nombre)))
        return paires


# --- Découpage -----------------------------------------------------------------------------


def decouper(valeur: str, separateur: str) -> list[str]:
    """Découpe sur le séparateur non échappé et retire les échappements FHIR."""
    morceaux, courant, i = [], [], 0
    while i < len(valeur):
        caractere = valeur[i]
        if caractere == "\\" and i + 1 < len(valeur) and valeur[i + 1] in ",|$\\":
            courant.append("\\" + valeur[i + 1])
            i += 2
            continue
        if caractere == separateur:
            morceaux.append("".join(courant))
            courant = []
        else:
            courant.append(caractere)
        i += 1
    morceaux.append("".join(courant))
    return morceaux


def _sans_echappement(valeur: str) -> str:
    return re.sub(r"\\([,|$\\])", r"\1", valeur)


# --- Valeurs par type ---------------------------------------------------------------------------

_DATE = re.compile(
    r"^(?P<annee>\d{4})(-(?P<mois>\d{2})(-(?P<jour>\d{2})"
    r"(T(?P<heure>\d{2}):(?P<minute>\d{2})(:(?P<seconde>\d{2})(?P<fraction>\.\d{1,6})?)?"
    r"(?P<fuseau>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _fuseau(texte: str | None):
    if texte is None:
        return ZoneInfo(settings.TIME_ZONE)
    if texte == "Z":
        return ZoneInfo("UTC")
    signe = 1 if texte[0] == "+" else -1
    heures, minutes = int(texte[1:3]), int(texte[4:6])
    if heures > 14 or minutes > 59:
        raise ValueError("fuseau")
    from datetime import timezone as tz

    return tz(signe * timedelta(hours=heures, minutes=minutes))


def lire_date(texte: str) -> tuple[datetime, datetime]:
    """[début, fin[ d'une date FHIR : « 2024 », « 2024-03 », « 2024-03-05 », « 2024-03-05T10:00Z »…
    Sans fuseau, l'heure est celle du serveur (Europe/Paris). ValueError si mal formée."""
    trouve = _DATE.match(texte)
    if not trouve:
        raise ValueError(texte)
    g = trouve.groupdict()
    annee = int(g["annee"])
    fuseau = _fuseau(g["fuseau"])
    if g["mois"] is None:
        debut = datetime(annee, 1, 1, tzinfo=fuseau)
        return debut, datetime(annee + 1, 1, 1, tzinfo=fuseau)
    mois = int(g["mois"])
    if g["jour"] is None:
        debut = datetime(annee, mois, 1, tzinfo=fuseau)
        fin = datetime(annee + (mois == 12), mois % 12 + 1, 1, tzinfo=fuseau)
        return debut, fin
    jour = date(annee, mois, int(g["jour"]))
    if g["heure"] is None:
        debut = datetime(jour.year, jour.month, jour.day, tzinfo=fuseau)
        return debut, debut + timedelta(days=1)
    seconde = g["seconde"]
    fraction = g["fraction"]
    debut = datetime(
        jour.year, jour.month, jour.day, int(g["heure"]), int(g["minute"]), int(seconde or 0),
        int((fraction or ".0")[1:].ljust(6, "0")), tzinfo=fuseau,
    )  # fmt: skip
    precision = timedelta(minutes=1) if seconde is None else timedelta(seconds=1)
    if fraction:
        precision = timedelta(microseconds=10 ** (6 - (len(fraction) - 1)))
    return debut, debut + precision


def _prefixe(texte: str) -> tuple[str, str]:
    if len(texte) > 2 and texte[:2] in PREFIXES:
        return texte[:2], texte[2:]
    return "eq", texte


def _valeur(parametre: ParametreRecherche, modificateur: str | None, texte: str, nom: str):
    texte_propre = _sans_echappement(texte)
    if parametre.type == TypeParametre.TOKEN:
        if modificateur == "text":
            return texte_propre
        morceaux = decouper(texte, "|")
        if len(morceaux) == 1:
            return Jeton(None, _sans_echappement(morceaux[0]))
        if len(morceaux) > 2:
            raise requete_invalide(f"Paramètre « {nom} » : un jeton s'écrit « système|code ».")
        systeme, code = (_sans_echappement(m) for m in morceaux)
        if not systeme and not code:
            raise requete_invalide(f"Paramètre « {nom} » : « | » seul n'est pas un jeton.")
        return Jeton(systeme, code or None)
    if parametre.type == TypeParametre.DATE:
        prefixe, reste = _prefixe(texte_propre)
        if prefixe == "ap":
            raise requete_invalide(f"Paramètre « {nom} » : le préfixe « ap » n'est pas pris en charge.")
        try:
            debut, fin = lire_date(reste)
        except (ValueError, OverflowError):
            raise requete_invalide(
                f"Paramètre « {nom} » : « {texte_propre[:40]} » n'est pas une date FHIR "
                "(AAAA, AAAA-MM, AAAA-MM-JJ ou AAAA-MM-JJThh:mm[:ss][Z|±hh:mm], "
                "préfixes eq ne lt gt le ge sa eb)."
            ) from None
        return Intervalle(prefixe, debut, fin)
    if parametre.type == TypeParametre.REFERENCE:
        reference = _reference(texte_propre, modificateur, nom)
        if reference.type and parametre.cibles and reference.type not in parametre.cibles:
            raise requete_invalide(
                f"Paramètre « {nom} » : référence vers {reference.type[:40]}, "
                f"{' ou '.join(parametre.cibles)} attendu."
            )
        return reference
    if parametre.type == TypeParametre.NUMBER:
        prefixe, reste = _prefixe(texte_propre)
        try:
            return Nombre(prefixe, Decimal(reste))
        except InvalidOperation:
            raise requete_invalide(f"Paramètre « {nom} » : « {reste[:40]} » n'est pas un nombre.") from None
    return texte_propre  # string, uri


def _reference(texte: str, type_modificateur: str | None, nom: str) -> ReferenceRecherche:
    morceaux = [m for m in texte.split("/") if m]
    if "_history" in morceaux:  # Type/id/_history/n : la version est ignorée
        morceaux = morceaux[: morceaux.index("_history")]
    if not morceaux:
        raise requete_invalide(f"Paramètre « {nom} » : référence vide.")
    if len(morceaux) == 1:
        return ReferenceRecherche(type_modificateur, morceaux[0])
    type_ressource, id_logique = morceaux[-2], morceaux[-1]
    if type_modificateur and type_modificateur != type_ressource:
        raise requete_invalide(f"Paramètre « {nom} » : la référence ne vise pas le type {type_modificateur}.")
    return ReferenceRecherche(type_ressource, id_logique)


# --- Noms (chaînes, modificateurs) ---------------------------------------------------------------


def _resoudre(ressource: Ressource, nom_complet: str) -> tuple[ParametreRecherche, str | None, tuple]:
    """Suit la chaîne « a:Type.b.c:modif » à travers le registre : (paramètre final, modificateur,
    maillons). Lève KeyError si un nom n'est pas déclaré (paramètre inconnu)."""
    morceaux = nom_complet.split(".")
    if len(morceaux) > PROFONDEUR_CHAINE_MAX + 1:
        raise requete_invalide(f"Paramètre « {nom_complet[:80]} » : chaîne trop longue.")
    maillons = []
    courante = ressource
    for morceau in morceaux[:-1]:
        nom, _, type_cible = morceau.partition(":")
        parametre = courante.parametre(nom)
        if parametre is None:
            raise KeyError(nom)
        if parametre.type != TypeParametre.REFERENCE:
            raise requete_invalide(f"Paramètre « {nom_complet[:80]} » : « {nom} » n'est pas une référence.")
        if not type_cible:
            if len(parametre.cibles) != 1:
                raise requete_invalide(
                    f"Paramètre « {nom_complet[:80]} » : précisez le type visé (« {nom}:Type »)."
                )
            type_cible = parametre.cibles[0]
        if parametre.cibles and type_cible not in parametre.cibles:
            raise requete_invalide(
                f"Paramètre « {nom_complet[:80]} » : « {nom} » ne vise pas {type_cible[:40]}."
            )
        if not registre.existe(type_cible):
            raise requete_invalide(f"Paramètre « {nom_complet[:80]} » : type {type_cible[:40]} non servi.")
        maillons.append(Maillon(nom, type_cible))
        courante = registre.obtenir(type_cible)
    nom, _, modificateur = morceaux[-1].partition(":")
    parametre = courante.parametre(nom) or next((p for p in PARAMETRES_COMMUNS if p.nom == nom), None)
    if parametre is None:
        raise KeyError(nom)
    return parametre, modificateur or None, tuple(maillons)


def _critere(ressource: Ressource, nom_complet: str, valeur: str) -> Critere:
    parametre, modificateur, maillons = _resoudre(ressource, nom_complet)
    if modificateur is not None:
        permis = MODIFICATEURS.get(parametre.type, set())
        est_type = parametre.type == TypeParametre.REFERENCE and registre.existe(modificateur)
        if modificateur not in permis and not est_type:
            raise requete_invalide(
                f"Paramètre « {nom_complet[:80]} » : modificateur « :{modificateur[:30]} » "
                "non pris en charge."
            )
    if valeur == "":
        raise requete_invalide(f"Paramètre « {nom_complet[:80]} » : valeur vide.")
    valeurs = [_valeur(parametre, modificateur, morceau, nom_complet) for morceau in decouper(valeur, ",")]
    return Critere(parametre.nom, parametre.type, valeurs, modificateur, maillons, valeur)


# --- Paramètres de résultat ------------------------------------------------------------------------


def _entier(nom: str, valeur: str) -> int:
    if not valeur.isdigit() or len(valeur) > 6:
        raise requete_invalide(f"« {nom} » doit être un entier positif ou nul.")
    return int(valeur)


def _tri(ressource: Ressource, valeur: str) -> list[tuple[str, bool]]:
    tri = []
    for morceau in valeur.split(","):
        descendant = morceau.startswith("-")
        nom = morceau[1:] if descendant else morceau
        if nom not in ressource.tris:
            permis = ", ".join(ressource.tris) or "aucun"
            raise requete_invalide(
                f"« _sort={nom[:40]} » non pris en charge pour {ressource.type} (permis : {permis})."
            )
        tri.append((nom, descendant))
    return tri


def _toutes_les_inclusions(ressource: Ressource, iterer: bool) -> list[Inclusion]:
    """`_include=*` : toutes les inclusions du type cherché ; `_include:iterate=*` : aussi celles
    de chaque type du registre, appliquées à ce qui vient d'être inclus."""
    sources = [ressource] + ([r for r in registre.ressources() if r.type != ressource.type] if iterer else [])
    inclusions = [
        Inclusion(source.type, cle.split(":", 1)[1], None, iterer)
        for source in sources
        for cle in source.inclusions
    ]
    if not ressource.inclusions:
        raise requete_invalide(f"« _include=* » : aucune inclusion n'est possible depuis {ressource.type}.")
    return inclusions


def _inclusion(ressource: Ressource, valeur: str, iterer: bool) -> Inclusion:
    morceaux = valeur.split(":")
    if len(morceaux) not in (2, 3) or not all(morceaux):
        raise requete_invalide(
            f"« _include={valeur[:80]} » : la forme attendue est Type:paramètre[:TypeCible]."
        )
    inclusion = Inclusion(morceaux[0], morceaux[1], morceaux[2] if len(morceaux) == 3 else None, iterer)
    source = ressource if inclusion.source == ressource.type else None
    if source is None and iterer and registre.existe(inclusion.source):
        source = registre.obtenir(inclusion.source)
    if source is None or inclusion.cle not in source.inclusions:
        raise requete_invalide(f"« _include={valeur[:80]} » non pris en charge.")
    return inclusion


def analyser(paires: list[tuple[str, str]], ressource: Ressource, *, tolerant: bool = False) -> Recherche:
    """Analyse les paramètres d'une recherche sur `ressource`. `tolerant` : Prefer: handling=lenient."""
    if len(paires) > NOMBRE_DE_PARAMETRES_MAX:
        raise requete_invalide(f"Trop de paramètres de recherche (au plus {NOMBRE_DE_PARAMETRES_MAX}).")
    recherche = Recherche(ressource.type)
    for nom, valeur in paires:
        if "\x00" in nom or "\x00" in valeur:
            raise requete_invalide("Paramètres de recherche : le caractère NUL est interdit.")
        if len(valeur) > LONGUEUR_VALEUR_MAX or len(nom) > 200:
            raise requete_invalide(
                f"Paramètre « {nom[:80]} » : valeur trop longue (au plus {LONGUEUR_VALEUR_MAX})."
            )
        if nom in PARAMETRES_IGNORES:
            continue
        if nom == "_count":
            nombre = _entier(nom, valeur)
            recherche.nombre = min(nombre, NOMBRE_MAX)
            recherche.compter_seulement = nombre == 0
        elif nom == "_sort":
            recherche.tri = _tri(ressource, valeur)
        elif nom in ("_include", "_include:iterate") and valeur == "*":
            recherche.inclusions.extend(_toutes_les_inclusions(ressource, nom.endswith(":iterate")))
        elif nom in ("_include", "_include:iterate"):
            recherche.inclusions.append(_inclusion(ressource, valeur, nom.endswith(":iterate")))
        elif nom == "_total":
            if valeur not in ("none", "estimate", "accurate"):
                raise requete_invalide("« _total » vaut none, estimate ou accurate.")
            recherche.total = valeur
        elif nom == "_summary" and valeur == "count":
            recherche.compter_seulement = True
        elif nom == PARAMETRE_CURSEUR:
            recherche.curseur = valeur
        else:
            try:
                recherche.criteres.append(_critere(ressource, nom, valeur))
            except KeyError:
                if tolerant:
                    recherche.ignores.append(nom)
                    continue
                permis = ", ".join(p.nom for p in (*ressource.parametres, *PARAMETRES_COMMUNS))
                raise requete_invalide(
                    f"Paramètre de recherche « {nom[:80]} » inconnu pour {ressource.type} "
                    f"(permis : {permis})."
                ) from None
    return recherche
