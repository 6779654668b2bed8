"""Lectures du cahier de liaison, toujours à partir de l'acteur. Deux filtres s'ajoutent :
1. l'habilitation `cahier` en lecture (cercle/habilitations.py, seule source des droits) ;
2. la visibilité de chaque note selon la sorte d'acteur (ADR 0016) :
   - l'usager et ses proches ne lisent que les notes sans restriction ;
   - un professionnel lit aussi les notes « professionnels seulement » (INVISIBLE_PATIENT) ;
   - seul un professionnel de santé (profession TRE_G15 du Code de la santé publique, voir
     `personnes.nomenclatures.PROFESSIONS_DE_SANTE`) lit les notes « professionnels de santé
     seulement » (MASQUE_PSOCIAL) ;
   - le logiciel d'une structure (DUI) lit comme un professionnel non identifié : pas les notes
     réservées aux professionnels de santé ;
   - le système (tâches, imports) lit tout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cahier_liaison.codes import Visibilite
from cahier_liaison.models import (
    CHAMPS_RECHERCHES,
    CHAMPS_VERSIONNES,
    CONFIG_RECHERCHE,
    Lecture,
    NatureSollicitation,
    Note,
    PieceJointe,
    Sollicitation,
    TypeAuteur,
)
from cercle import habilitations
from cercle.models import Domaine, Habilitation, Membre, StatutCercle, StatutMembre, TypeMembre
from coordination.comptes.acteur import TypeActeur
from coordination.personnes.models import Professionnel, Usager
from coordination.personnes.nomenclatures import PROFESSIONS_DE_SANTE

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from coordination.comptes.acteur import Acteur

DOMAINE = Domaine.CAHIER
LE_DEBUT = timezone.make_aware(timezone.datetime(1900, 1, 1))


def est_professionnel_de_sante(acteur: Acteur) -> bool:
    """Professionnel dont la profession (celle de la situation d'exercice, à défaut celle de la
    personne) est une profession de santé de la TRE_G15."""
    if acteur.type != TypeActeur.PROFESSIONNEL or acteur.exercice is None:
        return False
    code = acteur.exercice.profession_code or acteur.exercice.professionnel.profession_code
    return code in PROFESSIONS_DE_SANTE


def visibilites_permises(acteur: Acteur | None) -> list[str]:
    """Les codes de visibilité des notes que cette sorte d'acteur peut lire (droits à part)."""
    if acteur is None:
        return []
    if acteur.type == TypeActeur.SYSTEME:
        return list(Visibilite.values)
    if acteur.type in (TypeActeur.USAGER, TypeActeur.PROCHE):
        return [Visibilite.TOUS]
    if acteur.type == TypeActeur.PROFESSIONNEL:
        if est_professionnel_de_sante(acteur):
            return [Visibilite.TOUS, Visibilite.SANS_USAGER, Visibilite.SANTE]
        return [Visibilite.TOUS, Visibilite.SANS_USAGER]
    if acteur.type == TypeActeur.LOGICIEL:
        return [Visibilite.TOUS, Visibilite.SANS_USAGER]
    return []


def peut_voir_note(acteur: Acteur | None, note: Note) -> bool:
    """Même décision que `notes_visibles`, pour une note déjà chargée (sans requête de plus que
    l'habilitation, mémorisée sur l'acteur)."""
    return (
        acteur is not None
        and note.visibilite in visibilites_permises(acteur)
        and habilitations.peut(acteur, note.usager_id, "lire", DOMAINE)
    )


def q_ecrites_par(acteur: Acteur, prefixe: str = "") -> Q:
    """Les notes dont l'acteur est l'auteur (même personne, même qualité)."""
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return Q(
            **{
                f"{prefixe}auteur_type": TypeAuteur.PROFESSIONNEL,
                f"{prefixe}auteur_exercice": acteur.exercice,
            }
        )
    if acteur.type == TypeActeur.PROCHE:
        return Q(**{f"{prefixe}auteur_type": TypeAuteur.PROCHE, f"{prefixe}auteur_proche": acteur.proche})
    if acteur.type == TypeActeur.USAGER and acteur.usager is not None:
        return Q(**{f"{prefixe}auteur_type": TypeAuteur.USAGER, f"{prefixe}auteur_usager": acteur.usager})
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        return Q(
            **{
                f"{prefixe}auteur_type": TypeAuteur.LOGICIEL,
                f"{prefixe}auteur_structure": acteur.structure_logiciel,
            }
        )
    return Q(pk__in=[])


