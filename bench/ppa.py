"""Projet personnalisé (scénario `ppa`) : un PPA de 30 objectifs et 100 actions, validé par les deux
accords, puis un avenant d'une dizaine de changements ; mesures de l'ouverture de la version
(`ppa.selectors.version_complete` : droits recalculés et lecture journalisée à chaque fois) et du
différentiel entre la version validée et l'avenant (`ppa.differentiel.comparer` seul, puis avec le
chargement des deux versions). Objectifs (issue 7, point 9) : ouverture ≤ 8 requêtes et p95 ≤ 40 ms,
différentiel ≤ 20 ms.

Construction par les services (projet, droits, soumission, accords, avenant) ; le contenu en bloc
(bulk_create) tant que la version est un brouillon, seul état où la base l'accepte (migration 0002).
Relancé sur la même base, le projet déjà construit est réutilisé."""

from __future__ import annotations

import time

from cercle import services as cercle
from cercle.models import Membre, StatutCercle, StatutMembre, TypeMembre
from coordination.comptes.acteur import Acteur, TypeActeur
from ppa import selectors
from ppa import services as ppa
from ppa.differentiel import comparer
from ppa.exports import pdf_complet
from ppa.fhir import ContenuCharge
from ppa.models import Action, Besoin, Objectif, ProjetPersonnalise, StatutVersion, TypeProjet, VersionPPA

TITRE = "Projet du banc d'essai"
BESOINS = 12
OBJECTIFS = 30
ACTIONS = 100
FREQUENCES = ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=TU", "FREQ=DAILY", "FREQ=MONTHLY;BYMONTHDAY=1")


def _membre() -> Membre:
    """Un professionnel membre actif d'un cercle ouvert, qui exerce dans une structure."""
    membre = (
        Membre.objects.filter(
            type=TypeMembre.PROFESSIONNEL, statut=StatutMembre.ACTIF, cercle__statut=StatutCercle.ACTIF,
            exercice__structure__isnull=False, date_sortie__isnull=True,
        )
        .select_related("cercle__usager", "exercice__structure", "exercice__professionnel")
        .order_by("id")
        .first()
    )  # fmt: skip
    if membre is None:
        raise RuntimeError("Banc ppa : aucun professionnel membre d'un cercle (lancer d'abord `cercle`).")
    return membre


def acteurs(membre: Membre) -> tuple[Acteur, Acteur]:
    """(la personne, le professionnel) ; acteurs neufs, sans mémo de droits."""
    usager = membre.cercle.usager
    return (
        Acteur(TypeActeur.USAGER, usager.compte, usager=usager),
        Acteur(TypeActeur.PROFESSIONNEL, membre.exercice.professionnel.compte, exercice=membre.exercice),
    )


def _remplir(version: VersionPPA, membre: Membre) -> None:
    besoins = Besoin.objects.bulk_create(
        [Besoin(version=version, ordre=n, libelle=f"Besoin {n + 1}", code_serafin=f"1.{n % 3 + 1}.1") for n in
         range(BESOINS)]
    )  # fmt: skip
    objectifs = Objectif.objects.bulk_create(
        [
            Objectif(
                version=version, ordre=n, titre=f"Objectif {n + 1}",
                resultat_attendu=f"Résultat attendu de l'objectif {n + 1}",
                strategie="Pas à pas, avec la personne",
            )
            for n in range(OBJECTIFS)
        ]
    )  # fmt: skip
    lien = Objectif.besoins.through
    lien.objects.bulk_create(
        [lien(objectif_id=o.pk, besoin_id=besoins[(n + k) % BESOINS].pk) for n, o in enumerate(objectifs)
         for k in range(2)]
    )  # fmt: skip
    Action.objects.bulk_create(
        [
            Action(
                version=version, objectif=objectifs[n % OBJECTIFS], ordre=n, quoi=f"Action {n + 1}",
                intervenant=membre if n % 2 == 0 else None,
                intervenant_libelle="" if n % 2 == 0 else "Voisine",
                ou="Au domicile", frequence=FREQUENCES[n % len(FREQUENCES)], duree_minutes=30 + 15 * (n % 4),
            )
            for n in range(ACTIONS)
        ]
    )  # fmt: skip


