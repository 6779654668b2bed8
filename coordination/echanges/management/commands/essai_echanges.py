"""`manage.py essai_echanges DESTINATION DESTINATAIRE [--nombre N]` : met en file N messages d'essai
(sans donnée de personne) vers une BAL MSSanté, une adresse de courriel… ; le worker les envoie.
Sert à vérifier une mise en service, et au banc des échanges."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges.essai import envoyer_un_essai
from coordination.echanges.models import Destination


class Command(BaseCommand):
    help = "Met en file des messages d'essai (sans donnée de personne) vers un destinataire."

    def add_arguments(self, parser):
        parser.add_argument(
            "destination", choices=[Destination.MSSANTE, Destination.COURRIEL, Destination.SMS]
        )
        parser.add_argument("destinataire")
        parser.add_argument("--nombre", type=int, default=1)

    def handle(self, *args, destination, destinataire, nombre, **options):
        if nombre < 1:
            raise CommandError("--nombre : au moins 1.")
        acteur = acteur_systeme("commande essai_echanges")
        serie = uuid.uuid4().hex[:8]
        for rang in range(nombre):
            message = envoyer_un_essai(
                acteur=acteur,
                destination=destination,
                destinataire=destinataire,
                numero=f"{serie}-{rang + 1}",
            )
            if message.statut == "refuse":
                raise CommandError(message.derniere_erreur)
        self.stdout.write(f"{nombre} message(s) d'essai en file vers {destinataire} (série {serie}).")
