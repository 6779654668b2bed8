"""Pages des invitations (ADR 0014) : matrice d'autorisation (chaque page et route POST × chaque sorte
d'acteur du monde de test, statuts exacts selon l'ADR 0008), effets et journal des POST permis, rien
de changé pour les POST refusés ; code montré une seule fois ; requêtes constantes."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse

from cercle.models import Habilitation
from coordination.comptes import invitations
from coordination.comptes.models import Invitation
from coordination.journal.models import Evenement
from coordination.personnes.models import Exercice, LienProche, Proche
from tests.factories import ExerciceFactory, ProcheFactory, connecter
from tests.monde_cercle import acteur_pro, construire_monde

pytestmark = pytest.mark.django_db

ACTEURS = (
    "anonyme",
    "usager",
    "autre_usager",
    "aidant_avec_droits",
    "aidant_sans_droit",
    "representant",
    "ide",
    "pro_sans_droit",
    "pro_hors_cercle",
    "assistant",
    "assistant_expire",
    "membre_sorti",
    "gestionnaire",
    "collegue_structure",
)
INCONNUS = {"autre_usager", "pro_hors_cercle", "assistant_expire", "membre_sorti"}
GESTION = {"usager", "representant", "gestionnaire"}
# Pour l'équipe du SSIAD : seule l'infirmière a la marque « invite le personnel » (posée ici).
CHARGES_DU_PERSONNEL = {"ide"}
CODE = re.compile(r"\b[A-HJKMNP-Z]{4}(?:-[A-HJKMNP-Z]{4}){3}\b")


@pytest.fixture(autouse=True)
def cache_vide():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monde():
    monde = construire_monde()
    Exercice.objects.filter(pk=monde.acteurs["ide"].exercice.pk).update(invite_le_personnel=True)
    monde.acteurs["ide"] = acteur_pro(Exercice.objects.get(pk=monde.acteurs["ide"].exercice.pk))
    monde.proche_a_inviter = ProcheFactory(
        usager=monde.usager, lien=LienProche.FAMILLE, prenoms="Lucie", nom="NIECE"
    )
    monde.invitation = invitations.inviter_proche(acteur=monde["usager"], proche=monde.proche_a_inviter)
    monde.invitation_personnel = invitations.inviter_personnel(
        acteur=monde["ide"], nom="Amp", prenom="Léa", fonction="Aide médico-psychologique"
    )
    return monde


def _client(client, monde, nom):
    if nom != "anonyme":
        connecter(client, monde.acteurs[nom].compte)
    return client


def _attendu(nom: str, permis: set[str], *, succes: int, designe: bool) -> int:
    if nom == "anonyme":
        return 302
    if nom in permis:
        return succes
    if designe and nom in INCONNUS:
        return 404
    return 403


def _texte(reponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(reponse.content.decode())).split())


def _etat():
    return (
        list(Invitation.objects.order_by("pk").values_list("pk", "revoquee_le", "utilisee_le")),
        Proche.objects.count(),
    )


def _refus_journalise(monde, nom, attendu, designe, avant):
    nouveaux = Evenement.objects.exclude(id__in=avant).filter(action="cercle.acces_refuse")
    assert nouveaux.exists() == (attendu == 403 and designe), (nom, attendu)


# --- Pages (GET) ------------------------------------------------------------------------------


def _pages(monde):
    return {
        "invitations_proches": (reverse("cercle:invitations", args=[monde.usager.uuid]), GESTION, True),
        "invitations_personnel": (reverse("personnel_invitations"), CHARGES_DU_PERSONNEL, False),
    }


@pytest.mark.parametrize("acteur", ACTEURS)
@pytest.mark.parametrize("page", ["invitations_proches", "invitations_personnel"])
def test_matrice_pages(client, monde, page, acteur):
    adresse, permis, designe = _pages(monde)[page]
    attendu = _attendu(acteur, permis, succes=200, designe=designe)
    avant = set(Evenement.objects.values_list("id", flat=True))
    reponse = _client(client, monde, acteur).get(adresse)
    assert reponse.status_code == attendu, (page, acteur, reponse.status_code)
    if attendu == 302:
        assert reponse.url.startswith(reverse("account_login"))
    if attendu == 200:
        texte = _texte(reponse)
        destinataire = "Lucie NIECE" if page == "invitations_proches" else "Léa AMP"
        assert destinataire in texte and "Annuler l'invitation" in texte
        assert not CODE.search(texte)  # le code n'est jamais réaffiché
    if attendu == 403:
        assert "Accès refusé" in _texte(reponse)
    _refus_journalise(monde, acteur, attendu, designe, avant)


# --- Routes POST -------------------------------------------------------------------------------


def _post_inviter_proche(monde):
    return reverse("cercle:invitations", args=[monde.usager.uuid]), {
        "proche": "nouveau",
        "lien": LienProche.AIDANT,
        "prenoms": "Paul",
        "nom": "Voisin",
    }


def _effet_inviter_proche(monde):
    return Invitation.objects.filter(proche__nom="VOISIN", proche__usager=monde.usager).count() == 1


def _post_annuler_proche(monde):
    return reverse(
        "cercle:invitation_annuler", args=[monde.usager.uuid, monde.invitation.invitation.uuid]
    ), {}


def _effet_annuler_proche(monde):
    return Invitation.objects.get(pk=monde.invitation.invitation.pk).revoquee_le is not None


def _post_inviter_personnel(monde):
    return reverse("personnel_invitations"), {"prenom": "Karim", "nom": "Aes", "fonction": "AES"}


def _effet_inviter_personnel(monde):
    return Invitation.objects.filter(nom="AES", structure=monde.ssiad).exists()


def _post_annuler_personnel(monde):
    return reverse("personnel_invitation_annuler", args=[monde.invitation_personnel.invitation.uuid]), {}


def _effet_annuler_personnel(monde):
    return Invitation.objects.get(pk=monde.invitation_personnel.invitation.pk).revoquee_le is not None


POSTS = {
    # route : (formulaire, permis, succès, effet, action journalisée, l'adresse désigne l'usager)
    "inviter_proche": (
        _post_inviter_proche,
        GESTION,
        200,
        _effet_inviter_proche,
        "invitation.emission",
        True,
    ),
    "annuler_proche": (
        _post_annuler_proche,
        GESTION,
        302,
        _effet_annuler_proche,
        "invitation.revocation",
        True,
    ),
    "inviter_personnel": (
        _post_inviter_personnel,
        CHARGES_DU_PERSONNEL,
        200,
        _effet_inviter_personnel,
        "invitation.emission",
        False,
    ),
    "annuler_personnel": (
        _post_annuler_personnel,
        CHARGES_DU_PERSONNEL,
        302,
        _effet_annuler_personnel,
        "invitation.revocation",
        False,
    ),
}


@pytest.mark.parametrize("acteur", ACTEURS)
@pytest.mark.parametrize("route", list(POSTS))
def test_matrice_post(client, monde, route, acteur):
    formulaire, permis, succes, effet, action, designe = POSTS[route]
    adresse, donnees = formulaire(monde)
    attendu = _attendu(acteur, permis, succes=succes, designe=designe)
    avant_etat = _etat()
    avant = set(Evenement.objects.values_list("id", flat=True))
    reponse = _client(client, monde, acteur).post(adresse, donnees)
    assert reponse.status_code == attendu, (route, acteur, reponse.status_code, _texte(reponse)[:500])
    _refus_journalise(monde, acteur, attendu, designe, avant)
    if acteur in permis:
        assert effet(monde), (route, acteur)
        evenement = Evenement.objects.exclude(id__in=avant).get(action=action)
        assert evenement.compte_uuid == monde.acteurs[acteur].compte.uuid
        if succes == 200:  # le code, une seule fois, avec la marche à suivre
            texte = _texte(reponse)
            assert CODE.search(texte)
            assert "Comment se connecter" in texte
            # FranceConnect+ se propose aux proches, pas au personnel d'une structure.
            assert ("FranceConnect+" in texte) == (route == "inviter_proche")
            assert "ne sera plus jamais affiché" in texte
    else:
        assert not effet(monde), (route, acteur)
        assert _etat() == avant_etat, (route, acteur)


def test_saisir_invitation_selon_l_acteur(client, monde):
    assert client.get(reverse("saisir_invitation")).status_code == 200
    connecter(client, monde.acteurs["usager"].compte)
    reponse = client.get(reverse("saisir_invitation"))
    assert reponse.status_code == 302 and reponse.url == reverse("accueil")


# --- Objets d'ailleurs, saisie fautive, code montré une fois ---------------------------------------


def test_invitation_d_un_autre_cercle_ou_d_une_autre_structure_introuvable(client, monde):
    autre_proche = ProcheFactory(usager=monde.autre_usager)
    ailleurs = invitations.inviter_proche(acteur=monde["autre_usager"], proche=autre_proche)
    connecter(client, monde.acteurs["usager"].compte)
    adresse = reverse("cercle:invitation_annuler", args=[monde.usager.uuid, ailleurs.invitation.uuid])
    assert client.post(adresse).status_code == 404
    assert Invitation.objects.get(pk=ailleurs.invitation.pk).revoquee_le is None

    autre_structure = ExerciceFactory(professionnel__compte=None, invite_le_personnel=True)
    dehors = invitations.inviter_personnel(
        acteur=acteur_pro(autre_structure), nom="X", prenom="Y", fonction="Z"
    )
    connecter(client, monde.acteurs["ide"].compte)
    adresse = reverse("personnel_invitation_annuler", args=[dehors.invitation.uuid])
    assert client.post(adresse).status_code == 404
    assert Invitation.objects.get(pk=dehors.invitation.pk).revoquee_le is None


def test_saisie_fautive_reaffichee(client, monde):
    connecter(client, monde.acteurs["usager"].compte)
    adresse = reverse("cercle:invitations", args=[monde.usager.uuid])
    reponse = client.post(adresse, {"proche": "nouveau", "lien": "", "prenoms": "Paul", "nom": ""})
    assert reponse.status_code == 400
    texte = _texte(reponse)
    assert "Lien : obligatoire" in texte and "Nom : obligatoire" in texte
    assert 'value="Paul"' in unescape(reponse.content.decode())
    reponse = client.post(adresse, {})
    assert reponse.status_code == 400 and "Qui inviter ? : choisissez une personne" in _texte(reponse)
    # Un proche déjà invité garde une seule invitation valable : la nouvelle remplace l'ancienne.
    reponse = client.post(adresse, {"proche": str(monde.proche_a_inviter.uuid)})
    assert reponse.status_code == 200
    assert Invitation.objects.filter(proche=monde.proche_a_inviter, revoquee_le__isnull=True).count() == 1
    assert not Habilitation.objects.filter(membre__proche=monde.proche_a_inviter).exists()


def test_lien_depuis_le_cercle_pour_qui_gere(client, monde):
    adresse = reverse("cercle:invitations", args=[monde.usager.uuid])
    connecter(client, monde.acteurs["usager"].compte)
    assert adresse in client.get(reverse("cercle:cercle", args=[monde.usager.uuid])).content.decode()
    client.logout()
    connecter(client, monde.acteurs["ide"].compte)
    assert adresse not in client.get(reverse("cercle:cercle", args=[monde.usager.uuid])).content.decode()


@pytest.mark.parametrize("nombre", [1, 6])
def test_page_des_invitations_requetes_constantes(client, monde, nombre, django_assert_max_num_queries):
    for rang in range(nombre):
        proche = ProcheFactory(usager=monde.usager, prenoms=f"P{rang}", nom=f"PROCHE{rang}")
        invitations.inviter_proche(acteur=monde["usager"], proche=proche)
    connecter(client, monde.acteurs["usager"].compte)
    adresse = reverse("cercle:invitations", args=[monde.usager.uuid])
    client.get(adresse)
    with django_assert_max_num_queries(14):
        reponse = client.get(adresse)
    assert reponse.status_code == 200
    assert _texte(reponse).count("Annuler l'invitation") == nombre + 1


def test_entree_inviter_l_equipe_seulement_pour_qui_en_est_charge(client, monde):
    connecter(client, monde.acteurs["ide"].compte)
    assert reverse("personnel_invitations") in client.get(reverse("accueil")).content.decode()
    client.logout()
    connecter(client, monde.acteurs["collegue_structure"].compte)
    assert reverse("personnel_invitations") not in client.get(reverse("accueil")).content.decode()
