"""Pages du cercle : matrice d'autorisation (chaque page et chaque route POST × chaque sorte
d'acteur du monde de test), effets et journal des POST permis, rien de changé pour les POST
refusés ; règle 404/403 (ADR 0008) ; nombre de requêtes constant des pages de liste ; parcours
(droit en deux étapes, texte changé entre-temps, saisie fautive réaffichée, demande neutre, PDF).

Le nombre de cas de la matrice se lit dans la sortie de pytest (`-k matrice --collect-only -q`)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cercle import services
from cercle.models import (
    Consentement,
    Delegation,
    DemandeAdhesion,
    Habilitation,
    Membre,
    MotifSortie,
    StatutDelegation,
    StatutDemande,
    StatutMembre,
    TypeMembre,
)
from coordination.journal.models import Evenement
from tests.factories import ExerciceFactory, ProfessionnelFactory, UsagerFactory, connecter
from tests.monde_cercle import acteur_pro, construire_monde

pytestmark = pytest.mark.django_db

# Les sortes d'acteurs de la matrice (noms de tests/monde_cercle.py ; « anonyme » : pas de session).
ACTEURS = (
    "anonyme",
    "usager",
    "autre_usager",
    "aidant_avec_droits",
    "aidant_sans_droit",
    "representant",
    "ide",  # professionnel du cercle avec le droit de lire le cercle (présomption)
    "pro_sans_droit",  # professionnel membre du cercle, sans aucun droit
    "pro_hors_cercle",
    "assistant",  # délégation active (agenda en lecture)
    "assistant_expire",
    "membre_sorti",
    "gestionnaire",  # coordinatrice à qui la gestion du cercle est confiée
)
PROFESSIONNELS = {
    "ide",
    "pro_sans_droit",
    "pro_hors_cercle",
    "assistant",
    "assistant_expire",
    "membre_sorti",
    "gestionnaire",
}
COTE_USAGER = {"usager", "representant", "aidant_avec_droits", "aidant_sans_droit"}
# Ceux pour qui Jeanne « n'existe pas » : 404 sur toute adresse qui la désigne (ADR 0008).
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
LECTEURS_DU_CERCLE = {"usager", "representant", "ide", "gestionnaire"}
GESTION = {"usager", "representant", "gestionnaire"}
TITULAIRES = {"usager", "representant"}
# Membres du cercle en personne (professionnel ou proche) : ils peuvent le quitter eux-mêmes.
MEMBRES_EN_PERSONNE = {"ide", "pro_sans_droit", "gestionnaire", "aidant_avec_droits", "aidant_sans_droit"}
# Fin d'une délégation active : qui gère le cercle, ou l'assistant (le délégant, le médecin, n'est
# pas une sorte d'acteur de la matrice ; il est vérifié à part).
FIN_DELEGATION = GESTION | {"assistant"}


@dataclass
class Scene:
    """Le monde de test, plus ce qu'il faut pour chaque page : une demande d'adhésion en attente,
    une délégation en attente, une proposition venue de l'historique de remboursement."""

    monde: object
    demande: DemandeAdhesion
    delegation: Delegation
    proposition: Membre
    consentement: Consentement
    demande_du_dehors: DemandeAdhesion
    delegation_active: Delegation

    @property
    def usager(self):
        return self.monde.usager


