"""Fiche de liaison MDPH (DE1 PPA, cas d'usage 3, flux C ; ADR 0031) : quand les modalités
d'accompagnement changent durablement, la structure écrit à la MDPH. La fiche est tirée d'une
version validée du projet (comparée à la version validée dont elle dérive, par
`ppa.differentiel`), porte le motif et la BAL MSSanté organisationnelle de la MDPH ; la personne
(ou son représentant légal, comme pour l'accord sur le projet) y consent ; puis elle part, dans une
transaction : un message MSSanté vers la MDPH et un dépôt dans le DMP, par la boîte d'envoi.

Lectures et écritures à partir de l'acteur, comme `ppa.selectors` et `ppa.services` : lire = `ppa`
en lecture (journalisé, `ppa.mdph.lecture`) ; préparer et envoyer = un professionnel qui exerce
dans la structure du projet et écrit dans le projet ; consentir = la personne ou son représentant
légal en titre (`habilitations.est_titulaire`). Chaque écriture est journalisée ; un refus n'écrit
rien."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from agenda.recurrence import decrire_regle
from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur, acteur_systeme
from coordination.echanges import services as echanges
from coordination.echanges.contenus import Contenu, Document
from coordination.echanges.models import Destination, MessageSortant
from coordination.journal.lectures import noter_lecture
from coordination.journal.services import journaliser
from coordination.personnes import identifiants
from coordination.personnes.models import Structure
from ppa import depot_dmp, selectors
from ppa.differentiel import comparer
from ppa.models import (
    Action,
    ConsentementFicheMDPH,
    FicheLiaisonMDPH,
    StatutFicheMDPH,
    StatutVersion,
    VersionPPA,
)

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager
    from ppa.selectors import VersionComplete

DOMAINE = Domaine.PPA
LECTURE = "ppa.mdph.lecture"
NATURE = "ppa.fiche_mdph"
REFUS_LIRE = "Vous n'avez pas accès au projet personnalisé de cette personne."
AJOUT, RETRAIT, MODIFICATION = "ajout", "retrait", "modification"
LIBELLES_CHANGEMENT = {
    AJOUT: "nouvelle modalité",
    RETRAIT: "modalité arrêtée",
    MODIFICATION: "modalité modifiée",
}
LIBELLES_CHAMPS = {
    "objectif": "objectif",
    "intervenant": "qui",
    **{nom: Action._meta.get_field(nom).verbose_name for nom in ("quoi", "ou", "duree_minutes")},
    "frequence": "fréquence",
    "code_prestation": "prestation SERAFIN-PH",
}


# --- Lire -----------------------------------------------------------------------------------------


def _peut_lire(acteur: Acteur | None, usager_id: int) -> bool:
    return acteur is not None and habilitations.peut(acteur, usager_id, "lire", DOMAINE)


@dataclass(frozen=True)
class Preparation:
    """Ce dont on tire une fiche : la version validée, celle dont elle dérive (ou None pour une
    première version) et les changements de modalités (actions) de l'une à l'autre, chacun sous la
    forme figée dans la fiche (`_modalite`)."""

    version: VersionComplete
    precedente: VersionComplete | None
    changements: list[dict]

    def choisis(self, origines) -> list[dict]:
        voulues = {str(o) for o in origines}
        return [c for c in self.changements if c["origine"] in voulues]


def _texte(valeur) -> str:
    return "" if valeur in (None, "") else str(valeur)


def _frequence(regle: str) -> str:
    return decrire_regle(regle) if regle else ""


def _modalite(action: Action, changement: str, champs=()) -> dict:
    """Une modalité telle que la fiche la garde et l'affiche (textes seulement : elle est figée)."""
    return {
        "origine": str(action.origine),
        "changement": changement,
        "libelle_changement": LIBELLES_CHANGEMENT[changement],
        "quoi": action.quoi,
        "objectif": action.objectif.titre,
        "intervenant": action.intervenant.nom_affiche
        if action.intervenant_id
        else action.intervenant_libelle,
        "ou": action.ou,
        "frequence": _frequence(action.frequence),
        "duree_minutes": action.duree_minutes,
        "champs": [
            {
                "champ": LIBELLES_CHAMPS.get(c.champ, c.champ),
                "avant": _frequence(c.avant) if c.champ == "frequence" else _texte(c.avant),
                "apres": _frequence(c.apres) if c.champ == "frequence" else _texte(c.apres),
            }
            for c in champs
        ],
    }


