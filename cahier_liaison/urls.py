"""Adresses des pages du cahier de liaison : UUID seulement (jamais d'INS, de nom ni d'identifiant
séquentiel). Le fil (`fil`) et le fil d'une note (`note`) sous `C` ; la recherche dans tous mes
cahiers hors d'un usager."""

from django.urls import path

from cahier_liaison import views

app_name = "cahier_liaison"

C = "usagers/<uuid:usager_uuid>/cahier/"

urlpatterns = [
    path("cahier/recherche/", views.recherche, name="recherche"),
]
