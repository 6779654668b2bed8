"""Projet personnalisé d'accompagnement (PPA), aligné sur le modèle TDDUI (CarePlan « projet
personnalisé », Goal « objectif », Task « action », ServiceRequest « besoin », Consent « accord ») ;
docs/decisions/0028-ppa-modele-versions-accords.md.

Un projet par usager et structure qui l'accompagne ; ses versions : brouillon → en validation →
validée → remplacée. Le contenu d'une version (attentes, projet de vie, besoins, objectifs,
actions) ne change qu'en brouillon, ce que la base garantit (déclencheurs, migration 0002) ; une
version validée ne change plus jamais (un avenant est une nouvelle version qui en dérive). Les
accords de l'usager et de la structure portent l'empreinte (SHA-256) du contenu exact accepté.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cahier_liaison.models import TypePiece, stockage_des_pieces
from coordination.modeles import ModeleDeBase
from coordination.personnes.models import Exercice, Structure, Usager


class TypeProjet(models.TextChoices):
    """Type de projet personnalisé (TRE_R390, jeu de valeurs JDV_J367-TypeProjetPersonnaliseMs)."""

    PPA = "PPA", "Projet personnalisé d'accompagnement"
    PAI = "PAI", "Projet d'accompagnement individuel"
    PPIA = "PPIA", "Projet personnalisé individuel d'accompagnement"
    PP = "PP", "Projet personnalisé"
    PPI = "PPI", "Projet personnalisé individuel"
    PA = "PA", "Projet d'accompagnement"
    PI = "PI", "Projet individuel"


class StatutVersion(models.TextChoices):
    BROUILLON = "brouillon", "brouillon (en construction)"
    EN_VALIDATION = "en_validation", "en attente des accords"
    VALIDEE = "validee", "validée"
    REMPLACEE = "remplacee", "remplacée par un avenant"


class ProjetPersonnalise(ModeleDeBase):
    """Le projet personnalisé d'un usager dans une structure qui l'accompagne."""

    usager = models.ForeignKey(Usager, on_delete=models.PROTECT, related_name="projets_personnalises")
    structure = models.ForeignKey(
        Structure, verbose_name="structure qui accompagne", on_delete=models.PROTECT, related_name="+"
    )
    type = models.CharField("type de projet", max_length=4, choices=TypeProjet, default=TypeProjet.PPA)
    titre = models.CharField("titre", max_length=200)
    cree_par = models.CharField("créé par (clé de l'acteur)", max_length=120)
    referent = models.ForeignKey(
        Exercice, verbose_name="référent du projet", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text="Professionnel de la structure qui suit le projet : il reçoit le rappel "
        "des revues et peut donner l'accord de la structure.",
    )  # fmt: skip

    class Meta:
        verbose_name = "projet personnalisé"
        verbose_name_plural = "projets personnalisés"
        constraints = [
            models.UniqueConstraint(
                fields=["usager", "structure", "type"], name="ppa_projet_unique_par_structure"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} — {self.titre}"


class VersionPPA(ModeleDeBase):
    """Une version du projet. Son contenu est dans la ligne (paroles de l'usager) et dans ses
    besoins, objectifs et actions ; `empreinte` est calculée quand elle part en validation."""

    projet = models.ForeignKey(ProjetPersonnalise, on_delete=models.PROTECT, related_name="versions")
    numero = models.PositiveIntegerField("numéro de version")
    statut = models.CharField("statut", max_length=14, choices=StatutVersion, default=StatutVersion.BROUILLON)
    derive_de = models.ForeignKey(
        "self", verbose_name="avenant de", on_delete=models.PROTECT, null=True, blank=True,
        related_name="avenants",
    )  # fmt: skip
    debut = models.DateField("début de la période", null=True, blank=True)
    fin = models.DateField("fin de la période", null=True, blank=True)
    attentes = models.TextField("attentes de la personne, dans ses mots", blank=True)
    projet_de_vie = models.TextField("projet de vie, dans ses mots", blank=True)
    empreinte = models.CharField("empreinte du contenu soumis (SHA-256)", max_length=64, blank=True)
    # Révision de chaque partie du brouillon (contrôle de concurrence optimiste par partie) :
    # {"paroles": 3, "besoins": 1, …} ; voir `ppa.services.Partie`.
    revisions = models.JSONField("révisions des parties", default=dict, blank=True)
    soumise_le = models.DateTimeField("soumise aux accords le", null=True, blank=True)
    validee_le = models.DateTimeField("validée le", null=True, blank=True)

    class Meta:
        verbose_name = "version de projet personnalisé"
        verbose_name_plural = "versions de projets personnalisés"
        ordering = ["projet", "numero"]
        constraints = [
            models.UniqueConstraint(fields=["projet", "numero"], name="ppa_version_numero_unique"),
            # Au plus une version en cours (brouillon ou en validation) et une validée par projet.
            models.UniqueConstraint(
                fields=["projet"], condition=Q(statut__in=["brouillon", "en_validation"]),
                name="ppa_une_version_en_cours",
            ),
            models.UniqueConstraint(
                fields=["projet"], condition=Q(statut="validee"), name="ppa_une_version_validee"
            ),
            models.CheckConstraint(
                condition=Q(statut="brouillon") | (~Q(empreinte="") & Q(soumise_le__isnull=False)),
                name="ppa_version_soumise_a_une_empreinte",
            ),
            models.CheckConstraint(
                condition=~Q(statut__in=["validee", "remplacee"]) | Q(validee_le__isnull=False),
                name="ppa_version_validee_datee",
            ),
            models.CheckConstraint(
                condition=Q(debut__isnull=True) | Q(fin__isnull=True) | Q(fin__gte=F("debut")),
                name="ppa_version_periode",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.projet} — version {self.numero} ({self.get_statut_display()})"


class ContenuDeVersion(models.Model):
    """Un élément du contenu d'une version (figé avec elle, voir la migration 0002). `origine` suit
    l'élément d'une version à ses avenants (recopié tel quel) : c'est par elle que le différentiel
    apparie les éléments et que l'agenda retrouve les rendez-vous d'une action."""

    ordre = models.PositiveIntegerField("ordre", default=0)
    origine = models.UUIDField("origine (stable d'une version à l'autre)", default=uuid.uuid4)
    ajoute_par = models.CharField("ajouté par", max_length=200, blank=True)

    class Meta:
        abstract = True
        ordering = ["ordre", "id"]


class Besoin(ContenuDeVersion, ModeleDeBase):
    """Un besoin de la personne (ServiceRequest « besoin » de TDDUI) : code SERAFIN-PH (J285) quand
    il s'applique, texte libre sinon."""

    version = models.ForeignKey(VersionPPA, on_delete=models.CASCADE, related_name="besoins")
    code_serafin = models.CharField("code SERAFIN-PH (besoins)", max_length=12, blank=True)
    libelle = models.CharField("besoin", max_length=300)
    precision = models.TextField("précisions", blank=True)

    class Meta(ContenuDeVersion.Meta):
        verbose_name = "besoin"

    def __str__(self) -> str:
        return self.libelle


class AvisUsager(models.TextChoices):
    SANS_AVIS = "", "pas encore d'avis"
    D_ACCORD = "d_accord", "d'accord"
    PAS_D_ACCORD = "pas_d_accord", "pas d'accord"


class Objectif(ContenuDeVersion, ModeleDeBase):
    """Un objectif (Goal « objectif » de TDDUI) : titre, résultat attendu, stratégie, avis de la
    personne, besoins auxquels il répond, date visée."""

    version = models.ForeignKey(VersionPPA, on_delete=models.CASCADE, related_name="objectifs")
    titre = models.CharField("objectif", max_length=300)
    resultat_attendu = models.TextField("résultat attendu", blank=True)
    strategie = models.TextField("stratégie de mise en œuvre", blank=True)
    avis_usager = models.CharField(
        "avis de la personne", max_length=12, choices=AvisUsager, default=AvisUsager.SANS_AVIS, blank=True
    )
    commentaire_usager = models.TextField("ce qu'en dit la personne", blank=True)
    besoins = models.ManyToManyField(
        Besoin, verbose_name="besoins visés", related_name="objectifs", blank=True
    )
    date_cible = models.DateField("date visée", null=True, blank=True)

    class Meta(ContenuDeVersion.Meta):
        verbose_name = "objectif"

    def __str__(self) -> str:
        return self.titre


class Action(ContenuDeVersion, ModeleDeBase):
    """Une action ou modalité d'accompagnement (Task « action » de TDDUI) : qui, quoi, où, à quelle
    fréquence (règle de récurrence RFC 5545, comme l'agenda), pour quel objectif, quelle prestation."""

    version = models.ForeignKey(VersionPPA, on_delete=models.CASCADE, related_name="actions")
    objectif = models.ForeignKey(Objectif, on_delete=models.CASCADE, related_name="actions")
    intervenant = models.ForeignKey(
        "cercle.Membre", verbose_name="qui", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    intervenant_libelle = models.CharField("qui (si hors du cercle)", max_length=200, blank=True)
    quoi = models.CharField("quoi", max_length=300)
    ou = models.CharField("où", max_length=300, blank=True)
    frequence = models.CharField("fréquence (RRULE)", max_length=300, blank=True)
    duree_minutes = models.PositiveIntegerField("durée (minutes)", null=True, blank=True)
    code_prestation = models.CharField("prestation SERAFIN-PH", max_length=12, blank=True)

    class Meta(ContenuDeVersion.Meta):
        verbose_name = "action"

    def __str__(self) -> str:
        return self.quoi


class PartieAccord(models.TextChoices):
    USAGER = "usager", "la personne (ou son représentant légal)"
    STRUCTURE = "structure", "la structure"


class AccordPPA(ModeleDeBase):
    """Un accord sur une version (Consent « accord » de TDDUI), lié à l'empreinte du contenu exact
    accepté ; immuable (déclencheur). La version est validée quand la personne et la structure ont
    donné leur accord sur son empreinte courante."""

    version = models.ForeignKey(VersionPPA, on_delete=models.PROTECT, related_name="accords")
    partie = models.CharField("partie", max_length=10, choices=PartieAccord)
    empreinte = models.CharField("empreinte du contenu accepté", max_length=64)
    donne_par = models.CharField("donné par (clé de l'acteur)", max_length=120)
    donne_par_nom = models.CharField("donné par", max_length=200)
    qualite = models.CharField("en qualité de", max_length=120)
    donne_le = models.DateTimeField("donné le", auto_now_add=True)

    class Meta:
        verbose_name = "accord sur un projet personnalisé"
        verbose_name_plural = "accords sur des projets personnalisés"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "partie", "empreinte"], name="ppa_un_accord_par_partie_et_contenu"
            ),
        ]

    def __str__(self) -> str:
        return f"Accord de {self.get_partie_display()} — {self.version}"


