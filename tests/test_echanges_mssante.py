"""Adaptateur MSSanté, archive XDM, accusés et constructeur de la fiche MDPH, contre le vrai
opérateur du bac à sable (SMTP STARTTLS à certificat client, IMAP) : en-têtes X-MSS, INS
seulement qualifiée, Message-ID tiré de la clé (renvoi dédoublonné), erreurs classées (plus tard /
jamais), accusés notés une fois et journalisés."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from datetime import UTC, datetime

import pytest
from defusedxml import ElementTree
from django.db import transaction
from django.utils import timezone

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges import accuses, natures, xdm
from coordination.echanges import mssante as adaptateur
from coordination.echanges import services as echanges
from coordination.echanges.contenus import Contenu, Document
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import AccuseMSSante, Destination, MessageSortant, StatutMessage
from coordination.journal.models import Evenement as Journal
from ppa import mdph
from ppa.models import FicheLiaisonMDPH
from tests import pair_mssante
from tests.factories import UsagerFactory
from tests.test_ppa_mdph import BAL as BAL_MDPH_FICHE
from tests.test_ppa_mdph import Scene

pytestmark = pytest.mark.django_db

operateur_mssante, mssante = pair_mssante.operateur_mssante, pair_mssante.mssante  # fixtures
SYSTEME = acteur_systeme("tests de l'adaptateur MSSanté")
BAL_MDPH = "accueil@mdph-fictive.mssante.fr"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
PDF = b"%PDF-1.7\n% fiche de liaison fictive\n%%EOF\n"
_cles = iter(range(1, 100_000))


def en_file(usager, destinataire: str = BAL_MDPH, cle: str = "") -> MessageSortant:
    with transaction.atomic():
        return echanges.mettre_en_file(
            acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=destinataire, nature="test.mssante",
            cle_idempotence=cle or f"test:mssante:{next(_cles)}:{time.monotonic_ns()}", usager=usager,
        )  # fmt: skip


def contenu(*, documents: bool = True) -> Contenu:
    document = Document(
        titre="Fiche de liaison MDPH", nom_fichier="fiche.pdf", type_mime="application/pdf", octets=PDF,
        identifiant="2.25.1234567890", date=datetime(2026, 12, 4, 10, 30, tzinfo=UTC),
        code_type=("1.2.250.1.213.1.1.4.12", "11490-0", "Lettre de sortie"),
    )  # fmt: skip
    return Contenu(
        sujet="Fiche de liaison de Jeanne", texte="Veuillez trouver la fiche de liaison.",
        documents=(document,) if documents else (), lien="https://portail.exemple/fiches/1",
    )  # fmt: skip


def metadonnees(recu) -> ElementTree:
    archive = zipfile.ZipFile(io.BytesIO(recu.piece("IHE_XDM.ZIP")))
    assert {"INDEX.HTM", "README.TXT", "IHE_XDM/SUBSET01/METADATA.XML"} <= set(archive.namelist())
    return archive, ElementTree.fromstring(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))


def slots(objet) -> dict[str, list[str]]:
    return {s.get("name"): [v.text for v in s.iter(f"{RIM}Value")] for s in objet.findall(f"{RIM}Slot")}


def test_message_avec_xdm_et_ins_qualifiee(mssante):
    usager = UsagerFactory(qualifiee=True)
    message = en_file(usager)
    identifiant = adaptateur.envoyer(message, contenu())
    assert identifiant == adaptateur.identifiant_message(message)
    recu = mssante.message(identifiant)
    entetes = recu.message
    assert entetes["Subject"] == "XDM/1.0/DDM+Fiche de liaison de Jeanne"
    assert entetes["X-MSS-NIL"] == "BAC-A-SABLE-PORTAIL-COORDINATION" and entetes["X-MSS-INS"] == "O"
    assert entetes["Disposition-Notification-To"] == mssante.bal_application
    assert entetes["X-MSS-MES"] is None and recu.a == [BAL_MDPH]
    assert recu.piece("fiche.pdf") == PDF  # la copie lisible
    archive, racine = metadonnees(recu)
    (objet,) = racine.iter(f"{RIM}ExtrinsicObject")
    valeurs = slots(objet)
    assert archive.read(f"IHE_XDM/SUBSET01/{valeurs['URI'][0]}") == PDF
    assert valeurs["size"] == [str(len(PDF))] and valeurs["creationTime"] == ["20261204103000"]
    cx = f"{usager.matricule_ins}^^^&{usager.oid_ins}&ISO"
    assert valeurs["sourcePatientId"] == [cx]
    externes = {e.get("identificationScheme"): e.get("value") for e in objet.iter(f"{RIM}ExternalIdentifier")}
    assert externes[xdm.SCHEMAS["document.patientId"]] == cx
    assert externes[xdm.SCHEMAS["document.uniqueId"]] == "2.25.1234567890"
    assert objet.find(f"{RIM}Classification").get("nodeRepresentation") == "11490-0"
    assert racine.find(f".//{RIM}RegistryPackage") is not None


def test_ins_non_qualifiee_ne_sort_pas(mssante):
    usager = UsagerFactory(matricule_ins="245077505600166", oid_ins="1.2.250.1.213.1.4.10")
    assert not usager.identite_qualifiee
    identifiant = adaptateur.envoyer(en_file(usager), contenu())
    recu = mssante.message(identifiant)
    assert recu.message["X-MSS-INS"] == "N"
    archive, racine = metadonnees(recu)
    schemas = {e.get("identificationScheme") for e in racine.iter(f"{RIM}ExternalIdentifier")}
    assert xdm.SCHEMAS["document.patientId"] not in schemas and xdm.SCHEMAS["lot.patientId"] not in schemas
    assert "sourcePatientId" not in slots(next(racine.iter(f"{RIM}ExtrinsicObject")))
    assert usager.matricule_ins.encode() not in recu.fichier.read_bytes()


def test_adresse_patient(mssante):
    usager = UsagerFactory(qualifiee=True)
    adresse = f"{usager.matricule_ins}@patient.mssante.fr"
    identifiant = adaptateur.envoyer(en_file(usager, adresse), contenu())
    assert mssante.message(identifiant).message["X-MSS-MES"] == "FIN"


def test_adresse_patient_sans_ins_qualifiee_refusee_des_la_mise_en_file(mssante):
    usager = UsagerFactory()
    avant = mssante.receptions()
    message = en_file(usager, "279035121518989@patient.mssante.fr")
    message.refresh_from_db()
    assert message.statut == StatutMessage.REFUSE and message.prochain_essai_le is None
    assert "n'est pas qualifiée" in message.derniere_erreur
    refus = Journal.objects.get(action="echanges.message.refuse", details__message=str(message.uuid))
    assert refus.resultat == "refuse" and refus.usager_uuid == usager.uuid
    # Si on l'appelait quand même, l'adaptateur refuserait de composer : rien ne part.
    with pytest.raises(Rejet, match="plus qualifiée"):
        adaptateur.envoyer(message, contenu())
    assert mssante.receptions() == avant


def test_message_sans_document(mssante):
    identifiant = adaptateur.envoyer(en_file(UsagerFactory()), contenu(documents=False))
    recu = mssante.message(identifiant)
    assert recu.sujet == "Fiche de liaison de Jeanne" and recu.message["X-MSS-INS"] is None
    assert not recu.message.is_multipart()
    assert "https://portail.exemple/fiches/1" in recu.message.get_content()


def test_renvoi_meme_message_recu_une_fois(mssante):
    message = en_file(UsagerFactory(qualifiee=True))
    premier = adaptateur.envoyer(message, contenu())
    adaptateur.fermer()  # comme un autre worker, après une panne au mauvais moment
    second = adaptateur.envoyer(message, contenu())
    assert premier == second
    assert mssante.receptions(premier) == 2
    assert [m.message_id for m in mssante.messages()].count(premier) == 1


def test_xdm_malforme_rejete_avec_la_raison(mssante):
    message = en_file(UsagerFactory())
    mime = adaptateur.composer(message, contenu())
    for partie in mime.walk():
        if partie.get_filename() == "IHE_XDM.ZIP":
            tampon = io.BytesIO()
            with zipfile.ZipFile(tampon, "w") as abime:
                abime.writestr("INDEX.HTM", "<html></html>")
            partie.set_payload(base64.encodebytes(tampon.getvalue()).decode())
    with pytest.raises(Rejet, match=r"554 5\.6\.0 IHE_XDM\.ZIP : README\.TXT manque"):
        adaptateur.remettre(mime, message.destinataire)
    assert mssante.receptions(mime["Message-ID"]) == 0


def test_destinataire_hors_espace_de_confiance_rejete(mssante):
    message = en_file(UsagerFactory(), "secretariat@exemple.fr")
    with pytest.raises(Rejet, match="550 5.1.1.*espace de confiance MSSanté"):
        adaptateur.envoyer(message, contenu())


def test_operateur_arrete_puis_revenu(mssante):
    message = en_file(UsagerFactory())
    adaptateur.envoyer(en_file(UsagerFactory()), contenu(documents=False))  # connexion gardée
    mssante.arreter()
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateur.envoyer(message, contenu())
    mssante.lancer()
    identifiant = adaptateur.envoyer(message, contenu())
    assert mssante.receptions(identifiant) == 1


def test_panne_temporaire_421_puis_reprise(mssante):
    message = en_file(UsagerFactory())
    mssante.regler(panne=True)
    with pytest.raises(PairIndisponible, match="421"):
        adaptateur.envoyer(message, contenu())
    mssante.reinitialiser()
    assert mssante.receptions(adaptateur.envoyer(message, contenu())) == 1


def test_certificat_d_une_autre_autorite_pair_indisponible(mssante, settings, tmp_path):
    from sandbox.mssante import generer_pki

    pirate = generer_pki(tmp_path / "pirate", nom="autorité inconnue")
    settings.MSSANTE_CERTIFICAT_CLIENT, settings.MSSANTE_CLE_CLIENT = (
        str(pirate.certificat_client),
        str(pirate.cle_client),
    )
    adaptateur.fermer()
    avant = mssante.receptions()
    with pytest.raises(PairIndisponible):
        adaptateur.envoyer(en_file(UsagerFactory()), contenu())
    assert mssante.receptions() == avant


def _envoye(message: MessageSortant, identifiant: str) -> None:
    """Ce que fait l'envoi (envoi.py) quand l'adaptateur rend l'identifiant distant."""
    MessageSortant.objects.filter(pk=message.pk).update(
        statut=StatutMessage.ENVOYE, envoye_le=timezone.now(), identifiant_distant=identifiant,
        prochain_essai_le=None,
    )  # fmt: skip


