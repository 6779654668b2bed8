"""Administration technique du cercle : consultation seulement.

Membres, droits, délégations et consentements ne changent que par les services (consentement de
l'usager, journal) : l'administration les montre, ne les modifie pas. Seuls les droits par défaut
d'une structure (réglage) s'y éditent, journalisés. Listes à nombre de requêtes constant."""

from __future__ import annotations

from django.contrib import admin

from cercle.models import (
    Cercle,
    Consentement,
    Delegation,
    DemandeAdhesion,
    DroitParDefaut,
    Habilitation,
    Membre,
)
from coordination.personnes.admin import AdminJournalise


class SansModification:
    """Ni ajout, ni modification, ni suppression depuis l'administration."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LectureSeule(SansModification, admin.ModelAdmin):
    pass


class MembreEnLigne(SansModification, admin.TabularInline):
    model = Membre
    fields = ("type", "role", "statut", "date_entree", "date_sortie", "motif_sortie", "origine")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Cercle)
class CercleAdmin(LectureSeule):
    list_display = ("usager", "statut", "date_debut", "date_fin", "version")
    list_filter = ("statut",)
    list_select_related = ("usager",)
    search_fields = ("usager__nom_naissance", "usager__uuid")
    inlines = [MembreEnLigne]


@admin.register(Membre)
class MembreAdmin(LectureSeule):
    list_display = ("__str__", "cercle", "type", "statut", "date_entree", "date_sortie", "origine")
    list_filter = ("type", "statut", "origine", "role")
    list_select_related = ("cercle__usager", "professionnel", "structure", "proche")
    search_fields = ("professionnel__nom_exercice", "structure__raison_sociale", "proche__nom", "nom", "uuid")
    raw_id_fields = ("cercle", "professionnel", "exercice", "structure", "proche")


@admin.register(Habilitation)
class HabilitationAdmin(LectureSeule):
    list_display = ("membre", "domaine", "niveau", "origine", "date_debut", "date_fin", "revoquee_le")
    list_filter = ("domaine", "niveau", "origine")
    list_select_related = ("membre__professionnel", "membre__structure", "membre__proche")
    raw_id_fields = ("membre", "consentement", "revocation")


@admin.register(Delegation)
class DelegationAdmin(LectureSeule):
    list_display = ("delegant", "delegataire", "domaine", "niveau", "date_fin", "statut")
    list_filter = ("statut", "domaine")
    list_select_related = (
        "delegant__professionnel",
        "delegant__structure",
        "delegant__proche",
        "delegataire__professionnel",
    )
    raw_id_fields = ("delegant", "delegataire", "consentement")


@admin.register(Consentement)
class ConsentementAdmin(LectureSeule):
    list_display = ("horodatage", "usager", "objet", "qualite", "consentant_nom", "texte_version")
    list_filter = ("objet", "qualite")
    list_select_related = ("usager",)
    search_fields = ("usager__nom_naissance", "consentant_nom", "uuid")
    raw_id_fields = ("usager",)


@admin.register(DemandeAdhesion)
class DemandeAdhesionAdmin(LectureSeule):
    list_display = ("exercice", "designation", "role", "statut", "cree_le", "expire_le")
    list_filter = ("statut",)
    list_select_related = ("exercice__professionnel",)
    raw_id_fields = ("exercice", "cercle", "membre")


@admin.register(DroitParDefaut)
class DroitParDefautAdmin(AdminJournalise):
    list_display = ("structure", "role", "domaine", "niveau")
    list_filter = ("role", "domaine")
    list_select_related = ("structure",)
    raw_id_fields = ("structure",)
