"""Adresses des pages du cercle : UUID seulement (jamais d'INS, de nom ni d'identifiant séquentiel)."""

from django.urls import path

from cercle import views, views_invitations

app_name = "cercle"

U = "usagers/<uuid:usager_uuid>/cercle/"

urlpatterns = [
    path("usagers/", views.mes_usagers, name="mes_usagers"),
    path("mon-cercle/", views.mon_cercle, name="mon_cercle"),
    path(U, views.cercle, name="cercle"),
    path(U + "ajouter/", views.ajouter, name="ajouter"),
    path(U + "membres/<uuid:membre_uuid>/pourquoi/", views.pourquoi, name="pourquoi"),
    path(U + "membres/<uuid:membre_uuid>/retirer/", views.membre_retirer, name="membre_retirer"),
    path(U + "membres/<uuid:membre_uuid>/suspendre/", views.membre_suspendre, name="membre_suspendre"),
    path(U + "membres/<uuid:membre_uuid>/proposition/", views.proposition, name="proposition"),
    path(U + "membres/<uuid:membre_uuid>/droits/", views.droit_accorder, name="droit_accorder"),
    path(U + "droits/<uuid:droit_uuid>/retirer/", views.droit_retirer, name="droit_retirer"),
    path(U + "demandes/<uuid:demande_uuid>/", views.demande_decider, name="demande_decider"),
    path(U + "delegations/<uuid:delegation_uuid>/", views.delegation_consentir, name="delegation_consentir"),
    path(U + "consentements/<uuid:consentement_uuid>/", views.consentement, name="consentement"),
    path(
        U + "consentements/<uuid:consentement_uuid>/preuve.pdf",
        views.consentement_pdf,
        name="consentement_pdf",
    ),
    path(U + "acces/", views.acces, name="acces"),
    path(U + "invitations/", views_invitations.invitations_proches, name="invitations"),
    path(
        U + "invitations/<uuid:invitation_uuid>/annuler/",
        views_invitations.invitation_annuler,
        name="invitation_annuler",
    ),
    path(U + "quitter/", views.quitter, name="quitter"),
    path(U + "historique/", views.historique, name="historique"),
    path(
        U + "delegations/<uuid:delegation_uuid>/terminer/",
        views.delegation_terminer,
        name="delegation_terminer",
    ),
    path("delegations/", views.mes_delegations, name="mes_delegations"),
    path("demandes/", views.mes_demandes, name="mes_demandes"),
    path("demandes/nouvelle/", views.demande_nouvelle, name="demande_nouvelle"),
    path("demandes/<uuid:demande_uuid>/retirer/", views.demande_retirer, name="demande_retirer"),
]
