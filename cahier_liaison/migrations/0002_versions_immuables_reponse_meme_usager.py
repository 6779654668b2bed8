"""Invariants du cahier tenus par la base, au-delà des contraintes du modèle :
- une version antérieure de note est immuable (UPDATE et DELETE refusés par déclencheur, comme
  le journal et les consentements) ;
- une réponse concerne le même usager que la note à laquelle elle répond (clé étrangère composée
  (reponse_a_id, usager_id) → (id, usager_id))."""

from django.db import migrations

DECLENCHEURS = [
    """
CREATE OR REPLACE FUNCTION cahier_version_note_immuable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'version de note immuable : la % d''une version antérieure est interdite (id %)',
        CASE TG_OP WHEN 'UPDATE' THEN 'modification' ELSE 'suppression' END, OLD.id
        USING ERRCODE = 'restrict_violation',
              HINT = 'Une version antérieure ne se corrige pas : modifiez la note, ce qui en garde une nouvelle.';
END;
$$;
    """,
    """
    CREATE TRIGGER cahier_version_note_sans_modification
        BEFORE UPDATE OR DELETE ON cahier_liaison_versionnote
        FOR EACH ROW EXECUTE FUNCTION cahier_version_note_immuable();
    """,
    """
    ALTER TABLE cahier_liaison_note
        ADD CONSTRAINT cahier_note_reponse_meme_usager
        FOREIGN KEY (reponse_a_id, usager_id) REFERENCES cahier_liaison_note (id, usager_id)
        DEFERRABLE INITIALLY DEFERRED;
    """,
]
RETOUR = [
    "ALTER TABLE cahier_liaison_note DROP CONSTRAINT IF EXISTS cahier_note_reponse_meme_usager;",
    "DROP TRIGGER IF EXISTS cahier_version_note_sans_modification ON cahier_liaison_versionnote;",
    "DROP FUNCTION IF EXISTS cahier_version_note_immuable();",
]


class Migration(migrations.Migration):
    dependencies = [
        ("cahier_liaison", "0001_noyau"),
    ]

    operations = [
        migrations.RunSQL(sql=DECLENCHEURS, reverse_sql=RETOUR),
    ]