def est_auteur(acteur: Acteur, note: Note) -> bool:
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return note.auteur_type == TypeAuteur.PROFESSIONNEL and note.auteur_exercice_id == acteur.exercice.pk
    if acteur.type == TypeActeur.PROCHE:
        return note.auteur_type == TypeAuteur.PROCHE and note.auteur_proche_id == acteur.proche.pk
    if acteur.type == TypeActeur.USAGER:
        return note.auteur_type == TypeAuteur.USAGER and note.auteur_usager_id == acteur.usager.pk
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        # Même structure, et même professionnel quand le logiciel a écrit pour son compte.
        return (
            note.auteur_type == TypeAuteur.LOGICIEL
            and note.auteur_structure_id == acteur.structure_logiciel.pk
            and note.auteur_exercice_id == (acteur.exercice.pk if acteur.exercice is not None else None)
        )
    return False


AUTEURS = (
    "auteur_exercice__professionnel",
    "auteur_exercice__structure",
    "auteur_proche",
    "auteur_usager",
    "auteur_structure",
)

# Les pièces jointes d'un lot de notes : une requête pour tout le fil, dans l'ordre de la note,
# rangées en liste dans `note.pieces_prechargees` (to_attr : Django ne bâtit pas alors un jeu de
# requêtes filtré par note, ce qui coûtait ~5 ms pour une page de 50 notes).
PIECES_JOINTES = Prefetch(
    "pieces_jointes", queryset=PieceJointe.objects.order_by("ordre", "id"), to_attr="pieces_prechargees"
)


def notes_visibles(acteur: Acteur | None, usager: Usager, *, filtres: dict | None = None) -> QuerySet[Note]:
    """Les notes du cahier de `usager` que l'acteur peut lire, des plus récentes aux plus anciennes,
    auteurs et pièces jointes préchargés (deux requêtes, plus au plus une pour l'habilitation) ;
    sans le vecteur de recherche (inutile à l'affichage, et le plus gros champ de la ligne).

    `filtres` (valeurs déjà propres, voir `cahier_liaison.forms.FiltresCahierForm`) :
    `type` (code J23), `urgente` (booléen), `depuis` / `jusqu_au` (moment d'écriture), `fil` (une
    note : elle et ses réponses), `desactivees` (vrai : les notes désactivées aussi), `texte`
    (recherche plein texte en français, syntaxe « websearch » : "expression exacte", -exclu, or),
    `auteur` (clé d'auteur, voir `cle_auteur`), `structure` (UUID d'une structure : notes écrites
    par quelqu'un qui agit pour elle), `attend_mon_accuse` (vrai : notes sur lesquelles l'acteur a
    une demande d'accusé de réception en attente)."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", DOMAINE):
        return Note.objects.none()
    filtres = filtres or {}
    notes = _filtrer(acteur, Note.objects.filter(usager=usager), filtres)
    if filtres.get("fil") is not None:
        fil = filtres["fil"]
        notes = notes.filter(Q(pk=fil.pk) | Q(reponse_a=fil))
    return (
        notes.select_related(*AUTEURS)
        .prefetch_related(PIECES_JOINTES)
        .defer("recherche")
        .order_by("-ecrite_le", "-id")
    )


def _filtrer(acteur: Acteur, notes: QuerySet[Note], filtres: dict) -> QuerySet[Note]:
    """Visibilité selon la sorte d'acteur, puis les filtres communs au fil et à la recherche."""
    notes = notes.filter(visibilite__in=visibilites_permises(acteur))
    if not filtres.get("desactivees"):
        notes = notes.filter(active=True)
    if filtres.get("type"):
        notes = notes.filter(type=filtres["type"])
    if filtres.get("urgente") is not None:
        notes = notes.filter(urgente=filtres["urgente"])
    if filtres.get("depuis"):
        notes = notes.filter(ecrite_le__gte=filtres["depuis"])
    if filtres.get("jusqu_au"):
        notes = notes.filter(ecrite_le__lte=filtres["jusqu_au"])
    if filtres.get("texte"):
        notes = notes.filter(recherche=requete_texte(filtres["texte"]))
    if filtres.get("auteur"):
        notes = notes.filter(q_auteur(filtres["auteur"]))
    if filtres.get("structure"):
        notes = notes.filter(
            Q(auteur_structure__uuid=filtres["structure"])
            | Q(auteur_exercice__structure__uuid=filtres["structure"])
        )
    if filtres.get("attend_mon_accuse"):
        presences = habilitations.presences_de(acteur, prefixe="destinataire__")
        if presences is None:
            return notes.none()
        attendus = Sollicitation.objects.filter(
            presences, note=OuterRef("pk"), nature=NatureSollicitation.ACCUSE, accusee_le__isnull=True
        )
        notes = notes.filter(Exists(attendus))
    return notes


