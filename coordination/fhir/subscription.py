"""Ressource FHIR Subscription (CI-SIS Notification d'événements, `nde-subscription`) : les
abonnements du logiciel d'une structure à nos notifications (coordination/notifications/abonnements.py,
docs/decisions/0036-sms-et-webhooks-nde.md).

- Réservée aux logiciels (jeton OAuth2 d'un client logiciel) : une session du portail → 403.
- Création `POST /fhir/Subscription` (201, Location), mise à jour ou arrêt (`status: off`)
  `PUT /fhir/Subscription/<id>` (If-Match accepté), lecture et recherche (`status`, `_id`,
  `_lastUpdated`) : les abonnements de la structure du logiciel seulement ; celui d'une autre
  structure est introuvable (404, comme un id inconnu).
- Ressource invalide : 400 (fhir.resources) ou 422 OperationOutcome en français ; rien n'est écrit.
- Écritures journalisées par le service ; lecture d'un abonnement à un usager notée au journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oauth2_provider.oauth2_backends import get_oauthlib_core

from coordination.comptes.models import ClientLogiciel
from coordination.fhir import erreurs
from coordination.fhir.filtres import FiltreJeton, champ_egal, uuid_ou_rien
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
from coordination.fhir.versions import instant_fhir
from coordination.journal.lectures import noter_lecture
from coordination.notifications import abonnements
from coordination.notifications.models_abonnements import Abonnement

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Recherche

SYSTEME_STATUT = "http://hl7.org/fhir/subscription-status"


def _exiger_logiciel(contexte: Contexte) -> None:
    if not contexte.acteur.est_logiciel or contexte.acteur.structure is None:
        raise erreurs.interdit(
            "Les abonnements aux notifications (Subscription) sont ceux des logiciels des structures : "
            "appelez avec le jeton OAuth2 du logiciel de votre structure."
        )


def _client(contexte: Contexte) -> ClientLogiciel:
    """Le client logiciel du jeton de la requête (déjà vérifié par l'authentification)."""
    valide, requete_oauth = get_oauthlib_core().verify_request(contexte.requete, scopes=[])
    jeton = getattr(requete_oauth, "access_token", None) if valide else None
    client = ClientLogiciel.objects.filter(application=getattr(jeton, "application", None)).first()
    if client is None or not client.actif:
        raise erreurs.non_authentifie(
            "Jeton d'accès invalide, expiré ou révoqué.", erreur_oauth="invalid_token"
        )
    return client


def _erreur(invalide: abonnements.SubscriptionInvalide) -> erreurs.ErreurFHIR:
    return erreurs.non_traitable(str(invalide), expression=[invalide.expression])


def _sans_id(ressource: dict) -> dict:
    return {cle: valeur for cle, valeur in ressource.items() if cle not in ("id", "meta")}


@enregistrer
class RessourceSubscription(RessourceModele):
    type = "Subscription"
    profil = abonnements.PROFIL_SUBSCRIPTION
    documentation = (
        "Abonnement NdE du logiciel d'une structure : webhook (rest-hook) à chaque événement suivi "
        "(JDV_J46 NOT, DOC, ou code local) sur un usager que la structure peut lire."
    )
    modele = Abonnement
    versionnee = True
    interactions = frozenset(
        {Interaction.READ, Interaction.SEARCH_TYPE, Interaction.CREATE, Interaction.UPDATE}
    )
    parametres = (
        ParametreRecherche(
            "status", TypeParametre.TOKEN, "Statut (active, off, error)",
            filtre=FiltreJeton({SYSTEME_STATUT: champ_egal("statut")}),
        ),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le", "id")}

    def queryset(self, contexte: Contexte):
        _exiger_logiciel(contexte)
        return Abonnement.objects.filter(structure=contexte.acteur.structure).select_related("usager")

    def representation(self, objet: Abonnement) -> Representation:
        ressource = {"resourceType": "Subscription", "id": str(objet.uuid), **_sans_id(objet.ressource)}
        ressource["meta"] = {
            "versionId": str(objet.version),
            "lastUpdated": instant_fhir(objet.modifie_le),
            "profile": [abonnements.PROFIL_SUBSCRIPTION],
        }
        ressource["status"] = objet.statut
        return Representation(ressource=ressource, derniere_maj=objet.modifie_le, version=str(objet.version))

    def _noter(self, contexte: Contexte, objets) -> None:
        for objet in objets:
            if objet.usager_id is not None:
                noter_lecture(
                    contexte.requete, usager=objet.usager, objet=objet,
                    action="notifications.abonnement.lecture", acteur=contexte.acteur,
                )  # fmt: skip

    def _trouver(self, contexte: Contexte, id_logique: str) -> Abonnement:
        identifiant = uuid_ou_rien(id_logique)
        objet = self.queryset(contexte).filter(uuid=identifiant).first() if identifiant else None
        if objet is None:
            raise erreurs.introuvable(self.type, id_logique)
        return objet

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        objet = self._trouver(contexte, id_logique)
        self._noter(contexte, [objet])
        return self.representation(objet)

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        uuids = [r.id for r in page.correspondances]
        self._noter(contexte, self.queryset(contexte).filter(uuid__in=uuids, usager__isnull=False))
        return page

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        _exiger_logiciel(contexte)
        client = _client(contexte)
        try:
            objet = abonnements.creer(
                acteur=contexte.acteur, client=client, ressource=_sans_id(ressource), uuid=id_logique
            )
        except abonnements.SubscriptionInvalide as invalide:
            raise _erreur(invalide) from None
        return self.representation(objet)

    def modifier(
        self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue: str | None
    ) -> tuple[Representation, bool]:
        objet = self._trouver(contexte, id_logique)
        if version_attendue is not None and version_attendue != str(objet.version):
            raise erreurs.version_perimee(version_attendue, str(objet.version))
        try:
            objet = abonnements.modifier(
                acteur=contexte.acteur, abonnement=objet, ressource=_sans_id(ressource)
            )
        except abonnements.SubscriptionInvalide as invalide:
            raise _erreur(invalide) from None
        return self.representation(objet), False
