"""Ressources FHIR de l'annuaire du portail : Organization, Practitioner, PractitionerRole.

Lecture et recherche seulement, sur les tables Structure, Professionnel et Exercice. Ce sont des
données d'annuaire (pas des données d'usager) : tout client authentifié qui a la portée de lecture
les voit, et leur lecture n'est pas journalisée. Enregistrées par PersonnesConfig.ready().
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from coordination.fhir.filtres import (
    Cle,
    FiltreBooleen,
    FiltreJeton,
    FiltreReference,
    FiltreTexte,
    champ_egal,
    uuid_ou_rien,
)
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import Interaction, ParametreRecherche, TypeParametre, enregistrer
from coordination.personnes import fhir
from coordination.personnes.identifiants import SYSTEME_FINESS, SYSTEME_IDNAT_PS, SYSTEME_RPPS
from coordination.personnes.models import CleRecherche, Exercice, Professionnel, Structure, cle_de_recherche

LECTURE = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
T = TypeParametre
P = ParametreRecherche


def _uuid_portail(champ: str = "uuid"):
    """Jeton « urn:ietf:rfc:3986|urn:uuid:… » → l'UUID public."""
    return champ_egal(champ, lambda code: uuid_ou_rien(code.removeprefix("urn:uuid:")))


def _finess_eg_ou_ej(code: str | None, prefixe: str) -> Q:
    if code is None:
        return Q(**{f"{prefixe}finess_eg__isnull": False})
    return Q(**{f"{prefixe}finess_eg": code}) | Q(**{f"{prefixe}finess_ej": code})


def _actif_aujourdhui(prefixe: str) -> Q:
    jour = timezone.localdate()
    return (Q(**{f"{prefixe}date_fin__isnull": True}) | Q(**{f"{prefixe}date_fin__gte": jour})) & (
        Q(**{f"{prefixe}date_debut__isnull": True}) | Q(**{f"{prefixe}date_debut__lte": jour})
    )


def _toujours(prefixe: str) -> Q:
    return Q()


# Recherche de texte sans casse ni accents (FHIR) : même clé que la recherche de l'annuaire.
SANS_ACCENTS = Cle(CleRecherche, cle_de_recherche)
CLE_PROFESSIONNEL = Cle(CleRecherche, cle_de_recherche, deja_calculee=True)  # colonne générée indexée

ACTIF_TOUJOURS = P("active", T.TOKEN, "Toujours true", filtre=FiltreBooleen(_toujours))

IDENTIFIANTS_STRUCTURE = FiltreJeton(
    {
        SYSTEME_FINESS: _finess_eg_ou_ej,
        fhir.SYSTEME_IDNAT_ST: champ_egal(
            "finess_eg", lambda code: code[1:] if code.startswith("1") and len(code) == 10 else None
        ),
        fhir.SYSTEME_SIRENE: champ_egal("siret"),
        fhir.SYSTEME_URN: _uuid_portail(),
    }
)
IDENTIFIANTS_PROFESSIONNEL = FiltreJeton(
    {
        SYSTEME_IDNAT_PS: champ_egal("idnat_ps"),
        SYSTEME_RPPS: champ_egal("idnat_ps", lambda code: "8" + code),
        fhir.SYSTEME_URN: _uuid_portail(),
    }
)


@enregistrer
class RessourceOrganization(RessourceModele):
    type = "Organization"
    profil = fhir.PROFIL_ORGANIZATION
    documentation = "Structures (ESMS, établissements, services) connues du portail."
    interactions = LECTURE
    modele = Structure
    parametres = (
        P("identifier", T.TOKEN, "FINESS (EG ou EJ), idNatSt, SIRET ou UUID du portail",
          filtre=IDENTIFIANTS_STRUCTURE),
        P("name", T.STRING, "Raison sociale ou enseigne",
          filtre=FiltreTexte(("raison_sociale", "enseigne"), SANS_ACCENTS)),
        P("address-city", T.STRING, "Commune", filtre=FiltreTexte(("commune",), SANS_ACCENTS)),
        P("address-postalcode", T.STRING, "Code postal", filtre=FiltreTexte(("code_postal",))),
        P("type", T.TOKEN, "Catégorie d'établissement (TRE_R66)",
          filtre=FiltreJeton({fhir.SYSTEME_TRE_R66: champ_egal("categorie_code")})),
        ACTIF_TOUJOURS,
    )  # fmt: skip
    champs_tri = {"name": ("raison_sociale",), "_lastUpdated": ("modifie_le",)}

    def vers_fhir(self, objet: Structure) -> dict:
        return fhir.structure_vers_organization(objet)


@enregistrer
class RessourcePractitioner(RessourceModele):
    type = "Practitioner"
    profil = fhir.PROFIL_PRACTITIONER
    documentation = "Professionnels connus du portail (Annuaire Santé et saisies locales)."
    interactions = LECTURE
    modele = Professionnel
    parametres = (
        P("identifier", T.TOKEN, "idNat_PS, RPPS ou UUID du portail", filtre=IDENTIFIANTS_PROFESSIONNEL),
        P("name", T.STRING, "Début du nom ou du prénom d'exercice",
          filtre=FiltreTexte(("cle_recherche",), CLE_PROFESSIONNEL, debut_de_mot=True)),
        P("family", T.STRING, "Nom d'exercice", filtre=FiltreTexte(("nom_exercice",), SANS_ACCENTS)),
        P("given", T.STRING, "Prénom d'exercice", filtre=FiltreTexte(("prenom_exercice",), SANS_ACCENTS)),
        ACTIF_TOUJOURS,
    )  # fmt: skip
    champs_tri = {"family": ("nom_exercice",), "given": ("prenom_exercice",), "_lastUpdated": ("modifie_le",)}

    def vers_fhir(self, objet: Professionnel) -> dict:
        return fhir.professionnel_vers_practitioner(objet)


@enregistrer
class RessourcePractitionerRole(RessourceModele):
    type = "PractitionerRole"
    profil = fhir.PROFIL_PRACTITIONERROLE
    documentation = "Situations d'exercice : un professionnel dans une structure, pour une profession."
    interactions = LECTURE
    modele = Exercice
    parametres = (
        P("identifier", T.TOKEN, "UUID du portail", filtre=FiltreJeton({fhir.SYSTEME_URN: _uuid_portail()})),
        P("practitioner", T.REFERENCE, "Le professionnel", cibles=("Practitioner",),
          filtre=FiltreReference("professionnel", "Practitioner")),
        P("organization", T.REFERENCE, "La structure", cibles=("Organization",),
          filtre=FiltreReference("structure", "Organization")),
        P("role", T.TOKEN, "Profession (TRE_G15)",
          filtre=FiltreJeton({fhir.SYSTEME_TRE_G15: champ_egal("profession_code")})),
        P("active", T.TOKEN, "Situation en cours aujourd'hui", filtre=FiltreBooleen(_actif_aujourdhui)),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le",)}
    liens_inclusion = {
        "PractitionerRole:practitioner": ("Practitioner", "professionnel_id"),
        "PractitionerRole:organization": ("Organization", "structure_id"),
    }

    def queryset(self, contexte):
        return Exercice.objects.select_related("professionnel", "structure")

    def vers_fhir(self, objet: Exercice) -> dict:
        return fhir.exercice_vers_practitionerrole(objet, jour=timezone.localdate())
