"""Écritures sur les personnes et structures : validation complète (`full_clean`), transaction et
journal. Les contrôles d'habilitation (qui peut créer un usager, ajouter un proche…) viendront
avec le cercle (cercle/habilitations.py) ; ces services ne les font pas encore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coordination.journal.services import journaliser
from coordination.personnes import identifiants
from coordination.personnes.models import Exercice, Proche, Professionnel, StatutIdentite, Structure, Usager
from coordination.personnes.selectors import (
    CandidatDoublon,
    doublons_possibles,
    journaliser_consultation_doublons,
)

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

TRAITS_INS = ("nom_naissance", "prenoms_naissance", "date_naissance", "sexe", "code_lieu_naissance")
MESSAGE_CHAMP_FIGE = (
    "cette information vient de FranceConnect+ (identité vérifiée) et ne peut pas être modifiée dans le "
    "portail. En cas d'erreur, elle se corrige auprès de l'organisme qui fournit l'identité numérique."
)
CHAMPS_MATRICULE = ("matricule_ins", "oid_ins")
_NON_MODIFIABLES = {
    "id",
    "uuid",
    "cree_le",
    "modifie_le",
    "nom_naissance_normalise",
    "premier_prenom_normalise",
}


def _champs_modifiables(modele) -> dict[str, str]:
    """nom du champ → attribut en base (`compte` → `compte_id`)."""
    return {
        f.name: f.attname
        for f in modele._meta.concrete_fields
        if f.editable and f.name not in _NON_MODIFIABLES
    }


def _verifier_champs(modele, donnees: dict[str, Any]) -> None:
    inconnus = set(donnees) - set(_champs_modifiables(modele))
    if inconnus:
        raise TypeError(f"{modele.__name__} : champs inconnus ou non modifiables {sorted(inconnus)}")


def _enregistrer(objet, *, acteur: Acteur, action: str, usager=None, details: dict | None = None):
    """Enregistre un objet déjà validé et journalise l'action, dans une même transaction
    (journal en dernier : le verrou de la chaîne est tenu le moins longtemps possible)."""
    with transaction.atomic():
        objet.save()
        journaliser(acteur=acteur, action=action, objet=objet, usager=usager, details=details)
    return objet


class DoublonPossible(ValidationError):
    """La personne saisie ressemble à un ou plusieurs usagers existants. Porte les candidats ;
    l'appelant les montre et rappelle le service avec `confirmer_doublon=True` si c'est une autre
    personne. Sous-classe de ValidationError : un formulaire peut l'afficher telle quelle."""

    def __init__(self, candidats: list[CandidatDoublon]):
        self.candidats = candidats
        super().__init__(
            [
                "Cette personne est peut-être déjà connue du portail. Vérifiez les usagers ci-dessous ; "
                "s'il s'agit d'une autre personne, confirmez-le pour l'enregistrer."
            ]
            + [c.decrire() for c in candidats],
            code="doublon",
        )


# --- Usagers ---------------------------------------------------------------------------------


def creer_usager(*, acteur: Acteur, donnees: dict[str, Any], confirmer_doublon: bool = False) -> Usager:
    """Crée un usager (avec ou sans INS) après validation complète et recherche des doublons.

    Lève `DoublonPossible` (les candidats sont alors journalisés comme consultés par l'acteur)
    sauf si `confirmer_doublon` ; les candidats écartés sont gardés dans le journal de création.
    La recherche n'est pas verrouillée : deux créations simultanées de la même personne restent
    possibles (l'unicité du matricule INS, elle, est garantie par la base).
    Le cercle de l'usager est créé dans la même transaction."""
    _verifier_champs(Usager, donnees)
    usager = Usager(**donnees)
    usager.full_clean()
    candidats = doublons_possibles(**{t: getattr(usager, t) for t in TRAITS_INS})
    if candidats and not confirmer_doublon:
        journaliser_consultation_doublons(acteur=acteur, candidats=candidats)
        raise DoublonPossible(candidats)
    from cercle.services import creer_cercle  # le cercle naît avec l'usager

    with transaction.atomic():
        usager = _enregistrer(
            usager,
            acteur=acteur,
            action="usager.creation",
            usager=usager,
            details={
                "statut_identite": usager.statut_identite,
                "avec_ins": usager.matricule_ins is not None,
                "doublons_ecartes": [str(c.usager.uuid) for c in candidats],
            },
        )
        creer_cercle(usager=usager)
    return usager


_STATUTS_PERMIS = {
    # plafond → statuts qu'on peut garder après un changement de trait
    StatutIdentite.QUALIFIEE: set(StatutIdentite),
    StatutIdentite.RECUPEREE: {StatutIdentite.PROVISOIRE, StatutIdentite.RECUPEREE},
    StatutIdentite.VALIDEE: {StatutIdentite.PROVISOIRE, StatutIdentite.VALIDEE},
    StatutIdentite.PROVISOIRE: {StatutIdentite.PROVISOIRE},
}


