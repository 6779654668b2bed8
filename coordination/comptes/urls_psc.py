"""Adresses de la connexion Pro Santé Connect (sous /comptes/psc/, libres avant connexion)."""

from django.urls import path

from coordination.comptes import psc

urlpatterns = [
    path("connexion/", psc.connexion, name="psc_connexion"),
    path("retour/", psc.retour, name="psc_retour"),
    path("deconnexion/", psc.deconnexion, name="psc_deconnexion"),
]
