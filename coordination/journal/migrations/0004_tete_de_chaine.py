"""Prise du verrou de chaîne et lecture de la dernière empreinte en un seul aller-retour.

La fonction est VOLATILE : sa requête interne prend un instantané neuf après l'obtention du
verrou (READ COMMITTED), elle voit donc le dernier événement validé par le détenteur précédent.
"""

from django.db import migrations

FONCTION = """
CREATE OR REPLACE FUNCTION journal_tete_verrouillee(cle bigint) RETURNS varchar
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    tete varchar;
BEGIN
    PERFORM pg_advisory_xact_lock(cle);
    SELECT empreinte INTO tete FROM journal_evenement ORDER BY id DESC LIMIT 1;
    RETURN coalesce(tete, repeat('0', 64));
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0003_chaine_sans_bifurcation"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[FONCTION],
            reverse_sql=["DROP FUNCTION IF EXISTS journal_tete_verrouillee(bigint);"],
        ),
    ]