def construire_scene() -> Scene:
    monde = construire_monde()
    jeanne = monde.usager
    demandeur = ExerciceFactory(professionnel__nom_exercice="DEMANDEUSE")
    demande = services.demander_adhesion(
        acteur=acteur_pro(demandeur),
        nom_naissance="Fictive",
        prenom="Jeanne",
        date_naissance=jeanne.date_naissance,
        message="Je suis la nouvelle orthophoniste.",
    )
    nouvel_assistant = ExerciceFactory(structure=None, professionnel__nom_exercice="NOUVELASSISTANT")
    delegation = services.proposer_delegation(
        acteur=monde["medecin"],
        usager=jeanne,
        assistant=nouvel_assistant,
        domaine="cahier",
        niveau=1,
        date_fin=timezone.localdate() + datetime.timedelta(days=30),
    )
    vu = ProfessionnelFactory(nom_exercice="PHARMACIEN", profession_code="21")
    ExerciceFactory(professionnel=vu, structure=None)
    rapport = services.importer_historique(
        acteur=monde["usager"], usager=jeanne, contenu=f"rpps;date\n{vu.rpps};2026-01-10\n".encode()
    )
    (proposition,) = rapport.proposes
    consentement = Habilitation.objects.get(membre=monde.membres["aidant"], domaine="cahier").consentement
    demande_du_dehors = services.demander_adhesion(
        acteur=monde["pro_hors_cercle"], matricule_ins="2 45 07 75 056 999 99"
    )
    delegation_active = Delegation.objects.get(
        delegant=monde.membres["medecin"], statut=StatutDelegation.ACTIVE, date_fin__gte=timezone.localdate()
    )
    return Scene(monde, demande, delegation, proposition, consentement, demande_du_dehors, delegation_active)


@pytest.fixture
def scene() -> Scene:
    return construire_scene()


def client_de(client, scene: Scene, nom: str):
    if nom != "anonyme":
        connecter(client, scene.monde.acteurs[nom].compte)
    return client


def statut_attendu(nom: str, permis: set[str], *, succes: int = 200, connu_requis: bool = True) -> int:
    """La règle des refus (ADR 0008) : anonyme → connexion ; usager inconnu de l'acteur → 404 ;
    usager connu mais action non permise → 403."""
    if nom == "anonyme":
        return 302
    if nom in permis:
        return succes
    if connu_requis and nom in INCONNUS:
        return 404
    return 403


def contenu(reponse) -> str:
    return unescape(reponse.content.decode())


def texte(reponse) -> str:
    """Le texte visible, sans balises, espaces normalisés."""
    return " ".join(re.sub(r"<[^>]+>", " ", contenu(reponse)).split())


def ecritures() -> int:
    """Événements du journal qui ne sont pas des lectures (ni des refus, vérifiés à part)."""
    return Evenement.objects.exclude(action__contains="lecture").exclude(action=REFUS).count()


REFUS = "cercle.acces_refuse"


def verifier_refus_journalise(scene: Scene, acteur: str, attendu: int, designe: bool, avant: set) -> None:
    """Un 403 sur une adresse qui désigne l'usager écrit un refus à son journal, avec la route ;
    un 404 (usager hors du monde de l'acteur), un 403 sans usager et une réussite, aucun."""
    refus = Evenement.objects.exclude(id__in=avant).filter(action=REFUS)
    if attendu == 403 and designe:
        evenement = refus.get()
        assert evenement.resultat == "refuse"
        assert evenement.usager_uuid == scene.usager.uuid
        assert evenement.compte_uuid == scene.monde.acteurs[acteur].compte.uuid
        assert evenement.details["route"].startswith("cercle:")
    else:
        assert not refus.exists(), (acteur, attendu)


def etat(scene: Scene) -> tuple:
    """Tout ce qu'un POST du cercle peut changer."""
    return (
        tuple(Membre.objects.order_by("id").values_list("id", "statut")),
        tuple(Habilitation.objects.order_by("id").values_list("id", "revoquee_le")),
        tuple(Delegation.objects.order_by("id").values_list("id", "statut")),
        tuple(DemandeAdhesion.objects.order_by("id").values_list("id", "statut")),
        Consentement.objects.count(),
        ecritures(),
    )


# --- Pages (GET) ----------------------------------------------------------------------------------


def _u(scene: Scene) -> str:
    return str(scene.usager.uuid)


