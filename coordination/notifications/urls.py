"""Pages des notifications : la liste dans le portail et les préférences de chacun."""

from django.urls import path

from coordination.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.liste, name="liste"),
    path("tout-lu/", views.tout_lire, name="tout_lire"),
    path("preferences/", views.preferences, name="preferences"),
    path("<uuid:notification_uuid>/lue/", views.marquer_lue, name="marquer_lue"),
    path("<uuid:notification_uuid>/ouvrir/", views.ouvrir, name="ouvrir"),
]
