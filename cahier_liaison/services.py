"""Écritures du cahier de liaison. Chaque service vérifie l'habilitation `cahier`
(cercle/habilitations.py) et la visibilité de la note (cahier_liaison/selectors.py), valide
l'entrée (ValidationError par champ, en français), écrit dans une transaction, y range les
événements à notifier (`emettre_evenement`) et journalise (« au nom de » l'usager quand un proche
agit pour lui). Un refus n'écrit rien.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cahier_liaison import pieces_jointes as pj
from cahier_liaison import selectors, temps_reel
from cahier_liaison.codes import TypeNote, Visibilite
from cahier_liaison.models import (
    CHAMPS_VERSIONNES,
    EvenementCahier,
    Lecture,
    NatureEvenement,
    NatureSollicitation,
    Note,
    Sollicitation,
    TypeAuteur,
    VersionNote,
)
from cercle import habilitations
from cercle.models import Membre, StatutMembre, TypeMembre
from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.services import journaliser_plusieurs, preparer_evenement
from coordination.notifications import services as notifications
from coordination.personnes.models import Exercice

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from coordination.personnes.models import Usager

DOMAINE = selectors.DOMAINE
# Tolérance sur le moment de survenue : horloges des appareils légèrement en avance.
TOLERANCE_FUTUR = dt.timedelta(minutes=5)
LONGUEUR_MOTIF = 300

REFUS_ECRIRE = "Vous n'avez pas le droit d'écrire dans le cahier de liaison de cette personne."
REFUS_LIRE = "Vous n'avez pas accès à cette note du cahier de liaison."


# --- Outils -------------------------------------------------------------------------------------


def _journaliser(
    acteur: Acteur, action: str, *, usager: Usager, objet=None, details: dict | None = None
) -> None:
    au_nom_de = str(usager) if habilitations.agit_pour_l_usager(acteur, usager) else ""
    if isinstance(objet, Note):
        # Chaque écriture journalisée sur une note part aussi, après validation, vers les pages
        # ouvertes sur ce cahier (ADR 0017) : un seul point de passage pour pages, API et FHIR.
        temps_reel.publier_apres_validation(action, objet)
    journaliser_plusieurs(
        [
            preparer_evenement(
                acteur=acteur,
                action=action,
                objet=objet,
                usager=usager,
                au_nom_de=au_nom_de,
                details=details or {},
            )
        ]
    )


def _exiger(acteur: Acteur | None, usager: Usager | int, action: str, message: str) -> None:
    if acteur is None or not habilitations.peut(acteur, usager, action, DOMAINE):
        raise AccesRefuse(message)


def _exiger_lecture_note(acteur: Acteur, note: Note) -> None:
    if not selectors.peut_voir_note(acteur, note):
        raise AccesRefuse(REFUS_LIRE)


def _champs_auteur(acteur: Acteur) -> dict:
    """Les colonnes `auteur_*` qui identifient l'acteur, comme le journal l'identifie."""
    champs = {"auteur_nom": acteur.nom[:200], "auteur_qualite": acteur.qualite[:300]}
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return {**champs, "auteur_type": TypeAuteur.PROFESSIONNEL, "auteur_exercice": acteur.exercice}
    if acteur.type == TypeActeur.PROCHE:
        return {**champs, "auteur_type": TypeAuteur.PROCHE, "auteur_proche": acteur.proche}
    if acteur.type == TypeActeur.USAGER:
        return {**champs, "auteur_type": TypeAuteur.USAGER, "auteur_usager": acteur.usager}
    if acteur.type == TypeActeur.LOGICIEL:
        # Le logiciel d'une structure qui écrit pour le compte d'un de ses professionnels (ADR 0020) :
        # la note garde les deux, la structure (les droits) et la situation d'exercice (la personne).
        if acteur.exercice is not None:
            metier = acteur.exercice.fonction or acteur.exercice.profession_libelle or "professionnel"
            champs = {
                "auteur_nom": str(acteur.exercice.professionnel)[:200],
                "auteur_qualite": f"{metier} · {acteur.qualite}"[:300],
            }
        return {
            **champs,
            "auteur_type": TypeAuteur.LOGICIEL,
            "auteur_structure": acteur.structure_logiciel,
            "auteur_exercice": acteur.exercice,
        }
    if acteur.type == TypeActeur.SYSTEME:
        return {**champs, "auteur_type": TypeAuteur.SYSTEME}
    raise AccesRefuse("Seule une personne identifiée peut écrire dans le cahier de liaison.")


def _propre(valeur) -> str:
    return (valeur or "").strip()


def _valider_contenu(
    acteur: Acteur, *, type: str, survenue_le, texte: str, cible: str, donnees: str, actions: str,
    resultats: str, visibilite: str,
) -> None:  # fmt: skip
    erreurs: dict[str, str] = {}
    if type not in TypeNote.values:
        erreurs["type"] = "Type de note : choisissez un type connu (" + ", ".join(TypeNote.labels) + ")."
    if visibilite not in Visibilite.values:
        erreurs["visibilite"] = "Visibilité : ce code n'est pas pris en charge par le cahier de liaison."
    elif visibilite not in selectors.visibilites_permises(acteur):
        erreurs["visibilite"] = (
            "Visibilité : vous ne pouvez pas écrire une note que vous ne pourriez pas lire."
        )
    if not (texte or cible or donnees or actions or resultats):
        erreurs["texte"] = (
            "Contenu : écrivez un texte, ou une transmission ciblée (cible, données, actions, résultats)."
        )
    if survenue_le is None:
        erreurs["survenue_le"] = "Moment de l'événement : il est obligatoire."
    elif not isinstance(survenue_le, dt.datetime) or timezone.is_naive(survenue_le):
        erreurs["survenue_le"] = "Moment de l'événement : une date et une heure avec fuseau sont attendues."
    elif survenue_le > timezone.now() + TOLERANCE_FUTUR:
        erreurs["survenue_le"] = "Moment de l'événement : il ne peut pas être dans le futur."
    if erreurs:
        raise ValidationError(erreurs)


def emettre_evenement(
    *, nature: str, note: Note, destinataires: Iterable[Membre] = (), a_distribuer_le=None
) -> EvenementCahier:
    """Range un événement à notifier, dans la transaction de l'écriture qui le cause (la
    distribution viendra des notifications). Sans destinataires : tous les lecteurs de la note."""
    if nature not in NatureEvenement.values:
        raise ValueError(f"Nature d'événement inconnue « {nature} ».")
    evenement = EvenementCahier.objects.create(nature=nature, note=note)
    destinataires = list(destinataires)
    if destinataires:
        evenement.destinataires.add(*destinataires)
    notifications.distribuer_apres_validation()
    return evenement


# --- Écrire, répondre ---------------------------------------------------------------------------


DEJA_UTILISE = "Identifiant de note : il est déjà utilisé par ce système pour une autre personne."


def _deja_recue(systeme_emetteur: str, master_identifier: str, usager: Usager) -> Note | None:
    note = Note.objects.filter(systeme_emetteur=systeme_emetteur, master_identifier=master_identifier).first()
    if note is not None and note.usager_id != usager.pk:
        raise ValidationError({"master_identifier": DEJA_UTILISE})
    if note is not None:
        note.deja_recue = True  # l'appelant (FHIR : 200 au lieu de 201) sait que rien n'a été écrit
    return note


def _preparer_note(
    *,
    acteur: Acteur,
    usager: Usager,
    type: str,
    survenue_le: dt.datetime,
    texte: str = "",
    cible: str = "",
    donnees: str = "",
    actions: str = "",
    resultats: str = "",
    urgente: bool = False,
    visibilite: str = Visibilite.TOUS,
    systeme_emetteur: str = "",
    master_identifier: str | None = None,
    reponse_a: Note | None = None,
    pieces_jointes: Sequence[UploadedFile] = (),
) -> tuple[Note, list[pj.PiecePrete]]:
    """Les contrôles d'une écriture (droit, contenu, pièces jointes, note d'origine, émetteur) et la
    note à écrire, non enregistrée, avec ses pièces prêtes. Sans requête quand les droits de l'acteur
    sur l'usager sont déjà mémorisés. `pieces_jointes` : fichiers reçus (photos, PDF), tous contrôlés
    ici, avant que rien ne soit écrit (cahier_liaison/pieces_jointes.py)."""
    _exiger(acteur, usager, "ecrire", REFUS_ECRIRE)
    texte, cible, donnees, actions, resultats = map(_propre, (texte, cible, donnees, actions, resultats))
    visibilite = visibilite or Visibilite.TOUS
    erreurs: dict[str, list] = {}
    try:
        _valider_contenu(
            acteur, type=type, survenue_le=survenue_le, texte=texte, cible=cible, donnees=donnees,
            actions=actions, resultats=resultats, visibilite=visibilite,
        )  # fmt: skip
    except ValidationError as exc:
        erreurs.update(exc.message_dict)
    try:
        pretes = pj.preparer_pieces(pieces_jointes)
    except ValidationError as exc:
        erreurs.update(exc.message_dict)
    if erreurs:
        raise ValidationError(erreurs)
    if reponse_a is not None:
        if reponse_a.usager_id != usager.pk:
            raise ValidationError({"reponse_a": "Réponse : la note d'origine concerne une autre personne."})
        _exiger_lecture_note(acteur, reponse_a)
        if not reponse_a.active:
            raise ValidationError({"reponse_a": "Réponse : la note d'origine a été désactivée."})
    master_identifier = _propre(master_identifier) or None
    systeme_emetteur = _propre(systeme_emetteur)
    if master_identifier and not systeme_emetteur:
        if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
            systeme_emetteur = f"structure:{acteur.structure_logiciel.uuid}"
        else:
            raise ValidationError(
                {"systeme_emetteur": "Système émetteur : il est obligatoire avec un identifiant de note."}
            )
    note = Note(
        usager=usager, survenue_le=survenue_le, ecrite_le=timezone.now(), type=type, texte=texte,
        cible=cible[:200], donnees=donnees, actions=actions, resultats=resultats, urgente=bool(urgente),
        visibilite=visibilite, systeme_emetteur=systeme_emetteur, master_identifier=master_identifier,
        reponse_a=reponse_a, **_champs_auteur(acteur),
    )  # fmt: skip
    return note, pretes


def _evenements_a_notifier(note: Note) -> list[EvenementCahier]:
    """Les événements que cause une note neuve (non enregistrés) : nouvelle note ou réponse, et
    note urgente."""
    nature = NatureEvenement.REPONSE if note.reponse_a_id is not None else NatureEvenement.NOUVELLE_NOTE
    evenements = [EvenementCahier(nature=nature, note=note)]
    if note.urgente:
        evenements.append(EvenementCahier(nature=NatureEvenement.NOTE_URGENTE, note=note))
    return evenements


def _action_d_ecriture(note: Note) -> str:
    return "cahier.note.reponse" if note.reponse_a_id is not None else "cahier.note.ecriture"


def _evenement_de_journal(acteur: Acteur, note: Note, pretes: Sequence[pj.PiecePrete]):
    return preparer_evenement(
        acteur=acteur,
        action=_action_d_ecriture(note),
        objet=note,
        usager=note.usager,
        au_nom_de=str(note.usager) if habilitations.agit_pour_l_usager(acteur, note.usager) else "",
        details={
            "type": note.type,
            "urgente": note.urgente,
            "visibilite": note.visibilite,
            "reponse_a": str(note.reponse_a.uuid) if note.reponse_a_id is not None else None,
            **({"pieces_jointes": [prete.pour_journal() for prete in pretes]} if pretes else {}),
        },
    )


def ecrire_note(*, acteur: Acteur, usager: Usager, **champs) -> Note:
    """Écrit une transmission dans le cahier de `usager` (champs : ceux de `_preparer_note`). Avec
    `master_identifier` (identifiant donné par le système émetteur, un DUI), l'écriture est
    idempotente : le même identifiant du même système renvoie la note déjà reçue, sans rien écrire
    de plus. Un seul fichier joint refusé, et ni la note ni aucun fichier n'est écrit ; les fichiers
    écrits sont effacés si la transaction échoue."""
    note, pretes = _preparer_note(acteur=acteur, usager=usager, **champs)
    if note.master_identifier:
        deja = _deja_recue(note.systeme_emetteur, note.master_identifier, usager)
        if deja is not None:
            return deja
    try:
        _enregistrer([(acteur, note, pretes)])
    except IntegrityError:
        # Deux réceptions simultanées du même identifiant : la première gagne.
        if note.master_identifier:
            deja = _deja_recue(note.systeme_emetteur, note.master_identifier, usager)
            if deja is not None:
                return deja
        raise
    return note


def _deja_recues(cles: set[tuple[str, str]]) -> dict[tuple[str, str], Note]:
    """Les notes déjà reçues sous ces (système émetteur, identifiant) : une requête."""
    if not cles:
        return {}
    existantes = Note.objects.filter(
        master_identifier__in={c[1] for c in cles}, systeme_emetteur__in={c[0] for c in cles}
    )
    return {
        (n.systeme_emetteur, n.master_identifier): n
        for n in existantes
        if (n.systeme_emetteur, n.master_identifier) in cles
    }


class NoteRefusee(Exception):
    """Refus d'une note d'un envoi groupé (`ecrire_notes`) : son `rang` dans l'envoi et la `cause`
    (AccesRefuse ou ValidationError, comme `ecrire_note` la lèverait). Rien n'est écrit."""

    def __init__(self, rang: int, cause: Exception):
        super().__init__(str(cause))
        self.rang, self.cause = rang, cause


