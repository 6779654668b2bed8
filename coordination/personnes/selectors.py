"""Lectures des personnes. Les lectures d'usagers prennent l'acteur et journalisent ce qu'elles montrent.

La détection des doublons porte sur les 5 traits INS normalisés (domain.md règle 10 : le
rapprochement se fait sur les traits seulement) et s'appuie sur deux index de `Usager` :
`usager_traits_idx` (nom de naissance normalisé, date) et `usager_prenom_date_idx` (date, premier
prénom normalisé) pour les inversions nom/prénom.
"""

from __future__ import annotations

import datetime
import operator
import re
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from coordination.journal.services import journaliser_plusieurs, preparer_evenement
from coordination.personnes.identifiants import compacter
from coordination.personnes.models import Usager, normaliser_trait

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

PROBABLE = "probable"
POSSIBLE = "possible"

LIBELLES_TRAITS = {
    "nom_naissance": "nom de naissance",
    "prenoms_naissance": "prénoms de naissance",
    "date_naissance": "date de naissance",
    "sexe": "sexe",
    "code_lieu_naissance": "lieu de naissance",
}

# Au-delà, la saisie est trop vague pour être utile (nom très courant et date mal connue) : on
# montre les premiers et on invite à préciser.
LIMITE_CANDIDATS = 20


@dataclass(frozen=True)
class CandidatDoublon:
    """Un usager existant qui pourrait être la personne saisie."""

    usager: Usager
    niveau: str  # PROBABLE ou POSSIBLE
    traits_differents: tuple[str, ...]
    inversion_nom_prenom: bool = False

    @property
    def libelles_traits_differents(self) -> list[str]:
        return [LIBELLES_TRAITS[t] for t in self.traits_differents]

    def decrire(self) -> str:
        """Une ligne en français, sans matricule INS : « Jeanne Marie FICTIF, née le 14/07/1945 … »."""
        u = self.usager
        nee = "née" if u.sexe == "F" else "né"
        lieu = f", lieu de naissance {u.code_lieu_naissance}" if u.code_lieu_naissance else ""
        usage = f" (nom utilisé {u.nom_utilise})" if u.nom_utilise else ""
        if self.inversion_nom_prenom:
            ecart = "nom et prénom inversés"
            autres = [LIBELLES_TRAITS[t] for t in self.traits_differents if t not in INVERSION]
            if autres:
                ecart += ", " + ", ".join(autres) + " différent(s)"
        elif self.traits_differents:
            ecart = ", ".join(self.libelles_traits_differents) + " différent(s)"
        else:
            ecart = "les 5 traits sont identiques"
        return (
            f"{u.prenoms_naissance} {u.nom_naissance}{usage}, {nee} le {u.date_naissance:%d/%m/%Y}{lieu} — "
            f"doublon {self.niveau} ({ecart})"
        )


INVERSION = ("nom_naissance", "prenoms_naissance")


def _premier(prenoms: str) -> str:
    morceaux = (prenoms or "").split()
    return morceaux[0] if morceaux else ""


def requete_doublons(
    *, nom: str, premier_prenom: str, date_naissance: datetime.date, exclure: Usager | int | None = None
) -> QuerySet[Usager]:
    """La requête des candidats (formes normalisées en entrée) : même nom et même date, ou nom et
    premier prénom inversés à la même date. Servie par `usager_traits_idx` et `usager_prenom_date_idx`."""
    filtre = Q(date_naissance=date_naissance, nom_naissance_normalise=nom)
    if premier_prenom:
        filtre |= Q(
            date_naissance=date_naissance,
            premier_prenom_normalise=nom,
            nom_naissance_normalise=premier_prenom,
        )
    requete = Usager.objects.filter(filtre)
    if exclure is not None:
        requete = requete.exclude(pk=exclure.pk if isinstance(exclure, Usager) else exclure)
    return requete.order_by("nom_naissance", "prenoms_naissance", "pk")[: LIMITE_CANDIDATS * 2]


