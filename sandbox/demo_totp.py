"""Code TOTP courant d'un compte de démonstration, sans base de données.

    python -m sandbox.demo_totp coordinatrice@demo.invalid     (ou : make totp EMAIL=…)

Le secret est dérivé du courriel (coordination.personnes.demo.secret_totp_demo), le même que
celui que `manage.py demo` enregistre : le code affiché est accepté par l'écran de connexion.
Affiche le code seul sur la sortie standard (utilisable dans un script), sa durée de validité
sur la sortie d'erreur.
"""

from __future__ import annotations

import sys
import time

from coordination.personnes.demo import EMAILS_DEMO, code_totp_actuel, secondes_restantes


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print("usage : python -m sandbox.demo_totp COURRIEL   (ou make totp EMAIL=COURRIEL)", file=sys.stderr)
        print("Comptes de démonstration : " + ", ".join(EMAILS_DEMO), file=sys.stderr)
        return 2
    email = argv[0].strip().lower()
    if email not in EMAILS_DEMO:
        print(
            f"« {argv[0]} » n'est pas un compte de démonstration. Comptes : " + ", ".join(EMAILS_DEMO),
            file=sys.stderr,
        )
        return 2
    instant = time.time()
    print(code_totp_actuel(email, instant))
    print(f"(valable encore {secondes_restantes(instant)} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
