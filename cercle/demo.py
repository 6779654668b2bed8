"""Cercles de démonstration (territoire « Val-Fictif », coordination/personnes/demo.py).

Chaque usager de la démo reçoit un cercle réaliste, écrit par les vrais services du cercle (droits
présumés de l'équipe de soins, consentements, journal) : structures qui l'accompagnent,
professionnels, proches avec quelques droits accordés ; et, selon les cas, la gestion du cercle
confiée à la coordinatrice du DAC, une demande d'adhésion et une délégation en attente, une
proposition venue de l'historique de remboursement, un ancien membre.

Idempotent, UUID fixes : le chargement avance par étapes nommées (« marcelle:pro:nguyen »…) ;
pendant une étape, les lignes du cercle reçoivent des UUID déterministes (uuid5 de la démo, nom de
l'étape, rang) ; une étape dont la première ligne existe déjà est sautée."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from cercle import services
from cercle.roles import Role
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.personnes.demo import PROFESSIONNELS, USAGERS, Bilan, uuid_demo
from coordination.personnes.models import Structure


@dataclass(frozen=True)
class CercleDemo:
    usager: str  # clé d'un UsagerDemo
    structures: tuple[str, ...]
    professionnels: tuple[tuple[str, str | None, str], ...]  # (professionnel, structure ou None, rôle)
    proches: tuple[str, ...] = ()  # clés de ProcheDemo
    droits: tuple[tuple[str, str, int], ...] = ()  # (proche ou professionnel, domaine, niveau) accordés
    consentant: str = ""  # clé du ProcheDemo représentant légal qui agit ; vide : l'usager lui-même
    gestion_dac: bool = False  # gestion du cercle confiée à la référente de parcours du DAC
    ancien: tuple[str, str | None, str] | None = None  # professionnel sorti du cercle
    proposition: str = ""  # professionnel vu dans l'historique de remboursement
    demande: tuple[str, str | None, str] | None = None  # demande d'adhésion en attente
    delegation: tuple[str, str, str, str] | None = None  # (délégant, assistant, structure, domaine)


R = Role
_DAC = ("giraud", "dac", R.REFERENT_PARCOURS)

CERCLES: tuple[CercleDemo, ...] = (
    CercleDemo(
        "marcelle", ("ssiad", "saad"),
        (("nguyen", "ssiad", R.IDE), ("diallo", "ssiad", R.AIDE_SOIGNANT),
         ("mercier", "saad", R.AUXILIAIRE_VIE), ("rousseau", None, R.MEDECIN_TRAITANT), _DAC),
        proches=("sophie-marcelle",),
        droits=(("sophie-marcelle", "cahier", 1), ("sophie-marcelle", "agenda", 2),
                ("sophie-marcelle", "ppa", 2), ("nguyen", "ppa", 2)),
        gestion_dac=True, ancien=("lemaire", None, R.PROFESSIONNEL_SANTE), proposition="fabre",
        demande=("dubois", "ehpad", R.MEDECIN), delegation=("giraud", "roche", "dac", "cercle"),
    ),
    CercleDemo(
        "robert", ("ssiad",),
        (("nguyen", "ssiad", R.IDE), ("diallo", "ssiad", R.AIDE_SOIGNANT),
         ("rousseau", None, R.MEDECIN_TRAITANT), _DAC),
        proches=("sophie-robert",), droits=(("sophie-robert", "cahier", 1),), gestion_dac=True,
    ),
    CercleDemo(
        "bernard", ("ssiad", "saad"),
        (("nguyen", "ssiad", R.IDE), ("fontaine", "saad", R.DIRECTION), ("mercier", "saad", R.AUXILIAIRE_VIE),
         ("rousseau", None, R.MEDECIN_TRAITANT), ("fabre", None, R.KINE), _DAC),
        proches=("monique",), droits=(("monique", "agenda", 1), ("fabre", "cahier", 2)), gestion_dac=True,
        ancien=("diallo", "ssiad", R.AIDE_SOIGNANT), proposition="lemaire",
        demande=("blanchard", "mas", R.ERGOTHERAPEUTE), delegation=("rousseau", "roche", "dac", "agenda"),
    ),
    CercleDemo("alice", ("saad",), (("mercier", "saad", R.AUXILIAIRE_VIE),)),
    CercleDemo(
        "jeanne", ("ehpad",),
        (("caron", "ehpad", R.DIRECTION), ("dubois", "ehpad", R.MEDECIN), ("morel", "ehpad", R.IDE),
         ("legrand", "ehpad", R.AIDE_SOIGNANT)),
        proches=("paul",), consentant="paul", ancien=("lemaire", None, R.PROFESSIONNEL_SANTE),
        proposition="rousseau", demande=("fabre", None, R.KINE),
        delegation=("dubois", "legrand", "ehpad", "cahier"),
    ),
    CercleDemo(
        "lucien", ("ehpad",), (("dubois", "ehpad", R.MEDECIN), ("morel", "ehpad", R.IDE)),
        proches=("didier",), droits=(("didier", "cahier", 1),),
    ),
    CercleDemo("yvette", ("ehpad",), (("morel", "ehpad", R.IDE),), proches=("gerard",)),
    CercleDemo(
        "lucas", ("ime",),
        (("colin", "ime", R.DIRECTION), ("haddad", "ime", R.EDUCATEUR), ("perrin", "ime", R.PSYCHOLOGUE)),
        proches=("claire", "julien"), consentant="claire", ancien=("roy", "sessad", R.EDUCATEUR),
        demande=("gauthier", "sessad", R.AUTRE_PROFESSIONNEL),
    ),
    CercleDemo(
        "ines", ("sessad",), (("roy", "sessad", R.EDUCATEUR), ("gauthier", "sessad", R.AUTRE_PROFESSIONNEL)),
        proches=("mehdi",), consentant="mehdi",
    ),
    CercleDemo(
        "theo", ("ime",), (("haddad", "ime", R.EDUCATEUR),), proches=("aurelie",), consentant="aurelie"
    ),
    CercleDemo(
        "nicolas", ("mas",),
        (("brun", "mas", R.MEDECIN), ("blanchard", "mas", R.ERGOTHERAPEUTE), ("chevalier", "mas", R.IDE),
         ("marchand", "mas", R.AES)),
        proches=("martine",), consentant="martine",
    ),
    CercleDemo("ana", ("eam",), (("boyer", "eam", R.AES),)),
)  # fmt: skip

_RPPS = {p.cle: p.rpps for p in PROFESSIONNELS}


def _modeles():
    from cercle.models import Cercle, Consentement, Delegation, DemandeAdhesion, Habilitation, Membre

    return (Cercle, Membre, Habilitation, Consentement, Delegation, DemandeAdhesion)


@contextmanager
def _uuids_fixes(etape: str):
    """Pendant l'étape, chaque ligne du cercle créée reçoit uuid5(démo, « modèle:étape:rang »)."""
    rang = itertools.count()
    champs = [modele._meta.get_field("uuid") for modele in _modeles()]
    for champ in champs:
        nature = champ.model._meta.model_name
        # `_get_default` est mémorisé par Django : on le remplace le temps de l'étape.
        champ._get_default = lambda nature=nature: uuid_demo(nature, f"{etape}:{next(rang)}")
    try:
        yield
    finally:
        for champ in champs:
            del champ._get_default


