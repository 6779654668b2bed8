"""Cahiers de liaison synthétiques et mesures du fil et de la recherche (scénario `cahier`).

Génération, à la suite de `bench/generer.py` (personnes) et `bench/cercle.py` (cercles), par COPY
et par lots d'usagers (chaque lot dans sa transaction : une génération interrompue reprend au
premier usager sans note ; rien n'est refait si les notes sont déjà là) :
- nombre de notes par usager très inégal : la plupart 50 à 120 (× `notes_moyennes` / 100), un
  usager sur 200 en a 10 à 50 fois plus (jusqu'à 5 000 à l'échelle M) ; ~10 millions à M ;
- phrases françaises tirées d'un vocabulaire en loi de Zipf (mots courants et rares, accents),
  30 % de transmissions ciblées (cible / données / actions / résultats) ;
- auteurs : les professionnels du cercle (70 %), le logiciel de la structure, pour un professionnel
  ou non (18 %), les proches et l'usager (12 %, notes sans restriction) ; visibilités mêlées ;
- 10 % de réponses, 3 % d'urgentes, demandes d'accusé sur 1 % des notes (la moitié accusées),
  marques de lecture des professionnels.

L'index GIN de recherche est retiré avant un gros chargement et recréé à l'identique ensuite
(`pg_get_indexdef`) : le construire d'un coup coûte bien moins que de le tenir ligne à ligne.
"""

from __future__ import annotations

import datetime
import random
import sys
import time
from collections import defaultdict

from django.db import connection, transaction

from bench.generer import _copier, _premier_id
from cahier_liaison.codes import TypeNote, Visibilite
from cahier_liaison.models import Lecture, NatureSollicitation, Note, Sollicitation, TypeAuteur

INDEX_RECHERCHE = "cahier_note_recherche_idx"
SEUIL_RETRAIT_INDEX = 200_000  # notes à écrire au-delà desquelles l'index GIN est reconstruit
FIN = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.UTC)
DUREE = datetime.timedelta(days=730)

MOMENTS = ("Ce matin", "Cet après-midi", "Ce soir", "Cette nuit", "Au lever", "Au repas de midi",
           "Pendant la toilette", "Lors de la visite", "Au coucher", "En fin de journée")  # fmt: skip
# Du plus courant au plus rare (poids 1/rang) : « repas » est partout, « érysipèle » presque nulle part.
FAITS = (
    "repas pris en entier, bon appétit", "nuit calme, sommeil réparateur", "toilette faite avec aide",
    "tension artérielle à 13/8, pouls régulier", "a refusé le repas du midi", "douleur au genou droit",
    "visite de sa fille, moment apprécié", "marche dans le couloir avec le déambulateur",
    "selles normales", "humeur triste, pleure par moments", "agitation en fin de journée",
    "chute dans la salle de bain, sans blessure apparente", "fièvre à 38,5 °C", "toux grasse",
    "hydratation insuffisante, boit peu", "pansement refait, plaie propre", "confusion au réveil",
    "rendez-vous chez le cardiologue à prévoir", "renouvellement de l'ordonnance demandé",
    "séance de kinésithérapie : équilibre meilleur", "glycémie capillaire à 1,20 g/l",
    "participation à l'atelier mémoire", "sortie au marché avec l'éducatrice", "douleurs abdominales",
    "œdème des chevilles", "rougeur au talon gauche, risque d'escarre", "vomissements après le dîner",
    "appel du médecin traitant", "prise de poids de deux kilos", "difficultés à avaler les comprimés",
    "hallucinations nocturnes", "crise d'épilepsie brève", "dysphagie aux liquides",
    "hypoglycémie à 0,55 g/l resucrée", "érysipèle de la jambe droite", "fausse route pendant le goûter",
)  # fmt: skip
POIDS_FAITS = [1 / (rang + 1) for rang in range(len(FAITS))]
SUITES = ("À surveiller.", "Famille informée.", "Transmis à l'équipe de nuit.", "RAS par ailleurs.",
          "Merci de noter vos observations.", "À revoir avec le médecin.", "")  # fmt: skip
CIBLES = ("Douleur", "Chute", "Alimentation", "Sommeil", "Comportement", "Hygiène", "Hydratation",
          "Mobilité", "Peau", "Moral")  # fmt: skip
