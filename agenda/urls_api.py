"""Routes de l'API REST de l'agenda, sous /api/v1/."""

from django.urls import path

from agenda import api

U = "usagers/<str:uuid_usager>/agenda/"
E = "agenda/evenements/<str:uuid_evenement>/"
R = "agenda/reunions/<str:uuid_demande>/"

urlpatterns = [
    path(U, api.AgendaUsager.as_view(), name="api-agenda-usager"),
    path(f"{U}creneaux/", api.Creneaux.as_view(), name="api-agenda-creneaux"),
    path(f"{U}reunions/", api.Reunions.as_view(), name="api-agenda-reunions"),
    path("agenda/", api.MonAgenda.as_view(), name="api-agenda-professionnel"),
    path(E, api.UnEvenement.as_view(), name="api-agenda-evenement"),
    path(f"{E}reponse/", api.ReponseEvenement.as_view(), name="api-agenda-evenement-reponse"),
    path(f"{R}reponse/", api.ReponseReunion.as_view(), name="api-agenda-reunion-reponse"),
    path(f"{R}contre-proposition/", api.ContreProposition.as_view(), name="api-agenda-contre-proposition"),
]
