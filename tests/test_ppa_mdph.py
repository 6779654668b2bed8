"""Fiche de liaison MDPH (DE1 PPA, cas d'usage 3 ; ADR 0031) : tirée de la version validée
comparée à celle qu'elle remplace, préparée par un professionnel de la structure, consentie par la
personne ou son représentant légal, envoyée en une transaction (MSSanté vers la BAL de la MDPH et
dépôt au DMP par la boîte d'envoi) ; figée par la base ; refus et saisies fautives n'écrivent rien."""

from __future__ import annotations

import datetime
from html import escape

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.services import AccesRefuse
from coordination.comptes.acteur import SESSION_ACTEUR
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.journal.models import Evenement as Journal
from coordination.personnes.identifiants import OID_INS_TEST
from coordination.personnes.models import Usager
from ppa import mdph
from ppa import services as ppa
from ppa.models import Action, ConsentementFicheMDPH, FicheLiaisonMDPH, StatutFicheMDPH, VersionPPA
from tests.factories import StructureFactory, connecter, nir_valide
from tests.monde_ppa import brouillon_rempli, construire_monde_ppa, qui, valider

pytestmark = pytest.mark.django_db

BAL = "accueil@mdph-val-fictif.mssante.fr"
MOTIF = "Jeanne ne peut plus se lever seule depuis sa chute : la kinésithérapie devient durable."


class Scene:
    """Le projet de Jeanne validé (version 1), puis un avenant validé (version 2) qui ajoute la
    kinésithérapie à domicile ; une MDPH de l'annuaire avec sa BAL MSSanté."""

    def __init__(self) -> None:
        self.monde = monde = construire_monde_ppa()
        self.v1 = valider(monde, brouillon_rempli(monde))
        avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=self.v1)
        ppa.ajouter_action(
            acteur=qui(monde, "ide"), objectif=avenant.objectifs.get(), quoi="Kinésithérapie à domicile",
            intervenant_libelle="Cabinet de kinésithérapie", frequence="FREQ=WEEKLY;BYDAY=TU",
            duree_minutes=30, ou="Domicile",
        )  # fmt: skip
        self.v2 = valider(monde, avenant)
        self.mdph = StructureFactory(raison_sociale="MDPH du Val Fictif", bal_mssante=BAL)

    def preparation(self, version=None, acteur="ide"):
        return mdph.preparation(qui(self.monde, acteur), (version or self.v2).uuid)

    def fiche(self, **saisie) -> FicheLiaisonMDPH:
        preparation = self.preparation()
        donnees = {
            "origines": [c["origine"] for c in preparation.changements],
            "motif": MOTIF,
            "bal": BAL,
            "nom": "MDPH du Val Fictif",
            **saisie,
        }
        return mdph.preparer(acteur=qui(self.monde, "ide"), preparation=preparation, **donnees)

    def consentie(self, **saisie) -> FicheLiaisonMDPH:
        fiche = self.fiche(**saisie)
        moi = qui(self.monde, "usager")
        mdph.consentir(acteur=moi, fiche=fiche, texte_vu=mdph.texte_consentement(moi, fiche))
        return fiche

    def envoyee(self) -> FicheLiaisonMDPH:
        fiche = self.consentie()
        mdph.envoyer(acteur=qui(self.monde, "ide"), fiche=fiche)
        return FicheLiaisonMDPH.objects.get(pk=fiche.pk)


@pytest.fixture
def scene():
    return Scene()


def etat() -> tuple:
    return (
        tuple(FicheLiaisonMDPH.objects.order_by("id").values_list("id", "statut")),
        ConsentementFicheMDPH.objects.count(),
        MessageSortant.objects.count(),
        Journal.objects.filter(action__startswith="ppa.mdph.").exclude(action=mdph.LECTURE).count(),
    )


def qualifier(usager) -> None:
    Usager.objects.filter(pk=usager.pk).update(
        matricule_ins=nir_valide(88), oid_ins=OID_INS_TEST, statut_identite="QUAL", mode_recueil="INSI",
        date_interrogation_insi=datetime.date(2026, 11, 2),
    )  # fmt: skip