ACTIONS = ("antalgique donné selon la prescription", "surveillance renforcée", "appel du médecin",
           "information de la famille", "matelas à air installé", "eau gélifiée proposée",
           "accompagnement à la marche", "écoute et réassurance")  # fmt: skip
RESULTATS = ("amélioration", "pas de changement", "à réévaluer demain", "douleur soulagée", "")
TYPES = (TypeNote.OBSERVATION, TypeNote.INTERVENTION, TypeNote.GENERALE, TypeNote.INSTRUCTION,
         TypeNote.DEMANDE_AVIS)  # fmt: skip
POIDS_TYPES = (45, 25, 15, 10, 5)


def _lire(requete: str, parametres: list | None = None) -> list[tuple]:
    with connection.cursor() as curseur:
        curseur.execute(requete, parametres or [])
        return curseur.fetchall()


def _phrase(alea: random.Random) -> str:
    faits = alea.choices(FAITS, POIDS_FAITS, k=alea.randint(1, 3))
    texte = f"{alea.choice(MOMENTS)}, {', '.join(faits)}."
    suite = alea.choice(SUITES)
    return f"{texte} {suite}".strip()


def nombre_de_notes(alea: random.Random, notes_moyennes: float) -> int:
    """Répartition très inégale : un usager sur 200 a 10 à 50 fois la moyenne, les autres 0,5 à 1,2."""
    if alea.random() < 0.005:
        return max(1, int(notes_moyennes * alea.uniform(10, 50)))
    return max(1, int(notes_moyennes * alea.uniform(0.5, 1.2)))


class _Monde:
    """Ce qu'il faut savoir des cercles pour écrire des notes plausibles (lu une fois)."""

    def __init__(self) -> None:
        self.pros: dict[int, list[tuple[int, int]]] = defaultdict(list)  # usager → [(membre, exercice)]
        self.proches: dict[int, list[int]] = defaultdict(list)
        self.structures: dict[int, int] = {}
        for usager, membre, exercice, proche, structure in _lire(
            "SELECT c.usager_id, m.id, m.exercice_id, m.proche_id, m.structure_id FROM cercle_membre m "
            "JOIN cercle_cercle c ON c.id = m.cercle_id WHERE m.statut = 'active'"
        ):
            if exercice is not None:
                self.pros[usager].append((membre, exercice))
            elif proche is not None:
                self.proches[usager].append(proche)
            elif structure is not None:
                self.structures[usager] = structure
        self.exercices = {
            e: (nom, qualite, structure, str(uuid_exercice))
            for e, nom, qualite, structure, uuid_exercice in _lire(
                "SELECT e.id, p.prenom_exercice || ' ' || p.nom_exercice, e.profession_libelle, "
                "e.structure_id, e.uuid FROM personnes_exercice e "
                "JOIN personnes_professionnel p ON p.id = e.professionnel_id"
            )
        }
        self.noms_proches = dict(_lire("SELECT id, prenoms || ' ' || nom FROM personnes_proche"))
        self.noms_structures = dict(_lire("SELECT id, raison_sociale FROM personnes_structure"))


def _usagers_a_remplir() -> list[tuple[int, str]]:
    """Les usagers qui ont un cercle et pas encore de note, après le dernier usager déjà rempli."""
    return _lire(
        "SELECT u.id, u.nom_naissance FROM personnes_usager u "
        "WHERE EXISTS (SELECT 1 FROM cercle_cercle c WHERE c.usager_id = u.id) "
        "AND u.id > COALESCE((SELECT max(usager_id) FROM cahier_liaison_note), 0) ORDER BY u.id"
    )