def test_accuses_releves_notes_une_fois(mssante):
    bal = mssante.bal_application
    mssante.vider()  # la BAL part vide de ce qui vient des autres tests
    message = en_file(UsagerFactory(qualifiee=True))
    _envoye(message, adaptateur.envoyer(message, contenu()))
    assert len(mssante.bal(bal)) == 2
    releve = accuses.relever()
    assert (releve.notes, releve.deja_notes) == (2, 0)
    notes = AccuseMSSante.objects.filter(message=message).order_by("recu_le", "id")
    assert sorted(a.disposition for a in notes) == ["displayed", "processed"]
    assert {a.destinataire for a in notes} == {BAL_MDPH}
    assert all("Original-Message-ID" in a.brut for a in notes)
    assert Journal.objects.filter(action="echanges.accuse.recu", objet_uuid=message.uuid).count() == 2
    assert mssante.bal(bal) == []  # lus et supprimés
    # Relevé une seconde fois, et même redéposé par l'opérateur : noté une seule fois.
    assert accuses.relever().notes == 0
    dossier = mssante.dossier / "bal" / bal
    exemplaire = AccuseMSSante.objects.filter(message=message).first().brut.encode()
    (dossier / "9999.eml").write_bytes(exemplaire)
    releve = accuses.relever()
    assert (releve.notes, releve.deja_notes) == (0, 1)
    assert AccuseMSSante.objects.filter(message=message).count() == 2
    assert Journal.objects.filter(action="echanges.accuse.recu", objet_uuid=message.uuid).count() == 2


