"""`python manage.py import_annuaire FICHIER` : importe l'extraction PS_LibreAcces_Personne_activite."""

from __future__ import annotations

import codecs

from django.core.management.base import BaseCommand, CommandError

from coordination.personnes.annuaire import TAILLE_LOT_DEFAUT, ErreurImport, importer_annuaire


class Command(BaseCommand):
    help = (
        "Importe (ou réimporte) l'extraction publique de l'Annuaire Santé PS_LibreAcces_Personne_activite "
        "dans les professionnels, structures et situations d'exercice. Lecture en flux, par lots ; "
        "sur des tables vides, chargement initial en une transaction (index recréés à la fin)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("fichier", help="Chemin du fichier PS_LibreAcces_Personne_activite_*.txt")
        parser.add_argument(
            "--encodage", default="utf-8", help="Encodage du fichier (défaut : utf-8 ; ex. latin-1)."
        )
        parser.add_argument(
            "--taille-lot",
            type=int,
            default=TAILLE_LOT_DEFAUT,
            help=f"Nombre de lignes par lot, chaque lot dans sa transaction (défaut : {TAILLE_LOT_DEFAUT}).",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--chargement-initial",
            action="store_true",
            help="Exige le chargement initial (tables vides, une seule transaction, index recréés à la "
            "fin) ; refusé si les tables ne sont pas vides. Par défaut, choisi dès qu'elles sont vides.",
        )
        mode.add_argument(
            "--incremental",
            action="store_true",
            help="Import incrémental lot par lot, même si les tables sont vides.",
        )
        parser.add_argument(
            "--details-max",
            type=int,
            default=200,
            help="Nombre maximal de lignes rejetées et d'avertissements affichés un à un (défaut : 200).",
        )

    def handle(self, *args, **options) -> None:
        encodage = options["encodage"]
        try:
            codecs.lookup(encodage)
        except LookupError as exc:
            raise CommandError(f"Encodage : « {encodage} » est inconnu (ex. utf-8, latin-1).") from exc
        if options["taille_lot"] < 1:
            raise CommandError("Taille de lot : elle doit être d'au moins 1 ligne.")
        details_max = max(options["details_max"], 0)
        chargement_initial = None  # choisi selon que les tables sont vides ou non
        if options["chargement_initial"]:
            chargement_initial = True
        elif options["incremental"]:
            chargement_initial = False
        affiches = 0

        def signaler(message: str) -> None:
            nonlocal affiches
            affiches += 1
            if affiches <= details_max:
                self.stderr.write(message)

        try:
            rapport = importer_annuaire(
                options["fichier"],
                encodage=encodage,
                taille_lot=options["taille_lot"],
                signaler=signaler,
                chargement_initial=chargement_initial,
            )
        except ErreurImport as exc:
            raise CommandError(str(exc)) from exc
        if affiches > details_max:
            self.stderr.write(
                f"… {affiches - details_max} autre(s) ligne(s) rejetée(s) ou avertissement(s) non affichés "
                "(voir les compteurs ci-dessous)."
            )
        self.stdout.write(rapport.resume())
