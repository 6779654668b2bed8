"""La politique d'accès de tout le portail : qui peut lire, écrire ou gérer quoi dans le dossier
de quel usager. Tout le reste la consulte ; aucune vue, API ou tâche ne décide seule.

Règles (docs/decisions/0007-habilitations.md) :
- l'usager a tous les droits sur son dossier ; son représentant légal (mesure avec représentation,
  en cours) aussi, et agit pour lui ;
- être membre du cercle ne donne aucun droit : seuls comptent les droits explicites
  (`Habilitation`) d'un membre *actif* d'un cercle *ouvert*, en vigueur aujourd'hui ;
- un professionnel cumule ses droits de membre (pour la situation d'exercice où il agit, ou
  toutes si sa présence n'en précise pas) et ceux de la structure où il agit si elle est membre ;
- le logiciel d'une structure (DUI, jeton OAuth2) a les droits de sa structure si elle est membre ;
- un assistant reçoit par délégation au plus ce que le délégant détient lui-même (droits directs
  du délégant, relus à chaque décision) ; une délégation ne se redélègue pas ;
- le niveau d'un domaine est le plus haut des droits applicables : aucun < lecture < écriture < gestion.

API : `peut(acteur, usager, action, domaine)`, `niveaux(acteur, usager)`,
`usagers_visibles(acteur, domaine=None, action="lire")`, `pourquoi(acteur, usager, domaine)`.
Une décision coûte au plus une requête par usager et par requête HTTP (mémo sur l'acteur).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from cercle.models import (
    Delegation,
    Domaine,
    Habilitation,
    Membre,
    Niveau,
    OrigineHabilitation,
    StatutCercle,
    StatutDelegation,
    StatutMembre,
    TypeMembre,
)
from cercle.roles import Role
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.personnes.models import Usager

ACTIONS = {"lire": Niveau.LECTURE, "ecrire": Niveau.ECRITURE, "gerer": Niveau.GESTION}
DOMAINES = tuple(Domaine.values)
TOUT = dict.fromkeys(DOMAINES, Niveau.GESTION)
RIEN = dict.fromkeys(DOMAINES, Niveau.AUCUN)

L, E = Niveau.LECTURE, Niveau.ECRITURE

# Présomption de l'équipe de soins (CSP L1110-4, L1110-12) : droits écrits à l'entrée d'un
# professionnel venu d'une structure qui accompagne l'usager (ou du médecin traitant), et à
# l'entrée d'une structure. Une structure peut s'en écarter (`DroitParDefaut`). Jamais de gestion.
_SOIN = {"cercle": L, "cahier": E, "ppa": L, "agenda": E, "identite": L}
_ACCOMPAGNEMENT = {"cercle": L, "cahier": E, "ppa": L, "agenda": E, "identite": L}
DEFAUTS_PAR_ROLE: dict[str, dict[str, int]] = {
    Role.MEDECIN_TRAITANT: _SOIN,
    Role.REFERENT_PARCOURS: {"cercle": L, "cahier": E, "ppa": E, "agenda": E, "identite": L},
    Role.MEDECIN: _SOIN,
    Role.IDE: _SOIN,
    Role.AIDE_SOIGNANT: _SOIN,
    Role.KINE: _SOIN,
    Role.ERGOTHERAPEUTE: _SOIN,
    Role.PHARMACIEN: {"cercle": L, "cahier": L, "identite": L},
    Role.PROFESSIONNEL_SANTE: _SOIN,
    Role.AES: _ACCOMPAGNEMENT,
    Role.AUXILIAIRE_VIE: {"cercle": L, "cahier": E, "agenda": L, "identite": L},
    Role.EDUCATEUR: _ACCOMPAGNEMENT,
    Role.PSYCHOLOGUE: {"cercle": L, "cahier": E, "ppa": L, "agenda": L},
    Role.TRAVAILLEUR_SOCIAL: {"cercle": L, "cahier": L, "ppa": L, "agenda": L, "identite": L},
    Role.DIRECTION: {"cercle": L, "cahier": L, "ppa": E, "agenda": L, "identite": L},
    Role.AUTRE_PROFESSIONNEL: {"cercle": L, "agenda": L},
    Role.STRUCTURE_ACCOMPAGNANTE: {"cercle": L, "cahier": L, "agenda": L},
}


def niveau_requis(action: str) -> int:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"Action inconnue « {action} » (attendu : {', '.join(ACTIONS)}).") from None


def _verifier_domaine(domaine: str) -> None:
    if domaine not in DOMAINES:
        raise ValueError(f"Domaine inconnu « {domaine} » (attendu : {', '.join(DOMAINES)}).")


# --- Filtres communs --------------------------------------------------------------------------


def _en_vigueur(jour: date, prefixe: str = "") -> Q:
    """Droit non révoqué, commencé, pas encore fini (date de fin incluse)."""
    return Q(**{f"{prefixe}revoquee_le__isnull": True, f"{prefixe}date_debut__lte": jour}) & (
        Q(**{f"{prefixe}date_fin__isnull": True}) | Q(**{f"{prefixe}date_fin__gte": jour})
    )


def _membre_actif(prefixe: str) -> Q:
    return Q(**{f"{prefixe}statut": StatutMembre.ACTIF, f"{prefixe}cercle__statut": StatutCercle.ACTIF})


def presences_de(acteur: Acteur, prefixe: str = "membre__") -> Q | None:
    """Les présences dont l'acteur tient ses droits directs (sans les délégations), en filtre sur
    `Membre` (préfixe "") ou à travers une relation (« membre__ ») ; None : aucune."""
    if acteur.type == TypeActeur.PROFESSIONNEL:
        exercice = acteur.exercice
        personne = Q(
            **{
                f"{prefixe}type": TypeMembre.PROFESSIONNEL,
                f"{prefixe}professionnel_id": exercice.professionnel_id,
            }
        ) & (Q(**{f"{prefixe}exercice__isnull": True}) | Q(**{f"{prefixe}exercice_id": exercice.pk}))
        if exercice.structure_id is None:
            return personne
        return personne | Q(
            **{f"{prefixe}type": TypeMembre.STRUCTURE, f"{prefixe}structure_id": exercice.structure_id}
        )
    if acteur.type == TypeActeur.PROCHE:
        return Q(**{f"{prefixe}type": TypeMembre.PROCHE, f"{prefixe}proche_id": acteur.proche.pk})
    if acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        # Le logiciel d'une structure (DUI) agit avec les droits de sa structure, si elle est membre.
        return Q(
            **{f"{prefixe}type": TypeMembre.STRUCTURE, f"{prefixe}structure_id": acteur.structure_logiciel.pk}
        )
    return None


def _representant_en_titre(acteur: Acteur, jour: date) -> bool:
    proche = acteur.proche
    return (
        proche is not None
        and proche.represente_legalement
        and proche.date_debut <= jour
        and (proche.date_fin is None or proche.date_fin >= jour)
    )


def est_titulaire(acteur: Acteur, usager: Usager) -> bool:
    """L'usager lui-même, ou son représentant légal en titre : ceux qui consentent pour l'usager."""
    if acteur.type == TypeActeur.USAGER:
        return acteur.usager is not None and acteur.usager.pk == usager.pk
    if acteur.type == TypeActeur.PROCHE:
        return acteur.proche.usager_id == usager.pk and _representant_en_titre(acteur, timezone.localdate())
    return False


def agit_pour_l_usager(acteur: Acteur, usager: Usager) -> bool:
    """Un proche (aidant, représentant…) qui agit dans le dossier de l'usager : journalisé « au nom de »."""
    return acteur.type == TypeActeur.PROCHE and acteur.proche.usager_id == usager.pk


