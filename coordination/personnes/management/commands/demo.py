"""`python manage.py demo` : charge le territoire fictif « Val-Fictif » (idempotent) ;
`python manage.py demo --logins` : affiche les comptes de démonstration et leur code TOTP courant."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from coordination.personnes import demo


class Command(BaseCommand):
    help = (
        "Charge ou remet en état les données de démonstration (territoire fictif Val-Fictif) ; "
        "--logins affiche les comptes de démonstration."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--logins",
            action="store_true",
            help=(
                "Affiche les comptes de démonstration (courriel, mot de passe, qualités, code TOTP) "
                "sans rien charger."
            ),
        )

    def handle(self, *args, logins: bool = False, **options):
        if logins:
            self._afficher_connexions()
            return
        if settings.PRODUCTION:
            raise CommandError(
                "Données de démonstration refusées en production (DJANGO_ENV=production) : "
                "leurs mots de passe et secrets TOTP sont publics."
            )
        debut = time.monotonic()
        try:
            bilan = demo.charger_demo()
        except demo.ErreurDemo as erreur:
            raise CommandError(str(erreur)) from erreur
        duree = time.monotonic() - debut
        self.stdout.write(
            self.style.SUCCESS(
                f"Démo « {demo.DEPARTEMENT} » chargée en {duree:.1f} s : {len(demo.STRUCTURES)} structures, "
                f"{len(demo.PROFESSIONNELS)} professionnels, {len(demo.USAGERS)} usagers, "
                f"{len(demo.PROCHES)} liens de proches, {len(demo.COMPTES)} comptes "
                f"(lignes créées : {bilan.nb_crees}, modifiées : {bilan.nb_modifies}, "
                f"inchangées : {bilan.nb_inchanges})."
            )
        )
        self.stdout.write("Comptes de démonstration : python manage.py demo --logins")

    def _afficher_connexions(self) -> None:
        instant = time.time()
        connexions = demo.connexions_demo(instant)
        ecrire = self.stdout.write
        ecrire("")
        ecrire("Comptes de démonstration — données fictives, pour la démonstration uniquement")
        ecrire(f"Mot de passe commun : {demo.MOT_DE_PASSE_DEMO}")
        ecrire(
            f"Second facteur : code TOTP à 6 chiffres (codes affichés valables encore "
            f"{demo.secondes_restantes(instant)} s ; nouveau code : make totp EMAIL=<courriel>, ou le secret "
            "ci-dessous dans une application d'authentification)."
        )
        largeur = max(len(c.email) for c in connexions)
        ecrire("")
        colonne_mdp = len(demo.MOT_DE_PASSE_DEMO)
        ecrire(f"  {'Courriel':<{largeur}}  {'Mot de passe':<{colonne_mdp}}  Code actuel  Secret TOTP")
        for c in connexions:
            ecrire(f"  {c.email:<{largeur}}  {demo.MOT_DE_PASSE_DEMO}  {c.code:<11}  {c.secret}")
            ecrire(f"      {c.nom} — {c.role}")
            if not c.charge:
                ecrire("      compte absent de la base : lancez « python manage.py demo »")
                continue
            titre = "agit en tant que" if len(c.qualites) == 1 else "agit, au choix, en tant que"
            ecrire(f"      {titre} :")
            for qualite in c.qualites:
                ecrire(f"        · {qualite}")
            if c.codes_secours:
                ecrire(f"      codes de secours : {', '.join(c.codes_secours[:3])}…")
        ecrire("")
