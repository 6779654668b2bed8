"""Réception de notes du cahier de liaison par FHIR, comme un DUI les envoie : des Bundles
`cdl-bundle-creation-note` (transaction : DocumentReference en POST, le PractitionerRole et le
Practitioner de l'auteur en POST, résolus vers les fiches existantes), POSTés sur la vraie adresse
`/fhir/` par le client de test de Django (toute la pile : intergiciels, jeton OAuth2, validation
fhir.resources, transaction, services, journal), avec un jeton du logiciel d'une structure.

Les données viennent de bench/generer.py et bench/cercle.py ; la structure choisie reçoit
l'écriture au cahier des usagers qu'elle accompagne (mise à jour directe des droits présumés : c'est
une préparation du banc, pas un parcours mesuré). Plusieurs clients en fils parallèles, chacun avec
sa connexion à la base.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid

from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cahier_liaison.codes import SYSTEME_TYPE_NOTE
from cahier_liaison.models import Note
from cercle.models import Domaine, Habilitation, Membre, Niveau, TypeMembre
from coordination.comptes.acteur import acteur_systeme
from coordination.comptes.logiciels import emettre_client
from coordination.personnes.identifiants import SYSTEME_IDNAT_PS
from coordination.personnes.models import Exercice, Structure, Usager

SYSTEME_BANC = "urn:oid:1.2.250.1.999.9.9"  # OID fictif du DUI du banc


def preparer(nombre_usagers_min: int = 20) -> tuple[Structure, list[Usager], list[Exercice]]:
    """La structure qui accompagne le plus d'usagers : écriture au cahier de ces usagers, et ses
    professionnels (auteurs des notes)."""
    structure_id = (
        Membre.objects.filter(type=TypeMembre.STRUCTURE)
        .values("structure_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("structure_id", flat=True)
        .first()
    )
    structure = Structure.objects.get(pk=structure_id)
    Habilitation.objects.filter(
        membre__type=TypeMembre.STRUCTURE, membre__structure=structure, domaine=Domaine.CAHIER
    ).update(niveau=Niveau.ECRITURE)
    usagers = list(
        Usager.objects.filter(
            cercle__membres__type=TypeMembre.STRUCTURE,
            cercle__membres__structure=structure,
            matricule_ins__isnull=False,
        ).distinct()
    )
    exercices = list(Exercice.objects.filter(structure=structure).select_related("professionnel")[:20])
    if len(usagers) < nombre_usagers_min // 4 or not exercices:
        raise RuntimeError("Banc cahier_fhir : pas assez d'usagers accompagnés ou de professionnels.")
    return structure, usagers, exercices


def jeton(structure: Structure) -> str:
    client_logiciel, secret = emettre_client(
        acteur=acteur_systeme("banc cahier_fhir"), structure=structure, nom="DUI du banc",
        portees=["system/*.read", "system/*.write"],
    )  # fmt: skip
    identifiant = client_logiciel.application.client_id
    reponse = Client().post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": identifiant, "client_secret": secret}
    )
    if reponse.status_code != 200:
        raise RuntimeError(f"Banc cahier_fhir : jeton refusé ({reponse.status_code}).")
    return reponse.json()["access_token"]


def bundle(usager: Usager, exercice: Exercice, rang: int, structure: Structure) -> dict:
    doc, role, pro = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    texte = f"Passage du soir n° {rang} : repas pris, bonne humeur, rien à signaler."
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": doc,
                "resource": {
                    "resourceType": "DocumentReference",
                    "masterIdentifier": {"system": SYSTEME_BANC, "value": f"banc-{uuid.uuid4()}"},
                    "status": "current",
                    "type": {"coding": [{"system": SYSTEME_TYPE_NOTE, "code": "INTERV"}]},
                    "subject": {
                        "identifier": {"system": f"urn:oid:{usager.oid_ins}", "value": usager.matricule_ins}
                    },
                    "date": (timezone.now() - datetime.timedelta(minutes=5)).isoformat(),
                    "author": [{"reference": role}, {"reference": pro}],
                    "content": [
                        {
                            "attachment": {
                                "contentType": "text/plain",
                                "language": "fr",
                                "data": base64.b64encode(texte.encode()).decode(),
                            }
                        }
                    ],
                },
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": pro},
                    "organization": {"reference": f"Organization/{structure.uuid}"},
                },
                "request": {"method": "POST", "url": "PractitionerRole"},
            },
            {
                "fullUrl": pro,
                "resource": {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": SYSTEME_IDNAT_PS, "value": exercice.professionnel.idnat_ps}],
                },
                "request": {"method": "POST", "url": "Practitioner"},
            },
        ],
    }


def bundle_lot(
    usagers: list[Usager], exercices: list[Exercice], debut: int, taille: int, structure: Structure
) -> dict:
    """Un Bundle transaction de `taille` notes (usagers et auteurs tournants) : chaque auteur cité
    une fois (son PractitionerRole et son Practitioner), comme un DUI qui envoie ses notes en lot."""
    entrees, auteurs = [], {}
    for rang in range(debut, debut + taille):
        exercice = exercices[rang % len(exercices)]
        if exercice.pk not in auteurs:
            unitaire = bundle(usagers[0], exercice, rang, structure)["entry"]
            auteurs[exercice.pk] = unitaire[1:]
        role, pro = (e["fullUrl"] for e in auteurs[exercice.pk])
        note = bundle(usagers[rang % len(usagers)], exercice, rang, structure)["entry"][0]
        note["resource"]["author"] = [{"reference": role}, {"reference": pro}]
        entrees.append(note)
    for paire in auteurs.values():
        entrees += paire
    return {"resourceType": "Bundle", "type": "transaction", "entry": entrees}


def _envoyer(jeton_acces: str, corps: list[str], erreurs: list) -> None:
    client = Client()
    try:
        for texte in corps:
            reponse = client.post(
                "/fhir/",
                texte,
                content_type="application/fhir+json",
                HTTP_AUTHORIZATION=f"Bearer {jeton_acces}",
            )
            if reponse.status_code != 200:
                erreurs.append((reponse.status_code, reponse.content[:300]))
    finally:
        connections.close_all()


def mesurer_reception(
    nombre: int = 1000, clients: int = 4, tailles_lots: tuple[int, ...] = (50, 100)
) -> dict:
    """Reçoit `nombre` notes (un Bundle chacune) par `clients` clients parallèles, puis `nombre`
    notes par Bundles de chaque taille de `tailles_lots` (un client, puis `clients`) : notes/s, et
    requêtes SQL par Bundle (mesurées sur un Bundle à part)."""
    structure, usagers, exercices = preparer()
    jeton_acces = jeton(structure)

    def corps(rang: int) -> str:
        return json.dumps(
            bundle(usagers[rang % len(usagers)], exercices[rang % len(exercices)], rang, structure)
        )

    # Un Bundle d'essai : il chauffe les caches et compte les requêtes.
    with CaptureQueriesContext(connection) as requetes:
        _envoyer_un(jeton_acces, corps(-1))
    requetes_par_bundle = len(requetes)
    avant = Note.objects.count()
    resultats: dict = {"requetes_sql_par_bundle": requetes_par_bundle}
    for nom, nombre_clients in (("sequentiel", 1), ("parallele", clients)):
        lots = [[corps(r) for r in range(i, nombre, nombre_clients)] for i in range(nombre_clients)]
        erreurs: list = []
        fils = [threading.Thread(target=_envoyer, args=(jeton_acces, lot, erreurs)) for lot in lots]
        debut = time.perf_counter()
        for fil in fils:
            fil.start()
        for fil in fils:
            fil.join()
        duree = time.perf_counter() - debut
        if erreurs:
            raise RuntimeError(f"Banc cahier_fhir : {len(erreurs)} Bundles refusés, dont {erreurs[0]}.")
        resultats[nom] = {"clients": nombre_clients, "notes": nombre, "duree_s": round(duree, 2),
                          "notes_par_s": round(nombre / duree, 1)}  # fmt: skip
    for taille in tailles_lots:

        def corps_lot(rang: int, taille: int = taille) -> str:
            return json.dumps(bundle_lot(usagers, exercices, rang * taille, taille, structure))

        with CaptureQueriesContext(connection) as requetes:
            _envoyer_un(jeton_acces, corps_lot(10_000 + taille))  # à part, comme ci-dessus
        chiffres = {"notes_par_bundle": taille, "requetes_sql_par_bundle": len(requetes)}
        nombre_lots = max(nombre // taille, 4)
        for nom, nombre_clients in (("sequentiel", 1), ("parallele", clients)):
            base = 20_000 + (taille * 100 if nom == "sequentiel" else taille * 200)
            lots = [[corps_lot(base + r) for r in range(i, nombre_lots, nombre_clients)]
                    for i in range(nombre_clients)]  # fmt: skip
            erreurs = []
            fils = [threading.Thread(target=_envoyer, args=(jeton_acces, lot, erreurs)) for lot in lots]
            debut = time.perf_counter()
            for fil in fils:
                fil.start()
            for fil in fils:
                fil.join()
            duree = time.perf_counter() - debut
            if erreurs:
                raise RuntimeError(f"Banc cahier_fhir : {len(erreurs)} Bundles refusés, dont {erreurs[0]}.")
            chiffres[nom] = {
                "clients": nombre_clients,
                "bundles": nombre_lots,
                "notes": nombre_lots * taille,
                "duree_s": round(duree, 2),
                "ms_par_bundle": round(1000 * duree * nombre_clients / nombre_lots, 1),
                "notes_par_s": round(nombre_lots * taille / duree, 1),
            }
        resultats[f"lots_de_{taille}"] = chiffres
    resultats["notes_ecrites"] = Note.objects.count() - avant
    resultats["usagers"] = len(usagers)
    return resultats


def _envoyer_un(jeton_acces: str, texte: str) -> None:
    reponse = Client().post(
        "/fhir/", texte, content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {jeton_acces}"
    )
    if reponse.status_code != 200:
        raise RuntimeError(
            f"Banc cahier_fhir : Bundle refusé ({reponse.status_code}) : {reponse.content[:400]}"
        )
