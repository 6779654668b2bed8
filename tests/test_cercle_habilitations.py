"""La politique d'accès (cercle/habilitations.py) : matrice acteur × domaine, une requête par
décision, listes d'usagers visibles, explications en français, et les règles qui la fondent."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cercle import habilitations, services
from cercle.habilitations import peut, pourquoi, usagers_visibles
from cercle.models import Consentement, ConsentementImmuable, DroitParDefaut, Habilitation, Membre, TypeMembre
from cercle.roles import Role
from tests.factories import ExerciceFactory, StructureFactory
from tests.monde_cercle import acteur_pro, construire_monde, frais

pytestmark = pytest.mark.django_db

G, E, L, _ = 3, 2, 1, 0
DOMAINES = ("cercle", "cahier", "ppa", "agenda", "identite")

# Niveaux attendus : cercle, cahier, ppa, agenda, identite.
ATTENDU = {
    "usager": (G, G, G, G, G),
    "representant": (G, G, G, G, G),
    "autre_usager": (_, _, _, _, _),
    "ide": (L, E, L, E, L),  # présomption : IDE d'une structure qui accompagne
    "collegue_structure": (L, L, _, L, _),  # droits de la structure membre
    "medecin": (L, E, L, E, L),  # présomption : médecin traitant
    "assistant": (_, _, _, L, _),  # délégation de l'agenda en lecture
    "assistant_expire": (_, _, _, _, _),
    "pro_sans_droit": (_, _, _, _, _),  # membre, mais aucun droit
    "gestionnaire": (G, _, _, _, _),  # gestion du cercle confiée par l'usagère
    "aidant_avec_droits": (_, L, _, _, _),
    "aidant_sans_droit": (_, _, _, _, _),
    "membre_sorti": (_, _, _, _, _),
    "pro_hors_cercle": (_, _, _, _, _),
    "systeme": (G, G, G, G, G),
}


@pytest.fixture
def monde():
    return construire_monde()


def test_matrice_des_niveaux(monde):
    for nom, attendu in ATTENDU.items():
        niveaux = habilitations.niveaux(monde[nom], monde.usager)
        assert tuple(niveaux[d] for d in DOMAINES) == attendu, nom


def test_peut_suit_les_niveaux_pour_chaque_action(monde):
    requis = {"lire": 1, "ecrire": 2, "gerer": 3}
    for nom, attendu in ATTENDU.items():
        acteur = monde[nom]
        for domaine, niveau in zip(DOMAINES, attendu, strict=True):
            for action, seuil in requis.items():
                assert peut(acteur, monde.usager, action, domaine) is (niveau >= seuil), (
                    nom,
                    domaine,
                    action,
                )


def test_personne_n_a_rien_sur_l_autre_usager_sauf_lui_meme(monde):
    for nom in ATTENDU:
        niveaux = habilitations.niveaux(monde[nom], monde.autre_usager)
        attendu = G if nom in ("autre_usager", "systeme") else _
        assert set(niveaux.values()) == {attendu}, nom


def test_anonyme_ne_peut_rien(monde):
    assert not peut(None, monde.usager, "lire", "cercle")
    assert not usagers_visibles(None).exists()


def test_une_requete_au_plus_par_usager_et_par_requete(monde, django_assert_num_queries):
    for nom in ("ide", "assistant", "aidant_avec_droits", "collegue_structure"):
        acteur = monde[nom]
        with django_assert_num_queries(1):
            for domaine in DOMAINES:
                for action in ("lire", "ecrire", "gerer"):
                    peut(acteur, monde.usager, action, domaine)
    with django_assert_num_queries(0):
        peut(monde["usager"], monde.usager, "gerer", "ppa")
        peut(monde["representant"], monde.usager, "gerer", "ppa")
        peut(monde["autre_usager"], monde.usager, "lire", "ppa")


def test_action_ou_domaine_inconnus_sont_des_erreurs_de_programmation(monde):
    with pytest.raises(ValueError, match="Domaine inconnu"):
        peut(monde["ide"], monde.usager, "lire", "finances")
    with pytest.raises(ValueError, match="Action inconnue"):
        peut(monde["ide"], monde.usager, "supprimer", "cahier")


def test_usagers_visibles(monde):
    def visibles(nom, **kw):
        return set(usagers_visibles(monde[nom], **kw).values_list("pk", flat=True))

    jeanne, paul = monde.usager.pk, monde.autre_usager.pk
    assert visibles("usager") == {jeanne}
    assert visibles("autre_usager") == {paul}
    assert visibles("representant") == {jeanne}
    assert visibles("ide") == {jeanne}
    assert visibles("ide", domaine="cahier", action="ecrire") == {jeanne}
    assert visibles("ide", domaine="cercle", action="gerer") == set()
    assert visibles("assistant") == {jeanne}
    assert visibles("assistant", domaine="agenda") == {jeanne}
    assert visibles("assistant", domaine="cahier") == set()
    assert visibles("collegue_structure", domaine="cahier") == {jeanne}
    for nom in ("assistant_expire", "pro_sans_droit", "aidant_sans_droit", "membre_sorti", "pro_hors_cercle"):
        assert visibles(nom) == set(), nom
    assert visibles("systeme") >= {jeanne, paul}


def test_usagers_visibles_est_une_seule_requete(monde, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(list(usagers_visibles(monde["assistant"], domaine="agenda"))) == 1


def test_la_delegation_ne_donne_jamais_plus_que_le_delegant(monde):
    medecin = monde.membres["medecin"]
    # Le médecin perd son droit sur l'agenda : la secrétaire le perd aussi, à l'instant.
    droit = Habilitation.objects.get(membre=medecin, domaine="agenda", revoquee_le__isnull=True)
    services.revoquer(acteur=monde["usager"], droit=droit)
    assert habilitations.niveaux(monde["assistant"], monde.usager)["agenda"] == _
    assert not usagers_visibles(monde["assistant"]).exists()


def test_la_delegation_ne_depasse_pas_ce_que_detient_le_delegant(monde):
    with pytest.raises(ValidationError, match="jamais plus"):
        services.proposer_delegation(
            acteur=monde["medecin"],
            usager=monde.usager,
            assistant=monde["assistant"].exercice,
            domaine="cercle",
            niveau=2,
            date_fin=timezone.localdate(),
        )
    with pytest.raises(ValidationError, match="jamais plus"):
        services.proposer_delegation(
            acteur=monde["pro_sans_droit"],
            usager=monde.usager,
            assistant=monde["assistant"].exercice,
            domaine="cahier",
            niveau=1,
            date_fin=timezone.localdate(),
        )


def test_la_delegation_n_est_pas_transitive(monde):
    # La secrétaire n'est pas membre : elle ne peut rien redéléguer.
    with pytest.raises(services.AccesRefuse):
        services.proposer_delegation(
            acteur=monde["assistant"],
            usager=monde.usager,
            assistant=monde["pro_hors_cercle"].exercice,
            domaine="agenda",
            niveau=1,
            date_fin=timezone.localdate(),
        )


def test_delegation_sans_consentement_ne_donne_rien(monde):
    nouveau = ExerciceFactory(structure=None)
    delegation = services.proposer_delegation(
        acteur=monde["ide"],
        usager=monde.usager,
        assistant=nouveau,
        domaine="cahier",
        niveau=1,
        date_fin=timezone.localdate() + datetime.timedelta(days=10),
    )
    assert habilitations.niveaux(acteur_pro(nouveau), monde.usager)["cahier"] == _
    assert "attend votre accord" in str(pourquoi(acteur_pro(nouveau), monde.usager, "cahier"))
    # Ni le délégant ni un gestionnaire ne consentent à la place de l'usager.
    for nom in ("ide", "gestionnaire", "aidant_avec_droits"):
        with pytest.raises(services.AccesRefuse):
            services.consentir_delegation(acteur=monde[nom], delegation=delegation, accepter=True)
    services.consentir_delegation(acteur=monde["representant"], delegation=delegation, accepter=True)
    assert habilitations.niveaux(acteur_pro(nouveau), monde.usager)["cahier"] == L
    consentement = Consentement.objects.get(delegations=delegation)
    assert consentement.qualite == "representant_legal"
    assert "jamais plus que ce que" in consentement.texte


def test_sortir_du_cercle_met_fin_a_tout_a_l_instant(monde):
    medecin = monde.membres["medecin"]
    assert peut(monde["assistant"], monde.usager, "lire", "agenda")
    services.retirer_membre(acteur=monde["gestionnaire"], membre=medecin)
    assert set(habilitations.niveaux(monde["medecin"], monde.usager).values()) == {_}
    assert set(habilitations.niveaux(monde["assistant"], monde.usager).values()) == {_}
    assert not Habilitation.objects.filter(membre=medecin, revoquee_le__isnull=True).exists()


def test_un_membre_peut_revenir_apres_etre_sorti(monde):
    parti = monde.membres["parti"]
    retour = services.ajouter_membre(
        acteur=monde["usager"],
        usager=monde.usager,
        type=TypeMembre.PROFESSIONNEL,
        exercice=parti.exercice,
        role=Role.MEDECIN,
    )
    assert retour.pk != parti.pk
    assert Membre.objects.filter(cercle__usager=monde.usager, professionnel=parti.professionnel).count() == 2
    # Hors structure accompagnante et pas médecin traitant : revenu sans droit.
    assert set(habilitations.niveaux(monde["membre_sorti"], monde.usager).values()) == {_}


def test_double_presence_ouverte_refusee(monde):
    with pytest.raises(ValidationError, match="fait déjà partie du cercle"):
        services.ajouter_membre(
            acteur=monde["usager"],
            usager=monde.usager,
            type=TypeMembre.PROFESSIONNEL,
            exercice=monde["ide"].exercice,
        )
    # Et la base le refuse aussi, même sans passer par le service.
    ide = monde.membres["ide"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Membre.objects.create(
            cercle=ide.cercle, type="professionnel", professionnel=ide.professionnel, role="ide"
        )


def test_suspendu_n_a_plus_de_droits_puis_les_retrouve(monde):
    ide = monde.membres["ide"]
    services.suspendre_membre(acteur=monde["usager"], membre=ide)
    assert set(habilitations.niveaux(monde["ide"], monde.usager).values()) <= {_, L}  # la structure reste
    assert habilitations.niveaux(monde["ide"], monde.usager)["cahier"] == L
    services.suspendre_membre(acteur=monde["usager"], membre=ide, suspendre=False)
    assert habilitations.niveaux(monde["ide"], monde.usager)["cahier"] == E


def test_droit_jusqu_a_une_date(monde):
    kine = monde.membres["kine"]
    demain = timezone.localdate() + datetime.timedelta(days=1)
    services.accorder(acteur=monde["usager"], membre=kine, domaine="ppa", niveau=1, date_fin=demain)
    assert peut(monde["pro_sans_droit"], monde.usager, "lire", "ppa")
    Habilitation.objects.filter(membre=kine, domaine="ppa").update(
        date_debut=timezone.localdate() - datetime.timedelta(days=5),
        date_fin=timezone.localdate() - datetime.timedelta(days=1),
    )
    assert not peut(frais(monde["pro_sans_droit"]), monde.usager, "lire", "ppa")
    assert "a pris fin le" in str(pourquoi(monde["pro_sans_droit"], monde.usager, "ppa"))
    with pytest.raises(ValidationError, match="déjà passée"):
        services.accorder(
            acteur=monde["usager"],
            membre=kine,
            domaine="ppa",
            niveau=1,
            date_fin=timezone.localdate() - datetime.timedelta(days=1),
        )


def test_qui_peut_accorder(monde):
    kine = monde.membres["kine"]
    for nom in ("usager", "representant", "gestionnaire"):
        droit = services.accorder(acteur=monde[nom], membre=kine, domaine="cahier", niveau=1)
        assert (
            droit.consentement.qualite
            == {"usager": "usager", "representant": "representant_legal", "gestionnaire": "gestionnaire"}[nom]
        )
    for nom in (
        "ide",
        "medecin",
        "aidant_avec_droits",
        "aidant_sans_droit",
        "assistant",
        "pro_hors_cercle",
        "autre_usager",
        "membre_sorti",
        "collegue_structure",
    ):
        with pytest.raises(services.AccesRefuse):
            services.accorder(acteur=monde[nom], membre=kine, domaine="cahier", niveau=2)
    # Une seule ligne en vigueur par domaine ; les précédentes sont gardées, retirées.
    lignes = Habilitation.objects.filter(membre=kine, domaine="cahier")
    assert lignes.count() == 3
    assert lignes.filter(revoquee_le__isnull=True).count() == 1


def test_seul_le_titulaire_change_le_gestionnaire(monde):
    ide = monde.membres["ide"]
    with pytest.raises(services.AccesRefuse, match="gestion du cercle"):
        services.accorder(acteur=monde["gestionnaire"], membre=ide, domaine="cercle", niveau=3)
    droit = Habilitation.objects.get(
        membre=monde.membres["coordinatrice"], domaine="cercle", revoquee_le__isnull=True
    )
    with pytest.raises(services.AccesRefuse):
        services.revoquer(acteur=monde["gestionnaire"], droit=droit)
    consentement = services.revoquer(acteur=monde["representant"], droit=droit)
    assert consentement.objet == "gestionnaire"
    assert not peut(frais(monde["gestionnaire"]), monde.usager, "gerer", "cercle")


def test_un_membre_inactif_ou_propose_ne_recoit_aucun_droit(monde):
    with pytest.raises(ValidationError, match="membre actif"):
        services.accorder(acteur=monde["usager"], membre=monde.membres["parti"], domaine="cahier", niveau=1)


def test_texte_vu_different_refuse_sans_rien_ecrire(monde):
    kine = monde.membres["kine"]
    avant = Consentement.objects.count()
    with pytest.raises(ValidationError, match="a changé"):
        services.accorder(
            acteur=monde["usager"],
            membre=kine,
            domaine="cahier",
            niveau=2,
            texte_vu="J'autorise autre chose.",
        )
    assert Consentement.objects.count() == avant
    texte = services.texte_octroi(kine, "cahier", 2, None)
    droit = services.accorder(acteur=monde["usager"], membre=kine, domaine="cahier", niveau=2, texte_vu=texte)
    assert droit.consentement.texte == texte
    assert droit.consentement.texte_version == "octroi-2026-11"


def test_consentement_immuable_en_modele_et_en_base(monde):
    consentement = Consentement.objects.first()
    consentement.texte = "autre chose"
    with pytest.raises(ConsentementImmuable):
        consentement.save()
    with pytest.raises(ConsentementImmuable):
        consentement.delete()
    for sql in ("UPDATE cercle_consentement SET texte = 'x'", "DELETE FROM cercle_consentement"):
        with pytest.raises(Exception, match="consentement immuable"), transaction.atomic():
            with connection.cursor() as curseur:
                curseur.execute(sql)


def test_reglages_par_structure_des_droits_par_defaut(monde):
    ssiad = monde.ssiad
    DroitParDefaut.objects.create(structure=ssiad, role=Role.IDE, domaine="ppa", niveau=0)
    DroitParDefaut.objects.create(structure=ssiad, role=Role.IDE, domaine="cahier", niveau=1)
    nouvelle = ExerciceFactory(structure=ssiad)
    membre = services.ajouter_membre(
        acteur=monde["usager"], usager=monde.usager, type="professionnel", exercice=nouvelle
    )
    droits = dict(Habilitation.objects.filter(membre=membre).values_list("domaine", "niveau"))
    assert droits == {"cercle": L, "cahier": L, "agenda": E, "identite": L}
    assert set(Habilitation.objects.filter(membre=membre).values_list("origine", flat=True)) == {
        "presomption"
    }


def test_professionnel_hors_structure_accompagnante_sans_droit_par_defaut(monde):
    ailleurs = ExerciceFactory(structure=StructureFactory())
    membre = services.ajouter_membre(
        acteur=monde["usager"], usager=monde.usager, type="professionnel", exercice=ailleurs
    )
    assert not membre.habilitations.exists()


def test_proche_et_autre_personne_sans_droit_par_defaut(monde):
    voisine = services.ajouter_membre(
        acteur=monde["usager"],
        usager=monde.usager,
        type="autre",
        nom="VOISINE",
        prenoms="Rose",
        precision="voisine",
    )
    assert voisine.role == Role.VOISIN_BENEVOLE
    assert not voisine.habilitations.exists()
    assert not monde.membres["fils"].habilitations.exists()


def test_qui_peut_ajouter_un_membre(monde):
    structure = StructureFactory()
    for nom in (
        "aidant_avec_droits",
        "aidant_sans_droit",
        "ide",
        "pro_hors_cercle",
        "autre_usager",
        "assistant",
    ):
        with pytest.raises(services.AccesRefuse):
            services.ajouter_membre(
                acteur=monde[nom], usager=monde.usager, type="structure", structure=structure
            )
    membre = services.ajouter_membre(
        acteur=monde["gestionnaire"], usager=monde.usager, type="structure", structure=structure
    )
    assert membre.actif


def test_role_incoherent_refuse(monde):
    with pytest.raises(ValidationError, match="ne convient pas"):
        services.ajouter_membre(
            acteur=monde["usager"],
            usager=monde.usager,
            type="structure",
            structure=StructureFactory(),
            role=Role.AIDANT,
        )


def test_pourquoi_explique_en_francais(monde):
    def texte(nom, domaine):
        return str(pourquoi(monde[nom], monde.usager, domaine))

    assert "C'est votre dossier" in texte("usager", "ppa")
    assert "représentant légal (tutelle)" in texte("representant", "cahier")
    assert "par défaut, comme professionnel d'une structure qui vous accompagne" in texte("ide", "cahier")
    assert "vous pouvez le retirer" in texte("ide", "cahier")
    assert "comme votre médecin traitant" in texte("medecin", "agenda")
    assert "n'a aucun droit sur votre projet personnalisé" in texte("pro_sans_droit", "ppa")
    assert "droit accordé par vous le" in texte("aidant_avec_droits", "cahier")
    assert "a quitté votre cercle le" in texte("membre_sorti", "cahier")
    assert "ne fait pas partie de votre cercle" in texte("pro_hors_cercle", "cahier")
    assert "assiste" in texte("assistant", "agenda")
    assert "a pris fin le" in texte("assistant_expire", "agenda")
    assert "SSIAD du Val Fictif" in texte("collegue_structure", "agenda")
    explication = pourquoi(monde["ide"], monde.usager, "cahier")
    assert explication.niveau == E
    assert explication.phrases[-1].startswith("En tout :")


def test_un_aidant_qui_agit_est_journalise_au_nom_de_l_usager(monde):
    from coordination.journal.models import Evenement

    # La tutrice ajoute un membre : le journal dit « au nom de » Jeanne.
    services.ajouter_membre(
        acteur=monde["representant"], usager=monde.usager, type="structure", structure=StructureFactory()
    )
    evenement = Evenement.objects.filter(action="cercle.membre.ajout").order_by("-id").first()
    assert evenement.acteur_type == "proche"
    assert evenement.au_nom_de == str(monde.usager)
    assert evenement.usager_uuid == monde.usager.uuid
