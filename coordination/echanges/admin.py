"""Administration de la boîte d'envoi : consultation seule (statut, tentatives, dernière erreur).
Ni ajout, ni modification, ni suppression : un message naît dans la transaction du changement qui
le cause (`services.mettre_en_file`). L'action « renvoyer » d'une lettre morte viendra avec l'envoi
(lot des échanges suivant), qui seul sait remettre un message en file proprement."""

from __future__ import annotations

from django.contrib import admin

from coordination.echanges.models import MessageSortant


@admin.register(MessageSortant)
class MessageSortantAdmin(admin.ModelAdmin):
    list_display = (
        "cree_le", "destination", "destinataire", "nature", "statut", "tentatives", "prochain_essai_le",
        "erreur_courte",
    )  # fmt: skip
    list_filter = ("statut", "destination", "nature")
    search_fields = ("=cle_idempotence", "=uuid", "=objet_uuid")
    ordering = ("-cree_le", "-id")
    show_full_result_count = False
    readonly_fields = [champ.name for champ in MessageSortant._meta.fields]
    fieldsets = (
        (None, {"fields": ("uuid", "destination", "destinataire", "nature", "statut", "derniere_erreur")}),
        ("Envoi", {"fields": ("tentatives", "prochain_essai_le", "envoye_le", "identifiant_distant")}),
        (
            "Origine",
            {"fields": ("cle_idempotence", "usager", "objet_type", "objet_uuid", "precedent", "cree_par")},
        ),
        ("Contenu", {"fields": ("charge",)}),
        ("Dates", {"fields": ("cree_le", "modifie_le")}),
    )

    @admin.display(description="dernière erreur")
    def erreur_courte(self, message: MessageSortant) -> str:
        erreur = message.derniere_erreur
        return erreur if len(erreur) <= 120 else erreur[:119] + "…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
