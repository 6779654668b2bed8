from django.contrib import admin
from django.urls import include, path

from coordination.comptes import views as comptes_views

urlpatterns = [
    path("", comptes_views.accueil, name="accueil"),
    path("qualite/", comptes_views.choisir_acteur, name="choisir_acteur"),
    path("comptes/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