def _notes_d_un_usager(alea: random.Random, monde: _Monde, usager: int, nom_usager: str, nombre: int,
                       premier_id: int, solli: list, lectures: list) -> list[dict]:  # fmt: skip
    pros = monde.pros.get(usager, [])
    proches = monde.proches.get(usager, [])
    structure = monde.structures.get(usager)
    instants = sorted(FIN - DUREE * alea.random() for _ in range(nombre))
    notes = []
    for rang, ecrite in enumerate(instants):
        note_id = premier_id + rang
        tirage = alea.random()
        ligne = {"id": note_id, "usager_id": usager, "ecrite_le": ecrite, "cree_le": ecrite,
                 "modifie_le": ecrite,
                 "survenue_le": ecrite - datetime.timedelta(minutes=alea.randrange(240)),
                 "type": alea.choices(TYPES, POIDS_TYPES)[0], "urgente": alea.random() < 0.03}  # fmt: skip
        if tirage < 0.12 or not pros:  # un proche ou l'usager : note lue par tous
            if proches and tirage < 0.07:
                proche = alea.choice(proches)
                ligne.update(auteur_type=TypeAuteur.PROCHE, auteur_proche_id=proche,
                             auteur_nom=monde.noms_proches[proche], auteur_qualite="aidant")  # fmt: skip
            else:
                ligne.update(auteur_type=TypeAuteur.USAGER, auteur_usager_id=usager, auteur_nom=nom_usager)
            ligne["visibilite"] = Visibilite.TOUS
        else:
            _, exercice = alea.choice(pros)
            nom, qualite, structure_exercice, _ = monde.exercices[exercice]
            if tirage < 0.30 and (structure_exercice or structure):  # le DUI de la structure
                emetteur = structure_exercice if tirage < 0.20 and structure_exercice else structure
                ligne.update(auteur_type=TypeAuteur.LOGICIEL, auteur_structure_id=emetteur,
                             systeme_emetteur=f"DUI fictif {emetteur}",
                             master_identifier=f"N{note_id}")  # fmt: skip
                if emetteur == structure_exercice:
                    ligne.update(auteur_exercice_id=exercice, auteur_nom=nom, auteur_qualite=qualite)
                else:
                    ligne.update(auteur_nom=monde.noms_structures[emetteur])
            else:
                ligne.update(auteur_type=TypeAuteur.PROFESSIONNEL, auteur_exercice_id=exercice,
                             auteur_nom=nom, auteur_qualite=qualite)  # fmt: skip
            visibilite = alea.random()
            ligne["visibilite"] = (
                Visibilite.TOUS if visibilite < 0.78 else Visibilite.SANS_USAGER if visibilite < 0.92
                else Visibilite.SANTE
            )  # fmt: skip
        if alea.random() < 0.3:
            ligne.update(cible=alea.choice(CIBLES), donnees=_phrase(alea), actions=alea.choice(ACTIONS),
                         resultats=alea.choice(RESULTATS))  # fmt: skip
        else:
            ligne["texte"] = _phrase(alea)
        if rang and alea.random() < 0.10:
            ligne["reponse_a_id"] = premier_id + alea.randrange(rang)
        if pros and alea.random() < 0.01:
            accusee = alea.random() < 0.5
            solli.append({"note_id": note_id, "destinataire_id": alea.choice(pros)[0],
                          "nature": NatureSollicitation.ACCUSE, "demandee_le": ecrite,
                          "demandee_par": ligne["auteur_nom"], "accusee_le": ecrite if accusee else None,
                          "accusee_par": "professionnel fictif" if accusee else ""})  # fmt: skip
        notes.append(ligne)
    for _, exercice in pros:
        lu = instants[int(len(instants) * alea.uniform(0.7, 1.0)) - 1]
        lectures.append({"usager_id": usager, "lecteur": f"exercice:{monde.exercices[exercice][3]}",
                         "lu_jusqu_au": lu})  # fmt: skip
    return notes


