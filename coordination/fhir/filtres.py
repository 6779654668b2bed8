"""Traduction des critères de recherche (recherche.py) en filtres Django (`Q`).

Un gestionnaire `RessourceModele` associe à chaque paramètre déclaré un filtre : `FiltreTexte`,
`FiltreJeton`, `FiltreDate`, `FiltreReference`, `FiltreBooleen`. Chaque filtre rend un `Q` relatif
à un préfixe de chemin ORM, ce qui permet les paramètres chaînés : `organization.name=x` sur
PractitionerRole applique le filtre « name » d'Organization sous le préfixe `structure__`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import F, Q
from django.db.models.lookups import Contains, StartsWith

from coordination.fhir.erreurs import requete_invalide
from coordination.fhir.recherche import Critere, Intervalle, Jeton, ReferenceRecherche
from coordination.fhir.registre import registre

if TYPE_CHECKING:
    from coordination.fhir.recherche import Maillon

RIEN = Q(pk__in=[])


def _ou(morceaux) -> Q:
    resultat = None
    for morceau in morceaux:
        resultat = morceau if resultat is None else resultat | morceau
    return resultat if resultat is not None else RIEN


class Filtre:
    def q(self, critere: Critere, prefixe: str = "") -> Q:
        raise NotImplementedError

    def q_chaine(self, critere: Critere, maillons: tuple[Maillon, ...], prefixe: str = "") -> Q:
        raise requete_invalide(
            f"Paramètre « {critere.nom_complet} » : recherche chaînée non prise en charge."
        )


@dataclass(frozen=True)
class Cle:
    """Forme de comparaison sans casse ni accents : `sql` la calcule sur un champ (expression), et
    `python` sur la valeur cherchée ; les deux doivent donner le même texte. `deja_calculee` : le
    champ est lui-même la clé (colonne générée et indexée)."""

    sql: Callable
    python: Callable[[str], str]
    deja_calculee: bool = False

    def expression(self, chemin: str):
        return F(chemin) if self.deja_calculee else self.sql(F(chemin))


@dataclass
class FiltreTexte(Filtre):
    """Chaîne FHIR : par défaut « commence par » ; `:exact` égalité stricte ; `:contains` contient.
    Plusieurs champs : l'un d'eux suffit. Avec une `cle`, la comparaison (hors :exact) ignore casse
    et accents comme le veut FHIR ; sans, seulement la casse. `debut_de_mot` : « commence par » vaut
    pour chaque mot du champ (nom ou prénom dans une clé « NOM PRENOM »)."""

    champs: tuple[str, ...]
    cle: Cle | None = None
    debut_de_mot: bool = False

    def _avec_cle(self, chemin: str, valeur: str, modificateur: str | None) -> Q:
        cle = self.cle.python(valeur)
        expression = self.cle.expression(chemin)
        if modificateur == "contains":
            return Q(Contains(expression, cle))
        q = Q(StartsWith(expression, cle))
        return q | Q(Contains(expression, f" {cle}")) if self.debut_de_mot else q

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        if self.cle is not None and critere.modificateur != "exact":
            return _ou(
                self._avec_cle(f"{prefixe}{champ}", valeur, critere.modificateur)
                for valeur in critere.valeurs
                for champ in self.champs
            )
        suffixe = {None: "__istartswith", "contains": "__icontains", "exact": ""}[critere.modificateur]
        return _ou(
            Q(**{f"{prefixe}{champ}{suffixe}": valeur}) for valeur in critere.valeurs for champ in self.champs
        )


@dataclass
class FiltreJeton(Filtre):
    """Jeton : `systemes` associe à chaque système une fonction code → Q (relatif au préfixe).
    Un code sans système est cherché dans tous les systèmes ; `système|` = le champ est rempli."""

    systemes: dict[str, Callable[[str | None, str], Q]]

    def _valeur(self, jeton: Jeton, prefixe: str) -> Q:
        if jeton.systeme is None:
            return _ou(fabrique(jeton.code, prefixe) for fabrique in self.systemes.values())
        fabrique = self.systemes.get(jeton.systeme)
        if fabrique is None:  # système inconnu (ou « |code » : sans système) : rien ne correspond
            return RIEN
        return fabrique(jeton.code, prefixe)

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        if critere.modificateur == "text":
            raise requete_invalide(f"Paramètre « {critere.nom} » : « :text » non pris en charge.")
        q = _ou(self._valeur(valeur, prefixe) for valeur in critere.valeurs)
        return ~q if critere.modificateur == "not" else q


def champ_egal(champ: str, transformer: Callable[[str], str | None] = lambda code: code) -> Callable:
    """Fabrique de jeton pour un champ simple : `code` → champ = transformer(code) ; code absent →
    champ rempli. `transformer` renvoie None quand le code ne peut pas correspondre."""

    def fabrique(code: str | None, prefixe: str) -> Q:
        if code is None:
            return Q(**{f"{prefixe}{champ}__isnull": False}) & ~Q(**{f"{prefixe}{champ}": ""})
        valeur = transformer(code)
        return Q(**{f"{prefixe}{champ}": valeur}) if valeur is not None else RIEN

    return fabrique


def uuid_ou_rien(texte: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(texte)
    except (ValueError, AttributeError, TypeError):
        return None


@dataclass
class FiltreId(Filtre):
    """`_id` : l'identifiant logique est le `uuid` public."""

    champ: str = "uuid"

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        uuids = [uuid_ou_rien(v.code or "") for v in critere.valeurs if v.systeme is None]
        uuids = [u for u in uuids if u is not None]
        return Q(**{f"{prefixe}{self.champ}__in": uuids}) if uuids else RIEN


