"""Magasin de versions FHIR : chaque version servie d'une ressource, en ajout seul.

Une ligne = (type, id logique, n° de version) avec le JSON tel que servi (meta.versionId et
meta.lastUpdated compris), l'événement du journal de l'acteur qui l'a produite et un drapeau de
suppression. Toute ressource du registre peut s'en servir pour offrir vread et _history
(versions.py) ; les tables métier restent la source de vérité de l'état courant.
"""

from __future__ import annotations

from django.db import models


class VersionsImmuables(Exception):
    """Levée à toute tentative de modifier ou supprimer une version."""


class VersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise VersionsImmuables("Magasin de versions FHIR : une version ne se modifie pas.")

    def delete(self):
        raise VersionsImmuables("Magasin de versions FHIR : une version ne se supprime pas.")


class VersionRessource(models.Model):
    id = models.BigAutoField(primary_key=True)
    type_ressource = models.CharField("type de ressource", max_length=64)
    id_logique = models.UUIDField("identifiant logique")
    version = models.PositiveIntegerField("version")
    derniere_maj = models.DateTimeField("dernière mise à jour")
    contenu = models.JSONField("ressource servie", null=True, blank=True)
    evenement_uuid = models.UUIDField("événement du journal", null=True, blank=True)
    supprimee = models.BooleanField("supprimée", default=False)

    objects = VersionQuerySet.as_manager()

    class Meta:
        verbose_name = "version de ressource FHIR"
        verbose_name_plural = "versions de ressources FHIR"
        constraints = [
            models.UniqueConstraint(
                fields=["type_ressource", "id_logique", "version"], name="fhir_version_unique"
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="fhir_version_positive"),
            models.CheckConstraint(
                condition=models.Q(supprimee=True) | models.Q(contenu__isnull=False),
                name="fhir_version_contenu_sauf_suppression",
            ),
        ]
        indexes = [
            # _history d'un type (plus récentes d'abord) ; celui d'une instance passe par la contrainte.
            models.Index(fields=["type_ressource", "-derniere_maj"], name="fhir_version_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type_ressource}/{self.id_logique}/_history/{self.version}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise VersionsImmuables("Magasin de versions FHIR : une version ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise VersionsImmuables("Magasin de versions FHIR : une version ne se supprime pas.")
