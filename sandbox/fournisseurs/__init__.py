"""Fournisseurs d'identité du bac à sable (OpenID Connect), servis en local par `make run` et par
les tests. `oidc.py` : le cadre commun (découverte, autorisation avec PKCE, jetons, userinfo,
déconnexion) ; `psc.py` : ce qui est propre à Pro Santé Connect (chemins, identités de test,
SubjectRefPro). Voir docs/decisions/0013-fournisseurs-bac-a-sable.md. Jamais importé par le code de
production."""
