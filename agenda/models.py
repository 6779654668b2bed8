"""Agenda : événements (rendez-vous, interventions, réunions), leurs participants, les
disponibilités et absences des professionnels, les flux ICS privés (ADR 0021).

Un événement récurrent est **une ligne** (la série : premier début, première fin, RRULE,
EXDATE) ; une occurrence modifiée ou annulée est une ligne fille (`serie`, `recurrence_id`).
Les occurrences sont dépliées à la lecture (`agenda/recurrence.py`), jamais stockées.
Instants en UTC en base ; `fuseau` garde l'heure murale de la série (10 h reste 10 h après le
changement d'heure)."""

from __future__ import annotations

import datetime
import secrets
import uuid

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from coordination.modeles import ModeleDeBase

FUSEAU_PAR_DEFAUT = "Europe/Paris"


class StatutEvenement(models.TextChoices):
    """Statuts FHIR Appointment (valeurs) en français (libellés)."""

    PROPOSE = "proposed", "proposé"
    EN_ATTENTE = "pending", "en attente des réponses"
    RESERVE = "booked", "confirmé"
    ANNULE = "cancelled", "annulé"
    ABSENT = "noshow", "personne absente"


class StatutParticipation(models.TextChoices):
    """PARTSTAT iCalendar / ParticipationStatus FHIR."""

    A_REPONDRE = "needs-action", "réponse attendue"
    ACCEPTE = "accepted", "accepte"
    DECLINE = "declined", "décline"
    PROVISOIRE = "tentative", "peut-être"


class TypeParticipant(models.TextChoices):
    PROFESSIONNEL = "professionnel", "professionnel"
    USAGER = "usager", "usager"
    PROCHE = "proche", "proche"