def _modifier_avenant(avenant: VersionPPA, professionnel: Acteur) -> None:
    """Une dizaine de changements : 3 objectifs modifiés, 2 retirés (avec leurs actions), 2 ajoutés,
    3 fréquences d'action changées. En base, la version étant un brouillon (pas encore de service
    de modification ni de retrait)."""
    for numero in (1, 2, 3):
        Objectif.objects.filter(version=avenant, titre=f"Objectif {numero}").update(
            resultat_attendu=f"Résultat revu de l'objectif {numero}"
        )
    Objectif.objects.filter(version=avenant, titre__in=["Objectif 29", "Objectif 30"]).delete()
    for numero in (1, 2):
        ppa.ajouter_objectif(acteur=professionnel, version=avenant, titre=f"Nouvel objectif {numero}")
    Action.objects.filter(version=avenant, quoi__in=["Action 1", "Action 2", "Action 3"]).update(
        frequence="FREQ=WEEKLY;BYDAY=SA"
    )


def construire() -> tuple[Membre, VersionPPA, VersionPPA]:
    """(le professionnel membre, la version validée, l'avenant), construits ou retrouvés."""
    membre = _membre()
    usager = membre.cercle.usager
    structure = membre.exercice.structure
    existant = ProjetPersonnalise.objects.filter(
        usager=usager, structure=structure, type=TypeProjet.PPA
    ).first()
    if existant is not None:
        avenant = existant.versions.filter(derive_de__isnull=False).order_by("-numero").first()
        if avenant is not None:
            return membre, avenant.derive_de, avenant
        raise RuntimeError(
            "Banc ppa : un projet sans avenant existe déjà pour cette personne ; base à refaire."
        )
    personne, professionnel = acteurs(membre)
    cercle.accorder(acteur=personne, membre=membre, domaine="ppa", niveau=2)
    projet = ppa.creer_projet(acteur=professionnel, usager=usager, structure=structure, titre=TITRE)
    version = projet.versions.get()
    _remplir(version, membre)
    ppa.ecrire_paroles(
        acteur=professionnel, version=version, attentes="Rester chez moi.", projet_de_vie="Jardiner."
    )
    version = ppa.soumettre(acteur=professionnel, version=version)
    for acteur, partie in ((personne, "usager"), (professionnel, "structure")):
        ppa.donner_accord(acteur=acteur, version=version, partie=partie, empreinte_lue=version.empreinte)
    version.refresh_from_db()
    assert version.statut == StatutVersion.VALIDEE
    avenant = ppa.creer_avenant(acteur=professionnel, version=version)
    _modifier_avenant(avenant, professionnel)
    return membre, version, avenant


def mesurer(membre: Membre, validee: VersionPPA, avenant: VersionPPA, executions: int, compteur) -> dict:
    """Durées (secondes) et requêtes max de l'ouverture, du différentiel seul et avec chargement."""
    ouverture, differentiel, complet, requetes = [], [], [], 0
    for tour in range(executions + 10):  # 10 tours de chauffe, non comptés
        _, professionnel = acteurs(membre)
        with compteur() as compte:
            debut = time.perf_counter()
            lue = selectors.version_complete(professionnel, validee.uuid)
            duree = time.perf_counter() - debut
        if tour >= 10:
            ouverture.append(duree)
            requetes = max(requetes, len(compte))
    avant = selectors.version_complete(professionnel, validee.uuid)
    apres = selectors.version_complete(professionnel, avenant.uuid)
    for tour in range(executions + 10):
        debut = time.perf_counter()
        diff = comparer(avant, apres)
        if tour >= 10:
            differentiel.append(time.perf_counter() - debut)
    for _ in range(executions):
        _, professionnel = acteurs(membre)
        debut = time.perf_counter()
        selectors.differentiel_lisible(professionnel, validee.uuid, avenant.uuid)
        complet.append(time.perf_counter() - debut)
    # Le PDF complet (WeasyPrint) du même projet, contenu déjà chargé : quelques tours suffisent,
    # après un tour de chauffe (chargement des polices, ~2 s la première fois dans un processus).
    contenu = ContenuCharge.depuis(avant, list(validee.accords.all()))
    pdf_complet(contenu, edite_par="banc d'essai")
    pdf = []
    for _ in range(max(3, executions // 40)):
        debut = time.perf_counter()
        pdf_complet(contenu, edite_par="banc d'essai")
        pdf.append(time.perf_counter() - debut)
    return {
        "contenu": {
            "objectifs": len(lue.objectifs),
            "actions": len(lue.actions),
            "besoins": len(lue.besoins),
        },
        "ouverture": ouverture,
        "requetes_ouverture": requetes,
        "differentiel": differentiel,
        "differentiel_avec_chargement": complet,
        "pdf_complet": pdf,
        "changements": {
            "objectifs": [
                len(diff.objectifs.ajoutes),
                len(diff.objectifs.retires),
                len(diff.objectifs.modifies),
            ],
            "actions": [len(diff.actions.ajoutes), len(diff.actions.retires), len(diff.actions.modifies)],
        },
    }
