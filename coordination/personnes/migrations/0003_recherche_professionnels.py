"""Recherche rapide dans l'annuaire : extensions unaccent et pg_trgm, fonction immuable
`immutable_unaccent` (unaccent() n'est que STABLE, donc interdite dans une colonne générée ou un
index), colonne générée `cle_recherche` et son index GIN trigramme."""

import django.contrib.postgres.indexes
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models

import coordination.personnes.models

FONCTION = """
CREATE OR REPLACE FUNCTION immutable_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("personnes", "0002_index_doublons_statut_vali_sans_ins"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(FONCTION, reverse_sql="DROP FUNCTION IF EXISTS immutable_unaccent(text);"),
        migrations.AddField(
            model_name="professionnel",
            name="cle_recherche",
            field=models.GeneratedField(
                db_persist=True,
                expression=coordination.personnes.models.CleRecherche("nom_exercice", "prenom_exercice"),
                output_field=models.TextField(),
                verbose_name="clé de recherche",
            ),
        ),
        migrations.AddIndex(
            model_name="professionnel",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["cle_recherche"], name="professionnel_recherche_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
    ]