# --- Décision ---------------------------------------------------------------------------------


def _sans_requete(acteur: Acteur, usager_id: int, jour: date) -> dict[str, int] | None:
    """La décision quand elle ne dépend pas des tables du cercle ; None s'il faut les lire."""
    if acteur.type == TypeActeur.SYSTEME:
        return dict(TOUT)
    if acteur.type == TypeActeur.USAGER:
        return dict(TOUT) if acteur.usager is not None and acteur.usager.pk == usager_id else dict(RIEN)
    if acteur.type == TypeActeur.PROCHE and acteur.proche.usager_id != usager_id:
        return dict(RIEN)
    if acteur.type == TypeActeur.PROCHE and _representant_en_titre(acteur, jour):
        return dict(TOUT)
    if presences_de(acteur) is None:
        return dict(RIEN)
    return None


def _calculer(acteur: Acteur, usager_ids: list[int], jour: date) -> dict[int, dict[str, int]]:
    """Niveaux de l'acteur pour plusieurs usagers, en une requête (droits directs UNION délégations)."""
    resultats = {usager_id: dict(RIEN) for usager_id in usager_ids}
    directs = (
        Habilitation.objects.filter(_en_vigueur(jour), _membre_actif("membre__"), presences_de(acteur))
        .filter(membre__cercle__usager_id__in=usager_ids)
        .order_by()
        .values_list("membre__cercle__usager_id", "domaine", "niveau")
    )
    requete = directs
    if acteur.type == TypeActeur.PROFESSIONNEL:
        # LEAST ignore les NULL en PostgreSQL : sans droit du délégant, le niveau doit valoir 0.
        detenu = (
            Habilitation.objects.filter(
                _en_vigueur(jour), membre_id=OuterRef("delegant_id"), domaine=OuterRef("domaine")
            )
            .order_by()
            .values("niveau")[:1]
        )
        delegues = (
            Delegation.objects.filter(
                _membre_actif("delegant__"),
                statut=StatutDelegation.ACTIVE,
                delegataire_id=acteur.exercice.pk,
                delegant__cercle__usager_id__in=usager_ids,
                date_debut__lte=jour,
                date_fin__gte=jour,
            )
            .annotate(
                effectif=Least("niveau", Coalesce(Subquery(detenu, output_field=IntegerField()), Value(0)))
            )
            .order_by()
            .values_list("delegant__cercle__usager_id", "domaine", "effectif")
        )
        requete = directs.union(delegues, all=True)
    for usager_id, domaine, niveau in requete:
        resultat = resultats[usager_id]
        if niveau > resultat[domaine]:
            resultat[domaine] = niveau
    return resultats


