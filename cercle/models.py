"""Cercle de santé et d'accompagnement d'un usager : membres datés, habilitations explicites,
délégations, consentements et demandes d'adhésion.

Les règles d'accès elles-mêmes vivent dans `cercle/habilitations.py` ; ce module ne porte que les
tables et leurs invariants (contraintes en base)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cercle.roles import Role
from coordination.modeles import ModeleDeBase
from coordination.personnes.models import Exercice, Proche, Professionnel, Structure, Usager

# --- Niveaux et domaines -----------------------------------------------------------------------


class Domaine(models.TextChoices):
    CERCLE = "cercle", "cercle"
    CAHIER = "cahier", "cahier de liaison"
    PPA = "ppa", "projet personnalisé"
    AGENDA = "agenda", "agenda"
    IDENTITE = "identite", "identité et coordonnées"


class Niveau(models.IntegerChoices):
    AUCUN = 0, "aucun"
    LECTURE = 1, "lecture"
    ECRITURE = 2, "écriture"
    GESTION = 3, "gestion"


# --- Cercle ------------------------------------------------------------------------------------


class StatutCercle(models.TextChoices):
    ACTIF = "active", "actif"
    INACTIF = "inactive", "clos"


class Cercle(ModeleDeBase):
    """Un cercle par usager, créé avec lui (CareTeam du volet CI-SIS « Gestion du cercle de soins »).

    `version` croît à chaque changement du cercle ou de ses membres (meta.versionId FHIR)."""

    usager = models.OneToOneField(
        Usager, verbose_name="usager", on_delete=models.PROTECT, related_name="cercle"
    )
    statut = models.CharField("statut", max_length=10, choices=StatutCercle, default=StatutCercle.ACTIF)
    date_debut = models.DateField("ouvert le", default=timezone.localdate)
    date_fin = models.DateField("clos le", null=True, blank=True)
    structure_responsable = models.ForeignKey(
        Structure, verbose_name="structure responsable", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="cercles_geres",
    )  # fmt: skip
    version = models.PositiveIntegerField("version", default=1)

    class Meta:
        verbose_name = "cercle"
        verbose_name_plural = "cercles"
        constraints = [
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True) | Q(date_fin__gte=F("date_debut")),
                name="cercle_dates_ordonnees",
                violation_error_message="Cercle : la date de clôture précède la date d'ouverture.",
            ),
        ]

    def __str__(self) -> str:
        return f"Cercle de {self.usager}"

    @property
    def actif(self) -> bool:
        return self.statut == StatutCercle.ACTIF


# --- Membres -----------------------------------------------------------------------------------


class TypeMembre(models.TextChoices):
    PROFESSIONNEL = "professionnel", "professionnel"
    STRUCTURE = "structure", "structure"
    PROCHE = "proche", "proche"
    AUTRE = "autre", "autre personne"


class StatutMembre(models.TextChoices):
    PROPOSE = "proposed", "proposé"
    ACTIF = "active", "actif"
    SUSPENDU = "suspended", "suspendu"
    INACTIF = "inactive", "sorti"


class OrigineMembre(models.TextChoices):
    HISTORIQUE = "historique", "historique de remboursement"
    AJOUT = "ajout", "ajouté depuis le portail"
    DEMANDE = "demande", "demande d'adhésion acceptée"
    LOGICIEL = "logiciel", "logiciel métier (DUI)"


class MotifSortie(models.TextChoices):
    FIN_ACCOMPAGNEMENT = "fin_accompagnement", "fin de l'accompagnement"
    DEMANDE_USAGER = "demande_usager", "à la demande de l'usager"
    DEPART_MEMBRE = "depart_membre", "départ du membre"
    PROPOSITION_ECARTEE = "proposition_ecartee", "proposition écartée"
    FIN_LIEN = "fin_lien", "fin du lien avec l'usager"
    AUTRE = "autre", "autre motif"


# Un membre « ouvert » (proposé, actif ou suspendu) n'a pas de date de sortie ; un membre sorti en a une.
_OUVERT = Q(date_sortie__isnull=True)


class Membre(ModeleDeBase):
    """Une présence datée dans un cercle. Une personne qui sort puis revient a plusieurs lignes
    (une entrée `participant` par période en FHIR). Être membre ne donne aucun droit par soi-même :
    les droits sont les lignes `Habilitation`.

    Professionnel : la personne (`professionnel`), et la situation d'exercice dans laquelle elle
    intervient (`exercice`, facultative : un libéral vu dans l'historique de remboursement)."""

    cercle = models.ForeignKey(
        Cercle, verbose_name="cercle", on_delete=models.CASCADE, related_name="membres"
    )
    type = models.CharField("type", max_length=15, choices=TypeMembre)
    professionnel = models.ForeignKey(
        Professionnel, verbose_name="professionnel", on_delete=models.PROTECT, null=True, blank=True,
        related_name="presences_cercle",
    )  # fmt: skip
    exercice = models.ForeignKey(
        Exercice, verbose_name="situation d'exercice", on_delete=models.PROTECT, null=True, blank=True,
        related_name="presences_cercle",
    )  # fmt: skip
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.PROTECT, null=True, blank=True,
        related_name="presences_cercle",
    )  # fmt: skip
    proche = models.ForeignKey(
        Proche, verbose_name="proche", on_delete=models.PROTECT, null=True, blank=True,
        related_name="presences_cercle",
    )  # fmt: skip
    # Autre personne (voisin, bénévole d'une association…) : pas de fiche ailleurs.
    nom = models.CharField("nom", max_length=100, blank=True)
    prenoms = models.CharField("prénoms", max_length=200, blank=True)
    precision = models.CharField(
        "précision", max_length=120, blank=True, help_text="Ex. voisine, association."
    )
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    role = models.CharField("rôle", max_length=30, choices=Role.choices)
    statut = models.CharField("statut", max_length=10, choices=StatutMembre, default=StatutMembre.ACTIF)
    origine = models.CharField("origine", max_length=12, choices=OrigineMembre, default=OrigineMembre.AJOUT)
    note_origine = models.CharField("précision sur l'origine", max_length=250, blank=True)
    date_entree = models.DateField("entrée le", default=timezone.localdate)
    date_sortie = models.DateField("sorti le", null=True, blank=True)
    motif_sortie = models.CharField("motif de sortie", max_length=25, choices=MotifSortie, blank=True)

    class Meta:
        verbose_name = "membre du cercle"
        verbose_name_plural = "membres du cercle"
        ordering = ["cercle", "date_entree", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        type=TypeMembre.PROFESSIONNEL,
                        professionnel__isnull=False,
                        structure__isnull=True,
                        proche__isnull=True,
                    )
                    | Q(
                        type=TypeMembre.STRUCTURE,
                        structure__isnull=False,
                        professionnel__isnull=True,
                        exercice__isnull=True,
                        proche__isnull=True,
                    )
                    | Q(
                        type=TypeMembre.PROCHE,
                        proche__isnull=False,
                        professionnel__isnull=True,
                        exercice__isnull=True,
                        structure__isnull=True,
                    )
                    | Q(
                        type=TypeMembre.AUTRE,
                        professionnel__isnull=True,
                        exercice__isnull=True,
                        structure__isnull=True,
                        proche__isnull=True,
                    )
                    & ~Q(nom="")
                ),  # fmt: skip
                name="membre_type_coherent",
                violation_error_message="Membre : la personne ne correspond pas au type de membre.",
            ),
            models.CheckConstraint(
                condition=(Q(statut=StatutMembre.INACTIF) & Q(date_sortie__isnull=False))
                | (~Q(statut=StatutMembre.INACTIF) & Q(date_sortie__isnull=True)),
                name="membre_sortie_si_inactif",
                violation_error_message="Membre : un membre sorti a une date de sortie, et lui seul.",
            ),
            models.CheckConstraint(
                condition=Q(date_sortie__isnull=True) | Q(date_sortie__gte=F("date_entree")),
                name="membre_dates_ordonnees",
                violation_error_message="Membre : la date de sortie précède la date d'entrée.",
            ),
            # Une seule présence ouverte par personne et par cercle (elle peut revenir après être sortie).
            models.UniqueConstraint(
                fields=["cercle", "professionnel"],
                condition=_OUVERT & Q(type=TypeMembre.PROFESSIONNEL),
                name="membre_professionnel_unique_ouvert",
                violation_error_message="Ce professionnel est déjà dans le cercle.",
            ),  # fmt: skip
            models.UniqueConstraint(
                fields=["cercle", "structure"],
                condition=_OUVERT & Q(type=TypeMembre.STRUCTURE),
                name="membre_structure_unique_ouvert",
                violation_error_message="Cette structure est déjà dans le cercle.",
            ),  # fmt: skip
            models.UniqueConstraint(
                fields=["cercle", "proche"],
                condition=_OUVERT & Q(type=TypeMembre.PROCHE),
                name="membre_proche_unique_ouvert",
                violation_error_message="Ce proche est déjà dans le cercle.",
            ),  # fmt: skip
        ]
        indexes = [
            # « Mes usagers » d'un professionnel, d'une structure ou d'un proche : présences ouvertes.
            models.Index(fields=["professionnel", "cercle"], condition=_OUVERT, name="membre_pro_ouvert_idx"),
            models.Index(
                fields=["structure", "cercle"], condition=_OUVERT, name="membre_structure_ouvert_idx"
            ),
            models.Index(fields=["proche"], condition=_OUVERT, name="membre_proche_ouvert_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.nom_affiche} ({self.get_role_display()})"

    @property
    def ouvert(self) -> bool:
        return self.date_sortie is None

    @property
    def actif(self) -> bool:
        return self.statut == StatutMembre.ACTIF

    @property
    def nom_affiche(self) -> str:
        if self.type == TypeMembre.PROFESSIONNEL:
            return str(self.professionnel)
        if self.type == TypeMembre.STRUCTURE:
            return self.structure.raison_sociale
        if self.type == TypeMembre.PROCHE:
            return f"{self.proche.prenoms.split(' ')[0]} {self.proche.nom}"
        return " ".join(p for p in (self.prenoms, self.nom) if p)


# --- Consentements ----------------------------------------------------------------------------


class ObjetConsentement(models.TextChoices):
    OCTROI = "octroi", "octroi d'un droit"
    REVOCATION = "revocation", "retrait d'un droit"
    DELEGATION = "delegation", "délégation à un assistant"
    FIN_DELEGATION = "fin_delegation", "fin d'une délégation"
    GESTIONNAIRE = "gestionnaire", "changement de gestionnaire du cercle"


class QualiteConsentant(models.TextChoices):
    USAGER = "usager", "l'usager"
    REPRESENTANT_LEGAL = "representant_legal", "son représentant légal"
    GESTIONNAIRE = "gestionnaire", "le gestionnaire du cercle désigné par l'usager"


class ConsentementImmuable(Exception):
    pass


class Consentement(ModeleDeBase):
    """Preuve d'un consentement : qui (l'usager, son représentant, ou le gestionnaire qu'il a
    désigné), le texte exact montré et sa version, l'heure. Jamais modifié ni supprimé (modèle et
    déclencheur en base, comme le journal)."""

    usager = models.ForeignKey(
        Usager, verbose_name="usager", on_delete=models.PROTECT, related_name="consentements_cercle"
    )
    objet = models.CharField("objet", max_length=15, choices=ObjetConsentement)
    qualite = models.CharField("donné par", max_length=20, choices=QualiteConsentant)
    consentant_nom = models.CharField("nom du consentant", max_length=200)
    compte_uuid = models.UUIDField("compte", null=True, blank=True)
    texte = models.TextField("texte montré")
    texte_version = models.CharField("version du texte", max_length=40)
    horodatage = models.DateTimeField("horodatage", default=timezone.now)
    details = models.JSONField("détails", default=dict, blank=True)

    class Meta:
        verbose_name = "consentement"
        verbose_name_plural = "consentements"
        ordering = ["-horodatage", "-id"]
        indexes = [models.Index(fields=["usager", "-horodatage"], name="consentement_usager_idx")]

    def __str__(self) -> str:
        return f"{self.get_objet_display()} · {self.consentant_nom} · {self.horodatage:%d/%m/%Y %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ConsentementImmuable("Un consentement enregistré ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ConsentementImmuable("Un consentement enregistré ne se supprime pas.")


# --- Habilitations ----------------------------------------------------------------------------


class OrigineHabilitation(models.TextChoices):
    PRESOMPTION = "presomption", "équipe de soins (consentement présumé)"
    ACCORD = "accord", "accordé"


_EN_VIGUEUR = Q(revoquee_le__isnull=True)


class Habilitation(ModeleDeBase):
    """Un droit explicite (membre, domaine, niveau), permanent ou jusqu'à une date (incluse).

    Une seule ligne en vigueur (non révoquée) par membre et domaine : changer un niveau révoque
    la ligne précédente et en écrit une nouvelle, si bien que l'historique reste lisible."""

    membre = models.ForeignKey(
        Membre, verbose_name="membre", on_delete=models.CASCADE, related_name="habilitations"
    )
    domaine = models.CharField("domaine", max_length=10, choices=Domaine)
    niveau = models.PositiveSmallIntegerField("niveau", choices=Niveau)
    origine = models.CharField("origine", max_length=12, choices=OrigineHabilitation)
    date_debut = models.DateField("à partir du", default=timezone.localdate)
    date_fin = models.DateField("jusqu'au", null=True, blank=True)
    revoquee_le = models.DateTimeField("retirée le", null=True, blank=True)
    consentement = models.ForeignKey(
        Consentement, verbose_name="consentement", on_delete=models.PROTECT, null=True, blank=True,
        related_name="habilitations",
    )  # fmt: skip
    revocation = models.ForeignKey(
        Consentement, verbose_name="consentement du retrait", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = "habilitation"
        verbose_name_plural = "habilitations"
        ordering = ["membre", "domaine", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["membre", "domaine"], condition=_EN_VIGUEUR, name="habilitation_unique_en_vigueur"
            ),
            models.CheckConstraint(
                condition=Q(niveau__gte=1, niveau__lte=3), name="habilitation_niveau_utile"
            ),
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True) | Q(date_fin__gte=F("date_debut")),
                name="habilitation_dates_ordonnees",
                violation_error_message="Droit : la date de fin précède la date de début.",
            ),
            models.CheckConstraint(
                condition=Q(origine=OrigineHabilitation.PRESOMPTION) | Q(consentement__isnull=False),
                name="habilitation_accord_consenti",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membre} · {self.get_domaine_display()} : {self.get_niveau_display()}"


class StatutDelegation(models.TextChoices):
    EN_ATTENTE = "en_attente", "en attente du consentement de l'usager"
    ACTIVE = "active", "active"
    REFUSEE = "refusee", "refusée"
    TERMINEE = "terminee", "terminée"


class Delegation(ModeleDeBase):
    """Un membre professionnel délègue une part de ce qu'il détient à un assistant (une situation
    d'exercice), jusqu'à une date, après le consentement de l'usager. Jamais plus que ce que le
    délégant détient au moment de l'usage ; jamais transitive (un délégataire ne redélègue pas)."""

    delegant = models.ForeignKey(
        Membre, verbose_name="délégant", on_delete=models.CASCADE, related_name="delegations_donnees"
    )
    delegataire = models.ForeignKey(
        Exercice,
        verbose_name="assistant (délégataire)",
        on_delete=models.PROTECT,
        related_name="delegations_recues",
    )
    domaine = models.CharField("domaine", max_length=10, choices=Domaine)
    niveau = models.PositiveSmallIntegerField("niveau", choices=Niveau)
    date_debut = models.DateField("à partir du", default=timezone.localdate)
    date_fin = models.DateField("jusqu'au")
    statut = models.CharField(
        "statut", max_length=12, choices=StatutDelegation, default=StatutDelegation.EN_ATTENTE
    )
    consentement = models.ForeignKey(
        Consentement, verbose_name="consentement", on_delete=models.PROTECT, null=True, blank=True,
        related_name="delegations",
    )  # fmt: skip
    terminee_le = models.DateTimeField("terminée le", null=True, blank=True)

    class Meta:
        verbose_name = "délégation"
        verbose_name_plural = "délégations"
        ordering = ["-date_debut", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(niveau__gte=1, niveau__lte=3), name="delegation_niveau_utile"),
            models.CheckConstraint(
                condition=Q(date_fin__gte=F("date_debut")),
                name="delegation_dates_ordonnees",
                violation_error_message="Délégation : la date de fin précède la date de début.",
            ),
            models.CheckConstraint(
                condition=~Q(statut=StatutDelegation.ACTIVE) | Q(consentement__isnull=False),
                name="delegation_active_consentie",
            ),
        ]
        indexes = [
            models.Index(
                fields=["delegataire", "delegant"],
                condition=Q(statut=StatutDelegation.ACTIVE),
                name="delegation_active_idx",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.delegant} → {self.delegataire.professionnel} ({self.get_domaine_display()})"


# --- Réglages par structure ------------------------------------------------------------------


class DroitParDefaut(ModeleDeBase):
    """Droit par défaut d'un rôle pour les professionnels d'une structure qui accompagne l'usager
    (présomption de l'équipe de soins), quand la structure s'écarte des défauts du portail
    (`habilitations.DEFAUTS_PAR_ROLE`). Niveau 0 : aucun droit par défaut pour ce domaine."""

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="droits_par_defaut"
    )
    role = models.CharField("rôle", max_length=30, choices=Role.choices)
    domaine = models.CharField("domaine", max_length=10, choices=Domaine)
    niveau = models.PositiveSmallIntegerField("niveau", choices=Niveau)

    class Meta:
        verbose_name = "droit par défaut d'une structure"
        verbose_name_plural = "droits par défaut des structures"
        constraints = [
            models.UniqueConstraint(fields=["structure", "role", "domaine"], name="droit_defaut_unique"),
            models.CheckConstraint(condition=Q(niveau__lte=2), name="droit_defaut_sans_gestion"),
        ]

    def __str__(self) -> str:
        return f"{self.structure} · {self.get_role_display()} · {self.get_domaine_display()}"


