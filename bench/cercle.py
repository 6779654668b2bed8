"""Cercles synthétiques pour les bancs d'essai, écrits par COPY à la suite des données de
`bench/generer.py` (usagers, professionnels, structures, situations d'exercice, proches).

Par usager (~8 présences, soit ~800 000 à l'échelle M) : la structure qui l'accompagne (3 droits
présumés), deux professionnels qui y exercent (5 droits présumés chacun), un médecin traitant
libéral (5 droits présumés), un autre professionnel sans droit, ses proches (un droit accordé, avec
son consentement), une autre personne, un ancien membre sorti. 2 % des médecins traitants
délèguent l'agenda à un assistant (délégation active, consentie).
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.db import connection

from bench.generer import _copier, _premier_id
from cercle.habilitations import DEFAUTS_PAR_ROLE
from cercle.models import (
    Cercle,
    Consentement,
    Delegation,
    Habilitation,
    Membre,
    MotifSortie,
    ObjetConsentement,
    OrigineHabilitation,
    OrigineMembre,
    QualiteConsentant,
    StatutDelegation,
    StatutMembre,
    TypeMembre,
)
from cercle.roles import Role, role_propose
from cercle.textes import VERSIONS

ENTREE = datetime.date(2025, 6, 1)


def _lire(requete: str, parametres: list | None = None) -> list[tuple]:
    with connection.cursor() as curseur:
        curseur.execute(requete, parametres or [])
        return curseur.fetchall()


def generer_cercles(graine: int = 2) -> dict[str, int]:
    """Crée les cercles des usagers qui n'en ont pas encore, avec leurs membres et leurs droits.
    Renvoie le nombre de lignes écrites par table."""
    alea = random.Random(graine)
    usagers = [u for (u,) in _lire(
        "SELECT u.id FROM personnes_usager u WHERE NOT EXISTS "
        "(SELECT 1 FROM cercle_cercle c WHERE c.usager_id = u.id) ORDER BY u.id"
    )]  # fmt: skip
    if not usagers:
        return {}
    exercices = _lire("SELECT id, professionnel_id, structure_id, profession_code FROM personnes_exercice")
    par_structure: dict[int, list[tuple]] = defaultdict(list)
    for exercice in exercices:
        if exercice[2] is not None:
            par_structure[exercice[2]].append(exercice)
    structures = sorted(par_structure)
    professionnels = [p for (p,) in _lire("SELECT id FROM personnes_professionnel ORDER BY id")]
    proches: dict[int, list[int]] = defaultdict(list)
    for proche_id, usager_id in _lire("SELECT id, usager_id FROM personnes_proche"):
        proches[usager_id].append(proche_id)

    premier_cercle = _premier_id(Cercle)
    cercles = {usager: premier_cercle + rang for rang, usager in enumerate(usagers)}
    membres: list[dict] = []
    droits: list[dict] = []
    consentements: list[dict] = []
    delegations: list[dict] = []
    id_membre, id_consentement = _premier_id(Membre), _premier_id(Consentement)
    maintenant = datetime.datetime.now(datetime.UTC)

    def membre(cercle: int, **champs) -> int:
        nonlocal id_membre
        champs.setdefault("statut", StatutMembre.ACTIF)
        champs.setdefault("date_entree", ENTREE)
        membres.append({"id": id_membre, "cercle_id": cercle, "origine": OrigineMembre.AJOUT, **champs})
        id_membre += 1
        return id_membre - 1

    def presumes(membre_id: int, role: str) -> None:
        for domaine, niveau in DEFAUTS_PAR_ROLE.get(role, {}).items():
            droits.append({"membre_id": membre_id, "domaine": domaine, "niveau": niveau,
                           "origine": OrigineHabilitation.PRESOMPTION, "date_debut": ENTREE})  # fmt: skip

    def consentement(usager: int, objet: str, texte: str) -> int:
        nonlocal id_consentement
        consentements.append({
            "id": id_consentement, "usager_id": usager, "objet": objet, "qualite": QualiteConsentant.USAGER,
            "consentant_nom": "usager fictif", "texte": texte, "texte_version": VERSIONS[objet],
            "horodatage": maintenant,
        })  # fmt: skip
        id_consentement += 1
        return id_consentement - 1

    for usager in usagers:
        cercle = cercles[usager]
        structure = structures[alea.randrange(len(structures))]
        presumes(membre(cercle, type=TypeMembre.STRUCTURE, structure_id=structure,
                        role=Role.STRUCTURE_ACCOMPAGNANTE), Role.STRUCTURE_ACCOMPAGNANTE)  # fmt: skip
        locaux = alea.sample(par_structure[structure], min(2, len(par_structure[structure])))
        for exercice_id, professionnel_id, _, profession in locaux:
            role = role_propose(type_membre=TypeMembre.PROFESSIONNEL, profession_code=profession)
            presumes(membre(cercle, type=TypeMembre.PROFESSIONNEL, professionnel_id=professionnel_id,
                            exercice_id=exercice_id, role=role), role)  # fmt: skip
        pris = {professionnel_id for _, professionnel_id, _, _ in locaux}
        medecin, autre, ancien = [p for p in alea.sample(professionnels, 6) if p not in pris][:3]
        id_medecin = membre(
            cercle, type=TypeMembre.PROFESSIONNEL, professionnel_id=medecin, role=Role.MEDECIN_TRAITANT
        )
        presumes(id_medecin, Role.MEDECIN_TRAITANT)
        membre(cercle, type=TypeMembre.PROFESSIONNEL, professionnel_id=autre, role=Role.KINE)
        membre(cercle, type=TypeMembre.PROFESSIONNEL, professionnel_id=ancien, role=Role.MEDECIN,
               statut=StatutMembre.INACTIF, date_sortie=ENTREE + datetime.timedelta(days=90),
               motif_sortie=MotifSortie.FIN_ACCOMPAGNEMENT)  # fmt: skip
        for proche in proches.get(usager, []):
            id_proche = membre(cercle, type=TypeMembre.PROCHE, proche_id=proche, role=Role.AIDANT)
            accord = consentement(usager, ObjetConsentement.OCTROI, "J'autorise…")
            droits.append({"membre_id": id_proche, "domaine": "cahier", "niveau": 1, "date_debut": ENTREE,
                           "origine": OrigineHabilitation.ACCORD, "consentement_id": accord})  # fmt: skip
        membre(cercle, type=TypeMembre.AUTRE, nom="VOISIN", prenoms="Fictif", role=Role.VOISIN_BENEVOLE)
        if alea.random() < 0.02:
            assistant = exercices[alea.randrange(len(exercices))][0]
            delegations.append({
                "delegant_id": id_medecin, "delegataire_id": assistant, "domaine": "agenda", "niveau": 1,
                "date_debut": ENTREE, "date_fin": datetime.date(2099, 12, 31),
                "statut": StatutDelegation.ACTIVE,
                "consentement_id": consentement(usager, ObjetConsentement.DELEGATION, "J'accepte…"),
            })  # fmt: skip

    for rang, droit in enumerate(droits, start=_premier_id(Habilitation)):
        droit["id"] = rang
    for rang, delegation in enumerate(delegations, start=_premier_id(Delegation)):
        delegation["id"] = rang
    return {
        "cercle_cercle": _copier(
            Cercle, ({"id": cercles[u], "usager_id": u, "date_debut": ENTREE} for u in usagers)
        ),
        "cercle_consentement": _copier(Consentement, iter(consentements)),
        "cercle_membre": _copier(Membre, iter(membres)),
        "cercle_habilitation": _copier(Habilitation, iter(droits)),
        "cercle_delegation": _copier(Delegation, iter(delegations)),
    }
