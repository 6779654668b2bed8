"""Administration des comptes de connexion (le courriel est l'identifiant, pas de nom d'utilisateur)
et des clients logiciels OAuth2 des structures."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.template.response import TemplateResponse
from django.urls import reverse

from coordination.comptes.logiciels import PORTEES_PAR_DEFAUT, emettre_client, revoquer_client
from coordination.comptes.models import ClientLogiciel, Compte, IdentiteExterne, Invitation
from coordination.fhir.portees import toutes_les_portees, verifier_portees
from coordination.personnes.admin import acteur_admin


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
        # Effacer la date de verrouillage déverrouille le compte (ADR 0014).
        ("Verrouillage", {"fields": ("echecs_connexion", "verrouille_jusqu_au")}),
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


# --- Clients logiciels (OAuth2) -------------------------------------------------------------------


class ClientLogicielForm(forms.ModelForm):
    """Émission : la structure, le nom du logiciel et les portées (cases à cocher)."""

    portees = forms.MultipleChoiceField(
        label="Portées", widget=forms.CheckboxSelectMultiple, initial=list(PORTEES_PAR_DEFAUT)
    )

    class Meta:
        model = ClientLogiciel
        fields = ("structure", "nom", "portees")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portees"].choices = list(toutes_les_portees().items())

    def clean_portees(self):
        return " ".join(verifier_portees(self.cleaned_data["portees"]))


@admin.register(ClientLogiciel)
class ClientLogicielAdmin(admin.ModelAdmin):
    """Émettre un client logiciel pour une structure (le secret n'est montré qu'une fois) ; le
    révoquer (action). Un client ne se modifie pas : on en émet un autre."""

    form = ClientLogicielForm
    list_display = ("nom", "structure", "identifiant_client", "portees", "cree_le", "revoque_le")
    list_select_related = ("structure", "application")
    list_filter = (("revoque_le", admin.EmptyFieldListFilter),)
    search_fields = ("nom", "structure__raison_sociale", "=structure__finess_eg", "=application__client_id")
    autocomplete_fields = ("structure",)
    actions = ["revoquer"]
    readonly_fields = ("identifiant_client", "emis_par", "cree_le", "revoque_le")

    @admin.display(description="identifiant client (client_id)")
    def identifiant_client(self, obj) -> str:
        return obj.application.client_id if obj.application_id else "—"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("structure", "nom", "portees")
        return ("structure", "nom", "portees", "identifiant_client", "emis_par", "cree_le", "revoque_le")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:  # consultation : tout est en lecture seule
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        client, secret = emettre_client(
            acteur=acteur_admin(request),
            structure=form.cleaned_data["structure"],
            nom=form.cleaned_data["nom"],
            portees=form.cleaned_data["portees"].split(),
        )
        obj.pk = client.pk
        obj.application = client.application
        request._secret_client_logiciel = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_secret_client_logiciel", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        contexte = {
            **self.admin_site.each_context(request),
            "title": "Client logiciel émis",
            "client": obj,
            "client_id": obj.application.client_id,
            "secret": secret,
            "adresse_jeton": request.build_absolute_uri(reverse("oauth2_provider:token")),
            "opts": self.model._meta,
        }
        reponse = TemplateResponse(request, "admin/comptes/clientlogiciel/secret.html", contexte)
        reponse["Cache-Control"] = "no-store"
        return reponse

    @admin.action(description="Révoquer les clients sélectionnés (jetons et secret invalidés)")
    def revoquer(self, request, queryset):
        acteur = acteur_admin(request)
        nombre = 0
        for client in queryset.filter(revoque_le__isnull=True):
            revoquer_client(acteur=acteur, client=client)
            nombre += 1
        self.message_user(request, f"{nombre} client(s) logiciel(s) révoqué(s).", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Consultation seule : une invitation s'émet et s'annule depuis le cercle ou « Inviter l'équipe »
    (le code n'existe qu'au moment de l'émission, ADR 0014)."""

    list_display = ("__str__", "type", "emise_par_nom", "cree_le", "expire_le", "statut")
    list_filter = ("type",)
    list_select_related = ("proche",)
    fields = readonly_fields = [
        f.name for f in Invitation._meta.fields if f.name not in {"id", "empreinte_code"}
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
