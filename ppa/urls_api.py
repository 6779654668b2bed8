"""Routes de l'API REST du projet personnalisé, sous /api/v1/ (aucune route PUT, PATCH ni DELETE :
une version ne change que par les services, et plus du tout une fois soumise)."""

from django.urls import path

from ppa import api

V = "ppa/versions/<str:uuid_version>/"

urlpatterns = [
    path("usagers/<str:uuid_usager>/ppa/", api.Projets.as_view(), name="api-ppa-projets"),
    path(V, api.UneVersion.as_view(), name="api-ppa-version"),
    path(f"{V}paroles/", api.Paroles.as_view(), name="api-ppa-paroles"),
    path(f"{V}besoins/", api.Besoins.as_view(), name="api-ppa-besoins"),
    path(f"{V}objectifs/", api.Objectifs.as_view(), name="api-ppa-objectifs"),
    path(f"{V}objectifs/<str:uuid_objectif>/avis/", api.Avis.as_view(), name="api-ppa-avis"),
    path(f"{V}actions/", api.Actions.as_view(), name="api-ppa-actions"),
    path(f"{V}commentaires/", api.Commentaires.as_view(), name="api-ppa-commentaires"),
    path(f"{V}soumission/", api.Soumission.as_view(), name="api-ppa-soumission"),
    path(f"{V}accords/", api.Accords.as_view(), name="api-ppa-accords"),
    path(f"{V}avenant/", api.Avenant.as_view(), name="api-ppa-avenant"),
    path(f"{V}import-tddui/", api.ImportTDDUI.as_view(), name="api-ppa-import-tddui"),
    path(f"{V}differentiel/<str:uuid_autre>/", api.Differentiel.as_view(), name="api-ppa-differentiel"),
]
