from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as vues_oauth

from coordination.comptes import views as comptes_views
from coordination.comptes import views_invitations
from coordination.comptes import views_second_facteur as second_facteur

# django-oauth-toolkit : seulement le jeton et sa révocation (pas d'autorisation interactive :
# les logiciels s'authentifient en « client credentials »).
urls_oauth = (
    [
        path("token/", vues_oauth.TokenView.as_view(), name="token"),
        path("revoke_token/", vues_oauth.RevokeTokenView.as_view(), name="revoke-token"),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("", comptes_views.accueil, name="accueil"),
    path("qualite/", comptes_views.choisir_acteur, name="choisir_acteur"),
    path("sante/", comptes_views.sante, name="sante"),
    # Avant allauth : mêmes adresses et mêmes noms, voir ActivationTOTP et views_second_facteur.
    path("comptes/2fa/totp/activate/", comptes_views.activation_totp, name="mfa_activate_totp"),
    path("comptes/2fa/authenticate/", second_facteur.authentification, name="mfa_authenticate"),
    path("comptes/2fa/reauthenticate/", second_facteur.reconfirmation_code, name="mfa_reauthenticate"),
    # Les clés de sécurité se gèrent dans « Mon compte » : pas de page de liste à part.
    path("comptes/2fa/webauthn/", RedirectView.as_view(pattern_name="mfa_index"), name="mfa_list_webauthn"),
    path("comptes/2fa/webauthn/add/", second_facteur.ajout_cle, name="mfa_add_webauthn"),
    path(
        "comptes/2fa/webauthn/keys/<int:pk>/remove/", second_facteur.retrait_cle, name="mfa_remove_webauthn"
    ),
    path("comptes/2fa/webauthn/keys/<int:pk>/edit/", second_facteur.renommage_cle, name="mfa_edit_webauthn"),
    path("comptes/psc/", include("coordination.comptes.urls_psc")),
    path("comptes/fcplus/", include("coordination.comptes.urls_fcplus")),
    path("comptes/invitation/", views_invitations.saisir_invitation, name="saisir_invitation"),
    path("comptes/", include("allauth.urls")),
    path("structure/invitations/", views_invitations.personnel_invitations, name="personnel_invitations"),
    path(
        "structure/invitations/<uuid:invitation_uuid>/annuler/",
        views_invitations.personnel_invitation_annuler,
        name="personnel_invitation_annuler",
    ),
    path("notifications/", include("coordination.notifications.urls")),
    path("admin/", admin.site.urls),
    # API : FHIR R4, jetons OAuth2 des logiciels (client credentials), schéma OpenAPI.
    path("fhir/", include("coordination.fhir.urls")),
    path("o/", include(urls_oauth, namespace="oauth2_provider")),
    path("api/v1/", include("cahier_liaison.urls_api")),
    path("api/v1/", include("cercle.urls_api")),
    path("api/v1/", include("agenda.urls_api")),
    path("api/v1/", include("ppa.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/schema/swagger/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger.html"),
        name="swagger",
    ),
    path("", include("agenda.urls")),
    path("", include("cahier_liaison.urls")),
    path("", include("cercle.urls")),
    path("", include("ppa.urls")),
]