def niveaux_de_plusieurs(acteur: Acteur, usagers: list) -> dict[int, dict[str, int]]:
    """Niveaux de l'acteur pour une page d'usagers (instances ou identifiants) : une requête au plus
    pour toute la page, mémorisée (les `peut()` suivants de la requête n'en coûtent plus)."""
    jour = timezone.localdate()
    ids = [u if isinstance(u, int) else u.pk for u in usagers]
    a_lire = []
    for usager_id in ids:
        cle = ("niveaux", usager_id, jour)
        if cle in acteur.memo:
            continue
        immediat = _sans_requete(acteur, usager_id, jour)
        if immediat is None:
            a_lire.append(usager_id)
        else:
            acteur.memo[cle] = immediat
    if a_lire:
        for usager_id, resultat in _calculer(acteur, a_lire, jour).items():
            acteur.memo[("niveaux", usager_id, jour)] = resultat
    return {usager_id: acteur.memo[("niveaux", usager_id, jour)] for usager_id in ids}


def niveaux(acteur: Acteur, usager: Usager | int) -> dict[str, int]:
    """Niveau de l'acteur dans chaque domaine du dossier de `usager` (au plus une requête, mémorisée
    sur l'acteur pour la durée de la requête HTTP)."""
    usager_id = usager if isinstance(usager, int) else usager.pk
    return niveaux_de_plusieurs(acteur, [usager_id])[usager_id]


def oublier(acteur: Acteur) -> None:
    """Après un changement de droits dans la même requête : les décisions seront recalculées."""
    acteur.memo.clear()


