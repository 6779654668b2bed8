"""Boîte d'envoi (outbox) des échanges avec l'extérieur : MSSanté, DMP, Mon espace santé, webhooks
des logiciels des structures (docs/decisions/0031-outbox.md).

Chaque message sortant est une ligne écrite dans la même transaction que le changement qui le
cause (`services.mettre_en_file`), avec sa clé d'idempotence. L'envoi (tâche Celery après
validation de la transaction, balayage périodique avec attente exponentielle, lettres mortes) lit
et met à jour ces lignes ; PostgreSQL est la source de vérité : rien n'est perdu si un pair, Redis
ou un worker est arrêté, rien n'est envoyé deux fois.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from coordination.modeles import ModeleDeBase
from coordination.personnes.models import Usager


class Destination(models.TextChoices):
    """Le canal de sortie ; l'adaptateur d'envoi est choisi par lui."""

    MSSANTE = "mssante", "MSSanté (messagerie sécurisée de santé)"
    DMP = "dmp", "DMP (dépôt de document)"
    MES = "mes", "Mon espace santé"
    WEBHOOK = "webhook", "webhook (logiciel d'une structure)"
    COURRIEL = "courriel", "courriel (sans donnée de santé)"
    SMS = "sms", "SMS (sans donnée de santé)"


class StatutMessage(models.TextChoices):
    A_ENVOYER = "a_envoyer", "à envoyer"
    ENVOYE = "envoye", "envoyé"
    REFUSE = "refuse", "refusé (jamais envoyé)"
    ECHEC_DEFINITIF = "echec_definitif", "en échec définitif"


class MessageSortant(ModeleDeBase):
    """Un message à envoyer à l'extérieur. `charge` ne porte que des références à des objets
    immuables (version validée, fiche envoyée…) et ce qu'il faut pour les rebâtir à l'identique ;
    l'adaptateur construit le document au moment de l'envoi (ADR 0031).

    Cycle : à envoyer → envoyé ; ou, après N tentatives, en échec définitif (lettre morte, visible
    avec son erreur dans l'administration) ; refusé dès la mise en file quand la règle l'interdit
    (identité INS non qualifiée pour le DMP ou la messagerie du patient), avec la raison en
    français dans `derniere_erreur`. `prochain_essai_le` sert aussi de bail : le worker qui prend
    un message le repousse avant d'envoyer, un worker tombé le laisse revenir de lui-même."""

    destination = models.CharField("destination", max_length=10, choices=Destination)
    destinataire = models.CharField(
        "destinataire (adresse ou point d'accès)", max_length=320,
        help_text="BAL MSSanté, « DMP », adresse du webhook…",
    )  # fmt: skip
    nature = models.CharField(
        "nature du message", max_length=60, help_text="Ex. ppa.depot_dmp, ppa.fiche_mdph : dit quoi rebâtir."
    )
    charge = models.JSONField("contenu (références)", default=dict, blank=True)
    cle_idempotence = models.CharField("clé d'idempotence", max_length=200, unique=True)
    statut = models.CharField("statut", max_length=16, choices=StatutMessage, default=StatutMessage.A_ENVOYER)
    tentatives = models.PositiveSmallIntegerField("tentatives", default=0)
    prochain_essai_le = models.DateTimeField("prochain essai le", null=True, blank=True)
    derniere_erreur = models.TextField("dernière erreur (ou raison du refus)", blank=True)
    usager = models.ForeignKey(
        Usager, verbose_name="usager concerné", on_delete=models.PROTECT, null=True, blank=True,
        related_name="messages_sortants",
    )  # fmt: skip
    # L'objet qui a causé le message (comme le journal : « app.modèle » et son UUID public).
    objet_type = models.CharField("objet (type)", max_length=60, blank=True)
    objet_uuid = models.UUIDField("objet (identifiant public)", null=True, blank=True)
    precedent = models.ForeignKey(
        "self", verbose_name="ne part qu'après", on_delete=models.PROTECT, null=True, blank=True,
        related_name="suivants",
        help_text="Un remplacement de document au DMP part après le dépôt qu'il remplace.",
    )  # fmt: skip
    identifiant_distant = models.CharField(
        "identifiant rendu par le destinataire", max_length=200, blank=True,
        help_text="Message-ID MSSanté, identifiant du document au DMP… (rempli à l'envoi).",
    )  # fmt: skip
    cree_par = models.CharField("mis en file par (clé de l'acteur)", max_length=120, blank=True)
    envoye_le = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "message sortant"
        verbose_name_plural = "messages sortants"
        ordering = ["-cree_le", "-id"]
        permissions = [("renvoyer_messagesortant", "Peut renvoyer un message en échec définitif ou refusé")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(statut="a_envoyer") | Q(prochain_essai_le__isnull=False),
                name="echanges_a_envoyer_a_une_echeance",
            ),
            models.CheckConstraint(
                condition=~Q(statut="envoye") | Q(envoye_le__isnull=False), name="echanges_envoye_date"
            ),
            models.CheckConstraint(
                condition=~Q(statut__in=["refuse", "echec_definitif"]) | ~Q(derniere_erreur=""),
                name="echanges_refus_explique",
            ),
            models.CheckConstraint(condition=~Q(cle_idempotence=""), name="echanges_cle_non_vide"),
        ]
        indexes = [
            # Le balayage : « à envoyer dont l'échéance est passée », par échéance ; seules les lignes
            # en attente sont dans l'index (les envoyées, l'immense majorité, n'y entrent pas).
            models.Index(
                fields=["prochain_essai_le"], name="echanges_a_envoyer_idx", condition=Q(statut="a_envoyer")
            ),
            # Lettres mortes et refus, pour l'administration.
            models.Index(
                fields=["-modifie_le"],
                name="echanges_en_echec_idx",
                condition=Q(statut__in=["refuse", "echec_definitif"]),
            ),  # fmt: skip
            models.Index(fields=["objet_type", "objet_uuid"], name="echanges_objet_idx"),
            models.Index(fields=["usager", "-cree_le"], name="echanges_usager_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_destination_display()} → {self.destinataire} ({self.get_statut_display()})"


class Disposition(models.TextChoices):
    """Type de disposition d'un accusé MDN (RFC 8098 §3.2.6.2)."""

    TRAITE = "processed", "traité (reçu par le système du destinataire)"
    AFFICHE = "displayed", "affiché (lu)"
    SUPPRIME = "deleted", "supprimé sans lecture"
    TRANSMIS = "dispatched", "transmis"


class AccuseMSSante(ModeleDeBase):
    """Un accusé de réception ou de lecture (MDN, RFC 8098) reçu dans la BAL applicative pour un
    message MSSanté envoyé (rapproché par son Message-ID, `MessageSortant.identifiant_distant`).
    Unique par Message-ID de l'accusé : relevé deux fois, il n'est noté qu'une fois."""

    message = models.ForeignKey(
        MessageSortant, verbose_name="message", on_delete=models.PROTECT, related_name="accuses_mssante"
    )
    disposition = models.CharField("disposition", max_length=12, choices=Disposition)
    mode = models.CharField("mode (action/envoi)", max_length=100, blank=True)
    destinataire = models.CharField("destinataire final", max_length=320, blank=True)
    identifiant = models.CharField("Message-ID de l'accusé", max_length=250, unique=True)
    recu_le = models.DateTimeField("reçu le")
    brut = models.TextField("courriel d'origine")

    class Meta:
        verbose_name = "accusé MSSanté"
        verbose_name_plural = "accusés MSSanté"
        ordering = ["recu_le", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(identifiant=""), name="echanges_accuse_identifiant")
        ]

    def __str__(self) -> str:
        return f"{self.get_disposition_display()} : {self.destinataire}"
