"""Pagination par clé (keyset) des recherches : une page = une requête, quelle que soit sa
profondeur (pas d'OFFSET qui relit les lignes sautées).

Le curseur est opaque et signé (django.core.signing) : il porte les valeurs de tri de la dernière
ligne (page suivante) ou de la première (page précédente), et le sens. Un curseur altéré ou d'une
autre recherche donne une erreur 400, jamais une page fausse : la signature couvre aussi le type
et l'ordre de tri.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core import signing
from django.db.models import Q, QuerySet

from coordination.fhir.erreurs import requete_invalide

SEL = "coordination.fhir.pagination"
SUIVANT, PRECEDENT = "s", "p"


@dataclass(frozen=True)
class Ordre:
    """Ordre total de la pagination : des champs (non nuls) puis `pk` pour départager."""

    champs: tuple[tuple[str, bool], ...]  # (champ ORM, décroissant)

    @property
    def complet(self) -> tuple[tuple[str, bool], ...]:
        return (*self.champs, ("pk", False))

    def order_by(self, inverse: bool = False) -> list[str]:
        return [("-" if (d != inverse) else "") + c for c, d in self.complet]

    def cle(self) -> str:
        return ",".join(("-" if d else "") + c for c, d in self.complet)


def _en_texte(valeur):
    if isinstance(valeur, datetime | date):
        return valeur.isoformat()
    return valeur if isinstance(valeur, str | int) or valeur is None else str(valeur)


def _valeurs(objet, ordre: Ordre) -> list:
    return [getattr(objet, champ) for champ, _ in ordre.complet]


def encoder(type_ressource: str, ordre: Ordre, objet, sens: str) -> str:
    return signing.dumps(
        {
            "t": type_ressource,
            "o": ordre.cle(),
            "s": sens,
            "v": [_en_texte(v) for v in _valeurs(objet, ordre)],
        },
        salt=SEL,
        compress=True,
    )


def decoder(curseur: str, type_ressource: str, ordre: Ordre) -> tuple[str, list]:
    try:
        contenu = signing.loads(curseur, salt=SEL)
    except (signing.BadSignature, ValueError, TypeError):
        raise requete_invalide(
            "Curseur de page invalide : repartez du lien « self » ou de la première page."
        ) from None
    if (
        not isinstance(contenu, dict)
        or contenu.get("t") != type_ressource
        or contenu.get("o") != ordre.cle()
        or contenu.get("s") not in (SUIVANT, PRECEDENT)
        or not isinstance(contenu.get("v"), list)
        or len(contenu["v"]) != len(ordre.complet)
    ):
        raise requete_invalide("Curseur de page d'une autre recherche : repartez de la première page.")
    return contenu["s"], contenu["v"]


def _apres(ordre: Ordre, valeurs: list, inverse: bool) -> Q:
    """Lignes strictement après `valeurs` dans l'ordre (avant si `inverse`) : (a > a0) OU
    (a = a0 ET b > b0) OU …"""
    resultat = Q(pk__in=[])
    egalites = Q()
    for (champ, descendant), valeur in zip(ordre.complet, valeurs, strict=True):
        vers_le_haut = descendant == inverse
        resultat |= egalites & Q(**{f"{champ}__{'gt' if vers_le_haut else 'lt'}": valeur})
        egalites &= Q(**{champ: valeur})
    return resultat


@dataclass
class Tranche:
    objets: list
    curseur_suivant: str | None
    curseur_precedent: str | None


def paginer(
    queryset: QuerySet, *, type_ressource: str, ordre: Ordre, nombre: int, curseur: str | None
) -> Tranche:
    """Une page de `nombre` objets (une requête : nombre + 1 lignes lues pour savoir s'il y a une suite)."""
    sens, valeurs = SUIVANT, None
    if curseur:
        # Valeurs relues en texte : Django les reconvertit selon le champ (dates ISO comprises).
        sens, valeurs = decoder(curseur, type_ressource, ordre)
    inverse = sens == PRECEDENT
    if valeurs is not None:
        queryset = queryset.filter(_apres(ordre, valeurs, inverse))
    lignes = list(queryset.order_by(*ordre.order_by(inverse))[: nombre + 1])
    encore = len(lignes) > nombre
    lignes = lignes[:nombre]
    if inverse:
        lignes.reverse()
    if not lignes:
        return Tranche([], None, None)
    a_suivant = encore if not inverse else True
    a_precedent = (valeurs is not None) if not inverse else encore
    return Tranche(
        lignes,
        encoder(type_ressource, ordre, lignes[-1], SUIVANT) if a_suivant else None,
        encoder(type_ressource, ordre, lignes[0], PRECEDENT) if a_precedent else None,
    )
