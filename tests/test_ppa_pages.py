"""Pages de l'atelier du projet personnalisé : parcours complet (ouvrir, écrire chaque partie, avis,
discussion, soumission, double accord, avenant), saisies refusées (message français, rien d'écrit),
conflit entre deux personnes (la saisie gardée, le contenu actuel montré), version validée
intouchable par les pages, lecture facile, nombre de requêtes constant (1 contre 10 objectifs)."""

from __future__ import annotations

from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.journal.models import Evenement as Journal
from ppa import services as ppa
from ppa.models import (
    AccordPPA,
    Action,
    AvisUsager,
    Besoin,
    CommentairePPA,
    Objectif,
    ProjetPersonnalise,
    StatutVersion,
    VersionPPA,
)
from tests.factories import connecter
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, projet_de, qui, valider

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_ppa()


def session(client, monde, nom):
    client.logout()
    connecter(client, monde.acteurs[nom].compte)
    s = client.session
    s[SESSION_ACTEUR] = monde.acteurs[nom].cle
    s.save()
    return client


def url(nom: str, version, *autres) -> str:
    return reverse(f"ppa:{nom}", args=[version.uuid, *(a.uuid for a in autres)])


def texte(reponse) -> str:
    return unescape(reponse.content.decode())


def frais(version) -> VersionPPA:
    return VersionPPA.objects.get(pk=version.pk)


def rev(version, partie: str) -> int:
    return frais(version).revisions.get(partie, 0)


def ecritures() -> tuple:
    """Ce que les écritures du PPA changent (le journal hors lectures compris)."""
    return (
        tuple(VersionPPA.objects.order_by("id").values_list("id", "statut", "attentes", "revisions")),
        tuple(Besoin.objects.order_by("id").values_list("id", "libelle")),
        tuple(Objectif.objects.order_by("id").values_list("id", "titre", "avis_usager")),
        tuple(Action.objects.order_by("id").values_list("id", "quoi", "frequence")),
        CommentairePPA.objects.count(),
        AccordPPA.objects.count(),
        Journal.objects.filter(action__startswith="ppa.").exclude(action__contains="lecture").count(),
    )


# --- Le parcours ----------------------------------------------------------------------------------


