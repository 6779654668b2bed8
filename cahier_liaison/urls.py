"""Adresses des pages du cahier de liaison : UUID seulement (jamais d'INS, de nom ni
d'identifiant séquentiel)."""

from django.urls import path

from cahier_liaison import views

app_name = "cahier_liaison"

C = "usagers/<uuid:usager_uuid>/cahier/"

urlpatterns = [
    path(C + "pieces/<uuid:piece_uuid>/", views.piece_jointe, name="piece_jointe"),
    path(C + "pieces/<uuid:piece_uuid>/vignette/", views.vignette, name="vignette"),
    path(C + "export/", views.export, name="export"),
]