# --- Préparer -------------------------------------------------------------------------------------


def test_les_modalites_viennent_du_differentiel(scene):
    preparation = scene.preparation()
    assert preparation.precedente.version == scene.v1
    (changement,) = preparation.changements
    assert changement["changement"] == "ajout" and changement["quoi"] == "Kinésithérapie à domicile"
    assert changement["frequence"] == "chaque semaine, le mardi"
    assert changement["intervenant"] == "Cabinet de kinésithérapie"
    # Une première version : toutes ses actions sont de nouvelles modalités.
    premiere = mdph.preparation(qui(scene.monde, "ide"), scene.v1.uuid)
    assert premiere.precedente is None
    assert [c["quoi"] for c in premiere.changements] == ["Aide à la toilette"]


def test_modalite_modifiee_dit_ce_qui_change(scene):
    monde = scene.monde
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=scene.v2)
    action = avenant.actions.get(quoi="Aide à la toilette")
    # Le brouillon de l'avenant change la fréquence et la durée de l'action (même origine).
    Action.objects.filter(pk=action.pk).update(frequence="FREQ=DAILY", duree_minutes=60)
    v3 = valider(monde, avenant)
    preparation = mdph.preparation(qui(monde, "ide"), v3.uuid)
    (modifiee,) = preparation.changements
    assert modifiee["changement"] == "modification"
    champs = {c["champ"]: (c["avant"], c["apres"]) for c in modifiee["champs"]}
    assert champs["fréquence"] == ("chaque semaine, les lundi, mercredi et vendredi", "tous les jours")
    assert champs["durée (minutes)"] == ("45", "60")


def test_preparer_fige_les_modalites_et_journalise(scene):
    fiche = scene.fiche()
    assert fiche.statut == StatutFicheMDPH.PREPAREE and fiche.envoyee_le is None
    assert (fiche.version, fiche.version_precedente) == (scene.v2, scene.v1)
    assert [m["quoi"] for m in fiche.modalites] == ["Kinésithérapie à domicile"]
    assert (fiche.destinataire_bal, fiche.destinataire_nom, fiche.mdph) == (BAL, "MDPH du Val Fictif", None)
    assert fiche.redigee_par == scene.monde.acteurs["ide"].cle
    evenement = Journal.objects.get(action="ppa.mdph.preparation")
    assert evenement.objet_uuid == fiche.uuid and evenement.usager_uuid == scene.monde.usager.uuid
    assert not MessageSortant.objects.filter(nature=mdph.NATURE).exists()  # rien ne part avant l'envoi


def test_mdph_de_l_annuaire_par_son_finess(scene):
    fiche = scene.fiche(bal="", nom="", mdph_finess=scene.mdph.finess_eg)
    assert (fiche.mdph, fiche.destinataire_bal, fiche.destinataire_nom) == (
        scene.mdph, BAL, "MDPH du Val Fictif",
    )  # fmt: skip


SAISIES_FAUTIVES = {
    "sans-modalite": ({"origines": []}, "modalites", "Cochez au moins une modalité"),
    "modalite-inconnue": ({"origines": ["pas-une-origine"]}, "modalites", "Cochez au moins une modalité"),
    "sans-motif": ({"motif": "   "}, "motif", "Dites pourquoi"),
    "sans-destinataire": ({"bal": "", "nom": ""}, None, "Indiquez la MDPH destinataire"),
    "adresse-hors-mssante": ({"bal": "mdph@exemple.fr"}, "bal", "doit se terminer par .mssante.fr"),
    "adresse-patient": ({"bal": "245072A00412345@patient.mssante.fr"}, "bal", "adresse d'un patient"),
    "adresse-invalide": ({"bal": "mdph.mssante.fr"}, "bal", "pas une adresse de messagerie valide"),
    "sans-nom": ({"nom": ""}, "nom", "Nommez la MDPH"),
    "finess-inconnu": ({"bal": "", "mdph_finess": "999999999"}, "mdph_finess", "Aucune structure"),
    "finess-et-adresse": ({"mdph_finess": "010000016"}, None, "pas les deux"),
}