class Evenement(ModeleDeBase):
    """Un rendez-vous, une intervention ou une réunion ; ou une série récurrente de ceux-ci."""

    titre = models.CharField("titre", max_length=200)
    motif = models.CharField("motif", max_length=300, blank=True)
    description = models.TextField("description", blank=True)
    usager = models.ForeignKey(
        "personnes.Usager",
        verbose_name="usager concerné",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evenements",
    )
    debut = models.DateTimeField("début")
    fin = models.DateTimeField("fin")
    journee_entiere = models.BooleanField("toute la journée", default=False)
    fuseau = models.CharField("fuseau horaire", max_length=40, default=FUSEAU_PAR_DEFAUT)
    statut = models.CharField(
        "statut", max_length=12, choices=StatutEvenement, default=StatutEvenement.RESERVE
    )
    # Lieux : [{"libelle": …, "adresse": …, "visio": "https://…"}] (plusieurs adresses possibles).
    lieux = models.JSONField("lieux", default=list, blank=True)
    # Récurrence (RFC 5545) : règle normalisée par agenda/recurrence.py, dates exclues.
    rrule = models.CharField("règle de récurrence", max_length=300, blank=True)
    exdates = ArrayField(
        models.DateTimeField(), verbose_name="occurrences retirées", default=list, blank=True
    )
    # Fin de la dernière occurrence (NULL : série sans fin) ; `fin` pour un événement simple.
    fin_serie = models.DateTimeField("fin de la série", null=True, blank=True)
    # Occurrence modifiée d'une série : la série et le début d'origine de l'occurrence remplacée.
    serie = models.ForeignKey(
        "self",
        verbose_name="série",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="remplacements",
    )
    recurrence_id = models.DateTimeField("début d'origine de l'occurrence", null=True, blank=True)
    # Provenance : « portail », « dui:<FINESS> », « caldav », « mes », « ics »… et l'identifiant
    # de l'événement chez elle (dédoublonnage, mise à jour conditionnelle FHIR).
    systeme_source = models.CharField("système source", max_length=100, default="portail")
    identifiant_externe = models.CharField("identifiant externe", max_length=255, blank=True)
    cree_par = models.CharField("créé par (clé de l'acteur)", max_length=60)
    cree_par_nom = models.CharField("créé par", max_length=200)
    sequence = models.PositiveIntegerField("version (SEQUENCE)", default=0)

    class Meta:
        verbose_name = "événement"
        verbose_name_plural = "événements"
        indexes = [
            # Agenda d'un usager sur une fenêtre : début avant la fin de la fenêtre, fin de série
            # après son début (ARCHITECTURE : B-tree + test de chevauchement, pas de GiST).
            models.Index(fields=["usager", "debut"], name="agenda_evt_usager_debut_idx"),
            models.Index(fields=["serie"], name="agenda_evt_serie_idx", condition=Q(serie__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(fin__gt=F("debut")), name="agenda_evt_fin_apres_debut"),
            models.CheckConstraint(
                condition=Q(fin_serie__isnull=True) | Q(fin_serie__gte=F("fin")),
                name="agenda_evt_fin_serie",
            ),
            models.CheckConstraint(
                condition=Q(serie__isnull=True, recurrence_id__isnull=True)
                | Q(serie__isnull=False, recurrence_id__isnull=False, rrule=""),
                name="agenda_evt_remplacement_complet",
            ),
            models.UniqueConstraint(
                fields=["serie", "recurrence_id"],
                name="agenda_evt_un_remplacement_par_occurrence",
                condition=Q(serie__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["systeme_source", "identifiant_externe"],
                name="agenda_evt_identifiant_externe_unique",
                condition=~Q(identifiant_externe="") & Q(serie__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.titre

    @property
    def est_recurrent(self) -> bool:
        return bool(self.rrule)


class Participant(models.Model):
    """Une personne conviée à un événement, avec sa réponse. Le nom est figé à l'invitation."""

    evenement = models.ForeignKey(
        Evenement, verbose_name="événement", on_delete=models.CASCADE, related_name="participants"
    )
    type = models.CharField("type", max_length=15, choices=TypeParticipant)
    professionnel = models.ForeignKey(
        "personnes.Professionnel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participations",
    )
    exercice = models.ForeignKey(
        "personnes.Exercice",
        verbose_name="au titre de",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participations",
    )
    usager = models.ForeignKey(
        "personnes.Usager", on_delete=models.PROTECT, null=True, blank=True, related_name="participations"
    )
    proche = models.ForeignKey(
        "personnes.Proche", on_delete=models.PROTECT, null=True, blank=True, related_name="participations"
    )
    nom = models.CharField("nom", max_length=200)
    statut = models.CharField(
        "réponse", max_length=15, choices=StatutParticipation, default=StatutParticipation.A_REPONDRE
    )
    requis = models.BooleanField("présence requise", default=True)
    repondu_le = models.DateTimeField("répondu le", null=True, blank=True)

    class Meta:
        verbose_name = "participant"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(type=TypeParticipant.PROFESSIONNEL, professionnel__isnull=False, usager__isnull=True)
                    & Q(proche__isnull=True)
                )
                | Q(
                    type=TypeParticipant.USAGER,
                    usager__isnull=False,
                    professionnel__isnull=True,
                    proche__isnull=True,
                )
                | Q(
                    type=TypeParticipant.PROCHE,
                    proche__isnull=False,
                    professionnel__isnull=True,
                    usager__isnull=True,
                ),
                name="agenda_participant_une_personne",
            ),
            models.UniqueConstraint(
                fields=["evenement", "professionnel"],
                name="agenda_participant_pro_unique",
                condition=Q(professionnel__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["evenement", "usager"],
                name="agenda_participant_usager_unique",
                condition=Q(usager__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["evenement", "proche"],
                name="agenda_participant_proche_unique",
                condition=Q(proche__isnull=False),
            ),
        ]
        indexes = [
            # Agenda d'un professionnel, toutes structures confondues.
            models.Index(
                fields=["professionnel", "evenement"],
                name="agenda_part_pro_idx",
                condition=Q(professionnel__isnull=False),
            ),
            models.Index(
                fields=["proche", "evenement"],
                name="agenda_part_proche_idx",
                condition=Q(proche__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nom} ({self.get_statut_display()})"


class Disponibilite(ModeleDeBase):
    """Plage d'ouverture hebdomadaire d'un professionnel, en heure murale de son fuseau ; propre à
    une structure (`exercice`) ou valable pour toutes."""

    professionnel = models.ForeignKey(
        "personnes.Professionnel", on_delete=models.CASCADE, related_name="disponibilites"
    )
    exercice = models.ForeignKey(
        "personnes.Exercice", verbose_name="structure", on_delete=models.CASCADE, null=True, blank=True
    )
    jours = ArrayField(models.PositiveSmallIntegerField(), verbose_name="jours (0 = lundi)")
    heure_debut = models.TimeField("de")
    heure_fin = models.TimeField("à")
    fuseau = models.CharField("fuseau horaire", max_length=40, default=FUSEAU_PAR_DEFAUT)
    du = models.DateField("à partir du", null=True, blank=True)
    au = models.DateField("jusqu'au", null=True, blank=True)
    toutes_les_n_semaines = models.PositiveSmallIntegerField("toutes les n semaines", default=1)

    class Meta:
        verbose_name = "disponibilité"
        constraints = [
            models.CheckConstraint(condition=Q(heure_fin__gt=F("heure_debut")), name="agenda_dispo_heures"),
            models.CheckConstraint(
                condition=Q(du__isnull=True) | Q(au__isnull=True) | Q(au__gte=F("du")),
                name="agenda_dispo_dates",
            ),
            models.CheckConstraint(
                condition=Q(toutes_les_n_semaines__gte=1, toutes_les_n_semaines__lte=8),
                name="agenda_dispo_semaines",
            ),
        ]


class MotifAbsence(models.TextChoices):
    CONGE = "conge", "congé"
    FORMATION = "formation", "formation"
    MALADIE = "maladie", "arrêt"
    AUTRE = "autre", "autre absence"


class Absence(ModeleDeBase):
    """Congé ou absence d'un professionnel. Les autres ne voient que « absent » : le motif reste
    à lui. Deux absences d'une même personne ne se chevauchent pas (contrainte d'exclusion)."""

    professionnel = models.ForeignKey(
        "personnes.Professionnel", on_delete=models.CASCADE, related_name="absences"
    )
    periode = DateTimeRangeField("période")
    motif = models.CharField("motif", max_length=12, choices=MotifAbsence, default=MotifAbsence.CONGE)
    commentaire = models.CharField("commentaire", max_length=200, blank=True)

    @property
    def dernier_jour(self) -> datetime.date:
        """Dernier jour d'absence, compris (la période finit, exclue, à minuit le lendemain)."""
        return timezone.localtime(self.periode.upper - datetime.timedelta(microseconds=1)).date()

    class Meta:
        verbose_name = "absence"
        constraints = [
            ExclusionConstraint(
                name="agenda_absences_sans_chevauchement",
                expressions=[("professionnel", RangeOperators.EQUAL), ("periode", RangeOperators.OVERLAPS)],
            ),
        ]


def nouveau_jeton() -> str:
    return secrets.token_urlsafe(32)


class FluxIcs(ModeleDeBase):
    """Flux webcal privé : l'agenda d'un professionnel (tous ses exercices) ou celui d'un usager
    lu par un proche ou un membre. Le jeton secret est l'unique clé d'accès ; les droits de
    `titulaire` sont revérifiés à chaque lecture. Tourner le jeton rend l'ancien inutilisable."""

    jeton = models.CharField("jeton", max_length=64, unique=True, default=nouveau_jeton)
    compte = models.ForeignKey("comptes.Compte", on_delete=models.CASCADE, related_name="flux_ics")
    titulaire = models.CharField("titulaire (clé de l'acteur)", max_length=60)
    usager = models.ForeignKey(
        "personnes.Usager", on_delete=models.CASCADE, null=True, blank=True, related_name="flux_ics"
    )
    dernier_acces = models.DateTimeField("dernier accès", null=True, blank=True)
    cree_le_jeton = models.DateTimeField("jeton créé le", default=timezone.now)

    class Meta:
        verbose_name = "flux ICS"
        verbose_name_plural = "flux ICS"
        constraints = [
            models.UniqueConstraint(
                fields=["titulaire"], name="agenda_flux_pro_unique", condition=Q(usager__isnull=True)
            ),
            models.UniqueConstraint(
                fields=["titulaire", "usager"],
                name="agenda_flux_usager_unique",
                condition=Q(usager__isnull=False),
            ),
        ]


# --- Réunions de coordination (cas d'usage 4 et 4') -----------------------------------------------


class StatutDemande(models.TextChoices):
    OUVERTE = "ouverte", "en attente des réponses"
    RESERVEE = "reservee", "confirmée"
    ANNULEE = "annulee", "annulée"
    EXPIREE = "expiree", "sans accord à la date limite"


class DemandeReunion(ModeleDeBase):
    """Une demande de réunion : le créneau retenu est tenu (événement « en attente », provisoire
    dans chaque agenda) jusqu'à ce que tous les participants requis acceptent, ou jusqu'à la date
    limite de réponse."""

    evenement = models.OneToOneField(
        Evenement, verbose_name="réunion", on_delete=models.PROTECT, related_name="demande"
    )
    demandeur = models.ForeignKey(
        "personnes.Exercice",
        verbose_name="demandée par",
        on_delete=models.PROTECT,
        related_name="demandes_reunion",
    )
    duree = models.DurationField("durée")
    horizon_debut = models.DateTimeField("chercher à partir du")
    horizon_fin = models.DateTimeField("chercher jusqu'au")
    date_limite = models.DateTimeField("réponses attendues avant le")
    statut = models.CharField("statut", max_length=10, choices=StatutDemande, default=StatutDemande.OUVERTE)
    conclue_le = models.DateTimeField("conclue le", null=True, blank=True)

    class Meta:
        verbose_name = "demande de réunion"
        verbose_name_plural = "demandes de réunion"
        indexes = [
            models.Index(
                fields=["date_limite"], name="agenda_demande_ouverte_idx", condition=Q(statut="ouverte")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon_fin__gt=F("horizon_debut")), name="agenda_demande_horizon"
            ),
            models.CheckConstraint(condition=Q(duree__gt=datetime.timedelta(0)), name="agenda_demande_duree"),
        ]


class ContreProposition(models.Model):
    """Un participant propose un autre créneau ; le demandeur peut le retenir."""

    demande = models.ForeignKey(DemandeReunion, on_delete=models.CASCADE, related_name="contre_propositions")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="contre_propositions")
    debut = models.DateTimeField("début proposé")
    fin = models.DateTimeField("fin proposée")
    commentaire = models.CharField("commentaire", max_length=300, blank=True)
    proposee_le = models.DateTimeField("proposée le", default=timezone.now)
    retenue_le = models.DateTimeField("retenue le", null=True, blank=True)

    class Meta:
        verbose_name = "contre-proposition"
        constraints = [
            models.CheckConstraint(condition=Q(fin__gt=F("debut")), name="agenda_contre_proposition_horaire"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.nom} propose {self.debut:%d/%m %H:%M}"


class NatureEvenementAgenda(models.TextChoices):
    REUNION_DEMANDEE = "reunion_demandee", "réunion demandée"
    CONTRE_PROPOSITION = "contre_proposition", "autre créneau proposé"
    REUNION_CONFIRMEE = "reunion_confirmee", "réunion confirmée"
    REUNION_DEPLACEE = "reunion_deplacee", "réunion déplacée"
    REUNION_ANNULEE = "reunion_annulee", "réunion annulée"
    REUNION_EXPIREE = "reunion_expiree", "réunion sans accord"
    RENDEZ_VOUS_MODIFIE = "rdv_modifie", "rendez-vous modifié"
    RENDEZ_VOUS_ANNULE = "rdv_annule", "rendez-vous annulé"


class NotificationAgenda(models.Model):
    """Événement à notifier aux participants, rangé dans la transaction de l'écriture qui le cause ;
    la distribution (préférences, canaux) vient du lot des notifications (issue 8)."""

    uuid = models.UUIDField("identifiant public", unique=True, editable=False, default=uuid.uuid4)
    nature = models.CharField("nature", max_length=20, choices=NatureEvenementAgenda)
    evenement = models.ForeignKey(Evenement, on_delete=models.CASCADE, related_name="notifications")
    destinataires = models.ManyToManyField(Participant, related_name="notifications", blank=True)
    cree_le = models.DateTimeField("créé le", default=timezone.now)
    distribue_le = models.DateTimeField("distribué le", null=True, blank=True)

    class Meta:
        verbose_name = "notification d'agenda"
        indexes = [
            models.Index(
                fields=["cree_le"],
                name="agenda_notif_a_distribuer_idx",
                condition=Q(distribue_le__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.get_nature_display()


# --- Réglages, préférences, occupations venues d'ailleurs -----------------------------------------


class ReglagesAgenda(models.Model):
    """Réglages d'agenda d'un professionnel : temps à garder libre avant et après une réunion
    (trajets des visites à domicile), zone des jours fériés (Alsace-Moselle, outre-mer)."""

    professionnel = models.OneToOneField(
        "personnes.Professionnel", on_delete=models.CASCADE, related_name="reglages_agenda"
    )
    tampon_avant = models.DurationField("temps libre avant une réunion", default=datetime.timedelta(0))
    tampon_apres = models.DurationField("temps libre après une réunion", default=datetime.timedelta(0))
    zone_feries = models.CharField("jours fériés de", max_length=30, default="metropole")

    class Meta:
        verbose_name = "réglages d'agenda"
        verbose_name_plural = "réglages d'agenda"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    tampon_avant__gte=datetime.timedelta(0), tampon_avant__lte=datetime.timedelta(hours=4)
                )
                & Q(tampon_apres__gte=datetime.timedelta(0), tampon_apres__lte=datetime.timedelta(hours=4)),
                name="agenda_reglages_tampons",
            ),
        ]

    def __str__(self) -> str:
        return f"Réglages d'agenda de {self.professionnel}"


class PreferenceHoraire(models.Model):
    """Moment que l'usager préfère pour ses rendez-vous (« plutôt le matin »), dit par lui ou par
    un proche ; sert au classement des créneaux des réunions qui le concernent."""

    usager = models.ForeignKey(
        "personnes.Usager", on_delete=models.CASCADE, related_name="preferences_horaires"
    )
    jours = ArrayField(models.PositiveSmallIntegerField(), verbose_name="jours (0 = lundi)")
    heure_debut = models.TimeField("de")
    heure_fin = models.TimeField("à")

    class Meta:
        verbose_name = "préférence horaire"
        constraints = [
            models.CheckConstraint(
                condition=Q(heure_fin__gt=F("heure_debut")), name="agenda_preference_heures"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.heure_debut:%H:%M}–{self.heure_fin:%H:%M}"


class OccupationExterne(models.Model):
    """Un temps occupé venu d'un calendrier extérieur du professionnel (import ICS, libre/occupé,
    CalDAV) : seulement l'intervalle, jamais le contenu. Une ligne par occurrence dépliée ;
    réimporter une source remplace ses lignes (clé : source, uid, début d'origine)."""

    professionnel = models.ForeignKey(
        "personnes.Professionnel", on_delete=models.CASCADE, related_name="occupations_externes"
    )
    source = models.CharField("source", max_length=100)
    uid = models.CharField("identifiant iCalendar", max_length=255)
    recurrence_id = models.DateTimeField("début d'origine", null=True, blank=True)
    periode = DateTimeRangeField("période")

    class Meta:
        verbose_name = "occupation extérieure"
        verbose_name_plural = "occupations extérieures"
        indexes = [models.Index(fields=["professionnel", "source", "uid"], name="agenda_occ_ext_source_idx")]

    def __str__(self) -> str:
        return f"Occupé ({self.source})"


class CalendrierCalDAV(ModeleDeBase):
    """Le calendrier CalDAV qu'un professionnel a choisi (cas d'usage 3) : synchronisé dans les deux
    sens par `agenda/caldav_portail.py`. Le mot de passe est gardé chiffré (ADR 0024)."""

    professionnel = models.OneToOneField(
        "personnes.Professionnel", on_delete=models.CASCADE, related_name="calendrier_caldav"
    )
    url = models.URLField("adresse du calendrier", max_length=500)
    utilisateur = models.CharField("identifiant", max_length=200)
    mot_de_passe_chiffre = models.TextField("mot de passe (chiffré)")
    jeton_sync = models.TextField("jeton de synchronisation", blank=True)
    derniere_synchro = models.DateTimeField("dernière synchronisation", null=True, blank=True)
    derniere_erreur = models.CharField("dernière erreur", max_length=500, blank=True)

    class Meta:
        verbose_name = "calendrier CalDAV"
        verbose_name_plural = "calendriers CalDAV"

    def __str__(self) -> str:
        return self.url


class LienCalDAV(models.Model):
    """Un événement synchronisé avec le calendrier CalDAV (agenda/synchronisation.Lien en table)."""

    calendrier = models.ForeignKey(CalendrierCalDAV, on_delete=models.CASCADE, related_name="liens")
    uid = models.CharField("UID", max_length=255)
    href = models.CharField("adresse", max_length=500)
    etag = models.CharField("ETag", max_length=200)
    origine = models.CharField("origine", max_length=10)
    version_locale = models.PositiveIntegerField("version envoyée", default=0)

    class Meta:
        verbose_name = "lien CalDAV"
        constraints = [
            models.UniqueConstraint(fields=["calendrier", "uid"], name="agenda_lien_caldav_unique")
        ]

    def __str__(self) -> str:
        return self.uid


class AppairageMES(ModeleDeBase):
    """L'accord d'une personne pour que son agenda soit partagé avec Mon espace santé, et
    l'appariement de son compte MES (ADR 0034) : qui a donné l'accord (la personne ou son
    représentant légal en titre), quand, le jeton d'appariement (chiffré, jamais montré), le
    retrait. Un par personne ; un retrait efface le jeton, un nouvel accord le remplace."""

    usager = models.OneToOneField(
        "personnes.Usager", on_delete=models.CASCADE, related_name="appairage_mes", verbose_name="personne"
    )
    accord_par = models.CharField("accord donné par (clé de l'acteur)", max_length=120)
    accord_par_nom = models.CharField("accord donné par", max_length=200)
    accord_qualite = models.CharField("en qualité de", max_length=60)
    accord_le = models.DateTimeField("accord donné le")
    jeton_chiffre = models.TextField("jeton d'appariement (chiffré)", blank=True)
    retire_le = models.DateTimeField("accord retiré le", null=True, blank=True)
    retire_par_nom = models.CharField("accord retiré par", max_length=200, blank=True)
    derniere_relecture = models.DateTimeField("dernière relecture de MES", null=True, blank=True)
    derniere_erreur = models.CharField("dernière erreur de relecture", max_length=500, blank=True)

    class Meta:
        verbose_name = "appariement Mon espace santé"
        verbose_name_plural = "appariements Mon espace santé"
        constraints = [
            models.CheckConstraint(
                condition=Q(retire_le__isnull=True) & ~Q(jeton_chiffre="")
                | Q(retire_le__isnull=False) & Q(jeton_chiffre=""),
                name="agenda_appairage_mes_jeton_si_accord",
                violation_error_message="Un accord en cours a un jeton ; un accord retiré n'en a plus.",
            )
        ]

    def __str__(self) -> str:
        return f"Mon espace santé de {self.usager} ({'retiré' if self.retire_le else 'en cours'})"

    @property
    def en_cours(self) -> bool:
        return self.retire_le is None and bool(self.jeton_chiffre)