class PartieProjet(models.TextChoices):
    """Les parties d'une version, chacune avec sa révision et son fil de commentaires."""

    PAROLES = "paroles", "attentes et projet de vie"
    BESOINS = "besoins", "besoins"
    OBJECTIFS = "objectifs", "objectifs"
    ACTIONS = "actions", "actions"


class CommentairePPA(ModeleDeBase):
    """Un message du fil de discussion d'une partie d'une version (ajout seul : un message ne se
    modifie pas) ; il ne fait pas partie du contenu accepté."""

    version = models.ForeignKey(VersionPPA, on_delete=models.PROTECT, related_name="commentaires")
    partie = models.CharField("partie", max_length=10, choices=PartieProjet)
    auteur = models.CharField("auteur (clé de l'acteur)", max_length=120)
    auteur_nom = models.CharField("auteur", max_length=200)
    auteur_qualite = models.CharField("qualité", max_length=120, blank=True)
    texte = models.TextField("message")

    class Meta:
        verbose_name = "commentaire sur un projet personnalisé"
        verbose_name_plural = "commentaires sur des projets personnalisés"
        ordering = ["version", "partie", "cree_le", "id"]
        indexes = [models.Index(fields=["version", "partie", "cree_le"], name="ppa_commentaires_fil_idx")]

    def __str__(self) -> str:
        return f"{self.auteur_nom} sur {self.get_partie_display()}"


