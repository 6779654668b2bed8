"""Adresses de la fiche de liaison MDPH (voir ppa/urls.py) : UUID seulement."""

from django.urls import path

from ppa import views_mdph

U = "usagers/<uuid:usager_uuid>/ppa/mdph/"
F = U + "<uuid:fiche_uuid>/"

urlpatterns = [
    path(U, views_mdph.liste, name="mdph_liste"),
    path(
        "usagers/<uuid:usager_uuid>/ppa/versions/<uuid:version_uuid>/mdph/",
        views_mdph.nouvelle,
        name="mdph_nouvelle",
    ),
    path(F, views_mdph.fiche, name="mdph_fiche"),
    path(F + "consentement/", views_mdph.consentement, name="mdph_consentement"),
    path(F + "envoyer/", views_mdph.envoyer, name="mdph_envoyer"),
    path(F + "pdf/", views_mdph.fiche_pdf, name="mdph_pdf"),
]
