from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Index de la page du fil (ADR 0018), construit sans bloquer les écritures : la table des
    notes compte des millions de lignes."""

    atomic = False

    dependencies = [
        ("cahier_liaison", "0004_recherche_plein_texte"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="note",
            index=models.Index(
                models.F("usager"),
                models.OrderBy(models.F("ecrite_le"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("reponse_a__isnull", True)),
                name="cahier_note_fil_origines_idx",
            ),
        ),
    ]
