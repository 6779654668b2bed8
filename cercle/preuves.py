"""Preuve imprimable d'un consentement (retrait d'un droit surtout) : qui, quand, le texte exact,
l'usager, le membre, le domaine, l'UUID du consentement et la référence de l'événement du journal
qui l'a enregistré (UUID et empreinte de chaîne). PDF produit par WeasyPrint, sans ressource
extérieure (polices du système, static/css/preuve.css)."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone

from cercle.models import Consentement, Domaine, Habilitation, Membre, Niveau
from coordination.journal.models import Evenement

# Événements du journal qui portent l'UUID d'un consentement dans leurs détails.
ACTIONS_AVEC_CONSENTEMENT = ("cercle.droit.retrait", "cercle.droit.octroi")


@dataclass
class Preuve:
    membre: str
    domaine: str
    niveau: str
    evenement: Evenement | None


def preuve_consentement(consentement: Consentement) -> Preuve:
    """Ce que la preuve affiche en plus du consentement lui-même (deux requêtes au plus)."""
    details = consentement.details or {}
    membre = (
        Membre.objects.filter(uuid=details.get("membre"))
        .select_related("professionnel", "structure", "proche")
        .first()
        if details.get("membre")
        else None
    )
    if membre is None and details.get("habilitation"):
        droit = Habilitation.objects.filter(uuid=details["habilitation"]).select_related("membre").first()
        membre = droit.membre if droit else None
    domaine = details.get("domaine", "")
    niveau = details.get("niveau")
    evenement = (
        Evenement.objects.filter(
            usager_uuid=consentement.usager.uuid,
            action__in=ACTIONS_AVEC_CONSENTEMENT,
            details__consentement=str(consentement.uuid),
        )
        .order_by("id")
        .first()
    )
    return Preuve(
        membre=membre.nom_affiche if membre else "",
        domaine=Domaine(domaine).label if domaine in Domaine.values else "",
        niveau=Niveau(niveau).label if niveau in Niveau.values else "",
        evenement=evenement,
    )


def pdf_du_consentement(request, *, usager, consentement: Consentement, preuve: Preuve) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    html = render_to_string(
        "cercle/preuve.pdf.html",
        {
            "usager": usager,
            "consentement": consentement,
            "preuve": preuve,
            "edite_le": timezone.localtime(),
            "edite_par": request.acteur.nom,
        },
    )
    feuille = CSS(filename=finders.find("css/preuve.css"))
    return HTML(string=html, base_url=None).write_pdf(stylesheets=[feuille])
