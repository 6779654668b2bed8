"""Adresses du suivi du projet personnalisé : versions, différentiel, exports, reprise, revues.
UUID seulement (jamais d'INS, de nom ni d'identifiant séquentiel)."""

from django.urls import path

from ppa import views_suivi

P = "usagers/<uuid:usager_uuid>/ppa/projets/<uuid:projet_uuid>/"
V = "usagers/<uuid:usager_uuid>/ppa/versions/<uuid:version_uuid>/"

urlpatterns: list = [
    path(P + "versions/", views_suivi.versions, name="versions"),
    path(P + "comparer/", views_suivi.comparer, name="comparer"),
    path(P + "documents/joindre/", views_suivi.document_ajouter, name="document_ajouter"),
    path(P + "documents/<uuid:document_uuid>/", views_suivi.document, name="document"),
    path(V + "export/facile-a-lire/", views_suivi.export, {"forme": "facile"}, name="export_facile"),
    path(V + "export/complet/", views_suivi.export, {"forme": "complet"}, name="export_complet"),
    path(V + "export/tddui/", views_suivi.export, {"forme": "tddui"}, name="export_tddui"),
    path(V + "reprise/", views_suivi.reprise_tddui, name="reprise_tddui"),
    path("structure/ppa/revues/", views_suivi.revues, name="revues"),
]
