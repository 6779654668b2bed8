"""Efface les fichiers de pièces jointes qu'aucune ligne ne désigne (transaction englobante
annulée après leur écriture ; voir docs/decisions/0019-pieces-jointes-et-exports.md). Seuls les
fichiers plus vieux que `--heures` sont touchés, pour ne pas effacer ceux d'une écriture en cours."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand

from cahier_liaison.pieces_jointes import effacer_orphelins


class Command(BaseCommand):
    help = "Efface les fichiers de pièces jointes du cahier qu'aucune pièce ne désigne."

    def add_arguments(self, parser):
        parser.add_argument(
            "--heures", type=float, default=1.0, help="Âge minimal d'un fichier effacé (défaut : 1 heure)."
        )

    def handle(self, *args, heures: float, **options):
        effaces = effacer_orphelins(plus_vieux_que=dt.timedelta(hours=heures))
        self.stdout.write(f"{len(effaces)} fichier(s) sans pièce jointe effacé(s).")
