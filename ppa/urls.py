"""Adresses des pages du projet personnalisé (incluses à la racine par coordination/urls.py).

Trois listes : l'atelier de co-construction (rédaction, avis, commentaires, accords, avenant, lecture
facile), le suivi (versions et différentiel, exports, reprise d'un projet précédent, revues) et la
fiche de liaison MDPH."""

from ppa.urls_atelier import urlpatterns as atelier
from ppa.urls_mdph import urlpatterns as mdph
from ppa.urls_suivi import urlpatterns as suivi

app_name = "ppa"

urlpatterns = [*atelier, *suivi, *mdph]
