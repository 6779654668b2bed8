"""Ressources FHIR de l'annuaire du portail : Organization, Practitioner, PractitionerRole.

Lecture et recherche, sur les tables Structure, Professionnel et Exercice. Dans un Bundle
transaction (cercle de soins), un POST de ces types désigne une ressource connue (FINESS, SIRET,
RPPS, référence du portail) ; seule une Organization inconnue est créée (structure sans FINESS
d'un exemple CDS) ; un professionnel ou une situation d'exercice inconnus donnent une erreur 422. Ce sont des
données d'annuaire (pas des données d'usager) : tout client authentifié qui a la portée de lecture
les voit, et leur lecture n'est pas journalisée. Enregistrées par PersonnesConfig.ready().
"""

from __future__ import annotations

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from coordination.fhir import erreurs
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
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
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
    # Q() nié ne filtrerait rien : « toujours vrai » doit être une condition réelle.
    return ~Q(pk__in=[])


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
    creation_en_transaction = True

    def vers_fhir(self, objet: Structure) -> dict:
        return fhir.structure_vers_organization(objet)

    def creer(self, contexte, ressource: dict, *, id_logique) -> Representation:
        """Dans un Bundle : la structure désignée (FINESS, SIRET, référence du portail), sinon une
        structure créée par le service (journalisée)."""
        from coordination.personnes.services import creer_structure

        structure = structure_designee(ressource)
        if structure is not None:
            return replace(self.representation(structure), existante=True)
        try:
            structure = creer_structure(acteur=contexte.acteur, donnees=fhir.donnees_structure(ressource))
        except ValidationError as erreur:
            raise erreurs.non_traitable(
                "Organization : " + " ".join(erreur.messages), expression=["Organization"]
            ) from None
        return self.representation(structure)


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

    creation_en_transaction = True

    def vers_fhir(self, objet: Professionnel) -> dict:
        return fhir.professionnel_vers_practitioner(objet)

    def creer(self, contexte, ressource: dict, *, id_logique) -> Representation:
        """Dans un Bundle : le professionnel désigné par son idNat_PS, son RPPS ou son UUID."""
        professionnel = professionnel_designe(ressource)
        if professionnel is None:
            raise erreurs.non_traitable(
                "Practitioner : aucun professionnel connu du portail ne porte ces identifiants "
                "(idNat_PS, RPPS ou identifiant du portail).",
                expression=["Practitioner.identifier"],
            )
        return replace(self.representation(professionnel), existante=True)

    def creer_plusieurs(self, contexte, creations) -> list[Representation]:
        """Les Practitioner d'un Bundle : tous les professionnels cités lus en une requête."""
        trouves = professionnels_designes([creation.ressource for creation in creations])
        representations = []
        for creation, professionnel in zip(creations, trouves, strict=True):
            try:
                if professionnel is None:
                    self.creer(contexte, creation.ressource, id_logique=creation.id_logique)
                representations.append(replace(self.representation(professionnel), existante=True))
            except erreurs.ErreurFHIR as erreur:
                raise erreur.avec_prefixe(creation.chemin) from None
        return representations


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

    creation_en_transaction = True
    # Après le Practitioner et l'Organization qu'elle cite (Bundle du cahier : urn:uuid:… résolus).
    rang_transaction = 1

    def vers_fhir(self, objet: Exercice) -> dict:
        return fhir.exercice_vers_practitionerrole(objet, jour=timezone.localdate())

    def creer(self, contexte, ressource: dict, *, id_logique) -> Representation:
        """Dans un Bundle : la situation d'exercice désignée (UUID, ou professionnel par RPPS /
        idNat_PS + structure par FINESS / SIRET + profession)."""
        exercice = exercice_designe(ressource)
        if exercice is None:
            raise erreurs.non_traitable(
                "PractitionerRole : aucune situation d'exercice connue du portail ne correspond "
                "(professionnel par RPPS ou idNat_PS, structure par FINESS ou SIRET) ; ou plusieurs "
                "correspondent : précisez la structure.",
                expression=["PractitionerRole.practitioner"],
            )
        return replace(self.representation(exercice), existante=True)

    def creer_plusieurs(self, contexte, creations) -> list[Representation]:
        """Les PractitionerRole d'un Bundle : désignés par professionnel et structure du portail
        (références « Type/uuid », cas du Bundle du cahier), lus en une requête ; les autres un à un."""
        trouves = exercices_designes([creation.ressource for creation in creations])
        representations = []
        for creation, exercice in zip(creations, trouves, strict=True):
            if exercice is not None and hasattr(contexte, "resolues"):
                contexte.resolues[("PractitionerRole", exercice.uuid)] = exercice
            try:
                if exercice is None:
                    self.creer(contexte, creation.ressource, id_logique=creation.id_logique)
                representations.append(replace(self.representation(exercice), existante=True))
            except erreurs.ErreurFHIR as erreur:
                raise erreur.avec_prefixe(creation.chemin) from None
        return representations


