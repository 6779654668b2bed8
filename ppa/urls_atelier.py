"""Adresses de l'atelier de co-construction du projet personnalisé (voir ppa/urls.py)."""

urlpatterns: list = []
