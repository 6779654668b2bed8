"""L'envoi de la boîte d'envoi, sans pair (ADR 0032) : prise par bail, message empoisonné retenté
puis mis en lettre morte avec son erreur, attente exponentielle avec gigue, ordre des messages liés,
renvoi depuis l'administration (règle de refus revérifiée), demande d'envoi après validation publiée
dans le vrai Redis. Les envois réels vers les pairs du bac à sable sont dans test_echanges_pannes.py
et les tests de chaque adaptateur."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from coordination.comptes.acteur import acteur_systeme
from coordination.comptes.models import Compte
from coordination.echanges import envoi, natures
from coordination.echanges import services as echanges
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.journal.models import Evenement as Journal
from coordination.personnes.models import ModeRecueil, StatutIdentite
from tests.factories import UsagerFactory, connecter, nir_valide

pytestmark = pytest.mark.django_db

SYSTEME = acteur_systeme("tests de l'envoi")
NATURE_EMPOISONNEE = "test.empoisonne"


def construire_empoisonne(message):
    """Constructeur d'une nature de test dont l'objet a disparu : lève à chaque tentative."""
    raise LookupError(f"La version {message.charge['version']} est introuvable.")


@pytest.fixture
def nature_empoisonnee(monkeypatch):
    monkeypatch.setitem(natures.CONSTRUCTEURS, NATURE_EMPOISONNEE, f"{__name__}.construire_empoisonne")


def en_file(usager=None, *, cle="test:1", nature=NATURE_EMPOISONNEE, destination=Destination.MSSANTE,
            destinataire="accueil@mdph-fictive.mssante.fr", **autres) -> MessageSortant:  # fmt: skip
    with transaction.atomic():
        return echanges.mettre_en_file(
            acteur=SYSTEME, destination=destination, destinataire=destinataire, nature=nature,
            cle_idempotence=cle, usager=usager, charge={"version": "v-1"}, **autres,
        )  # fmt: skip


def rendre_du(message: MessageSortant) -> None:
    MessageSortant.objects.filter(pk=message.pk).update(
        prochain_essai_le=timezone.now() - timedelta(seconds=1)
    )


def test_prendre_pose_un_bail_et_compte_la_tentative(settings):
    settings.ECHANGES_BAIL_SECONDES = 90
    message = en_file()
    avant = timezone.now()
    (pris,) = envoi.prendre()
    pris_en_base = MessageSortant.objects.get(pk=message.pk)
    assert pris.pk == message.pk and pris_en_base.tentatives == pris.tentatives == 1
    assert pris_en_base.prochain_essai_le >= avant + timedelta(seconds=89)
    # Pendant le bail, personne d'autre ne le prend ; à son expiration, il revient.
    assert envoi.prendre() == []
    rendre_du(message)
    assert [m.pk for m in envoi.prendre()] == [message.pk]


def test_message_empoisonne_retente_puis_lettre_morte_avec_son_erreur(settings, nature_empoisonnee):
    settings.ECHANGES_TENTATIVES_MAX = 4
    settings.ECHANGES_ATTENTE_BASE_SECONDES = 10
    message = en_file(UsagerFactory())
    echeances = []
    for tentative in range(1, 5):
        rendre_du(message)
        avant = timezone.now()
        statut = envoi.envoyer(message.pk)
        message.refresh_from_db()
        assert message.tentatives == tentative
        assert "La version v-1 est introuvable." in message.derniere_erreur
        if tentative < 4:
            assert statut == message.statut == StatutMessage.A_ENVOYER
            echeances.append((message.prochain_essai_le - avant).total_seconds())
    assert statut == message.statut == StatutMessage.ECHEC_DEFINITIF
    assert message.prochain_essai_le is None
    assert message.derniere_erreur.startswith("Erreur à l'envoi (LookupError)")
    # Attente exponentielle : ~10 s, ~20 s, ~40 s (±20 % de gigue).
    for attendu, obtenu in zip([10, 20, 40], echeances, strict=True):
        assert attendu * 0.8 - 1 <= obtenu <= attendu * 1.2 + 1
    evenement = Journal.objects.get(action="echanges.message.echec_definitif")
    assert evenement.usager_uuid == message.usager.uuid and evenement.details["tentatives"] == 4
    assert envoi.envoyer(message.pk) is None  # une lettre morte ne se prend plus


def test_attente_plafonnee_et_gigue(settings):
    settings.ECHANGES_ATTENTE_BASE_SECONDES = 15
    settings.ECHANGES_ATTENTE_MAX_SECONDES = 600
    attentes = {envoi.attente_avant(12).total_seconds() for _ in range(50)}
    assert all(480 <= a <= 720 for a in attentes) and len(attentes) > 1


def test_un_message_lie_attend_que_son_precedent_ait_fini(nature_empoisonnee):
    premier = en_file(cle="depot:1")
    suivant = en_file(cle="depot:2", precedent=premier)
    assert [m.pk for m in envoi.prendre()] == [premier.pk]
    rendre_du(premier)
    assert [m.pk for m in envoi.prendre()] == [premier.pk]  # toujours à envoyer : le suivant attend
    MessageSortant.objects.filter(pk=premier.pk).update(
        statut=StatutMessage.ENVOYE, envoye_le=timezone.now(), prochain_essai_le=None
    )
    assert [m.pk for m in envoi.prendre()] == [suivant.pk]


def test_apres_un_precedent_en_lettre_morte_le_suivant_part(nature_empoisonnee):
    """Le constructeur du suivant décide (un remplacement au DMP part en premier dépôt, ADR 0034)."""
    premier = en_file(cle="depot:1")
    suivant = en_file(cle="depot:2", precedent=premier)
    MessageSortant.objects.filter(pk=premier.pk).update(
        statut=StatutMessage.ECHEC_DEFINITIF, prochain_essai_le=None, derniere_erreur="panne"
    )
    assert [m.pk for m in envoi.prendre()] == [suivant.pk]


@pytest.mark.django_db(transaction=True)
def test_un_message_tenu_par_un_autre_worker_est_saute():
    """Deux workers : celui qui tient la ligne verrouillée (transaction en cours) ne la cède pas ;
    l'autre prend le message suivant sans attendre."""
    premier, second = en_file(cle="a"), en_file(cle="b")
    verrou_pose, liberer = threading.Event(), threading.Event()

    def autre_worker():
        try:
            with transaction.atomic():
                list(MessageSortant.objects.select_for_update().filter(pk=premier.pk))
                verrou_pose.set()
                liberer.wait(10)
        finally:
            connection.close()

    fil = threading.Thread(target=autre_worker)
    fil.start()
    try:
        assert verrou_pose.wait(10)
        assert [m.pk for m in envoi.prendre()] == [second.pk]
    finally:
        liberer.set()
        fil.join()