@pytest.mark.parametrize("cas", list(SAISIES_FAUTIVES))
def test_saisie_fautive_rien_d_ecrit(scene, cas):
    saisie, champ, message = SAISIES_FAUTIVES[cas]
    avant = etat()
    with pytest.raises(ValidationError) as erreur:
        scene.fiche(**saisie)
    if champ is None:
        assert message in " ".join(erreur.value.messages)
    else:
        assert message in " ".join(erreur.value.message_dict[champ])
    assert etat() == avant


def test_structure_de_l_annuaire_sans_bal(scene):
    sans_bal = StructureFactory(raison_sociale="MDPH sans BAL")
    with pytest.raises(ValidationError, match="n'a pas de BAL MSSanté"):
        scene.fiche(bal="", nom="", mdph_finess=sans_bal.finess_eg)


@pytest.mark.parametrize(
    "nom", ["medecin", "aidant_avec_droits", "usager", "representant", "pro_sans_droit", "gestionnaire"]
)
def test_seul_un_professionnel_de_la_structure_prepare(scene, nom):
    preparation = scene.preparation()
    avant = etat()
    with pytest.raises(AccesRefuse, match="professionnel de SSIAD du Val Fictif"):
        mdph.preparer(
            acteur=qui(scene.monde, nom),
            preparation=preparation,
            origines=["x"],
            motif=MOTIF,
            bal=BAL,
            nom="M",
        )
    assert etat() == avant


def test_une_version_remplacee_ne_donne_pas_de_fiche(scene):
    preparation = mdph.preparation(qui(scene.monde, "ide"), scene.v1.uuid)
    with pytest.raises(ValidationError, match="version validée en vigueur"):
        mdph.preparer(
            acteur=qui(scene.monde, "ide"), preparation=preparation,
            origines=[c["origine"] for c in preparation.changements], motif=MOTIF, bal=BAL, nom="M",
        )  # fmt: skip
    assert not FicheLiaisonMDPH.objects.exists()


def test_un_avenant_qui_ne_change_aucune_modalite(scene):
    monde = scene.monde
    avenant = ppa.creer_avenant(acteur=qui(monde, "ide"), version=scene.v2)
    ppa.ecrire_paroles(acteur=qui(monde, "usager"), version=avenant, attentes="Voir mes petits-enfants.")
    v3 = valider(monde, avenant)
    preparation = mdph.preparation(qui(monde, "ide"), v3.uuid)
    assert preparation.changements == []
    with pytest.raises(ValidationError, match="ne change aucune modalité"):
        mdph.preparer(acteur=qui(monde, "ide"), preparation=preparation, origines=[], motif=MOTIF, bal=BAL)


# --- Consentir ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nom", "qualite", "debut"),
    [
        ("usager", "la personne", "J'accepte que SSIAD du Val Fictif envoie"),
        ("representant", "son représentant légal", "J'accepte, pour Jeanne FICTIVE que je représente, que"),
    ],
    ids=["usager", "representant"],
)
def test_consentement_de_la_personne_ou_de_son_representant(scene, nom, qualite, debut):
    fiche = scene.fiche()
    acteur = qui(scene.monde, nom)
    texte = mdph.texte_consentement(acteur, fiche)
    assert texte.startswith(debut) and BAL in texte and "DMP" in texte
    consentement = mdph.consentir(acteur=acteur, fiche=fiche, texte_vu=texte)
    assert (consentement.qualite, consentement.texte, consentement.donne_par) == (
        qualite, texte, scene.monde.acteurs[nom].cle,
    )  # fmt: skip
    assert Journal.objects.filter(action="ppa.mdph.consentement", objet_uuid=fiche.uuid).count() == 1


@pytest.mark.parametrize("nom", ["aidant_avec_droits", "ide", "medecin", "autre_usager", "pro_hors_cercle"])
def test_personne_d_autre_ne_consent(scene, nom):
    fiche = scene.fiche()
    avant = etat()
    with pytest.raises(AccesRefuse, match="Seule la personne"):
        mdph.consentir(acteur=qui(scene.monde, nom), fiche=fiche, texte_vu="J'accepte")
    assert etat() == avant