def preparation(acteur: Acteur | None, version_uuid, *, request=None) -> Preparation | None:
    """Les modalités qui changent dans la version `version_uuid` par rapport à la version validée
    dont elle dérive (`ppa.differentiel`, sans recalcul) ; toutes ses actions pour une première
    version. None si l'acteur ne peut pas lire la version (lectures journalisées)."""
    apres = selectors.version_complete(acteur, version_uuid, request=request)
    if apres is None:
        return None
    derive_de = apres.version.derive_de_id
    if derive_de is None:
        return Preparation(apres, None, [_modalite(a, AJOUT) for a in apres.actions])
    uuid_avant = VersionPPA.objects.filter(pk=derive_de).values_list("uuid", flat=True).get()
    avant = selectors.version_complete(acteur, uuid_avant, request=request)
    differentiel = comparer(avant, apres)
    actions = differentiel.actions
    changements = [
        *(_modalite(a, AJOUT) for a in actions.ajoutes),
        *(_modalite(m.apres, MODIFICATION, m.changements) for m in actions.modifies),
        *(_modalite(a, RETRAIT) for a in actions.retires),
    ]
    return Preparation(apres, avant, changements)


def _fiches():
    return FicheLiaisonMDPH.objects.select_related(
        "version__projet__structure", "version__projet__usager", "version_precedente", "mdph"
    )


def fiche_lisible(
    acteur: Acteur | None, usager: Usager, fiche_uuid, *, request=None
) -> FicheLiaisonMDPH | None:
    """La fiche `fiche_uuid` de `usager` (avec son consentement, `consentement_lu`, ou None), si
    l'acteur lit le projet personnalisé de la personne ; None sinon (404). Lecture journalisée."""
    if not _peut_lire(acteur, usager.pk):
        return None
    try:
        fiche = _fiches().filter(uuid=fiche_uuid, version__projet__usager=usager).first()
    except ValidationError:
        return None
    if fiche is None:
        return None
    fiche.consentement_lu = ConsentementFicheMDPH.objects.filter(fiche=fiche).first()
    noter_lecture(request, usager=usager, objet=fiche, action=LECTURE, acteur=acteur)
    return fiche


def fiches_lisibles(acteur: Acteur | None, usager: Usager, *, request=None) -> list[FicheLiaisonMDPH]:
    """Les fiches de `usager`, de la plus récente à la plus ancienne ; AccesRefuse sans `ppa` en
    lecture. Une requête quel que soit leur nombre ; lecture journalisée."""
    if not _peut_lire(acteur, usager.pk):
        raise AccesRefuse(REFUS_LIRE)
    fiches = list(_fiches().filter(version__projet__usager=usager).order_by("-cree_le", "-id"))
    noter_lecture(request, usager=usager, action=LECTURE, acteur=acteur)
    return fiches


def messages(fiche: FicheLiaisonMDPH) -> list[MessageSortant]:
    """Les messages sortants de la fiche (MSSanté, DMP) et leur statut ; la fiche a été lue par
    `fiche_lisible` (droits vérifiés, lecture journalisée)."""
    return echanges.messages_de(fiche)


# --- Qui peut quoi --------------------------------------------------------------------------------


def _journaliser(acteur: Acteur, action: str, fiche: FicheLiaisonMDPH, usager: Usager, details=None) -> None:
    au_nom_de = str(usager) if habilitations.agit_pour_l_usager(acteur, usager) else ""
    journaliser(
        acteur=acteur, action=action, objet=fiche, usager=usager, au_nom_de=au_nom_de, details=details
    )


