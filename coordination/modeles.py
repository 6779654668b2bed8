"""Base commune des modèles métier : identifiant public UUID et horodatage."""

import uuid

from django.db import models


class ModeleDeBase(models.Model):
    """Clé primaire interne entière (jointures, index) ; `uuid` seul exposé dans les URL et les API."""

    uuid = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    cree_le = models.DateTimeField("créé le", auto_now_add=True)
    modifie_le = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        abstract = True
