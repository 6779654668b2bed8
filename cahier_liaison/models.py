"""Cahier de liaison partagé : notes (transmissions), versions antérieures immuables, demandes
d'accusé de réception et alertes, marques de lecture, événements à notifier.

Une note correspond à un DocumentReference du volet CI-SIS « Cahier de liaison » : type J23,
`securityLabel` J110, `isEmergency`, `masterIdentifier`, `relatesTo` (appends) pour les réponses.
Les invariants tiennent en base (contraintes et déclencheurs), voir ADR 0016.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cahier_liaison.codes import TypeNote, Visibilite
from coordination.modeles import ModeleDeBase


class TypeAuteur(models.TextChoices):
    """Qui a écrit : mêmes valeurs que `TypeActeur` (coordination/comptes/acteur.py)."""

    PROFESSIONNEL = "professionnel", "professionnel"
    PROCHE = "proche", "proche"
    USAGER = "usager", "usager"
    LOGICIEL = "logiciel", "logiciel (DUI)"
    SYSTEME = "systeme", "système"


class ChampsAuteur(models.Model):
    """L'auteur d'une écriture, identifié comme le journal identifie l'acteur : la situation
    d'exercice d'un professionnel, le proche, l'usager, ou le logiciel d'une structure (pour le
    compte d'un professionnel quand il le dit). Nom et qualité figés au moment de l'écriture."""

    auteur_type = models.CharField("type d'auteur", max_length=15, choices=TypeAuteur)
    auteur_exercice = models.ForeignKey(
        "personnes.Exercice", verbose_name="situation d'exercice de l'auteur", on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    auteur_proche = models.ForeignKey(
        "personnes.Proche", verbose_name="proche auteur", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    auteur_usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager auteur", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    auteur_structure = models.ForeignKey(
        "personnes.Structure", verbose_name="structure du logiciel auteur", on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    auteur_nom = models.CharField("auteur", max_length=200)
    auteur_qualite = models.CharField("en qualité de", max_length=300, blank=True)

    class Meta:
        abstract = True

    @staticmethod
    def contrainte_auteur(prefixe: str) -> models.CheckConstraint:
        """Exactement la référence qui correspond au type d'auteur."""
        sans = {"auteur_exercice__isnull": True, "auteur_proche__isnull": True, "auteur_usager__isnull": True}
        return models.CheckConstraint(
            condition=(
                Q(auteur_type=TypeAuteur.PROFESSIONNEL, auteur_exercice__isnull=False,
                  auteur_proche__isnull=True, auteur_usager__isnull=True, auteur_structure__isnull=True)
                | Q(auteur_type=TypeAuteur.PROCHE, auteur_proche__isnull=False, auteur_exercice__isnull=True,
                    auteur_usager__isnull=True, auteur_structure__isnull=True)
                | Q(auteur_type=TypeAuteur.USAGER, auteur_usager__isnull=False, auteur_exercice__isnull=True,
                    auteur_proche__isnull=True, auteur_structure__isnull=True)
                | Q(auteur_type=TypeAuteur.LOGICIEL, auteur_structure__isnull=False,
                    auteur_proche__isnull=True, auteur_usager__isnull=True)
                | Q(auteur_type=TypeAuteur.SYSTEME, auteur_structure__isnull=True, **sans)
            ),
            name=f"{prefixe}_auteur_coherent",
        )  # fmt: skip


# Configuration de recherche plein texte créée par la migration 0004 : celle du français (racines
# Snowball, mots vides) avec le dictionnaire `unaccent` devant : « Fièvre », « fievre » et « FIÈVRES »
# donnent le même lexème, dans les notes comme dans la saisie (ADR 0018).
CONFIG_RECHERCHE = "public.cahier_francais"


class VecteurRecherche(models.Func):
    """`to_tsvector('public.cahier_francais', a || ' ' || b || …)` : immuable (configuration
    nommée en constante), donc utilisable dans une colonne générée. Les champs sont NOT NULL."""

    template = f"to_tsvector('{CONFIG_RECHERCHE}'::regconfig, %(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = SearchVectorField()


CHAMPS_RECHERCHES = ("texte", "cible", "donnees", "actions", "resultats")


class Note(ChampsAuteur, ModeleDeBase):
    """Une transmission du cahier de liaison. Jamais modifiée en silence : chaque modification
    garde la version précédente (`VersionNote`) et incrémente `version` ; jamais supprimée :
    désactivée avec un motif."""

    usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager", on_delete=models.PROTECT, related_name="notes_cahier"
    )
    survenue_le = models.DateTimeField("survenue le", help_text="Moment de ce qui est rapporté.")
    ecrite_le = models.DateTimeField("écrite le", default=timezone.now, help_text="Heure du serveur.")
    type = models.CharField("type de note", max_length=10, choices=TypeNote)
    texte = models.TextField("texte", blank=True)
    # Transmission ciblée (recommandation 1.1.11) : Cible / Données / Actions / Résultats.
    cible = models.CharField("cible", max_length=200, blank=True)
    donnees = models.TextField("données", blank=True)
    actions = models.TextField("actions", blank=True)
    resultats = models.TextField("résultats", blank=True)
    urgente = models.BooleanField("urgente", default=False)
    visibilite = models.CharField(
        "visibilité (J110)", max_length=30, choices=Visibilite, blank=True, default=Visibilite.TOUS
    )
    systeme_emetteur = models.CharField(
        "système émetteur", max_length=200, blank=True,
        help_text="Système qui a attribué l'identifiant de la note (ex. identifiant du DUI).",
    )  # fmt: skip
    master_identifier = models.CharField(
        "identifiant de la note chez l'émetteur", max_length=200, null=True, blank=True
    )
    reponse_a = models.ForeignKey(
        "self", verbose_name="en réponse à", on_delete=models.PROTECT, null=True, blank=True,
        related_name="reponses",
    )  # fmt: skip
    active = models.BooleanField("active", default=True)
    desactivee_le = models.DateTimeField("désactivée le", null=True, blank=True)
    motif_desactivation = models.CharField("motif de désactivation", max_length=300, blank=True)
    version = models.PositiveIntegerField("version", default=1)
    # Calculé par PostgreSQL (aussi pendant un COPY) : texte, cible, données, actions, résultats.
    recherche = models.GeneratedField(
        expression=VecteurRecherche(*CHAMPS_RECHERCHES), output_field=SearchVectorField(), db_persist=True,
        verbose_name="vecteur de recherche plein texte",
    )  # fmt: skip

    class Meta:
        verbose_name = "note du cahier de liaison"
        verbose_name_plural = "notes du cahier de liaison"
        constraints = [
            ChampsAuteur.contrainte_auteur("cahier_note"),
            models.CheckConstraint(
                condition=~Q(texte="") | ~Q(cible="") | ~Q(donnees="") | ~Q(actions="") | ~Q(resultats=""),
                name="cahier_note_contenu_requis",
            ),
            models.CheckConstraint(condition=Q(type__in=TypeNote.values), name="cahier_note_type_j23"),
            models.CheckConstraint(
                condition=Q(visibilite__in=Visibilite.values), name="cahier_note_visibilite_j110"
            ),
            models.CheckConstraint(
                condition=Q(active=True, desactivee_le__isnull=True, motif_desactivation="")
                | (Q(active=False, desactivee_le__isnull=False) & ~Q(motif_desactivation="")),
                name="cahier_note_desactivation_motivee",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="cahier_note_version_positive"),
            models.CheckConstraint(
                condition=Q(master_identifier__isnull=True) | ~Q(systeme_emetteur=""),
                name="cahier_note_identifiant_avec_emetteur",
            ),
            models.CheckConstraint(
                condition=~Q(reponse_a=models.F("pk")), name="cahier_note_pas_reponse_a_soi"
            ),
            models.UniqueConstraint(
                fields=["systeme_emetteur", "master_identifier"], name="cahier_note_identifiant_unique"
            ),
            # Cible de la clé étrangère composée (reponse_a, usager) : une réponse concerne le même usager.
            models.UniqueConstraint(fields=["id", "usager"], name="cahier_note_id_usager"),
        ]
        indexes = [
            # Le fil d'un usager : les notes actives, des plus récentes aux plus anciennes ; sert
            # aussi les compteurs de non-lus (ecrite_le > marque de lecture).
            models.Index(
                "usager", models.F("ecrite_le").desc(), name="cahier_note_fil_idx", condition=Q(active=True)
            ),
            # Une page du fil : les notes d'origine (désactivées comprises, elles restent à leur
            # place), dans l'ordre de la pagination par clé (ecrite_le, id) ; LIMIT 51 sans tri.
            models.Index(
                "usager",
                models.F("ecrite_le").desc(),
                models.F("id").desc(),
                name="cahier_note_fil_origines_idx",
                condition=Q(reponse_a__isnull=True),
            ),
            models.Index(
                fields=["reponse_a"], name="cahier_note_reponse_idx", condition=Q(reponse_a__isnull=False)
            ),
            # Recherche plein texte : toujours bornée à un ou plusieurs usagers (btree_gin pour
            # `usager_id` : `usager_id = ANY(…) AND recherche @@ requête` dans un seul parcours GIN) ;
            # sans liste d'attente (fastupdate) : écrire une note est rare, chercher fréquent.
            GinIndex(
                "usager",
                "recherche",
                name="cahier_note_recherche_idx",
                condition=Q(active=True),
                fastupdate=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} du {timezone.localtime(self.ecrite_le):%d/%m/%Y %H:%M}"

    @property
    def est_ciblee(self) -> bool:
        return bool(self.cible or self.donnees or self.actions or self.resultats)

    def contenu(self) -> dict:
        """Le contenu versionné de la note (ce qu'une modification peut changer)."""
        return {champ: getattr(self, champ) for champ in CHAMPS_VERSIONNES}


CHAMPS_VERSIONNES = (
    "type",
    "texte",
    "cible",
    "donnees",
    "actions",
    "resultats",
    "urgente",
    "visibilite",
    "survenue_le",
)


class VersionNote(ChampsAuteur, models.Model):
    """Une version antérieure d'une note, figée (déclencheur : ni UPDATE ni DELETE). Porte le
    contenu tel qu'il était, et qui l'a remplacé et quand (`auteur_*` : la personne qui a fait la
    modification). La version k a été écrite à `remplacee_le` de la version k-1 (ou à
    `Note.ecrite_le` pour la première)."""

    note = models.ForeignKey(Note, verbose_name="note", on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField("version")
    contenu = models.JSONField("contenu de cette version")
    remplacee_le = models.DateTimeField("remplacée le", default=timezone.now)

    class Meta:
        verbose_name = "version antérieure d'une note"
        verbose_name_plural = "versions antérieures des notes"
        constraints = [
            ChampsAuteur.contrainte_auteur("cahier_version"),
            models.UniqueConstraint(fields=["note", "version"], name="cahier_version_unique"),
        ]

    def __str__(self) -> str:
        return f"version {self.version} de la note {self.note_id}"


class NatureSollicitation(models.TextChoices):
    ACCUSE = "accuse", "demande d'accusé de réception"
    ALERTE = "alerte", "alerte"


class Sollicitation(models.Model):
    """Un membre choisi sollicité sur une note : demande d'accusé de réception (en attente tant
    que `accusee_le` est vide) ou alerte (information, sans réponse attendue)."""

    note = models.ForeignKey(
        Note, verbose_name="note", on_delete=models.PROTECT, related_name="sollicitations"
    )
    destinataire = models.ForeignKey(
        "cercle.Membre", verbose_name="membre sollicité", on_delete=models.PROTECT, related_name="+"
    )
    nature = models.CharField("nature", max_length=10, choices=NatureSollicitation)
    demandee_le = models.DateTimeField("demandée le", default=timezone.now)
    demandee_par = models.CharField("demandée par", max_length=200)
    accusee_le = models.DateTimeField("accusé de réception le", null=True, blank=True)
    accusee_par = models.CharField("accusé par", max_length=200, blank=True)

    class Meta:
        verbose_name = "sollicitation sur une note"
        verbose_name_plural = "sollicitations sur des notes"
        constraints = [
            models.UniqueConstraint(
                fields=["note", "destinataire", "nature"], name="cahier_sollicitation_unique"
            ),
            models.CheckConstraint(
                condition=Q(nature=NatureSollicitation.ACCUSE) | Q(accusee_le__isnull=True),
                name="cahier_sollicitation_alerte_sans_accuse",
            ),
            models.CheckConstraint(
                condition=Q(accusee_le__isnull=True) | ~Q(accusee_par=""),
                name="cahier_sollicitation_accuse_signe",
            ),
        ]
        indexes = [
            models.Index(
                fields=["destinataire"], name="cahier_accuse_attendu_idx",
                condition=Q(nature=NatureSollicitation.ACCUSE, accusee_le__isnull=True),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_nature_display()} (note {self.note_id})"


class Lecture(models.Model):
    """Marque de lecture d'un lecteur dans le cahier d'un usager : tout ce qui a été écrit jusqu'à
    `lu_jusqu_au` est lu. Le lecteur est la clé de l'acteur (« exercice:uuid », « proche:uuid »,
    « usager:uuid ») : une ligne par lecteur et par usager (ADR 0016)."""

    usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager", on_delete=models.PROTECT, related_name="+"
    )
    lecteur = models.CharField("lecteur (clé de l'acteur)", max_length=60)
    lu_jusqu_au = models.DateTimeField("lu jusqu'au")

    class Meta:
        verbose_name = "marque de lecture"
        verbose_name_plural = "marques de lecture"
        constraints = [models.UniqueConstraint(fields=["lecteur", "usager"], name="cahier_lecture_unique")]

    def __str__(self) -> str:
        return f"lu jusqu'au {self.lu_jusqu_au:%d/%m/%Y %H:%M}"


class NatureEvenement(models.TextChoices):
    NOUVELLE_NOTE = "nouvelle_note", "nouvelle note"
    NOTE_URGENTE = "note_urgente", "note urgente"
    ACCUSE_DEMANDE = "accuse_demande", "accusé de réception demandé"
    ALERTE = "alerte", "alerte"
    REPONSE = "reponse", "réponse à une note"


class EvenementCahier(models.Model):
    """Un événement à notifier, écrit dans la transaction qui le cause ; la distribution
    (préférences, canaux) viendra avec les notifications et remplira `distribue_le`.
    Sans destinataire choisi : tous les membres qui peuvent lire la note."""

    uuid = models.UUIDField("identifiant public", unique=True, editable=False, default=uuid.uuid4)
    nature = models.CharField("nature", max_length=20, choices=NatureEvenement)
    note = models.ForeignKey(Note, verbose_name="note", on_delete=models.PROTECT, related_name="evenements")
    destinataires = models.ManyToManyField(
        "cercle.Membre", verbose_name="membres destinataires", related_name="+"
    )
    cree_le = models.DateTimeField("créé le", default=timezone.now)
    distribue_le = models.DateTimeField("distribué le", null=True, blank=True)

    class Meta:
        verbose_name = "événement du cahier à notifier"
        verbose_name_plural = "événements du cahier à notifier"
        indexes = [
            models.Index(
                fields=["cree_le"],
                name="cahier_evenement_a_distribuer",
                condition=Q(distribue_le__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_nature_display()} (note {self.note_id})"


# Plus grand côté d'une vignette, en pixels.
COTE_VIGNETTE = 320


def stockage_des_pieces():
    """Le stockage des pièces jointes (réglage STORAGES["pieces_jointes"], ADR 0019)."""
    from django.core.files.storage import storages

    return storages["pieces_jointes"]


class TypePiece(models.TextChoices):
    """Types acceptés, détectés d'après le contenu (cahier_liaison/pieces_jointes.py). Les photos
    HEIC/HEIF et WebP sont ré-encodées : ce qui est gardé est JPEG, PNG ou WebP."""

    JPEG = "image/jpeg", "photo JPEG"
    PNG = "image/png", "image PNG"
    WEBP = "image/webp", "image WebP"
    PDF = "application/pdf", "document PDF"


class PieceJointe(models.Model):
    """Une pièce jointe d'une note : photo ré-encodée sans métadonnées (et sa vignette) ou PDF
    inspecté. Immuable une fois rangée (déclencheur : ni UPDATE ni DELETE, ADR 0019) : comme la
    note, c'est une preuve ; modifier la note ne change pas ses pièces."""

    uuid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    note = models.ForeignKey(
        Note, verbose_name="note", on_delete=models.PROTECT, related_name="pieces_jointes"
    )
    fichier = models.FileField("fichier", storage=stockage_des_pieces, max_length=200)
    vignette = models.FileField("vignette", storage=stockage_des_pieces, max_length=200, blank=True)
    type_mime = models.CharField("type (détecté d'après le contenu)", max_length=40, choices=TypePiece)
    taille = models.PositiveBigIntegerField("taille en octets")
    sha256 = models.CharField("empreinte SHA-256 du fichier rangé", max_length=64)
    largeur = models.PositiveIntegerField("largeur en pixels", null=True, blank=True)
    hauteur = models.PositiveIntegerField("hauteur en pixels", null=True, blank=True)
    nom = models.CharField("nom d'origine (nettoyé, pour l'affichage)", max_length=120)
    ordre = models.PositiveSmallIntegerField("ordre dans la note", default=0)
    cree_le = models.DateTimeField("rangée le", default=timezone.now)

    class Meta:
        verbose_name = "pièce jointe d'une note"
        verbose_name_plural = "pièces jointes des notes"
        ordering = ["note", "ordre", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type_mime__in=TypePiece.values), name="cahier_piece_type_permis"
            ),
            models.CheckConstraint(condition=Q(taille__gt=0), name="cahier_piece_taille_positive"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="cahier_piece_sha256"),
            models.CheckConstraint(condition=~Q(fichier=""), name="cahier_piece_fichier_requis"),
            models.CheckConstraint(condition=~Q(nom=""), name="cahier_piece_nom_requis"),
            # Une image a ses dimensions et sa vignette ; un PDF n'en a pas.
            models.CheckConstraint(
                condition=(
                    Q(type_mime=TypePiece.PDF, largeur__isnull=True, hauteur__isnull=True, vignette="")
                    | (~Q(type_mime=TypePiece.PDF) & Q(largeur__gt=0, hauteur__gt=0) & ~Q(vignette=""))
                ),
                name="cahier_piece_image_dimensionnee",
            ),
            models.UniqueConstraint(fields=["note", "ordre"], name="cahier_piece_ordre_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.nom} ({self.get_type_mime_display()})"

    @property
    def est_image(self) -> bool:
        return self.type_mime != TypePiece.PDF

    def _cote_vignette(self, cote: int | None) -> int | None:
        """Dimensions de la vignette (320 px au plus de côté, proportions gardées), pour réserver
        la place dans la page avant son chargement."""
        if not (self.largeur and self.hauteur):
            return None
        echelle = min(1.0, COTE_VIGNETTE / max(self.largeur, self.hauteur))
        return max(1, round(cote * echelle))

    @property
    def largeur_vignette(self) -> int | None:
        return self._cote_vignette(self.largeur)

    @property
    def hauteur_vignette(self) -> int | None:
        return self._cote_vignette(self.hauteur)