def _definition_index() -> str | None:
    lignes = _lire("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX_RECHERCHE])
    return lignes[0][0] if lignes else None


def generer_notes(notes_moyennes: float = 100, graine: int = 4, usagers_par_lot: int = 1000) -> dict:
    """Écrit les cahiers des usagers qui ont un cercle et pas encore de note. Renvoie le nombre de
    lignes par table, la durée, le débit des notes et la durée de construction de l'index GIN."""
    usagers = _usagers_a_remplir()
    if not usagers:
        return {}
    # Un tirage par usager, le même à la reprise d'une génération interrompue.
    alea_de = lambda usager: random.Random(graine * 1_000_003 + usager)  # noqa: E731
    nombres = [nombre_de_notes(alea_de(usager), notes_moyennes) for usager, _ in usagers]
    debut = time.perf_counter()
    monde = _Monde()
    definition = None
    if sum(nombres) > SEUIL_RETRAIT_INDEX:
        definition = _definition_index()
        if definition:
            with connection.cursor() as curseur:
                curseur.execute(f"DROP INDEX {INDEX_RECHERCHE}")
    totaux = {"cahier_liaison_note": 0, "cahier_liaison_sollicitation": 0, "cahier_liaison_lecture": 0}
    premier_id = _premier_id(Note)
    for lot in range(0, len(usagers), usagers_par_lot):
        notes, solli, lectures = [], [], []
        for (usager, nom), nombre in zip(
            usagers[lot : lot + usagers_par_lot], nombres[lot : lot + usagers_par_lot], strict=True
        ):
            alea_usager = alea_de(usager)
            nombre_de_notes(alea_usager, notes_moyennes)
            notes += _notes_d_un_usager(alea_usager, monde, usager, nom, nombre, premier_id, solli, lectures)
            premier_id += nombre
        with transaction.atomic():
            totaux["cahier_liaison_note"] += _copier(Note, iter(notes))
            for rang, ligne in enumerate(solli, start=_premier_id(Sollicitation)):
                ligne["id"] = rang
            totaux["cahier_liaison_sollicitation"] += _copier(Sollicitation, iter(solli))
            for rang, ligne in enumerate(lectures, start=_premier_id(Lecture)):
                ligne["id"] = rang
            totaux["cahier_liaison_lecture"] += _copier(Lecture, iter(lectures))
        if lot // usagers_par_lot % 10 == 0:
            ecoule = time.perf_counter() - debut
            print(
                f"[cahier] {totaux['cahier_liaison_note']} notes en {ecoule:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    duree = time.perf_counter() - debut
    resultat = {**totaux, "generation_s": round(duree, 1),
                "notes_par_s": round(totaux["cahier_liaison_note"] / duree)}  # fmt: skip
    if definition or _definition_index() is None:
        debut_index = time.perf_counter()
        with connection.cursor() as curseur:
            curseur.execute("SET maintenance_work_mem = '1GB'")
            if connection.in_atomic_block:  # (tests) contrôles différés faits avant le CREATE INDEX
                curseur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            curseur.execute(definition or _definition_depuis_le_modele())
        resultat["index_gin_s"] = round(time.perf_counter() - debut_index, 1)
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE cahier_liaison_note, cahier_liaison_sollicitation, cahier_liaison_lecture")
    return resultat


def _definition_depuis_le_modele() -> str:
    """L'index tel que le modèle le déclare (reprise après une génération interrompue)."""
    index = next(i for i in Note._meta.indexes if i.name == INDEX_RECHERCHE)
    with connection.schema_editor(collect_sql=True) as editeur:
        return str(index.create_sql(Note, editeur))


# --- Mesures ----------------------------------------------------------------------------------------

MOTS_COURANTS = ("repas", "nuit", "toilette", "douleur", "tension", "fille", "marche", "selles")
MOTS_RARES = ("érysipèle", "dysphagie", "hypoglycémie", "épilepsie", "hallucinations", "fausse route")
AUTRES_SAISIES = ('"douleur au genou"', "chute -salle", "fievre or toux", "ESCARRES")


def saisies(nombre: int, graine: int = 5) -> list[str]:
    """`nombre` recherches : moitié mots courants, un tiers mots rares, le reste la syntaxe web."""
    alea = random.Random(graine)
    tout = []
    for rang in range(nombre):
        famille = MOTS_COURANTS if rang % 6 < 3 else MOTS_RARES if rang % 6 < 5 else AUTRES_SAISIES
        tout.append(alea.choice(famille))
    return tout


def paires_lecteurs(nombre: int, graine: int = 6) -> list[tuple[int, int]]:
    """(situation d'exercice, usager) dont le professionnel, membre actif du cercle, a le droit de lire
    le cahier : un échantillon au hasard, dont un dixième parmi les cahiers les plus gros."""
    requete = (
        "SELECT m.exercice_id, c.usager_id FROM cercle_membre m JOIN cercle_cercle c ON c.id = m.cercle_id "
        "JOIN cercle_habilitation h ON h.membre_id = m.id AND h.domaine = 'cahier' AND h.niveau >= 1 "
        "WHERE m.statut = 'active' AND m.exercice_id IS NOT NULL {condition} "
        "ORDER BY md5(m.id::text || %s) LIMIT %s"
    )
    gros = [u for (u,) in _lire(
        "SELECT usager_id FROM cahier_liaison_note GROUP BY usager_id HAVING count(*) > 1000 LIMIT 200"
    )] if nombre >= 10 else []  # fmt: skip
    paires = _lire(requete.format(condition=""), [str(graine), nombre - nombre // 10])
    if gros:
        paires += _lire(
            requete.format(condition="AND c.usager_id = ANY(%s)"), [gros, str(graine), nombre // 10]
        )
    return paires


def mesurer_fil_selecteurs(paires: list[tuple[int, int]]) -> tuple[list[float], int]:
    """Les données de la page du fil sans le gabarit : `selectors.page_du_fil` (50 notes visibles
    avec auteurs, pièces jointes, sollicitations, nombre de réponses, marque « nouvelle », marque de
    lecture et non-lus) ; droits recalculés à chaque fois (un acteur neuf par mesure)."""
    from bench.run import CompteurDeRequetes
    from cahier_liaison import selectors
    from coordination.comptes.acteur import Acteur, TypeActeur
    from coordination.personnes.models import Exercice, Usager

    exercices = Exercice.objects.in_bulk([e for e, _ in paires])
    usagers = Usager.objects.in_bulk([u for _, u in paires])
    durees, requetes_max = [], 0
    for exercice_id, usager_id in paires:
        acteur = Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercices[exercice_id])
        with CompteurDeRequetes() as requetes:
            debut = time.perf_counter()
            page = selectors.page_du_fil(acteur, usagers[usager_id])
            durees.append(time.perf_counter() - debut)
        if not page.notes:
            raise RuntimeError(f"fil vide pour l'exercice {exercice_id} et l'usager {usager_id}")
        requetes_max = max(requetes_max, len(requetes))
    return durees, requetes_max


def mesurer_fil_page(paires: list[tuple[int, int]]) -> tuple[list[float], int] | None:
    """La vraie page du fil (`cahier_liaison:fil`, gabarit compris), si elle est servie ; sinon None."""
    from django.urls import NoReverseMatch, reverse

    from bench.run import CompteurDeRequetes, client_professionnel
    from coordination.personnes.models import Exercice, Usager

    exercices = Exercice.objects.select_related("professionnel").in_bulk([e for e, _ in paires])
    usagers = Usager.objects.in_bulk([u for _, u in paires])
    try:
        reverse("cahier_liaison:fil", kwargs={"usager_uuid": usagers[paires[0][1]].uuid})
    except NoReverseMatch:
        return None
    durees, requetes_max = [], 0
    for exercice_id, usager_id in paires:
        client = client_professionnel(exercices[exercice_id])
        adresse = reverse("cahier_liaison:fil", kwargs={"usager_uuid": usagers[usager_id].uuid})
        client.get(adresse)  # première requête de la session : choix de l'acteur, mises en cache
        with CompteurDeRequetes() as requetes:
            debut = time.perf_counter()
            reponse = client.get(adresse)
            durees.append(time.perf_counter() - debut)
        if reponse.status_code != 200:
            raise RuntimeError(f"{adresse} a répondu {reponse.status_code} (exercice {exercice_id})")
        requetes_max = max(requetes_max, len(requetes))
    return durees, requetes_max


def mesurer_recherche(paires: list[tuple[int, int]], recherches: list[str]) -> dict:
    """Recherche dans un cahier (le fil filtré par `texte`, 50 notes) et dans tous les cahiers du
    professionnel (`rechercher_dans_mes_cahiers`, 50 notes avec extraits) : durées, requêtes,
    nombre moyen de notes trouvées."""
    from bench.run import CompteurDeRequetes
    from cahier_liaison import selectors
    from coordination.comptes.acteur import Acteur, TypeActeur
    from coordination.personnes.models import Exercice, Usager

    exercices = Exercice.objects.in_bulk([e for e, _ in paires])
    usagers = Usager.objects.in_bulk([u for _, u in paires])
    mesures = {"dans_un_cahier": ([], [], 0), "dans_mes_cahiers": ([], [], 0)}
    for rang, texte in enumerate(recherches):
        exercice_id, usager_id = paires[rang % len(paires)]
        for sorte in mesures:
            acteur = Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercices[exercice_id])
            durees, trouvees, requetes_max = mesures[sorte]
            with CompteurDeRequetes() as requetes:
                debut = time.perf_counter()
                if sorte == "dans_un_cahier":
                    notes = list(
                        selectors.notes_visibles(acteur, usagers[usager_id], filtres={"texte": texte})[:50]
                    )
                else:
                    notes = selectors.rechercher_dans_mes_cahiers(acteur, texte)
                durees.append(time.perf_counter() - debut)
            trouvees.append(len(notes))
            mesures[sorte] = (durees, trouvees, max(requetes_max, len(requetes)))
    return mesures
