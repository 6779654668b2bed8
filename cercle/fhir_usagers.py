"""Ressources FHIR des données d'usager servies par le cercle : Patient (domaine « identite ») et
RelatedPerson (domaine « cercle »), et les outils d'accès communs aux ressources du cercle
(cercle/fhir_cercle.py). Enregistrées par CercleConfig.ready().

Règles d'accès (docs/decisions/0008-refus-403-404.md, 0011-careteam-cds.md), toutes demandées à
`cercle/habilitations.py` : lecture d'une instance — usager hors du monde de l'acteur → 404 (comme
un id inconnu), connu sans le droit → 403 ; recherche filtrée par `usagers_visibles` ; chaque lecture
journalisée (`noter_lecture`, en un lot). Dans un Bundle du cercle, un Patient désigne un usager
connu (jamais n'en crée) et un RelatedPerson devient un proche par le service `ajouter_proche`.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from cercle import fhir, habilitations, selectors, services
from cercle.models import Domaine
from coordination.fhir import erreurs
from coordination.fhir.filtres import FiltreJeton, FiltreReference, champ_egal, uuid_ou_rien
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
from coordination.journal.lectures import noter_lecture
from coordination.personnes import fhir as fhir_personnes
from coordination.personnes.models import Proche, Usager, normaliser_trait

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Recherche

T = TypeParametre
P = ParametreRecherche
SYSTEMES_INS = {f"urn:oid:{oid}": oid for oid in fhir_personnes.TYPES_INS}


# --- Outils communs ---------------------------------------------------------------------------------


@contextmanager
def refus_en_fhir(expression: str):
    """Refus d'habilitation (403) et règles métier des services (422) en OperationOutcome."""
    try:
        yield
    except services.AccesRefuse as refus:
        raise erreurs.interdit(str(refus)) from None
    except ValidationError as erreur:
        raise erreurs.non_traitable(" ".join(erreur.messages), expression=[expression]) from None


def noter(contexte: Contexte, usager, action: str, objet=None) -> None:
    noter_lecture(contexte.requete, usager=usager, objet=objet, action=action, acteur=contexte.acteur)


def exiger_acces(contexte: Contexte, usager: Usager | None, domaine: str, quoi: tuple[str, str]) -> Usager:
    """Règle de l'ADR 0008 pour une instance : usager hors du monde de l'acteur → 404 ; connu sans
    le droit de lire `domaine` → 403."""
    if usager is None or selectors.usager_connu(contexte.acteur, usager.uuid) is None:
        raise erreurs.introuvable(*quoi)
    if not habilitations.peut(contexte.acteur, usager, "lire", domaine):
        raise erreurs.interdit(
            f"Vous n'avez pas le droit de consulter {quoi[0]}/{quoi[1][:64]} : il faut la lecture du "
            f"domaine « {Domaine(domaine).label} » du dossier de cette personne."
        )
    return usager


def _usager_par_identifiants(identifiants: list[dict]) -> Usager | None:
    """L'usager d'un matricule INS (avec l'OID de son système) ou de l'identifiant du portail."""
    for identifiant in identifiants:
        systeme, valeur = identifiant.get("system"), "".join((identifiant.get("value") or "").split())
        if not valeur:
            continue
        if systeme in SYSTEMES_INS:
            trouve = Usager.objects.filter(
                matricule_ins=valeur.upper(), oid_ins=SYSTEMES_INS[systeme]
            ).first()
        elif systeme == fhir_personnes.SYSTEME_URN and (
            code := uuid_ou_rien(valeur.removeprefix("urn:uuid:"))
        ):
            trouve = Usager.objects.filter(uuid=code).first()
        else:
            continue
        if trouve is not None:
            return trouve
    return None


def usager_designe(element: dict) -> Usager | None:
    """Usager d'une référence « Patient/uuid » ou d'une référence logique par identifiant."""
    reference = element.get("reference") or ""
    if reference:
        type_ressource, _, identifiant = reference.partition("/")
        code = uuid_ou_rien(identifiant) if type_ressource == "Patient" else None
        return Usager.objects.filter(uuid=code).first() if code else None
    identifiant = element.get("identifier")
    return _usager_par_identifiants([identifiant]) if isinstance(identifiant, dict) else None