def exiger_redacteur(acteur: Acteur | None, version: VersionPPA) -> None:
    """Préparer et envoyer la fiche : un professionnel qui exerce dans la structure du projet et
    écrit dans le projet personnalisé de la personne ; AccesRefuse sinon."""
    projet = version.projet
    exercice = acteur.exercice if acteur is not None and acteur.type == TypeActeur.PROFESSIONNEL else None
    if (
        exercice is None
        or exercice.structure_id != projet.structure_id
        or not habilitations.peut(acteur, projet.usager, "ecrire", DOMAINE)
    ):
        raise AccesRefuse(
            f"La fiche de liaison MDPH est préparée et envoyée par un professionnel de "
            f"{projet.structure.raison_sociale} qui écrit dans le projet personnalisé de la personne."
        )


def peut_rediger(acteur: Acteur | None, version: VersionPPA) -> bool:
    try:
        exiger_redacteur(acteur, version)
    except AccesRefuse:
        return False
    return True


def qualite_consentant(acteur: Acteur | None, usager: Usager) -> str:
    """En quelle qualité l'acteur consent pour la personne (comme l'accord sur le projet : elle-même
    ou son représentant légal en titre) ; AccesRefuse sinon."""
    if acteur is None or not habilitations.est_titulaire(acteur, usager):
        raise AccesRefuse(
            "Seule la personne, ou son représentant légal, consent à l'envoi de la fiche à la MDPH."
        )
    return "la personne" if acteur.type == TypeActeur.USAGER else "son représentant légal"


def peut_consentir(acteur: Acteur | None, usager: Usager) -> bool:
    return acteur is not None and habilitations.est_titulaire(acteur, usager)


def texte_consentement(acteur: Acteur, fiche: FicheLiaisonMDPH) -> str:
    """Le texte exact montré à qui consent ; le même est enregistré avec le consentement."""
    projet = fiche.version.projet
    pour = "" if acteur.type == TypeActeur.USAGER else f", pour {projet.usager} que je représente,"
    return (
        f"J'accepte{pour} que {projet.structure.raison_sociale} envoie cette fiche de liaison à "
        f"{fiche.destinataire_nom} ({fiche.destinataire_bal}) par la messagerie sécurisée de santé, "
        f"et qu'elle soit déposée dans le dossier médical partagé (DMP). Elle dit ce qui change "
        f"durablement dans l'accompagnement, et pourquoi."
    )


# --- Écrire ---------------------------------------------------------------------------------------


def _destinataire(mdph_finess: str, bal: str, nom: str) -> tuple[Structure | None, str, str]:
    """La MDPH : une structure de l'annuaire (par son FINESS) qui a une BAL MSSanté, ou une
    adresse saisie, organisationnelle (se termine par .mssante.fr, pas une adresse de patient)."""
    mdph_finess, bal, nom = (
        identifiants.compacter(mdph_finess or ""),
        (bal or "").strip(),
        (nom or "").strip(),
    )
    if mdph_finess and bal:
        raise ValidationError(
            "Choisissez la MDPH dans l'annuaire (FINESS) ou saisissez son adresse, pas les deux."
        )
    if mdph_finess:
        structure = Structure.objects.filter(finess_eg=mdph_finess).first()
        if structure is None:
            raise ValidationError({"mdph_finess": ["Aucune structure de l'annuaire n'a ce FINESS."]})
        if not structure.bal_mssante:
            raise ValidationError(
                {
                    "mdph_finess": [
                        f"{structure.raison_sociale} n'a pas de BAL MSSanté organisationnelle dans "
                        "l'annuaire : saisissez l'adresse de la MDPH."
                    ]
                }
            )
        bal = structure.bal_mssante
        return structure, structure.raison_sociale[:200], _verifier_bal(bal, "mdph_finess")
    if not bal:
        raise ValidationError("Indiquez la MDPH destinataire : son FINESS, ou l'adresse de sa BAL MSSanté.")
    if not nom:
        raise ValidationError({"nom": ["Nommez la MDPH destinataire (ex. MDPH du Val Fictif)."]})
    return None, nom[:200], _verifier_bal(bal, "bal")