def _enregistrer(nouvelles: list[tuple[Acteur, Note, list[pj.PiecePrete]]]) -> None:
    """Écrit des notes préparées, leurs pièces jointes, leurs événements à notifier et leur journal,
    en une transaction (un INSERT par table), et les publie après validation. Les fichiers écrits
    sont effacés si elle échoue."""
    ecrits: list[str] = []
    try:
        with transaction.atomic():
            Note.objects.bulk_create([note for _, note, _ in nouvelles])
            for _, note, pretes in nouvelles:
                if pretes:
                    pj.ranger_pieces(note, pretes, ecrits)
            EvenementCahier.objects.bulk_create(
                [evenement for _, note, _ in nouvelles for evenement in _evenements_a_notifier(note)]
            )
            notifications.distribuer_apres_validation()
            journaliser_plusieurs(
                [_evenement_de_journal(acteur, note, pretes) for acteur, note, pretes in nouvelles]
            )
            for _, note, _ in nouvelles:  # vers les pages ouvertes sur ce cahier (ADR 0017)
                temps_reel.publier_apres_validation(_action_d_ecriture(note), note)
    except BaseException:
        pj.effacer_fichiers(ecrits)
        raise


def ecrire_notes(demandes: list[dict]) -> list[Note]:
    """Écrit plusieurs notes en tout ou rien : chaque demande porte les arguments de `ecrire_note`
    (acteur, usager, champs), avec les mêmes contrôles, la même idempotence et, par note, ses
    événements à notifier et son événement de journal. Requêtes en nombre constant : droits par
    acteur pour tous ses usagers (une requête ; les acteurs « pour le compte » d'un logiciel
    partagent son mémo), identifiants déjà reçus (une), puis un INSERT par table (notes, événements,
    journal en un seul ajout à la chaîne). Le premier refus lève `NoteRefusee` : rien n'est écrit."""
    par_memo: dict[int, tuple[Acteur, set[int]]] = {}
    for demande in demandes:
        if demande.get("acteur") is not None:
            acteur = demande["acteur"]
            par_memo.setdefault(id(acteur.memo), (acteur, set()))[1].add(demande["usager"].pk)
    for acteur, usager_ids in par_memo.values():
        habilitations.niveaux_de_plusieurs(acteur, sorted(usager_ids))
    preparees: list[tuple[Note, list[pj.PiecePrete]]] = []
    for rang, demande in enumerate(demandes):
        try:
            preparees.append(_preparer_note(**demande))
        except (AccesRefuse, ValidationError) as cause:
            raise NoteRefusee(rang, cause) from cause
    notes = [note for note, _ in preparees]
    cles: dict[tuple[str, str], int] = {}
    for rang, note in enumerate(notes):
        if note.master_identifier:
            cle = (note.systeme_emetteur, note.master_identifier)
            if cle in cles:
                raise NoteRefusee(rang, ValidationError(
                    {"master_identifier": "Identifiant de note : il figure deux fois dans le même envoi."}
                ))  # fmt: skip
            cles[cle] = rang
    deja = _deja_recues(set(cles))
    resultats, nouvelles = list(notes), []
    for rang, note in enumerate(notes):
        existante = deja.get((note.systeme_emetteur, note.master_identifier or ""))
        if existante is None:
            nouvelles.append((demandes[rang]["acteur"], note, preparees[rang][1]))
            continue
        if existante.usager_id != note.usager_id:
            raise NoteRefusee(rang, ValidationError({"master_identifier": DEJA_UTILISE}))
        existante.deja_recue = True
        resultats[rang] = existante
    if not nouvelles:
        return resultats
    try:
        _enregistrer(nouvelles)
    except IntegrityError:
        # Réception simultanée d'un même identifiant par un autre envoi : note par note, la première
        # arrivée gagne (ecrire_note relit la note déjà reçue).
        resultats = []
        for rang, demande in enumerate(demandes):
            try:
                resultats.append(ecrire_note(**demande))
            except (AccesRefuse, ValidationError) as cause:
                raise NoteRefusee(rang, cause) from cause
    return resultats


