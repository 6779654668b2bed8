"""Pages du cercle, parcours de bout en bout : quitter le cercle soi-même, mettre fin à une
délégation avant sa date (« Mes délégations »), importer un historique de remboursement (compte rendu
par ligne, propositions à confirmer), refus (403) visibles dans « Qui a consulté mon dossier ».
La matrice d'autorisation de ces pages est dans tests/test_cercle_pages.py."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cercle.models import (
    Consentement,
    Delegation,
    Habilitation,
    Membre,
    MotifSortie,
    StatutDelegation,
    StatutMembre,
)
from coordination.journal.models import Evenement
from coordination.personnes.identifiants import avec_cle_luhn
from tests.factories import ExerciceFactory, ProfessionnelFactory, connecter
from tests.test_cercle_pages import Scene, construire_scene, contenu, texte

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    return construire_scene()


def _entrer(client, scene: Scene, nom: str):
    client.logout()
    return connecter(client, scene.monde.acteurs[nom].compte)


# --- Quitter le cercle ----------------------------------------------------------------------------


def test_un_professionnel_quitte_le_cercle_depuis_mes_usagers(client, scene):
    jeanne = scene.usager
    kine = scene.monde.membres["kine"]
    _entrer(client, scene, "pro_sans_droit")
    adresse = reverse("cercle:quitter", args=[jeanne.uuid])
    liste = contenu(client.get(reverse("cercle:mes_usagers")))
    assert "Jeanne FICTIVE" in liste and adresse in liste
    page = texte(client.get(adresse))
    assert "Quitter le cercle de Jeanne FICTIVE" in page
    assert "Tous vos droits sur le dossier prennent fin tout de suite" in page
    assert "vous n'avez aucun droit sur le dossier" in page
    reponse = client.post(adresse)
    assert reponse.status_code == 302 and reponse.url == reverse("cercle:mes_usagers")
    suite = contenu(client.get(reponse.url))
    assert "Vous avez quitté le cercle de Jeanne FICTIVE" in suite
    assert "Vous gardez l'accès" not in suite
    assert 'class="carte carte--usager"' not in suite  # Jeanne n'est plus dans « Mes usagers »
    membre = Membre.objects.get(pk=kine.pk)
    assert (membre.statut, membre.motif_sortie) == (StatutMembre.INACTIF, MotifSortie.DEPART_MEMBRE)
    evenement = Evenement.objects.get(action="cercle.membre.sortie", objet_uuid=kine.uuid)
    assert evenement.details == {"motif": MotifSortie.DEPART_MEMBRE}
    # Usager désormais hors de son monde : 404 partout (ADR 0008), sans refus journalisé.
    assert client.get(reverse("cercle:cercle", args=[jeanne.uuid])).status_code == 404
    assert client.get(adresse).status_code == 404
    assert not Evenement.objects.filter(action="cercle.acces_refuse").exists()


def test_le_gestionnaire_qui_part_perd_tous_ses_droits_d_un_coup(client, scene):
    jeanne = scene.usager
    coordinatrice = scene.monde.membres["coordinatrice"]
    assert Habilitation.objects.filter(membre=coordinatrice, revoquee_le__isnull=True).exists()
    _entrer(client, scene, "gestionnaire")
    page = contenu(client.get(reverse("cercle:cercle", args=[jeanne.uuid])))
    assert reverse("cercle:quitter", args=[jeanne.uuid]) in page and "Quitter ce cercle" in page
    page = texte(client.get(reverse("cercle:quitter", args=[jeanne.uuid])))
    assert "consulter, compléter et gérer" in page  # ses droits d'aujourd'hui, en mots
    assert client.post(reverse("cercle:quitter", args=[jeanne.uuid])).status_code == 302
    assert not Habilitation.objects.filter(membre=coordinatrice, revoquee_le__isnull=True).exists()
    assert client.get(reverse("cercle:cercle", args=[jeanne.uuid])).status_code == 404
    assert client.get(reverse("cercle:acces", args=[jeanne.uuid])).status_code == 404


def test_l_infirmiere_qui_part_garde_l_acces_de_sa_structure(client, scene):
    jeanne = scene.usager
    _entrer(client, scene, "ide")
    reponse = client.post(reverse("cercle:quitter", args=[jeanne.uuid]))
    suite = contenu(client.get(reponse.url))
    assert "Vous avez quitté le cercle" in suite and "Vous gardez l'accès que votre structure" in suite
    assert "Jeanne FICTIVE" in suite  # toujours dans sa liste, par le SSIAD
    # Elle n'est plus membre en personne : plus rien à quitter (403, journalisé).
    assert client.get(reverse("cercle:quitter", args=[jeanne.uuid])).status_code == 403
    refus = Evenement.objects.get(action="cercle.acces_refuse")
    assert refus.details["route"] == "cercle:quitter" and refus.details["methode"] == "GET"


def test_le_medecin_qui_part_met_fin_a_ses_delegations(client, scene):
    jeanne = scene.usager
    _entrer(client, scene, "assistant")
    assert client.get(reverse("cercle:mes_delegations")).status_code == 200
    client.logout()
    connecter(client, scene.monde.acteurs["medecin"].compte)
    page = texte(client.get(reverse("cercle:quitter", args=[jeanne.uuid])))
    assert "Camille SECRETAIRE ne pourra plus vous assister" in page
    client.post(reverse("cercle:quitter", args=[jeanne.uuid]))
    assert Delegation.objects.get(pk=scene.delegation_active.pk).statut == StatutDelegation.TERMINEE
    _entrer(client, scene, "assistant")
    assert client.get(reverse("cercle:mes_usagers")).content.count(b"carte--usager") == 0


def test_un_proche_quitte_le_cercle_depuis_son_accueil(client, scene):
    jeanne = scene.usager
    fille = scene.monde.membres["aidant"]
    _entrer(client, scene, "aidant_avec_droits")
    adresse = reverse("cercle:quitter", args=[jeanne.uuid])
    assert adresse in contenu(client.get("/"))
    assert "cahier de liaison (consulter)" in texte(client.get(adresse))
    reponse = client.post(adresse)
    assert reponse.status_code == 302 and reponse.url == reverse("accueil")
    accueil = contenu(client.get("/"))
    assert "Vous avez quitté le cercle de Jeanne FICTIVE" in accueil
    assert adresse not in accueil
    assert not Habilitation.objects.filter(membre=fille, revoquee_le__isnull=True).exists()
    sortie = Evenement.objects.get(action="cercle.membre.sortie", objet_uuid=fille.uuid)
    assert sortie.au_nom_de == "Jeanne FICTIVE"
    # Toujours proche de Jeanne (elle la connaît) mais plus membre : 403.
    assert client.get(adresse).status_code == 403


def test_l_usager_n_a_pas_de_bouton_quitter(client, scene):
    _entrer(client, scene, "usager")
    page = contenu(client.get(reverse("cercle:cercle", args=[scene.usager.uuid])))
    assert "Quitter ce cercle" not in page
    assert client.get(reverse("cercle:quitter", args=[scene.usager.uuid])).status_code == 403


# --- Fin d'une délégation -------------------------------------------------------------------------


def test_l_assistant_renonce_depuis_mes_delegations_sans_consentement(client, scene):
    jeanne = scene.usager
    delegation = scene.delegation_active
    adresse = reverse("cercle:delegation_terminer", args=[jeanne.uuid, delegation.uuid])
    _entrer(client, scene, "assistant")
    page = contenu(client.get(reverse("cercle:mes_delegations")))
    assert "Vous assistez" in page and adresse in page and "Jeanne FICTIVE" in page
    assert "Mettre fin à la délégation" in contenu(client.get(adresse))
    consentements = Consentement.objects.count()
    reponse = client.post(adresse)
    assert reponse.status_code == 302 and reponse.url == reverse("cercle:mes_delegations")
    assert "la délégation à" in contenu(client.get(reponse.url))
    delegation.refresh_from_db()
    assert delegation.statut == StatutDelegation.TERMINEE and delegation.terminee_le is not None
    assert Consentement.objects.count() == consentements  # il renonce à son propre engagement
    assert Evenement.objects.filter(action="cercle.delegation.fin", objet_uuid=delegation.uuid).exists()
    # Plus de délégation : Jeanne sort de son monde.
    assert client.get(adresse).status_code == 404
    assert "Personne ne vous a délégué" in contenu(client.get(reverse("cercle:mes_delegations")))


def test_l_usager_met_fin_depuis_la_page_du_cercle_avec_consentement(client, scene):
    jeanne = scene.usager
    delegation = scene.delegation_active
    adresse = reverse("cercle:delegation_terminer", args=[jeanne.uuid, delegation.uuid])
    _entrer(client, scene, "usager")
    assert adresse in contenu(client.get(reverse("cercle:cercle", args=[jeanne.uuid])))
    reponse = client.post(adresse)
    assert reponse.url == reverse("cercle:cercle", args=[jeanne.uuid])
    assert Consentement.objects.get(objet="fin_delegation").details == {"delegation": str(delegation.uuid)}
    # Une seconde fois : rien de plus, un message clair.
    reponse = client.post(adresse, follow=True)
    assert "Cette délégation est déjà terminée." in contenu(reponse)
    assert "Cette délégation est déjà terminée (terminée)." in texte(client.get(adresse))
    assert Evenement.objects.filter(action="cercle.delegation.fin").count() == 1


def test_le_delegant_voit_et_finit_ses_delegations(client, scene):
    jeanne = scene.usager
    connecter(client, scene.monde.acteurs["medecin"].compte)
    page = contenu(client.get(reverse("cercle:mes_delegations")))
    assert "Vous êtes assisté(e)" in page
    assert "en attente de l'accord de la personne accompagnée" in page  # celle de la scène, en attente
    assert "REMPLACANT" not in page  # la délégation expirée n'est plus listée
    adresse = reverse("cercle:delegation_terminer", args=[jeanne.uuid, scene.delegation.uuid])
    assert adresse in page
    assert client.post(adresse).status_code == 302
    assert Delegation.objects.get(pk=scene.delegation.pk).statut == StatutDelegation.TERMINEE
    # L'infirmière lit le cercle mais n'a pas le lien (ni le droit).
    _entrer(client, scene, "ide")
    page = contenu(client.get(reverse("cercle:cercle", args=[jeanne.uuid])))
    assert "Assisté(e) par" in page
    assert reverse("cercle:delegation_terminer", args=[jeanne.uuid, scene.delegation_active.uuid]) not in page


def _medecin_qui_delegue(scene: Scene, nombre: int):
    """Le médecin traitant de la scène, avec `nombre` délégations de plus (en attente)."""
    from cercle import services

    medecin = scene.monde["medecin"]
    for _ in range(nombre):
        services.proposer_delegation(
            acteur=medecin,
            usager=scene.usager,
            assistant=ExerciceFactory(structure=None),
            domaine="agenda",
            niveau=1,
            date_fin=scene.delegation.date_fin,
        )
    return medecin


@pytest.mark.parametrize("nombre", [0, 12])
def test_mes_delegations_requetes_constantes(client, scene, nombre, django_assert_max_num_queries):
    medecin = _medecin_qui_delegue(scene, nombre)
    connecter(client, medecin.compte)
    adresse = reverse("cercle:mes_delegations")
    client.get(adresse)
    with django_assert_max_num_queries(6):
        reponse = client.get(adresse)
    assert contenu(reponse).count('class="carte"') == nombre + 2


# --- Historique de remboursement ------------------------------------------------------------------


def _deposer(client, scene: Scene, nom: str, donnees: bytes):
    adresse = reverse("cercle:historique", args=[scene.usager.uuid])
    return client.post(adresse, {"fichier": SimpleUploadedFile(nom, donnees)})


def test_import_csv_garde_les_bonnes_lignes_et_explique_les_autres(client, scene):
    dentiste = ProfessionnelFactory(nom_exercice="DENTISTE", profession_code="40")
    inconnu = avec_cle_luhn("1000000000")
    faux = dentiste.rpps[:-1] + str((int(dentiste.rpps[-1]) + 1) % 10)
    fichier = (
        "rpps;date;libelle\n"
        f"{dentiste.rpps};2026-02-03;Soins dentaires\n"
        f"{faux};2026-02-04;Clé fausse\n"
        f"8{dentiste.rpps};14/03/2026;Contrôle\n"
        f"{inconnu};2026-02-05;Inconnu\n"
        f"{dentiste.rpps};31/02/2026;Date impossible\n"
    ).encode()
    _entrer(client, scene, "representant")
    reponse = _deposer(client, scene, "historique.csv", fichier)
    assert reponse.status_code == 200
    page = texte(reponse)
    assert "5 ligne(s) lue(s) : 1 professionnel(s) proposé(s)" in page
    assert "Lignes ignorées (2)" in page
    assert f"Ligne 3 : RPPS « {faux} » : la clé de contrôle (dernier chiffre) est fausse." in page
    assert "Ligne 6 : Date « 31/02/2026 » : attendue au format AAAA-MM-JJ ou JJ/MM/AAAA." in page
    assert f"RPPS introuvables dans l'annuaire (1) {inconnu}" in page
    propose = Membre.objects.get(cercle__usager=scene.usager, professionnel=dentiste)
    assert propose.statut == StatutMembre.PROPOSE
    assert propose.note_origine == "2 soins remboursés entre le 03/02/2026 et le 14/03/2026"
    assert not Habilitation.objects.filter(membre=propose).exists()  # aucun accès avant confirmation
    html = contenu(reponse)
    confirmer = reverse("cercle:proposition", args=[scene.usager.uuid, propose.uuid])
    assert f'action="{confirmer}"' in html and 'value="confirmer"' in html
    assert Evenement.objects.filter(action="cercle.historique.import").latest("horodatage").au_nom_de == (
        "Jeanne FICTIVE"
    )
    # Confirmer depuis le compte rendu : il entre dans le cercle.
    assert client.post(confirmer, {"decision": "confirmer"}).status_code == 302
    assert Membre.objects.get(pk=propose.pk).statut == StatutMembre.ACTIF
    # Le même fichier une seconde fois : déjà dans le cercle, rien de reproposé.
    page = texte(_deposer(client, scene, "historique.csv", fichier))
    assert "0 professionnel(s) proposé(s), 1 déjà dans le cercle" in page


RPPS = "https://rpps.esante.gouv.fr"


def test_import_fhir_avec_une_entree_fautive(client, scene):
    infirmier = ProfessionnelFactory(nom_exercice="INFIRMIERLIBERAL")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Encounter",
                    "participant": [
                        {"individual": {"identifier": {"system": RPPS, "value": infirmier.rpps}}}
                    ],
                    "period": {"start": "2026-04-01"},
                }
            },
            {"resource": {"resourceType": "Patient"}},
        ],
    }
    _entrer(client, scene, "gestionnaire")
    reponse = _deposer(client, scene, "historique.json", json.dumps(bundle).encode())
    assert reponse.status_code == 200
    page = texte(reponse)
    assert "2 ligne(s) lue(s) : 1 professionnel(s) proposé(s), 1 ligne(s) ignorée(s)." in page
    assert "Entrée 2 : ressource Patient ignorée (ExplanationOfBenefit ou Encounter attendu)." in page
    assert Membre.objects.filter(professionnel=infirmier, statut=StatutMembre.PROPOSE).exists()
    # La proposition apparaît aussi sur la page du cercle, à décider.
    assert "INFIRMIERLIBERAL" in texte(client.get(reverse("cercle:cercle", args=[scene.usager.uuid])))


@pytest.mark.parametrize(
    "nom, donnees, message",
    [
        ("h.csv", b"numero;jour\n1;2\n", "En-tête : colonne(s) rpps, date introuvable(s)"),
        ("h.json", b'{"resourceType": "Patient"}', "Ressource FHIR attendue : un Bundle"),
        ("h.csv", "rpps;date\n".encode("utf-16"), "il doit être encodé en UTF-8"),
        ("h.csv", b"", "Le fichier est vide."),
    ],
)
def test_import_fichier_inutilisable(client, scene, nom, donnees, message):
    membres = Membre.objects.count()
    imports = Evenement.objects.filter(action="cercle.historique.import").count()
    _entrer(client, scene, "usager")
    reponse = _deposer(client, scene, nom, donnees)
    assert reponse.status_code == 400
    html = contenu(reponse)
    assert message in html and 'class="champ__erreur"' in html
    assert "Compte rendu" not in html
    assert Membre.objects.count() == membres
    assert Evenement.objects.filter(action="cercle.historique.import").count() == imports


def test_import_sans_fichier(client, scene):
    _entrer(client, scene, "usager")
    reponse = client.post(reverse("cercle:historique", args=[scene.usager.uuid]), {})
    assert reponse.status_code == 400
    assert "Choisissez le fichier de l'historique de remboursement." in contenu(reponse)


def test_import_refuse_a_qui_ne_gere_pas(client, scene):
    dentiste = ProfessionnelFactory(nom_exercice="DENTISTE")
    fichier = f"rpps;date\n{dentiste.rpps};2026-02-03\n".encode()
    for nom, attendu in (("aidant_avec_droits", 403), ("ide", 403), ("pro_hors_cercle", 404)):
        _entrer(client, scene, nom)
        assert _deposer(client, scene, "h.csv", fichier).status_code == attendu, nom
    assert not Membre.objects.filter(professionnel=dentiste).exists()
    refus = Evenement.objects.filter(action="cercle.acces_refuse", details__route="cercle:historique")
    assert refus.count() == 2  # les deux 403 ; pas le 404


def test_page_d_import_requetes_constantes(client, scene, django_assert_max_num_queries):
    _entrer(client, scene, "usager")
    adresse = reverse("cercle:historique", args=[scene.usager.uuid])
    client.get(adresse)
    with django_assert_max_num_queries(6):
        assert client.get(adresse).status_code == 200


# --- Refus journalisés, visibles de l'usager ------------------------------------------------------


def test_les_refus_apparaissent_dans_qui_a_consulte(client, scene):
    jeanne = scene.usager
    _entrer(client, scene, "ide")
    assert client.get(reverse("cercle:ajouter", args=[jeanne.uuid])).status_code == 403
    suspendre = reverse("cercle:membre_suspendre", args=[jeanne.uuid, scene.monde.membres["kine"].uuid])
    assert client.post(suspendre).status_code == 403
    _entrer(client, scene, "pro_hors_cercle")
    assert client.get(reverse("cercle:cercle", args=[jeanne.uuid])).status_code == 404
    refus = Evenement.objects.filter(action="cercle.acces_refuse").order_by("horodatage")
    assert [(e.details["route"], e.details["methode"]) for e in refus] == [
        ("cercle:ajouter", "GET"),
        ("cercle:membre_suspendre", "POST"),
    ]
    assert refus[0].details["motif"] == "Vous ne pouvez pas ajouter de membre à ce cercle."
    _entrer(client, scene, "usager")
    reponse = client.get(reverse("cercle:acces", args=[jeanne.uuid]), {"qui": "professionnel"})
    page = texte(reponse)
    assert "Camille INFIRMIERE a tenté une action sur votre cercle sans en avoir le droit (refusée)" in page
    assert contenu(reponse).count("badge--alerte") == 2
    assert "DEHORS" not in page


@pytest.mark.parametrize("nombre", [0, 10])
def test_page_quitter_requetes_constantes(client, scene, nombre, django_assert_max_num_queries):
    medecin = _medecin_qui_delegue(scene, nombre)
    connecter(client, medecin.compte)
    adresse = reverse("cercle:quitter", args=[scene.usager.uuid])
    client.get(adresse)
    with django_assert_max_num_queries(10):
        reponse = client.get(adresse)
    assert texte(reponse).count("ne pourra plus vous assister") == nombre + 2