def _verifier_bal(bal: str, champ: str) -> str:
    try:
        validate_email(bal)
    except ValidationError:
        raise ValidationError(
            {champ: ["Cette adresse n'est pas une adresse de messagerie valide."]}
        ) from None
    bal = bal.lower()
    if bal.endswith(echanges.DOMAINE_PATIENT_MSSANTE):
        raise ValidationError({champ: ["C'est l'adresse d'un patient : la fiche va à la BAL de la MDPH."]})
    if not bal.endswith(".mssante.fr"):
        raise ValidationError(
            {champ: ["La fiche part par MSSanté : l'adresse de la MDPH doit se terminer par .mssante.fr."]}
        )
    return bal


@dataclass(frozen=True)
class Apercu:
    """La fiche telle qu'elle serait enregistrée (aperçu, rien d'écrit)."""

    modalites: list[dict]
    motif: str
    mdph: Structure | None
    destinataire_nom: str
    destinataire_bal: str


def verifier(
    preparation: Preparation, *, origines, motif: str, mdph_finess="", bal="", nom="", statut: str = ""
) -> Apercu:
    """Contrôle la saisie d'une fiche sans rien écrire : ValidationError (message français, sous
    le champ qu'il concerne) ou l'aperçu de la fiche. `preparer` passe par ici, avec le statut de
    la version relu sous verrou (un avenant validé entre-temps l'a peut-être remplacée)."""
    if (statut or preparation.version.version.statut) != StatutVersion.VALIDEE:
        raise ValidationError(
            "La fiche de liaison se tire de la version validée en vigueur du projet ; celle-ci ne l'est "
            "pas (brouillon, en attente des accords, ou remplacée par un avenant)."
        )
    if not preparation.changements:
        raise ValidationError(
            "Cette version ne change aucune modalité d'accompagnement : pas de fiche de liaison à écrire."
        )
    modalites = preparation.choisis(origines or ())
    if not modalites:
        raise ValidationError({"modalites": ["Cochez au moins une modalité qui change durablement."]})
    motif = (motif or "").strip()
    if not motif:
        raise ValidationError({"motif": ["Dites pourquoi les modalités changent durablement."]})
    mdph, destinataire_nom, destinataire_bal = _destinataire(mdph_finess, bal, nom)
    return Apercu(modalites, motif[:5000], mdph, destinataire_nom, destinataire_bal)


@transaction.atomic
def preparer(*, acteur: Acteur, preparation: Preparation, **saisie) -> FicheLiaisonMDPH:
    """Prépare la fiche tirée de `preparation` (lue par `preparation()`), avec la saisie de
    `verifier` (modalités retenues par leur origine, motif, MDPH). Son contenu est figé dès lors ;
    elle attend le consentement de la personne, puis l'envoi."""
    version = VersionPPA.objects.select_for_update(of=("self",)).select_related(
        "projet__structure", "projet__usager"
    )
    version = version.get(pk=preparation.version.version.pk)
    exiger_redacteur(acteur, version)
    apercu = verifier(preparation, statut=version.statut, **saisie)
    precedente = preparation.precedente.version if preparation.precedente is not None else None
    fiche = FicheLiaisonMDPH.objects.create(
        version=version, version_precedente=precedente, modalites=apercu.modalites, motif=apercu.motif,
        mdph=apercu.mdph, destinataire_nom=apercu.destinataire_nom, destinataire_bal=apercu.destinataire_bal,
        redigee_par=acteur.cle, redigee_par_nom=acteur.nom[:200],
    )  # fmt: skip
    _journaliser(acteur, "ppa.mdph.preparation", fiche, version.projet.usager, {"version": str(version.uuid)})
    return fiche


