"""Pro Santé Connect du bac à sable : chemins du vrai PSC (docs interop §8) et identités de test
tirées des professionnels de démonstration (coordination/personnes/demo.py) qui ont un RPPS.

- émetteur `{base}/auth/realms/esante-wallet`,
  découverte `{émetteur}/.well-known/wallet-openid-configuration` ;
- autorisation sur le chemin « wallet » `{base}/wallet/auth` (hôte wallet.* chez ANS) ;
- jeton, userinfo, déconnexion et clés sous `{émetteur}/protocol/openid-connect/` ;
- `acr` = eidas1, portées `openid scope_all` ;
- `sub` au format du PSC réel (`f:<uuid>:<SubjectNameID>`) : le portail doit se fier au
  `SubjectNameID` (idNat_PS), pas au `sub`.
"""

from __future__ import annotations

import uuid

from coordination.personnes.demo import PROFESSIONNELS, STRUCTURES, ProfessionnelDemo
from sandbox.fournisseurs.oidc import ClientOIDC, DescriptionFournisseur, FournisseurOIDC, IdentiteTest

CLIENT_ID_DEFAUT = "portail-coordination-bac-a-sable"
# Valeur de développement, publique, sans valeur hors du bac à sable.
SECRET_DEFAUT = "secret-de-developpement-bac-a-sable-psc-non-secret"  # noqa: S105

_ESPACE = uuid.UUID("7d1f0c52-3a7e-5d64-9b0e-50c0de0de0c1")
_STRUCTURES = {s.cle: s for s in STRUCTURES}


def _activite(pro: ProfessionnelDemo, exercice) -> dict:
    if exercice.structure is None:  # cabinet libéral : pas de FINESS
        return {
            "codeModeExercice": exercice.mode, "codeSecteurDactivite": "SA07", "codeRole": "",
            "codeGenreActivite": "", "numeroFinessSite": "", "numeroFinessetablissementJuridique": "",
            "numeroSiretSite": "", "numeroSirenSite": "",
            "identifiantTechniqueDeLaStructure": "R" + pro.rpps[-6:],
            "raisonSocialeSite": f"CABINET {pro.civilite_exercice or ''} {pro.nom}".replace("  ", " "),
        }  # fmt: skip
    s = _STRUCTURES[exercice.structure]
    return {
        "codeModeExercice": exercice.mode, "codeSecteurDactivite": exercice.secteur or "SA05",
        "codeRole": "", "codeGenreActivite": "",
        "numeroFinessSite": s.finess_eg or "", "numeroFinessetablissementJuridique": s.finess_ej or "",
        "numeroSiretSite": s.siret, "numeroSirenSite": s.siret[:9],
        "identifiantTechniqueDeLaStructure": s.identifiant_technique or ("F" + (s.finess_eg or "")),
        "raisonSocialeSite": s.raison_sociale, "codePostal": s.commune.code_postal,
        "bureauCedex": f"{s.commune.code_postal} {s.commune.nom.upper()}", "codePays": "99000",
    }  # fmt: skip


def identite_de(pro: ProfessionnelDemo) -> IdentiteTest:
    idnat = pro.idnat_ps
    exercices = pro.exercices
    revendications = {
        "SubjectNameID": idnat, "preferred_username": idnat,
        "given_name": pro.prenom.upper(), "family_name": pro.nom, "authMode": "CARD",
        "SubjectRole": [f"{pro.profession_code}^1.2.250.1.213.1.1.5.5"] if pro.profession_code else [],
        "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
        "otherIds": [{"identifiant": idnat, "origine": "RPPS", "qualite": 1}],
        "SubjectRefPro": {
            "codeCivilite": "",
            "exercices": [{
                "codeProfession": pro.profession_code, "codeCategorieProfessionnelle": "C",
                "codeCiviliteDexercice": pro.civilite_exercice, "nomDexercice": pro.nom,
                "prenomDexercice": pro.prenom, "codeTypeSavoirFaire": "", "codeSavoirFaire": "",
                "activities": [_activite(pro, e) for e in exercices],
            }],
        },
    }  # fmt: skip
    nombre = len(exercices)
    situations = "1 situation d'exercice" if nombre == 1 else f"{nombre} situations d'exercice"
    return IdentiteTest(
        cle=idnat,
        libelle=f"{pro.prenom} {pro.nom} — {pro.profession_libelle}, {situations} (RPPS {pro.rpps})",
        revendications=revendications,
        sub=f"f:{uuid.uuid5(_ESPACE, idnat)}:{idnat}",
    )


def identites() -> list[IdentiteTest]:
    """Les professionnels de démonstration qui ont un RPPS, ceux qui ont plusieurs situations
    d'exercice en premier."""
    pros = sorted((p for p in PROFESSIONNELS if p.rpps), key=lambda p: -len(p.exercices))
    return [identite_de(p) for p in pros]


DESCRIPTION = DescriptionFournisseur(
    nom="Pro Santé Connect (bac à sable)",
    chemin_emetteur="/auth/realms/esante-wallet",
    chemin_decouverte="/.well-known/wallet-openid-configuration",
    chemin_autorisation="/wallet/auth",
    chemins_protocole={
        "token": "/protocol/openid-connect/token",
        "userinfo": "/protocol/openid-connect/userinfo",
        "logout": "/protocol/openid-connect/logout",
        "certs": "/protocol/openid-connect/certs",
    },
    acr="eidas1",
    portees=("openid", "scope_all"),
    identites=identites,
    revendications_jeton=lambda identite: {"idp": "PSC", "amr": ["CARD"]},
    revendications_supportees=(
        "sub",
        "SubjectNameID",
        "preferred_username",
        "given_name",
        "family_name",
        "SubjectRefPro",
        "SubjectRole",
        "otherIds",
        "authMode",
        "Palier_Authentification",
    ),
)


def fournisseur_psc(
    client_id: str = CLIENT_ID_DEFAUT, secret: str = SECRET_DEFAUT, signature: str = "HS256",
    userinfo: str = "json",
) -> FournisseurOIDC:  # fmt: skip
    return FournisseurOIDC(
        DESCRIPTION, [ClientOIDC(client_id, secret, signature=signature, userinfo=userinfo)]
    )
