"""Administration de la boîte d'envoi : consultation (statut, tentatives, dernière erreur), et une
seule action, « Renvoyer », pour les lettres mortes et les refus (`envoi.renvoyer` : la règle de
refus est revérifiée, le renvoi journalisé). Ni ajout, ni modification, ni suppression : un message
naît dans la transaction du changement qui le cause (`services.mettre_en_file`)."""

from __future__ import annotations

from django.contrib import admin, messages

from coordination.echanges.envoi import RenvoiImpossible, renvoyer
from coordination.echanges.models import AccuseMSSante, MessageSortant
from coordination.personnes.admin import acteur_admin


class AccusesMSSante(admin.TabularInline):
    """Les accusés de réception et de lecture (MDN) revenus pour ce message."""

    model = AccuseMSSante
    fields = ("recu_le", "destinataire", "disposition", "mode")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("recu_le",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
    actions = ["renvoyer"]
    inlines = [AccusesMSSante]
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

    @admin.action(
        description="Renvoyer les messages choisis (lettres mortes, refus)", permissions=["renvoyer"]
    )
    def renvoyer(self, request, selection) -> None:
        acteur = acteur_admin(request)
        renvoyes = 0
        for message in selection.select_related("usager"):
            try:
                renvoyer(message, acteur=acteur)
            except RenvoiImpossible as exc:
                self.message_user(request, f"{message} : {exc}", level=messages.ERROR)
            else:
                renvoyes += 1
        if renvoyes:
            self.message_user(request, f"{renvoyes} message(s) remis en file.", level=messages.SUCCESS)

    def has_renvoyer_permission(self, request) -> bool:
        return request.user.has_perm("echanges.renvoyer_messagesortant")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
