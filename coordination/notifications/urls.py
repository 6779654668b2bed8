"""Pages des notifications : la liste dans le portail et les préférences de chacun."""

from django.urls import path  # noqa: F401

app_name = "notifications"

urlpatterns: list = []
