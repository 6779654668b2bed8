"""Fiche de liaison MDPH et consentement à son envoi (ADR 0031). La base fige (comme pour les
versions du PPA, migration 0002) : le contenu d'une fiche ne change jamais, seul son envoi s'écrit
(préparée → envoyée, une fois) ; une fiche envoyée ne change ni ne s'efface plus ; un consentement
ne se modifie ni ne s'efface."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

DECLENCHEURS = [
    """
CREATE OR REPLACE FUNCTION ppa_fiche_mdph_gardee() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.statut = 'envoyee' THEN
        RAISE EXCEPTION 'fiche de liaison MDPH : une fiche envoyée ne change plus (id %)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF (NEW.uuid, NEW.cree_le, NEW.version_id, NEW.version_precedente_id, NEW.modalites, NEW.motif,
        NEW.mdph_id, NEW.destinataire_nom, NEW.destinataire_bal, NEW.redigee_par, NEW.redigee_par_nom)
        IS DISTINCT FROM
       (OLD.uuid, OLD.cree_le, OLD.version_id, OLD.version_precedente_id, OLD.modalites, OLD.motif,
        OLD.mdph_id, OLD.destinataire_nom, OLD.destinataire_bal, OLD.redigee_par, OLD.redigee_par_nom) THEN
        RAISE EXCEPTION 'fiche de liaison MDPH : le contenu d''une fiche est figé (id %)', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Préparez une nouvelle fiche.';
    END IF;
    RETURN NEW;
END;
$$;
    """,
    """
    CREATE TRIGGER ppa_fiche_mdph_gardee
        BEFORE UPDATE OR DELETE ON ppa_ficheliaisonmdph
        FOR EACH ROW EXECUTE FUNCTION ppa_fiche_mdph_gardee();
    """,
    """
CREATE OR REPLACE FUNCTION ppa_consentement_mdph_immuable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fiche de liaison MDPH : un consentement donné ne se modifie ni ne s''efface (id %)', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
    """,
    """
    CREATE TRIGGER ppa_consentement_mdph_immuable
        BEFORE UPDATE OR DELETE ON ppa_consentementfichemdph
        FOR EACH ROW EXECUTE FUNCTION ppa_consentement_mdph_immuable();
    """,
]
RETOUR = [
    "DROP TRIGGER IF EXISTS ppa_consentement_mdph_immuable ON ppa_consentementfichemdph;",
    "DROP FUNCTION IF EXISTS ppa_consentement_mdph_immuable();",
    "DROP TRIGGER IF EXISTS ppa_fiche_mdph_gardee ON ppa_ficheliaisonmdph;",
    "DROP FUNCTION IF EXISTS ppa_fiche_mdph_gardee();",
]


class Migration(migrations.Migration):
    dependencies = [
        ("personnes", "0008_usager_champs_figes"),
        ("ppa", "0006_referent"),
    ]

    operations = [
        migrations.CreateModel(
            name="FicheLiaisonMDPH",
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
                    "modalites",
                    models.JSONField(default=list, verbose_name="modalités qui changent durablement"),
                ),
                ("motif", models.TextField(verbose_name="motif")),
                ("destinataire_nom", models.CharField(max_length=200, verbose_name="MDPH destinataire")),
                (
                    "destinataire_bal",
                    models.EmailField(max_length=254, verbose_name="BAL MSSanté de la MDPH"),
                ),
                (
                    "redigee_par",
                    models.CharField(max_length=120, verbose_name="rédigée par (clé de l'acteur)"),
                ),
                ("redigee_par_nom", models.CharField(max_length=200, verbose_name="rédigée par")),
                (
                    "statut",
                    models.CharField(
                        choices=[("preparee", "préparée (pas encore envoyée)"), ("envoyee", "envoyée")],
                        default="preparee",
                        max_length=10,
                        verbose_name="statut",
                    ),
                ),
                ("envoyee_le", models.DateTimeField(blank=True, null=True, verbose_name="envoyée le")),
                ("envoyee_par_nom", models.CharField(blank=True, max_length=200, verbose_name="envoyée par")),
                (
                    "mdph",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="personnes.structure",
                        verbose_name="MDPH (annuaire)",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fiches_mdph",
                        to="ppa.versionppa",
                    ),
                ),
                (
                    "version_precedente",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ppa.versionppa",
                        verbose_name="comparée à la version",
                    ),
                ),
            ],
            options={
                "verbose_name": "fiche de liaison MDPH",
                "verbose_name_plural": "fiches de liaison MDPH",
                "ordering": ["-cree_le", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ConsentementFicheMDPH",
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
                ("donne_par", models.CharField(max_length=120, verbose_name="donné par (clé de l'acteur)")),
                ("donne_par_nom", models.CharField(max_length=200, verbose_name="donné par")),
                ("qualite", models.CharField(max_length=120, verbose_name="en qualité de")),
                ("texte", models.TextField(verbose_name="texte exact montré")),
                ("donne_le", models.DateTimeField(auto_now_add=True, verbose_name="donné le")),
                (
                    "fiche",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consentement",
                        to="ppa.ficheliaisonmdph",
                    ),
                ),
            ],
            options={
                "verbose_name": "consentement à l'envoi d'une fiche de liaison MDPH",
                "verbose_name_plural": "consentements à l'envoi de fiches de liaison MDPH",
            },
        ),
        migrations.AddIndex(
            model_name="ficheliaisonmdph",
            index=models.Index(fields=["version", "-cree_le"], name="ppa_fiche_mdph_version_idx"),
        ),
        migrations.AddConstraint(
            model_name="ficheliaisonmdph",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("envoyee_le__isnull", True), ("statut", "preparee")),
                    models.Q(("envoyee_le__isnull", False), ("statut", "envoyee")),
                    _connector="OR",
                ),
                name="ppa_fiche_mdph_envoi_date",
            ),
        ),
        migrations.AddConstraint(
            model_name="ficheliaisonmdph",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("destinataire_bal__iendswith", ".mssante.fr"),
                    models.Q(("destinataire_bal__iendswith", "@patient.mssante.fr"), _negated=True),
                ),
                name="ppa_fiche_mdph_bal_organisationnelle",
            ),
        ),
        migrations.AddConstraint(
            model_name="ficheliaisonmdph",
            constraint=models.CheckConstraint(
                condition=models.Q(("motif", ""), _negated=True), name="ppa_fiche_mdph_motif"
            ),
        ),
        migrations.RunSQL(sql=DECLENCHEURS, reverse_sql=RETOUR),
    ]
