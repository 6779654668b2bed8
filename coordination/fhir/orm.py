"""`RessourceModele` : gestionnaire de ressource adossé à une table Django (lecture et recherche).

La sous-classe donne le modèle, le queryset de base (avec ses `select_related`), la
correspondance objet → JSON FHIR (une fonction pure de `<app>/fhir.py`), ses paramètres de
recherche avec leur filtre (`ParametreRecherche(..., filtre=FiltreTexte(...))`), les tris et les
inclusions. Le reste est commun : lecture par UUID, recherche avec
critères (chaînés ou non), total, pagination par clé, `_include` et `_include:iterate`.

Nombre de requêtes d'une page de recherche : 1 (total) + 1 (page) + 1 par inclusion et par tour,
quel que soit le nombre de lignes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from coordination.fhir import erreurs
from coordination.fhir.filtres import Filtre, FiltreDate, FiltreId, uuid_ou_rien
from coordination.fhir.pagination import Ordre, paginer
from coordination.fhir.registre import Page, Representation, Ressource, registre
from coordination.fhir.versions import instant_fhir

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Inclusion, Recherche

TOURS_D_INCLUSION_MAX = 3


class RessourceModele(Ressource):
    modele: ClassVar[type[Model]]
    # _sort : nom → champs ORM (non nuls) dans l'ordre.
    champs_tri: ClassVar[dict[str, tuple[str, ...]]] = {}
    # _include : « Source:paramètre » → (type cible, attribut de clé étrangère).
    liens_inclusion: ClassVar[dict[str, tuple[str, str]]] = {}
    champ_derniere_maj: ClassVar[str] = "modifie_le"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.tris = tuple(cls.champs_tri)
        cls.inclusions = tuple(cls.liens_inclusion)

    # -- à fournir ---------------------------------------------------------------------------

    def queryset(self, contexte: Contexte) -> QuerySet:
        return self.modele.objects.all()

    def vers_fhir(self, objet) -> dict:
        raise NotImplementedError

    # -- commun ------------------------------------------------------------------------------

    def representation(self, objet) -> Representation:
        ressource = self.vers_fhir(objet)
        moment = getattr(objet, self.champ_derniere_maj)
        ressource.setdefault("meta", {})["lastUpdated"] = instant_fhir(moment)
        return Representation(ressource=ressource, derniere_maj=moment)

    def filtre(self, nom: str) -> Filtre:
        if nom == "_id":
            return FiltreId()
        if nom == "_lastUpdated":
            return FiltreDate(self.champ_derniere_maj)
        parametre = self.parametre(nom)
        if parametre is None or parametre.filtre is None:
            raise erreurs.requete_invalide(f"Paramètre « {nom} » non pris en charge pour {self.type}.")
        return parametre.filtre

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        identifiant = uuid_ou_rien(id_logique)
        objet = self.queryset(contexte).filter(uuid=identifiant).first() if identifiant else None
        if objet is None:
            raise erreurs.introuvable(self.type, id_logique)
        return self.representation(objet)

    def objets(self, contexte: Contexte, pks: set) -> list:
        return list(self.queryset(contexte).filter(pk__in=pks)) if pks else []

    def filtrer(self, queryset: QuerySet, recherche: Recherche) -> QuerySet:
        for critere in recherche.criteres:
            if critere.chaine:
                premier = critere.chaine[0]
                queryset = queryset.filter(self.filtre(premier.parametre).q_chaine(critere, critere.chaine))
            else:
                queryset = queryset.filter(self.filtre(critere.nom).q(critere))
        return queryset

    def rechercher(self, contexte: Contexte, recherche: Recherche) -> Page:
        queryset = self.filtrer(self.queryset(contexte), recherche)
        total = queryset.count() if recherche.total != "none" or recherche.compter_seulement else None
        if recherche.compter_seulement:
            return Page([], total=total)
        ordre = Ordre(
            tuple((champ, descendant) for nom, descendant in recherche.tri for champ in self.champs_tri[nom])
        )
        tranche = paginer(
            queryset,
            type_ressource=self.type,
            ordre=ordre,
            nombre=recherche.nombre,
            curseur=recherche.curseur,
        )
        return Page(
            [self.representation(o) for o in tranche.objets],
            self.inclure(contexte, recherche.inclusions, tranche.objets),
            total,
            tranche.curseur_suivant,
            tranche.curseur_precedent,
        )

    # -- _include ----------------------------------------------------------------------------

    def cibles_inclusion(self, inclusion: Inclusion, sources: list) -> dict[str, set]:
        """Type cible → clés primaires désignées par `inclusion` depuis `sources` (par défaut : la
        clé étrangère de `liens_inclusion`). Une sous-classe la redéfinit pour un paramètre qui
        vise plusieurs types (CareTeam:participant)."""
        type_cible, attribut = self.liens_inclusion[inclusion.cle]
        return {type_cible: {getattr(o, attribut) for o in sources}}

    def inclure(self, contexte: Contexte, inclusions: list[Inclusion], objets: list) -> list[Representation]:
        """Ressources désignées par les inclusions : un tour sur la page, puis (`:iterate`) sur ce
        qui vient d'être inclus, au plus TOURS_D_INCLUSION_MAX tours."""
        if not inclusions or not objets:
            return []
        deja = {(self.type, str(o.uuid)) for o in objets}
        incluses: list[Representation] = []
        a_traiter: dict[str, list] = {self.type: objets}
        for tour in range(TOURS_D_INCLUSION_MAX):
            suivants: dict[str, list] = {}
            for inclusion in inclusions:
                if tour > 0 and not inclusion.iterer:
                    continue
                sources = a_traiter.get(inclusion.source)
                if not sources:
                    continue
                source = registre.obtenir(inclusion.source)
                for type_cible, pks in source.cibles_inclusion(inclusion, sources).items():
                    if inclusion.cible and inclusion.cible != type_cible:
                        continue
                    contexte.exiger(type_cible, ecriture=False)
                    cible = registre.obtenir(type_cible)
                    for objet in cible.objets(contexte, pks - {None}):
                        cle = (type_cible, str(objet.uuid))
                        if cle in deja:
                            continue
                        deja.add(cle)
                        incluses.append(cible.representation(objet))
                        suivants.setdefault(type_cible, []).append(objet)
            if not suivants:
                break
            a_traiter = suivants
        return incluses
