"""FranceConnect+ du bac à sable : chemins du vrai FC+ (docs interop §9) et identités de test dont
l'identité pivot reprend les traits INS des usagers de démonstration (coordination/personnes/demo.py).

- émetteur `{base}/api/v2` ; découverte `/api/v2/.well-known/openid-configuration` ; autorisation,
  jeton, userinfo, clés et fin de session : `/api/v2/authorize`, `/token`, `/userinfo`, `/jwks`,
  `/session/end` ;
- `acr_values` : eidas2 ou eidas3 (le plus bas s'il y en a plusieurs ; eidas3 s'il manque) ;
  eidas1 est refusé (renvoyé au client en erreur) ; une identité de test peut imposer eidas1 pour
  vérifier que le portail le refuse ;
- jeton d'identité et userinfo signés ES256 puis chiffrés (JWE RSA-OAEP + A256GCM) pour la clé
  publique que le portail publie à son `jwks_uri` ;
- `client_secret_post` à l'adresse de jeton (documentation FC+ des « endpoints ») ; PKCE accepté
  et vérifié s'il est demandé, pas exigé ; `state` et `nonce` de 22 caractères au moins ;
- `sub` par client (pairwise), 66 caractères hexadécimaux suivis de « v » ;
- une revendication par portée, plus les alias `profile`, `birth`, `identite_pivot` ;
- pas d'authentification unique : chaque connexion redemande l'identité (comme FC+) ; la fin de
  session exige `id_token_hint`, `state` et `post_logout_redirect_uri`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from coordination.personnes.demo import USAGERS, UsagerDemo
from sandbox.fournisseurs.oidc import (
    ClientOIDC,
    DescriptionFournisseur,
    ErreurOAuth,
    FournisseurOIDC,
    IdentiteTest,
)

CLIENT_ID_DEFAUT = "portail-coordination-bac-a-sable-fcplus"
# Valeur de développement, publique, sans valeur hors du bac à sable.
SECRET_DEFAUT = "secret-de-developpement-bac-a-sable-fcplus-non-secret"  # noqa: S105
CHEMIN_JWKS_PORTAIL = "/comptes/fcplus/jwks.json"

PIVOT = ("given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry")
PORTEES_ALIAS = {
    "profile": ("given_name", "family_name", "preferred_username", "birthdate", "gender"),
    "birth": ("birthplace", "birthcountry"),
    "identite_pivot": PIVOT,
}
REVENDICATIONS = (*PIVOT, "preferred_username", "email")
FRANCE = "99100"
_USAGERS = {u.cle: u for u in USAGERS}


def niveau_demande(acr_values: str | None) -> str:
    """eidas2 ou eidas3 ; le plus bas s'il y en a plusieurs ; eidas3 si aucun n'est reconnu ;
    eidas1 : erreur renvoyée au client (FC+ ne fournit pas ce niveau)."""
    valeurs = (acr_values or "").split()
    if "eidas1" in valeurs:
        raise ErreurOAuth(
            400, "invalid_acr", "FranceConnect+ ne propose pas le niveau eidas1 (eidas2 ou eidas3).", True
        )
    connus = sorted(v for v in valeurs if v in {"eidas2", "eidas3"})
    return connus[0] if connus else "eidas3"


def revendications_selon_portees(identite: IdentiteTest, portees: set[str]) -> dict:
    permises = {r for p in portees for r in PORTEES_ALIAS.get(p, (p,))}
    return {k: v for k, v in identite.revendications.items() if k in permises}


def sub_pairwise(identite: IdentiteTest, client_id: str) -> str:
    """`sub` propre à chaque client (pairwise), au format FC+ : 66 hexadécimaux puis « v »."""
    graine = f"fcplus-bac-a-sable|{client_id}|{identite.cle}".encode()
    return hashlib.blake2b(graine, digest_size=33).hexdigest() + "v"


@dataclass(frozen=True)
class PersonneFC:
    cle: str
    prenoms: str  # prénoms de naissance, séparés par une espace
    nom: str  # nom de naissance
    naissance: date
    sexe: str  # F / M
    lieu: str  # code COG de la commune ; code pays 99xxx pour une naissance à l'étranger
    nom_usage: str = ""
    email: str = ""
    role: str = ""  # ce que l'identité permet de vérifier (libellé de la page de choix)
    acr: str = ""


def _depuis_usager(usager: str, role: str, **changements) -> PersonneFC:
    u: UsagerDemo = _USAGERS[usager]
    cle = changements.pop("cle", usager)
    valeurs = {
        "cle": cle, "prenoms": u.prenoms_naissance, "nom": u.nom_naissance, "naissance": u.date_naissance,
        "sexe": u.sexe, "lieu": u.code_lieu_naissance, "nom_usage": u.nom_utilise,
        "email": f"{usager}.fcplus@demo.invalid", "role": role,
    }  # fmt: skip
    return PersonneFC(**(valeurs | changements))


PERSONNES: tuple[PersonneFC, ...] = (
    _depuis_usager("marcelle", "personne accompagnée : traits identiques à ceux du portail"),
    _depuis_usager("lucien", "personne accompagnée née à Paris 14e"),
    _depuis_usager("ana", "personne accompagnée née au Portugal (lieu de naissance vide)"),
    PersonneFC(
        "martine", "Martine Odette", "FAURE-FICTIF", date(1958, 4, 2), "F", "96012",
        email="martine.faure@demo.invalid", role="aidante, à relier avec un code d'invitation",
    ),
    PersonneFC(
        "sophie", "Sophie Anne", "MARTIN-FICTIF", date(1966, 9, 14), "F", "96025",
        email="aidante@demo.invalid",
        role="aidante dont le courriel est celui d'un compte local existant (jamais relié par courriel)",
    ),
    _depuis_usager(
        "robert", "traits presque identiques à ceux d'un usager (lieu de naissance différent) : refusé",
        cle="robert-presque", lieu="96026",
    ),
    _depuis_usager(
        "lucien", "compte au niveau faible (eidas1) : refusé par le portail", cle="lucien-eidas1",
        acr="eidas1",
    ),
)  # fmt: skip


def identite_de(personne: PersonneFC) -> IdentiteTest:
    etranger = personne.lieu.startswith("99")
    revendications = {
        "given_name": personne.prenoms,
        "family_name": personne.nom,
        "birthdate": personne.naissance.isoformat(),
        "gender": "female" if personne.sexe == "F" else "male",
        "birthplace": "" if etranger else personne.lieu,
        "birthcountry": personne.lieu if etranger else FRANCE,
    }
    if personne.nom_usage:
        revendications["preferred_username"] = personne.nom_usage
    if personne.email:
        revendications["email"] = personne.email
    libelle = (
        f"{personne.prenoms} {personne.nom} — née le " if personne.sexe == "F" else
        f"{personne.prenoms} {personne.nom} — né le "
    ) + f"{personne.naissance:%d/%m/%Y} · {personne.role}"  # fmt: skip
    return IdentiteTest(
        cle=personne.cle, libelle=libelle, revendications=revendications, sub="", acr=personne.acr
    )


def identites() -> list[IdentiteTest]:
    return [identite_de(p) for p in PERSONNES]


DESCRIPTION = DescriptionFournisseur(
    nom="FranceConnect+ (bac à sable)",
    chemin_emetteur="/api/v2",
    chemin_decouverte="/.well-known/openid-configuration",
    chemin_autorisation="/api/v2/authorize",
    chemins_protocole={
        "token": "/token",
        "userinfo": "/userinfo",
        "logout": "/session/end",
        "certs": "/jwks",
    },  # fmt: skip
    acr="eidas2",
    portees=("openid", *REVENDICATIONS, *PORTEES_ALIAS),
    identites=identites,
    revendications_jeton=lambda identite: {"idp": "bac-a-sable-fcplus", "amr": ["pwd", "mfa"]},
    revendications_supportees=("sub", *REVENDICATIONS),
    niveau_demande=niveau_demande,
    acr_supportes=("eidas2", "eidas3"),
    revendications_userinfo=revendications_selon_portees,
    sub_pour=sub_pairwise,
    authentification_unique=False,
    pkce_obligatoire=False,
    methodes_auth_client=("client_secret_post",),
    longueur_min_state_nonce=22,
    deconnexion_complete_obligatoire=True,
    duree_jeton_acces=60,
)


def fournisseur_fcplus(
    jwks_uri: str = "", client_id: str = CLIENT_ID_DEFAUT, secret: str = SECRET_DEFAUT,
    chiffrement: str = "RSA-OAEP",
) -> FournisseurOIDC:  # fmt: skip
    """`jwks_uri` : adresse du JWKS de chiffrement publié par le portail (connue une fois son port
    choisi ; peut être posée après coup sur le client)."""
    client = ClientOIDC(
        client_id, secret, signature="ES256", userinfo="jwt", chiffrement=chiffrement, jwks_uri=jwks_uri
    )
    return FournisseurOIDC(DESCRIPTION, [client])
