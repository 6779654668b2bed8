"""Adresses des pages de l'agenda (incluses à la racine par coordination/urls.py)."""

from django.urls import path

from agenda import views

app_name = "agenda"
U = "usagers/<uuid:usager_uuid>/agenda/"
E = "agenda/evenements/<uuid:evenement_uuid>/"

urlpatterns = [
    path(U, views.agenda_usager, name="usager"),
    path(U + "ajouter/", views.ajouter, name="ajouter"),
    path(U + "reunion/", views.demander_reunion, name="demander_reunion"),
    path(U + "preferences/", views.preferences, name="preferences"),
    path(U + "mon-espace-sante/", views.mon_espace_sante, name="mon_espace_sante"),
    path("agenda/", views.mon_agenda, name="mon_agenda"),
    path("agenda/disponibilites/", views.disponibilites, name="disponibilites"),
    path("agenda/abonnement/", views.abonnement, name="abonnement"),
    path(U + "abonnement/", views.abonnement_usager, name="abonnement_usager"),
    path("agenda/ics/<str:jeton>.ics", views.flux_ics, name="flux_ics"),
    path(E, views.evenement, name="evenement"),
    path(E + "reponse/", views.repondre, name="repondre"),
    path(E + "annulation/", views.annuler, name="annuler"),
    path(E + "proposition/", views.contre_proposer, name="contre_proposer"),
    path(E + "proposition/<int:proposition_id>/retenir/", views.retenir, name="retenir"),
]