def repondre(*, acteur: Acteur, note: Note, **champs) -> Note:
    """Répond à une note (fil : `relatesTo` appends) ; mêmes champs que `ecrire_note`. Sans
    visibilité précisée, la réponse garde celle de la note d'origine."""
    champs.setdefault("visibilite", note.visibilite)
    return ecrire_note(acteur=acteur, usager=note.usager, reponse_a=note, **champs)


# --- Modifier, désactiver -----------------------------------------------------------------------


def _verrouiller(note: Note) -> Note:
    return Note.objects.select_for_update().select_related("usager").get(pk=note.pk)


def modifier_note(*, acteur: Acteur, note: Note, version_lue: int | None = None, **changements) -> Note:
    """Modifie une note : son auteur seulement, s'il peut encore écrire dans ce cahier. La version
    précédente est gardée (immuable) et le numéro de version augmente. Avec `version_lue` (la
    version que l'auteur avait sous les yeux), refuse si la note a changé entre-temps."""
    inconnus = set(changements) - set(CHAMPS_VERSIONNES)
    if inconnus:
        raise ValidationError(f"Champs non modifiables : {', '.join(sorted(inconnus))}.")
    _exiger(acteur, note.usager_id, "ecrire", REFUS_ECRIRE)
    _exiger_lecture_note(acteur, note)
    if not selectors.est_auteur(acteur, note):
        raise AccesRefuse("Seul l'auteur d'une note peut la modifier.")
    with transaction.atomic():
        actuelle = _verrouiller(note)
        if not actuelle.active:
            raise ValidationError("Cette note a été désactivée : elle ne peut plus être modifiée.")
        if version_lue is not None and actuelle.version != version_lue:
            raise ValidationError(
                {
                    "version": (
                        f"Cette note a été modifiée entre-temps (version {actuelle.version}, vous "
                        f"modifiiez la version {version_lue}) : relisez-la, puis refaites votre modification."
                    )
                }
            )
        avant = actuelle.contenu()
        apres = dict(avant)
        for champ, valeur in changements.items():
            apres[champ] = _propre(valeur) if isinstance(valeur, str) and champ != "type" else valeur
        apres["visibilite"] = apres["visibilite"] or Visibilite.TOUS
        _valider_contenu(acteur, **{champ: valeur for champ, valeur in apres.items() if champ != "urgente"})
        if apres == avant:
            return actuelle
        VersionNote.objects.create(
            note=actuelle,
            version=actuelle.version,
            contenu={**avant, "survenue_le": avant["survenue_le"].isoformat()},
            remplacee_le=timezone.now(),
            **_champs_auteur(acteur),
        )
        for champ, valeur in apres.items():
            setattr(actuelle, champ, valeur)
        actuelle.version = F("version") + 1
        actuelle.save()
        actuelle.refresh_from_db()
        _journaliser(
            acteur,
            "cahier.note.modification",
            usager=actuelle.usager,
            objet=actuelle,
            details={"version": actuelle.version, "champs": sorted(c for c in apres if apres[c] != avant[c])},
        )
    return actuelle


