"""Bancs d'essai : `python -m bench.run --scale S|M|L [--scenario NOM …]`.

Sans `DATABASE_URL`, démarre une pile embarquée jetable (`sandbox.stack.test_stack()`), migre,
puis lance les scénarios demandés (tous par défaut, dans l'ordre d'enregistrement) et affiche
un objet JSON par scénario sur la sortie standard (les messages vont sur la sortie d'erreur).

Ajouter un scénario : une fonction décorée par `@scenario("nom")` qui prend le `Contexte` et
renvoie un dictionnaire de chiffres (voir bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

ECHELLES = ("S", "M", "L")
LIGNES_ANNUAIRE = {"S": 20_000, "M": 2_000_000, "L": 10_000_000}


@dataclass
class Contexte:
    echelle: str
    database_url: str
    dossier: Path
    # Réglages propres à un scénario (ex. {"import_annuaire": {"lignes": 500}} dans les tests).
    options: dict = field(default_factory=dict)

    def option(self, scenario: str, nom: str, defaut=None):
        return self.options.get(scenario, {}).get(nom, defaut)


SCENARIOS: dict[str, Callable[[Contexte], dict]] = {}


def scenario(nom: str):
    """Enregistre un scénario sous `nom` (l'ordre d'enregistrement est l'ordre d'exécution)."""

    def enregistrer(fonction: Callable[[Contexte], dict]) -> Callable[[Contexte], dict]:
        SCENARIOS[nom] = fonction
        return fonction

    return enregistrer


def journal(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def url_base_django() -> str:
    """URL de la base à laquelle Django est connecté (en test : la base de test)."""
    from django.db import connection

    reglages = connection.settings_dict
    identite = reglages["USER"] or ""
    if reglages.get("PASSWORD"):
        identite += f":{reglages['PASSWORD']}"
    hote = reglages["HOST"] or "127.0.0.1"
    port = f":{reglages['PORT']}" if reglages.get("PORT") else ""
    return f"postgres://{identite}@{hote}{port}/{reglages['NAME']}"


# --- Scénarios ------------------------------------------------------------------------------------


@scenario("generation")
def scenario_generation(ctx: Contexte) -> dict:
    """Débit du générateur (COPY) par table, à l'échelle demandée."""
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer

    echelle = ctx.option("generation", "echelle", TAILLES[ctx.echelle])
    debut = time.perf_counter()
    tables = generer(echelle)
    return {"tables": tables, "duree_s": round(time.perf_counter() - debut, 2)}


def _lancer_mesure(argv: list[str], env: dict, sortie: Path) -> tuple[int, float, float, float]:
    """Lance une commande ; renvoie (code retour, durée s, RSS max en Mo selon wait4, RSS max en Mo
    échantillonnée toutes les 50 ms). L'échantillon additionne la RSS du processus et celle de tous
    ses descendants au même instant (le chargement en flux de l'import lance un processus de
    préparation) ; wait4 ne donne que le plus grand des deux."""
    import psutil

    with open(sortie, "wb") as fichier:
        debut = time.perf_counter()
        processus = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=fichier, stderr=subprocess.STDOUT)
        echantillon = [0]
        fini = threading.Event()

        def echantillonner() -> None:
            with contextlib.suppress(psutil.Error):
                suivi = psutil.Process(processus.pid)
                while not fini.wait(0.05):
                    total = suivi.memory_info().rss
                    for enfant in suivi.children(recursive=True):
                        with contextlib.suppress(psutil.Error):  # enfant terminé entre-temps
                            total += enfant.memory_info().rss
                    echantillon[0] = max(echantillon[0], total)

        fil = threading.Thread(target=echantillonner, daemon=True)
        fil.start()
        _, statut, usage = os.wait4(processus.pid, 0)
        duree = time.perf_counter() - debut
        fini.set()
        fil.join()
        processus.returncode = os.waitstatus_to_exitcode(statut)
    # ru_maxrss : kio sous Linux, pour ce seul enfant (wait4).
    return processus.returncode, duree, usage.ru_maxrss / 1024, echantillon[0] / (1024 * 1024)


def _dernier_import() -> dict:
    from coordination.journal.models import Evenement

    evenement = Evenement.objects.filter(action="annuaire.import").order_by("-id").first()
    return evenement.details if evenement is not None else {}


