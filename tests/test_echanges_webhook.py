"""Webhooks NdE vers le logiciel d'une structure : choix des abonnements d'un événement et mise en
file (`abonnements.mettre_en_file_webhooks`), notification rebâtie (CommunicationRequest
nde-notificationrequest, validée par fhir.resources, INS seulement qualifiée, aucun texte de note),
remise au DUI du bac à sable (sandbox/dui.py, vrai processus HTTP) : en-têtes de l'abonné, clé
d'idempotence dédoublonnée, erreurs en `Rejet` ou `PairIndisponible`."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace

import pytest
from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B.communicationrequest import CommunicationRequest

from cercle import habilitations
from cercle import services as services_cercle
from cercle.models import Habilitation
from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.comptes.logiciels import emettre_client, revoquer_client
from coordination.echanges import adaptateurs, natures
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant
from coordination.echanges.services import TransactionRequise
from coordination.notifications import abonnements
from coordination.notifications.models_abonnements import Abonnement
from coordination.personnes.models import ModeRecueil, StatutIdentite, Usager
from tests.factories import OID_INS_TEST, StructureFactory, nir_valide
from tests.monde_cercle import construire_monde
from tests.pair_sms import JETON_DUI, fixture_dui, fixture_recepteur_dui  # noqa: F401

pytestmark = pytest.mark.django_db

SYSTEME = acteur_systeme("tests webhooks")
NOTE = "cahier.nouvelle_note"


@pytest.fixture
def monde():
    monde = construire_monde()
    # Le SSIAD (structure membre) lit le cahier de Jeanne, pas son projet personnalisé.
    moi = monde.acteurs["usager"]
    services_cercle.accorder(acteur=moi, membre=monde.membres["ssiad"], domaine="cahier", niveau=1)
    retirer(monde, "ppa")
    return monde


def retirer(monde, domaine):
    """Retire au SSIAD ses droits en vigueur sur `domaine` (présumés compris)."""
    for droit in Habilitation.objects.filter(
        membre=monde.membres["ssiad"], domaine=domaine, revoquee_le=None
    ):
        services_cercle.revoquer(acteur=monde.acteurs["usager"], droit=droit)


def logiciel_de(structure):
    client, _secret = emettre_client(
        acteur=SYSTEME, structure=structure, nom="DUI", portees=["system/*.write"]
    )
    return client


def souscrire(structure, endpoint, *, usager=None, natures=(NOTE,), client=None, **champs) -> Abonnement:
    """Un abonnement enregistré directement (la Subscription elle-même est testée par l'API)."""
    debut = champs.pop("debut", timezone.now())
    return Abonnement.objects.create(
        structure=structure, client=client or logiciel_de(structure), natures=list(natures), usager=usager,
        endpoint=endpoint, en_tetes=[f"Authorization: Bearer {JETON_DUI}"], debut=debut,
        ressource={"resourceType": "Subscription"}, **champs,
    )  # fmt: skip


def en_file(monde, nature=NOTE, cle="cahier.note:1", usager=None):
    with transaction.atomic():
        return abonnements.mettre_en_file_webhooks(SYSTEME, nature, usager or monde.usager, None, cle)


@pytest.fixture
def endpoint(recepteur_dui):
    return f"{recepteur_dui.url}/nde/notifications"


# --- Choix des abonnements ---------------------------------------------------------------------------


def test_un_message_par_abonnement_concerne(monde, endpoint):
    hier = timezone.now() - datetime.timedelta(days=1)
    pour_jeanne = souscrire(monde.ssiad, endpoint, usager=monde.usager)
    pour_tous = souscrire(monde.ssiad, endpoint)
    souscrire(monde.ssiad, endpoint, usager=monde.autre_usager)  # autre patient
    souscrire(monde.ssiad, endpoint, natures=["agenda.rdv_modifie"])  # autre nature
    souscrire(monde.ssiad, endpoint, statut="off")  # arrêté
    souscrire(monde.ssiad, endpoint, fin=hier, debut=hier - datetime.timedelta(days=2))  # expiré
    souscrire(monde.ssiad, endpoint, debut=timezone.now() + datetime.timedelta(days=1))  # pas commencé
    souscrire(StructureFactory(), endpoint)  # structure hors du cercle
    revoque = souscrire(monde.ssiad, endpoint)
    revoquer_client(acteur=SYSTEME, client=revoque.client)

    messages = en_file(monde)
    assert sorted(m.cle_idempotence for m in messages) == sorted(
        f"cahier.note:1:abonnement:{a.uuid}" for a in (pour_jeanne, pour_tous)
    )
    for message in messages:
        assert (message.destination, message.nature, message.usager) == (
            "webhook",
            "notifications.webhook",
            monde.usager,
        )
        assert message.destinataire == endpoint
        assert message.statut == "a_envoyer"
    # Même événement une seconde fois : les mêmes messages, rien de plus.
    assert {m.pk for m in en_file(monde)} == {m.pk for m in messages}
    assert MessageSortant.objects.count() == 2


def test_adresse_changee_entre_deux_appels_meme_message_envoi_a_la_nouvelle(monde, endpoint, recepteur_dui):
    abonnement = souscrire(monde.ssiad, "https://ancienne.example/nde")
    [message] = en_file(monde)
    Abonnement.objects.filter(pk=abonnement.pk).update(endpoint=endpoint)
    assert [m.pk for m in en_file(monde)] == [message.pk]
    adaptateurs.remettre(message, natures.construire(message))
    assert recepteur_dui.receptions() == {message.cle_idempotence: 1}


def test_domaine_non_lisible_aucun_message(monde, endpoint):
    souscrire(monde.ssiad, endpoint, natures=["ppa.validation"])
    acteur = Acteur(TypeActeur.LOGICIEL, structure_logiciel=monde.ssiad)
    assert not habilitations.peut(acteur, monde.usager, "lire", "ppa")
    assert en_file(monde, nature="ppa.validation") == []
    assert MessageSortant.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_hors_transaction_refuse_rien_ecrit(monde, endpoint):
    souscrire(monde.ssiad, endpoint)
    with pytest.raises(TransactionRequise):
        abonnements.mettre_en_file_webhooks(SYSTEME, NOTE, monde.usager, None, "cle")
    assert MessageSortant.objects.count() == 0


def test_sans_usager_ou_nature_inconnue_rien(monde, endpoint):
    souscrire(monde.ssiad, endpoint)
    with transaction.atomic():
        assert abonnements.mettre_en_file_webhooks(SYSTEME, NOTE, None, None, "cle") == []
        assert abonnements.mettre_en_file_webhooks(SYSTEME, "inconnue", monde.usager, None, "cle") == []


# --- La notification -------------------------------------------------------------------------------


def _ressource(message):
    return natures.construire(message).donnees["ressource"]


def test_communication_request_valide_sans_ins_non_qualifiee_ni_texte(monde, endpoint):
    abonnement = souscrire(monde.ssiad, endpoint, usager=monde.usager)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    ressource = contenu.donnees["ressource"]
    CommunicationRequest.model_validate(ressource)
    assert ressource["meta"]["profile"] == [abonnements.PROFIL_NOTIFICATION]
    assert ressource["basedOn"] == [
        {"reference": f"http://localhost:8000/fhir/Subscription/{abonnement.uuid}"}
    ]
    [type_evenement] = [e for e in ressource["extension"] if e["url"] == abonnements.EXT_TYPE]
    assert type_evenement["valueCodeableConcept"]["coding"][0]["code"] == "NOT"
    assert type_evenement["valueCodeableConcept"]["coding"][0]["system"] == abonnements.SYSTEME_J46
    [patient] = [r for r in ressource["contained"] if r["resourceType"] == "Patient"]
    assert ressource["subject"] == {"reference": "#patient"}
    assert patient["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{monde.usager.uuid}"}
    ]
    assert ressource["payload"] == [
        {
            "contentAttachment": {
                "contentType": "text/html",
                "url": contenu.lien,
                "title": "Voir dans le portail",
            }
        }
    ]
    assert contenu.lien == f"http://localhost:8000/usagers/{monde.usager.uuid}/cahier/"
    texte = json.dumps(ressource, ensure_ascii=False)
    for donnee in ("FICTIVE", "Jeanne", "1945", "contentString", 'note"'):  # ni nom, ni naissance, ni note
        assert donnee not in texte
    assert ressource["recipient"][0]["extension"][0]["valueUrl"] == endpoint