def test_issue_d_une_tentative_perimee_n_ecrase_pas_la_reprise(nature_empoisonnee):
    """Worker A prend le message, son bail expire, worker B le reprend : l'échec tardif de A ne
    change rien (la tentative comptée n'est plus la sienne)."""
    message = en_file()
    (pris_par_a,) = envoi.prendre()
    rendre_du(message)
    (pris_par_b,) = envoi.prendre()
    envoi.traiter(pris_par_a)
    message.refresh_from_db()
    assert message.tentatives == 2 and message.derniere_erreur == ""
    envoi.traiter(pris_par_b)
    message.refresh_from_db()
    assert "introuvable" in message.derniere_erreur


def test_renvoyer_une_lettre_morte(nature_empoisonnee):
    message = en_file(UsagerFactory())
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ECHEC_DEFINITIF, prochain_essai_le=None, tentatives=8, derniere_erreur="panne"
    )
    envoi.renvoyer(message, acteur=SYSTEME)
    message.refresh_from_db()
    assert (message.statut, message.tentatives) == (StatutMessage.A_ENVOYER, 0)
    assert message.prochain_essai_le <= timezone.now()
    assert (
        Journal.objects.get(action="echanges.message.renvoye").details["ancien_statut"] == "echec_definitif"
    )
    with pytest.raises(envoi.RenvoiImpossible, match="seul un message en échec définitif"):
        envoi.renvoyer(message, acteur=SYSTEME)


