"""Lecture d'un historique de remboursement : les professionnels vus par l'usager, à proposer au cercle
(voie 1 du cercle, DE1 §1.2.2 : flux de l'Assurance Maladie vers le cercle). Fonctions pures, sans
base ; le service `cercle.services.importer_historique` s'en sert.

Deux formats, décrits dans docs/historique-remboursement.md :
- **CSV** UTF-8 (BOM toléré), séparateur « ; » ou « , », en-tête obligatoire avec au moins les
  colonnes `rpps` et `date` (une ligne par soin remboursé) ; `rpps` vaut les 11 chiffres du RPPS ou
  l'idNat_PS « 8 » + RPPS ; `date` en AAAA-MM-JJ ou JJ/MM/AAAA ;
- **FHIR R4** : un Bundle (collection, searchset, document ou batch) d'`ExplanationOfBenefit`
  (`provider` ou `careTeam[].provider` : identifiant RPPS ; date : `item[].servicedDate`,
  `billablePeriod.start`, sinon `created`) ou d'`Encounter` (`participant[].individual` : identifiant
  RPPS ; date : `period.start`).
Les lignes fautives sont signalées avec leur numéro (CSV) ou leur rang (FHIR) et une raison en
français ; les autres sont gardées.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from coordination.personnes.identifiants import avec_cle_luhn

TAILLE_MAX = 2 * 1024 * 1024
LIGNES_MAX = 20_000
SYSTEMES_RPPS = {"https://rpps.esante.gouv.fr", "urn:oid:1.2.250.1.71.4.2.1"}


class HistoriqueIllisible(ValueError):
    """Le fichier entier est inutilisable (format, taille, en-tête) : message français pour la personne."""


@dataclass
class Vu:
    """Un professionnel vu : RPPS, premières et dernières dates, nombre de soins."""

    rpps: str
    premiere: dt.date
    derniere: dt.date
    nombre: int = 1

    def ajouter(self, jour: dt.date) -> None:
        self.premiere = min(self.premiere, jour)
        self.derniere = max(self.derniere, jour)
        self.nombre += 1

    @property
    def resume(self) -> str:
        fois = "1 soin remboursé" if self.nombre == 1 else f"{self.nombre} soins remboursés"
        if self.premiere == self.derniere:
            return f"{fois} le {self.premiere:%d/%m/%Y}"
        return f"{fois} entre le {self.premiere:%d/%m/%Y} et le {self.derniere:%d/%m/%Y}"


@dataclass
class Lecture:
    vus: dict[str, Vu] = field(default_factory=dict)
    erreurs: list[tuple[str, str]] = field(default_factory=list)  # (où, raison)
    lignes: int = 0

    def noter(self, rpps: str, jour: dt.date) -> None:
        if rpps in self.vus:
            self.vus[rpps].ajouter(jour)
        else:
            self.vus[rpps] = Vu(rpps, jour, jour)


def _rpps(valeur: str) -> str:
    """RPPS à 11 chiffres avec sa clé de Luhn, depuis « RPPS » ou « 8 » + RPPS ; ValueError sinon."""
    brut = "".join((valeur or "").split())
    if len(brut) == 12 and brut.startswith("8"):
        brut = brut[1:]
    if len(brut) != 11 or not brut.isdigit():
        raise ValueError(
            f"RPPS « {valeur} » : 11 chiffres attendus (ou l'idNat_PS « 8 » suivi des 11 chiffres)."
        )
    if avec_cle_luhn(brut[:10]) != brut:
        raise ValueError(f"RPPS « {valeur} » : la clé de contrôle (dernier chiffre) est fausse.")
    return brut


def _date(valeur: str) -> dt.date:
    texte = (valeur or "").strip()[:10]
    for format_ in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            jour = dt.datetime.strptime(texte, format_).date()
        except ValueError:
            continue
        if jour > dt.date.today() + dt.timedelta(days=1):
            raise ValueError(f"Date « {valeur} » : elle est dans le futur.")
        return jour
    raise ValueError(f"Date « {valeur} » : attendue au format AAAA-MM-JJ ou JJ/MM/AAAA.")


def lire(contenu: bytes, nom_fichier: str = "") -> Lecture:
    """Lit un historique CSV ou FHIR (détecté au contenu, pas au nom). Lève HistoriqueIllisible."""
    if len(contenu) > TAILLE_MAX:
        raise HistoriqueIllisible(
            f"Fichier trop volumineux ({len(contenu) // 1024} Ko, au plus {TAILLE_MAX // 1024} Ko)."
        )
    try:
        texte = contenu.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HistoriqueIllisible("Fichier illisible : il doit être encodé en UTF-8.") from None
    if not texte.strip():
        raise HistoriqueIllisible("Le fichier est vide.")
    if texte.lstrip().startswith("{"):
        return _lire_fhir(texte)
    return _lire_csv(texte)


def _lire_csv(texte: str) -> Lecture:
    premiere_ligne = texte.splitlines()[0]
    separateur = ";" if premiere_ligne.count(";") >= premiere_ligne.count(",") else ","
    lecteur = csv.DictReader(io.StringIO(texte), delimiter=separateur)
    colonnes = {(nom or "").strip().lower(): nom for nom in lecteur.fieldnames or []}
    manquantes = [nom for nom in ("rpps", "date") if nom not in colonnes]
    if manquantes:
        raise HistoriqueIllisible(
            f"En-tête : colonne(s) {', '.join(manquantes)} introuvable(s) ; "
            "la première ligne doit nommer les "
            "colonnes, dont « rpps » et « date » (voir le format attendu)."
        )
    lecture = Lecture()
    for numero, ligne in enumerate(lecteur, start=2):
        if numero - 1 > LIGNES_MAX:
            raise HistoriqueIllisible(f"Trop de lignes : au plus {LIGNES_MAX}.")
        if not any((v or "").strip() for v in ligne.values() if isinstance(v, str)):
            continue
        lecture.lignes += 1
        try:
            lecture.noter(_rpps(ligne[colonnes["rpps"]]), _date(ligne[colonnes["date"]]))
        except ValueError as exc:
            lecture.erreurs.append((f"ligne {numero}", str(exc)))
    return lecture


def _identifiant_rpps(reference) -> str | None:
    identifiant = reference.get("identifier") if isinstance(reference, dict) else None
    if not isinstance(identifiant, dict):
        return None
    if identifiant.get("system") not in SYSTEMES_RPPS:
        return None
    return str(identifiant.get("value", ""))


def _dates_eob(ressource: dict) -> list[str]:
    dates = [item.get("servicedDate") for item in ressource.get("item") or [] if isinstance(item, dict)]
    dates = [d for d in dates if d]
    if not dates:
        periode = ressource.get("billablePeriod") or {}
        dates = [periode.get("start") or ressource.get("created") or ""]
    return dates


def _lire_fhir(texte: str) -> Lecture:
    try:
        bundle = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise HistoriqueIllisible(f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno}).") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise HistoriqueIllisible(
            "Ressource FHIR attendue : un Bundle d'ExplanationOfBenefit ou d'Encounter."
        )
    entrees = bundle.get("entry", [])
    if not isinstance(entrees, list):
        raise HistoriqueIllisible("Bundle : « entry » doit être une liste.")
    if len(entrees) > LIGNES_MAX:
        raise HistoriqueIllisible(f"Trop d'entrées : au plus {LIGNES_MAX}.")
    lecture = Lecture()
    for rang, entree in enumerate(entrees, start=1):
        ressource = entree.get("resource") if isinstance(entree, dict) else None
        lecture.lignes += 1
        ou = f"entrée {rang}"
        if not isinstance(ressource, dict):
            lecture.erreurs.append((ou, "pas de ressource."))
            continue
        type_ = ressource.get("resourceType")
        if type_ == "ExplanationOfBenefit":
            references = [ressource.get("provider")] + [
                m.get("provider") for m in ressource.get("careTeam") or [] if isinstance(m, dict)
            ]
            dates = _dates_eob(ressource)
        elif type_ == "Encounter":
            references = [
                p.get("individual") for p in ressource.get("participant") or [] if isinstance(p, dict)
            ]
            dates = [(ressource.get("period") or {}).get("start", "")]
        else:
            lecture.erreurs.append(
                (ou, f"ressource {type_ or 'sans type'} ignorée (ExplanationOfBenefit ou Encounter attendu).")
            )
            continue
        identifiants = [i for i in (_identifiant_rpps(r) for r in references) if i]
        if not identifiants:
            lecture.erreurs.append((ou, "aucun professionnel identifié par son RPPS."))
            continue
        try:
            rpps = [_rpps(i) for i in identifiants]
            jours = [_date(d) for d in dates]
        except ValueError as exc:
            lecture.erreurs.append((ou, str(exc)))
            continue
        for numero in dict.fromkeys(rpps):
            for jour in jours:
                lecture.noter(numero, jour)
    return lecture
