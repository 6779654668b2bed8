"""Clés de chiffrement du portail pour FranceConnect+ (rotation, ADR 0015).

    manage.py fcplus_cles                      # liste les clés configurées (kid, publiées)
    manage.py fcplus_cles --generer            # affiche une nouvelle clé privée (JWK) à ranger
    manage.py fcplus_cles --generer --fichier F --ajouter   # l'ajoute en fin de liste (publiée, pas courante)
    manage.py fcplus_cles --fichier F --courante KID        # la passe en tête (clé courante)
    manage.py fcplus_cles --fichier F --retirer KID         # retire une ancienne clé

La clé privée n'est affichée que par --generer sans --fichier : à ranger aussitôt dans le
gestionnaire de secrets (variable FCPLUS_CLES_CHIFFREMENT)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coordination.comptes import cles_fcplus


class Command(BaseCommand):
    help = "Clés de chiffrement FranceConnect+ du portail : lister, générer, faire tourner."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--generer", action="store_true", help="Générer une nouvelle clé RSA 2048.")
        parser.add_argument("--fichier", help="Fichier JWKS privé à modifier (sinon : affichage seul).")
        parser.add_argument("--ajouter", action="store_true", help="Ajouter la clé générée au fichier.")
        parser.add_argument("--courante", metavar="KID", help="Mettre cette clé en tête (clé courante).")
        parser.add_argument("--retirer", metavar="KID", help="Retirer cette clé du fichier.")

    def handle(self, *args, **options) -> None:
        fichier = Path(options["fichier"]) if options["fichier"] else None
        if options["generer"]:
            cle = cles_fcplus.nouvelle_cle(kid=f"portail-{timezone.now():%Y%m%d}-{secrets.token_hex(4)}")
            if fichier is None or not options["ajouter"]:
                self.stdout.write(json.dumps(cle.as_dict(private=True)))
                return
            cles = self._lire(fichier) + [cle.as_dict(private=True)]
            self._ecrire(fichier, cles)
            self.stdout.write(f"Clé {cle.kid} ajoutée en fin de liste : publiée, pas encore courante.")
            return
        if options["courante"] or options["retirer"]:
            if fichier is None:
                raise CommandError("--courante et --retirer demandent --fichier.")
            cles = self._lire(fichier)
            kid = options["courante"] or options["retirer"]
            trouvee = [c for c in cles if c.get("kid") == kid]
            if not trouvee:
                raise CommandError(f"Aucune clé {kid} dans {fichier}.")
            autres = [c for c in cles if c.get("kid") != kid]
            if options["retirer"] and not autres:
                raise CommandError("Impossible de retirer la dernière clé.")
            self._ecrire(fichier, trouvee + autres if options["courante"] else autres)
            self.stdout.write(f"Clé {kid} {'désormais courante' if options['courante'] else 'retirée'}.")
            return
        for rang, cle in enumerate(cles_fcplus.cles()):
            self.stdout.write(f"{cle.kid}{'  (courante)' if rang == 0 else ''}")

    @staticmethod
    def _lire(fichier: Path) -> list[dict]:
        if not fichier.exists():
            return []
        return [c.as_dict(private=True) for c in cles_fcplus.lire(fichier.read_text())]

    @staticmethod
    def _ecrire(fichier: Path, cles: list[dict]) -> None:
        fichier.write_text(json.dumps({"keys": cles}, indent=2))
        fichier.chmod(0o600)
