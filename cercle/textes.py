"""Textes de consentement, versionnés. La page montre exactement le texte que le service enregistre
(même fonction) ; changer un texte, c'est changer sa version : les preuves anciennes gardent le leur."""

from __future__ import annotations

from datetime import date

from cercle.models import Domaine, Niveau, ObjetConsentement

_VERBE = {
    Niveau.LECTURE: "consulter",
    Niveau.ECRITURE: "consulter et compléter",
    Niveau.GESTION: "consulter, compléter et gérer",
}
_DOMAINE = {
    Domaine.CERCLE: "mon cercle de santé et d'accompagnement",
    Domaine.CAHIER: "mon cahier de liaison",
    Domaine.PPA: "mon projet personnalisé d'accompagnement",
    Domaine.AGENDA: "mon agenda",
    Domaine.IDENTITE: "mon identité et mes coordonnées",
}
_RETRAIT = "Je peux retirer cet accord à tout moment depuis la page « Mon cercle »."

VERSIONS = {
    ObjetConsentement.OCTROI: "octroi-2026-11",
    ObjetConsentement.REVOCATION: "retrait-2026-11",
    ObjetConsentement.DELEGATION: "delegation-2026-11",
    ObjetConsentement.FIN_DELEGATION: "fin-delegation-2026-11",
    ObjetConsentement.GESTIONNAIRE: "gestionnaire-2026-11",
}


def _jusqu_au(date_fin: date | None) -> str:
    return f" jusqu'au {date_fin:%d/%m/%Y} inclus" if date_fin else ", sans limite de durée"


def texte_octroi(*, membre: str, domaine: str, niveau: int, date_fin: date | None) -> str:
    if domaine == Domaine.CERCLE and niveau == Niveau.GESTION:
        return (
            f"Je confie la gestion de {_DOMAINE[domaine]} à {membre}{_jusqu_au(date_fin)} : "
            "cette personne pourra "
            f"ajouter et retirer des membres et accorder ou retirer des droits en mon nom. {_RETRAIT}"
        )
    return f"J'autorise {membre} à {_VERBE[niveau]} {_DOMAINE[domaine]}{_jusqu_au(date_fin)}. {_RETRAIT}"


def texte_revocation(*, membre: str, domaine: str, niveau: int) -> str:
    if domaine == Domaine.CERCLE and niveau == Niveau.GESTION:
        return f"Je retire à {membre} la gestion de {_DOMAINE[domaine]}, à compter de maintenant."
    return f"Je retire à {membre} le droit de {_VERBE[niveau]} {_DOMAINE[domaine]}, à compter de maintenant."


def texte_delegation(*, delegant: str, assistant: str, domaine: str, niveau: int, date_fin: date) -> str:
    return (
        f"J'accepte que {assistant} assiste {delegant} et puisse {_VERBE[niveau]} {_DOMAINE[domaine]}"
        f"{_jusqu_au(date_fin)}, jamais plus que ce que {delegant} peut faire lui-même ou elle-même. "
        f"{_RETRAIT}"
    )


def texte_fin_delegation(*, delegant: str, assistant: str, domaine: str) -> str:
    return (
        f"Je mets fin à l'accès de {assistant}, assistant de {delegant}, à {_DOMAINE[domaine]}, "
        "à compter de maintenant."
    )


def objet_octroi(domaine: str, niveau: int) -> str:
    """Confier la gestion du cercle est un changement de gestionnaire, pas un simple octroi."""
    if domaine == Domaine.CERCLE and niveau == Niveau.GESTION:
        return ObjetConsentement.GESTIONNAIRE
    return ObjetConsentement.OCTROI


def objet_retrait(domaine: str, niveau: int) -> str:
    if domaine == Domaine.CERCLE and niveau == Niveau.GESTION:
        return ObjetConsentement.GESTIONNAIRE
    return ObjetConsentement.REVOCATION
