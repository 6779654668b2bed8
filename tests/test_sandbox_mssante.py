"""L'opérateur MSSanté du bac à sable contrôle ce qu'il reçoit comme un vrai : STARTTLS et
certificat client exigés, destinataires de l'espace de confiance, en-têtes X-MSS, archive XDM
cohérente ; il dédoublonne par Message-ID, dépose les accusés, sert IMAP, simule pannes et
lenteurs, et garde tout d'un redémarrage à l'autre (ADR 0033)."""

from __future__ import annotations

import hashlib
import imaplib
import io
import smtplib
import ssl
import time
import zipfile
from email.message import EmailMessage

import pytest

from sandbox.mssante import generer_pki
from tests import pair_mssante

MEDECIN = "dr.martin@hopital-fictif.mssante.fr"
PATIENT = "279035121518989@patient.mssante.fr"
_numero = iter(range(1, 10_000))
operateur_mssante = pair_mssante.operateur_mssante  # fixture (module)


def contexte(operateur, pki=None) -> ssl.SSLContext:
    pki = pki or operateur.pki
    resultat = ssl.create_default_context(cafile=str(operateur.pki.ca))
    resultat.load_cert_chain(pki.certificat_client, pki.cle_client)
    return resultat


def courriel(a: str = MEDECIN, *, nil: bool = True, accuse: str = "", **entetes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "portail-coordination@coordination.mssante.fr"
    message["To"] = a
    message["Subject"] = "Essai"
    message["Message-ID"] = f"<essai-{next(_numero)}-{time.monotonic_ns()}@coordination.mssante.fr>"
    if nil:
        message["X-MSS-NIL"] = "BAC-A-SABLE"
    if accuse:
        message["Disposition-Notification-To"] = accuse
    for nom, valeur in entetes.items():
        message[nom.replace("_", "-")] = valeur
    message.set_content("Bonjour,\nvoici le compte rendu.\n")
    return message


def metadata(fichiers: dict[str, bytes], *, patient: str = "", taille_fausse: bool = False) -> bytes:
    objets = []
    for nom, octets in fichiers.items():
        taille = len(octets) + (1 if taille_fausse else 0)
        identifiant = (
            f'<rim:ExternalIdentifier identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" '
            f'value="{patient}^^^&amp;1.2.250.1.213.1.4.8&amp;ISO"/>'
            if patient
            else ""
        )
        objets.append(
            f'<rim:ExtrinsicObject id="urn:uuid:{nom}">'
            f'<rim:Slot name="hash"><rim:ValueList><rim:Value>{hashlib.sha1(octets).hexdigest()}'  # noqa: S324
            f'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="size"><rim:ValueList><rim:Value>{taille}'
            f'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="URI"><rim:ValueList><rim:Value>{nom}'
            f"</rim:Value></rim:ValueList></rim:Slot>{identifiant}</rim:ExtrinsicObject>"
        )
    return (
        '<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
        'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>'
        f"{''.join(objets)}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"
    ).encode()


def zip_xdm(*, sans: str = "", en_plus: dict | None = None, metadonnees: bytes | None = None, **options):
    documents = {"DOC0001.PDF": b"%PDF-1.7 fiche"}
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        contenus = {
            "INDEX.HTM": b"<html></html>",
            "README.TXT": b"lot",
            "IHE_XDM/SUBSET01/METADATA.XML": metadonnees or metadata(documents, **options),
            **{f"IHE_XDM/SUBSET01/{n}": o for n, o in {**documents, **(en_plus or {})}.items()},
        }
        for nom, octets in contenus.items():
            if nom != sans:
                archive.writestr(nom, octets)
    return tampon.getvalue()


def avec_xdm(message: EmailMessage, archive: bytes, ins: str = "O") -> EmailMessage:
    message["X-MSS-INS"] = ins
    message.add_attachment(archive, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    return message


def soumettre(operateur, message: EmailMessage, *, pki=None) -> None:
    with smtplib.SMTP("127.0.0.1", operateur.ports["smtp"], timeout=5) as smtp:
        smtp.starttls(context=contexte(operateur, pki))
        smtp.send_message(message)


def test_message_accepte_stocke_avec_ses_entetes(operateur_mssante):
    message = courriel()
    soumettre(operateur_mssante, avec_xdm(message, zip_xdm(), ins="N"))
    recu = operateur_mssante.message(message["Message-ID"])
    assert recu.port == "mssante" and recu.a == [MEDECIN]
    assert recu.message["X-MSS-NIL"] == "BAC-A-SABLE" and recu.message["X-MSS-INS"] == "N"
    assert zipfile.ZipFile(io.BytesIO(recu.piece("IHE_XDM.ZIP"))).read("IHE_XDM/SUBSET01/DOC0001.PDF")


def test_sans_certificat_ou_autre_autorite_refuse(operateur_mssante, tmp_path):
    avant = operateur_mssante.receptions()
    sans_certificat = ssl.create_default_context(cafile=str(operateur_mssante.pki.ca))
    with pytest.raises((smtplib.SMTPServerDisconnected, ssl.SSLError, ConnectionError)):
        with smtplib.SMTP("127.0.0.1", operateur_mssante.ports["smtp"], timeout=5) as smtp:
            smtp.starttls(context=sans_certificat)
            smtp.send_message(courriel())
    pirate = generer_pki(tmp_path / "pirate", nom="autorité inconnue")
    with pytest.raises((smtplib.SMTPServerDisconnected, ssl.SSLError, ConnectionError)):
        soumettre(operateur_mssante, courriel(), pki=pirate)
    # Sans STARTTLS : 530, rien n'est accepté.
    with smtplib.SMTP("127.0.0.1", operateur_mssante.ports["smtp"], timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refus:
            smtp.send_message(courriel())
    assert refus.value.smtp_code == 530
    assert operateur_mssante.receptions() == avant


def test_destinataire_hors_espace_de_confiance(operateur_mssante):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refus:
        soumettre(operateur_mssante, courriel("quelquun@exemple.fr"))
    code, texte = refus.value.recipients["quelquun@exemple.fr"]
    assert code == 550 and "espace de confiance MSSanté" in texte.decode()


XDM_MALFORMES = [
    ("pas-un-zip", b"PK-pas-un-zip", "n'est pas une archive zip lisible"),
    ("sans-readme", zip_xdm(sans="README.TXT"), "README.TXT manque"),
    ("sans-metadata", zip_xdm(sans="IHE_XDM/SUBSET01/METADATA.XML"), "METADATA.XML manque"),
    ("metadata-illisible", zip_xdm(metadonnees=b"<pas du xml"), "METADATA.XML illisible"),
    ("taille-fausse", zip_xdm(taille_fausse=True), "taille déclarée fausse pour DOC0001.PDF"),
    ("document-non-decrit", zip_xdm(en_plus={"DOC0002.PDF": b"x"}), "non décrits"),
    ("document-absent", zip_xdm(sans="IHE_XDM/SUBSET01/DOC0001.PDF"), "absent de l'archive"),
]


@pytest.mark.parametrize(("cas", "archive", "raison"), XDM_MALFORMES, ids=[c[0] for c in XDM_MALFORMES])
def test_xdm_malforme_refuse_avec_la_raison(operateur_mssante, cas, archive, raison):
    message = avec_xdm(courriel(), archive)
    with pytest.raises(smtplib.SMTPDataError) as refus:
        soumettre(operateur_mssante, message)
    assert refus.value.smtp_code == 554
    texte = refus.value.smtp_error.decode()
    assert texte.startswith("5.6.0") and raison in texte
    assert operateur_mssante.receptions(message["Message-ID"]) == 0


ENTETES_MANQUANTS = [
    ("sans-nil", {"nil": False}, "X-MSS-NIL absent"),
    ("patient-sans-mes", {"a": PATIENT}, "X-MSS-MES attendu"),
]


@pytest.mark.parametrize(
    ("cas", "entetes", "raison"), ENTETES_MANQUANTS, ids=[c[0] for c in ENTETES_MANQUANTS]
)
def test_entetes_mss_exiges(operateur_mssante, cas, entetes, raison):
    with pytest.raises(smtplib.SMTPDataError) as refus:
        soumettre(operateur_mssante, courriel(**entetes))
    assert refus.value.smtp_code == 554 and raison in refus.value.smtp_error.decode()


def test_adresse_patient_exige_l_ins_qualifie_du_patient(operateur_mssante):
    matricule = PATIENT.split("@")[0]
    for ins, patient in (("N", ""), ("O", "123456789012345")):
        message = avec_xdm(courriel(PATIENT, X_MSS_MES="FIN"), zip_xdm(patient=patient), ins=ins)
        with pytest.raises(smtplib.SMTPDataError) as refus:
            soumettre(operateur_mssante, message)
        assert "ne correspond pas au patient" in refus.value.smtp_error.decode()
    bon = avec_xdm(courriel(PATIENT, X_MSS_MES="FIN"), zip_xdm(patient=matricule))
    soumettre(operateur_mssante, bon)
    assert operateur_mssante.receptions(bon["Message-ID"]) == 1


def test_renvoi_dedoublonne_par_message_id(operateur_mssante):
    message = courriel(accuse=operateur_mssante.bal_application)
    avant = len(operateur_mssante.bal(operateur_mssante.bal_application))
    soumettre(operateur_mssante, message)
    soumettre(operateur_mssante, message)
    assert operateur_mssante.receptions(message["Message-ID"]) == 2
    assert [m.message_id for m in operateur_mssante.messages()].count(message["Message-ID"]) == 1
    # Deux accusés (processed, displayed) pour la première réception seulement.
    assert len(operateur_mssante.bal(operateur_mssante.bal_application)) == avant + 2


def test_accuses_mdn_deposes_et_servis_par_imap(operateur_mssante):
    operateur = operateur_mssante
    message = courriel(accuse=operateur.bal_application)
    soumettre(operateur, message)
    imap = imaplib.IMAP4("127.0.0.1", operateur.ports["imap"], timeout=5)
    with pytest.raises(imaplib.IMAP4.error):
        imap.authenticate("EXTERNAL", lambda _: b"")  # pas avant STARTTLS
    imap.starttls(contexte(operateur))
    assert imap.authenticate("EXTERNAL", lambda _: b"")[0] == "OK"
    imap.select("INBOX")
    _, (uids,) = imap.uid("SEARCH", None, "UNSEEN")
    dispositions = []
    for uid in uids.split():
        _, reponse = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        brut = reponse[0][1]
        if message["Message-ID"].encode() in brut:
            assert b"multipart/report" in brut and b"disposition-notification" in brut
            dispositions.append(brut.split(b"Disposition: ")[1].split(b"\r\n")[0])
            imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
    assert dispositions == [
        b"automatic-action/MDN-sent-automatically; processed",
        b"manual-action/MDN-sent-manually; displayed",
    ]
    avant = len(operateur.bal(operateur.bal_application))
    imap.expunge()
    imap.logout()
    assert len(operateur.bal(operateur.bal_application)) == avant - 2


def test_imap_sans_certificat_refuse(operateur_mssante):
    imap = imaplib.IMAP4("127.0.0.1", operateur_mssante.ports["imap"], timeout=5)
    with pytest.raises((ssl.SSLError, imaplib.IMAP4.abort, ConnectionError, OSError)):
        imap.starttls(ssl.create_default_context(cafile=str(operateur_mssante.pki.ca)))
        imap.authenticate("EXTERNAL", lambda _: b"")
    imap.shutdown()


def test_port_ordinaire_sans_tls_toute_adresse(operateur_mssante):
    message = courriel("jeanne@exemple.fr", nil=False)
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", operateur_mssante.ports["courriel"], timeout=5) as smtp:
            smtp.send_message(message)
    recu = operateur_mssante.message(message["Message-ID"])
    assert recu.port == "courriel" and recu.a == ["jeanne@exemple.fr"]
    assert operateur_mssante.receptions(message["Message-ID"]) == 2


def test_panne_lenteur_reinitialisation_et_redemarrage(operateur_mssante):
    operateur = operateur_mssante
    operateur.regler(panne=True)
    with pytest.raises(smtplib.SMTPSenderRefused) as refus:
        soumettre(operateur, courriel())
    assert refus.value.smtp_code == 421
    operateur.reinitialiser()
    operateur.regler(delai=0.3)
    debut = time.monotonic()
    message = courriel()
    soumettre(operateur, message)
    assert time.monotonic() - debut >= 0.3
    operateur.reinitialiser()
    ports = dict(operateur.ports)
    operateur.redemarrer()
    assert operateur.ports == ports and operateur.en_marche
    assert operateur.receptions(message["Message-ID"]) == 1  # gardé d'un démarrage à l'autre
    soumettre(operateur, message)
    assert operateur.receptions(message["Message-ID"]) == 2
    assert [m.message_id for m in operateur.messages()].count(message["Message-ID"]) == 1