def _verrouiller(fiche: FicheLiaisonMDPH) -> FicheLiaisonMDPH:
    return (
        FicheLiaisonMDPH.objects.select_for_update(of=("self",))
        .select_related("version__projet__structure", "version__projet__usager")
        .get(pk=fiche.pk)
    )


@transaction.atomic
def consentir(*, acteur: Acteur | None, fiche: FicheLiaisonMDPH, texte_vu: str) -> ConsentementFicheMDPH:
    """Le consentement de la personne (ou de son représentant légal) à l'envoi, sur le texte
    qu'elle a lu (`texte_vu`, celui affiché) ; s'il a changé depuis, rien n'est enregistré."""
    fiche = _verrouiller(fiche)
    usager = fiche.version.projet.usager
    qualite = qualite_consentant(acteur, usager)
    if ConsentementFicheMDPH.objects.filter(fiche=fiche).exists():
        raise ValidationError("Le consentement à l'envoi de cette fiche est déjà enregistré.")
    if fiche.statut != StatutFicheMDPH.PREPAREE:
        raise ValidationError("Cette fiche est déjà envoyée.")
    texte = texte_consentement(acteur, fiche)
    if (texte_vu or "").strip() != texte:
        raise ValidationError("Le texte a changé depuis que vous l'avez lu : relisez-le avant de consentir.")
    consentement = ConsentementFicheMDPH.objects.create(
        fiche=fiche, donne_par=acteur.cle, donne_par_nom=acteur.nom[:200], qualite=qualite, texte=texte
    )
    _journaliser(acteur, "ppa.mdph.consentement", fiche, usager, {"qualite": qualite})
    return consentement


def _charge(fiche: FicheLiaisonMDPH, usager: Usager) -> dict:
    projet = fiche.version.projet
    titre = f"Fiche de liaison MDPH — {projet.get_type_display()} version {fiche.version.numero}"
    return {
        "document": {
            "objet": "ppa.fiche_mdph",
            "fiche": str(fiche.uuid),
            "version": str(fiche.version.uuid),
            "format": "application/pdf",
            "identifiant": depot_dmp.identifiant_document(fiche),
            "titre": titre,
            "date": fiche.envoyee_le.isoformat(),
        },
        "structure": str(projet.structure.uuid),
        "objet_du_message": titre,
        "corps": (
            f"{projet.structure.raison_sociale} vous adresse la fiche de liaison de {usager} : "
            "les modalités d'accompagnement changent durablement. La fiche est jointe (PDF)."
        ),
    }


@transaction.atomic
def envoyer(*, acteur: Acteur | None, fiche: FicheLiaisonMDPH) -> list[MessageSortant]:
    """Envoie la fiche consentie : dans une transaction, elle passe « envoyée » (elle ne changera
    plus) et deux messages entrent dans la boîte d'envoi, MSSanté vers la BAL de la MDPH et dépôt
    dans le DMP (refusé d'emblée, raison écrite, si l'identité INS n'est pas qualifiée). Sans
    consentement : refus, rien n'est écrit."""
    fiche = _verrouiller(fiche)
    usager = fiche.version.projet.usager
    exiger_redacteur(acteur, fiche.version)
    if fiche.statut != StatutFicheMDPH.PREPAREE:
        raise ValidationError("Cette fiche est déjà envoyée : elle ne part qu'une fois.")
    if not ConsentementFicheMDPH.objects.filter(fiche=fiche).exists():
        raise ValidationError(
            "La personne (ou son représentant légal) n'a pas encore consenti à l'envoi : "
            "la fiche ne part pas sans son consentement."
        )
    fiche.statut, fiche.envoyee_le = StatutFicheMDPH.ENVOYEE, timezone.now()
    fiche.envoyee_par_nom = acteur.nom[:200]
    fiche.save(update_fields=["statut", "envoyee_le", "envoyee_par_nom", "modifie_le"])
    charge = _charge(fiche, usager)
    envois = [
        echanges.mettre_en_file(
            acteur=acteur, destination=Destination.MSSANTE, destinataire=fiche.destinataire_bal,
            nature=NATURE, cle_idempotence=f"{NATURE}:mssante:{fiche.uuid}", charge=charge, usager=usager,
            objet=fiche,
        ),
        echanges.mettre_en_file(
            acteur=acteur, destination=Destination.DMP, destinataire=depot_dmp.DESTINATAIRE, nature=NATURE,
            cle_idempotence=f"{NATURE}:dmp:{fiche.uuid}", charge=charge, usager=usager, objet=fiche,
        ),
    ]  # fmt: skip
    _journaliser(acteur, "ppa.mdph.envoi", fiche, usager, {"destinataire": fiche.destinataire_bal})
    return envois


