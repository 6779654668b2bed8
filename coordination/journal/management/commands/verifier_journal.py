"""Recalcule toute la chaîne d'empreintes du journal et signale chaque rupture.

Parcourt le journal dans l'ordre des `id`, par paquets (curseur côté serveur : mémoire constante),
et pour chaque événement vérifie :
- que son `empreinte_precedente` est l'empreinte de la ligne précédente (sinon une ligne a été
  supprimée, insérée ou déplacée juste avant lui) ;
- que son empreinte se recalcule à l'identique depuis son contenu (sinon il a été modifié).

Une suppression en fin de journal ne laisse aucune rupture : conservez ailleurs (hors de cette
base) la dernière empreinte affichée, et redonnez-la avec `--ancre` à la vérification suivante.
Code de sortie non nul dès qu'une rupture ou une ancre manquante est trouvée.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coordination.journal.models import EMPREINTE_ORIGINE, Evenement


class Command(BaseCommand):
    help = "Vérifie l'intégrité de la chaîne d'empreintes du journal (modifications, suppressions)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--paquet",
            type=int,
            default=2000,
            help="Nombre d'événements lus à la fois (défaut : 2000).",
        )
        parser.add_argument(
            "--ancre",
            action="append",
            default=[],
            metavar="EMPREINTE",
            help="Empreinte relevée lors d'une vérification précédente, qui doit figurer dans la "
            "chaîne intacte (détecte la suppression des derniers événements). Répétable.",
        )

    def handle(self, *args, paquet: int, ancre: list[str], **options):
        if paquet < 1:
            raise CommandError("--paquet doit être un entier positif.")
        ancres = {valeur.strip().lower() for valeur in ancre}
        ruptures = 0
        nombre = 0
        precedente = EMPREINTE_ORIGINE
        id_precedent: int | None = None
        # Une transaction : le curseur nommé lit un instantané cohérent, sans être matérialisé.
        with transaction.atomic():
            for evenement in Evenement.objects.order_by("id").iterator(chunk_size=paquet):
                nombre += 1
                if evenement.empreinte_precedente != precedente:
                    ruptures += 1
                    avant = (
                        f"l'événement id {id_precedent}"
                        if id_precedent is not None
                        else "l'origine de la chaîne"
                    )
                    self.stdout.write(
                        f"RUPTURE (ligne supprimée, insérée ou déplacée) avant l'événement id "
                        f"{evenement.id} (uuid {evenement.uuid}) : son empreinte précédente ne "
                        f"correspond pas à celle de {avant}."
                    )
                if evenement.calculer_empreinte(evenement.empreinte_precedente) != evenement.empreinte:
                    ruptures += 1
                    self.stdout.write(
                        f"RUPTURE (contenu modifié) sur l'événement id {evenement.id} "
                        f"(uuid {evenement.uuid}) : l'empreinte enregistrée ne correspond pas à "
                        "l'empreinte recalculée depuis son contenu."
                    )
                # On enchaîne sur l'empreinte enregistrée : une modification = une seule rupture.
                if evenement.empreinte in ancres and not ruptures:
                    ancres.discard(evenement.empreinte)
                precedente = evenement.empreinte
                id_precedent = evenement.id

        for manquante in sorted(ancres):
            ruptures += 1
            self.stdout.write(
                f"ANCRE ABSENTE : l'empreinte {manquante} n'est pas dans la partie intacte de la "
                "chaîne (événements supprimés en fin de journal, ou chaîne rompue avant elle)."
            )
        if ruptures:
            raise CommandError(
                f"Journal altéré : {ruptures} rupture(s) sur {nombre} événement(s) vérifié(s)."
            )
        if nombre == 0:
            self.stdout.write(self.style.SUCCESS("Journal OK : vide, aucun événement à vérifier."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal OK : {nombre} événement(s), chaîne intacte. Dernière empreinte (à conserver "
                f"hors de cette base, pour --ancre) : {precedente}"
            )
        )
