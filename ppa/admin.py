"""Administration technique du projet personnalisé : consultation seulement (ADR 0030).

Projets, versions, besoins, objectifs, actions, accords, commentaires et rappels de revue ne
changent que par les services de `ppa/` : eux vérifient les droits (habilitations), journalisent,
calculent l'empreinte sur laquelle portent les accords, et gardent la version validée intacte (les
déclencheurs de la base en sont la dernière ligne). L'administration les montre au support —
filtres, recherche par UUID de l'usager — sans rien permettre d'ajouter, modifier ou effacer.
Listes à nombre de requêtes constant."""

from __future__ import annotations

from django.contrib import admin

from cercle.admin import LectureSeule, SansModification
from ppa.models import (
    AccordPPA,
    Action,
    Besoin,
    CommentairePPA,
    Objectif,
    ProjetPersonnalise,
    RappelRevue,
    VersionPPA,
)

RECHERCHE_USAGER = ("projet__usager__uuid", "projet__usager__nom_naissance")


class VersionEnLigne(SansModification, admin.TabularInline):
    model = VersionPPA
    fields = ("numero", "statut", "soumise_le", "validee_le", "empreinte")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(ProjetPersonnalise)
class ProjetAdmin(LectureSeule):
    list_display = ("titre", "usager", "structure", "type", "cree_le")
    list_filter = ("type",)
    list_select_related = ("usager", "structure")
    search_fields = ("usager__uuid", "usager__nom_naissance", "structure__raison_sociale", "uuid")
    raw_id_fields = ("usager", "structure")
    inlines = [VersionEnLigne]


class ContenuEnLigne(SansModification, admin.TabularInline):
    extra = 0

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class BesoinEnLigne(ContenuEnLigne):
    model = Besoin
    fields = ("ordre", "code_serafin", "libelle", "precision", "origine", "ajoute_par")


class ObjectifEnLigne(ContenuEnLigne):
    model = Objectif
    fields = ("ordre", "titre", "resultat_attendu", "avis_usager", "date_cible", "origine", "ajoute_par")


class ActionEnLigne(ContenuEnLigne):
    model = Action
    fk_name = "version"
    fields = ("ordre", "quoi", "intervenant_libelle", "ou", "frequence", "duree_minutes", "origine")


class AccordEnLigne(ContenuEnLigne):
    model = AccordPPA
    fields = ("partie", "donne_par_nom", "qualite", "empreinte", "donne_le")


@admin.register(VersionPPA)
class VersionAdmin(LectureSeule):
    list_display = ("__str__", "usager", "numero", "statut", "soumise_le", "validee_le")
    list_filter = ("statut", "projet__type")
    list_select_related = ("projet__usager", "projet__structure")
    search_fields = (*RECHERCHE_USAGER, "uuid", "empreinte")
    raw_id_fields = ("projet", "derive_de")
    inlines = [BesoinEnLigne, ObjectifEnLigne, ActionEnLigne, AccordEnLigne]

    @admin.display(description="usager")
    def usager(self, version: VersionPPA):
        return version.projet.usager


class ContenuAdmin(LectureSeule):
    """Un élément du contenu d'une version : recherche par l'usager du projet."""

    list_select_related = ("version__projet__usager",)
    search_fields = ("version__projet__usager__uuid", "version__uuid", "uuid", "origine")
    raw_id_fields = ("version",)

    @admin.display(description="usager")
    def usager(self, element):
        return element.version.projet.usager


@admin.register(Besoin)
class BesoinAdmin(ContenuAdmin):
    list_display = ("libelle", "code_serafin", "usager", "version")


@admin.register(Objectif)
class ObjectifAdmin(ContenuAdmin):
    list_display = ("titre", "avis_usager", "date_cible", "usager", "version")
    list_filter = ("avis_usager",)
    raw_id_fields = ("version", "besoins")


@admin.register(Action)
class ActionAdmin(ContenuAdmin):
    list_display = ("quoi", "frequence", "usager", "version")
    raw_id_fields = ("version", "objectif", "intervenant")


@admin.register(AccordPPA)
class AccordAdmin(ContenuAdmin):
    list_display = ("version", "partie", "donne_par_nom", "qualite", "donne_le")
    list_filter = ("partie",)
    search_fields = ("version__projet__usager__uuid", "version__uuid", "uuid", "empreinte")


@admin.register(CommentairePPA)
class CommentaireAdmin(ContenuAdmin):
    list_display = ("version", "partie", "auteur_nom", "cree_le")
    list_filter = ("partie",)
    search_fields = ("version__projet__usager__uuid", "version__uuid", "uuid")


@admin.register(RappelRevue)
class RappelRevueAdmin(LectureSeule):
    list_display = ("projet", "echeance", "destinataire", "cree_le", "distribue_le")
    list_select_related = ("projet__usager", "projet__structure")
    search_fields = ("projet__usager__uuid", "projet__uuid")
    raw_id_fields = ("projet",)
