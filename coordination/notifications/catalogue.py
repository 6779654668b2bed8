"""Le catalogue des notifications : quels événements (natures), par quels canaux, à quel rythme.

Une préférence d'une personne = nature × canal → fréquence. Les natures reprennent les événements
rangés par le cahier (`EvenementCahier`), l'agenda (`NotificationAgenda`), le PPA (`RappelRevue`) et
les signaux génériques des notifications (cercle, contributions et validations du PPA)."""

from __future__ import annotations

from django.db import models


class NatureNotification(models.TextChoices):
    # Cercle
    MEMBRE_AJOUTE = "cercle.membre_ajoute", "Un membre rejoint le cercle"
    DEMANDE_ADHESION = "cercle.demande", "Une demande pour rejoindre un cercle"
    # Cahier de liaison
    NOUVELLE_NOTE = "cahier.nouvelle_note", "Nouvelle transmission"
    NOTE_URGENTE = "cahier.note_urgente", "Transmission urgente"
    ACCUSE_DEMANDE = "cahier.accuse_demande", "Accusé de réception demandé"
    REPONSE = "cahier.reponse", "Réponse à une transmission"
    ALERTE = "cahier.alerte", "Alerte"
    # Agenda
    REUNION_DEMANDEE = "agenda.reunion_demandee", "Réunion demandée"
    CONTRE_PROPOSITION = "agenda.contre_proposition", "Autre créneau proposé"
    REUNION_CONFIRMEE = "agenda.reunion_confirmee", "Réunion confirmée"
    REUNION_DEPLACEE = "agenda.reunion_deplacee", "Réunion déplacée"
    REUNION_ANNULEE = "agenda.reunion_annulee", "Réunion annulée"
    REUNION_EXPIREE = "agenda.reunion_expiree", "Réunion sans accord"
    RDV_MODIFIE = "agenda.rdv_modifie", "Rendez-vous modifié"
    RDV_ANNULE = "agenda.rdv_annule", "Rendez-vous annulé"
    # Projet personnalisé
    PPA_CONTRIBUTION = "ppa.contribution", "Contribution au projet personnalisé"
    PPA_VALIDATION = "ppa.validation", "Projet personnalisé validé"
    PPA_REVUE = "ppa.revue_due", "Revue du projet personnalisé à faire"


class Canal(models.TextChoices):
    DANS_LE_PORTAIL = "portail", "Dans le portail"
    COURRIEL = "courriel", "Courriel"
    SMS = "sms", "SMS"
    MSSANTE = "mssante", "MSSanté (professionnels)"


class Frequence(models.TextChoices):
    IMMEDIATE = "immediate", "Tout de suite"
    QUOTIDIENNE = "quotidienne", "Résumé du jour"
    HEBDOMADAIRE = "hebdomadaire", "Résumé de la semaine"
    JAMAIS = "jamais", "Jamais"
