"""Adresses du suivi du projet personnalisé : versions, différentiel, exports, reprise, revues."""

urlpatterns: list = []