def desactiver_note(*, acteur: Acteur, note: Note, motif: str) -> Note:
    """Désactive une note (elle reste gardée, hors du fil) : son auteur s'il peut encore écrire,
    ou un membre qui gère le cahier. Le motif est obligatoire."""
    motif = _propre(motif)
    _exiger_lecture_note(acteur, note)
    if not selectors.peut_desactiver(acteur, note):
        raise AccesRefuse(
            "Seuls l'auteur de la note et les personnes qui gèrent ce cahier peuvent la désactiver."
        )
    if not motif:
        raise ValidationError({"motif": "Motif : dites pourquoi la note est désactivée."})
    if len(motif) > LONGUEUR_MOTIF:
        raise ValidationError({"motif": f"Motif : {LONGUEUR_MOTIF} caractères au plus."})
    with transaction.atomic():
        actuelle = _verrouiller(note)
        if not actuelle.active:
            raise ValidationError("Cette note est déjà désactivée.")
        actuelle.active = False
        actuelle.desactivee_le = timezone.now()
        actuelle.motif_desactivation = motif
        actuelle.save(update_fields=["active", "desactivee_le", "motif_desactivation", "modifie_le"])
        _journaliser(acteur, "cahier.note.desactivation", usager=actuelle.usager, objet=actuelle)
    return actuelle


