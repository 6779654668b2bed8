"""Routes de l'API REST du cahier de liaison, sous /api/v1/."""

from django.urls import path

from cahier_liaison import api

N = "usagers/<str:uuid_usager>/cahier/notes/<str:uuid_note>/"

urlpatterns = [
    path("usagers/<str:uuid_usager>/cahier/notes/", api.Notes.as_view(), name="api-cahier-notes"),
    path(N, api.UneNote.as_view(), name="api-cahier-note"),
    path(f"{N}desactivation/", api.Desactivation.as_view(), name="api-cahier-desactivation"),
    path(f"{N}demande-accuse/", api.DemandeAccuse.as_view(), name="api-cahier-demande-accuse"),
    path(f"{N}accuse/", api.Accuse.as_view(), name="api-cahier-accuse"),
    path(f"{N}alerte/", api.Alerte.as_view(), name="api-cahier-alerte"),
    path("usagers/<str:uuid_usager>/cahier/non-lus/", api.NonLus.as_view(), name="api-cahier-non-lus"),
    path("usagers/<str:uuid_usager>/cahier/lecture/", api.Lecture.as_view(), name="api-cahier-lecture"),
]
