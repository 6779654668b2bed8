"""Projet personnalisé de démonstration (territoire « Val-Fictif », coordination/personnes/demo.py).

Le SSIAD et Marcelle construisent son projet : l'infirmière (référente) pose besoins, objectifs et
actions, Sophie, sa fille, écrit les attentes de sa mère, toutes deux donnent leur accord ; le projet
validé met ses actions dans les agendas. Puis un avenant en brouillon (une séance d'atelier en plus),
pour voir l'atelier et le différentiel. Tout passe par les services du PPA (droits, journal) ;
idempotent : rien n'est refait si le projet de Marcelle au SSIAD existe."""

from __future__ import annotations

from coordination.personnes.demo import Bilan, uuid_demo

TITRE = "Continuer à vivre chez moi"


def charger_ppa(bilan: Bilan) -> None:
    """Écrit le projet de démonstration (dans la transaction de `charger_demo`)."""
    from cercle.demo import _acteur_pro, _membres_ouverts
    from coordination.comptes.acteur import Acteur, TypeActeur
    from coordination.personnes.models import Proche, Structure, Usager
    from ppa import services
    from ppa.models import ProjetPersonnalise

    usager = Usager.objects.get(uuid=uuid_demo("usager", "marcelle"))
    ssiad = Structure.objects.get(uuid=uuid_demo("structure", "ssiad"))
    if ProjetPersonnalise.objects.filter(usager=usager, structure=ssiad).exists():
        bilan.noter("projets personnalisés", "inchanges")
        return
    infirmiere = _acteur_pro("nguyen", "ssiad")
    sophie_proche = Proche.objects.get(uuid=uuid_demo("proche", "sophie-marcelle"))
    sophie = Acteur(TypeActeur.PROCHE, sophie_proche.compte, proche=sophie_proche, usager=usager)
    marcelle = Acteur(TypeActeur.USAGER, usager.compte, usager=usager)
    membres = _membres_ouverts(usager)

    projet = services.creer_projet(acteur=infirmiere, usager=usager, structure=ssiad, titre=TITRE)
    version = projet.versions.get()
    services.ecrire_paroles(
        acteur=sophie, version=version,
        attentes="Rester dans ma maison, avec mon chat. Voir mes amies le jeudi.",
        projet_de_vie="Jardiner au printemps et garder mes habitudes.",
    )  # fmt: skip
    toilette = services.ajouter_besoin(
        acteur=infirmiere, version=version, libelle="Prendre soin de soi (toilette)", code_serafin="1.2.1.1"
    )
    lien = services.ajouter_besoin(
        acteur=infirmiere, version=version, libelle="Garder des liens avec ses amies", code_serafin="1.3.1.1"
    )
    objectif_toilette = services.ajouter_objectif(
        acteur=infirmiere, version=version, titre="Faire sa toilette avec le moins d'aide possible",
        resultat_attendu="Douche avec une aide légère trois matins par semaine", besoins=[toilette],
    )  # fmt: skip
    objectif_amies = services.ajouter_objectif(
        acteur=infirmiere, version=version, titre="Retrouver ses amies chaque semaine", besoins=[lien],
        strategie="Accompagnement au club du jeudi",
    )  # fmt: skip
    services.ajouter_action(
        acteur=infirmiere, objectif=objectif_toilette, quoi="Aide à la toilette",
        intervenant=membres["nguyen"], ou="Domicile", frequence="FREQ=WEEKLY;BYDAY=MO,WE,FR",
        duree_minutes=45,
    )  # fmt: skip
    services.ajouter_action(
        acteur=infirmiere, objectif=objectif_amies, quoi="Accompagnement au club des aînés",
        intervenant=membres["mercier"], ou="Club des aînés de Val-Fictif", frequence="FREQ=WEEKLY;BYDAY=TH",
        duree_minutes=120,
    )  # fmt: skip
    services.donner_avis(
        acteur=sophie, objectif=objectif_amies, avis="d_accord", commentaire="Le jeudi, c'est mon jour."
    )
    version = services.soumettre(acteur=infirmiere, version=version)
    for acteur, partie in ((marcelle, "usager"), (infirmiere, "structure")):
        services.donner_accord(acteur=acteur, version=version, partie=partie, empreinte_lue=version.empreinte)
    version.refresh_from_db()
    avenant = services.creer_avenant(acteur=infirmiere, version=version)
    services.commenter(
        acteur=sophie, version=avenant, partie="actions",
        texte="Maman aimerait aussi l'atelier mémoire du mardi, est-ce possible ?",
    )  # fmt: skip
    bilan.noter("projets personnalisés", "crees")