@dataclass
class FiltreDate(Filtre):
    """Date comparée comme intervalle (https://hl7.org/fhir/R4/search.html#prefix) : le champ est un
    instant (ou une date) ponctuel, comparé à l'intervalle [début, fin[ de la valeur."""

    champ: str

    def _valeur(self, valeur: Intervalle, prefixe: str) -> Q:
        champ = f"{prefixe}{self.champ}"
        debut, fin = valeur.debut, valeur.fin
        return {
            "eq": Q(**{f"{champ}__gte": debut, f"{champ}__lt": fin}),
            "ne": Q(**{f"{champ}__lt": debut}) | Q(**{f"{champ}__gte": fin}),
            "lt": Q(**{f"{champ}__lt": debut}),
            "eb": Q(**{f"{champ}__lt": debut}),
            "le": Q(**{f"{champ}__lt": fin}),
            "gt": Q(**{f"{champ}__gte": fin}),
            "sa": Q(**{f"{champ}__gte": fin}),
            "ge": Q(**{f"{champ}__gte": debut}),
        }[valeur.prefixe]

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        return _ou(self._valeur(v, prefixe) for v in critere.valeurs)


@dataclass
class FiltreBooleen(Filtre):
    """Jeton true/false calculé : `vrai` est le Q des lignes pour lesquelles l'élément vaut true."""

    vrai: Callable[[str], Q]

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        morceaux = []
        for valeur in critere.valeurs:
            if valeur.code not in ("true", "false"):
                raise requete_invalide(f"Paramètre « {critere.nom} » : true ou false attendu.")
            q = self.vrai(prefixe)
            morceaux.append(q if valeur.code == "true" else ~q)
        q = _ou(morceaux)
        return ~q if critere.modificateur == "not" else q


@dataclass
class FiltreReference(Filtre):
    """Référence vers une autre ressource du registre, suivie par la clé étrangère `champ`.
    Valeur « Type/uuid » ou « uuid » ; chaînage : le filtre du paramètre final de la ressource
    cible s'applique sous le préfixe `champ__`."""

    champ: str
    cible: str

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        uuids = []
        for valeur in critere.valeurs:
            assert isinstance(valeur, ReferenceRecherche)
            if valeur.type not in (None, self.cible):
                continue
            identifiant = uuid_ou_rien(valeur.id)
            if identifiant is not None:
                uuids.append(identifiant)
        return Q(**{f"{prefixe}{self.champ}__uuid__in": uuids}) if uuids else RIEN

    def q_chaine(self, critere: Critere, maillons: tuple[Maillon, ...], prefixe: str = "") -> Q:
        cible = registre.obtenir(maillons[0].type_cible)
        filtre_de = getattr(cible, "filtre", None)
        if filtre_de is None:
            return super().q_chaine(critere, maillons, prefixe)
        filtre = filtre_de(critere.nom if len(maillons) == 1 else maillons[1].parametre)
        sous_prefixe = f"{prefixe}{self.champ}__"
        if len(maillons) == 1:
            return filtre.q(critere, sous_prefixe)
        return filtre.q_chaine(critere, maillons[1:], sous_prefixe)


@dataclass
class FiltreReferences(Filtre):
    """Référence vers l'un de plusieurs types (`actor` d'un Schedule : Practitioner ou PractitionerRole) :
    `chemins` associe à chaque type le chemin ORM de l'uuid visé ; une valeur sans type les essaie tous.
    Un chemin à travers une relation multiple joint ses lignes : le queryset doit être `distinct()`."""

    chemins: dict[str, str]

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        return _ou(
            Q(**{f"{prefixe}{chemin}": code})
            for valeur in critere.valeurs
            if (code := uuid_ou_rien(valeur.id)) is not None
            for type_ressource, chemin in self.chemins.items()
            if valeur.type in (None, type_ressource)
        )