def test_parcours_complet_de_la_construction_a_l_avenant(client, monde):
    session(client, monde, "ide")
    adresse = reverse("ppa:projets", args=[monde.usager.uuid])
    page = client.get(adresse)
    assert page.status_code == 200 and "Pas encore de projet personnalisé" in texte(page)
    assert "Ouvrir le projet" in texte(page) and "SSIAD du Val Fictif" in texte(page)
    reponse = client.post(
        reverse("ppa:creer_projet", args=[monde.usager.uuid]),
        {"titre": "Vivre chez moi", "type": "PPA", "structure": str(monde.ssiad.uuid)},
    )
    version = VersionPPA.objects.get(projet__usager=monde.usager)
    assert reponse.status_code == 302 and reponse["Location"] == url("atelier", version)

    reponse = client.post(url("ajouter_besoin", version), {"libelle": "Se laver", "revision_lue": "0"})
    assert reponse.status_code == 302 and reponse["Location"].endswith("#partie-besoins")
    besoin = Besoin.objects.get(version=version)
    client.post(
        url("ajouter_objectif", version),
        {"titre": "Faire sa toilette seule", "besoins": [str(besoin.uuid)], "date_cible": "2027-06-30",
         "revision_lue": "0"},
    )  # fmt: skip
    objectif = Objectif.objects.get(version=version)
    assert list(objectif.besoins.all()) == [besoin]
    reponse = client.post(
        url("ajouter_action", version, objectif),
        {"quoi": "Aide à la toilette", "intervenant": str(monde.membres["ide"].uuid), "repetition": "semaine",
         "jours": ["FR", "MO", "WE"], "duree_minutes": "45", "ou": "À la maison", "revision_lue": "0"},
    )  # fmt: skip
    assert reponse.status_code == 302
    action = Action.objects.get(version=version)
    assert action.frequence == "FREQ=WEEKLY;BYDAY=MO,WE,FR" and action.intervenant == monde.membres["ide"]
    assert action.ajoute_par == monde.acteurs["ide"].nom

    session(client, monde, "aidant_avec_droits")
    assert (
        client.post(
            url("paroles", version),
            {"attentes": "Rester chez moi.", "projet_de_vie": "", "revision_lue": "0"},
        ).status_code
        == 302
    )
    session(client, monde, "usager")
    reponse = client.post(
        url("donner_avis", version, objectif),
        {
            "avis": "d_accord",
            "commentaire": "Oui, surtout le matin.",
            "revision_lue": rev(version, "objectifs"),
        },
    )
    assert reponse.status_code == 302
    assert Objectif.objects.get(pk=objectif.pk).avis_usager == AvisUsager.D_ACCORD
    assert (
        client.post(
            url("commenter", version), {"partie": "actions", "texte": "Le vendredi, plutôt l'après-midi."}
        ).status_code
        == 302
    )
    page = texte(client.get(url("atelier", version)))
    assert "Le vendredi, plutôt l'après-midi." in page
    assert f"Ajouté par {monde.acteurs['ide'].nom}" in page  # qui a contribué
    assert "chaque semaine, les lundi, mercredi et vendredi" in page

    session(client, monde, "ide")
    reponse = client.post(url("soumettre", version))
    assert reponse.status_code == 302 and reponse["Location"] == url("accord", version)
    page = texte(client.get(url("accord", version)))
    empreinte = frais(version).empreinte
    assert "Donner l'accord de la structure" in page and "Je donne mon accord" not in page
    assert f'value="{empreinte}"' in page
    session(client, monde, "usager")
    page = texte(client.get(url("accord", version)))
    assert "Je donne mon accord" in page and "Donner l'accord de la structure" not in page
    assert (
        client.post(url("accord", version), {"partie": "usager", "empreinte": empreinte}).status_code == 302
    )
    session(client, monde, "ide")
    reponse = client.post(
        url("accord", version), {"partie": "structure", "empreinte": empreinte}, follow=True
    )
    assert "le projet est validé" in texte(reponse)
    assert frais(version).statut == StatutVersion.VALIDEE

    page = texte(client.get(url("atelier", version)))
    assert (
        "Créer un avenant" in page and "Enregistrer ses mots" not in page and "Ajouter un besoin" not in page
    )
    reponse = client.post(url("avenant", version))
    avenant = VersionPPA.objects.get(projet=version.projet, numero=2)
    assert reponse.status_code == 302 and reponse["Location"] == url("atelier", avenant)
    assert avenant.statut == StatutVersion.BROUILLON and avenant.derive_de_id == version.pk

    page = texte(client.get(reverse("ppa:projets", args=[monde.usager.uuid])))
    assert "version 2" in page and "Prochaine revue" in page and "Voir la version validée" in page


def test_les_boutons_suivent_les_droits(client, monde):
    version = brouillon_rempli(monde)
    session(client, monde, "ide")
    page = texte(client.get(url("atelier", version)))
    assert "Enregistrer ses mots" in page and "Soumettre aux accords" in page
    assert "Enregistrer mon avis" not in page  # l'avis est celui de la personne ou de son entourage
    session(client, monde, "aidant_avec_droits")
    assert "Enregistrer mon avis" in texte(client.get(url("atelier", version)))
    session(client, monde, "medecin")  # lit le projet, sans l'écrire
    page = texte(client.get(url("atelier", version)))
    assert "Faire sa toilette seule" in page
    for bouton in (
        "Enregistrer ses mots",
        "Ajouter un besoin",
        "Soumettre aux accords",
        "Envoyer le message",
    ):
        assert bouton not in page