@scenario("import_annuaire")
def scenario_import_annuaire(ctx: Contexte) -> dict:
    """Import d'un fichier PS_LibreAcces synthétique de N lignes par `manage.py import_annuaire`
    dans un sous-processus, puis réimport du même fichier : lignes/s et RSS max de chaque passe."""
    from bench.annuaire import ecrire_fichier

    lignes = ctx.option("import_annuaire", "lignes", LIGNES_ANNUAIRE[ctx.echelle])
    taille_lot = ctx.option("import_annuaire", "taille_lot")
    chemin = ctx.dossier / f"PS_LibreAcces_Personne_activite_synthetique_{lignes}.txt"
    debut = time.perf_counter()
    attendu = ecrire_fichier(chemin, lignes)
    resultat: dict = {
        "lignes": lignes,
        "fichier_mo": round(chemin.stat().st_size / 2**20, 1),
        "ecriture_fichier_s": round(time.perf_counter() - debut, 2),
        "professionnels_attendus": attendu["professionnels"],
        "structures_attendues": attendu["structures"],
    }
    env = {**os.environ, "DATABASE_URL": ctx.database_url}
    argv = [sys.executable, "manage.py", "import_annuaire", str(chemin), "--details-max", "20"]
    if taille_lot:
        argv += ["--taille-lot", str(taille_lot)]
    try:
        for passe in ("import", "reimport"):
            journal(f"[import_annuaire] {passe} de {lignes} lignes…")
            code, duree, rss_wait4, rss_echantillon = _lancer_mesure(argv, env, ctx.dossier / f"{passe}.log")
            if code != 0:
                raise RuntimeError(
                    f"import_annuaire a échoué (code {code}) : "
                    + (ctx.dossier / f"{passe}.log").read_text(errors="replace")[-2000:]
                )
            details = _dernier_import()
            interne_s = details.get("duree_ms", 0) / 1000
            resultat[passe] = {
                "duree_s": round(duree, 2),
                "duree_import_s": round(interne_s, 2),
                "lignes_par_s": round(lignes / interne_s) if interne_s else None,
                "lignes_par_s_processus": round(lignes / duree),
                "rss_max_mo": round(max(rss_wait4, rss_echantillon), 1),
                "professionnels_crees": details.get("professionnels_crees"),
                "professionnels_mis_a_jour": details.get("professionnels_mis_a_jour"),
                "structures_creees": details.get("structures_creees"),
                "structures_mises_a_jour": details.get("structures_mises_a_jour"),
                "exercices_crees": details.get("exercices_crees"),
                "exercices_mis_a_jour": details.get("exercices_mis_a_jour"),
                "lignes_rejetees": details.get("lignes_rejetees"),
            }
    finally:
        chemin.unlink(missing_ok=True)
    return resultat


def _centiles(durees: list[float]) -> dict:
    """p50, p95 et maximum d'une liste de durées (secondes), en millisecondes."""
    ordonnees = sorted(durees)
    rang = lambda q: ordonnees[min(len(ordonnees) - 1, int(q * len(ordonnees)))]  # noqa: E731
    return {"p50_ms": round(rang(0.5) * 1000, 2), "p95_ms": round(rang(0.95) * 1000, 2),
            "max_ms": round(ordonnees[-1] * 1000, 2)}  # fmt: skip