def test_ins_qualifiee_dans_le_patient(monde, endpoint):
    matricule = nir_valide(9801)
    Usager.objects.filter(pk=monde.usager.pk).update(
        matricule_ins=matricule,
        oid_ins=OID_INS_TEST,
        statut_identite=StatutIdentite.QUALIFIEE,
        mode_recueil=ModeRecueil.INSI,
        date_interrogation_insi=datetime.date(2026, 1, 15),
    )
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    [patient] = [r for r in _ressource(message)["contained"] if r["resourceType"] == "Patient"]
    assert patient["identifier"][0] == {"system": f"urn:oid:{OID_INS_TEST}", "value": matricule}


def test_nature_sans_code_j46_code_local(monde, endpoint):
    services_cercle.accorder(
        acteur=monde.acteurs["usager"], membre=monde.membres["ssiad"], domaine="agenda", niveau=1
    )
    souscrire(monde.ssiad, endpoint, natures=["agenda.reunion_confirmee"])
    [message] = en_file(monde, nature="agenda.reunion_confirmee")
    [type_evenement] = [e for e in _ressource(message)["extension"] if e["url"] == abonnements.EXT_TYPE]
    assert type_evenement["valueCodeableConcept"]["coding"] == [
        {
            "system": abonnements.SYSTEME_LOCAL,
            "code": "agenda.reunion_confirmee",
            "display": "Réunion confirmée",
        }
    ]


