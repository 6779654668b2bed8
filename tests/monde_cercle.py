"""Un petit monde fictif autour d'une usagère, avec chaque sorte d'acteur de la matrice
d'autorisation (pages, REST, FHIR). Construit par les vrais services du cercle."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from cercle import services
from cercle.models import Delegation, Membre, StatutDelegation, TypeMembre
from cercle.roles import Role
from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.personnes.models import LienProche, MesureProtection
from tests.factories import (
    CompteFactory,
    ExerciceFactory,
    ProcheFactory,
    StructureFactory,
    UsagerFactory,
)


def acteur_pro(exercice) -> Acteur:
    return Acteur(TypeActeur.PROFESSIONNEL, exercice.professionnel.compte, exercice=exercice)


def acteur_proche(proche) -> Acteur:
    return Acteur(TypeActeur.PROCHE, proche.compte, proche=proche, usager=proche.usager)


def acteur_usager(usager) -> Acteur:
    return Acteur(TypeActeur.USAGER, usager.compte, usager=usager)


def frais(acteur: Acteur) -> Acteur:
    """Le même acteur sans mémo (comme à la requête HTTP suivante)."""
    return Acteur(
        acteur.type, acteur.compte, acteur.exercice, acteur.proche, acteur.usager, acteur.nom_systeme
    )


@dataclass
class Monde:
    usager: object
    autre_usager: object
    ssiad: object
    acteurs: dict[str, Acteur] = field(default_factory=dict)
    membres: dict[str, Membre] = field(default_factory=dict)

    def __getitem__(self, nom: str) -> Acteur:
        return frais(self.acteurs[nom])


def construire_monde() -> Monde:
    """Jeanne (usagère) et son cercle :
    - le SSIAD qui l'accompagne (structure membre) et son infirmière (droits présumés) ;
    - son médecin traitant libéral (droits présumés), qui délègue l'agenda à sa secrétaire ;
    - une kinésithérapeute libérale membre sans aucun droit ;
    - une coordinatrice à qui Jeanne a confié la gestion du cercle ;
    - sa fille aidante avec lecture du cahier, son fils membre sans droit, sa tutrice ;
    - un professionnel sorti du cercle, un professionnel hors cercle, un autre usager,
      un assistant dont la délégation a expiré."""
    usager = UsagerFactory(nom_naissance="FICTIVE", prenoms_naissance="Jeanne", compte=CompteFactory())
    autre = UsagerFactory(nom_naissance="AUTRE", prenoms_naissance="Paul", compte=CompteFactory())
    services.creer_cercle(usager=usager)
    services.creer_cercle(usager=autre)
    systeme = acteur_systeme("construction du monde de test")
    moi = acteur_usager(usager)
    ssiad = StructureFactory(raison_sociale="SSIAD du Val Fictif")
    monde = Monde(usager=usager, autre_usager=autre, ssiad=ssiad)
    monde.acteurs["usager"] = moi
    monde.acteurs["autre_usager"] = acteur_usager(autre)

    monde.membres["ssiad"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.STRUCTURE, structure=ssiad
    )
    ide = ExerciceFactory(
        structure=ssiad, professionnel__compte=CompteFactory(), professionnel__nom_exercice="INFIRMIERE"
    )
    monde.membres["ide"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=ide
    )
    monde.acteurs["ide"] = acteur_pro(ide)
    # Une collègue du SSIAD, pas membre elle-même : elle tient ses droits de la structure.
    collegue = ExerciceFactory(
        structure=ssiad, professionnel__compte=CompteFactory(), professionnel__nom_exercice="COLLEGUE"
    )
    monde.acteurs["collegue_structure"] = acteur_pro(collegue)

    medecin = ExerciceFactory(
        structure=None,
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="GENERALISTE",
        professionnel__profession_code="10",
        professionnel__profession_libelle="Médecin",
    )
    monde.membres["medecin"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=medecin, role=Role.MEDECIN_TRAITANT
    )
    monde.acteurs["medecin"] = acteur_pro(medecin)
    secretaire = ExerciceFactory(
        structure=None, professionnel__compte=CompteFactory(), professionnel__nom_exercice="SECRETAIRE"
    )
    monde.acteurs["assistant"] = acteur_pro(secretaire)
    delegation = services.proposer_delegation(
        acteur=acteur_pro(medecin),
        usager=usager,
        assistant=secretaire,
        domaine="agenda",
        niveau=1,
        date_fin=timezone.localdate() + datetime.timedelta(days=90),
    )
    services.consentir_delegation(acteur=moi, delegation=delegation, accepter=True)
    ancien_assistant = ExerciceFactory(
        structure=None, professionnel__compte=CompteFactory(), professionnel__nom_exercice="REMPLACANT"
    )
    monde.acteurs["assistant_expire"] = acteur_pro(ancien_assistant)
    expiree = services.proposer_delegation(
        acteur=acteur_pro(medecin),
        usager=usager,
        assistant=ancien_assistant,
        domaine="agenda",
        niveau=1,
        date_fin=timezone.localdate(),
    )
    services.consentir_delegation(acteur=moi, delegation=expiree, accepter=True)
    hier = timezone.localdate() - datetime.timedelta(days=1)
    Delegation.objects.filter(pk=expiree.pk).update(
        date_debut=hier - datetime.timedelta(days=30), date_fin=hier, statut=StatutDelegation.ACTIVE
    )

    kine = ExerciceFactory(
        structure=None,
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="KINE",
        professionnel__profession_code="70",
        professionnel__profession_libelle="Masseur-Kinésithérapeute",
    )
    monde.membres["kine"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=kine
    )
    monde.acteurs["pro_sans_droit"] = acteur_pro(kine)

    coordinatrice = ExerciceFactory(
        professionnel__compte=CompteFactory(), professionnel__nom_exercice="COORDINATRICE"
    )
    monde.membres["coordinatrice"] = services.ajouter_membre(
        acteur=moi,
        usager=usager,
        type=TypeMembre.PROFESSIONNEL,
        exercice=coordinatrice,
        role=Role.REFERENT_PARCOURS,
    )
    services.accorder(acteur=moi, membre=monde.membres["coordinatrice"], domaine="cercle", niveau=3)
    monde.acteurs["gestionnaire"] = acteur_pro(coordinatrice)

    fille = ProcheFactory(
        usager=usager, lien=LienProche.AIDANT, prenoms="Sophie", nom="FICTIVE", compte=CompteFactory()
    )
    monde.membres["aidant"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROCHE, proche=fille
    )
    services.accorder(acteur=moi, membre=monde.membres["aidant"], domaine="cahier", niveau=1)
    monde.acteurs["aidant_avec_droits"] = acteur_proche(fille)
    fils = ProcheFactory(
        usager=usager, lien=LienProche.FAMILLE, prenoms="Marc", nom="FICTIVE", compte=CompteFactory()
    )
    monde.membres["fils"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROCHE, proche=fils
    )
    monde.acteurs["aidant_sans_droit"] = acteur_proche(fils)
    tutrice = ProcheFactory(
        usager=usager,
        lien=LienProche.REPRESENTANT_LEGAL,
        mesure_protection=MesureProtection.TUTELLE,
        prenoms="Hélène",
        nom="TUTRICE",
        compte=CompteFactory(),
    )
    monde.acteurs["representant"] = acteur_proche(tutrice)

    parti = ExerciceFactory(
        structure=None, professionnel__compte=CompteFactory(), professionnel__nom_exercice="PARTI"
    )
    monde.membres["parti"] = services.ajouter_membre(
        acteur=moi, usager=usager, type=TypeMembre.PROFESSIONNEL, exercice=parti, role=Role.MEDECIN
    )
    services.accorder(acteur=moi, membre=monde.membres["parti"], domaine="cahier", niveau=2)
    services.retirer_membre(acteur=moi, membre=monde.membres["parti"])
    monde.acteurs["membre_sorti"] = acteur_pro(parti)

    dehors = ExerciceFactory(professionnel__compte=CompteFactory(), professionnel__nom_exercice="DEHORS")
    monde.acteurs["pro_hors_cercle"] = acteur_pro(dehors)
    monde.acteurs["systeme"] = systeme
    return monde