@scenario("cercle")
def scenario_cercle(ctx: Contexte) -> dict:
    """Cercles à l'échelle (bench/cercle.py), puis, pour un échantillon de professionnels : la page
    « Mes usagers » (sélecteur + niveaux de la page de 25) et `peut()` sur 15 décisions par usager ;
    durées et nombre de requêtes SQL."""
    import random

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.cercle import generer_cercles
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer
    from cercle import habilitations, selectors
    from coordination.comptes.acteur import Acteur, TypeActeur
    from coordination.personnes.models import Exercice, Usager

    echelle = ctx.option("cercle", "echelle", TAILLES[ctx.echelle])
    if Usager.objects.count() < echelle.usagers:
        journal("[cercle] génération des personnes…")
        generer(echelle)
    journal("[cercle] génération des cercles…")
    debut = time.perf_counter()
    tables = generer_cercles()
    generation_s = time.perf_counter() - debut
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE")
    ids = list(Exercice.objects.values_list("id", flat=True))
    alea = random.Random(3)
    echantillon = alea.sample(ids, min(len(ids), ctx.option("cercle", "echantillon", 300)))
    pages, decisions, requetes_page, requetes_peut, vus = [], [], 0, 0, 0
    for exercice in Exercice.objects.filter(id__in=echantillon).select_related("professionnel", "structure"):
        acteur = Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercice)
        with CaptureQueriesContext(connection) as requetes:
            debut = time.perf_counter()
            lignes = selectors.avec_niveaux(acteur, selectors.mes_usagers(acteur)[:25])
            pages.append(time.perf_counter() - debut)
        requetes_page = max(requetes_page, len(requetes))
        vus += len(lignes)
        for ligne in lignes[:3]:
            neuf = Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercice)
            with CaptureQueriesContext(connection) as requetes:
                debut = time.perf_counter()
                for domaine in habilitations.DOMAINES:
                    for action in ("lire", "ecrire", "gerer"):
                        habilitations.peut(neuf, ligne.usager, action, domaine)
                decisions.append(time.perf_counter() - debut)
            requetes_peut = max(requetes_peut, len(requetes))
    pages_http, requetes_http = _mesurer_page_mes_usagers(echantillon[: ctx.option("cercle", "pages", 100)])
    return {
        "tables": tables,
        "generation_s": round(generation_s, 2),
        "professionnels_mesures": len(echantillon),
        "page_mes_usagers_http": {**_centiles(pages_http), "requetes_max": requetes_http},
        "usagers_par_page_moyen": round(vus / max(1, len(echantillon)), 1),
        "mes_usagers": {**_centiles(pages), "requetes_max": requetes_page},
        "peut_15_decisions": {**_centiles(decisions), "requetes_max": requetes_peut},
    }


def client_professionnel(exercice):
    """Un client de test de Django connecté comme le professionnel, dans cette situation d'exercice
    (un compte est relié au professionnel s'il n'en a pas ; MFA faite)."""
    from django.test import Client

    from coordination.comptes.acteur import SESSION_ACTEUR
    from coordination.comptes.middleware import SESSION_MFA_OK
    from coordination.comptes.models import Compte

    professionnel = exercice.professionnel
    if professionnel.compte_id is None:  # deux situations d'un même professionnel : un seul compte
        professionnel.compte, _ = Compte.objects.get_or_create(email=f"banc-{professionnel.pk}@exemple.test")
        professionnel.save(update_fields=["compte"])
    client = Client()
    client.force_login(professionnel.compte)
    session = client.session
    session[SESSION_MFA_OK] = True
    session[SESSION_ACTEUR] = f"exercice:{exercice.uuid}"
    session.save()
    return client


def _mesurer_page_mes_usagers(exercices: list[int]) -> tuple[list[float], int]:
    """La vraie page « Mes usagers » (GET /usagers/, gabarit compris) par le client de test de Django,
    pour chaque situation d'exercice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from coordination.personnes.models import Exercice

    durees, requetes_max = [], 0
    for exercice in Exercice.objects.filter(id__in=exercices).select_related("professionnel"):
        client = client_professionnel(exercice)
        client.get("/usagers/")  # première requête de la session : choix de l'acteur, mises en cache
        with CaptureQueriesContext(connection) as requetes:
            debut = time.perf_counter()
            reponse = client.get("/usagers/")
            durees.append(time.perf_counter() - debut)
        if reponse.status_code != 200:
            raise RuntimeError(f"/usagers/ a répondu {reponse.status_code} pour l'exercice {exercice.pk}")
        requetes_max = max(requetes_max, len(requetes))
    return durees, requetes_max


PROFESSIONNELS_RECHERCHE = {"S": 20_000, "M": 2_000_000, "L": 5_000_000}


@scenario("recherche_annuaire")
def scenario_recherche_annuaire(ctx: Contexte) -> dict:
    """Recherche de professionnels (sélecteur de la page « ajouter un membre ») sur un annuaire de
    2 millions de professionnels à l'échelle M : durées par sorte de recherche et en tout."""
    from bench.recherche import generer_annuaire, mesurer, requetes_types
    from coordination.personnes.models import Professionnel

    voulu = ctx.option("recherche_annuaire", "professionnels", PROFESSIONNELS_RECHERCHE[ctx.echelle])
    generation = {}
    manque = voulu - Professionnel.objects.count()
    if manque > 0:
        journal(f"[recherche_annuaire] génération de {manque} professionnels…")
        generation = generer_annuaire(manque)
    mesurer(requetes_types(20, graine=12))  # chauffe
    durees = mesurer(requetes_types(ctx.option("recherche_annuaire", "par_sorte", 100)))
    return {
        "professionnels": Professionnel.objects.count(),
        "generation": generation,
        "par_sorte": {sorte: _centiles(liste) for sorte, liste in durees.items()},
        "toutes": _centiles([d for liste in durees.values() for d in liste]),
    }