def _deja_faite(etape: str) -> bool:
    return any(
        modele.objects.filter(uuid=uuid_demo(modele._meta.model_name, f"{etape}:0")).exists()
        for modele in _modeles()
    )


def charger_cercles(bilan: Bilan) -> None:
    """Écrit les cercles de démonstration par les services (dans la transaction de `charger_demo`)."""
    from coordination.personnes.models import Proche, Usager

    donnees_usagers = {u.cle: u for u in USAGERS}
    for c in CERCLES:
        usager = Usager.objects.get(uuid=uuid_demo("usager", c.usager))
        if c.consentant:
            proche = Proche.objects.select_related("usager").get(uuid=uuid_demo("proche", c.consentant))
            moi = Acteur(TypeActeur.PROCHE, proche.compte, proche=proche, usager=usager)
        else:
            moi = Acteur(TypeActeur.USAGER, usager.compte, usager=usager)
        u = c.usager
        _etape(bilan, f"{u}:cercle", services.creer_cercle, usager=usager)
        commun = {"acteur": moi, "usager": usager}
        for s in c.structures:
            structure = Structure.objects.get(uuid=uuid_demo("structure", s))
            _etape(
                bilan,
                f"{u}:structure:{s}",
                services.ajouter_membre,
                **commun,
                type="structure",
                structure=structure,
            )
        for pro, structure, role in c.professionnels:
            _etape(
                bilan,
                f"{u}:pro:{pro}",
                services.ajouter_membre,
                **commun,
                type="professionnel",
                exercice=_exercice(pro, structure),
                role=role,
            )
        for cle in c.proches:
            proche = Proche.objects.get(uuid=uuid_demo("proche", cle))
            _etape(
                bilan, f"{u}:proche:{cle}", services.ajouter_membre, **commun, type="proche", proche=proche
            )
        membres = _membres_ouverts(usager)
        for qui, domaine, niveau in c.droits:
            _etape(
                bilan,
                f"{u}:droit:{qui}:{domaine}",
                services.accorder,
                acteur=moi,
                membre=membres[qui],
                domaine=domaine,
                niveau=niveau,
            )
        if c.gestion_dac:
            _etape(
                bilan,
                f"{u}:gestion",
                services.accorder,
                acteur=moi,
                membre=membres["giraud"],
                domaine="cercle",
                niveau=3,
            )
        if c.ancien:
            pro, structure, role = c.ancien
            _etape(
                bilan, f"{u}:ancien:{pro}", _ancien, **commun, exercice=_exercice(pro, structure), role=role
            )
        if c.proposition:
            contenu = f"rpps;date\n{_RPPS[c.proposition]};2026-09-15\n".encode()
            _etape(
                bilan,
                f"{u}:historique",
                services.importer_historique,
                **commun,
                contenu=contenu,
                nom_fichier="historique-demo.csv",
            )
        if c.demande:
            pro, structure, role = c.demande
            donnees = donnees_usagers[u]
            _etape(
                bilan,
                f"{u}:demande",
                services.demander_adhesion,
                acteur=_acteur_pro(pro, structure),
                nom_naissance=donnees.nom_naissance,
                prenom=donnees.prenoms_naissance.split()[0],
                date_naissance=donnees.date_naissance,
                role=role,
                message="Bonjour, je souhaite rejoindre le cercle pour coordonner mon intervention.",
            )
        if c.delegation:
            delegant, assistant, structure, domaine = c.delegation
            structure_delegant = next(s for p, s, _ in c.professionnels if p == delegant)
            _etape(
                bilan,
                f"{u}:delegation",
                services.proposer_delegation,
                acteur=_acteur_pro(delegant, structure_delegant),
                usager=usager,
                assistant=_exercice(assistant, structure),
                domaine=domaine,
                niveau=1,
                date_fin=timezone.localdate() + timedelta(days=180),
            )