# --- Accusés de réception, alertes --------------------------------------------------------------


def acteur_du_membre(membre: Membre) -> Acteur | None:
    """La personne qui lit le cahier au titre de ce membre, pour interroger les habilitations :
    le professionnel (dans sa situation d'exercice), le proche, ou le logiciel de la structure
    (qui porte les droits de la structure). None : personne ne peut lire à ce titre."""
    if membre.type == TypeMembre.PROFESSIONNEL:
        exercice = membre.exercice
        if exercice is None:
            exercice = (
                Exercice.objects.filter(professionnel_id=membre.professionnel_id)
                .select_related("professionnel", "structure")
                .order_by("-date_debut", "-id")
                .first()
            )
        if exercice is None:
            return None
        return Acteur(TypeActeur.PROFESSIONNEL, exercice.professionnel.compte, exercice=exercice)
    if membre.type == TypeMembre.PROCHE and membre.proche is not None:
        return Acteur(
            TypeActeur.PROCHE, membre.proche.compte, proche=membre.proche, usager=membre.proche.usager
        )
    if membre.type == TypeMembre.STRUCTURE and membre.structure is not None:
        return Acteur(
            TypeActeur.LOGICIEL, structure_logiciel=membre.structure, nom_systeme=str(membre.structure)
        )
    return None