def modifier_identite_usager(*, acteur: Acteur, usager: Usager, donnees: dict[str, Any]) -> Usager:
    """Modifie des champs d'un usager (identité, usage, contact) en appliquant les règles INS.

    Règles (RNIV ; interop.md §1.2 et §12) :
    - identité douteuse ou fictive → statut provisoire (et jamais les deux à la fois) ;
    - récupérée ou qualifiée → matricule, OID et date d'interrogation INSi requis (contrôles du modèle) ;
    - changer un trait INS ou le matricule/OID d'une identité validée, récupérée ou qualifiée
      invalide ce qui avait été vérifié. Le statut retombe au niveau que prouve la modification
      elle-même : nouvel appel INSi (nouvelle `date_interrogation_insi`) et pièce d'identité
      contrôlée (`justificatif_identite` fourni dans `donnees`) → statut demandé ; appel INSi seul →
      au plus récupérée ; pièce seule → au plus validée ; rien → provisoire. Le matricule est
      conservé mais ne sort plus du portail (`matricule_exportable` exige le statut qualifiée).

    Journalise « usager.identite.modification » avec les noms des champs changés (pas les valeurs)
    et le statut avant/après. Habilitation (domaine « identite ») : à venir avec le cercle."""
    _verifier_champs(Usager, donnees)
    with transaction.atomic():
        actuel = Usager.objects.select_for_update().get(pk=usager.pk)
        attributs = _champs_modifiables(Usager)
        avant = {champ: getattr(actuel, attribut) for champ, attribut in attributs.items()}
        for champ, valeur in donnees.items():
            setattr(actuel, champ, valeur)
        actuel.clean_fields()  # normalise les identifiants avant de comparer
        changes = sorted(c for c, attribut in attributs.items() if getattr(actuel, attribut) != avant[c])
        figes = [c for c in changes if c in actuel.champs_figes]
        if figes:
            raise ValidationError(
                {
                    c: f"{Usager._meta.get_field(c).verbose_name.capitalize()} : {MESSAGE_CHAMP_FIGE}"
                    for c in figes
                }
            )
        statut_avant = avant["statut_identite"]
        traits_changes = [c for c in changes if c in TRAITS_INS + CHAMPS_MATRICULE]
        abaisse = False
        if traits_changes and statut_avant != StatutIdentite.PROVISOIRE:
            nouvel_insi = "date_interrogation_insi" in changes and actuel.date_interrogation_insi is not None
            piece = bool(donnees.get("justificatif_identite"))
            if nouvel_insi and piece:
                plafond = StatutIdentite.QUALIFIEE
            elif nouvel_insi:
                plafond = StatutIdentite.RECUPEREE
            elif piece:
                plafond = StatutIdentite.VALIDEE
            else:
                plafond = StatutIdentite.PROVISOIRE
            if actuel.statut_identite not in _STATUTS_PERMIS[plafond]:
                actuel.statut_identite = plafond
                abaisse = True
        actuel.full_clean()  # peut encore forcer le statut provisoire (identité douteuse ou fictive)
        changes = sorted(c for c, attribut in attributs.items() if getattr(actuel, attribut) != avant[c])
        if not changes:
            return actuel
        actuel.save()
        journaliser(
            acteur=acteur,
            action="usager.identite.modification",
            objet=actuel,
            usager=actuel,
            details={
                "champs": changes,
                "statut_avant": statut_avant,
                "statut_apres": actuel.statut_identite,
                "statut_abaisse": abaisse,
            },
        )
    return actuel


def relier_compte_usager(
    *, acteur: Acteur, usager: Usager, compte, champs_figes: tuple[str, ...] = (), source: str = ""
) -> Usager:
    """Relie un compte de connexion à l'usager lui-même et fige les champs que la source (un
    fournisseur d'identité) a confirmés. Refus si un autre compte est déjà relié."""
    with transaction.atomic():
        actuel = Usager.objects.select_for_update().get(pk=usager.pk)
        if actuel.compte_id not in (None, compte.pk):
            raise ValidationError(
                "Usager : un autre compte est déjà relié à cette personne.", code="deja_relie"
            )
        actuel.compte = compte
        actuel.champs_figes = sorted(set(actuel.champs_figes) | set(champs_figes))
        actuel.save(update_fields=["compte", "champs_figes", "modifie_le"])
        journaliser(
            acteur=acteur,
            action="usager.compte.liaison",
            objet=actuel,
            usager=actuel,
            details={"source": source, "champs_figes": actuel.champs_figes},
        )
    return actuel