def test_courriel_qui_n_est_pas_un_accuse_reste_marque_lu(mssante):
    mssante.vider()
    dossier = mssante.dossier / "bal" / mssante.bal_application
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / "9000.eml").write_bytes(b"From: x@y.mssante.fr\r\nSubject: bonjour\r\n\r\ntexte\r\n")
    releve = accuses.relever()
    assert (releve.notes, releve.ignores) == (0, 1)
    assert accuses.relever().ignores == 0  # marqué lu : pas relu
    assert (dossier / "9000.eml").exists()
    (dossier / "9000.eml").unlink()


def test_constructeur_fiche_mdph_et_envoi(mssante):
    scene = Scene()
    fiche = scene.envoyee()
    message = MessageSortant.objects.get(objet_uuid=fiche.uuid, destination=Destination.MSSANTE)
    assert message.destinataire == BAL_MDPH_FICHE
    rebati = natures.construire(message)
    (document,) = rebati.documents
    assert document.octets.startswith(b"%PDF") and document.type_mime == "application/pdf"
    assert document.identifiant == message.charge["document"]["identifiant"]
    assert rebati.sujet.startswith("Fiche de liaison MDPH") and "fiche est jointe" in rebati.texte
    assert Journal.objects.filter(action=mdph.LECTURE, objet_uuid=fiche.uuid, acteur_type="systeme").exists()
    identifiant = adaptateur.envoyer(message, rebati)
    recu = mssante.message(identifiant)
    archive, racine = metadonnees(recu)
    (objet,) = racine.iter(f"{RIM}ExtrinsicObject")
    assert archive.read(f"IHE_XDM/SUBSET01/{slots(objet)['URI'][0]}").startswith(b"%PDF")


