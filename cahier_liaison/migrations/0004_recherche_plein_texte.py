"""Recherche plein texte dans le cahier de liaison (ADR 0018) :
- configuration `public.cahier_francais` : copie de `french` où les mots (avec ou sans accents)
  passent par le dictionnaire `unaccent` (extension installée par personnes 0003) avant la
  racinisation Snowball ; la même configuration sert aux notes, à la saisie et aux extraits ;
- colonne générée `recherche` (tsvector stocké : calculé une fois, à l'écriture, aussi pendant un
  COPY) sur texte, cible, données, actions et résultats ;
- extension btree_gin et index GIN (usager_id, recherche) des notes actives : toute recherche est
  bornée à un usager ou à la liste des usagers dont l'acteur lit le cahier."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models

import cahier_liaison.models

CONFIGURATION = [
    "CREATE TEXT SEARCH CONFIGURATION public.cahier_francais (COPY = pg_catalog.french);",
    "ALTER TEXT SEARCH CONFIGURATION public.cahier_francais "
    "ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, french_stem;",
]


class Migration(migrations.Migration):
    dependencies = [
        ("cahier_liaison", "0003_pieces_jointes"),
        ("personnes", "0003_recherche_professionnels"),
    ]

    operations = [
        BtreeGinExtension(),
        migrations.RunSQL(
            CONFIGURATION, reverse_sql="DROP TEXT SEARCH CONFIGURATION IF EXISTS public.cahier_francais;"
        ),
        migrations.AddField(
            model_name="note",
            name="recherche",
            field=models.GeneratedField(
                db_persist=True,
                expression=cahier_liaison.models.VecteurRecherche(
                    "texte", "cible", "donnees", "actions", "resultats"
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
                verbose_name="vecteur de recherche plein texte",
            ),
        ),
        migrations.AddIndex(
            model_name="note",
            index=django.contrib.postgres.indexes.GinIndex(
                models.F("usager"),
                models.F("recherche"),
                condition=models.Q(("active", True)),
                fastupdate=False,
                name="cahier_note_recherche_idx",
            ),
        ),
    ]
