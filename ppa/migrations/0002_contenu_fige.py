"""Invariants du PPA tenus par la base (ADR 0028), comme le journal et les versions de notes :
- le contenu d'une version (ses colonnes, ses besoins, objectifs, actions et leurs liens) ne change
  qu'en brouillon ; une version validée ne change plus, sauf pour passer « remplacée » par un
  avenant ; une version remplacée ne change plus du tout ; seule une version en brouillon s'efface ;
- un accord donné ne se modifie ni ne s'efface."""

from django.db import migrations

DECLENCHEURS = [
    """
CREATE OR REPLACE FUNCTION ppa_version_gardee() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.statut <> 'brouillon' THEN
            RAISE EXCEPTION 'projet personnalisé : une version soumise ou validée ne s''efface pas (id %)', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.statut = 'brouillon' THEN
        RETURN NEW;
    END IF;
    IF (NEW.projet_id, NEW.numero, NEW.derive_de_id, NEW.debut, NEW.fin, NEW.attentes, NEW.projet_de_vie)
        IS DISTINCT FROM
       (OLD.projet_id, OLD.numero, OLD.derive_de_id, OLD.debut, OLD.fin, OLD.attentes, OLD.projet_de_vie)
       AND NOT (OLD.statut = 'en_validation' AND NEW.statut = 'brouillon') THEN
        RAISE EXCEPTION 'projet personnalisé : le contenu d''une version soumise ou validée est figé (id %)', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Créez un avenant, nouvelle version qui en dérive.';
    END IF;
    IF OLD.statut = 'remplacee'
       OR (OLD.statut = 'validee' AND (NEW.statut <> 'remplacee'
           OR (NEW.empreinte, NEW.soumise_le, NEW.validee_le)
              IS DISTINCT FROM (OLD.empreinte, OLD.soumise_le, OLD.validee_le))) THEN
        RAISE EXCEPTION 'projet personnalisé : une version validée est immuable (id %)', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Créez un avenant, nouvelle version qui en dérive.';
    END IF;
    RETURN NEW;
END;
$$;
    """,
    """
    CREATE TRIGGER ppa_version_gardee
        BEFORE UPDATE OR DELETE ON ppa_versionppa
        FOR EACH ROW EXECUTE FUNCTION ppa_version_gardee();
    """,
    """
CREATE OR REPLACE FUNCTION ppa_contenu_fige() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    versions bigint[];
BEGIN
    -- Les versions touchées : celle de la ligne (avant et après), ou celle de l'objectif d'un lien.
    IF TG_TABLE_NAME = 'ppa_objectif_besoins' THEN
        SELECT array_agg(o.version_id) INTO versions FROM ppa_objectif o
         WHERE o.id IN ((CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.objectif_id END),
                        (CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.objectif_id END));
    ELSIF TG_OP = 'INSERT' THEN
        versions := ARRAY[NEW.version_id];
    ELSIF TG_OP = 'DELETE' THEN
        versions := ARRAY[OLD.version_id];
    ELSE
        versions := ARRAY[NEW.version_id, OLD.version_id];
    END IF;
    IF EXISTS (SELECT 1 FROM ppa_versionppa v WHERE v.id = ANY(versions) AND v.statut <> 'brouillon') THEN
        RAISE EXCEPTION 'projet personnalisé : le contenu d''une version soumise ou validée est figé (%)', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation', HINT = 'Créez un avenant, nouvelle version qui en dérive.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
    """,
    *(
        f"""
    CREATE TRIGGER {table}_fige
        BEFORE INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION ppa_contenu_fige();
        """
        for table in ("ppa_besoin", "ppa_objectif", "ppa_action", "ppa_objectif_besoins")
    ),
    """
CREATE OR REPLACE FUNCTION ppa_accord_immuable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'projet personnalisé : un accord donné ne se modifie ni ne s''efface (id %)', OLD.id USING ERRCODE = 'restrict_violation';
END;
$$;
    """,
    """
    CREATE TRIGGER ppa_accord_immuable
        BEFORE UPDATE OR DELETE ON ppa_accordppa
        FOR EACH ROW EXECUTE FUNCTION ppa_accord_immuable();
    """,
]
RETOUR = [
    "DROP TRIGGER IF EXISTS ppa_accord_immuable ON ppa_accordppa;",
    "DROP FUNCTION IF EXISTS ppa_accord_immuable();",
    *(
        f"DROP TRIGGER IF EXISTS {table}_fige ON {table};"
        for table in ("ppa_besoin", "ppa_objectif", "ppa_action", "ppa_objectif_besoins")
    ),
    "DROP FUNCTION IF EXISTS ppa_contenu_fige();",
    "DROP TRIGGER IF EXISTS ppa_version_gardee ON ppa_versionppa;",
    "DROP FUNCTION IF EXISTS ppa_version_gardee();",
]


class Migration(migrations.Migration):
    dependencies = [
        ("ppa", "0001_modele"),
    ]

    operations = [
        migrations.RunSQL(sql=DECLENCHEURS, reverse_sql=RETOUR),
    ]