# --- Recherche plein texte (ADR 0018) -----------------------------------------------------------

# Marques des mots trouvés dans un extrait : caractères d'usage privé, retirés du texte échappé
# puis remplacés par <mark> (le texte des notes n'est jamais interprété comme du HTML).
DEBUT_MARQUE, FIN_MARQUE = "\ue000", "\ue001"
_MARQUES = re.compile(f"{DEBUT_MARQUE}([^{DEBUT_MARQUE}{FIN_MARQUE}]*){FIN_MARQUE}")


def requete_texte(texte: str) -> SearchQuery:
    """La saisie en requête plein texte : syntaxe « websearch » (guillemets, -exclusion, or),
    accents et casse ignorés, racines françaises (même configuration que le vecteur des notes)."""
    return SearchQuery(texte, config=CONFIG_RECHERCHE, search_type="websearch")


class ContenuNote(Func):
    """Le texte cherché d'une note, champs non vides séparés par « · », sans les caractères qui
    servent de marques (une note ne peut pas faire surligner ce qu'elle veut)."""

    function = "concat_ws"
    template = f"translate(%(function)s(' · ', %(expressions)s), '{DEBUT_MARQUE}{FIN_MARQUE}', '')"
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(*(NullIf(F(champ), Value("")) for champ in CHAMPS_RECHERCHES))


def avec_extraits(notes: QuerySet[Note], texte: str) -> QuerySet[Note]:
    """Ajoute `extrait_brut` : les passages où la recherche trouve la note (ts_headline, calculé
    par PostgreSQL sur les seules lignes renvoyées). À afficher par `extrait_html`."""
    return notes.annotate(
        extrait_brut=SearchHeadline(
            ContenuNote(), requete_texte(texte), config=CONFIG_RECHERCHE, start_sel=DEBUT_MARQUE,
            stop_sel=FIN_MARQUE, max_words=30, min_words=12,
        )
    )  # fmt: skip


def extrait_html(brut: str) -> SafeString:
    """L'extrait échappé, où seuls les mots trouvés sont entourés de <mark>."""
    echappe = escape(brut or "")
    marque = _MARQUES.sub(r"<mark>\1</mark>", echappe)
    return mark_safe(marque.replace(DEBUT_MARQUE, "").replace(FIN_MARQUE, ""))  # noqa: S308 - échappé


