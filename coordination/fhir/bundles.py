"""Construction des Bundles servis : searchset (recherche) et history (_history)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.utils import timezone

from coordination.fhir.recherche import PARAMETRE_CURSEUR
from coordination.fhir.versions import instant_fhir

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Recherche
    from coordination.fhir.registre import Page, Representation


def _bundle(type_bundle: str, **champs) -> dict:
    return {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": instant_fhir(timezone.now())},
        "type": type_bundle,
        **champs,
    }


def entree(contexte: Contexte, representation: Representation, mode: str | None = None) -> dict:
    resultat = {
        "fullUrl": contexte.url(f"{representation.type}/{representation.id}"),
        "resource": representation.ressource,
    }
    if mode:
        resultat["search"] = {"mode": mode}
    return resultat


def bundle_recherche(contexte: Contexte, recherche: Recherche, page: Page) -> dict:
    """Bundle searchset : correspondances (mode match), puis inclusions (mode include), total et
    liens self / next / previous (le curseur porte la position ; le reste de la recherche est
    répété tel que compris par le serveur)."""
    parametres = recherche.parametres_de_lien()
    adresse = contexte.url(recherche.type)

    def lien(relation: str, curseur: str | None) -> dict:
        paires = parametres + ([(PARAMETRE_CURSEUR, curseur)] if curseur else [])
        return {"relation": relation, "url": f"{adresse}?{urlencode(paires)}"}

    liens = [lien("self", recherche.curseur)]
    if page.curseur_suivant:
        liens.append(lien("next", page.curseur_suivant))
    if page.curseur_precedent:
        liens.append(lien("previous", page.curseur_precedent))
    bundle = _bundle("searchset")
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = liens
    entrees = [entree(contexte, r, "match") for r in page.correspondances]
    entrees += [entree(contexte, r, "include") for r in page.incluses]
    if entrees:
        bundle["entry"] = entrees
    return bundle


def _requete_historique(representation: Representation, premiere: bool) -> tuple[dict, dict]:
    chemin = f"{representation.type}/{representation.id}"
    if representation.supprimee:
        return {"method": "DELETE", "url": chemin}, {"status": "204 No Content"}
    if premiere:
        return {"method": "POST", "url": representation.type}, {"status": "201 Created"}
    return {"method": "PUT", "url": chemin}, {"status": "200 OK"}


def bundle_historique(contexte: Contexte, representations: list[Representation], adresse_self: str) -> dict:
    """Bundle history : une entrée par version, plus récente d'abord, avec request et response."""
    entrees = []
    for representation in representations:
        requete, reponse = _requete_historique(representation, representation.version == "1")
        reponse["etag"] = representation.etag
        reponse["lastModified"] = instant_fhir(representation.derniere_maj)
        entree_historique = {"fullUrl": contexte.url(f"{representation.type}/{representation.id}")}
        if not representation.supprimee:
            entree_historique["resource"] = representation.ressource
        entree_historique["request"] = requete
        entree_historique["response"] = reponse
        entrees.append(entree_historique)
    bundle = _bundle("history", total=len(entrees), link=[{"relation": "self", "url": adresse_self}])
    if entrees:
        bundle["entry"] = entrees
    return bundle
