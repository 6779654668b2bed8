"""Adresses des pages du cahier de liaison : UUID seulement (jamais d'INS, de nom ni d'identifiant
séquentiel)."""

from django.urls import path

from cahier_liaison import views, views_flux, views_pieces
from cahier_liaison.models import NatureSollicitation

app_name = "cahier_liaison"

C = "usagers/<uuid:usager_uuid>/cahier/"
N = C + "notes/<uuid:note_uuid>/"

urlpatterns = [
    path("cahier/recherche/", views.recherche, name="recherche"),
    path(C, views.fil, name="fil"),
    path(C + "ecrire/", views.ecrire, name="ecrire"),
    path(C + "lu/", views.marquer_lu, name="marquer_lu"),
    path(C + "flux/", views_flux.flux, name="flux"),
    path(N, views.note, name="note"),
    path(N + "fragment/", views.fragment, name="fragment"),
    path(N + "repondre/", views.repondre, name="repondre"),
    path(N + "modifier/", views.modifier, name="modifier"),
    path(N + "historique/", views.historique, name="historique"),
    path(N + "retirer/", views.retirer, name="retirer"),
    path(N + "accuser/", views.accuser, name="accuser"),
    path(
        N + "demander-accuse/",
        views.solliciter,
        {"nature": NatureSollicitation.ACCUSE},
        name="demander_accuse",
    ),
    path(N + "alerter/", views.solliciter, {"nature": NatureSollicitation.ALERTE}, name="alerter"),
    path(C + "pieces/<uuid:piece_uuid>/", views_pieces.piece_jointe, name="piece_jointe"),
    path(C + "pieces/<uuid:piece_uuid>/vignette/", views_pieces.vignette, name="vignette"),
    path(C + "export/", views_pieces.export, name="export"),
]
