"""Administration du journal : consultation seule, tenue pour une table de plusieurs millions de lignes.

- aucun ajout, aucune modification, aucune suppression (la base les refuse de toute façon) ;
- la liste ne fait ni COUNT(*) complet, ni SELECT DISTINCT sur la table, ni facettes : un
  paginateur qui estime ou plafonne le nombre de lignes, des filtres aux valeurs connues ;
- la recherche prend un UUID complet et interroge les colonnes indexées (pas de LIKE) ;
- consulter un événement qui concerne un usager est lui-même journalisé.
"""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.utils.functional import cached_property

from coordination.comptes.acteur import TypeActeur
from coordination.journal.lectures import noter_lecture
from coordination.journal.models import Evenement


class PaginateurJournal(Paginator):
    """Sans filtre : l'estimation du catalogue (pg_class.reltuples), instantanée. Avec filtre :
    un comptage plafonné à PLAFOND lignes (au-delà, les pages lointaines ne sont pas proposées)."""

    PLAFOND = 10_000

    @cached_property
    def count(self) -> int:
        requete = self.object_list.query
        if not requete.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [Evenement._meta.db_table],
                )
                estimation = cursor.fetchone()[0]
            if estimation >= self.PLAFOND:
                return estimation
        return self.object_list[: self.PLAFOND].count()


class FiltreAction(admin.SimpleListFilter):
    """Les actions présentes parmi les derniers événements (pas de DISTINCT sur toute la table)."""

    title = "action"
    parameter_name = "action"
    ECHANTILLON = 5_000

    def lookups(self, request, model_admin):
        recentes = Evenement.objects.order_by("-id").values_list("action", flat=True)[: self.ECHANTILLON]
        actions = set(recentes)
        if self.value():
            actions.add(self.value())
        return [(action, action) for action in sorted(actions)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


class FiltreTypeActeur(admin.SimpleListFilter):
    title = "type d'acteur"
    parameter_name = "acteur_type"

    def lookups(self, request, model_admin):
        return [*TypeActeur.LIBELLES.items(), ("anonyme", "anonyme")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(acteur_type=self.value())
        return queryset


@admin.register(Evenement)
class EvenementAdmin(admin.ModelAdmin):
    list_display = (
        "horodatage",
        "acteur_nom",
        "acteur_qualite",
        "action",
        "objet_type",
        "usager_uuid",
        "resultat",
    )
    list_filter = (FiltreAction, FiltreTypeActeur, "resultat")
    search_fields = ("uuid", "usager_uuid", "compte_uuid", "objet_uuid")  # voir get_search_results
    search_help_text = "UUID complet d'un événement, d'un usager, d'un compte ou d'un objet."
    ordering = ("-id",)
    paginator = PaginateurJournal
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    list_per_page = 50
    fieldsets = (
        ("Quand", {"fields": ("uuid", "horodatage", "resultat")}),
        (
            "Qui",
            {
                "fields": (
                    "acteur_type",
                    "acteur_nom",
                    "acteur_qualite",
                    "au_nom_de",
                    "compte_uuid",
                    "professionnel_uuid",
                    "structure_uuid",
                    "proche_uuid",
                    "acteur_usager_uuid",
                )
            },
        ),
        ("Quoi", {"fields": ("action", "objet_type", "objet_uuid", "usager_uuid", "details")}),
        ("Chaîne d'empreintes", {"fields": ("id", "empreinte_precedente", "empreinte")}),
    )
    readonly_fields = tuple(champ.name for champ in Evenement._meta.fields)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        terme = search_term.strip()
        if not terme:
            return queryset, False
        try:
            valeur = uuid.UUID(terme)
        except ValueError:
            messages.warning(
                request,
                f"Recherche : « {terme} » n'est pas un UUID complet. Saisissez l'UUID d'un événement, "
                "d'un usager, d'un compte ou d'un objet.",
            )
            return queryset.none(), False
        correspondance = Q(uuid=valeur) | Q(usager_uuid=valeur) | Q(compte_uuid=valeur) | Q(objet_uuid=valeur)
        return queryset.filter(correspondance), False

    def get_object(self, request, object_id, from_field=None):
        evenement = super().get_object(request, object_id, from_field)
        if evenement is not None and evenement.usager_uuid is not None:
            noter_lecture(
                request, usager=evenement.usager_uuid, objet=evenement, action="journal.consultation"
            )
        return evenement
