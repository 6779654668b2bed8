"""Le journal en ajout seul, garanti par la base : tout UPDATE ou DELETE d'une ligne est refusé.

Le TRUNCATE n'est volontairement pas bloqué (les tests vident les tables ainsi). En production,
le rôle de l'application ne doit pas être propriétaire de la table et n'a pas le droit TRUNCATE
(voir docs/decisions, journal en ajout seul) : seul le propriétaire peut désactiver ces déclencheurs.
"""

from django.db import migrations

FONCTION = """
CREATE OR REPLACE FUNCTION journal_evenement_ajout_seul() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal en ajout seul : la % d''un événement est interdite (table %, id %)',
        CASE TG_OP WHEN 'UPDATE' THEN 'modification' ELSE 'suppression' END,
        TG_TABLE_NAME, OLD.id
        USING HINT = 'Un événement du journal ne se corrige pas : ajoutez un nouvel événement.';
END;
$$;
"""

DECLENCHEURS = [
    FONCTION,
    """
    CREATE TRIGGER journal_evenement_sans_modification
        BEFORE UPDATE ON journal_evenement
        FOR EACH ROW EXECUTE FUNCTION journal_evenement_ajout_seul();
    """,
    """
    CREATE TRIGGER journal_evenement_sans_suppression
        BEFORE DELETE ON journal_evenement
        FOR EACH ROW EXECUTE FUNCTION journal_evenement_ajout_seul();
    """,
]

RETOUR = [
    "DROP TRIGGER IF EXISTS journal_evenement_sans_suppression ON journal_evenement;",
    "DROP TRIGGER IF EXISTS journal_evenement_sans_modification ON journal_evenement;",
    "DROP FUNCTION IF EXISTS journal_evenement_ajout_seul();",
]


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(sql=DECLENCHEURS, reverse_sql=RETOUR),
    ]