NOTES_PAR_USAGER = {"S": 100, "M": 100, "L": 100}  # ~10 millions de notes à l'échelle M


@scenario("cahier")
def scenario_cahier(ctx: Contexte) -> dict:
    """Cahiers de liaison à l'échelle (bench/cahier.py : ~10 millions de notes à M), puis, sur des
    paires (professionnel, usager) réelles : le fil (page `cahier_liaison:fil` si elle est servie,
    sinon la composition des sélecteurs) et la recherche plein texte, dans un cahier et dans tous.
    Les données déjà là ne sont pas régénérées."""
    from django.db import connection

    from bench import cahier
    from bench.cercle import generer_cercles
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer
    from coordination.personnes.models import Usager

    echelle = ctx.option("cahier", "echelle", TAILLES[ctx.echelle])
    if Usager.objects.count() < echelle.usagers:
        journal("[cahier] génération des personnes…")
        generer(echelle)
    journal("[cahier] cercles et cahiers (seulement ce qui manque)…")
    cercles = generer_cercles()
    generation = cahier.generer_notes(ctx.option("cahier", "notes_moyennes", NOTES_PAR_USAGER[ctx.echelle]))
    paires = cahier.paires_lecteurs(ctx.option("cahier", "paires", 200))
    cahier.mesurer_fil_selecteurs(paires[:20])  # chauffe
    fil, requetes_fil = cahier.mesurer_fil_selecteurs(paires)
    page = cahier.mesurer_fil_page(paires[: ctx.option("cahier", "pages", 100)])
    recherche = cahier.mesurer_recherche(paires, cahier.saisies(ctx.option("cahier", "recherches", 200)))
    with connection.cursor() as curseur:
        curseur.execute("SELECT count(*) FROM cahier_liaison_note")
        notes = curseur.fetchone()[0]
    resultat = {
        "notes": notes,
        "generation": {**generation, "cercles": cercles} if generation or cercles else "déjà faite",
        "paires_mesurees": len(paires),
        "fil_selecteurs": {**_centiles(fil), "requetes_max": requetes_fil},
        "fil_page_http": {**_centiles(page[0]), "requetes_max": page[1]} if page else "page non servie",
    }
    for sorte, (durees, trouvees, requetes) in recherche.items():
        resultat[f"recherche_{sorte}"] = {
            **_centiles(durees), "requetes_max": requetes, "recherches": len(durees),
            "notes_trouvees_moyenne": round(sum(trouvees) / max(1, len(trouvees)), 1),
        }  # fmt: skip
    return resultat


# --- Exécution ------------------------------------------------------------------------------------


@scenario("cahier_fhir")
def scenario_cahier_fhir(ctx: Contexte) -> dict:
    """Réception de notes du cahier par Bundles `cdl-bundle-creation-note` POSTés sur /fhir/ avec
    le jeton d'un DUI (bench/cahier_fhir.py) : notes/s (un client, puis plusieurs en parallèle), une
    note par Bundle puis par lots de 50 et 100 notes."""
    from bench.cahier_fhir import mesurer_reception
    from bench.cercle import generer_cercles
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer
    from coordination.personnes.models import Usager

    echelle = ctx.option("cahier_fhir", "echelle", TAILLES[ctx.echelle])
    if Usager.objects.count() < echelle.usagers:
        journal("[cahier_fhir] génération des personnes…")
        generer(echelle)
    generer_cercles()
    nombre = ctx.option("cahier_fhir", "notes", 2000)
    journal(f"[cahier_fhir] réception de {nombre} notes…")
    return mesurer_reception(
        nombre,
        clients=ctx.option("cahier_fhir", "clients", 4),
        tailles_lots=tuple(ctx.option("cahier_fhir", "lots", (50, 100))),
    )


EVENEMENTS_PAR_USAGER = {"S": 50, "M": 50, "L": 50}  # 5 millions d'événements à l'échelle M


