"""Journal des actions : ajout seul, chaîné par empreintes SHA-256.

Chaque événement dit qui (compte et personne en tant que laquelle il agit), au nom de qui,
quoi (action, type et UUID de l'objet), pour quel usager, quand et avec quel résultat.
Le modèle refuse modification et suppression ; la base aussi (déclencheurs, migration 0002).

La chaîne : `empreinte` = SHA-256(empreinte précédente + contenu canonique). L'ordre de la chaîne
est celui des `id` (attribués sous le verrou de services.py). `empreinte_precedente` est unique :
deux événements ne peuvent pas succéder au même maillon, la chaîne ne peut donc pas bifurquer
même si le verrou était contourné. `manage.py verifier_journal` recalcule toute la chaîne.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.db import models


class Resultat(models.TextChoices):
    SUCCES = "succes", "succès"
    REFUSE = "refuse", "refusé"
    ECHEC = "echec", "échec"


class JournalImmuable(Exception):
    """Levée à toute tentative de modifier ou supprimer un événement du journal."""


class EvenementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise JournalImmuable("Le journal est en ajout seul : un événement ne se modifie pas.")

    def delete(self):
        raise JournalImmuable("Le journal est en ajout seul : un événement ne se supprime pas.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise JournalImmuable("Le journal est en ajout seul : un événement ne se modifie pas.")


# Champs couverts par l'empreinte, dans cet ordre (toute modification de l'un d'eux casse la chaîne).
CHAMPS_EMPREINTE = (
    "uuid",
    "horodatage",
    "compte_uuid",
    "acteur_type",
    "acteur_nom",
    "acteur_qualite",
    "professionnel_uuid",
    "structure_uuid",
    "proche_uuid",
    "acteur_usager_uuid",
    "au_nom_de",
    "action",
    "objet_type",
    "objet_uuid",
    "usager_uuid",
    "resultat",
    "details",
)


class Evenement(models.Model):
    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    horodatage = models.DateTimeField("horodatage")
    # Qui : le compte, et la personne en tant que laquelle il agit (copiés : le journal survit aux personnes).
    compte_uuid = models.UUIDField("compte", null=True, blank=True)
    acteur_type = models.CharField("type d'acteur", max_length=20)
    acteur_nom = models.CharField("acteur", max_length=200)
    acteur_qualite = models.CharField("en qualité de", max_length=300, blank=True)
    professionnel_uuid = models.UUIDField("professionnel", null=True, blank=True)
    structure_uuid = models.UUIDField("structure", null=True, blank=True)
    proche_uuid = models.UUIDField("proche", null=True, blank=True)
    acteur_usager_uuid = models.UUIDField("usager acteur", null=True, blank=True)
    au_nom_de = models.CharField("au nom de", max_length=300, blank=True)
    # Quoi
    action = models.CharField("action", max_length=80)
    objet_type = models.CharField("type d'objet", max_length=80, blank=True)
    objet_uuid = models.UUIDField("objet", null=True, blank=True)
    usager_uuid = models.UUIDField("usager concerné", null=True, blank=True)
    resultat = models.CharField("résultat", max_length=10, choices=Resultat, default=Resultat.SUCCES)
    details = models.JSONField("détails", default=dict, blank=True)
    # Chaîne
    empreinte_precedente = models.CharField("empreinte précédente", max_length=64)
    empreinte = models.CharField("empreinte", max_length=64)

    objects = EvenementQuerySet.as_manager()

    class Meta:
        verbose_name = "événement du journal"
        verbose_name_plural = "événements du journal"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["usager_uuid", "-horodatage"], name="journal_usager_idx"),
            models.Index(fields=["compte_uuid", "-horodatage"], name="journal_compte_idx"),
            # Historique d'un objet (« qui a touché cette transmission ? »), recherche de l'admin.
            models.Index(
                fields=["objet_uuid"], name="journal_objet_idx", condition=models.Q(objet_uuid__isnull=False)
            ),
        ]
        constraints = [
            # Contrainte plutôt que unique=True : pas d'index varchar_pattern_ops inutile.
            models.UniqueConstraint(fields=["empreinte_precedente"], name="journal_chaine_sans_bifurcation"),
            models.CheckConstraint(
                condition=models.Q(empreinte__regex=r"^[0-9a-f]{64}$"), name="journal_empreinte_sha256"
            ),
            models.CheckConstraint(
                condition=models.Q(empreinte_precedente__regex=r"^[0-9a-f]{64}$"),
                name="journal_empreinte_precedente_sha256",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.horodatage:%d/%m/%Y %H:%M} · {self.acteur_nom} · {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise JournalImmuable("Le journal est en ajout seul : un événement ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise JournalImmuable("Le journal est en ajout seul : un événement ne se supprime pas.")

    def contenu_canonique(self) -> bytes:
        """Sérialisation stable des champs couverts par l'empreinte."""
        valeurs = {}
        for champ in CHAMPS_EMPREINTE:
            valeur = getattr(self, champ)
            if champ == "horodatage":
                valeur = valeur.isoformat(timespec="microseconds")
            elif isinstance(valeur, uuid.UUID):
                valeur = str(valeur)
            valeurs[champ] = valeur
        return json.dumps(valeurs, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def calculer_empreinte(self, precedente: str, contenu: bytes | None = None) -> str:
        """SHA-256(empreinte précédente ‖ « \\n » ‖ contenu canonique), en hexadécimal."""
        if contenu is None:
            contenu = self.contenu_canonique()
        return hashlib.sha256(precedente.encode() + b"\n" + contenu).hexdigest()


EMPREINTE_ORIGINE = "0" * 64
