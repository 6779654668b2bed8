"""Administration du projet personnalisé : le support regarde (listes à nombre de requêtes constant,
filtres, recherche par UUID de l'usager, fiches), mais même un superutilisateur ne peut rien ajouter,
modifier ni effacer : ni version validée, ni contenu, ni accord, ni commentaire (ADR 0030)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from coordination.comptes.models import Compte
from coordination.journal.models import Evenement as Journal
from ppa import services as ppa
from ppa.models import AccordPPA, Action, Besoin, CommentairePPA, Objectif, ProjetPersonnalise, VersionPPA
from tests.factories import connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

MODELES = ["projetpersonnalise", "versionppa", "besoin", "objectif", "action", "accordppa", "commentaireppa",
           "rappelrevue"]  # fmt: skip


@pytest.fixture
def admin_client_mfa(client):
    connecter(client, Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234"))
    return client


def _validee():
    """Un monde où Jeanne a un projet validé, commenté pendant sa discussion."""
    monde = construire_monde_ppa()
    version = brouillon_rempli(monde)
    ppa.commenter(acteur=qui(monde, "usager"), version=version, partie="objectifs", texte="Oui.")
    return monde, valider(monde, version)


def etat() -> tuple:
    return (
        ProjetPersonnalise.objects.count(),
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "empreinte", "modifie_le")),
        tuple(Objectif.objects.order_by("id").values_list("id", "titre", "modifie_le")),
        Besoin.objects.count(),
        Action.objects.count(),
        tuple(AccordPPA.objects.order_by("id").values_list("id", "qualite")),
        CommentairePPA.objects.count(),
        Journal.objects.exclude(action__contains="lecture").exclude(action__startswith="connexion").count(),
    )  # fmt: skip


@pytest.mark.parametrize("modele", MODELES)
def test_listes_en_requetes_constantes(admin_client_mfa, modele):
    url = reverse(f"admin:ppa_{modele}_changelist")
    _validee()
    with CaptureQueriesContext(connection) as peu:
        page = admin_client_mfa.get(url)
    assert page.status_code == 200
    contenu = page.content.decode()
    assert "delete_selected" not in contenu and reverse(f"admin:ppa_{modele}_add") not in contenu
    _validee()
    _validee()
    with CaptureQueriesContext(connection) as beaucoup:
        assert admin_client_mfa.get(url).status_code == 200
    assert len(beaucoup) == len(peu), [q["sql"] for q in beaucoup.captured_queries]


def test_recherche_par_uuid_de_l_usager_et_filtre_par_statut(admin_client_mfa):
    monde, version = _validee()
    autre, _ = _validee()
    liste = reverse("admin:ppa_versionppa_changelist")
    page = admin_client_mfa.get(liste, {"q": str(monde.usager.uuid)}).content.decode()
    assert escape(str(version)) in page and "1 version de projet personnalisé" in page
    filtre = admin_client_mfa.get(liste, {"statut__exact": "brouillon"})
    assert filtre.status_code == 200 and "0 versions de projets personnalisés" in filtre.content.decode()
    objectifs = admin_client_mfa.get(reverse("admin:ppa_objectif_changelist"), {"q": str(autre.usager.uuid)})
    assert "1 objectif" in objectifs.content.decode()


def test_fiches_lisibles_sans_bouton_d_enregistrement(admin_client_mfa):
    _, version = _validee()
    objets = {
        "versionppa": version,
        "projetpersonnalise": version.projet,
        "objectif": version.objectifs.get(),
        "action": version.actions.get(),
        "accordppa": version.accords.first(),
        "commentaireppa": CommentairePPA.objects.get(version=version),
    }
    for modele, objet in objets.items():
        page = admin_client_mfa.get(reverse(f"admin:ppa_{modele}_change", args=[objet.pk]))
        assert page.status_code == 200, modele
        assert b'name="_save"' not in page.content and b"deletelink" not in page.content, modele
    fiche = admin_client_mfa.get(reverse("admin:ppa_versionppa_change", args=[version.pk])).content.decode()
    assert "Faire sa toilette seule" in fiche and version.empreinte in fiche


def test_rien_ne_change_par_l_administration(admin_client_mfa):
    """Formulaire de modification envoyé sur la version validée, effacement, ajout, effacement en
    lot : 403 ou aucune action, et rien n'a changé (ni lignes, ni empreinte, ni journal)."""
    _, version = _validee()
    objectif = version.objectifs.get()
    avant = etat()
    modification = admin_client_mfa.post(
        reverse("admin:ppa_versionppa_change", args=[version.pk]),
        {"projet": version.projet_id, "numero": version.numero, "statut": "brouillon", "attentes": "Autre.",
         "projet_de_vie": "", "empreinte": "", "revisions": "{}", "_save": "Enregistrer"},
    )  # fmt: skip
    assert modification.status_code == 403
    objectif_modifie = admin_client_mfa.post(
        reverse("admin:ppa_objectif_change", args=[objectif.pk]), {"titre": "Autre", "_save": "1"}
    )
    assert objectif_modifie.status_code == 403
    for modele, objet in (
        ("versionppa", version),
        ("objectif", objectif),
        ("accordppa", version.accords.first()),
    ):
        effacement = admin_client_mfa.post(
            reverse(f"admin:ppa_{modele}_delete", args=[objet.pk]), {"post": "yes"}
        )
        assert effacement.status_code == 403, modele
        assert admin_client_mfa.get(reverse(f"admin:ppa_{modele}_add")).status_code == 403, modele
    for modele, pks in (
        ("versionppa", [version.pk]),
        ("accordppa", list(version.accords.values_list("pk", flat=True))),
        ("commentaireppa", list(CommentairePPA.objects.values_list("pk", flat=True))),
    ):
        lot = admin_client_mfa.post(
            reverse(f"admin:ppa_{modele}_changelist"),
            {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
        )
        assert lot.status_code in (200, 302), modele  # action inconnue : « aucune action choisie »
    assert etat() == avant
    relue = VersionPPA.objects.get(pk=version.pk)
    assert relue.statut == "validee" and ppa.empreinte(relue) == version.empreinte
