"""Routes de l'API REST du cercle, sous /api/v1/."""

from django.urls import path

from cercle import api

urlpatterns = [
    path("usagers/", api.MesUsagers.as_view(), name="api-mes-usagers"),
    path("usagers/<str:uuid_usager>/cercle/", api.CercleUsager.as_view(), name="api-cercle"),
    path("usagers/<str:uuid_usager>/cercle/membres/", api.MembresUsager.as_view(), name="api-membres"),
    path(
        "usagers/<str:uuid_usager>/cercle/delegations/",
        api.DelegationsUsager.as_view(),
        name="api-delegations",
    ),
    path(
        "usagers/<str:uuid_usager>/cercle/historique/", api.HistoriqueUsager.as_view(), name="api-historique"
    ),
    path("usagers/<str:uuid_usager>/pourquoi/", api.Pourquoi.as_view(), name="api-pourquoi"),
    path("cercle/membres/<str:uuid_membre>/droits/", api.DroitsMembre.as_view(), name="api-droits"),
    path(
        "cercle/membres/<str:uuid_membre>/<str:action>/", api.ActionMembre.as_view(), name="api-membre-action"
    ),
    path("cercle/droits/<str:uuid_droit>/retrait/", api.RetraitDroit.as_view(), name="api-droit-retrait"),
    path(
        "cercle/delegations/<str:uuid_delegation>/<str:action>/",
        api.ActionDelegation.as_view(),
        name="api-delegation-action",
    ),  # fmt: skip
    path("cercle/demandes/", api.Demandes.as_view(), name="api-demandes"),
    path(
        "cercle/demandes/<str:uuid_demande>/decision/",
        api.DecisionDemande.as_view(),
        name="api-demande-decision",
    ),
    path("annuaire/professionnels/", api.Annuaire.as_view(), name="api-annuaire"),
]