def test_renvoyer_un_refus_revérifie_l_identite():
    usager = UsagerFactory(nom_naissance="PROVISOIRE", prenoms_naissance="Lucie")
    message = en_file(usager, destination=Destination.DMP, destinataire="DMP", nature="ppa.depot_dmp")
    assert message.statut == StatutMessage.REFUSE
    with pytest.raises(envoi.RenvoiImpossible, match="n'est pas qualifiée"):
        envoi.renvoyer(message, acteur=SYSTEME)
    assert MessageSortant.objects.get(pk=message.pk).statut == StatutMessage.REFUSE
    type(usager).objects.filter(pk=usager.pk).update(
        statut_identite=StatutIdentite.QUALIFIEE,
        matricule_ins=nir_valide(9100),
        oid_ins="1.2.250.1.213.1.4.10",
        mode_recueil=ModeRecueil.INSI,
        date_interrogation_insi=timezone.localdate(),
    )
    envoi.renvoyer(message, acteur=SYSTEME)
    assert MessageSortant.objects.get(pk=message.pk).statut == StatutMessage.A_ENVOYER


@pytest.fixture
def administrateur(client):
    return connecter(client, Compte.objects.create_superuser("admin@exemple.test", "mot-de-passe-admin-1234"))


def test_administration_lettres_mortes_visibles_et_renvoyables(administrateur, nature_empoisonnee):
    message = en_file(UsagerFactory())
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ECHEC_DEFINITIF,
        prochain_essai_le=None,
        derniere_erreur="Destinataire indisponible",
    )
    liste = reverse("admin:echanges_messagesortant_changelist")
    page = administrateur.get(liste, {"statut__exact": "echec_definitif"}).content.decode()
    assert "Destinataire indisponible" in page and "Renvoyer les messages choisis" in page
    reponse = administrateur.post(
        liste, {"action": "renvoyer", "_selected_action": [message.pk]}, follow=True
    )
    assert "1 message(s) remis en file." in reponse.content.decode()
    assert MessageSortant.objects.get(pk=message.pk).statut == StatutMessage.A_ENVOYER
    # Toujours pas de modification ni de suppression.
    fiche = reverse("admin:echanges_messagesortant_change", args=[message.pk])
    assert administrateur.post(fiche, {"statut": "envoye"}).status_code == 403


def test_administration_renvoi_refuse_sans_la_permission(client, nature_empoisonnee):
    from django.contrib.auth.models import Permission

    compte = Compte.objects.create_user("equipe@exemple.test", "mot-de-passe-equipe-1234", is_staff=True)
    compte.user_permissions.add(Permission.objects.get(codename="view_messagesortant"))
    connecter(client, compte)
    message = en_file()
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ECHEC_DEFINITIF, prochain_essai_le=None, derniere_erreur="panne"
    )
    liste = reverse("admin:echanges_messagesortant_changelist")
    assert "Renvoyer les messages choisis" not in client.get(liste).content.decode()
    client.post(liste, {"action": "renvoyer", "_selected_action": [message.pk]})
    assert MessageSortant.objects.get(pk=message.pk).statut == StatutMessage.ECHEC_DEFINITIF


@pytest.mark.django_db(transaction=True)
def test_la_demande_d_envoi_part_dans_redis_apres_la_validation(nature_empoisonnee):
    file = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    file.delete("celery")
    with transaction.atomic():
        message = echanges.mettre_en_file(
            acteur=SYSTEME, destination=Destination.MSSANTE, destinataire="a@b.mssante.fr",
            nature=NATURE_EMPOISONNEE, cle_idempotence="redis:1",
        )  # fmt: skip
        assert file.llen("celery") == 0  # rien avant la validation
    assert file.llen("celery") == 1
    entetes = json.loads(file.lpop("celery"))["headers"]
    assert (entetes["task"], entetes["argsrepr"]) == ("echanges.envoyer", f"({message.pk},)")


def test_administration_montre_les_accuses_d_un_message(administrateur, nature_empoisonnee):
    from coordination.echanges.models import AccuseMSSante

    message = en_file()
    AccuseMSSante.objects.create(
        message=message, disposition="displayed", destinataire="secretariat@mdph-fictive.mssante.fr",
        identifiant="<mdn-1@operateur.invalid>", recu_le=timezone.now(), brut="…",
    )  # fmt: skip
    fiche = reverse("admin:echanges_messagesortant_change", args=[message.pk])
    page = administrateur.get(fiche).content.decode()
    assert "secretariat@mdph-fictive.mssante.fr" in page and "affiché (lu)" in page
