import pytest

from coordination.comptes.acteur import acteur_systeme
from coordination.journal.models import Evenement
from coordination.journal.services import journaliser


@pytest.mark.django_db
def test_chaine_les_evenements():
    premier = journaliser(acteur=acteur_systeme("test"), action="test.un")
    second = journaliser(acteur=acteur_systeme("test"), action="test.deux")
    assert second.empreinte_precedente == premier.empreinte
    relu = Evenement.objects.get(pk=premier.pk)
    assert relu.calculer_empreinte(relu.empreinte_precedente) == relu.empreinte