def test_consentement_sur_un_texte_perime(scene):
    fiche = scene.fiche()
    avant = etat()
    with pytest.raises(ValidationError, match="Le texte a changé"):
        mdph.consentir(acteur=qui(scene.monde, "usager"), fiche=fiche, texte_vu="Un autre texte")
    assert etat() == avant


def test_consentement_une_seule_fois(scene):
    fiche = scene.consentie()
    moi = qui(scene.monde, "usager")
    with pytest.raises(ValidationError, match="déjà enregistré"):
        mdph.consentir(acteur=moi, fiche=fiche, texte_vu=mdph.texte_consentement(moi, fiche))
    assert ConsentementFicheMDPH.objects.count() == 1


# --- Envoyer --------------------------------------------------------------------------------------


def test_envoyer_range_deux_messages_dans_une_transaction(scene):
    fiche = scene.envoyee()
    assert fiche.statut == StatutFicheMDPH.ENVOYEE and fiche.envoyee_le is not None
    mssante = MessageSortant.objects.get(destination=Destination.MSSANTE)
    dmp = MessageSortant.objects.get(destination=Destination.DMP, nature="ppa.fiche_mdph")
    assert (mssante.destinataire, mssante.statut) == (BAL, StatutMessage.A_ENVOYER)
    assert mssante.cle_idempotence == f"ppa.fiche_mdph:mssante:{fiche.uuid}"
    assert mssante.charge["document"]["fiche"] == str(fiche.uuid)
    assert (mssante.objet_type, mssante.objet_uuid) == ("ppa.ficheliaisonmdph", fiche.uuid)
    # Jeanne n'a pas d'identité INS qualifiée : le dépôt au DMP est refusé, la raison écrite.
    assert dmp.statut == StatutMessage.REFUSE and "n'est pas qualifiée" in dmp.derniere_erreur
    assert [m.pk for m in mdph.messages(fiche)] == [mssante.pk, dmp.pk]
    assert Journal.objects.filter(action="ppa.mdph.envoi", objet_uuid=fiche.uuid).count() == 1


def test_identite_qualifiee_les_deux_envois_partent(scene):
    qualifier(scene.monde.usager)
    fiche = scene.envoyee()
    statuts = {m.destination: m.statut for m in mdph.messages(fiche)}
    assert statuts == {Destination.MSSANTE: StatutMessage.A_ENVOYER, Destination.DMP: StatutMessage.A_ENVOYER}


def test_sans_consentement_rien_ne_part(scene):
    fiche = scene.fiche()
    avant = etat()
    with pytest.raises(ValidationError, match="n'a pas encore consenti"):
        mdph.envoyer(acteur=qui(scene.monde, "ide"), fiche=fiche)
    assert etat() == avant
    assert FicheLiaisonMDPH.objects.get(pk=fiche.pk).statut == StatutFicheMDPH.PREPAREE


def test_une_fiche_ne_part_qu_une_fois(scene):
    fiche = scene.envoyee()
    avant = etat()
    with pytest.raises(ValidationError, match="déjà envoyée"):
        mdph.envoyer(acteur=qui(scene.monde, "collegue_structure"), fiche=fiche)
    assert etat() == avant


def test_envoi_annule_rien_ne_reste(scene):
    fiche = scene.consentie()

    class Annuler(Exception):
        """Annule la transaction de l'envoi."""

    with pytest.raises(Annuler), transaction.atomic():
        mdph.envoyer(acteur=qui(scene.monde, "ide"), fiche=fiche)
        raise Annuler
    assert not MessageSortant.objects.filter(nature=mdph.NATURE).exists()
    assert FicheLiaisonMDPH.objects.get(pk=fiche.pk).statut == StatutFicheMDPH.PREPAREE