# --- Demandes d'adhésion ----------------------------------------------------------------------


class StatutDemande(models.TextChoices):
    EN_ATTENTE = "en_attente", "en attente"
    ACCEPTEE = "acceptee", "acceptée"
    REFUSEE = "refusee", "refusée"
    RETIREE = "retiree", "retirée"
    EXPIREE = "expiree", "expirée sans réponse"


class DemandeAdhesion(ModeleDeBase):
    """Un professionnel demande à entrer dans le cercle d'un usager, désigné par ses traits
    (nom de naissance, premier prénom, date de naissance) ou son matricule INS. L'usager n'est
    relié que si une personne correspond exactement ; le demandeur voit la même chose dans les
    deux cas (« en attente ») jusqu'à la décision : la demande ne révèle pas qui a un cercle."""

    exercice = models.ForeignKey(
        Exercice, verbose_name="demandeur", on_delete=models.PROTECT, related_name="demandes_adhesion"
    )
    cercle = models.ForeignKey(
        Cercle,
        verbose_name="cercle",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="demandes",
    )
    designation = models.CharField("usager désigné", max_length=250)
    role = models.CharField("rôle demandé", max_length=30, choices=Role.choices)
    message = models.TextField("message", max_length=1000, blank=True)
    statut = models.CharField(
        "statut", max_length=12, choices=StatutDemande, default=StatutDemande.EN_ATTENTE
    )
    expire_le = models.DateField("expire le")
    decidee_le = models.DateTimeField("décidée le", null=True, blank=True)
    decidee_par = models.CharField("décidée par", max_length=200, blank=True)
    motif = models.CharField("motif", max_length=500, blank=True)
    membre = models.OneToOneField(
        Membre,
        verbose_name="membre créé",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="demande",
    )

    class Meta:
        verbose_name = "demande d'adhésion"
        verbose_name_plural = "demandes d'adhésion"
        ordering = ["-cree_le"]
        constraints = [
            models.UniqueConstraint(
                fields=["exercice", "cercle"],
                condition=Q(statut="en_attente", cercle__isnull=False),
                name="demande_unique_en_attente",
                violation_error_message="Une demande est déjà en attente pour ce cercle.",
            ),  # fmt: skip
        ]
        indexes = [
            models.Index(fields=["cercle", "statut"], name="demande_cercle_idx"),
            models.Index(fields=["exercice", "-cree_le"], name="demande_exercice_idx"),
        ]

    def __str__(self) -> str:
        return f"Demande de {self.exercice.professionnel} ({self.get_statut_display()})"