PAGES = {
    # nom: (adresse, acteurs permis, usager désigné dans l'adresse)
    "accueil": (lambda s: "/", set(ACTEURS) - {"anonyme"}, False),
    "mes_usagers": (lambda s: reverse("cercle:mes_usagers"), PROFESSIONNELS, False),
    "mes_demandes": (lambda s: reverse("cercle:mes_demandes"), PROFESSIONNELS, False),
    "demande_nouvelle": (lambda s: reverse("cercle:demande_nouvelle"), PROFESSIONNELS, False),
    "cercle": (lambda s: reverse("cercle:cercle", args=[_u(s)]), LECTEURS_DU_CERCLE, True),
    "ajouter": (lambda s: reverse("cercle:ajouter", args=[_u(s)]) + "?type=proche", GESTION, True),
    "pourquoi": (
        lambda s: reverse("cercle:pourquoi", args=[_u(s), s.monde.membres["ide"].uuid]),
        {"usager", "representant"},
        True,
    ),
    "droit_accorder": (
        lambda s: reverse("cercle:droit_accorder", args=[_u(s), s.monde.membres["fils"].uuid]),
        GESTION,
        True,
    ),
    "droit_retirer": (
        lambda s: reverse("cercle:droit_retirer", args=[_u(s), s.consentement.habilitations.get().uuid]),
        GESTION,
        True,
    ),
    "membre_retirer": (
        lambda s: reverse("cercle:membre_retirer", args=[_u(s), s.monde.membres["kine"].uuid]),
        GESTION,
        True,
    ),
    "acces": (lambda s: reverse("cercle:acces", args=[_u(s)]), GESTION, True),
    "consentement": (
        lambda s: reverse("cercle:consentement", args=[_u(s), s.consentement.uuid]),
        GESTION,
        True,
    ),
    "consentement_pdf": (
        lambda s: reverse("cercle:consentement_pdf", args=[_u(s), s.consentement.uuid]),
        GESTION,
        True,
    ),
    "quitter": (lambda s: reverse("cercle:quitter", args=[_u(s)]), MEMBRES_EN_PERSONNE, True),
    "delegation_terminer": (
        lambda s: reverse("cercle:delegation_terminer", args=[_u(s), s.delegation_active.uuid]),
        FIN_DELEGATION,
        True,
    ),
    "historique": (lambda s: reverse("cercle:historique", args=[_u(s)]), GESTION, True),
    "mes_delegations": (lambda s: reverse("cercle:mes_delegations"), PROFESSIONNELS, False),
}


@pytest.mark.parametrize("acteur", ACTEURS)
@pytest.mark.parametrize("page", list(PAGES))
def test_matrice_pages(client, scene, page, acteur):
    adresse, permis, designe = PAGES[page]
    attendu = statut_attendu(acteur, permis, connu_requis=designe)
    avant = set(Evenement.objects.values_list("id", flat=True))
    reponse = client_de(client, scene, acteur).get(adresse(scene))
    assert reponse.status_code == attendu, (page, acteur, reponse.status_code)
    verifier_refus_journalise(scene, acteur, attendu, designe, avant)
    if attendu == 302:
        assert reponse.url.startswith(reverse("account_login"))
    if attendu == 403:
        assert "Accès refusé" in contenu(reponse)
    if attendu == 404:
        assert "Page introuvable" in contenu(reponse)
        assert "FICTIVE" not in contenu(reponse)


@pytest.mark.parametrize("acteur", ACTEURS)
def test_matrice_mon_cercle(client, scene, acteur):
    reponse = client_de(client, scene, acteur).get(reverse("cercle:mon_cercle"))
    if acteur == "anonyme":
        assert reponse.status_code == 302 and reponse.url.startswith(reverse("account_login"))
    elif acteur in COTE_USAGER | {"autre_usager"}:
        assert reponse.status_code == 302
        propre = scene.monde.autre_usager if acteur == "autre_usager" else scene.usager
        assert reponse.url == reverse("cercle:cercle", args=[propre.uuid])
    else:
        assert reponse.status_code == 403


# --- Routes POST : effet et journal si permis, rien de changé sinon -------------------------------


def _post_ajouter(s):
    return reverse("cercle:ajouter", args=[_u(s)]), {
        "type": "autre",
        "nom": "VOISINE",
        "prenoms": "Odette",
        "role": "CON",
    }


def _post_accorder(s):
    membre = s.monde.membres["fils"]
    texte = services.texte_octroi(membre, "agenda", 1, None)
    return reverse("cercle:droit_accorder", args=[_u(s), membre.uuid]), {
        "etape": "confirmer",
        "domaine": "agenda",
        "niveau": "1",
        "date_fin": "",
        "texte_vu": texte,
    }


