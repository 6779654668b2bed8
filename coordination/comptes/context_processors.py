from coordination.comptes.acteur import TypeActeur


def acteur(request) -> dict:
    """Expose l'acteur de la requête aux gabarits (en-tête « vous agissez en tant que »)."""
    return {"acteur": getattr(request, "acteur", None), "TypeActeur": TypeActeur}