def rechercher_dans_mes_cahiers(
    acteur: Acteur | None, texte: str, *, filtres: dict | None = None, limite: int = 50
) -> list[Note]:
    """Les notes qui répondent à `texte` dans tous les cahiers que l'acteur peut lire, des plus
    récentes aux plus anciennes (l'ordre du cahier ; ADR 0018), au plus `limite`, chacune avec son
    usager et `extrait` (HTML sûr) ; l'auteur est celui figé dans la note (`auteur_nom`,
    `auteur_qualite`) : pas de jointure des auteurs (6 tables de plus à planifier à chaque
    recherche). Trois requêtes : les usagers lisibles, les notes trouvées (identifiants des
    `limite` premières), ces notes avec usager et extraits.
    Mêmes `filtres` que `notes_visibles` (sauf `fil`)."""
    texte = (texte or "").strip()
    if acteur is None or not texte:
        return []
    notes = Note.objects.all()
    if acteur.type != TypeActeur.SYSTEME:
        lisibles = list(habilitations.usagers_visibles(acteur, DOMAINE, "lire").values_list("pk", flat=True))
        if not lisibles:
            return []
        notes = notes.filter(usager_id__in=lisibles)
    trouvees = _filtrer(acteur, notes, {**(filtres or {}), "texte": texte}).order_by("-ecrite_le", "-id")
    # Les `limite` premières d'abord, puis auteurs, usager et extraits pour elles seules : ni
    # jointure ni ts_headline sur les milliers de notes d'un mot courant. (En sous-requête
    # `pk IN (… LIMIT n)`, le planificateur joignait toute la table : deux requêtes.)
    ids = list(trouvees.values_list("pk", flat=True)[:limite])
    if not ids:
        return []
    page = Note.objects.filter(pk__in=ids)
    notes = (
        avec_extraits(page, texte).select_related("usager").defer("recherche").order_by("-ecrite_le", "-id")
    )
    resultats = list(notes)
    for note in resultats:
        note.extrait = extrait_html(note.extrait_brut)
    return resultats


# --- Choix des filtres ----------------------------------------------------------------------------


def cle_auteur(note: Note) -> str:
    """La clé d'auteur d'une note (auteurs préchargés) : « exercice:uuid » (un professionnel, même
    par le logiciel de sa structure), « proche:uuid », « usager:uuid », « structure:uuid » (le
    logiciel d'une structure, sans professionnel nommé), « systeme »."""
    return _cle(
        note.auteur_type,
        note.auteur_exercice.uuid if note.auteur_exercice_id else None,
        note.auteur_proche.uuid if note.auteur_proche_id else None,
        note.auteur_usager.uuid if note.auteur_usager_id else None,
        note.auteur_structure.uuid if note.auteur_structure_id else None,
    )


def _cle(sorte: str, exercice, proche, usager_auteur, structure) -> str:
    if exercice:
        return f"exercice:{exercice}"
    if proche:
        return f"proche:{proche}"
    if usager_auteur:
        return f"usager:{usager_auteur}"
    if structure:
        return f"structure:{structure}"
    return sorte


def q_auteur(cle: str) -> Q:
    """Les notes de l'auteur désigné par sa clé (voir `cle_auteur`) ; une clé inconnue : aucune."""
    sorte, _, identifiant = cle.partition(":")
    if sorte == "exercice" and identifiant:
        return Q(auteur_exercice__uuid=identifiant)
    if sorte == "proche" and identifiant:
        return Q(auteur_type=TypeAuteur.PROCHE, auteur_proche__uuid=identifiant)
    if sorte == "usager" and identifiant:
        return Q(auteur_type=TypeAuteur.USAGER, auteur_usager__uuid=identifiant)
    if sorte == "structure" and identifiant:
        return Q(
            auteur_type=TypeAuteur.LOGICIEL, auteur_exercice__isnull=True, auteur_structure__uuid=identifiant
        )
    if cle == TypeAuteur.SYSTEME:
        return Q(auteur_type=TypeAuteur.SYSTEME)
    return Q(pk__in=[])