def _post_revoquer(s):
    droit = s.consentement.habilitations.get()
    return reverse("cercle:droit_retirer", args=[_u(s), droit.uuid]), {
        "texte_vu": services.texte_revocation(droit)
    }


def _post_retirer_membre(s):
    return reverse("cercle:membre_retirer", args=[_u(s), s.monde.membres["kine"].uuid]), {
        "motif": "fin_accompagnement"
    }


def _post_suspendre(s):
    return reverse("cercle:membre_suspendre", args=[_u(s), s.monde.membres["ide"].uuid]), {"suspendre": "1"}


def _post_confirmer(s):
    return reverse("cercle:proposition", args=[_u(s), s.proposition.uuid]), {"decision": "confirmer"}


def _post_decider(s):
    return reverse("cercle:demande_decider", args=[_u(s), s.demande.uuid]), {
        "decision": "refuser",
        "motif": "Nous avons déjà une orthophoniste.",
    }


def _post_consentir(s):
    return reverse("cercle:delegation_consentir", args=[_u(s), s.delegation.uuid]), {
        "decision": "accepter",
        "texte_vu": services.texte_delegation(s.delegation),
    }


def _post_demander(s):
    return reverse("cercle:demande_nouvelle"), {
        "matricule_ins": "",
        "nom_naissance": "Inconnue",
        "prenom": "Personne",
        "date_naissance": "1950-02-03",
        "role": "ide",
        "message": "",
    }


def _post_retirer_demande(s):
    return reverse("cercle:demande_retirer", args=[s.demande_du_dehors.uuid]), {}


def _post_quitter(s):
    return reverse("cercle:quitter", args=[_u(s)]), {}


def _post_terminer_delegation(s):
    return reverse("cercle:delegation_terminer", args=[_u(s), s.delegation_active.uuid]), {}


def _post_historique(s):
    dentiste = ProfessionnelFactory(nom_exercice="DENTISTE", profession_code="40")
    fichier = f"rpps;date\n{dentiste.rpps};2026-02-03\n123;2026-02-04\n".encode()
    return reverse("cercle:historique", args=[_u(s)]), {
        "fichier": SimpleUploadedFile("historique.csv", fichier, content_type="text/csv")
    }


def _effet_ajout(s):
    return Membre.objects.filter(cercle__usager=s.usager, nom="VOISINE", statut=StatutMembre.ACTIF).exists()


def _effet_accord(s):
    return Habilitation.objects.filter(
        membre=s.monde.membres["fils"], domaine="agenda", revoquee_le__isnull=True
    ).exists()


def _effet_revocation(s):
    return s.consentement.habilitations.get().revoquee_le is not None


def _effet_retrait(s):
    return Membre.objects.get(pk=s.monde.membres["kine"].pk).statut == StatutMembre.INACTIF


def _effet_suspension(s):
    return Membre.objects.get(pk=s.monde.membres["ide"].pk).statut == StatutMembre.SUSPENDU


def _effet_confirmation(s):
    return Membre.objects.get(pk=s.proposition.pk).statut == StatutMembre.ACTIF


def _effet_decision(s):
    demande = DemandeAdhesion.objects.get(pk=s.demande.pk)
    return demande.statut == StatutDemande.REFUSEE and demande.motif.startswith("Nous avons")


def _effet_consentement(s):
    return Delegation.objects.get(pk=s.delegation.pk).statut == StatutDelegation.ACTIVE


def _effet_demande(s):
    return DemandeAdhesion.objects.filter(designation__startswith="INCONNUE").exists()


def _effet_retrait_demande(s):
    return DemandeAdhesion.objects.get(pk=s.demande_du_dehors.pk).statut == StatutDemande.RETIREE


def _effet_depart(s):
    return Membre.objects.filter(motif_sortie=MotifSortie.DEPART_MEMBRE, date_sortie__isnull=False).exists()


def _effet_fin_delegation(s):
    return Delegation.objects.get(pk=s.delegation_active.pk).statut == StatutDelegation.TERMINEE


def _effet_historique(s):
    return Membre.objects.filter(
        cercle__usager=s.usager, professionnel__nom_exercice="DENTISTE", statut=StatutMembre.PROPOSE
    ).exists()