# --- Résolution : quelle structure, quelle situation d'exercice désigne une ressource reçue ---------
# Pour les Bundles du cercle (CareTeam.participant.member, managingOrganization) : une référence
# « Type/uuid » du portail, une référence logique par identifiant, ou la ressource elle-même.


def _uuid_de_reference(reference: str | None, type_ressource: str):
    if reference and reference.startswith(f"{type_ressource}/"):
        return uuid_ou_rien(reference.split("/", 1)[1])
    return None


def structure_par_identifiants(identifiants: fhir.IdentifiantsStructure) -> Structure | None:
    """La structure désignée sans ambiguïté : UUID du portail, FINESS EG, SIRET, ou FINESS EJ quand
    une seule structure le porte. None si rien ne correspond ou si plusieurs structures conviennent."""
    for critere in (
        {"uuid": uuid_ou_rien(identifiants.uuid or "")} if identifiants.uuid else None,
        {"finess_eg": identifiants.finess_eg} if identifiants.finess_eg else None,
        {"siret": identifiants.siret} if identifiants.siret else None,
        {"finess_ej": identifiants.finess_ej} if identifiants.finess_ej else None,
    ):
        if critere is None or None in critere.values():
            continue
        trouvees = list(Structure.objects.filter(**critere)[:2])
        if len(trouvees) == 1:
            return trouvees[0]
        if trouvees:
            return None
    return None


def structure_designee(element: dict) -> Structure | None:
    """Structure d'une référence (`{"reference": "Organization/…"}` ou `{"identifier": …}`) ou d'une
    ressource Organization."""
    if element.get("resourceType") == "Organization":
        identifiants = fhir.identifiants_organization(element)
        identifiants.uuid = identifiants.uuid or element.get("id")
        return structure_par_identifiants(identifiants)
    identifiant = _uuid_de_reference(element.get("reference"), "Organization")
    if identifiant is not None:
        return Structure.objects.filter(uuid=identifiant).first()
    if element.get("identifier"):
        return structure_par_identifiants(
            fhir.identifiants_organization({"identifier": [element["identifier"]]})
        )
    return None


def professionnel_designe(element: dict) -> Professionnel | None:
    """Professionnel d'une référence « Practitioner/uuid », d'une référence logique par identifiant
    ou d'une ressource Practitioner : idNat_PS, RPPS (« 8 » + RPPS) ou UUID du portail."""
    identifiant = _uuid_de_reference(element.get("reference"), "Practitioner")
    if identifiant is not None:
        return Professionnel.objects.filter(uuid=identifiant).first()
    identifiants = element.get("identifier") or []
    if isinstance(identifiants, dict):
        identifiants = [identifiants]
    for trouve in identifiants:
        systeme, valeur = trouve.get("system"), trouve.get("value") or ""
        if systeme == SYSTEME_IDNAT_PS and valeur:
            critere = {"idnat_ps": valeur}
        elif systeme == SYSTEME_RPPS and valeur:
            critere = {"idnat_ps": "8" + valeur}
        elif systeme == fhir.SYSTEME_URN and (code := uuid_ou_rien(valeur.removeprefix("urn:uuid:"))):
            critere = {"uuid": code}
        else:
            continue
        if professionnel := Professionnel.objects.filter(**critere).first():
            return professionnel
    return None


def _criteres_professionnel(element: dict) -> list[tuple[str, object]]:
    """Les clés qui désignent un professionnel, dans l'ordre où `professionnel_designe` les essaie."""
    identifiant = _uuid_de_reference(element.get("reference"), "Practitioner")
    if identifiant is not None:
        return [("uuid", identifiant)]
    identifiants = element.get("identifier") or []
    if isinstance(identifiants, dict):
        identifiants = [identifiants]
    criteres = []
    for trouve in identifiants:
        systeme, valeur = trouve.get("system"), trouve.get("value") or ""
        if systeme == SYSTEME_IDNAT_PS and valeur:
            criteres.append(("idnat_ps", valeur))
        elif systeme == SYSTEME_RPPS and valeur:
            criteres.append(("idnat_ps", "8" + valeur))
        elif systeme == fhir.SYSTEME_URN and (code := uuid_ou_rien(valeur.removeprefix("urn:uuid:"))):
            criteres.append(("uuid", code))
    return criteres


