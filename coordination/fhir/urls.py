"""Adresses de l'API FHIR, sous /fhir/ (voir views.py)."""

from django.urls import path, re_path

from coordination.fhir import views

app_name = "fhir"

# Type de ressource et id logique FHIR (https://hl7.org/fhir/R4/datatypes.html#id).
TYPE = r"(?P<type_ressource>[A-Z][A-Za-z]{0,63})"
ID = r"(?P<id_logique>[A-Za-z0-9\-.]{1,64})"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("", views.systeme, name="systeme"),
    re_path(rf"^{TYPE}$", views.sur_type, name="type"),
    re_path(rf"^{TYPE}/_search$", views.recherche_post, name="recherche"),
    re_path(rf"^{TYPE}/_history$", views.historique, name="historique_type"),
    re_path(rf"^{TYPE}/{ID}$", views.instance, name="instance"),
    re_path(rf"^{TYPE}/{ID}/_history$", views.historique, name="historique_instance"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version_id>[A-Za-z0-9\-.]{{1,64}})$", views.version, name="version"),
    re_path(r"^(?P<chemin>.*)$", views.inconnue, name="inconnue"),
]
