"""Les notifications (docs/decisions/0035-notifications.md).

Quatre sources d'événements, chacune écrite dans la transaction qui la cause et attendant sa
distribution (`distribue_le` nul) : `cahier_liaison.EvenementCahier`, `agenda.NotificationAgenda`,
`ppa.RappelRevue` et, pour ce qui n'a pas de table à soi, `Signal` (cercle, PPA). La distribution
(`distribution.py`) en fait une `Notification` par compte destinataire, puis, selon ses
`Preference`s, un message de la boîte d'envoi tout de suite ou un `ElementResume` pour le résumé
du jour ou de la semaine."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from coordination.modeles import ModeleDeBase
from coordination.notifications.catalogue import Canal, Frequence, NatureNotification


class Source(models.TextChoices):
    """La table d'où vient l'événement notifié."""

    CAHIER = "cahier", "cahier de liaison"
    AGENDA = "agenda", "agenda"
    REVUE = "revue", "revue du projet personnalisé"
    SIGNAL = "signal", "signal"


class Signal(ModeleDeBase):
    """Un événement à notifier qui n'a pas de table à lui (membre ajouté, demande d'adhésion,
    contribution et validation du PPA), rangé par `services.signaler` dans la transaction qui le
    cause. Les destinataires sont des clés d'acteur (« exercice:… », « proche:… », « usager:… »)
    et, avec `au_cercle`, l'entourage de l'usager, résolu à la distribution (l'écriture qui cause
    le signal ne paie qu'un INSERT) ; la distribution revérifie le droit de chacun."""

    nature = models.CharField("nature", max_length=40, choices=NatureNotification)
    usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager concerné", on_delete=models.PROTECT, related_name="+"
    )
    objet_type = models.CharField("objet (type)", max_length=60)
    objet_uuid = models.UUIDField("objet (identifiant public)")
    lien = models.CharField("lien (chemin dans le portail)", max_length=300)
    destinataires = ArrayField(
        models.CharField(max_length=120), verbose_name="destinataires (clés d'acteur)", default=list
    )
    au_cercle = models.BooleanField("à l'entourage de l'usager", default=False)
    auteur = models.CharField("auteur (clé de l'acteur)", max_length=120, blank=True)
    distribue_le = models.DateTimeField("distribué le", null=True, blank=True)

    class Meta:
        verbose_name = "signal à notifier"
        verbose_name_plural = "signaux à notifier"
        indexes = [
            models.Index(
                fields=["cree_le"], name="notif_signal_a_distribuer", condition=Q(distribue_le__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.get_nature_display()


class Notification(ModeleDeBase):
    """Ce qu'un compte voit dans le portail pour un événement. Une seule par compte et par
    événement source : distribuer deux fois ne la double pas. Le titre est neutre (la nature) :
    le détail est sur la page liée, qui vérifie elle-même les droits."""

    compte = models.ForeignKey(
        "comptes.Compte", verbose_name="compte", on_delete=models.CASCADE, related_name="notifications"
    )
    nature = models.CharField("nature", max_length=40, choices=NatureNotification)
    usager = models.ForeignKey(
        "personnes.Usager", verbose_name="usager concerné", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    titre = models.CharField("titre", max_length=200)
    lien = models.CharField("lien (chemin dans le portail)", max_length=300)
    source = models.CharField("source", max_length=10, choices=Source)
    source_uuid = models.UUIDField("identifiant de l'événement source")
    lue_le = models.DateTimeField("lue le", null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        verbose_name_plural = "notifications"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_uuid", "compte"], name="notif_une_par_compte_et_evenement"
            ),
        ]
        indexes = [
            # La liste : les miennes, récentes d'abord ; les non lues (compte du menu, « tout lire »).
            models.Index(fields=["compte", "-cree_le"], name="notif_compte_idx"),
            models.Index(
                fields=["compte", "-cree_le"], name="notif_non_lues_idx", condition=Q(lue_le__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.titre} ({self.compte_id})"


class Preference(models.Model):
    """Le choix d'un compte : pour cette nature, par ce canal, à ce rythme. Sans ligne, la
    fréquence par défaut (`preferences.frequence_par_defaut`) s'applique."""

    compte = models.ForeignKey(
        "comptes.Compte", verbose_name="compte", on_delete=models.CASCADE, related_name="preferences_notif"
    )
    nature = models.CharField("nature", max_length=40, choices=NatureNotification)
    canal = models.CharField("canal", max_length=10, choices=Canal)
    frequence = models.CharField("fréquence", max_length=12, choices=Frequence)
    modifie_le = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "préférence de notification"
        verbose_name_plural = "préférences de notification"
        constraints = [
            models.UniqueConstraint(fields=["compte", "nature", "canal"], name="notif_une_preference"),
        ]

    def __str__(self) -> str:
        return f"{self.nature} · {self.canal} → {self.frequence}"


class ElementResume(models.Model):
    """Une notification à reprendre dans le prochain résumé (du jour ou de la semaine) d'un canal ;
    `message` est le message de la boîte d'envoi qui l'a portée (nul tant que le résumé n'est pas
    parti)."""

    notification = models.ForeignKey(
        Notification, verbose_name="notification", on_delete=models.CASCADE, related_name="elements_resume"
    )
    canal = models.CharField("canal", max_length=10, choices=Canal)
    frequence = models.CharField("fréquence", max_length=12, choices=Frequence)
    compte = models.ForeignKey("comptes.Compte", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "echanges.MessageSortant", verbose_name="résumé envoyé", on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = "élément de résumé"
        verbose_name_plural = "éléments de résumé"
        constraints = [
            models.UniqueConstraint(fields=["notification", "canal"], name="notif_un_element_par_canal"),
            models.CheckConstraint(
                condition=Q(frequence__in=[Frequence.QUOTIDIENNE, Frequence.HEBDOMADAIRE]),
                name="notif_element_frequence_de_resume",
            ),
        ]
        indexes = [
            # Le résumé : les éléments en attente d'une fréquence, par compte et canal.
            models.Index(
                fields=["frequence", "compte", "canal"],
                name="notif_element_en_attente",
                condition=Q(message__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} · {self.canal} ({self.frequence})"


# Les abonnements NdE des logiciels des structures (webhooks) : leur propre module, même application.
from coordination.notifications.models_abonnements import Abonnement  # noqa: E402

__all__ = ["Abonnement", "ElementResume", "Notification", "Preference", "Signal"]