POSTS = {
    # nom: (formulaire, acteurs permis, effet, action journalisée, usager désigné dans l'adresse)
    "ajouter": (_post_ajouter, GESTION, _effet_ajout, "cercle.membre.ajout", True),
    "accorder": (_post_accorder, GESTION, _effet_accord, "cercle.droit.octroi", True),
    "revoquer": (_post_revoquer, GESTION, _effet_revocation, "cercle.droit.retrait", True),
    "retirer_membre": (_post_retirer_membre, GESTION, _effet_retrait, "cercle.membre.sortie", True),
    "suspendre": (_post_suspendre, GESTION, _effet_suspension, "cercle.membre.suspension", True),
    "confirmer_proposition": (
        _post_confirmer,
        GESTION,
        _effet_confirmation,
        "cercle.membre.confirmation",
        True,
    ),
    "decider_demande": (_post_decider, GESTION, _effet_decision, "cercle.adhesion.refusee", True),
    "consentir_delegation": (
        _post_consentir,
        TITULAIRES,
        _effet_consentement,
        "cercle.delegation.accord",
        True,
    ),
    "demander_adhesion": (_post_demander, PROFESSIONNELS, _effet_demande, "cercle.adhesion.demande", False),
    "retirer_demande": (
        _post_retirer_demande,
        {"pro_hors_cercle"},
        _effet_retrait_demande,
        "cercle.adhesion.retrait",
        False,
    ),
    "quitter": (_post_quitter, MEMBRES_EN_PERSONNE, _effet_depart, "cercle.membre.sortie", True),
    "terminer_delegation": (
        _post_terminer_delegation,
        FIN_DELEGATION,
        _effet_fin_delegation,
        "cercle.delegation.fin",
        True,
    ),
    "importer_historique": (
        _post_historique,
        GESTION,
        _effet_historique,
        "cercle.historique.import",
        True,
    ),
}
# Statut d'une route POST réussie, quand ce n'est pas une redirection : le compte rendu d'import
# s'affiche directement.
SUCCES_POST = {"importer_historique": 200}


@pytest.mark.parametrize("acteur", ACTEURS)
@pytest.mark.parametrize("route", list(POSTS))
def test_matrice_post(client, scene, route, acteur):
    formulaire, permis, effet, action, designe = POSTS[route]
    adresse, donnees = formulaire(scene)
    attendu = statut_attendu(acteur, permis, succes=SUCCES_POST.get(route, 302), connu_requis=designe)
    if route == "retirer_demande" and acteur in PROFESSIONNELS - permis:
        attendu = 404  # la demande d'un autre professionnel n'existe pas pour lui
    client = client_de(client, scene, acteur)
    avant = etat(scene)
    evenements_avant = set(Evenement.objects.values_list("id", flat=True))
    reponse = client.post(adresse, donnees)
    assert reponse.status_code == attendu, (route, acteur, reponse.status_code, contenu(reponse)[:3000])
    verifier_refus_journalise(scene, acteur, attendu, designe, evenements_avant)
    if acteur in permis:
        assert effet(scene), (route, acteur)
        nouveaux = Evenement.objects.exclude(id__in=evenements_avant)
        evenement = nouveaux.get(action=action)
        assert evenement.compte_uuid == scene.monde.acteurs[acteur].compte.uuid
        if acteur in {"representant", "aidant_avec_droits"} and designe:
            assert evenement.au_nom_de == str(scene.usager)  # un proche agit au nom de l'usagère
    else:
        assert not effet(scene), (route, acteur)
        assert etat(scene) == avant, (route, acteur)


# --- Règle 404 / 403 sur les objets ---------------------------------------------------------------


def test_objet_d_un_autre_cercle_introuvable(client, scene):
    """Le membre d'un autre usager, désigné sous l'adresse de Jeanne : 404, même pour qui gère."""
    autre = UsagerFactory()
    services.creer_cercle(usager=autre)
    etranger = services.ajouter_membre(acteur=scene.monde["systeme"], usager=autre, type="autre", nom="X")
    connecter(client, scene.monde.acteurs["usager"].compte)
    for nom in ("droit_accorder", "membre_retirer", "pourquoi"):
        assert client.get(reverse(f"cercle:{nom}", args=[_u(scene), etranger.uuid])).status_code == 404
    reponse = client.post(reverse("cercle:membre_suspendre", args=[_u(scene), etranger.uuid]))
    assert reponse.status_code == 404
    assert Membre.objects.get(pk=etranger.pk).statut == StatutMembre.ACTIF
    import uuid

    assert client.get(reverse("cercle:cercle", args=[uuid.uuid4()])).status_code == 404
    assert client.get("/usagers/pas-un-uuid/cercle/").status_code == 404