def test_constructeur_fiche_non_envoyee_refuse(mssante):
    scene = Scene()
    fiche = scene.envoyee()
    message = MessageSortant.objects.get(objet_uuid=fiche.uuid, destination=Destination.MSSANTE)
    autre_version = str(fiche.version_precedente.uuid)
    message.charge = {**message.charge, "document": {**message.charge["document"], "version": autre_version}}
    with pytest.raises(ValueError, match="ne vient plus de la version"):
        natures.construire(message)
    assert FicheLiaisonMDPH.objects.filter(pk=fiche.pk).exists()


def test_debit_sur_une_connexion(mssante, capsys):
    """Mesure : 500 messages simples, un processus, une connexion gardée (ticket 8 : ≥ 200/s)."""
    usager = UsagerFactory()
    messages = [
        MessageSortant(destination=Destination.MSSANTE, destinataire=BAL_MDPH, nature="test.debit",
                       cle_idempotence=f"test:debit:{time.monotonic_ns()}:{i}", usager=usager)
        for i in range(500)
    ]  # fmt: skip
    simple = contenu(documents=False)
    adaptateur.envoyer(messages[0], simple)
    debut = time.perf_counter()
    for message in messages[1:]:
        adaptateur.envoyer(message, simple)
    duree = time.perf_counter() - debut
    debit = 499 / duree
    with capsys.disabled():
        print(f"\nMSSanté : {debit:.0f} messages/s sur une connexion ({duree:.2f} s pour 499)")
    assert all(mssante.receptions(adaptateur.identifiant_message(m)) == 1 for m in messages[-5:])
    assert debit > 20  # plancher large : la machine de test est partagée ; le chiffre est affiché


def test_operateur_trop_lent_pair_indisponible_puis_renvoi_dedoublonne(mssante, settings):
    settings.MSSANTE_DELAI_SECONDES = 0.5
    message = en_file(UsagerFactory())
    mssante.regler(delai=1.0)
    with pytest.raises(PairIndisponible, match="injoignable"):
        adaptateur.envoyer(message, contenu(documents=False))
    mssante.reinitialiser()
    time.sleep(0.7)  # le premier envoi, abandonné par le portail, est fini côté opérateur
    identifiant = adaptateur.envoyer(message, contenu(documents=False))
    # La session coupée peut avoir été reçue ou non ; le message n'est stocké qu'une fois.
    assert mssante.receptions(identifiant) in (1, 2)
    assert [m.message_id for m in mssante.messages()].count(identifiant) == 1


def test_tache_de_releve_et_operateur_arrete(mssante):
    mssante.vider()
    message = en_file(UsagerFactory())
    _envoye(message, adaptateur.envoyer(message, contenu(documents=False)))
    assert accuses.relever_accuses_mssante() == 2  # la tâche Celery, appelée directement
    mssante.arreter()
    with pytest.raises(OSError):
        accuses.relever()
    assert AccuseMSSante.objects.filter(message=message).count() == 2
