"""Boîte d'envoi des échanges avec l'extérieur (ADR 0031)."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("personnes", "0008_usager_champs_figes"),
    ]

    operations = [
        migrations.CreateModel(
            name="MessageSortant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "uuid",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, unique=True, verbose_name="identifiant public"
                    ),
                ),
                ("cree_le", models.DateTimeField(auto_now_add=True, verbose_name="créé le")),
                ("modifie_le", models.DateTimeField(auto_now=True, verbose_name="modifié le")),
                (
                    "destination",
                    models.CharField(
                        choices=[
                            ("mssante", "MSSanté (messagerie sécurisée de santé)"),
                            ("dmp", "DMP (dépôt de document)"),
                            ("mes", "Mon espace santé"),
                            ("webhook", "webhook (logiciel d'une structure)"),
                        ],
                        max_length=10,
                        verbose_name="destination",
                    ),
                ),
                (
                    "destinataire",
                    models.CharField(
                        help_text="BAL MSSanté, « DMP », adresse du webhook…",
                        max_length=320,
                        verbose_name="destinataire (adresse ou point d'accès)",
                    ),
                ),
                (
                    "nature",
                    models.CharField(
                        help_text="Ex. ppa.depot_dmp, ppa.fiche_mdph : dit quoi rebâtir.",
                        max_length=60,
                        verbose_name="nature du message",
                    ),
                ),
                ("charge", models.JSONField(blank=True, default=dict, verbose_name="contenu (références)")),
                (
                    "cle_idempotence",
                    models.CharField(max_length=200, unique=True, verbose_name="clé d'idempotence"),
                ),
                (
                    "statut",
                    models.CharField(
                        choices=[
                            ("a_envoyer", "à envoyer"),
                            ("envoye", "envoyé"),
                            ("refuse", "refusé (jamais envoyé)"),
                            ("echec_definitif", "en échec définitif"),
                        ],
                        default="a_envoyer",
                        max_length=16,
                        verbose_name="statut",
                    ),
                ),
                ("tentatives", models.PositiveSmallIntegerField(default=0, verbose_name="tentatives")),
                (
                    "prochain_essai_le",
                    models.DateTimeField(blank=True, null=True, verbose_name="prochain essai le"),
                ),
                (
                    "derniere_erreur",
                    models.TextField(blank=True, verbose_name="dernière erreur (ou raison du refus)"),
                ),
                ("objet_type", models.CharField(blank=True, max_length=60, verbose_name="objet (type)")),
                (
                    "objet_uuid",
                    models.UUIDField(blank=True, null=True, verbose_name="objet (identifiant public)"),
                ),
                (
                    "identifiant_distant",
                    models.CharField(
                        blank=True,
                        help_text="Message-ID MSSanté, identifiant du document au DMP… (rempli à l'envoi).",
                        max_length=200,
                        verbose_name="identifiant rendu par le destinataire",
                    ),
                ),
                (
                    "cree_par",
                    models.CharField(
                        blank=True, max_length=120, verbose_name="mis en file par (clé de l'acteur)"
                    ),
                ),
                ("envoye_le", models.DateTimeField(blank=True, null=True, verbose_name="envoyé le")),
                (
                    "precedent",
                    models.ForeignKey(
                        blank=True,
                        help_text="Un remplacement de document au DMP part après le dépôt qu'il remplace.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="suivants",
                        to="echanges.messagesortant",
                        verbose_name="ne part qu'après",
                    ),
                ),
                (
                    "usager",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="messages_sortants",
                        to="personnes.usager",
                        verbose_name="usager concerné",
                    ),
                ),
            ],
            options={
                "verbose_name": "message sortant",
                "verbose_name_plural": "messages sortants",
                "ordering": ["-cree_le", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("statut", "a_envoyer")),
                        fields=["prochain_essai_le"],
                        name="echanges_a_envoyer_idx",
                    ),
                    models.Index(
                        condition=models.Q(("statut__in", ["refuse", "echec_definitif"])),
                        fields=["-modifie_le"],
                        name="echanges_en_echec_idx",
                    ),
                    models.Index(fields=["objet_type", "objet_uuid"], name="echanges_objet_idx"),
                    models.Index(fields=["usager", "-cree_le"], name="echanges_usager_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("statut", "a_envoyer"), _negated=True),
                            ("prochain_essai_le__isnull", False),
                            _connector="OR",
                        ),
                        name="echanges_a_envoyer_a_une_echeance",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("statut", "envoye"), _negated=True),
                            ("envoye_le__isnull", False),
                            _connector="OR",
                        ),
                        name="echanges_envoye_date",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("statut__in", ["refuse", "echec_definitif"]), _negated=True),
                            models.Q(("derniere_erreur", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="echanges_refus_explique",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("cle_idempotence", ""), _negated=True),
                        name="echanges_cle_non_vide",
                    ),
                ],
            },
        ),
    ]