@scenario("agenda")
def scenario_agenda(ctx: Contexte) -> dict:
    """Agendas à l'échelle (bench/agenda.py : ~5 millions d'événements à M), puis sur des paires
    (professionnel, usager) réelles : la vue du mois de l'usager, la semaine du professionnel, le
    flux ICS d'un an ; p50/p95 et requêtes SQL. Les données déjà là ne sont pas régénérées."""
    from bench import agenda
    from bench.cercle import generer_cercles
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer
    from coordination.personnes.models import Usager

    echelle = ctx.option("agenda", "echelle", TAILLES[ctx.echelle])
    if Usager.objects.count() < echelle.usagers:
        journal("[agenda] génération des personnes…")
        generer(echelle)
    journal("[agenda] cercles et agendas (seulement ce qui manque)…")
    generer_cercles()
    generation = agenda.generer_evenements(
        ctx.option("agenda", "par_usager", EVENEMENTS_PAR_USAGER[ctx.echelle])
    )
    paires = agenda.paires_lecteurs(ctx.option("agenda", "paires", 200))
    agenda.mesurer_mois_usager(paires[:20])  # chauffe
    mois, requetes_mois, vus_mois = agenda.mesurer_mois_usager(paires)
    semaine, requetes_semaine, vus_semaine = agenda.mesurer_semaine_pro(paires)
    flux, vevents = agenda.mesurer_flux_ics(paires[:100])
    from django.db import connection

    with connection.cursor() as curseur:
        curseur.execute("SELECT count(*) FROM agenda_evenement")
        evenements = curseur.fetchone()[0]
    return {
        "evenements": evenements,
        "generation": generation or "déjà faite",
        "paires_mesurees": len(paires),
        "mois_usager": {
            **_centiles(mois),
            "requetes_max": requetes_mois,
            "occurrences_moyennes": round(vus_mois, 1),
        },
        "semaine_professionnel": {
            **_centiles(semaine),
            "requetes_max": requetes_semaine,
            "occurrences_moyennes": round(vus_semaine, 1),
        },
        "flux_ics_un_an": {**_centiles(flux), "vevent_moyens": round(vevents, 1)},
    }


@scenario("agenda_creneaux")
def scenario_agenda_creneaux(ctx: Contexte) -> dict:
    """Moteur de créneaux communs (bench/agenda_creneaux.py, module pur, sans base) : 8
    participants, 200 occupations chacun, 4 semaines au pas de 15 min, sur des graines
    différentes ; p50/p95/max en ms, agendas ordinaires puis saturés (créneaux partiels).
    Objectif de l'issue 6 : 20 ms."""
    from bench.agenda_creneaux import mesurer

    executions = ctx.option("agenda_creneaux", "executions", 200)
    journal(f"[agenda_creneaux] {executions} recherches…")
    chiffres = mesurer(executions)
    chiffres["satures"] = mesurer(executions, durees=(30, 45, 60, 120))
    return chiffres


@scenario("agenda_ics")
def scenario_agenda_ics(ctx: Contexte) -> dict:
    """Flux iCalendar d'une année d'agenda (bench/agenda_ics.py) : durée de `ecrire_calendrier`
    seule pour ~1 000 événements (objectif ≤ 50 ms, issue 6), puis relecture et occupations."""
    from bench.agenda_ics import mesurer_flux

    return mesurer_flux(
        ctx.option("agenda_ics", "evenements", 1000), ctx.option("agenda_ics", "repetitions", 20)
    )