# --- PDF ------------------------------------------------------------------------------------------


def pdf(fiche: FicheLiaisonMDPH, *, edite_par: str) -> bytes:
    """La fiche en PDF (WeasyPrint, comme `ppa.exports`) : ce que reçoit la MDPH et ce qui est
    déposé au DMP ; sans requête (la fiche lue par `fiche_lisible`, avec son consentement)."""
    from django.contrib.staticfiles import finders
    from django.template.loader import render_to_string
    from weasyprint import CSS, HTML

    projet = fiche.version.projet
    html = render_to_string(
        "ppa/pdf_fiche_mdph.html",
        {
            "fiche": fiche,
            "projet": projet,
            "usager": projet.usager,
            "consentement": getattr(fiche, "consentement_lu", None),
            "edite_le": timezone.localtime(),
            "edite_par": edite_par,
        },
    )
    feuilles = [CSS(filename=finders.find(f"css/{nom}.css")) for nom in ("preuve", "export_ppa")]
    return HTML(string=html, base_url=None).write_pdf(stylesheets=feuilles)


# --- Boîte d'envoi : constructeur de la nature « ppa.fiche_mdph » -----------------------------------


def construire(message: MessageSortant) -> Contenu:
    """Rebâtit le message d'une fiche envoyée (`natures.CONSTRUCTEURS`) : la fiche en PDF et le
    texte que la charge porte. La fiche doit être celle de la charge, envoyée (donc figée), tirée
    de la même version ; sinon `ValueError` (le message sera retenté puis mis en lettre morte).
    Lecture par le système, journalisée (`ppa.mdph.lecture`)."""
    charge = message.charge
    document = charge["document"]
    fiche = _fiches().filter(uuid=document["fiche"]).first()
    if fiche is None or fiche.statut != StatutFicheMDPH.ENVOYEE:
        raise ValueError(f"La fiche MDPH {document['fiche']} n'existe pas ou n'est pas envoyée.")
    if str(fiche.version.uuid) != document["version"]:
        raise ValueError(f"La fiche MDPH {fiche.uuid} ne vient plus de la version de la charge.")
    fiche.consentement_lu = ConsentementFicheMDPH.objects.filter(fiche=fiche).first()
    usager = fiche.version.projet.usager
    noter_lecture(
        None, usager=usager, objet=fiche, action=LECTURE, acteur=acteur_systeme("echanges.envoi"),
        details={"message": str(message.uuid)},
    )  # fmt: skip
    octets = pdf(fiche, edite_par=fiche.envoyee_par_nom or fiche.redigee_par_nom)
    return Contenu(
        sujet=charge["objet_du_message"],
        texte=charge["corps"],
        documents=(
            Document(
                titre=document["titre"], nom_fichier=f"fiche-liaison-mdph-{fiche.uuid}.pdf",
                type_mime=document["format"], octets=octets, identifiant=document["identifiant"],
                date=datetime.fromisoformat(document["date"]),
            ),
        ),
    )  # fmt: skip
