"""Abonnements des logiciels des structures aux notifications (CI-SIS Notification d'événements,
`nde-subscription`) : le DUI d'une structure souscrit par `POST /fhir/Subscription` et reçoit un
webhook (`nde-notificationrequest`) à chaque événement d'une nature suivie sur un usager que sa
structure a le droit de lire (docs/decisions/0036-sms-et-webhooks-nde.md).

Importé par `models.py` (`from .models_abonnements import *`)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from coordination.modeles import ModeleDeBase

__all__ = ["Abonnement", "StatutAbonnement"]


class StatutAbonnement(models.TextChoices):
    """`Subscription.status` (FHIR R4). « requested » reçu est enregistré « active » : le portail
    n'a pas de poignée de main à faire ; « error » est posé par le portail seul."""

    ACTIVE = "active", "actif"
    ERROR = "error", "en erreur"
    OFF = "off", "arrêté"


class Abonnement(ModeleDeBase):
    """Un abonnement NdE d'un logiciel (client OAuth2) pour le compte de sa structure.

    `ressource` garde la Subscription telle que reçue (relue telle quelle, avec l'id, le statut et
    les dates du portail) ; les autres champs en sont tirés pour choisir les abonnements d'un
    événement en une requête : natures suivies, usager (aucun : tous ceux que la structure peut
    lire), période, point d'accès et en-têtes du webhook."""

    structure = models.ForeignKey(
        "personnes.Structure", verbose_name="structure abonnée", on_delete=models.PROTECT,
        related_name="abonnements_nde",
    )  # fmt: skip
    client = models.ForeignKey(
        "comptes.ClientLogiciel", verbose_name="logiciel qui a souscrit", on_delete=models.PROTECT,
        related_name="abonnements_nde",
    )  # fmt: skip
    natures = ArrayField(
        models.CharField(max_length=60), verbose_name="natures suivies",
        help_text="Natures du catalogue des notifications, tirées des types d'événement (JDV_J46).",
    )  # fmt: skip
    usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager suivi", on_delete=models.PROTECT, null=True, blank=True,
        related_name="abonnements_nde", help_text="Vide : tous les usagers que la structure peut lire.",
    )  # fmt: skip
    endpoint = models.URLField("adresse du webhook", max_length=500)
    en_tetes = models.JSONField("en-têtes du webhook", default=list, blank=True)
    statut = models.CharField(
        "statut", max_length=10, choices=StatutAbonnement, default=StatutAbonnement.ACTIVE
    )
    debut = models.DateTimeField("début")
    fin = models.DateTimeField("fin", null=True, blank=True)
    version = models.PositiveIntegerField("version", default=1)
    ressource = models.JSONField("Subscription reçue")

    class Meta:
        verbose_name = "abonnement NdE (webhook)"
        verbose_name_plural = "abonnements NdE (webhooks)"
        ordering = ["-cree_le", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(natures__len__gt=0), name="abonnement_au_moins_une_nature"),
            models.CheckConstraint(condition=~Q(endpoint=""), name="abonnement_endpoint_non_vide"),
        ]
        indexes = [
            # Les abonnements actifs d'une nature (mise en file des webhooks d'un événement).
            GinIndex(fields=["natures"], name="abonnement_natures_actifs", condition=Q(statut="active")),
            models.Index(fields=["structure", "-cree_le"], name="abonnement_structure_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.structure} → {self.endpoint} ({self.get_statut_display()})"