def usager_pour_ecrire(contexte: Contexte, usager: Usager | None, expression: str) -> Usager:
    """Usager cité dans un corps (pas dans l'adresse) : inconnu ou hors du monde de l'acteur → 422
    (même réponse dans les deux cas) ; connu sans la gestion du cercle → 403."""
    if usager is None or selectors.usager_connu(contexte.acteur, usager.uuid) is None:
        raise erreurs.non_traitable(
            f"{expression} : ce patient n'est pas connu du portail pour vous (matricule INS avec son "
            "OID, identifiant ou référence du portail). Le portail ne crée pas d'usager par FHIR.",
            expression=[expression],
        )
    if not habilitations.peut(contexte.acteur, usager, "gerer", Domaine.CERCLE):
        raise erreurs.interdit(
            "Seuls l'usager, son représentant légal ou le gestionnaire du cercle peuvent modifier ce cercle."
        )
    return usager


# --- Patient ------------------------------------------------------------------------------------------


def _ins(oid: str):
    def fabrique(code: str | None, prefixe: str) -> Q:
        if code is None:
            return Q(**{f"{prefixe}oid_ins": oid, f"{prefixe}matricule_ins__isnull": False})
        return Q(**{f"{prefixe}oid_ins": oid, f"{prefixe}matricule_ins": "".join(code.split()).upper()})

    return fabrique


IDENTIFIANTS_USAGER = FiltreJeton(
    {
        **{systeme: _ins(oid) for systeme, oid in SYSTEMES_INS.items()},
        fhir_personnes.SYSTEME_URN: champ_egal(
            "uuid", lambda code: uuid_ou_rien(code.removeprefix("urn:uuid:"))
        ),
    }
)


