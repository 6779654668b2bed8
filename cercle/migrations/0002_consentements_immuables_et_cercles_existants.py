"""Consentements immuables en base (comme le journal : UPDATE et DELETE refusés par déclencheur),
et un cercle pour chaque usager déjà enregistré (le cercle naît avec l'usager)."""

from django.db import migrations

DECLENCHEURS = [
    """
CREATE OR REPLACE FUNCTION cercle_consentement_immuable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consentement immuable : la % d''un consentement est interdite (id %)', lower(TG_OP), OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
    """,
    """
    CREATE TRIGGER cercle_consentement_sans_modification
        BEFORE UPDATE OR DELETE ON cercle_consentement
        FOR EACH ROW EXECUTE FUNCTION cercle_consentement_immuable();
    """,
]
RETOUR = [
    "DROP TRIGGER IF EXISTS cercle_consentement_sans_modification ON cercle_consentement;",
    "DROP FUNCTION IF EXISTS cercle_consentement_immuable();",
]

CERCLES_EXISTANTS = """
INSERT INTO cercle_cercle (uuid, cree_le, modifie_le, usager_id, statut, date_debut, version)
SELECT gen_random_uuid(), now(), now(), u.id, 'active', COALESCE(u.cree_le::date, CURRENT_DATE), 1
FROM personnes_usager u
WHERE NOT EXISTS (SELECT 1 FROM cercle_cercle c WHERE c.usager_id = u.id);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cercle", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(sql=DECLENCHEURS, reverse_sql=RETOUR),
        migrations.RunSQL(sql=CERCLES_EXISTANTS, reverse_sql=migrations.RunSQL.noop),
    ]