def doublons_possibles(
    *,
    nom_naissance: str,
    prenoms_naissance: str,
    date_naissance: datetime.date,
    sexe: str,
    code_lieu_naissance: str,
    exclure: Usager | int | None = None,
    acteur: Acteur | None = None,
) -> list[CandidatDoublon]:
    """Usagers existants qui pourraient être la personne décrite par ces 5 traits.

    - « probable » : les 5 traits normalisés sont identiques ;
    - « possible » : même nom de naissance et même date, un seul autre trait diffère ; ou nom et
      premier prénom inversés à la même date, avec au plus un trait différent parmi sexe et lieu.

    Une seule requête, servie par les index. `exclure` : l'usager en cours de modification.
    Quand `acteur` est donné, les candidats vont lui être montrés : la consultation est journalisée
    (un événement par usager montré, pour sa page « qui a consulté mon dossier »).
    """
    nom = normaliser_trait(nom_naissance)
    premier = normaliser_trait(_premier(prenoms_naissance))
    if not nom or date_naissance is None:
        return []
    saisie = {
        "prenoms_naissance": normaliser_trait(prenoms_naissance),
        "sexe": (sexe or "").upper(),
        "code_lieu_naissance": compacter(code_lieu_naissance),
    }
    candidats: list[CandidatDoublon] = []
    for usager in requete_doublons(
        nom=nom, premier_prenom=premier, date_naissance=date_naissance, exclure=exclure
    ):
        existant = {
            "prenoms_naissance": normaliser_trait(usager.prenoms_naissance),
            "sexe": usager.sexe,
            "code_lieu_naissance": usager.code_lieu_naissance,
        }
        if usager.nom_naissance_normalise == nom:
            differents = tuple(t for t in saisie if saisie[t] != existant[t])
            if len(differents) <= 1:
                niveau = PROBABLE if not differents else POSSIBLE
                candidats.append(CandidatDoublon(usager, niveau, differents))
        elif premier and usager.premier_prenom_normalise == nom and usager.nom_naissance_normalise == premier:
            differents = tuple(t for t in ("sexe", "code_lieu_naissance") if saisie[t] != existant[t])
            if len(differents) <= 1:
                candidats.append(CandidatDoublon(usager, POSSIBLE, INVERSION + differents, True))
    candidats.sort(key=lambda c: c.niveau != PROBABLE)  # tri stable : probables d'abord
    candidats = candidats[:LIMITE_CANDIDATS]
    if acteur is not None:
        journaliser_consultation_doublons(acteur=acteur, candidats=candidats)
    return candidats


def journaliser_consultation_doublons(*, acteur: Acteur, candidats: list[CandidatDoublon]) -> None:
    """Les traits des candidats vont être montrés à l'acteur : un événement par usager concerné."""
    journaliser_plusieurs(
        [
            preparer_evenement(
                acteur=acteur,
                action="usager.doublon.consultation",
                objet=c.usager,
                usager=c.usager,
                details={"niveau": c.niveau, "traits_differents": list(c.traits_differents)},
            )
            for c in candidats
        ]
    )


# --- Recherche dans l'annuaire -------------------------------------------------------------------

RESULTATS_MAX = 20
_CHIFFRES = re.compile(r"\d{11,12}")


@dataclass(frozen=True)
class Recherche:
    professionnels: list
    message: str = ""  # consigne quand la saisie ne permet pas de chercher


# Recherche approchée : au plus NOMS_CANDIDATS noms distincts, ceux à une faute de frappe d'un mot saisi
# d'abord, sinon ceux dont la similarité trigramme avec un mot atteint SEUIL_NOM (plusieurs fautes).
NOMS_CANDIDATS = 10
SEUIL_NOM = 0.3