@enregistrer
class RessourcePatient(RessourceModele):
    type = "Patient"
    profil = fhir_personnes.PROFIL_PATIENT
    documentation = (
        "Usagers (FR Core) : lecture selon le droit sur l'identité ; dans un Bundle du cercle, un POST "
        "désigne un usager connu (matricule INS ou identifiant du portail), jamais n'en crée."
    )
    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
    modele = Usager
    creation_en_transaction = True
    parametres = (
        P("identifier", T.TOKEN, "Matricule INS (système urn:oid:<OID>) ou UUID du portail",
          filtre=IDENTIFIANTS_USAGER),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le",)}

    def queryset(self, contexte: Contexte):
        visibles = habilitations.usagers_visibles(contexte.acteur, Domaine.IDENTITE).values("pk")
        return Usager.objects.filter(pk__in=visibles)

    def vers_fhir(self, objet: Usager) -> dict:
        return fhir_personnes.usager_vers_patient(objet)

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        code = uuid_ou_rien(id_logique)
        usager = Usager.objects.filter(uuid=code).first() if code else None
        exiger_acces(contexte, usager, Domaine.IDENTITE, ("Patient", id_logique))
        noter(contexte, usager, "fhir.patient.lecture")
        return self.representation(usager)

    def objets(self, contexte: Contexte, pks: set) -> list:
        trouves = super().objets(contexte, pks)
        for usager in trouves:
            noter(contexte, usager, "fhir.patient.lecture")
        return trouves

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        for trouve in page.correspondances:
            noter(contexte, uuid.UUID(trouve.id), "fhir.patient.lecture")
        return page

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        """Dans un Bundle : l'usager désigné, après contrôle des traits envoyés (vigilance d'identité)."""
        usager = _usager_par_identifiants(ressource.get("identifier") or [])
        if usager is None or selectors.usager_connu(contexte.acteur, usager.uuid) is None:
            raise erreurs.non_traitable(
                "Patient : aucun usager connu de vous ne porte ces identifiants (matricule INS avec son "
                "OID, ou identifiant du portail). Le portail ne crée pas d'usager par FHIR : l'identité "
                "s'établit dans le portail (téléservice INSi, pièce d'identité).",
                expression=["Patient.identifier"],
            )
        if not habilitations.peut(contexte.acteur, usager, "lire", Domaine.IDENTITE):
            raise erreurs.interdit("Vous n'avez pas le droit de lire l'identité de ce patient.")
        if ressource.get("birthDate") and ressource["birthDate"] != usager.date_naissance.isoformat():
            raise erreurs.non_traitable(
                "Patient.birthDate ne correspond pas à la date de naissance de l'usager qui porte cet "
                "identifiant : vérifiez l'identité (vigilance d'identité).",
                expression=["Patient.birthDate"],
            )
        noms = [n for n in ressource.get("name") or [] if n.get("use") in (None, "official")]
        if (
            noms
            and noms[0].get("family")
            and normaliser_trait(noms[0]["family"]) != usager.nom_naissance_normalise
        ):
            raise erreurs.non_traitable(
                "Patient.name.family ne correspond pas au nom de naissance de l'usager qui porte cet "
                "identifiant : vérifiez l'identité (vigilance d'identité).",
                expression=["Patient.name[0].family"],
            )
        noter(contexte, usager, "fhir.patient.lecture")
        return replace(self.representation(usager), existante=True)


# --- RelatedPerson ------------------------------------------------------------------------------------


@enregistrer
class RessourceRelatedPerson(RessourceModele):
    type = "RelatedPerson"
    profil = fhir_personnes.PROFIL_RELATEDPERSON
    documentation = (
        "Proches d'un usager (aidant, famille, représentant légal, personne de confiance), lus selon "
        "le droit sur le cercle ; créés dans un Bundle du cercle par qui gère le cercle."
    )
    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
    modele = Proche
    creation_en_transaction = True
    rang_transaction = 1  # après le Patient qu'il cite
    parametres = (
        P("identifier", T.TOKEN, "UUID du portail",
          filtre=FiltreJeton({fhir_personnes.SYSTEME_URN: champ_egal(
              "uuid", lambda code: uuid_ou_rien(code.removeprefix("urn:uuid:")))})),
        P("patient", T.REFERENCE, "L'usager", cibles=("Patient",),
          filtre=FiltreReference("usager", "Patient")),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le",)}
    liens_inclusion = {"RelatedPerson:patient": ("Patient", "usager_id")}

    def queryset(self, contexte: Contexte):
        visibles = habilitations.usagers_visibles(contexte.acteur, Domaine.CERCLE).values("pk")
        return Proche.objects.select_related("usager").filter(usager_id__in=visibles)

    def vers_fhir(self, objet: Proche) -> dict:
        return fhir_personnes.proche_vers_relatedperson(objet, jour=timezone.localdate())

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        code = uuid_ou_rien(id_logique)
        proche = Proche.objects.select_related("usager").filter(uuid=code).first() if code else None
        exiger_acces(
            contexte, proche.usager if proche else None, Domaine.CERCLE, ("RelatedPerson", id_logique)
        )
        noter(contexte, proche.usager, "fhir.relatedperson.lecture", proche)
        return self.representation(proche)

    def objets(self, contexte: Contexte, pks: set) -> list:
        trouves = super().objets(contexte, pks)
        for proche in trouves:
            noter(contexte, proche.usager, "fhir.relatedperson.lecture", proche)
        return trouves

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        for trouve in page.correspondances:
            usager = uuid.UUID(trouve.ressource["patient"]["reference"].split("/", 1)[1])
            noter(contexte, usager, "fhir.relatedperson.lecture")
        return page

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        """Dans un Bundle : le proche désigné (identifiant du portail, ou même nom, premier prénom et
        lien chez cet usager), sinon un proche ajouté par le service (gestion du cercle requise)."""
        from coordination.personnes.services import ajouter_proche

        usager = usager_pour_ecrire(
            contexte, usager_designe(ressource.get("patient") or {}), "RelatedPerson.patient"
        )
        donnees = fhir_personnes.donnees_proche(ressource)
        existant = None
        for identifiant in ressource.get("identifier") or []:
            if code := fhir.uuid_de_l_identifiant({"identifier": identifiant}):
                existant = Proche.objects.filter(uuid=uuid_ou_rien(code), usager=usager).first() or existant
        if existant is None:
            premier = donnees["prenoms"].split(" ")[0] if donnees["prenoms"] else ""
            existant = (
                Proche.objects.filter(
                    usager=usager,
                    nom__iexact=donnees["nom"],
                    prenoms__istartswith=premier,
                    lien=donnees["lien"],
                )
                .filter(Q(date_fin__isnull=True) | Q(date_fin__gte=timezone.localdate()))
                .first()
            )
        if existant is not None:
            return replace(self.representation(existant), existante=True)
        donnees["date_debut"] = donnees["date_debut"] or timezone.localdate()
        with refus_en_fhir("RelatedPerson"):
            proche = ajouter_proche(acteur=contexte.acteur, usager=usager, donnees=donnees)
        return self.representation(proche)