@scenario("ppa")
def scenario_ppa(ctx: Contexte) -> dict:
    """Projet personnalisé (bench/ppa.py) : un PPA de 30 objectifs et 100 actions validé, et un avenant
    d'une dizaine de changements ; ouverture de la version (p50/p95, requêtes) et différentiel, seul
    et avec le chargement des deux versions. Objectifs (issue 7) : ouverture ≤ 8 requêtes et p95 ≤
    40 ms, différentiel ≤ 20 ms."""
    from bench import ppa
    from bench.cercle import generer_cercles
    from bench.generer import ECHELLES as TAILLES
    from bench.generer import generer
    from coordination.personnes.models import Usager

    echelle = ctx.option("ppa", "echelle", TAILLES[ctx.echelle])
    if Usager.objects.count() < echelle.usagers:
        journal("[ppa] génération des personnes…")
        generer(echelle)
    journal("[ppa] cercles (seulement ce qui manque), projet et avenant…")
    generer_cercles()
    membre, validee, avenant = ppa.construire()
    executions = ctx.option("ppa", "executions", 200)
    journal(f"[ppa] {executions} ouvertures et différentiels…")
    chiffres = ppa.mesurer(membre, validee, avenant, executions, CompteurDeRequetes)
    return {
        "contenu": chiffres["contenu"],
        "executions": executions,
        "ouverture": {**_centiles(chiffres["ouverture"]), "requetes_max": chiffres["requetes_ouverture"]},
        "differentiel": _centiles(chiffres["differentiel"]),
        "differentiel_avec_chargement": _centiles(chiffres["differentiel_avec_chargement"]),
        "pdf_complet": _centiles(chiffres["pdf_complet"]),
        "changements_ajoutes_retires_modifies": chiffres["changements"],
    }


def executer(ctx: Contexte, noms: list[str]) -> list[dict]:
    resultats = []
    for nom in noms:
        journal(f"Scénario {nom} (échelle {ctx.echelle})…")
        debut = time.perf_counter()
        chiffres = SCENARIOS[nom](ctx)
        resultat = {"scenario": nom, "echelle": ctx.echelle, **chiffres,
                    "duree_totale_s": round(time.perf_counter() - debut, 2)}  # fmt: skip
        print(json.dumps(resultat, ensure_ascii=False), flush=True)
        resultats.append(resultat)
    return resultats


class CompteurDeRequetes:
    """Compte les requêtes SQL d'un bloc sans les enregistrer (CaptureQueriesContext passe par le
    curseur de débogage, qui met en forme chaque requête : une dépense que la production n'a pas
    et qui fausserait les durées mesurées)."""

    def __init__(self, connexion=None) -> None:
        from django.db import connection

        self.connexion = connexion or connection
        self.nombre = 0

    def _compter(self, execute, sql, params, many, contexte):
        self.nombre += 1
        return execute(sql, params, many, contexte)

    def __len__(self) -> int:
        return self.nombre

    def __enter__(self) -> CompteurDeRequetes:
        self._bloc = self.connexion.execute_wrapper(self._compter)
        self._bloc.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bloc.__exit__(*exc)


@scenario("echanges")
def scenario_echanges(ctx: Contexte) -> dict:
    """Boîte d'envoi vers l'opérateur MSSanté du bac à sable (bench/echanges.py) : vidage par un
    worker (messages/s, objectif ≥ 200) et latence de la validation à l'envoi au repos (p95,
    objectif ≤ 1 s)."""
    from bench import echanges
    from sandbox.mssante import OperateurMSSante

    nombre = ctx.option("echanges", "messages", 2000)
    mesures = ctx.option("echanges", "mesures", 200)
    with OperateurMSSante.demarrer(ctx.dossier / "mssante") as operateur:
        journal(f"[echanges] vidage de {nombre} messages…")
        vidage = echanges.vidage(operateur, nombre)
        journal(f"[echanges] latence sur {mesures} messages, un worker au repos…")
        latence = echanges.latence(operateur, ctx.dossier, ctx.database_url, mesures)
    return {"vidage": vidage, "latence": {"mesures": latence["mesures"], **_centiles(latence["durees_s"])}}


def _preparer_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")
    # Les durées sont celles de la production : sans le mode de débogage de Django.
    os.environ.setdefault("DEBUG", "false")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Bancs d'essai du portail.")
    parser.add_argument("--scale", choices=ECHELLES, default="S", help="échelle des données (défaut : S)")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="scénario (répétable ; défaut : tous)"
    )
    args = parser.parse_args(argv)
    noms = args.scenario or list(SCENARIOS)
    with contextlib.ExitStack() as pile, tempfile.TemporaryDirectory(prefix="bench-") as dossier:
        if not os.environ.get("DATABASE_URL"):
            from sandbox.stack import test_stack

            journal("Démarrage de PostgreSQL et Redis embarqués (jetables)…")
            stack = pile.enter_context(test_stack())
            os.environ.update(stack.environ())
        _preparer_django()
        ctx = Contexte(echelle=args.scale, database_url=url_base_django(), dossier=Path(dossier))
        executer(ctx, noms)
        from django.db import connections

        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
