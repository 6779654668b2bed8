"""Erreurs FHIR : toute erreur de l'API sort en OperationOutcome, avec le bon statut HTTP et un
diagnostic en français.

Le code lève `ErreurFHIR` (ou l'une des fabriques ci-dessous) ; la vue la transforme en réponse.
`issue.code` suit le jeu de valeurs FHIR IssueType (http://hl7.org/fhir/issue-type).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probleme:
    """Un `OperationOutcome.issue`."""

    diagnostics: str
    code: str = "invalid"
    severite: str = "error"
    expression: tuple[str, ...] = ()

    def en_fhir(self) -> dict:
        issue = {"severity": self.severite, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


def operation_outcome(problemes: list[Probleme] | tuple[Probleme, ...]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [p.en_fhir() for p in problemes]}


@dataclass
class ErreurFHIR(Exception):
    """Erreur rendue en OperationOutcome. `problemes` : au moins un ; `en_tetes` : en-têtes HTTP
    à ajouter (WWW-Authenticate, Allow…)."""

    statut: int
    problemes: list[Probleme]
    en_tetes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.problemes[0].diagnostics if self.problemes else "")

    @classmethod
    def simple(
        cls,
        statut: int,
        diagnostics: str,
        code: str = "invalid",
        *,
        expression: tuple[str, ...] | list[str] = (),
        en_tetes: dict[str, str] | None = None,
    ) -> ErreurFHIR:
        return cls(statut, [Probleme(diagnostics, code, expression=tuple(expression))], en_tetes or {})

    def operation_outcome(self) -> dict:
        return operation_outcome(self.problemes)

    def avec_prefixe(self, prefixe: str) -> ErreurFHIR:
        """La même erreur, expressions et diagnostics situés dans une entrée de Bundle."""
        problemes = [
            Probleme(
                p.diagnostics if p.diagnostics.startswith(prefixe) else f"{prefixe} : {p.diagnostics}",
                p.code,
                p.severite,
                tuple(f"{prefixe}.{e}" if not e.startswith(prefixe) else e for e in p.expression)
                or (prefixe,),
            )
            for p in self.problemes
        ]
        return ErreurFHIR(self.statut, problemes, self.en_tetes)


# --- Fabriques ---------------------------------------------------------------------------------


def requete_invalide(diagnostics: str, *, expression: tuple[str, ...] | list[str] = ()) -> ErreurFHIR:
    return ErreurFHIR.simple(400, diagnostics, "invalid", expression=expression)


def non_traitable(diagnostics: str, *, expression: tuple[str, ...] | list[str] = ()) -> ErreurFHIR:
    """422 : ressource bien formée mais refusée par les règles métier ou le profil."""
    return ErreurFHIR.simple(422, diagnostics, "processing", expression=expression)


def type_inconnu(type_ressource: str) -> ErreurFHIR:
    return ErreurFHIR.simple(
        404,
        f"Type de ressource « {type_ressource[:64]} » non pris en charge par ce serveur.",
        "not-supported",
    )


def route_inconnue(chemin: str) -> ErreurFHIR:
    return ErreurFHIR.simple(404, f"Adresse FHIR inconnue : « {chemin[:200]} ».", "not-found")


def interaction_non_prise_en_charge(
    type_ressource: str, interaction: str, methodes_permises: list[str] | None = None
) -> ErreurFHIR:
    en_tetes = {"Allow": ", ".join(methodes_permises)} if methodes_permises else {}
    return ErreurFHIR.simple(
        405,
        f"L'interaction « {interaction} » n'est pas prise en charge pour {type_ressource}.",
        "not-supported",
        en_tetes=en_tetes,
    )


def introuvable(type_ressource: str, id_logique: str, version: str | None = None) -> ErreurFHIR:
    quoi = f"{type_ressource}/{id_logique[:64]}" + (f"/_history/{version[:64]}" if version else "")
    return ErreurFHIR.simple(404, f"Ressource {quoi} introuvable.", "not-found")


def supprimee(type_ressource: str, id_logique: str) -> ErreurFHIR:
    return ErreurFHIR.simple(410, f"Ressource {type_ressource}/{id_logique} supprimée.", "deleted")


def non_authentifie(diagnostics: str, *, erreur_oauth: str | None = None) -> ErreurFHIR:
    """401 avec le défi Bearer (RFC 6750) ; `erreur_oauth` : invalid_token quand un jeton a été
    présenté mais ne vaut rien (expiré, révoqué, inconnu)."""
    defi = 'Bearer realm="fhir"'
    if erreur_oauth:
        defi += f', error="{erreur_oauth}", error_description="{diagnostics}"'
    return ErreurFHIR.simple(401, diagnostics, "login", en_tetes={"WWW-Authenticate": defi})


def interdit(diagnostics: str, *, portee_manquante: str | None = None) -> ErreurFHIR:
    en_tetes = {}
    if portee_manquante:
        en_tetes["WWW-Authenticate"] = (
            f'Bearer realm="fhir", error="insufficient_scope", scope="{portee_manquante}"'
        )
    return ErreurFHIR.simple(403, diagnostics, "forbidden", en_tetes=en_tetes)


def conflit(diagnostics: str) -> ErreurFHIR:
    return ErreurFHIR.simple(409, diagnostics, "conflict")


def version_perimee(attendue: str, courante: str) -> ErreurFHIR:
    return ErreurFHIR.simple(
        412,
        f"If-Match : la version attendue ({attendue[:64]}) n'est pas la version courante ({courante}). "
        "Relisez la ressource puis recommencez.",
        "conflict",
    )


def plusieurs_correspondances(type_ressource: str) -> ErreurFHIR:
    """412 d'une mise à jour conditionnelle dont les critères désignent plusieurs ressources."""
    return ErreurFHIR.simple(
        412,
        f"Les critères de l'adresse désignent plusieurs {type_ressource} : précisez-les (système et "
        "valeur de l'identifiant) pour n'en désigner qu'une.",
        "multiple-matches",
    )


def format_non_accepte(diagnostics: str) -> ErreurFHIR:
    return ErreurFHIR.simple(406, diagnostics, "not-supported")


def type_media_non_pris_en_charge(diagnostics: str) -> ErreurFHIR:
    return ErreurFHIR.simple(415, diagnostics, "not-supported")