def choix_des_filtres(
    acteur: Acteur | None, usager: Usager
) -> tuple[list[tuple[str, str]], list[tuple[uuid.UUID, str]]]:
    """Les choix des filtres du fil, en une requête (plus l'habilitation) :
    - (clé, libellé) des auteurs des notes que l'acteur peut lire dans ce cahier, par ordre
      alphabétique : jamais l'auteur d'une note qu'il ne voit pas ;
    - (uuid, raison sociale) des structures pour lesquelles ces auteurs ont écrit (professionnel
      qui y exerce ou logiciel de la structure)."""
    lignes = (
        notes_visibles(acteur, usager)
        .select_related(None)
        .prefetch_related(None)
        .order_by()
        .values_list(
            "auteur_type", "auteur_exercice__uuid", "auteur_proche__uuid", "auteur_usager__uuid",
            "auteur_structure__uuid", "auteur_nom", "auteur_qualite", "auteur_structure__raison_sociale",
            "auteur_exercice__structure__uuid", "auteur_exercice__structure__raison_sociale",
        )
        .distinct()
    )  # fmt: skip
    auteurs: dict[str, str] = {}
    structures: dict = {}
    # Un auteur dont le nom ou la qualité a changé entre deux notes : un seul libellé (le premier
    # dans l'ordre alphabétique), pour un résultat stable.
    for ligne in sorted(lignes, key=str):
        sorte, exercice, proche, usager_auteur, structure, nom, qualite = ligne[:7]
        nom_logiciel, structure_exercice, nom_exercice = ligne[7:]
        if structure and not exercice:
            qualite = qualite or "logiciel de la structure"
        auteurs.setdefault(
            _cle(sorte, exercice, proche, usager_auteur, structure), f"{nom} ({qualite})" if qualite else nom
        )
        if structure:
            structures[structure] = nom_logiciel
        if structure_exercice:
            structures[structure_exercice] = nom_exercice
    return (
        sorted(auteurs.items(), key=lambda paire: paire[1].casefold()),
        sorted(structures.items(), key=lambda paire: paire[1].casefold()),
    )


def auteurs_du_cahier(acteur: Acteur | None, usager: Usager) -> list[tuple[str, str]]:
    return choix_des_filtres(acteur, usager)[0]


def structures_du_cahier(acteur: Acteur | None, usager: Usager) -> list[tuple[uuid.UUID, str]]:
    return choix_des_filtres(acteur, usager)[1]


def cle_lecteur(acteur: Acteur) -> str:
    """Qui lit, pour la marque de lecture : la clé de l'acteur (« exercice:uuid »…), ou la
    structure pour le logiciel d'une structure."""
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        return f"structure:{acteur.structure_logiciel.uuid}"
    return acteur.cle


def _marque(acteur: Acteur, usager_ref) -> Coalesce:
    marque = Lecture.objects.filter(lecteur=cle_lecteur(acteur), usager=usager_ref).values("lu_jusqu_au")[:1]
    return Coalesce(Subquery(marque), Value(LE_DEBUT))


def lu_jusqu_au(acteur: Acteur, usager: Usager) -> datetime | None:
    return (
        Lecture.objects.filter(lecteur=cle_lecteur(acteur), usager=usager)
        .values_list("lu_jusqu_au", flat=True)
        .first()
    )


@dataclass(frozen=True)
class EtatDeLecture:
    lu_jusqu_au: datetime | None
    non_lus: int


