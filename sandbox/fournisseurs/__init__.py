"""Fournisseurs d'identité du bac à sable (OpenID Connect), servis en local par `make run` et par
les tests. `oidc.py` : le cadre commun (découverte, autorisation avec PKCE, jetons, userinfo,
déconnexion, chiffrement JWE) ; `psc.py` : ce qui est propre à Pro Santé Connect (chemins,
identités de test, SubjectRefPro) ; `fcplus.py` : ce qui est propre à FranceConnect+ (chemins
`/api/v2`, eidas2/eidas3, jetons ES256 chiffrés, `sub` pairwise, identité pivot). Voir
docs/decisions/0013-fournisseurs-bac-a-sable.md et 0015-franceconnect-plus.md. Jamais importé par
le code de production."""