def _etape(bilan: Bilan, nom: str, fonction, **arguments) -> None:
    if _deja_faite(nom):
        bilan.noter("étape des cercles", "inchanges")
        return
    with _uuids_fixes(nom):
        fonction(**arguments)
    bilan.noter("étape des cercles", "crees")


def _exercice(pro: str, structure: str | None):
    from coordination.personnes.models import Exercice

    cle = f"{pro}:{structure or 'liberal'}"
    return Exercice.objects.select_related("professionnel", "structure").get(uuid=uuid_demo("exercice", cle))


def _acteur_pro(pro: str, structure: str | None) -> Acteur:
    exercice = _exercice(pro, structure)
    return Acteur(TypeActeur.PROFESSIONNEL, exercice.professionnel.compte, exercice=exercice)


def _ancien(*, acteur: Acteur, usager, exercice, role: str) -> None:
    """Un professionnel qui a accompagné l'usager, puis a quitté le cercle."""
    membre = services.ajouter_membre(
        acteur=acteur, usager=usager, type="professionnel", exercice=exercice, role=role
    )
    services.retirer_membre(acteur=acteur, membre=membre, motif="fin_accompagnement")


def _membres_ouverts(usager) -> dict:
    """Membres ouverts du cercle, par clé de démo (professionnel, proche ou structure)."""
    from cercle.models import Membre

    cles = {}
    for p in PROFESSIONNELS:
        cles[("professionnel", uuid_demo("professionnel", p.cle))] = p.cle
    resultat = {}
    for membre in Membre.objects.filter(cercle__usager=usager, date_sortie__isnull=True).select_related(
        "professionnel", "proche", "structure"
    ):
        if membre.professionnel_id:
            cle = cles.get(("professionnel", membre.professionnel.uuid))
        elif membre.proche_id:
            cle = _cle_proche(membre.proche.uuid)
        else:
            cle = None
        if cle:
            resultat[cle] = membre
    return resultat


def _cle_proche(uuid_proche) -> str | None:
    from coordination.personnes.demo import PROCHES

    for p in PROCHES:
        if uuid_demo("proche", p.cle) == uuid_proche:
            return p.cle
    return None