@pytest.mark.parametrize("nom", ["usager", "aidant_avec_droits", "medecin"])
def test_seul_un_professionnel_de_la_structure_envoie(scene, nom):
    fiche = scene.consentie()
    avant = etat()
    with pytest.raises(AccesRefuse):
        mdph.envoyer(acteur=qui(scene.monde, nom), fiche=fiche)
    assert etat() == avant


# --- La base fige ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ppa_ficheliaisonmdph SET motif = 'autre' WHERE id = %s",
        "UPDATE ppa_ficheliaisonmdph SET modalites = '[]'::jsonb WHERE id = %s",
        "UPDATE ppa_ficheliaisonmdph SET destinataire_bal = 'x@autre.mssante.fr' WHERE id = %s",
    ],
    ids=["motif", "modalites", "destinataire"],
)
def test_le_contenu_d_une_fiche_est_fige(scene, sql):
    fiche = scene.fiche()
    with pytest.raises(IntegrityError, match="contenu d'une fiche est figé"), transaction.atomic():
        with connection.cursor() as curseur:
            curseur.execute(sql, [fiche.pk])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ppa_ficheliaisonmdph SET statut = 'preparee', envoyee_le = NULL WHERE id = %s",
        "UPDATE ppa_ficheliaisonmdph SET envoyee_par_nom = 'autre' WHERE id = %s",
        "DELETE FROM ppa_ficheliaisonmdph WHERE id = %s",
    ],
    ids=["retour-preparee", "envoyee-par", "effacer"],
)
def test_une_fiche_envoyee_ne_change_plus(scene, sql):
    fiche = scene.envoyee()
    with pytest.raises(IntegrityError, match="une fiche envoyée ne change plus"), transaction.atomic():
        with connection.cursor() as curseur:
            curseur.execute(sql, [fiche.pk])


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ppa_consentementfichemdph SET texte = 'autre' WHERE fiche_id = %s",
     "DELETE FROM ppa_consentementfichemdph WHERE fiche_id = %s"],
    ids=["modifier", "effacer"],
)  # fmt: skip
def test_un_consentement_est_immuable(scene, sql):
    fiche = scene.consentie()
    with pytest.raises(IntegrityError, match="consentement donné"), transaction.atomic():
        with connection.cursor() as curseur:
            curseur.execute(sql, [fiche.pk])


# --- Pages ----------------------------------------------------------------------------------------