def peut(acteur: Acteur | None, usager: Usager | int, action: str, domaine: str) -> bool:
    """Vrai si `acteur` peut `action` (« lire », « ecrire », « gerer ») dans `domaine` du dossier."""
    _verifier_domaine(domaine)
    requis = niveau_requis(action)
    if acteur is None:
        return False
    return niveaux(acteur, usager)[domaine] >= requis


# --- Listes -----------------------------------------------------------------------------------


def usagers_visibles(
    acteur: Acteur | None, domaine: str | None = None, action: str = "lire"
) -> QuerySet[Usager]:
    """Les usagers sur le dossier desquels l'acteur a au moins `action` dans `domaine` (dans
    n'importe quel domaine si `domaine` est None). Une seule requête, filtrable et paginable."""
    if domaine is not None:
        _verifier_domaine(domaine)
    requis = niveau_requis(action)
    if acteur is None:
        return Usager.objects.none()
    if acteur.type == TypeActeur.SYSTEME:
        return Usager.objects.all()
    if acteur.type == TypeActeur.USAGER:
        return Usager.objects.filter(pk=acteur.usager.pk) if acteur.usager else Usager.objects.none()
    jour = timezone.localdate()
    if acteur.type == TypeActeur.PROCHE and _representant_en_titre(acteur, jour):
        return Usager.objects.filter(pk=acteur.proche.usager_id)
    presences = presences_de(acteur)
    if presences is None:
        return Usager.objects.none()
    du_domaine = Q(domaine=domaine) if domaine else Q()
    # Les usagers par leurs identifiants (droits directs UNION délégations) plutôt qu'un EXISTS par
    # usager : une semi-jointure sur quelques dizaines d'identifiants, pas un parcours des usagers.
    usagers_ids = (
        Habilitation.objects.filter(
            _en_vigueur(jour), _membre_actif("membre__"), presences, du_domaine, niveau__gte=requis
        )
        .order_by()
        .values("membre__cercle__usager_id")
    )
    if acteur.type == TypeActeur.PROFESSIONNEL:
        detenu = Habilitation.objects.filter(
            _en_vigueur(jour),
            membre_id=OuterRef("delegant_id"),
            domaine=OuterRef("domaine"),
            niveau__gte=requis,
        )
        delegations = (
            Delegation.objects.filter(
                _membre_actif("delegant__"),
                du_domaine,
                Exists(detenu),
                statut=StatutDelegation.ACTIVE,
                delegataire_id=acteur.exercice.pk,
                niveau__gte=requis,
                date_debut__lte=jour,
                date_fin__gte=jour,
            )
            .order_by()
            .values("delegant__cercle__usager_id")
        )
        usagers_ids = usagers_ids.union(delegations, all=True)
    return Usager.objects.filter(pk__in=usagers_ids)


# --- Défauts ------------------------------------------------------------------------------------


def droits_par_defaut(membre: Membre) -> dict[str, int]:
    """Droits présumés à l'entrée d'un membre actif : {domaine: niveau} (vide pour un proche ou une
    autre personne, et pour un professionnel hors équipe de soins, qui attendent l'accord de
    l'usager). Une requête au plus (réglages de la structure)."""
    from cercle.models import DroitParDefaut

    if membre.type == TypeMembre.STRUCTURE:
        structure_id = membre.structure_id
    elif membre.type == TypeMembre.PROFESSIONNEL:
        structure_id = membre.exercice.structure_id if membre.exercice_id else None
        accompagne = (
            structure_id is not None
            and Membre.objects.filter(
                cercle_id=membre.cercle_id,
                type=TypeMembre.STRUCTURE,
                structure_id=structure_id,
                statut=StatutMembre.ACTIF,
            ).exists()
        )
        if not accompagne:
            structure_id = None
            if membre.role != Role.MEDECIN_TRAITANT:
                return {}
    else:
        return {}
    defauts = dict(DEFAUTS_PAR_ROLE.get(membre.role, {}))
    if structure_id is not None:
        for domaine, niveau in DroitParDefaut.objects.filter(
            structure_id=structure_id, role=membre.role
        ).values_list("domaine", "niveau"):
            defauts[domaine] = niveau
    return {domaine: niveau for domaine, niveau in defauts.items() if niveau > Niveau.AUCUN}


