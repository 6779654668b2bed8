"""Les actions du journal en français simple, pour la page « Qui a consulté mon dossier ».

La phrase suit le nom de la personne qui a agi : « Sophie MARTIN a consulté votre cercle ».
Un code absent de la table garde une phrase neutre (et son code, pour le support)."""

from __future__ import annotations

LIBELLES_ACTIONS: dict[str, str] = {
    # Consultations
    "lecture": "a consulté votre dossier",
    "cercle.lecture": "a consulté votre cercle",
    "cercle.consentement.lecture": "a consulté la preuve d'un accord",
    "journal.lecture_acces": "a regardé qui a consulté votre dossier",
    "journal.consultation": "a consulté le journal (administration technique)",
    "usager.doublon.consultation": "a vu votre identité en vérifiant un doublon possible",
    # Membres du cercle
    "cercle.membre.ajout": "a ajouté une personne à votre cercle",
    "cercle.membre.confirmation": "a confirmé un professionnel proposé pour votre cercle",
    "cercle.membre.ecarte": "a écarté un professionnel proposé pour votre cercle",
    "cercle.membre.sortie": "a retiré une personne de votre cercle",
    "cercle.membre.suspension": "a suspendu une personne de votre cercle",
    "cercle.membre.reprise": "a levé la suspension d'une personne de votre cercle",
    "cercle.historique.import": "a importé votre historique de remboursement",
    "cercle.acces_refuse": "a tenté une action sur votre cercle sans en avoir le droit (refusée)",
    # Droits
    "cercle.droit.octroi": "a donné un droit à une personne de votre cercle",
    "cercle.droit.retrait": "a retiré un droit à une personne de votre cercle",
    # Délégations
    "cercle.delegation.proposition": "a demandé à se faire assister (délégation)",
    "cercle.delegation.accord": "a accepté une délégation",
    "cercle.delegation.refus": "a refusé une délégation",
    "cercle.delegation.fin": "a mis fin à une délégation",
    # Demandes d'adhésion
    "cercle.adhesion.demande": "a demandé à entrer dans votre cercle",
    "cercle.adhesion.acceptee": "a accepté une demande d'entrée dans votre cercle",
    "cercle.adhesion.refusee": "a refusé une demande d'entrée dans votre cercle",
    # Cahier de liaison
    "cahier.note.ecriture": "a écrit une note dans votre cahier de liaison",
    "cahier.note.reponse": "a répondu à une note de votre cahier de liaison",
    "cahier.note.modification": (
        "a modifié une note de votre cahier de liaison (la version précédente est gardée)"
    ),
    "cahier.note.desactivation": "a désactivé une note de votre cahier de liaison",
    "cahier.accuse.demande": "a demandé un accusé de réception sur une note de votre cahier de liaison",
    "cahier.accuse.reception": "a accusé réception d'une note de votre cahier de liaison",
    "cahier.alerte": "a alerté des membres de votre cercle sur une note de votre cahier de liaison",
    "cahier.lecture_marquee": "a lu votre cahier de liaison",
    "cahier.recherche": "a trouvé une note de votre cahier de liaison en cherchant dans ses cahiers",
    # Agenda
    "agenda.lecture": "a consulté votre agenda",
    "agenda.evenement.creation": "a ajouté un rendez-vous à votre agenda",
    "agenda.evenement.modification": "a modifié un rendez-vous de votre agenda",
    "agenda.evenement.annulation": "a annulé un rendez-vous de votre agenda",
    "agenda.evenement.reponse": "a répondu à une invitation à un rendez-vous de votre agenda",
    "agenda.occurrence.modification": "a déplacé une séance d'un rendez-vous régulier de votre agenda",
    "agenda.occurrence.annulation": "a annulé une séance d'un rendez-vous régulier de votre agenda",
    "agenda.flux.creation": "a créé une adresse d'abonnement à votre agenda",
    "agenda.flux.rotation": "a changé l'adresse d'abonnement à votre agenda (l'ancienne ne marche plus)",
    "agenda.flux.lecture": "a synchronisé votre agenda dans son calendrier",
    "agenda.preferences": "a noté vos moments préférés pour les rendez-vous",
    "agenda.reglages": "a changé ses réglages d'agenda",
    "agenda.caldav.liaison": "a relié son calendrier personnel (CalDAV) au portail",
    "agenda.occupations.import": "a importé ses temps occupés d'un autre calendrier",
    "agenda.reunion.confirmation": "a confirmé une réunion vous concernant (tous ont accepté)",
    "agenda.reunion.contre_proposition": "a proposé un autre créneau pour une réunion vous concernant",
    "agenda.reunion.deplacement": "a déplacé une réunion vous concernant",
    "agenda.reunion.expiration": "a constaté qu'une réunion vous concernant n'a pas trouvé d'accord à temps",
    # Identité
    "usager.creation": "a créé votre dossier",
    "usager.identite.modification": "a modifié votre identité",
    "proche.ajout": "a enregistré un de vos proches",
    # Connexions (journal technique ; elles ne concernent pas un dossier d'usager)
    "connexion.psc": "s'est connecté avec Pro Santé Connect",
    "connexion.psc.echec": "a tenté de se connecter avec Pro Santé Connect (refusé)",
    "deconnexion.psc": "s'est déconnecté (portail et Pro Santé Connect)",
    "professionnel.modification": "a mis à jour la fiche d'un professionnel",
    # Invitations et comptes (ADR 0014)
    "invitation.emission": "a invité un de vos proches à créer son compte",
    "invitation.utilisation": "a créé son compte avec une invitation",
    "invitation.revocation": "a annulé une invitation",
    "invitation.expiration": "a constaté l'expiration d'une invitation",
    "invitation.code_refuse": "a saisi un code d'invitation refusé",
    "connexion.reussie": "s'est connecté au portail",
    "connexion.echec": "a échoué à se connecter (mot de passe erroné)",
    "connexion.verrouillage": "a vu son compte verrouillé après trop d'échecs de connexion",
    "connexion.refus_verrouille": "a tenté de se connecter à un compte verrouillé",
    "deconnexion": "s'est déconnecté du portail",
    # Second facteur d'un compte local (clé de sécurité, application, codes de secours)
    "second_facteur.ajout": "a ajouté un moyen de confirmer sa connexion",
    "second_facteur.retrait": "a retiré un moyen de confirmer sa connexion",
}

LIBELLES_TYPES_ACTEUR: dict[str, str] = {
    "professionnel": "professionnel",
    "proche": "proche",
    "usager": "vous-même",
    "systeme": "traitement automatique du portail",
    "sans_personne": "administration technique",
    "anonyme": "personne non connectée",
}


def libelle_action(code: str) -> str:
    return LIBELLES_ACTIONS.get(code, f"a fait une action sur votre dossier (« {code} »)")


def libelle_type_acteur(code: str) -> str:
    return LIBELLES_TYPES_ACTEUR.get(code, code)
