from django.contrib import admin
from django.urls import include, path

from coordination.comptes import views as comptes_views

urlpatterns = [
    path("", comptes_views.accueil, name="accueil"),
    path("qualite/", comptes_views.choisir_acteur, name="choisir_acteur"),
    path("sante/", comptes_views.sante, name="sante"),
    # Avant allauth : même adresse et même nom, voir ActivationTOTP.
    path("comptes/2fa/totp/activate/", comptes_views.activation_totp, name="mfa_activate_totp"),
    path("comptes/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("cercle.urls")),
]