# --- Parcours -------------------------------------------------------------------------------------


def test_droit_en_deux_etapes_avec_le_texte_exact(client, scene):
    jeanne = scene.usager
    fils = scene.monde.membres["fils"]
    connecter(client, scene.monde.acteurs["usager"].compte)
    adresse = reverse("cercle:droit_accorder", args=[jeanne.uuid, fils.uuid])
    assert "Étape 1 sur 2" in contenu(client.get(adresse))
    fin = timezone.localdate() + datetime.timedelta(days=10)
    reponse = client.post(
        adresse, {"etape": "relire", "domaine": "ppa", "niveau": "2", "date_fin": fin.isoformat()}
    )
    assert reponse.status_code == 200
    texte = services.texte_octroi(fils, "ppa", 2, fin)
    assert texte.startswith("J'autorise Marc FICTIVE")
    html = contenu(reponse)
    assert "Étape 2 sur 2" in html and texte in html
    assert not Habilitation.objects.filter(membre=fils, domaine="ppa").exists()  # rien d'écrit à l'étape 1
    # Le texte a changé entre l'affichage et la confirmation : rien n'est enregistré.
    reponse = client.post(
        adresse,
        {
            "etape": "confirmer",
            "domaine": "ppa",
            "niveau": "2",
            "date_fin": fin.isoformat(),
            "texte_vu": "autre",
        },
    )
    assert reponse.status_code == 400
    assert "Le texte à approuver a changé" in contenu(reponse)
    assert not Habilitation.objects.filter(membre=fils, domaine="ppa").exists()
    reponse = client.post(
        adresse,
        {
            "etape": "confirmer",
            "domaine": "ppa",
            "niveau": "2",
            "date_fin": fin.isoformat(),
            "texte_vu": texte,
        },
    )
    assert reponse.status_code == 302
    droit = Habilitation.objects.get(membre=fils, domaine="ppa", revoquee_le__isnull=True)
    assert (droit.niveau, droit.date_fin, droit.consentement.texte) == (2, fin, texte)
    assert "peut maintenant consulter et compléter" in contenu(client.get(reponse.url))


def test_saisie_fautive_reaffichee_avec_les_valeurs(client, scene):
    connecter(client, scene.monde.acteurs["usager"].compte)
    adresse = reverse("cercle:droit_accorder", args=[scene.usager.uuid, scene.monde.membres["fils"].uuid])
    hier = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    reponse = client.post(adresse, {"etape": "relire", "domaine": "agenda", "niveau": "1", "date_fin": hier})
    assert reponse.status_code == 400
    html = contenu(reponse)
    assert "Jusqu'au : cette date est déjà passée." in html
    assert f'value="{hier}"' in html
    assert 'value="agenda" selected' in html
    # Ajout d'une autre personne sans nom : message clair, valeurs gardées.
    reponse = client.post(
        reverse("cercle:ajouter", args=[scene.usager.uuid]),
        {"type": "autre", "prenoms": "Odette", "nom": "", "precision": "voisine", "role": "CON"},
    )
    assert reponse.status_code == 400
    html = contenu(reponse)
    assert 'value="Odette"' in html and 'value="voisine"' in html
    assert "Ce champ est obligatoire" in html