def test_abonnement_arrete_avant_l_envoi_rejet(monde, endpoint):
    abonnement = souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    Abonnement.objects.filter(pk=abonnement.pk).update(statut="off")
    with pytest.raises(Rejet, match="plus en vigueur"):
        natures.construire(message)


def test_droit_retire_avant_l_envoi_rejet(monde, endpoint):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    retirer(monde, "cahier")
    with pytest.raises(Rejet, match="plus le droit"):
        natures.construire(message)


# --- Remise au DUI ------------------------------------------------------------------------------------


def test_remise_au_dui_avec_en_tetes_et_cle_dedoublonnee(monde, endpoint, recepteur_dui):
    souscrire(monde.ssiad, endpoint, usager=monde.usager)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    premier = adaptateurs.remettre(message, contenu)
    second = adaptateurs.remettre(message, contenu)
    assert premier == second
    assert premier.startswith("dui-")
    assert recepteur_dui.receptions() == {message.cle_idempotence: 2}
    [recu] = recepteur_dui.messages()
    assert recu["chemin"] == "/nde/notifications"
    assert recu["ressource"] == json.loads(json.dumps(contenu.donnees["ressource"]))


def test_jeton_de_l_abonne_refuse_pair_indisponible(monde, endpoint, recepteur_dui):
    abonnement = souscrire(monde.ssiad, endpoint)
    Abonnement.objects.filter(pk=abonnement.pk).update(en_tetes=["Authorization: Bearer faux"])
    [message] = en_file(monde)
    with pytest.raises(PairIndisponible, match="HTTP 401"):
        adaptateurs.remettre(message, natures.construire(message))
    assert recepteur_dui.messages() == []


def test_ressource_refusee_par_le_dui_rejet_avec_sa_raison(monde, endpoint, recepteur_dui):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    ressource = {**contenu.donnees["ressource"], "payload": [{"contentString": "Texte de la note"}]}
    with pytest.raises(Rejet, match="texte libre"):
        adaptateurs.remettre(message, replace(contenu, donnees={**contenu.donnees, "ressource": ressource}))
    assert recepteur_dui.messages() == []


@pytest.mark.parametrize(
    ("mode", "reglages", "raison"),
    [
        ("echec", {"statut": 503}, "HTTP 503"),
        ("echec", {"statut": 429}, "HTTP 429"),
        ("coupure", {}, "injoignable"),
    ],
    ids=["503", "429", "coupure"],
)
def test_dui_en_panne_pair_indisponible_puis_envoi(monde, endpoint, recepteur_dui, mode, reglages, raison):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    recepteur_dui.panne(mode, nombre=1, **reglages)
    with pytest.raises(PairIndisponible, match=raison):
        adaptateurs.remettre(message, contenu)
    assert adaptateurs.remettre(message, contenu).startswith("dui-")
    assert len(recepteur_dui.messages()) == 1


def test_dui_lent_delai_depasse_pair_indisponible(monde, endpoint, recepteur_dui, settings):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    settings.WEBHOOKS_DELAI_SECONDES = 0.3
    recepteur_dui.panne("lent", delai=1, nombre=1)
    with pytest.raises(PairIndisponible, match="délai"):
        adaptateurs.remettre(message, contenu)


def test_dui_arrete_pair_indisponible(monde, endpoint, recepteur_dui):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    recepteur_dui.arreter()
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateurs.remettre(message, contenu)


def test_adresse_http_distante_rejet_sans_appel(monde, endpoint, recepteur_dui, settings):
    souscrire(monde.ssiad, endpoint)
    [message] = en_file(monde)
    contenu = natures.construire(message)
    settings.WEBHOOKS_HTTP_LOCAL = False
    with pytest.raises(Rejet, match="non permise"):
        adaptateurs.remettre(message, contenu)
    assert recepteur_dui.receptions() == {}
