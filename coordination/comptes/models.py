"""Comptes de connexion. Un compte n'est pas une personne : il est relié à un professionnel,
à des proches ou à un usager (coordination.personnes) et agit en tant que l'un d'eux à la fois."""

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from coordination.modeles import ModeleDeBase


class GestionnaireComptes(BaseUserManager):
    use_in_migrations = True

    def _creer(self, email: str, password: str | None, **champs):
        if not email:
            raise ValueError("Le courriel est obligatoire pour créer un compte.")
        compte = self.model(email=self.normalize_email(email).lower(), **champs)
        compte.set_password(password)
        compte.save(using=self._db)
        return compte

    def create_user(self, email: str, password: str | None = None, **champs):
        champs.setdefault("is_staff", False)
        champs.setdefault("is_superuser", False)
        return self._creer(email, password, **champs)

    def create_superuser(self, email: str, password: str | None = None, **champs):
        champs["is_staff"] = True
        champs["is_superuser"] = True
        return self._creer(email, password, **champs)


class Compte(AbstractBaseUser, PermissionsMixin):
    uuid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("courriel", unique=True)
    nom_affiche = models.CharField("nom affiché", max_length=150, blank=True)
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    date_joined = models.DateTimeField("créé le", default=timezone.now)
    echecs_connexion = models.PositiveSmallIntegerField("échecs de connexion consécutifs", default=0)
    verrouille_jusqu_au = models.DateTimeField("verrouillé jusqu'au", null=True, blank=True)

    objects = GestionnaireComptes()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "compte"
        verbose_name_plural = "comptes"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="compte_email_unique_insensible_casse"),
        ]

    def __str__(self) -> str:
        return self.nom_affiche or self.email

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class FournisseurIdentite(models.TextChoices):
    PRO_SANTE_CONNECT = "psc", "Pro Santé Connect"
    FRANCECONNECT_PLUS = "fcplus", "FranceConnect+"


class IdentiteExterne(models.Model):
    """Identité de connexion fédérée : (fournisseur, sub) → compte. Pour Pro Santé Connect le
    `sub` retenu est le SubjectNameID (idNat_PS) ; pour FranceConnect+ le `sub` pairwise."""

    compte = models.ForeignKey(Compte, on_delete=models.CASCADE, related_name="identites_externes")
    fournisseur = models.CharField("fournisseur", max_length=10, choices=FournisseurIdentite)
    sub = models.CharField("identifiant chez le fournisseur", max_length=255)
    cree_le = models.DateTimeField("créée le", auto_now_add=True)
    derniere_connexion = models.DateTimeField("dernière connexion", null=True, blank=True)

    class Meta:
        verbose_name = "identité externe"
        verbose_name_plural = "identités externes"
        constraints = [models.UniqueConstraint(fields=["fournisseur", "sub"], name="identite_externe_unique")]

    def __str__(self) -> str:
        return f"{self.get_fournisseur_display()} · {self.sub}"


