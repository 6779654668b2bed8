#!/usr/bin/env python
"""Point d'entrée des commandes d'administration Django."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        print(f"Configuration incorrecte : {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
