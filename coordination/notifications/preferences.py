"""Préférences de notification : valeurs par défaut, canaux qu'une personne peut recevoir, thèmes.

Par défaut (rien choisi) : dans le portail tout de suite pour tout ; par courriel, un résumé du
jour, sauf les transmissions urgentes, tout de suite ; ni SMS ni MSSanté. MSSanté n'est offert
qu'aux professionnels qui ont une BAL personnelle, le SMS qu'à qui a donné un numéro de téléphone."""

from __future__ import annotations

from dataclasses import dataclass

from coordination.notifications.catalogue import Canal, Frequence, NatureNotification

N = NatureNotification

THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Cercle", (N.MEMBRE_AJOUTE, N.DEMANDE_ADHESION)),
    ("Cahier de liaison", (N.NOUVELLE_NOTE, N.NOTE_URGENTE, N.ACCUSE_DEMANDE, N.REPONSE, N.ALERTE)),
    (
        "Agenda",
        (
            N.REUNION_DEMANDEE,
            N.CONTRE_PROPOSITION,
            N.REUNION_CONFIRMEE,
            N.REUNION_DEPLACEE,
            N.REUNION_ANNULEE,
            N.REUNION_EXPIREE,
            N.RDV_MODIFIE,
            N.RDV_ANNULE,
        ),
    ),  # fmt: skip
    ("Projet personnalisé", (N.PPA_CONTRIBUTION, N.PPA_VALIDATION, N.PPA_REVUE)),
)

# Le portail montre tout de suite, ou jamais ; les résumés n'ont de sens que hors du portail.
FREQUENCES_PAR_CANAL: dict[str, tuple[str, ...]] = {
    Canal.DANS_LE_PORTAIL: (Frequence.IMMEDIATE, Frequence.JAMAIS),
    Canal.COURRIEL: tuple(Frequence.values),
    Canal.SMS: (Frequence.IMMEDIATE, Frequence.JAMAIS),
    Canal.MSSANTE: tuple(Frequence.values),
}


def frequence_par_defaut(nature: str, canal: str) -> str:
    if canal == Canal.DANS_LE_PORTAIL:
        return Frequence.IMMEDIATE
    if canal == Canal.COURRIEL:
        return Frequence.IMMEDIATE if nature == N.NOTE_URGENTE else Frequence.QUOTIDIENNE
    return Frequence.JAMAIS


@dataclass(frozen=True)
class Coordonnees:
    """Où joindre un compte, canal par canal ("" : canal indisponible), et pourquoi pas."""

    courriel: str
    telephone: str
    bal_mssante: str

    def adresse(self, canal: str) -> str:
        return {
            Canal.DANS_LE_PORTAIL: "portail",
            Canal.COURRIEL: self.courriel,
            Canal.SMS: self.telephone,
            Canal.MSSANTE: self.bal_mssante,
        }[canal]

    def raison_indisponible(self, canal: str) -> str:
        if self.adresse(canal):
            return ""
        if canal == Canal.MSSANTE:
            return (
                "MSSanté est la messagerie sécurisée des professionnels de santé : elle n'est proposée "
                "qu'avec une boîte aux lettres MSSanté personnelle renseignée dans votre fiche."
            )
        if canal == Canal.SMS:
            return "SMS : aucun numéro de téléphone n'est renseigné pour vous."
        return "Courriel : aucune adresse n'est renseignée pour votre compte."


def coordonnees_de(compte, professionnel=None, usager=None, proches=()) -> Coordonnees:
    """Les coordonnées d'un compte d'après les personnes qui lui sont reliées (déjà chargées)."""
    telephones = [
        p.telephone for p in (professionnel, usager, *proches) if p is not None and p.telephone.strip()
    ]
    return Coordonnees(
        courriel=compte.email or "",
        telephone=telephones[0].strip() if telephones else "",
        bal_mssante=(professionnel.bal_mssante if professionnel is not None else "") or "",
    )


def coordonnees_du_compte(compte) -> Coordonnees:
    """Les coordonnées d'un compte (trois requêtes : professionnel, usager, proches)."""
    from coordination.personnes.models import Proche, Professionnel, Usager

    return coordonnees_de(
        compte,
        professionnel=Professionnel.objects.filter(compte=compte).first(),
        usager=Usager.objects.filter(compte=compte).first(),
        proches=list(Proche.objects.filter(compte=compte)),
    )
