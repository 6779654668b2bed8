"""Flux temps réel du cahier d'un usager (Server-Sent Events, ADR 0017).

À l'ouverture : même règle que les pages (404 hors du monde de l'acteur, 403 sans droit de lecture
du cahier). Ensuite, chaque message du canal Redis de l'usager (UUID de note, nature, code de
visibilité : aucune donnée de santé) est relayé si l'acteur lit encore ce cahier — habilitation
relue à chaque message et à chaque battement — et si la visibilité de la note est de celles que
cette sorte d'acteur lit. Droit perdu : événement « fin » et le flux se ferme. La page va chercher
la note par `views.fragment`, qui applique `peut_voir_note`.

Le flux dure au plus `CAHIER_TEMPS_REEL_DUREE_MAX` secondes (le navigateur se reconnecte seul) :
sous `runserver` (un fil par requête) aucun fil n'est gardé indéfiniment. Redis en panne : le flux
envoie « indisponible » et se ferme ; la page reste utilisable, recharger montre tout."""

from __future__ import annotations

import json
import logging
import time

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from cahier_liaison import selectors, temps_reel
from cahier_liaison.views import _cahier
from cercle import habilitations
from cercle.views import _refus_journalise

journal = logging.getLogger(__name__)


def _evenement(nom: str, donnees: dict | None = None, identifiant: str = "") -> bytes:
    lignes = []
    if identifiant:
        lignes.append(f"id: {identifiant}")
    lignes.append(f"event: {nom}")
    lignes.append(f"data: {json.dumps(donnees or {})}")
    return ("\n".join(lignes) + "\n\n").encode()


def _lit_encore(acteur, usager) -> bool:
    """Relit l'habilitation (sans le mémo de la requête : un droit retiré se voit tout de suite)."""
    habilitations.oublier(acteur)
    return habilitations.peut(acteur, usager, "lire", selectors.DOMAINE)


def diffuser(acteur, usager, *, battement: float | None = None, duree_max: float | None = None):
    """Le générateur du flux : abonnement au canal de l'usager, messages relayés, battements."""
    battement = settings.CAHIER_TEMPS_REEL_BATTEMENT if battement is None else battement
    duree_max = settings.CAHIER_TEMPS_REEL_DUREE_MAX if duree_max is None else duree_max
    lisibles = set(selectors.visibilites_permises(acteur))
    yield f"retry: {settings.CAHIER_TEMPS_REEL_RECONNEXION_MS}\n\n".encode()
    try:
        abonnement = temps_reel.connexion().pubsub(ignore_subscribe_messages=True)
        abonnement.subscribe(temps_reel.canal(usager.uuid))
    except redis.RedisError as exc:
        journal.warning("Cahier : flux temps réel indisponible (%s).", exc)
        yield _evenement("indisponible")
        return
    yield _evenement("ouvert")
    debut = prochain_battement = time.monotonic()
    prochain_battement += battement
    try:
        while time.monotonic() - debut < duree_max:
            attente = max(0.0, min(prochain_battement, debut + duree_max) - time.monotonic())
            try:
                recu = abonnement.get_message(timeout=attente)
            except redis.RedisError as exc:
                journal.warning("Cahier : flux temps réel interrompu (%s).", exc)
                yield _evenement("indisponible")
                return
            if recu is not None and recu.get("type") == "message":
                contenu = json.loads(recu["data"])
                if not _lit_encore(acteur, usager):
                    yield _evenement("fin")
                    return
                if contenu.get("visibilite", "") in lisibles:
                    champs = {cle: contenu[cle] for cle in ("note", "fil", "nature")}
                    yield _evenement("note", champs, identifiant=contenu.get("id", ""))
            if time.monotonic() >= prochain_battement:
                if not _lit_encore(acteur, usager):
                    yield _evenement("fin")
                    return
                yield b": battement\n\n"
                prochain_battement = time.monotonic() + battement
    finally:
        try:
            abonnement.close()
        except redis.RedisError:
            pass


@login_required
@require_GET
@_refus_journalise
def flux(request: HttpRequest, usager_uuid) -> StreamingHttpResponse:
    usager = _cahier(request, usager_uuid)
    reponse = StreamingHttpResponse(diffuser(request.acteur, usager), content_type="text/event-stream")
    reponse["Cache-Control"] = "no-cache"
    reponse["X-Accel-Buffering"] = "no"  # pas de mise en tampon par un mandataire (nginx)
    return reponse