# --- Explication ------------------------------------------------------------------------------

_DOMAINE_POSSESSIF = {
    "cercle": "votre cercle",
    "cahier": "votre cahier de liaison",
    "ppa": "votre projet personnalisé",
    "agenda": "votre agenda",
    "identite": "votre identité et vos coordonnées",
}
_VERBE = {
    Niveau.LECTURE: "peut consulter",
    Niveau.ECRITURE: "peut consulter et compléter",
    Niveau.GESTION: "peut consulter, compléter et gérer",
}


def _date(jour: date) -> str:
    return jour.strftime("%d/%m/%Y")


def _jusqu_au(date_fin: date | None) -> str:
    return f", jusqu'au {_date(date_fin)} inclus" if date_fin else ", sans date de fin"


@dataclass
class Explication:
    """Décision expliquée en français simple, pour l'écran de l'usager (« vous » = l'usager)."""

    niveau: int
    phrases: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(self.phrases)


def pourquoi(acteur: Acteur, usager: Usager, domaine: str) -> Explication:
    """Pourquoi `acteur` a (ou n'a pas) accès à `domaine` du dossier de `usager`."""
    _verifier_domaine(domaine)
    jour = timezone.localdate()
    niveau = niveaux(acteur, usager)[domaine]
    quoi = _DOMAINE_POSSESSIF[domaine]
    nom = acteur.nom
    if acteur.type == TypeActeur.USAGER and acteur.usager and acteur.usager.pk == usager.pk:
        return Explication(niveau, ["C'est votre dossier : vous le consultez et le gérez entièrement."])
    if (
        acteur.type == TypeActeur.PROCHE
        and acteur.proche.usager_id == usager.pk
        and _representant_en_titre(acteur, jour)
    ):
        mesure = acteur.proche.get_mesure_protection_display()
        return Explication(
            niveau,
            [
                f"{nom} est votre représentant légal ({mesure}) : il ou elle agit pour vous "
                f"et {_VERBE[Niveau.GESTION]} {quoi}."
            ],
        )
    if acteur.type == TypeActeur.SYSTEME:
        return Explication(niveau, ["Traitement automatique du portail, journalisé."])
    presences = presences_de(acteur, prefixe="")
    if presences is None:
        return Explication(niveau, [f"{nom} ne fait pas partie de votre cercle : aucun accès."])
    membres = list(
        Membre.objects.filter(presences, cercle__usager=usager)
        .select_related("professionnel", "structure", "proche", "cercle")
        .order_by("-date_entree", "-id")
    )
    phrases: list[str] = []
    vus: set[tuple] = set()
    for membre in membres:
        cle = (membre.type, membre.professionnel_id, membre.structure_id, membre.proche_id)
        if cle in vus:  # la présence la plus récente de chaque personne suffit
            continue
        vus.add(cle)
        phrases.append(_expliquer_membre(membre, acteur, domaine, jour))
    if acteur.type == TypeActeur.PROFESSIONNEL:
        phrases += _expliquer_delegations(acteur, usager, domaine, jour)
    if not phrases:
        phrases.append(f"{nom} ne fait pas partie de votre cercle : aucun accès.")
    if niveau == Niveau.AUCUN and len(phrases) > 1:
        phrases.append(f"En tout : aucun accès à {quoi}.")
    elif niveau > Niveau.AUCUN:
        phrases.append(f"En tout : {nom} {_VERBE[niveau]} {quoi}.")
    return Explication(niveau, phrases)