def connecte(client, scene, nom: str):
    acteur = scene.monde.acteurs[nom]
    connecter(client, acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    return client


def test_parcours_des_pages(client, scene):
    usager = scene.monde.usager
    connecte(client, scene, "ide")
    adresse = reverse("ppa:mdph_nouvelle", args=[usager.uuid, scene.v2.uuid])
    page = client.get(adresse)
    assert page.status_code == 200
    assert "Kinésithérapie à domicile" in page.content.decode()
    origine = scene.preparation().changements[0]["origine"]
    saisie = {"modalites": [origine], "motif": MOTIF, "bal": BAL, "nom": "MDPH du Val Fictif"}
    # Aperçu : la fiche telle qu'elle sera, rien d'écrit.
    apercu = client.post(adresse, {**saisie, "etape": "apercu"})
    assert apercu.status_code == 200 and "Aperçu de la fiche" in apercu.content.decode()
    assert not FicheLiaisonMDPH.objects.exists()
    reponse = client.post(adresse, {**saisie, "etape": "enregistrer"})
    fiche = FicheLiaisonMDPH.objects.get()
    assert reponse.status_code == 302
    assert reponse["Location"] == reverse("ppa:mdph_fiche", args=[usager.uuid, fiche.uuid])
    page_fiche = client.get(reponse["Location"]).content.decode()
    assert "Pas encore donné" in page_fiche and "Envoyer à la MDPH" in page_fiche
    # La personne lit et consent.
    client.logout()
    connecte(client, scene, "usager")
    adresse_consentement = reverse("ppa:mdph_consentement", args=[usager.uuid, fiche.uuid])
    lecture = client.get(adresse_consentement)
    texte = mdph.texte_consentement(qui(scene.monde, "usager"), fiche)
    assert lecture.status_code == 200 and escape(texte) in lecture.content.decode()
    assert client.post(adresse_consentement, {"texte_vu": texte}).status_code == 302
    assert (
        "Envoyer à la MDPH"
        not in client.get(reverse("ppa:mdph_fiche", args=[usager.uuid, fiche.uuid])).content.decode()
    )
    # L'infirmière envoie ; la page montre les deux envois et la raison du refus au DMP.
    client.logout()
    connecte(client, scene, "ide")
    envoi = client.post(reverse("ppa:mdph_envoyer", args=[usager.uuid, fiche.uuid]))
    assert envoi.status_code == 302
    page_fiche = client.get(envoi["Location"]).content.decode()
    assert "La fiche part à la MDPH" in page_fiche
    assert "à envoyer" in page_fiche and "refusé (jamais envoyé)" in page_fiche
    assert "n&#x27;est pas qualifiée" in page_fiche
    assert "Envoyer à la MDPH" not in page_fiche
    pdf = client.get(reverse("ppa:mdph_pdf", args=[usager.uuid, fiche.uuid]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_saisie_fautive_en_page_garde_le_texte(client, scene):
    connecte(client, scene, "ide")
    adresse = reverse("ppa:mdph_nouvelle", args=[scene.monde.usager.uuid, scene.v2.uuid])
    origine = scene.preparation().changements[0]["origine"]
    reponse = client.post(
        adresse,
        {
            "modalites": [origine],
            "motif": MOTIF,
            "bal": "mdph@exemple.fr",
            "nom": "M",
            "etape": "enregistrer",
        },
    )
    contenu = reponse.content.decode()
    assert reponse.status_code == 400
    assert "doit se terminer par .mssante.fr" in contenu
    assert "la kinésithérapie devient durable" in contenu and 'value="mdph@exemple.fr"' in contenu
    assert not FicheLiaisonMDPH.objects.exists()


def test_envoi_sans_consentement_en_page(client, scene):
    fiche = scene.fiche()
    connecte(client, scene, "ide")
    avant = etat()
    reponse = client.post(
        reverse("ppa:mdph_envoyer", args=[scene.monde.usager.uuid, fiche.uuid]), follow=True
    )
    assert "n&#x27;a pas encore consenti" in reponse.content.decode()
    assert etat() == avant


def test_consentement_texte_perime_en_page(client, scene):
    fiche = scene.fiche()
    connecte(client, scene, "usager")
    avant = etat()
    reponse = client.post(
        reverse("ppa:mdph_consentement", args=[scene.monde.usager.uuid, fiche.uuid]), {"texte_vu": "autre"}
    )
    assert reponse.status_code == 400 and "Le texte a changé" in reponse.content.decode()
    assert etat() == avant


def _requetes(client, adresse: str) -> int:
    with CaptureQueriesContext(connection) as requetes:
        assert client.get(adresse).status_code == 200
    return len(requetes)


def test_requetes_constantes(client, scene):
    """La liste des fiches et la page d'une fiche : autant de requêtes avec une fiche (et un
    envoi) qu'avec trois fiches (et leurs envois)."""
    usager = scene.monde.usager
    premiere = scene.envoyee()
    connecte(client, scene, "ide")
    liste = reverse("ppa:mdph_liste", args=[usager.uuid])
    page = reverse("ppa:mdph_fiche", args=[usager.uuid, premiere.uuid])
    avec_une = (_requetes(client, liste), _requetes(client, page))
    scene.envoyee()
    scene.fiche()
    avec_trois = (_requetes(client, liste), _requetes(client, page))
    assert avec_une == avec_trois
    assert max(avec_trois) <= 16


def test_chaque_version_validee_a_son_depot(scene):
    """Les versions v1 et v2 ont chacune leur dépôt au DMP (refusé : identité provisoire)."""
    depots = MessageSortant.objects.filter(nature="ppa.depot_dmp")
    assert {d.objet_uuid for d in depots} == {scene.v1.uuid, scene.v2.uuid}
    assert VersionPPA.objects.get(pk=scene.v1.pk).statut == "remplacee"
