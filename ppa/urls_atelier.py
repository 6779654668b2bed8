"""Adresses de l'atelier de co-construction du projet personnalisé (voir ppa/urls.py) : UUID
seulement (jamais d'INS, de nom ni d'identifiant séquentiel)."""

from django.urls import path

from ppa import views

P = "usagers/<uuid:usager_uuid>/ppa/"
V = "ppa/versions/<uuid:version_uuid>/"

urlpatterns = [
    path(P, views.projets, name="projets"),
    path(P + "ouvrir/", views.creer_projet, name="creer_projet"),
    path(P + "projets/<uuid:projet_uuid>/referent/", views.designer_referent, name="designer_referent"),
    path(V, views.atelier, name="atelier"),
    path(V + "facile/", views.facile, name="facile"),
    path(V + "paroles/", views.paroles, name="paroles"),
    path(V + "besoins/", views.ajouter_besoin, name="ajouter_besoin"),
    path(V + "besoins/<uuid:element_uuid>/", views.modifier_besoin, name="modifier_besoin"),
    path(V + "besoins/<uuid:element_uuid>/retirer/", views.retirer_besoin, name="retirer_besoin"),
    path(V + "objectifs/", views.ajouter_objectif, name="ajouter_objectif"),
    path(V + "objectifs/<uuid:element_uuid>/", views.modifier_objectif, name="modifier_objectif"),
    path(V + "objectifs/<uuid:element_uuid>/retirer/", views.retirer_objectif, name="retirer_objectif"),
    path(V + "objectifs/<uuid:element_uuid>/avis/", views.donner_avis, name="donner_avis"),
    path(V + "objectifs/<uuid:element_uuid>/actions/", views.ajouter_action, name="ajouter_action"),
    path(V + "actions/<uuid:element_uuid>/", views.modifier_action, name="modifier_action"),
    path(V + "actions/<uuid:element_uuid>/retirer/", views.retirer_action, name="retirer_action"),
    path(V + "commentaires/", views.commenter, name="commenter"),
    path(V + "soumettre/", views.soumettre, name="soumettre"),
    path(V + "accord/", views.accord, name="accord"),
    path(V + "avenant/", views.avenant, name="avenant"),
]