def _verifier_destinataires(note: Note, destinataires: Iterable[Membre]) -> list[Membre]:
    membres = list(destinataires)
    if not membres:
        raise ValidationError({"destinataires": "Destinataires : choisissez au moins un membre du cercle."})
    refuses = []
    for membre in membres:
        lecteur = None
        if membre.statut == StatutMembre.ACTIF and membre.cercle.usager_id == note.usager_id:
            lecteur = acteur_du_membre(membre)
        if lecteur is None or not selectors.peut_voir_note(lecteur, note):
            refuses.append(membre.nom_affiche)
    if refuses:
        raise ValidationError(
            {
                "destinataires": "Destinataires : ces personnes ne peuvent pas lire cette note : "
                + ", ".join(refuses)
                + "."
            }
        )
    return membres


def _solliciter(acteur: Acteur, note: Note, destinataires, nature: str) -> list[Sollicitation]:
    _exiger(acteur, note.usager_id, "ecrire", REFUS_ECRIRE)
    _exiger_lecture_note(acteur, note)
    if not note.active:
        raise ValidationError("Cette note a été désactivée.")
    membres = _verifier_destinataires(note, destinataires)
    with transaction.atomic():
        deja = set(
            Sollicitation.objects.filter(note=note, nature=nature, destinataire__in=membres).values_list(
                "destinataire_id", flat=True
            )
        )
        nouveaux = [membre for membre in membres if membre.pk not in deja]
        sollicitations = Sollicitation.objects.bulk_create(
            [
                Sollicitation(note=note, destinataire=membre, nature=nature, demandee_par=acteur.nom[:200])
                for membre in nouveaux
            ]
        )
        if nouveaux:
            emettre_evenement(
                nature=NatureEvenement.ACCUSE_DEMANDE
                if nature == NatureSollicitation.ACCUSE
                else NatureEvenement.ALERTE,
                note=note,
                destinataires=nouveaux,
            )
            _journaliser(
                acteur,
                "cahier.accuse.demande" if nature == NatureSollicitation.ACCUSE else "cahier.alerte",
                usager=note.usager,
                objet=note,
                details={"destinataires": [str(membre.uuid) for membre in nouveaux]},
            )
    return sollicitations


