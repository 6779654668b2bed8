"""Administration des comptes de connexion : le courriel est l'identifiant (pas de nom d'utilisateur)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from coordination.comptes.models import Compte, IdentiteExterne


class CompteCreationForm(AdminUserCreationForm):
    class Meta:
        model = Compte
        fields = ("email", "nom_affiche")
        labels = {"email": "Courriel", "nom_affiche": "Nom affiché"}


class CompteChangeForm(UserChangeForm):
    class Meta:
        model = Compte
        fields = "__all__"


class IdentiteExterneInline(admin.TabularInline):
    model = IdentiteExterne
    extra = 0
    fields = ("fournisseur", "sub", "cree_le", "derniere_connexion")
    readonly_fields = ("cree_le", "derniere_connexion")


@admin.register(Compte)
class CompteAdmin(UserAdmin):
    form = CompteChangeForm
    add_form = CompteCreationForm
    list_display = (
        "email",
        "nom_affiche",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "nom_affiche")
    ordering = ("email",)
    readonly_fields = ("uuid", "last_login", "date_joined")
    filter_horizontal = ("groups", "user_permissions")
    inlines = [IdentiteExterneInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("nom_affiche", "uuid")}),
        ("Droits", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    def get_inlines(self, request, obj):
        # À la création, un compte n'a pas encore d'identité externe : elles viennent de la connexion.
        return self.inlines if obj is not None else []

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "nom_affiche", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(IdentiteExterne)
class IdentiteExterneAdmin(admin.ModelAdmin):
    list_display = ("sub", "fournisseur", "compte", "cree_le", "derniere_connexion")
    list_select_related = ("compte",)
    list_filter = ("fournisseur",)
    search_fields = ("=sub", "compte__email")
    raw_id_fields = ("compte",)
    readonly_fields = ("cree_le", "derniere_connexion")