class ClientLogiciel(ModeleDeBase):
    """Logiciel d'une structure (son DUI, un outil e-Parcours) autorisé à appeler les API du portail
    par OAuth2 « client credentials » (django-oauth-toolkit, ADR 0010).

    L'application OAuth2 (identifiant et secret haché) reste celle de django-oauth-toolkit ; cette
    table dit pour le compte de quelle structure le logiciel agit et quelles portées il peut
    demander. Révoquer ne supprime rien : les jetons sont effacés, le secret remplacé par un secret
    que personne ne connaît et la date de révocation gardée (journal et audit)."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, verbose_name="application OAuth2",
        on_delete=models.PROTECT, related_name="client_logiciel",
    )  # fmt: skip
    structure = models.ForeignKey(
        "personnes.Structure", verbose_name="structure", on_delete=models.PROTECT,
        related_name="clients_logiciels",
    )  # fmt: skip
    nom = models.CharField("nom du logiciel", max_length=150, help_text="Ex. « DUI Médisoft de l'EHPAD ».")
    portees = models.CharField(
        "portées", max_length=1000, help_text="Portées OAuth2 autorisées, séparées par une espace."
    )
    emis_par = models.ForeignKey(
        Compte, verbose_name="émis par", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoque_le = models.DateTimeField("révoqué le", null=True, blank=True)

    class Meta:
        verbose_name = "client logiciel (OAuth2)"
        verbose_name_plural = "clients logiciels (OAuth2)"
        ordering = ["structure", "nom"]

    def __str__(self) -> str:
        return f"{self.nom} ({self.structure})"

    @property
    def actif(self) -> bool:
        return self.revoque_le is None

    @property
    def liste_portees(self) -> list[str]:
        return self.portees.split()


class TypeInvitation(models.TextChoices):
    PROCHE = "proche", "proche d'une personne accompagnée"
    PERSONNEL = "personnel", "personnel d'une structure (sans RPPS)"


class Invitation(ModeleDeBase):
    """Invitation à créer un compte local (ou, plus tard, à relier un compte FranceConnect+).

    Le code n'est montré qu'une fois, à l'émission ; seule son empreinte SHA-256 est gardée
    (`services_invitations.empreinte`). À usage unique, avec une échéance, révocable. Une invitation
    vise soit un proche déjà enregistré d'un usager, soit une personne à créer comme professionnel
    sans RPPS dans une structure (nom, prénom, fonction saisis par qui invite)."""

    type = models.CharField("type", max_length=10, choices=TypeInvitation)
    empreinte_code = models.CharField("empreinte du code", max_length=64, unique=True, editable=False)
    proche = models.ForeignKey(
        "personnes.Proche", verbose_name="proche invité", on_delete=models.CASCADE, null=True, blank=True,
        related_name="invitations",
    )  # fmt: skip
    structure = models.ForeignKey(
        "personnes.Structure", verbose_name="structure", on_delete=models.CASCADE, null=True, blank=True,
        related_name="invitations",
    )  # fmt: skip
    nom = models.CharField("nom", max_length=100, blank=True)
    prenom = models.CharField("prénom", max_length=100, blank=True)
    fonction = models.CharField("fonction", max_length=120, blank=True)
    emise_par = models.ForeignKey(
        Compte, verbose_name="émise par", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    emise_par_nom = models.CharField("émise par (nom et qualité)", max_length=300, blank=True)
    expire_le = models.DateTimeField("expire le")
    utilisee_le = models.DateTimeField("utilisée le", null=True, blank=True)
    utilisee_par = models.ForeignKey(
        Compte,
        verbose_name="utilisée par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoquee_le = models.DateTimeField("révoquée le", null=True, blank=True)
    expiration_journalisee = models.BooleanField("expiration journalisée", default=False)

    class Meta:
        verbose_name = "invitation"
        verbose_name_plural = "invitations"
        ordering = ["-cree_le"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(type="proche", proche__isnull=False, structure__isnull=True)
                    | models.Q(type="personnel", proche__isnull=True, structure__isnull=False)
                ),
                name="invitation_cible_selon_type",
                violation_error_message="Invitation : un proche, ou une structure pour son personnel.",
            ),
        ]
        indexes = [models.Index(fields=["expire_le"], name="invitation_expire_idx")]

    def __str__(self) -> str:
        return f"Invitation de {self.destinataire}"

    @property
    def destinataire(self) -> str:
        if self.proche_id:
            return f"{self.proche.prenoms.split(' ')[0]} {self.proche.nom}"
        return f"{self.prenom} {self.nom}".strip()

    @property
    def statut(self) -> str:
        if self.utilisee_le:
            return "utilisée"
        if self.revoquee_le:
            return "révoquée"
        if self.expire_le <= timezone.now():
            return "expirée"
        return "en attente"

    @property
    def en_attente(self) -> bool:
        return self.statut == "en attente"