def ajouter_proche(*, acteur: Acteur, usager: Usager, donnees: dict[str, Any]) -> Proche:
    """Relie un proche (aidant, famille, représentant légal…) à un usager, pour une période.
    Habilitation (gestion du cercle de l'usager) : à venir avec le cercle."""
    _verifier_champs(Proche, donnees)
    proche = Proche(usager=usager, **{k: v for k, v in donnees.items() if k != "usager"})
    proche.full_clean()
    return _enregistrer(
        proche,
        acteur=acteur,
        action="proche.ajout",
        usager=usager,
        details={"lien": proche.lien, "mesure_protection": proche.mesure_protection},
    )


# --- Structures et professionnels ------------------------------------------------------------


def creer_structure(*, acteur: Acteur, donnees: dict[str, Any]) -> Structure:
    """Crée une structure (FINESS EG/EJ vérifiés ; clé non vérifiable pour la Corse)."""
    _verifier_champs(Structure, donnees)
    structure = Structure(**donnees)
    structure.full_clean()
    return _enregistrer(
        structure,
        acteur=acteur,
        action="structure.creation",
        details={
            "finess_eg": structure.finess_eg or "",
            "finess_cle_verifiee": structure.finess_cle_verifiee,
        },
    )


def creer_professionnel(
    *, acteur: Acteur, donnees: dict[str, Any], source_officielle: bool = False
) -> Professionnel:
    """Crée un professionnel. `source_officielle` : l'idNat_PS vient de Pro Santé Connect ou de
    l'extraction de l'Annuaire Santé ; il fait foi, seul son format est vérifié (les identités de
    test PSC n'ont pas toujours une clé valide) et une clé fausse est signalée dans le journal."""
    _verifier_champs(Professionnel, donnees)
    professionnel = Professionnel(**donnees)
    cle_fausse = False
    if source_officielle and professionnel.idnat_ps:
        professionnel.full_clean(exclude=["idnat_ps"])  # compacte aussi l'idNat_PS
        idnat = professionnel.idnat_ps
        try:
            identifiants.valider_idnat_ps(idnat, verifier_cle=False)
        except ValidationError as erreur:
            raise ValidationError({"idnat_ps": erreur.messages}) from erreur
        try:
            identifiants.valider_idnat_ps(idnat)
        except ValidationError:
            cle_fausse = True
        if Professionnel.objects.filter(idnat_ps=idnat).exists():
            raise ValidationError(
                {"idnat_ps": "Identifiant national (idNat_PS) : un professionnel porte déjà cet identifiant."}
            )
    else:
        professionnel.full_clean()
    return _enregistrer(
        professionnel,
        acteur=acteur,
        action="professionnel.creation",
        details={"source_officielle": source_officielle, "cle_idnat_ps_invalide": cle_fausse},
    )


def modifier_professionnel(
    *, acteur: Acteur, professionnel: Professionnel, donnees: dict[str, Any]
) -> Professionnel:
    """Modifie un professionnel (ex. rattachement à son compte à la première connexion Pro Santé
    Connect) ; journalise les champs changés, rien s'il n'y a pas de changement."""
    _verifier_champs(Professionnel, donnees)
    attributs = _champs_modifiables(Professionnel)
    changes = sorted(
        n for n, v in donnees.items() if getattr(professionnel, attributs[n]) != _valeur_brute(v)
    )
    if not changes:
        return professionnel
    for nom, valeur in donnees.items():
        setattr(professionnel, nom, valeur)
    professionnel.full_clean()
    return _enregistrer(
        professionnel, acteur=acteur, action="professionnel.modification", details={"champs": changes}
    )


def _valeur_brute(valeur):
    return valeur.pk if hasattr(valeur, "_meta") else valeur


def creer_exercice(
    *,
    acteur: Acteur,
    professionnel: Professionnel,
    structure: Structure | None,
    donnees: dict[str, Any] | None = None,
) -> Exercice:
    """Ajoute une situation d'exercice d'un professionnel (dans une structure, ou sans structure
    pour un libéral). Habilitation (gestion de la structure) : à venir avec le cercle."""
    donnees = dict(donnees or {})
    _verifier_champs(Exercice, donnees)
    donnees.pop("professionnel", None)
    donnees.pop("structure", None)
    exercice = Exercice(professionnel=professionnel, structure=structure, **donnees)
    if not exercice.profession_code:
        exercice.profession_code = professionnel.profession_code
        exercice.profession_libelle = exercice.profession_libelle or professionnel.profession_libelle
    exercice.full_clean()
    return _enregistrer(
        exercice,
        acteur=acteur,
        action="exercice.creation",
        details={
            "professionnel": str(professionnel.uuid),
            "structure": str(structure.uuid) if structure is not None else None,
        },
    )
