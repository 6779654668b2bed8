"""Adresses de la connexion FranceConnect+ (sous /comptes/fcplus/, libres avant connexion)."""

from django.urls import path

from coordination.comptes import fcplus

urlpatterns = [
    path("jwks.json", fcplus.jwks, name="fcplus_jwks"),
    path("connexion/", fcplus.connexion, name="fcplus_connexion"),
    path("retour/", fcplus.retour, name="fcplus_retour"),
    path("invitation/", fcplus.invitation, name="fcplus_invitation"),
    path("deconnexion/", fcplus.deconnexion, name="fcplus_deconnexion"),
]