def test_la_personne_et_ses_proches_lisent_d_abord_la_version_facile(client, monde):
    version = brouillon_rempli(monde)
    projets = reverse("ppa:projets", args=[monde.usager.uuid])
    session(client, monde, "usager")
    facile, atelier = f'href="{url("facile", version)}"', f'href="{url("atelier", version)}"'
    page = texte(client.get(projets))
    assert page.index(facile) < page.index(atelier)
    session(client, monde, "ide")
    page = texte(client.get(projets))
    assert page.index(atelier) < page.index(facile)


def test_lecture_facile(client, monde):
    version = valider(monde, brouillon_rempli(monde))
    session(client, monde, "usager")
    page = texte(client.get(url("facile", version)))
    assert "Je veux : Faire sa toilette seule" in page
    assert "Qui m'aide : " in page and "INFIRMIERE" in page
    assert "Quand : chaque semaine, les lundi, mercredi et vendredi." in page
    assert "Combien de temps : 45 minutes." in page
    assert "J'ai dit que j'étais d'accord." in page
    assert "1.2.1.1" not in page and version.empreinte not in page  # rien de technique


# --- Saisies refusées -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "donnees", "message"),
    [
        ("ajouter_besoin", {"libelle": "  ", "revision_lue": "0"}, "Ce champ est obligatoire"),
        ("ajouter_besoin", {"libelle": "Manger"}, "Le formulaire est incomplet"),
        ("ajouter_objectif", {"titre": "", "revision_lue": "0"}, "Ce champ est obligatoire"),
        ("ajouter_objectif", {"titre": "Marcher", "date_cible": "31/02", "revision_lue": "0"}, "date valide"),
        ("commenter", {"partie": "besoins", "texte": ""}, "Ce champ est obligatoire"),
        ("commenter", {"partie": "inconnue", "texte": "Bonjour"}, "Sélectionnez un choix valide"),
    ],
    ids=["besoin-vide", "sans-revision", "objectif-vide", "date-fausse", "message-vide", "partie-inconnue"],
)
def test_saisie_refusee_sans_rien_ecrire(client, monde, route, donnees, message):
    version = projet_de(monde).versions.get()
    session(client, monde, "aidant_avec_droits")
    avant = ecritures()
    reponse = client.post(url(route, version), donnees)
    assert reponse.status_code == 400
    assert message in texte(reponse)
    assert ecritures() == avant