def _expliquer_membre(membre: Membre, acteur: Acteur, domaine: str, jour: date) -> str:
    quoi = _DOMAINE_POSSESSIF[domaine]
    if membre.type == TypeMembre.STRUCTURE:
        sujet = f"{acteur.nom} travaille à {membre.structure.raison_sociale}, et cette structure"
    else:
        sujet = acteur.nom
    if membre.cercle.statut != StatutCercle.ACTIF:
        return f"Votre cercle est clos depuis le {_date(membre.cercle.date_fin or jour)} : plus aucun accès."
    if membre.statut == StatutMembre.INACTIF:
        return f"{sujet} a quitté votre cercle le {_date(membre.date_sortie)} : plus aucun accès depuis."
    if membre.statut == StatutMembre.PROPOSE:
        return (
            f"{sujet} est proposé pour votre cercle ({membre.get_origine_display()}) : aucun accès "
            "tant que la proposition n'est pas confirmée."
        )
    if membre.statut == StatutMembre.SUSPENDU:
        return f"La présence de {sujet} dans votre cercle est suspendue : aucun accès."
    droit = (
        Habilitation.objects.filter(membre=membre, domaine=domaine, revoquee_le__isnull=True)
        .select_related("consentement")
        .first()
    )
    if droit is None:
        derniere = (
            Habilitation.objects.filter(membre=membre, domaine=domaine).order_by("-revoquee_le").first()
        )
        if derniere is not None and derniere.revoquee_le:
            return (
                f"{sujet} fait partie de votre cercle ; son droit sur {quoi} a été retiré le "
                f"{_date(timezone.localtime(derniere.revoquee_le).date())}."
            )
        return f"{sujet} fait partie de votre cercle mais n'a aucun droit sur {quoi}."
    if droit.date_debut > jour:
        return f"{sujet} {_VERBE[droit.niveau]} {quoi} à partir du {_date(droit.date_debut)}."
    if droit.date_fin and droit.date_fin < jour:
        return f"Le droit de {sujet} sur {quoi} a pris fin le {_date(droit.date_fin)}."
    if droit.origine == OrigineHabilitation.PRESOMPTION:
        if membre.type == TypeMembre.STRUCTURE:
            motif = "par défaut, comme structure qui vous accompagne (équipe de soins)"
        elif membre.role == Role.MEDECIN_TRAITANT:
            motif = "par défaut, comme votre médecin traitant (équipe de soins)"
        else:
            motif = "par défaut, comme professionnel d'une structure qui vous accompagne (équipe de soins)"
        fin = _jusqu_au(droit.date_fin)
        return f"{sujet} {_VERBE[droit.niveau]} {quoi} {motif}{fin} ; vous pouvez le retirer."
    accord = droit.consentement
    par = (
        "vous" if accord.qualite == "usager" else f"{accord.consentant_nom} ({accord.get_qualite_display()})"
    )
    return (
        f"{sujet} {_VERBE[droit.niveau]} {quoi} : droit accordé par {par} le "
        f"{_date(timezone.localtime(accord.horodatage).date())}{_jusqu_au(droit.date_fin)}."
    )


def _expliquer_delegations(acteur: Acteur, usager: Usager, domaine: str, jour: date) -> list[str]:
    quoi = _DOMAINE_POSSESSIF[domaine]
    phrases = []
    delegations = Delegation.objects.filter(
        delegataire=acteur.exercice, delegant__cercle__usager=usager, domaine=domaine
    ).select_related("delegant__professionnel", "consentement")
    for delegation in delegations:
        delegant = delegation.delegant.nom_affiche
        if delegation.statut == StatutDelegation.EN_ATTENTE:
            phrases.append(f"{acteur.nom} attend votre accord pour assister {delegant} sur {quoi}.")
        elif (
            delegation.statut == StatutDelegation.ACTIVE
            and delegation.date_fin >= jour >= delegation.date_debut
        ):
            phrases.append(
                f"{acteur.nom} assiste {delegant} jusqu'au {_date(delegation.date_fin)} "
                "(délégation acceptée par "
                f"vous le {_date(timezone.localtime(delegation.consentement.horodatage).date())}) : au plus "
                f"« {Niveau(delegation.niveau).label} », et jamais plus que ce que {delegant} détient."
            )
        elif delegation.statut == StatutDelegation.ACTIVE and delegation.date_fin < jour:
            phrases.append(
                f"La délégation de {delegant} à {acteur.nom} a pris fin le {_date(delegation.date_fin)}."
            )
    return phrases