def _expressions_de_lecture(acteur: Acteur, usager: Usager) -> tuple[Subquery, Coalesce]:
    """La marque de lecture de l'acteur sur ce cahier et le nombre de notes visibles écrites par
    d'autres depuis, en deux sous-requêtes sans corrélation (PostgreSQL les évalue une fois, quelle
    que soit la requête qui les porte)."""
    marque = Lecture.objects.filter(lecteur=cle_lecteur(acteur), usager=usager.pk).values("lu_jusqu_au")[:1]
    nouvelles = (
        Note.objects.filter(
            usager=usager.pk,
            active=True,
            visibilite__in=visibilites_permises(acteur),
            ecrite_le__gt=_marque(acteur, usager.pk),
        )
        .exclude(q_ecrites_par(acteur))
        .order_by()
        .values("usager")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(marque), Coalesce(Subquery(nouvelles), Value(0))


def etat_de_lecture(acteur: Acteur | None, usager: Usager) -> EtatDeLecture:
    """La marque de lecture de l'acteur sur ce cahier et le nombre de notes visibles écrites par
    d'autres depuis (0 sans droit de lecture : pas même un compte). Une requête, plus
    l'habilitation (la page du fil les lit dans sa propre requête)."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", DOMAINE):
        return EtatDeLecture(None, 0)
    lu, nombre = (
        Usager.objects.filter(pk=usager.pk).values_list(*_expressions_de_lecture(acteur, usager)).get()
    )
    return EtatDeLecture(lu, nombre)


def non_lus(acteur: Acteur | None, usager: Usager) -> int:
    """Nombre de notes non lues (voir `etat_de_lecture`)."""
    return etat_de_lecture(acteur, usager).non_lus


def non_lus_par_usager(acteur: Acteur | None) -> dict[int, int]:
    """{usager_id: nombre de notes non lues} pour tous les usagers dont l'acteur lit le cahier
    (une requête ; les usagers sans note non lue n'y figurent pas)."""
    if acteur is None or acteur.type == TypeActeur.SYSTEME:
        return {}
    usagers = habilitations.usagers_visibles(acteur, DOMAINE, "lire")
    lignes = (
        Note.objects.filter(
            usager__in=usagers,
            active=True,
            visibilite__in=visibilites_permises(acteur),
            ecrite_le__gt=_marque(acteur, OuterRef("usager_id")),
        )
        .exclude(q_ecrites_par(acteur))
        .order_by()
        .values("usager_id")
        .annotate(nombre=Count("id"))
        .values_list("usager_id", "nombre")
    )
    return dict(lignes)


def attend_mon_accuse(acteur: Acteur | None) -> QuerySet[Sollicitation]:
    """Les demandes d'accusé de réception en attente adressées à l'acteur (en personne, ou à la
    structure où il agit), sur des notes actives qu'il peut lire. Une requête."""
    if acteur is None:
        return Sollicitation.objects.none()
    presences = habilitations.presences_de(acteur, prefixe="destinataire__")
    if presences is None:
        return Sollicitation.objects.none()
    return (
        Sollicitation.objects.filter(
            presences,
            nature=NatureSollicitation.ACCUSE,
            accusee_le__isnull=True,
            note__active=True,
            note__visibilite__in=visibilites_permises(acteur),
            note__usager__in=habilitations.usagers_visibles(acteur, DOMAINE, "lire"),
        )
        .select_related("note", "note__usager", *(f"note__{auteur}" for auteur in AUTEURS))
        .order_by("-demandee_le", "-id")
    )


# --- Pages du cahier ------------------------------------------------------------------------------

TAILLE_FIL = 50


@dataclass
class PageFil:
    """Ce que montre une page du fil : les notes (sollicitations préchargées, nombre de réponses,
    accusé attendu de moi), la marque de lecture, le nombre de non-lus, et s'il reste plus ancien."""

    notes: list[Note]
    lu_jusqu_au: datetime | None
    non_lus: int
    plus_anciennes: bool

    @property
    def curseur(self) -> str:
        """Le curseur de la page suivante : l'UUID de la dernière note montrée."""
        return str(self.notes[-1].uuid) if self.notes and self.plus_anciennes else ""


# Ce que lit `Membre.nom_affiche` (cercle/models.py) : le type, et le nom de la personne membre.
CHAMPS_DU_NOM_AFFICHE = (
    "type", "prenoms", "nom", "professionnel__prenom_exercice", "professionnel__nom_exercice",
    "structure__raison_sociale", "proche__prenoms", "proche__nom",
)  # fmt: skip


def _avec_details(acteur: Acteur, notes: QuerySet[Note]) -> QuerySet[Note]:
    """Ajoute à chaque note, dans la même requête, le nombre de réponses visibles et si un accusé de
    réception m'y est demandé ; précharge ses sollicitations (une requête pour toute la page, en liste
    dans `note.sollicitations_prechargees`)."""
    reponses = (
        Note.objects.filter(
            reponse_a=OuterRef("pk"), active=True, visibilite__in=visibilites_permises(acteur)
        )
        .order_by()
        .values("reponse_a")
        .annotate(n=Count("id"))
        .values("n")
    )
    presences = habilitations.presences_de(acteur, prefixe="destinataire__")
    attendu = (
        Exists(
            Sollicitation.objects.filter(
                presences, note=OuterRef("pk"), nature=NatureSollicitation.ACCUSE, accusee_le__isnull=True
            )
        )
        if presences is not None
        else Value(False)
    )
    sollicitations = Prefetch(
        "sollicitations",
        queryset=Sollicitation.objects.select_related(
            "destinataire__professionnel", "destinataire__structure", "destinataire__proche"
        )
        # Du destinataire, seul ce qui fait son nom (`Membre.nom_affiche`) : des lignes plus légères.
        .only(
            *(champ.name for champ in Sollicitation._meta.concrete_fields),
            *(f"destinataire__{champ}" for champ in CHAMPS_DU_NOM_AFFICHE),
        )
        .order_by("demandee_le", "id"),
        to_attr="sollicitations_prechargees",
    )
    de_moi = q_ecrites_par(acteur)
    # « Nouvelle » : écrite par un autre après ma marque de lecture (même règle que `non_lus`).
    nouvelle = Q(active=True, ecrite_le__gt=_marque(acteur, OuterRef("usager_id"))) & ~de_moi
    # La carte d'une note montre l'auteur figé dans la note (nom, qualité) ; seul le nom du
    # professionnel d'une note écrite par un logiciel « au nom de » est lu en plus, sans charger de
    # fiche (moins de tables à planifier, moins d'objets à bâtir à chaque page ; ADR 0018).
    nom = Professionnel.nom_en_sql("auteur_exercice__professionnel__")
    au_nom_de = Case(When(auteur_type=TypeAuteur.LOGICIEL, then=nom), default=Value(""))
    return (
        notes.select_related(None)
        .annotate(
            au_nom_de=au_nom_de,
            nombre_reponses=Coalesce(Subquery(reponses), Value(0)),
            accuse_attendu_de_moi=attendu,
            de_moi=ExpressionWrapper(de_moi, output_field=BooleanField()),
            nouvelle=ExpressionWrapper(nouvelle, output_field=BooleanField()),
        )
        .prefetch_related(sollicitations)
    )


def page_du_fil(
    acteur: Acteur | None,
    usager: Usager,
    *,
    filtres: dict | None = None,
    avant: str | None = None,
    taille: int = TAILLE_FIL,
) -> PageFil:
    """Une page du fil (notes d'origine, réponses comptées) : les `taille` plus récentes visibles,
    ou celles d'avant la note `avant` (UUID ; pagination par clé (ecrite_le, id), sans OFFSET).
    Les notes désactivées restent à leur place (« transmission retirée »). Nombre de requêtes
    constant : habilitation, notes (avec la marque de lecture et les non-lus), pièces jointes,
    sollicitations."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", DOMAINE):
        return PageFil([], None, 0, False)
    notes = notes_visibles(acteur, usager, filtres={"desactivees": True, **(filtres or {})}).filter(
        reponse_a__isnull=True
    )
    if avant:
        repere = Note.objects.filter(uuid=avant, usager=usager)
        moment = Subquery(repere.values("ecrite_le")[:1])
        notes = notes.filter(
            Q(ecrite_le__lt=moment) | Q(ecrite_le=moment, id__lt=Subquery(repere.values("id")[:1]))
        )
    marque, nombre = _expressions_de_lecture(acteur, usager)
    lignes = list(
        _avec_details(acteur, notes).annotate(lecture_marque=marque, lecture_non_lus=nombre)[: taille + 1]
    )
    # L'état de lecture vient avec les notes (une requête de moins) ; à part si la page est vide.
    lecture = (
        EtatDeLecture(lignes[0].lecture_marque, lignes[0].lecture_non_lus)
        if lignes
        else etat_de_lecture(acteur, usager)
    )
    return PageFil(
        notes=lignes[:taille],
        lu_jusqu_au=lecture.lu_jusqu_au,
        non_lus=lecture.non_lus,
        plus_anciennes=len(lignes) > taille,
    )


def note_visible(acteur: Acteur | None, usager: Usager, note_uuid) -> Note | None:
    """La note d'origine ou la réponse `note_uuid` du cahier de `usager`, si l'acteur peut la lire
    (désactivée comprise), avec les détails du fil ; None sinon (404 : la note n'existe pas pour lui)."""
    if acteur is None:
        return None
    notes = notes_visibles(acteur, usager, filtres={"desactivees": True}).filter(uuid=note_uuid)
    return _avec_details(acteur, notes).first()


def fil_de(acteur: Acteur, note: Note) -> list[Note]:
    """Les réponses visibles à une note, des plus anciennes aux plus récentes (désactivées comprises)."""
    reponses = notes_visibles(acteur, note.usager, filtres={"desactivees": True}).filter(reponse_a=note)
    return list(_avec_details(acteur, reponses).order_by("ecrite_le", "id"))


def membres_sollicitables(acteur: Acteur | None, usager: Usager) -> QuerySet[Membre]:
    """Les membres actifs du cercle qu'on peut choisir pour un accusé de réception ou une alerte
    (pour qui peut écrire dans ce cahier) ; le service vérifie que chacun peut lire la note."""
    if acteur is None or not habilitations.peut(acteur, usager, "ecrire", DOMAINE):
        return Membre.objects.none()
    # Seuls les membres qui ont un droit de lecture du cahier en vigueur sont proposés.
    lit_le_cahier = Habilitation.objects.filter(
        habilitations._en_vigueur(timezone.localdate()), membre=OuterRef("pk"), domaine=DOMAINE, niveau__gte=1
    )
    return (
        Membre.objects.filter(
            Exists(lit_le_cahier),
            cercle__usager=usager,
            statut=StatutMembre.ACTIF,
            cercle__statut=StatutCercle.ACTIF,
        )
        .exclude(type=TypeMembre.AUTRE)
        .select_related("professionnel", "structure", "proche")
        .order_by("type", "id")
    )


def _comparable(valeur) -> str:
    return valeur.isoformat() if hasattr(valeur, "isoformat") else str(valeur)


def historique_note(acteur: Acteur, note: Note) -> list[dict]:
    """Les versions d'une note lisible, de la plus récente à la plus ancienne : contenu, qui l'a
    écrite, quand, et les champs changés par rapport à la version précédente. La version k a été
    écrite par qui a remplacé la version k-1 (la première : l'auteur de la note)."""
    if not peut_voir_note(acteur, note):
        return []
    anciennes = list(note.versions.order_by("version"))
    contenus = [v.contenu for v in anciennes] + [note.contenu()]
    versions = []
    for rang, contenu in enumerate(contenus):
        precedente = anciennes[rang - 1] if rang else None
        versions.append(
            {
                "version": rang + 1,
                "contenu": contenu,
                "par": precedente.auteur_nom if precedente else note.auteur_nom,
                "qualite": precedente.auteur_qualite if precedente else note.auteur_qualite,
                "le": precedente.remplacee_le if precedente else note.ecrite_le,
                "changes": [
                    champ
                    for champ in CHAMPS_VERSIONNES
                    if rang and _comparable(contenus[rang - 1].get(champ)) != _comparable(contenu.get(champ))
                ],
            }
        )
    return list(reversed(versions))


def peut_desactiver(acteur: Acteur | None, note: Note) -> bool:
    """Retirer une note lisible : son auteur s'il peut encore écrire, ou qui gère ce cahier."""
    if not peut_voir_note(acteur, note):
        return False
    auteur = est_auteur(acteur, note) and habilitations.peut(acteur, note.usager_id, "ecrire", DOMAINE)
    return auteur or habilitations.peut(acteur, note.usager_id, "gerer", DOMAINE)


def piece_jointe_visible(acteur: Acteur | None, usager: Usager, piece_uuid) -> PieceJointe | None:
    """La pièce jointe d'une note du cahier de `usager` que l'acteur peut lire (habilitation et
    visibilité de la note, `peut_voir_note` ; une note désactivée garde la même règle), sinon
    None. Une requête, plus l'habilitation."""
    if acteur is None:
        return None
    piece = PieceJointe.objects.select_related("note").filter(uuid=piece_uuid, note__usager=usager).first()
    if piece is None or not peut_voir_note(acteur, piece.note):
        return None
    return piece


def notes_lisibles(acteur: Acteur | None) -> QuerySet[Note]:
    """Toutes les notes, de tous les cahiers, que l'acteur peut lire (désactivées comprises : l'API
    FHIR les sert avec le statut entered-in-error), auteurs, usager et note d'origine préchargés.
    Les habilitations filtrent par sous-requête (`usagers_visibles`) : une seule requête."""
    if acteur is None:
        return Note.objects.none()
    return Note.objects.filter(
        usager__in=habilitations.usagers_visibles(acteur, DOMAINE, "lire"),
        visibilite__in=visibilites_permises(acteur),
    ).select_related("usager", "reponse_a", *AUTEURS)