def professionnels_designes(elements: list[dict]) -> list[Professionnel | None]:
    """`professionnel_designe` de chaque élément, en une requête pour tous."""
    criteres = [_criteres_professionnel(element) for element in elements]
    uuids = {v for liste in criteres for c, v in liste if c == "uuid"}
    idnats = {v for liste in criteres for c, v in liste if c == "idnat_ps"}
    if not uuids and not idnats:
        return [None] * len(elements)
    connus: dict[tuple[str, object], Professionnel] = {}
    for professionnel in Professionnel.objects.filter(Q(uuid__in=uuids) | Q(idnat_ps__in=idnats)):
        connus[("uuid", professionnel.uuid)] = professionnel
        connus[("idnat_ps", professionnel.idnat_ps)] = professionnel
    return [next((connus[c] for c in liste if c in connus), None) for liste in criteres]


def exercices_designes(elements: list[dict]) -> list[Exercice | None]:
    """`exercice_designe` de chaque ressource PractitionerRole : celles qui citent professionnel et
    structure du portail par « Type/uuid » (sans id propre), en une requête pour toutes, avec la même
    règle (une seule situation convient, sinon rien) ; les autres par `exercice_designe`."""
    cles: list[tuple | None] = []
    for element in elements:
        trouves = fhir.identifiants_practitionerrole(element)
        professionnel = _uuid_de_reference(trouves.practitioner, "Practitioner")
        structure = _uuid_de_reference(trouves.organization, "Organization")
        simple = (
            element.get("resourceType") == "PractitionerRole"
            and uuid_ou_rien(trouves.uuid or element.get("id") or "") is None
            and professionnel is not None
            and structure is not None
        )
        cles.append((professionnel, structure, trouves.profession_code) if simple else None)
    simples = [cle for cle in cles if cle is not None]
    candidats: dict[tuple, list[Exercice]] = {}
    if simples:
        lus = Exercice.objects.select_related("professionnel", "structure").filter(
            professionnel__uuid__in={c[0] for c in simples}, structure__uuid__in={c[1] for c in simples}
        )
        for exercice in lus:
            candidats.setdefault((exercice.professionnel.uuid, exercice.structure.uuid), []).append(exercice)
    resultats: list[Exercice | None] = []
    for element, cle in zip(elements, cles, strict=True):
        if cle is None:
            resultats.append(exercice_designe(element))
            continue
        convenables = [e for e in candidats.get(cle[:2], []) if not cle[2] or e.profession_code == cle[2]]
        resultats.append(convenables[0] if len(convenables) == 1 else None)
    return resultats


def exercice_designe(element: dict) -> Exercice | None:
    """Situation d'exercice d'une référence PractitionerRole du portail, ou d'une ressource
    PractitionerRole : par son UUID, sinon par professionnel (référence ou idNat_PS / RPPS) +
    structure (référence ou identifiants) + profession TRE_G15 si donnée. None si ambigu."""
    if element.get("resourceType") != "PractitionerRole":
        identifiant = _uuid_de_reference(element.get("reference"), "PractitionerRole")
        return Exercice.objects.filter(uuid=identifiant).first() if identifiant else None
    trouves = fhir.identifiants_practitionerrole(element)
    identifiant = uuid_ou_rien(trouves.uuid or element.get("id") or "")
    if identifiant is not None and (exercice := Exercice.objects.filter(uuid=identifiant).first()):
        return exercice
    exercices = Exercice.objects.all()
    if uuid_professionnel := _uuid_de_reference(trouves.practitioner, "Practitioner"):
        exercices = exercices.filter(professionnel__uuid=uuid_professionnel)
    elif trouves.idnat_ps:
        exercices = exercices.filter(professionnel__idnat_ps=trouves.idnat_ps)
    else:
        return None
    if uuid_structure := _uuid_de_reference(trouves.organization, "Organization"):
        exercices = exercices.filter(structure__uuid=uuid_structure)
    elif not trouves.structure.vide:
        structure = structure_par_identifiants(trouves.structure)
        if structure is None:
            return None
        exercices = exercices.filter(structure=structure)
    if trouves.profession_code:
        exercices = exercices.filter(profession_code=trouves.profession_code)
    candidats = list(exercices.select_related("professionnel", "structure")[:2])
    return candidats[0] if len(candidats) == 1 else None
