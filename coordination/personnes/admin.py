"""Administration technique des personnes et structures.

Toute écriture faite ici est journalisée au nom du compte administrateur ; celles sur les usagers
passent par les services (règles INS, recherche des doublons). Les listes chargent leurs clés
étrangères en une requête (`list_select_related`) : leur nombre de requêtes ne dépend pas du
nombre de lignes (tests/test_personnes.py).
"""

from __future__ import annotations

from django.contrib import admin

from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.services import journaliser, journaliser_plusieurs, preparer_evenement
from coordination.personnes.forms import UsagerForm
from coordination.personnes.models import Exercice, Proche, Professionnel, Structure, Usager
from coordination.personnes.services import creer_usager, modifier_identite_usager


def acteur_admin(request) -> Acteur:
    """La personne en tant que laquelle l'administrateur agit, ou son seul compte."""
    return getattr(request, "acteur", None) or Acteur(TypeActeur.SANS_PERSONNE, compte=request.user)


def _usager_de(obj):
    if isinstance(obj, Usager):
        return obj
    if isinstance(obj, Proche):
        return obj.usager_id and obj.usager
    return None


class AdminJournalise(admin.ModelAdmin):
    """Journalise créations, modifications et suppressions faites dans l'administration."""

    def _action(self, obj, verbe: str) -> str:
        return f"{obj._meta.model_name}.admin.{verbe}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        journaliser(
            acteur=acteur_admin(request),
            action=self._action(obj, "modification" if change else "creation"),
            objet=obj,
            usager=_usager_de(obj),
            details={"champs": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        journaliser(
            acteur=acteur_admin(request),
            action=self._action(obj, "suppression"),
            objet=obj,
            usager=_usager_de(obj),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        acteur = acteur_admin(request)
        journaliser_plusieurs(
            [
                preparer_evenement(
                    acteur=acteur, action=self._action(obj, "suppression"), objet=obj, usager=_usager_de(obj)
                )
                for obj in queryset
            ]
        )
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        acteur = acteur_admin(request)
        evenements = [
            preparer_evenement(
                acteur=acteur, action=self._action(o, "creation"), objet=o, usager=_usager_de(o)
            )
            for o in formset.new_objects
        ]
        evenements += [
            preparer_evenement(
                acteur=acteur,
                action=self._action(o, "modification"),
                objet=o,
                usager=_usager_de(o),
                details={"champs": sorted(champs)},
            )
            for o, champs in formset.changed_objects
        ]
        evenements += [
            preparer_evenement(
                acteur=acteur, action=self._action(o, "suppression"), objet=o, usager=_usager_de(o)
            )
            for o in formset.deleted_objects
        ]
        journaliser_plusieurs(evenements)


# --- Structures et professionnels ------------------------------------------------------------


@admin.register(Structure)
class StructureAdmin(AdminJournalise):
    list_display = (
        "raison_sociale",
        "finess_eg",
        "finess_ej",
        "categorie_libelle",
        "commune",
        "finess_cle_verifiee",
    )
    list_filter = ("categorie_libelle", "finess_cle_verifiee")
    search_fields = ("raison_sociale", "enseigne", "=finess_eg", "=finess_ej", "=siret", "commune")
    readonly_fields = ("uuid", "finess_cle_verifiee", "cree_le", "modifie_le")
    fieldsets = (
        ("Identification", {"fields": ("raison_sociale", "enseigne", "finess_eg", "finess_cle_verifiee",
                                       "finess_ej", "siret", "identifiant_technique")}),
        ("Catégorie", {"fields": ("categorie_code", "categorie_libelle")}),
        ("Coordonnées", {"fields": ("adresse", "code_postal", "commune", "code_commune", "telephone",
                                    "bal_mssante")}),
        ("Technique", {"fields": ("uuid", "cree_le", "modifie_le"), "classes": ("collapse",)}),
    )  # fmt: skip


class ExerciceInline(admin.TabularInline):
    model = Exercice
    extra = 0
    fields = ("structure", "profession_code", "profession_libelle", "fonction", "mode_exercice",
              "date_debut", "date_fin", "invite_le_personnel", "signe_les_projets")  # fmt: skip
    autocomplete_fields = ("structure",)
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("structure")


@admin.register(Professionnel)
class ProfessionnelAdmin(AdminJournalise):
    list_display = ("nom_exercice", "prenom_exercice", "idnat_ps", "profession_libelle", "compte")
    list_select_related = ("compte",)
    list_filter = ("profession_libelle", "categorie_professionnelle")
    search_fields = ("nom_exercice", "prenom_exercice", "=idnat_ps", "compte__email")
    readonly_fields = ("uuid", "cree_le", "modifie_le")
    raw_id_fields = ("compte",)
    inlines = [ExerciceInline]
    fieldsets = (
        ("Identité d'exercice", {"fields": ("idnat_ps", "civilite_exercice", "nom_exercice",
                                            "prenom_exercice")}),
        ("Profession", {"fields": ("profession_code", "profession_libelle", "categorie_professionnelle",
                                   "savoir_faire_code", "savoir_faire_libelle")}),
        ("Contact", {"fields": ("bal_mssante", "telephone", "compte")}),
        ("Technique", {"fields": ("uuid", "cree_le", "modifie_le"), "classes": ("collapse",)}),
    )  # fmt: skip


# --- Usagers et proches ----------------------------------------------------------------------


@admin.register(Usager)
class UsagerAdmin(AdminJournalise):
    form = UsagerForm
    list_display = (
        "nom_naissance", "prenoms_naissance", "date_naissance", "sexe", "statut_identite",
        "identite_douteuse", "identite_fictive", "nom_utilise", "compte",
    )  # fmt: skip
    list_select_related = ("compte",)
    list_filter = ("statut_identite", "identite_douteuse", "identite_fictive", "mode_recueil", "sexe")
    search_fields = ("nom_naissance", "prenoms_naissance", "nom_utilise", "prenom_utilise", "=matricule_ins")
    readonly_fields = ("uuid", "cree_le", "modifie_le")
    raw_id_fields = ("compte",)
    fieldsets = (
        (
            "Identité INS",
            {
                "fields": (
                    "nom_naissance", "prenoms_naissance", "date_naissance", "sexe", "code_lieu_naissance",
                    "matricule_ins", "oid_ins", "statut_identite", "identite_douteuse", "identite_fictive",
                    "mode_recueil", "date_interrogation_insi", "justificatif_identite", "confirmer_doublon",
                ),
                "description": "Le matricule INS ne quitte le portail que pour une identité qualifiée.",
            },
        ),
        ("Usage", {"fields": ("nom_utilise", "prenom_utilise")}),
        ("Contact", {"fields": ("telephone", "email", "adresse", "code_postal", "commune", "compte")}),
        ("Technique", {"fields": ("uuid", "cree_le", "modifie_le"), "classes": ("collapse",)}),
    )  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        formulaire = super().get_form(request, obj, change=change, **kwargs)
        return type(formulaire.__name__, (formulaire,), {"acteur_par_defaut": acteur_admin(request)})

    def save_model(self, request, obj, form, change):
        """Par les services : règles INS et journal « usager.creation » / « usager.identite.modification »."""
        acteur = acteur_admin(request)
        donnees = form.donnees_usager(seulement_changees=change)
        if change:
            modifier_identite_usager(acteur=acteur, usager=obj, donnees=donnees)
        else:
            # Les doublons ont été montrés par le formulaire et écartés (ou il n'y en avait pas).
            obj.pk = creer_usager(acteur=acteur, donnees=donnees, confirmer_doublon=True).pk
        obj.refresh_from_db()


@admin.register(Proche)
class ProcheAdmin(AdminJournalise):
    list_display = (
        "nom",
        "prenoms",
        "lien",
        "mesure_protection",
        "usager",
        "date_debut",
        "date_fin",
        "compte",
    )
    list_select_related = ("usager", "compte")
    list_filter = ("lien", "mesure_protection")
    search_fields = ("nom", "prenoms", "usager__nom_naissance", "usager__nom_utilise")
    readonly_fields = ("uuid", "cree_le", "modifie_le")
    raw_id_fields = ("usager", "compte")
    fieldsets = (
        (
            "Lien",
            {"fields": ("usager", "lien", "precision_lien", "mesure_protection", "date_debut", "date_fin")},
        ),
        ("Identité et contact", {"fields": ("nom", "prenoms", "telephone", "email", "adresse", "compte")}),
        ("Technique", {"fields": ("uuid", "cree_le", "modifie_le"), "classes": ("collapse",)}),
    )