def test_revocation_puis_preuve_pdf(client, scene):
    connecter(client, scene.monde.acteurs["representant"].compte)
    droit = scene.consentement.habilitations.get()
    adresse = reverse("cercle:droit_retirer", args=[scene.usager.uuid, droit.uuid])
    texte = services.texte_revocation(droit)
    assert texte in contenu(client.get(adresse))
    reponse = client.post(adresse, {"texte_vu": texte})
    assert reponse.status_code == 302
    retrait = Consentement.objects.get(texte=texte)
    assert reponse.url == reverse("cercle:consentement", args=[scene.usager.uuid, retrait.uuid])
    html = contenu(client.get(reponse.url))
    assert texte in html and str(retrait.uuid) in html and "représentant légal" in html
    evenement = Evenement.objects.get(action="cercle.droit.retrait", details__consentement=str(retrait.uuid))
    assert evenement.empreinte in html
    pdf = client.get(reverse("cercle:consentement_pdf", args=[scene.usager.uuid, retrait.uuid]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "attachment" in pdf["Content-Disposition"]
    from tests.test_navigateur import CAPTURES

    CAPTURES.mkdir(exist_ok=True)
    (CAPTURES / "cercle-preuve-retrait.pdf").write_bytes(pdf.content)  # pour relecture (pdftoppm)
    texte_pdf = _texte_du_pdf(pdf.content)
    for attendu in (texte, str(retrait.uuid), str(evenement.uuid), "Jeanne FICTIVE", "Hélène TUTRICE"):
        assert attendu in texte_pdf, attendu
    assert (
        Evenement.objects.filter(action="cercle.consentement.lecture", objet_uuid=retrait.uuid).count() == 2
    )


def _texte_du_pdf(contenu_pdf: bytes) -> str:
    """Texte d'un PDF par pdftotext (poppler-utils), espaces normalisés."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext introuvable : installez le paquet Debian « poppler-utils ».")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fichier:
        fichier.write(contenu_pdf)
        fichier.flush()
        sortie = subprocess.run(["pdftotext", fichier.name, "-"], capture_output=True, check=True, text=True)
    return " ".join(sortie.stdout.split())


def test_demande_neutre_que_la_personne_existe_ou_non(client, scene):
    compte = scene.monde.acteurs["pro_hors_cercle"].compte
    connecter(client, compte)
    adresse = reverse("cercle:demande_nouvelle")
    commun = {"role": "ide", "message": "Bonjour", "matricule_ins": ""}
    existe = client.post(
        adresse, {**commun, "nom_naissance": "fictive", "prenom": "Jeanne", "date_naissance": "1945-07-14"}
    )
    absente = client.post(
        adresse, {**commun, "nom_naissance": "Personne", "prenom": "Nul", "date_naissance": "1945-07-14"}
    )
    assert existe.status_code == absente.status_code == 302
    assert existe.url == absente.url == reverse("cercle:mes_demandes")
    html = contenu(client.get(reverse("cercle:mes_demandes")))
    assert html.count("en attente") >= 2
    assert "Votre demande est enregistrée" in html
    # Saisie incomplète : message clair, valeurs gardées.
    reponse = client.post(adresse, {**commun, "nom_naissance": "Durand", "prenom": "", "date_naissance": ""})
    assert reponse.status_code == 400
    html = contenu(reponse)
    assert "Indiquez le matricule INS, ou bien le nom de naissance" in html
    assert 'value="Durand"' in html


def test_page_du_cercle_montre_membres_droits_et_decisions(client, scene):
    connecter(client, scene.monde.acteurs["usager"].compte)
    reponse = client.get(reverse("cercle:cercle", args=[scene.usager.uuid]))
    html = contenu(reponse)
    assert "<h1>Mon cercle</h1>" in html
    for titre in ("Professionnels (", "Structures (1)", "Proches (2)", "Anciens membres (1)", "À décider"):
        assert titre in html, titre
    assert "Cahier de liaison : consulter et compléter" in texte(reponse)
    assert "par défaut (équipe de soins)" in html
    assert services.texte_delegation(scene.delegation) in html
    assert "DEMANDEUSE" in html and "Je suis la nouvelle orthophoniste." in html
    assert "PHARMACIEN" in html and "historique de remboursement" in html
    assert "Pourquoi ?" in html
    # Le professionnel qui lit le cercle n'a ni décisions ni boutons de gestion ni explications.
    client.logout()
    connecter(client, scene.monde.acteurs["ide"].compte)
    html = contenu(client.get(reverse("cercle:cercle", args=[scene.usager.uuid])))
    assert "<h1>Le cercle de Jeanne FICTIVE</h1>" in html
    assert "À décider" not in html and "Donner un droit" not in html and "Pourquoi ?" not in html


def test_pourquoi_en_francais_simple(client, scene):
    connecter(client, scene.monde.acteurs["usager"].compte)
    ide = scene.monde.membres["ide"]
    adresse = reverse("cercle:pourquoi", args=[scene.usager.uuid, ide.uuid])
    html = contenu(client.get(adresse))
    assert "<h1>Ce que voit" in html
    assert "par défaut, comme professionnel d'une structure qui vous accompagne" in html
    fragment = contenu(client.get(adresse, headers={"HX-Request": "true"}))
    assert "<html" not in fragment and "équipe de soins" in fragment


def test_qui_a_consulte_filtres_et_libelles(client, scene):
    connecter(client, scene.monde.acteurs["ide"].compte)
    client.get(reverse("cercle:cercle", args=[scene.usager.uuid]))  # une lecture de l'infirmière
    client.logout()
    connecter(client, scene.monde.acteurs["usager"].compte)
    adresse = reverse("cercle:acces", args=[scene.usager.uuid])
    html = texte(client.get(adresse))
    assert "Camille INFIRMIERE a consulté votre cercle" in html
    assert "a demandé à se faire assister (délégation)" in html
    lectures = texte(client.get(adresse, {"nature": "lecture"}))
    assert "a consulté votre cercle" in lectures and "délégation" not in lectures
    proches = contenu(client.get(adresse, {"qui": "proche"}))
    assert "INFIRMIERE" not in proches
    systeme = contenu(client.get(adresse, {"qui": "systeme", "periode": "tout"}))
    assert "INFIRMIERE" not in systeme
    assert client.get(adresse, {"qui": "n'importe quoi"}).status_code == 200  # filtre ignoré


# --- Nombre de requêtes constant ------------------------------------------------------------------


def _usagers_de_la_structure(scene: Scene, nombre: int) -> None:
    for _ in range(nombre):
        usager = UsagerFactory()
        services.creer_cercle(usager=usager)
        services.ajouter_membre(
            acteur=scene.monde["systeme"],
            usager=usager,
            type=TypeMembre.STRUCTURE,
            structure=scene.monde.ssiad,
        )


@pytest.mark.parametrize("nombre", [1, 5, 30])
@pytest.mark.parametrize("adresse", ["/", "/usagers/", "/usagers/?q=fict"])
def test_mes_usagers_requetes_constantes(client, scene, adresse, nombre, django_assert_max_num_queries):
    _usagers_de_la_structure(scene, nombre)
    connecter(client, scene.monde.acteurs["ide"].compte)
    client.get("/")
    # Compte, acteur, compte total, page, niveaux de la page, non-lus du cahier de liaison, session
    # (3 dans la transaction du test).
    with django_assert_max_num_queries(9):
        reponse = client.get(adresse)
    assert reponse.status_code == 200
    assert contenu(reponse).count('class="carte carte--usager"') == min(nombre + 1, 20)


@pytest.mark.parametrize("nombre", [0, 30])
def test_qui_a_consulte_requetes_constantes(client, scene, nombre, django_assert_max_num_queries):
    connecter(client, scene.monde.acteurs["usager"].compte)
    adresse = reverse("cercle:acces", args=[scene.usager.uuid])
    for _ in range(nombre):
        client.get(reverse("cercle:cercle", args=[scene.usager.uuid]))
    client.get(adresse)
    with django_assert_max_num_queries(12):
        assert client.get(adresse).status_code == 200


@pytest.mark.parametrize("nombre", [0, 15])
def test_page_du_cercle_requetes_constantes(client, scene, nombre, django_assert_max_num_queries):
    jeanne = scene.usager
    for n in range(nombre):
        services.ajouter_membre(acteur=scene.monde["systeme"], usager=jeanne, type="autre", nom=f"VOISIN{n}")
    connecter(client, scene.monde.acteurs["usager"].compte)
    adresse = reverse("cercle:cercle", args=[jeanne.uuid])
    client.get(adresse)
    with django_assert_max_num_queries(20):
        assert client.get(adresse).status_code == 200