def demander_accuse(*, acteur: Acteur, note: Note, destinataires: Iterable[Membre]) -> list[Sollicitation]:
    """Demande à des membres choisis d'accuser réception de la note (ils doivent pouvoir la lire).
    Une demande déjà faite au même membre n'est pas répétée."""
    return _solliciter(acteur, note, destinataires, NatureSollicitation.ACCUSE)


def alerter(*, acteur: Acteur, note: Note, destinataires: Iterable[Membre]) -> list[Sollicitation]:
    """Alerte des membres choisis sur la note (ils doivent pouvoir la lire)."""
    return _solliciter(acteur, note, destinataires, NatureSollicitation.ALERTE)


def accuser_reception(*, acteur: Acteur, note: Note) -> list[Sollicitation]:
    """Accuse réception de la note : toutes les demandes en attente adressées à l'acteur (en
    personne ou à la structure où il agit)."""
    _exiger_lecture_note(acteur, note)
    presences = habilitations.presences_de(acteur, prefixe="destinataire__")
    if presences is None:
        raise ValidationError("Aucun accusé de réception ne vous est demandé pour cette note.")
    with transaction.atomic():
        attendues = list(
            Sollicitation.objects.select_for_update().filter(
                presences, note=note, nature=NatureSollicitation.ACCUSE, accusee_le__isnull=True
            )
        )
        if not attendues:
            raise ValidationError("Aucun accusé de réception ne vous est demandé pour cette note.")
        maintenant = timezone.now()
        Sollicitation.objects.filter(pk__in=[s.pk for s in attendues]).update(
            accusee_le=maintenant, accusee_par=acteur.nom[:200]
        )
        _journaliser(acteur, "cahier.accuse.reception", usager=note.usager, objet=note)
    for sollicitation in attendues:
        sollicitation.accusee_le, sollicitation.accusee_par = maintenant, acteur.nom[:200]
    return attendues


# --- Lecture ------------------------------------------------------------------------------------


def marquer_lu(*, acteur: Acteur, usager: Usager, jusqu_au: dt.datetime | None = None) -> Lecture:
    """Marque comme lu tout ce qui a été écrit dans le cahier de `usager` jusqu'à `jusqu_au`
    (maintenant par défaut). La marque n'avance jamais à reculons."""
    _exiger(acteur, usager, "lire", "Vous n'avez pas accès au cahier de liaison de cette personne.")
    if acteur.type == TypeActeur.SYSTEME:
        raise ValidationError("Le système ne tient pas de marque de lecture.")
    maintenant = timezone.now()
    jusqu_au = min(jusqu_au or maintenant, maintenant)
    with transaction.atomic():
        lecture, cree = Lecture.objects.select_for_update().get_or_create(
            lecteur=selectors.cle_lecteur(acteur), usager=usager, defaults={"lu_jusqu_au": jusqu_au}
        )
        if not cree and jusqu_au > lecture.lu_jusqu_au:
            lecture.lu_jusqu_au = jusqu_au
            lecture.save(update_fields=["lu_jusqu_au"])
        _journaliser(acteur, "cahier.lecture_marquee", usager=usager)
    return lecture


# --- Écrire et solliciter en une fois (formulaire des pages) ------------------------------------


def ecrire_et_solliciter(
    *,
    acteur: Acteur,
    usager: Usager,
    demander_accuse_a: Iterable[Membre] = (),
    alerter_membres: Iterable[Membre] = (),
    **champs,
) -> Note:
    """Écrit une note (ou une réponse, avec `reponse_a`) puis demande un accusé de réception et
    alerte les membres choisis, dans une seule transaction : une erreur n'écrit rien. Les erreurs
    des destinataires sont rangées sous `accuse` et `alerte` (champs du formulaire)."""
    demander_accuse_a, alerter_membres = list(demander_accuse_a), list(alerter_membres)
    with transaction.atomic():
        note = ecrire_note(acteur=acteur, usager=usager, **champs)
        for champ, membres, service in (
            ("accuse", demander_accuse_a, demander_accuse),
            ("alerte", alerter_membres, alerter),
        ):
            if not membres:
                continue
            try:
                service(acteur=acteur, note=note, destinataires=membres)
            except ValidationError as exc:
                raise ValidationError({champ: exc.messages}) from exc
    return note