class RappelRevue(models.Model):
    """Le rappel de la revue d'un projet (au moins une fois l'an, HAS), rangé une fois par projet et
    par échéance par la tâche `ppa.rappeler_revues` pour le référent du projet ; la distribution
    (préférences, canaux) viendra du lot des notifications, qui remplira `distribue_le` (comme les
    événements du cahier et les notifications de l'agenda)."""

    uuid = models.UUIDField("identifiant public", unique=True, editable=False, default=uuid.uuid4)
    projet = models.ForeignKey(ProjetPersonnalise, on_delete=models.PROTECT, related_name="rappels_revue")
    echeance = models.DateField("revue à faire au plus tard le")
    destinataire = models.CharField("référent (clé de l'acteur)", max_length=120)
    cree_le = models.DateTimeField("créé le", default=timezone.now)
    distribue_le = models.DateTimeField("distribué le", null=True, blank=True)

    class Meta:
        verbose_name = "rappel de revue de projet personnalisé"
        verbose_name_plural = "rappels de revue de projets personnalisés"
        constraints = [
            models.UniqueConstraint(fields=["projet", "echeance"], name="ppa_un_rappel_par_echeance"),
        ]
        indexes = [
            models.Index(
                fields=["cree_le"], name="ppa_rappel_a_distribuer", condition=Q(distribue_le__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"Revue de {self.projet} au plus tard le {self.echeance:%d/%m/%Y}"


# --- Fiche de liaison MDPH (DE1 PPA, cas d'usage 3 ; ppa/mdph.py) ---------------------------------


class StatutFicheMDPH(models.TextChoices):
    PREPAREE = "preparee", "préparée (pas encore envoyée)"
    ENVOYEE = "envoyee", "envoyée"


class FicheLiaisonMDPH(ModeleDeBase):
    """La fiche de liaison écrite à la MDPH quand les modalités d'accompagnement changent
    durablement : tirée d'une version validée (comparée à la version validée qu'elle remplace),
    avec le motif, la BAL MSSanté organisationnelle de la MDPH et le consentement de la personne.
    `modalites` fige les changements retenus (tels qu'affichés) : la fiche garde ce qui a été
    montré à la personne et envoyé. Son contenu ne change jamais ; envoyée, elle ne change plus du
    tout (déclencheur, migration « fiche_mdph »)."""

    version = models.ForeignKey(VersionPPA, on_delete=models.PROTECT, related_name="fiches_mdph")
    version_precedente = models.ForeignKey(
        VersionPPA, verbose_name="comparée à la version", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    modalites = models.JSONField("modalités qui changent durablement", default=list)
    motif = models.TextField("motif")
    mdph = models.ForeignKey(
        Structure, verbose_name="MDPH (annuaire)", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    destinataire_nom = models.CharField("MDPH destinataire", max_length=200)
    destinataire_bal = models.EmailField("BAL MSSanté de la MDPH", max_length=254)
    redigee_par = models.CharField("rédigée par (clé de l'acteur)", max_length=120)
    redigee_par_nom = models.CharField("rédigée par", max_length=200)
    statut = models.CharField(
        "statut", max_length=10, choices=StatutFicheMDPH, default=StatutFicheMDPH.PREPAREE
    )
    envoyee_le = models.DateTimeField("envoyée le", null=True, blank=True)
    envoyee_par_nom = models.CharField("envoyée par", max_length=200, blank=True)

    class Meta:
        verbose_name = "fiche de liaison MDPH"
        verbose_name_plural = "fiches de liaison MDPH"
        ordering = ["-cree_le", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(statut="preparee", envoyee_le__isnull=True)
                | Q(statut="envoyee", envoyee_le__isnull=False),
                name="ppa_fiche_mdph_envoi_date",
            ),
            models.CheckConstraint(
                condition=Q(destinataire_bal__iendswith=".mssante.fr")
                & ~Q(destinataire_bal__iendswith="@patient.mssante.fr"),
                name="ppa_fiche_mdph_bal_organisationnelle",
            ),
            models.CheckConstraint(condition=~Q(motif=""), name="ppa_fiche_mdph_motif"),
        ]
        indexes = [models.Index(fields=["version", "-cree_le"], name="ppa_fiche_mdph_version_idx")]

    def __str__(self) -> str:
        return f"Fiche de liaison MDPH — {self.version}"


class ConsentementFicheMDPH(ModeleDeBase):
    """Le consentement de la personne (elle-même ou son représentant légal) à l'envoi de la fiche
    à la MDPH et à son dépôt dans son DMP : qui, quand, en quelle qualité, sur quel texte exact.
    Un par fiche ; immuable (déclencheur)."""

    fiche = models.OneToOneField(FicheLiaisonMDPH, on_delete=models.PROTECT, related_name="consentement")
    donne_par = models.CharField("donné par (clé de l'acteur)", max_length=120)
    donne_par_nom = models.CharField("donné par", max_length=200)
    qualite = models.CharField("en qualité de", max_length=120)
    texte = models.TextField("texte exact montré")
    donne_le = models.DateTimeField("donné le", auto_now_add=True)

    class Meta:
        verbose_name = "consentement à l'envoi d'une fiche de liaison MDPH"
        verbose_name_plural = "consentements à l'envoi de fiches de liaison MDPH"

    def __str__(self) -> str:
        return f"Consentement de {self.donne_par_nom} — {self.fiche}"


class DocumentPrecedent(ModeleDeBase):
    """Le projet d'une structure précédente, joint tel quel (PDF ou image) au projet : un document
    de référence pour reprendre le projet avec la personne. Contrôlé et rangé comme les pièces
    jointes du cahier (cahier_liaison/pieces_jointes.py : type d'après le contenu, taille, PDF sans
    contenu actif, image sans métadonnées) ; lu par qui lit le projet ; voir `ppa.reprise`."""

    projet = models.ForeignKey(
        ProjetPersonnalise, on_delete=models.PROTECT, related_name="documents_precedents"
    )
    fichier = models.FileField("fichier", storage=stockage_des_pieces, max_length=200)
    type_mime = models.CharField("type (détecté d'après le contenu)", max_length=40, choices=TypePiece)
    taille = models.PositiveBigIntegerField("taille en octets")
    sha256 = models.CharField("empreinte SHA-256 du fichier rangé", max_length=64)
    nom = models.CharField("nom d'origine (nettoyé, pour l'affichage)", max_length=120)
    description = models.CharField("de quoi s'agit-il", max_length=200, blank=True)
    ajoute_par = models.CharField("ajouté par (clé de l'acteur)", max_length=120)
    ajoute_par_nom = models.CharField("ajouté par", max_length=200)

    class Meta:
        verbose_name = "projet précédent joint"
        verbose_name_plural = "projets précédents joints"
        ordering = ["projet", "cree_le", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type_mime__in=TypePiece.values), name="ppa_document_type_permis"
            ),
            models.CheckConstraint(condition=Q(taille__gt=0), name="ppa_document_taille_positive"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="ppa_document_sha256"),
            models.CheckConstraint(condition=~Q(fichier=""), name="ppa_document_fichier_requis"),
        ]

    def __str__(self) -> str:
        return f"{self.nom} ({self.get_type_mime_display()})"

    @property
    def est_image(self) -> bool:
        return self.type_mime != TypePiece.PDF
