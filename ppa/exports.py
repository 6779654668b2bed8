"""Le projet personnalisé en PDF (WeasyPrint), sous deux formes (ADR 0028) :
- **facile à lire**, pour la personne : phrases courtes, ses mots d'abord (« Ce que je veux »),
  ses objectifs et ce qui est prévu pour chacun (qui, quand), son avis, gros caractères ;
- **complète**, pour les professionnels : besoins (codes SERAFIN-PH), objectifs (résultat attendu,
  stratégie, avis), actions (intervenant, lieu, fréquence, durée, prestation), accords et empreinte.
Fonctions sans requête : la version et son contenu déjà chargés (`ppa.fhir.ContenuCharge`)."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from agenda.recurrence import decrire_regle
from ppa.fhir import ContenuCharge
from ppa.models import StatutVersion


def _actions_par_objectif(charge: ContenuCharge) -> list[tuple]:
    par_objectif: dict[int, list] = {o.pk: [] for o in charge.objectifs}
    for action in charge.actions:
        action.frequence_en_clair = decrire_regle(action.frequence) if action.frequence else ""
        par_objectif.setdefault(action.objectif_id, []).append(action)
    return [(objectif, par_objectif[objectif.pk]) for objectif in charge.objectifs]


def _pdf(gabarit: str, feuille: str, charge: ContenuCharge, edite_par: str) -> bytes:
    from weasyprint import CSS, HTML

    version = charge.version
    html = render_to_string(
        gabarit,
        {
            "version": version,
            "projet": version.projet,
            "usager": version.projet.usager,
            "validee": version.statut in (StatutVersion.VALIDEE, StatutVersion.REMPLACEE),
            "besoins": charge.besoins,
            "objectifs": _actions_par_objectif(charge),
            "accords": [a for a in charge.accords if version.empreinte and a.empreinte == version.empreinte],
            "edite_le": timezone.localtime(),
            "edite_par": edite_par,
        },
    )
    feuilles = [CSS(filename=finders.find(f"css/{nom}.css")) for nom in ("preuve", feuille)]
    return HTML(string=html, base_url=None).write_pdf(stylesheets=feuilles)


def pdf_complet(charge: ContenuCharge, *, edite_par: str) -> bytes:
    return _pdf("ppa/pdf_complet.html", "export_ppa", charge, edite_par)


def pdf_facile_a_lire(charge: ContenuCharge, *, edite_par: str) -> bytes:
    return _pdf("ppa/pdf_facile.html", "export_ppa_facile", charge, edite_par)