def rechercher_professionnels(
    texte: str, *, profession_code: str = "", commune: str = "", limite: int = RESULTATS_MAX
) -> Recherche:
    """Professionnels de l'annuaire par nom (et prénom), ou par RPPS / idNat_PS exact ; filtres par
    profession (code TRE_G15) et commune d'exercice. Données publiques de l'annuaire, pas des données
    d'usager. En trois temps, chacun seulement si le précédent n'a pas rempli la page :
    1. noms qui commencent par le premier mot (index B-tree en collation « C » : parcours dans l'ordre,
       arrêt à la limite), les autres mots n'importe où ;
    2. noms qui contiennent chaque mot n'importe où (« andre » trouve « SAINT ANDRE » ; index GIN
       trigramme) ;
    3. sans aucun résultat, recherche approchée pour les fautes de frappe : les noms distincts à une
       faute d'un des mots (`NomAnnuaire.variantes`, index GIN), à défaut les noms proches en
       trigrammes, puis les professionnels de ces noms (une plage de l'index B-tree par nom), les noms
       du plus proche au moins proche, chacun classé par similarité de toute la saisie (le prénom
       départage)."""
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import Collate

    from coordination.personnes.models import Exercice, Professionnel, cle_de_recherche

    limite = max(1, min(limite, RESULTATS_MAX))
    compact = compacter(texte or "")
    base = Professionnel.objects.all()
    if profession_code:
        base = base.filter(profession_code=profession_code)
    if commune.strip():
        lieu = Exercice.objects.filter(professionnel_id=OuterRef("pk"))
        lieu = (
            lieu.filter(structure__code_postal=commune.strip())
            if commune.strip().isdigit()
            else lieu.filter(structure__commune__iexact=commune.strip())
        )
        base = base.filter(Exists(lieu))
    if _CHIFFRES.fullmatch(compact):
        idnat = compact if len(compact) == 12 else "8" + compact
        return Recherche(list(base.filter(idnat_ps=idnat)[:1]))
    mots = cle_de_recherche(texte).split()
    if sum(len(mot) for mot in mots) < 3:
        return Recherche([], "Tapez au moins 3 lettres du nom, ou le numéro RPPS (11 chiffres).")
    cle_c = Collate("cle_recherche", "C")
    autres = base
    for mot in mots[1:]:
        autres = autres.filter(cle_recherche__contains=mot)
    trouves = list(
        autres.annotate(cle_c=cle_c).filter(cle_c__startswith=mots[0]).order_by("cle_c", "id")[:limite]
    )
    if len(trouves) < limite:
        deja = [p.pk for p in trouves]
        ailleurs = autres.filter(cle_recherche__contains=mots[0]).exclude(pk__in=deja).annotate(cle_c=cle_c)
        trouves += list(ailleurs.order_by("cle_c", "id")[: limite - len(trouves)])
    if trouves:
        return Recherche(trouves)
    noms = _noms_approches(mots)
    if not noms:
        return Recherche([], "Aucun professionnel trouvé : vérifiez l'orthographe.")
    # Clés faites de A-Z, 0-9 et d'espaces ; en collation « C », « ! » suit l'espace : [NOM, NOM!) est
    # la clé « NOM » seule ou suivie d'une espace (prénom, autres mots du nom).
    plages = [Q(cle_c__gte=nom, cle_c__lt=nom + "!") for nom, _ in noms]
    rang = Case(*(When(plage, then=Value(i)) for i, plage in enumerate(plages)))
    proches = base.annotate(cle_c=cle_c).annotate(rang=rang)
    if len(mots) > 1:
        # D'abord le nom rattrapé suivi des autres mots tels que tapés (« MRATIN MARIE » → les clés
        # « MARTIN MARIE… ») : une plage étroite de l'index, sans lire tous les MARTIN.
        suites = [Q(cle_c__startswith=" ".join([nom, *_sans(mots, mot)])) for nom, mot in noms]
        approches = list(
            proches.filter(reduce(operator.or_, suites)).order_by("rang", "cle_c", "id")[:limite]
        )
        if approches:
            return Recherche(approches)
    approches = list(
        proches.filter(reduce(operator.or_, plages))
        .annotate(proximite=TrigramSimilarity("cle_recherche", " ".join(mots)))
        .order_by("rang", "-proximite", "id")[:limite]
    )
    return Recherche(approches, "" if approches else "Aucun professionnel trouvé : vérifiez l'orthographe.")


def _sans(mots: list[str], mot: str) -> list[str]:
    reste = list(mots)
    reste.remove(mot)
    return reste


def _noms_approches(mots: list[str]) -> list[tuple[str, str]]:
    """Les noms distincts de l'annuaire à une faute de frappe d'un des mots (le mot lui-même compris),
    sinon proches en trigrammes, chacun avec le mot qu'il rattrape ; du plus proche (distance de
    frappe OSA : lettre ajoutée, retirée, remplacée, ou deux voisines inversées) au moins proche.
    Deux requêtes au plus."""
    from django.db import connection, transaction
    from rapidfuzz.distance import OSA

    from coordination.personnes.models import NomAnnuaire, variantes_de_nom

    variantes = [v for mot in mots for v in variantes_de_nom(mot)]
    noms = list(NomAnnuaire.objects.filter(variantes__overlap=variantes).values_list("nom", flat=True))
    if not noms:
        with transaction.atomic(), connection.cursor() as curseur:
            curseur.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(SEUIL_NOM)])
            similaires = reduce(operator.or_, (Q(nom__trigram_similar=mot) for mot in mots))
            proximite = Greatest(*(TrigramSimilarity("nom", mot) for mot in mots), Value(0.0))
            noms = list(
                NomAnnuaire.objects.filter(similaires)
                .annotate(proximite=proximite)
                .order_by("-proximite", "nom")
                .values_list("nom", flat=True)[:NOMS_CANDIDATS]
            )
    rattrape = {nom: min((OSA.distance(nom, mot), mot) for mot in mots) for nom in noms}
    return [(nom, rattrape[nom][1]) for nom in sorted(noms, key=lambda nom: (rattrape[nom], nom))][
        :NOMS_CANDIDATS
    ]