def test_action_hebdomadaire_sans_jour_refusee_et_saisie_gardee(client, monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    session(client, monde, "ide")
    avant = ecritures()
    reponse = client.post(
        url("ajouter_action", version, objectif),
        {"quoi": "Promenade au parc", "repetition": "semaine", "revision_lue": str(rev(version, "actions"))},
    )
    assert reponse.status_code == 400
    page = texte(reponse)
    assert "Cochez au moins un jour de la semaine." in page and 'value="Promenade au parc"' in page
    assert ecritures() == avant


def test_frequences_simples_en_regles(client, monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    session(client, monde, "ide")
    for controles, regle in [
        ({"repetition": "jours", "tous_les": "3"}, "FREQ=DAILY;INTERVAL=3"),
        ({"repetition": "jours", "tous_les": "1"}, "FREQ=DAILY"),
        ({"repetition": "mois"}, "FREQ=MONTHLY"),
        ({"repetition": ""}, ""),
    ]:
        donnees = {"quoi": f"Action « {regle} »", "revision_lue": str(rev(version, "actions")), **controles}
        assert client.post(url("ajouter_action", version, objectif), donnees).status_code == 302
        assert Action.objects.get(quoi=f"Action « {regle} »").frequence == regle


def test_modifier_une_action_garde_une_regle_fine_et_son_origine(client, monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    fine = ppa.ajouter_action(
        acteur=qui(monde, "ide"), objectif=objectif, quoi="Bilan", frequence="FREQ=MONTHLY;BYDAY=1MO"
    )
    session(client, monde, "ide")
    page = texte(client.get(url("atelier", version)))
    assert "garder la fréquence actuelle : chaque mois, le 1er lundi" in page
    reponse = client.post(
        url("modifier_action", version, fine),
        {"quoi": "Bilan mensuel", "repetition": "garder", "revision_lue": str(rev(version, "actions"))},
    )
    assert reponse.status_code == 302
    modifiee = Action.objects.get(pk=fine.pk)
    assert (modifiee.quoi, modifiee.frequence, modifiee.origine) == (
        "Bilan mensuel",
        fine.frequence,
        fine.origine,
    )


def test_retirer_un_objectif_qui_a_des_actions_est_refuse(client, monde):
    version = brouillon_rempli(monde)
    objectif, action = version.objectifs.get(), version.actions.get()
    session(client, monde, "ide")
    avant = ecritures()
    reponse = client.post(
        url("retirer_objectif", version, objectif), {"revision_lue": str(rev(version, "objectifs"))}
    )
    assert reponse.status_code == 400 and "retirez-les d'abord" in texte(reponse)
    assert ecritures() == avant
    client.post(url("retirer_action", version, action), {"revision_lue": str(rev(version, "actions"))})
    reponse = client.post(
        url("retirer_objectif", version, objectif), {"revision_lue": str(rev(version, "objectifs"))}
    )
    assert reponse.status_code == 302 and not Objectif.objects.filter(version=version).exists()


def test_element_d_une_autre_version_refuse(client, monde):
    version = brouillon_rempli(monde)
    autre = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="Autre", type="PAI"
    ).versions.get()
    besoin = version.besoins.get()
    session(client, monde, "ide")
    avant = ecritures()
    reponse = client.post(url("modifier_besoin", autre, besoin), {"libelle": "Volé", "revision_lue": "0"})
    assert reponse.status_code == 409 and "n'est pas (ou plus) dans cette version" in texte(reponse)
    assert ecritures() == avant
    assert Besoin.objects.get(pk=besoin.pk).libelle == "Se laver"


def test_element_retire_entre_temps_la_saisie_est_rappelee(client, monde):
    version = brouillon_rempli(monde)
    action = version.actions.get()
    session(client, monde, "aidant_avec_droits")
    lue = rev(version, "actions")
    ppa.retirer_action(acteur=qui(monde, "ide"), action=action)
    reponse = client.post(
        url("modifier_action", version, action), {"quoi": "Aide à la douche du matin", "revision_lue": lue}
    )
    assert reponse.status_code == 409
    page = texte(reponse)
    assert "quelqu'un l'a peut-être retiré" in page and "« Aide à la douche du matin »" in page
    reponse = client.post(url("retirer_action", version, action), {"revision_lue": lue})
    assert reponse.status_code == 409


# --- Concurrence ----------------------------------------------------------------------------------


def test_conflit_sur_une_partie_garde_le_texte_tape(client, monde):
    """Sophie et l'infirmière ouvrent la page ; Sophie enregistre d'abord ; l'infirmière, qui avait
    lu la révision précédente, voit son texte gardé, le texte actuel et un message clair ; un nouvel
    envoi, après relecture, passe."""
    version = projet_de(monde).versions.get()
    lue = rev(version, "paroles")
    session(client, monde, "aidant_avec_droits")
    assert (
        client.post(
            url("paroles", version), {"attentes": "Rester chez moi avec mon chat.", "revision_lue": lue}
        ).status_code
        == 302
    )
    session(client, monde, "ide")
    avant = ecritures()
    reponse = client.post(
        url("paroles", version), {"attentes": "Garder son autonomie à domicile.", "revision_lue": lue}
    )
    assert reponse.status_code == 409
    page = texte(reponse)
    assert "pendant que vous écriviez" in page and "Votre texte n'est pas perdu" in page
    assert "Garder son autonomie à domicile." in page  # ce qu'elle avait tapé
    assert "Rester chez moi avec mon chat." in page  # le contenu actuel
    assert f'name="revision_lue" value="{lue + 1}"' in page  # relu : le prochain envoi passe
    assert ecritures() == avant
    assert (
        client.post(
            url("paroles", version), {"attentes": "Garder son autonomie à domicile.", "revision_lue": lue + 1}
        ).status_code
        == 302
    )
    assert frais(version).attentes == "Garder son autonomie à domicile."


def test_deux_parties_en_meme_temps_sans_conflit(client, monde):
    version = brouillon_rempli(monde)
    lues = frais(version).revisions
    session(client, monde, "aidant_avec_droits")
    client.post(url("paroles", version), {"attentes": "Mes mots.", "revision_lue": lues["paroles"]})
    session(client, monde, "ide")
    reponse = client.post(
        url("ajouter_besoin", version), {"libelle": "Sortir", "revision_lue": lues["besoins"]}
    )
    assert reponse.status_code == 302


def test_conflit_sur_un_objectif_montre_la_liste_actuelle(client, monde):
    version = brouillon_rempli(monde)
    objectif = version.objectifs.get()
    lue = rev(version, "objectifs")
    ppa.ajouter_objectif(acteur=qui(monde, "usager"), version=version, titre="Aller au marché le samedi")
    session(client, monde, "ide")
    reponse = client.post(
        url("modifier_objectif", version, objectif), {"titre": "Se doucher seule", "revision_lue": lue}
    )
    assert reponse.status_code == 409
    page = texte(reponse)
    assert "Aller au marché le samedi" in page and 'value="Se doucher seule"' in page
    assert Objectif.objects.get(pk=objectif.pk).titre == "Faire sa toilette seule"


# --- Version figée --------------------------------------------------------------------------------


def _routes_d_ecriture(version):
    besoin, objectif, action = version.besoins.get(), version.objectifs.get(), version.actions.get()
    return [
        (url("paroles", version), {"attentes": "Changé", "revision_lue": "9"}),
        (url("ajouter_besoin", version), {"libelle": "Changé", "revision_lue": "9"}),
        (url("modifier_besoin", version, besoin), {"libelle": "Changé", "revision_lue": "9"}),
        (url("retirer_besoin", version, besoin), {"revision_lue": "9"}),
        (url("ajouter_objectif", version), {"titre": "Changé", "revision_lue": "9"}),
        (url("modifier_objectif", version, objectif), {"titre": "Changé", "revision_lue": "9"}),
        (url("retirer_objectif", version, objectif), {"revision_lue": "9"}),
        (url("ajouter_action", version, objectif), {"quoi": "Changé", "revision_lue": "9"}),
        (url("modifier_action", version, action), {"quoi": "Changé", "revision_lue": "9"}),
        (url("retirer_action", version, action), {"revision_lue": "9"}),
        (url("soumettre", version), {}),
    ]


@pytest.mark.parametrize("statut", ["en_validation", "validee", "remplacee"])
def test_une_version_non_brouillon_ne_change_pas_par_les_pages(client, monde, statut):
    version = brouillon_rempli(monde)
    if statut == "en_validation":
        version = ppa.soumettre(acteur=qui(monde, "ide"), version=version)
    else:
        version = valider(monde, version)
        if statut == "remplacee":
            avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=version)
            valider(monde, avenant)
    assert frais(version).statut == statut
    session(client, monde, "ide")
    avant = ecritures()
    for adresse, donnees in _routes_d_ecriture(version):
        reponse = client.post(adresse, donnees)
        assert reponse.status_code == 400, adresse
        assert "créez un avenant" in texte(reponse) or "n'est plus un brouillon" in texte(reponse), adresse
    session(client, monde, "usager")
    objectif = version.objectifs.get()
    reponse = client.post(
        url("donner_avis", version, objectif), {"avis": "pas_d_accord", "revision_lue": "9"}
    )
    assert reponse.status_code == 400 and "créez un avenant" in texte(reponse)
    assert ecritures() == avant


def test_accord_sur_un_contenu_perime_n_enregistre_rien(client, monde):
    version = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    session(client, monde, "usager")
    avant = ecritures()
    reponse = client.post(url("accord", version), {"partie": "usager", "empreinte": "0" * 64})
    assert reponse.status_code == 400
    assert "Le projet a changé depuis que vous l'avez lu" in texte(reponse)
    assert ecritures() == avant


def test_soumettre_sans_objectif_refuse(client, monde):
    version = projet_de(monde).versions.get()
    session(client, monde, "ide")
    reponse = client.post(url("soumettre", version))
    assert reponse.status_code == 400 and "sans objectif" in texte(reponse)
    assert frais(version).statut == StatutVersion.BROUILLON


def test_un_second_projet_du_meme_type_refuse(client, monde):
    projet_de(monde)
    session(client, monde, "ide")
    reponse = client.post(
        reverse("ppa:creer_projet", args=[monde.usager.uuid]),
        {"titre": "Encore", "type": "PPA", "structure": str(monde.ssiad.uuid)},
    )
    assert reponse.status_code == 400 and "déjà un projet de ce type" in texte(reponse)
    assert ProjetPersonnalise.objects.count() == 1


# --- Requêtes -------------------------------------------------------------------------------------


def remplir(monde, version, nombre: int) -> None:
    besoin = version.besoins.first()
    for rang in range(nombre):
        objectif = ppa.ajouter_objectif(
            acteur=qui(monde, "ide"), version=version, titre=f"Objectif {rang}", besoins=[besoin]
        )
        ppa.ajouter_action(
            acteur=qui(monde, "ide"), objectif=objectif, quoi=f"Action {rang}",
            intervenant=monde.membres["ide"], frequence="FREQ=WEEKLY;BYDAY=TU",
        )  # fmt: skip
        ppa.commenter(acteur=qui(monde, "usager"), version=version, partie="objectifs", texte=f"Mot {rang}")


def requetes(client, adresse: str) -> int:
    with CaptureQueriesContext(connection) as capture:
        reponse = client.get(adresse)
    assert reponse.status_code == 200
    return len(capture.captured_queries)


@pytest.mark.parametrize("nom", ["ide", "aidant_avec_droits", "medecin"])
@pytest.mark.parametrize("page", ["atelier", "facile", "accord"])
def test_pages_en_requetes_constantes(client, monde, nom, page):
    version = brouillon_rempli(monde)
    session(client, monde, nom)
    peu = requetes(client, url(page, version))
    remplir(monde, version, 9)  # 1 puis 10 objectifs
    beaucoup = requetes(client, url(page, version))
    assert peu == beaucoup <= 22, (peu, beaucoup)
    assert texte(client.get(url(page, version))).count("Objectif 8") >= 1


def test_accords_et_projets_en_requetes_constantes(client, monde):
    """La page des accords d'une version soumise (1 contre 10 objectifs) et la liste des projets
    (1 contre 3 projets)."""
    petite = ppa.soumettre(acteur=qui(monde, "ide"), version=brouillon_rempli(monde))
    grande = ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="B", type="PAI"
    ).versions.get()
    ppa.ajouter_besoin(acteur=qui(monde, "ide"), version=grande, libelle="Sortir")
    remplir(monde, grande, 10)
    grande = ppa.soumettre(acteur=qui(monde, "ide"), version=grande)
    session(client, monde, "usager")
    assert requetes(client, url("accord", petite)) == requetes(client, url("accord", grande)) <= 20
    projets = reverse("ppa:projets", args=[monde.usager.uuid])
    peu = requetes(client, projets)
    ppa.creer_projet(
        acteur=qui(monde, "ide"), usager=monde.usager, structure=monde.ssiad, titre="C", type="PP"
    )
    assert requetes(client, projets) == peu <= 16


def test_liens_vers_le_projet_depuis_la_navigation(client, monde):
    projets = f'href="{reverse("ppa:projets", args=[monde.usager.uuid])}"'
    for nom in ("usager", "aidant_avec_droits"):
        session(client, monde, nom)
        page = texte(client.get(reverse("accueil")))
        assert projets in page and "Ouvrir le projet personnalisé" in page, nom
    session(client, monde, "ide")
    assert projets in texte(client.get(reverse("accueil")))  # « Mes usagers »
    session(client, monde, "pro_sans_droit")
    assert projets not in texte(client.get(reverse("accueil")))
