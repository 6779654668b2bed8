"""CareTeam : le cercle de santé et d'accompagnement servi en acteur Gestionnaire du volet CI-SIS
« Gestion du cercle de soins » 2.0.1 (docs/decisions/0011-careteam-cds.md). Enregistrée par
CercleConfig.ready().

Lecture (read, vread, _history d'instance) : lecture du domaine « cercle », règle 404/403 de
l'ADR 0008 ; recherche et _history du type filtrés par `usagers_visibles` ; chaque lecture
journalisée. Écriture (POST : déclaration de participants ; PUT : la liste complète) : gestion du
cercle, par `services.mettre_a_jour_cercle` (journal, droits présumés, une version par changement).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cercle import fhir, habilitations, selectors, services
from cercle.fhir_usagers import exiger_acces, noter, refus_en_fhir, usager_designe, usager_pour_ecrire
from cercle.models import Cercle, Domaine, Membre, MotifSortie, StatutMembre, TypeMembre
from cercle.roles import Role, role_propose
from coordination.fhir import erreurs
from coordination.fhir.filtres import Filtre, FiltreJeton, FiltreReference, champ_egal, uuid_ou_rien
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
from coordination.fhir.versions import RessourceVersionnee, historique, representation
from coordination.personnes import fhir as fhir_personnes
from coordination.personnes.fhir_annuaire import exercice_designe, professionnel_designe, structure_designee
from coordination.personnes.identifiants import SYSTEME_IDNAT_PS, SYSTEME_RPPS
from coordination.personnes.models import Exercice, Proche, Usager

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Inclusion, Recherche

T = TypeParametre
P = ParametreRecherche
SYSTEME_STATUT_CARETEAM = "http://hl7.org/fhir/care-team-status"


# --- CareTeam -----------------------------------------------------------------------------------------


class FiltreParticipant(Filtre):
    """`participant` : une présence publiée (ni proposée, ni proposition écartée) de la ressource
    désignée : PractitionerRole, Practitioner, Organization ou RelatedPerson du portail."""

    CHAMPS = {
        "PractitionerRole": "exercice__uuid",
        "Practitioner": "professionnel__uuid",
        "Organization": "structure__uuid",
        "RelatedPerson": "proche__uuid",
    }

    def q(self, critere, prefixe: str = "") -> Q:
        if prefixe:
            raise erreurs.requete_invalide("« participant » ne se chaîne pas depuis une autre ressource.")
        conditions = Q(pk__in=[])
        for valeur in critere.valeurs:
            code = uuid_ou_rien(valeur.id)
            if code is None:
                continue
            for type_ressource, champ in self.CHAMPS.items():
                if valeur.type in (None, type_ressource):
                    conditions |= Q(**{champ: code})
        presences = (
            Membre.objects.filter(conditions, cercle_id=OuterRef("pk"))
            .exclude(statut=StatutMembre.PROPOSE)
            .exclude(motif_sortie=MotifSortie.PROPOSITION_ECARTEE)
        )
        return Q(Exists(presences))


def _identifiant_cercle(code: str) -> uuid.UUID | None:
    return uuid_ou_rien(code.removeprefix("urn:uuid:"))


TYPES_PARTICIPANTS = ("PractitionerRole", "Practitioner", "Organization", "RelatedPerson")


@enregistrer
class RessourceCareTeam(RessourceModele, RessourceVersionnee):
    type = "CareTeam"
    profil = fhir.PROFIL_CARETEAM
    documentation = (
        "Cercle de santé et d'accompagnement d'un usager (un par usager), volet CDS 2.0.1, acteur "
        "Gestionnaire. POST : déclaration de participants (rien n'est retiré) ; PUT : la liste "
        "complète (les absents sortent du cercle). Lecture : droit sur le cercle ; écriture : gestion "
        "du cercle."
    )
    interactions = frozenset(
        {Interaction.READ, Interaction.VREAD, Interaction.HISTORY_INSTANCE, Interaction.HISTORY_TYPE,
         Interaction.SEARCH_TYPE, Interaction.CREATE, Interaction.UPDATE}
    )  # fmt: skip
    modele = Cercle
    rang_transaction = 2  # après les ressources que ses participants citent
    parametres = (
        P("identifier", T.TOKEN, "Identifiant du cercle (UUID du portail)",
          filtre=FiltreJeton({fhir_personnes.SYSTEME_URN: champ_egal("uuid", _identifiant_cercle)})),
        P("patient", T.REFERENCE,
          "L'usager du cercle (chaînable : patient.identifier=<système INS>|<matricule>)",
          cibles=("Patient",), filtre=FiltreReference("usager", "Patient")),
        P("subject", T.REFERENCE, "L'usager du cercle", cibles=("Patient",),
          filtre=FiltreReference("usager", "Patient")),
        P("status", T.TOKEN, "active | inactive",
          filtre=FiltreJeton({SYSTEME_STATUT_CARETEAM: champ_egal("statut")})),
        P("participant", T.REFERENCE,
          "Un participant (PractitionerRole, Practitioner, Organization, RelatedPerson)",
          cibles=TYPES_PARTICIPANTS, filtre=FiltreParticipant()),
    )  # fmt: skip
    champs_tri = {"_lastUpdated": ("modifie_le",)}
    liens_inclusion = {
        "CareTeam:patient": ("Patient", "usager_id"),
        "CareTeam:subject": ("Patient", "usager_id"),
        "CareTeam:participant": ("PractitionerRole", ""),  # plusieurs types : voir cibles_inclusion
    }

    # -- lecture ---------------------------------------------------------------------------------

    def queryset(self, contexte: Contexte):
        visibles = habilitations.usagers_visibles(contexte.acteur, Domaine.CERCLE).values("pk")
        return (
            Cercle.objects.filter(usager_id__in=visibles)
            .select_related("usager", "structure_responsable")
            .prefetch_related(fhir.PARTICIPANTS)
        )

    def vers_fhir(self, objet: Cercle) -> dict:
        return fhir.cercle_vers_careteam(objet, objet.participants)

    def representation(self, objet: Cercle) -> Representation:
        courante = super().representation(objet)
        courante.ressource["meta"]["versionId"] = str(objet.version)
        courante.version = str(objet.version)
        return courante

    def _cercle(self, contexte: Contexte, id_logique: str) -> Cercle:
        code = uuid_ou_rien(id_logique)
        cercle = (
            Cercle.objects.select_related("usager", "structure_responsable")
            .prefetch_related(fhir.PARTICIPANTS)
            .filter(uuid=code)
            .first()
            if code
            else None
        )
        exiger_acces(contexte, cercle.usager if cercle else None, Domaine.CERCLE, ("CareTeam", id_logique))
        return cercle

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        cercle = self._cercle(contexte, id_logique)
        noter(contexte, cercle.usager, "fhir.careteam.lecture", cercle)
        return self.representation(cercle)

    def lire_version(self, contexte: Contexte, id_logique: str, version: str) -> Representation:
        cercle = self._cercle(contexte, id_logique)
        trouvee = super().lire_version(contexte, id_logique, version)
        noter(contexte, cercle.usager, "fhir.careteam.lecture", cercle)
        return trouvee

    def historique(self, contexte: Contexte, id_logique, *, nombre: int, depuis) -> list[Representation]:
        if id_logique is not None:
            cercle = self._cercle(contexte, id_logique)
            noter(contexte, cercle.usager, "fhir.careteam.lecture", cercle)
            return super().historique(contexte, id_logique, nombre=nombre, depuis=depuis)
        # Tout le type : les versions des seuls cercles que l'acteur peut lire.
        visibles = habilitations.usagers_visibles(contexte.acteur, Domaine.CERCLE).values("pk")
        cercles = Cercle.objects.filter(usager_id__in=visibles).values("uuid")
        versions = [
            representation(v)
            for v in historique(self.type, None, nombre=nombre, depuis=depuis, parmi=cercles)
        ]
        for version in versions:
            sujet = version.ressource.get("subject", {}).get("reference", "")
            if code := uuid_ou_rien(sujet.partition("/")[2]):
                noter(contexte, code, "fhir.careteam.lecture")
        return versions

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        for trouve in page.correspondances:
            sujet = uuid.UUID(trouve.ressource["subject"]["reference"].split("/", 1)[1])
            noter(contexte, sujet, "fhir.careteam.lecture")
        return page

    def cibles_inclusion(self, inclusion: Inclusion, sources: list) -> dict[str, set]:
        if inclusion.cle != "CareTeam:participant":
            return super().cibles_inclusion(inclusion, sources)
        cibles: dict[str, set] = {t: set() for t in TYPES_PARTICIPANTS}
        for cercle in sources:
            for membre in cercle.participants:
                if membre.type == TypeMembre.PROFESSIONNEL:
                    if membre.exercice_id:
                        cibles["PractitionerRole"].add(membre.exercice_id)
                    else:
                        cibles["Practitioner"].add(membre.professionnel_id)
                elif membre.type == TypeMembre.STRUCTURE:
                    cibles["Organization"].add(membre.structure_id)
                elif membre.type == TypeMembre.PROCHE:
                    cibles["RelatedPerson"].add(membre.proche_id)
        return {t: pks for t, pks in cibles.items() if pks}

    # -- écriture --------------------------------------------------------------------------------

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        """Déclaration du cercle du patient (qui existe depuis la création de l'usager) : les
        participants déclarés entrent, les périodes closes sont enregistrées ; personne ne sort."""
        recue = fhir.lire_careteam(ressource)
        usager = usager_pour_ecrire(contexte, usager_designe(recue.sujet), "CareTeam.subject")
        cercle = services.creer_cercle(usager=usager)
        rapport = self._appliquer(contexte, cercle, recue, retirer_absents=False)
        cree = self._relire(cercle)
        return replace(cree, existante=not rapport.change)

    def modifier(self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue):
        """Remplacement : le cercle devient la liste reçue (les absents sortent du cercle)."""
        code = uuid_ou_rien(id_logique)
        cercle = Cercle.objects.select_related("usager").filter(uuid=code).first() if code else None
        if cercle is None or selectors.usager_connu(contexte.acteur, cercle.usager.uuid) is None:
            raise erreurs.introuvable("CareTeam", id_logique)
        if not habilitations.peut(contexte.acteur, cercle.usager, "gerer", Domaine.CERCLE):
            raise erreurs.interdit(
                "Seuls l'usager, son représentant légal ou le gestionnaire du cercle peuvent modifier "
                "ce cercle."
            )
        recue = fhir.lire_careteam(ressource)
        if usager_designe(recue.sujet) != cercle.usager:
            raise erreurs.non_traitable(
                "CareTeam.subject : le patient d'un cercle ne change pas.", expression=["CareTeam.subject"]
            )
        with transaction.atomic():
            # If-Match relu sous le verrou de la ligne : deux PUT de la même version, un seul passe.
            version = Cercle.objects.select_for_update().values_list("version", flat=True).get(pk=cercle.pk)
            if version_attendue is not None and version_attendue != str(version):
                raise erreurs.version_perimee(version_attendue, str(version))
            self._appliquer(contexte, cercle, recue, retirer_absents=True)
        return self._relire(cercle), False

    def _relire(self, cercle: Cercle) -> Representation:
        return self.representation(
            Cercle.objects.select_related("usager", "structure_responsable")
            .prefetch_related(fhir.PARTICIPANTS)
            .get(pk=cercle.pk)
        )

    def _appliquer(
        self, contexte: Contexte, cercle: Cercle, recue: fhir.CareTeamRecue, *, retirer_absents: bool
    ):
        if recue.statut != cercle.statut:
            raise erreurs.non_traitable(
                f"CareTeam.status : le cercle est « {cercle.statut} » ; son statut ne change pas par "
                "FHIR (la clôture d'un cercle se fait dans le portail).",
                expression=["CareTeam.status"],
            )
        usager = cercle.usager
        existants = {
            services.cle_membre(m): m for m in Membre.objects.filter(cercle=cercle, date_sortie__isnull=True)
        }
        voulus = [self._voulu(p, usager, existants) for p in recue.participants]
        structure = services.PAS_DE_CHANGEMENT
        if recue.structure_responsable is not None:
            structure = structure_designee(recue.structure_responsable)
            if structure is None:
                raise erreurs.non_traitable(
                    "CareTeam.managingOrganization : structure inconnue du portail (FINESS, SIRET ou "
                    "référence du portail).",
                    expression=["CareTeam.managingOrganization[0]"],
                )
        elif retirer_absents:
            structure = None
        with refus_en_fhir("CareTeam.participant"):
            return services.mettre_a_jour_cercle(
                acteur=contexte.acteur,
                usager=usager,
                voulus=voulus,
                structure_responsable=structure,
                retirer_absents=retirer_absents,
            )

    def _voulu(
        self, participant: fhir.ParticipantRecu, usager: Usager, existants: dict
    ) -> services.MembreVoulu:
        """Le participant résolu en base : une présence voulue, ou 422 situé si le membre est inconnu."""
        element = participant.membre
        chemin = f"{participant.chemin}.member"
        if participant.debut > timezone.localdate():
            raise erreurs.non_traitable(
                f"{participant.chemin}.period.start : une entrée dans le futur n'est pas prise en charge "
                "(le portail enregistre les entrées passées ou du jour).",
                expression=[f"{participant.chemin}.period.start"],
            )
        reference = element.get("reference") or ""
        type_ressource = reference.partition("/")[0] if reference else element.get("type", "")
        voulu = None
        if type_ressource == "PractitionerRole":
            exercice = exercice_designe(element) if reference else _exercice_par_identifiant(element)
            if exercice is not None:
                voulu = services.MembreVoulu(
                    TypeMembre.PROFESSIONNEL, "", participant.debut,
                    professionnel=exercice.professionnel, exercice=exercice,
                )  # fmt: skip
        elif type_ressource == "Practitioner":
            professionnel = professionnel_designe(element)
            if professionnel is not None:
                voulu = services.MembreVoulu(
                    TypeMembre.PROFESSIONNEL, "", participant.debut, professionnel=professionnel
                )
        elif type_ressource == "Organization":
            structure = structure_designee(element)
            if structure is not None:
                voulu = services.MembreVoulu(TypeMembre.STRUCTURE, "", participant.debut, structure=structure)
        elif type_ressource == "RelatedPerson":
            voulu = _proche_ou_autre(element, usager, participant)
        if voulu is None:
            designation = reference or str(element.get("identifier", {}).get("value", ""))
            raise erreurs.non_traitable(
                f"{chemin} : « {designation[:80]} » ne désigne aucun professionnel (RPPS, idNat_PS), "
                "aucune structure (FINESS, SIRET) ni aucun proche de ce patient connus du portail.",
                expression=[chemin],
            )
        present = existants.get(voulu.cle)
        if present is not None:
            defaut = present.role
        elif voulu.type == TypeMembre.PROFESSIONNEL:
            profession = (
                voulu.exercice.profession_code if voulu.exercice else voulu.professionnel.profession_code
            )
            defaut = role_propose(type_membre=voulu.type, profession_code=profession)
        elif voulu.type == TypeMembre.PROCHE:
            defaut = fhir.role_du_proche(voulu.proche.lien)
        elif voulu.type == TypeMembre.AUTRE:
            defaut = voulu.membre.role
        else:
            defaut = Role.STRUCTURE_ACCOMPAGNANTE
        voulu.role = fhir.role_demande(participant, voulu.type, defaut=defaut)
        # Une fin future ne se garde pas (un membre sorti a une date de sortie passée) : la présence
        # reste en cours (docs/decisions/0011-careteam-cds.md).
        if participant.fin is not None and participant.fin <= timezone.localdate():
            voulu.date_sortie = participant.fin
        return voulu


def _exercice_par_identifiant(element: dict) -> Exercice | None:
    """Référence logique « PractitionerRole » par identifiant : UUID du portail, ou le professionnel
    (RPPS, idNat_PS) quand il n'a qu'une situation d'exercice."""
    identifiant = element.get("identifier") or {}
    systeme, valeur = identifiant.get("system"), identifiant.get("value") or ""
    if systeme == fhir_personnes.SYSTEME_URN:
        code = uuid_ou_rien(valeur.removeprefix("urn:uuid:"))
        return Exercice.objects.select_related("professionnel").filter(uuid=code).first() if code else None
    if systeme in (SYSTEME_RPPS, SYSTEME_IDNAT_PS) and valeur:
        idnat = valeur if systeme == SYSTEME_IDNAT_PS else "8" + valeur
        candidats = list(
            Exercice.objects.select_related("professionnel").filter(professionnel__idnat_ps=idnat)[:2]
        )
        return candidats[0] if len(candidats) == 1 else None
    return None


def _proche_ou_autre(element: dict, usager: Usager, participant) -> services.MembreVoulu | None:
    """RelatedPerson : un proche de ce patient (référence ou identifiant du portail), ou une autre
    personne déjà présente dans son cercle (référence logique par l'UUID de sa présence)."""
    reference = element.get("reference") or ""
    code = (
        uuid_ou_rien(reference.partition("/")[2])
        if reference
        else uuid_ou_rien(fhir.uuid_de_l_identifiant(element) or "")
    )
    if code is None:
        return None
    proche = Proche.objects.filter(uuid=code, usager=usager).first()
    if proche is not None:
        return services.MembreVoulu(TypeMembre.PROCHE, "", participant.debut, proche=proche)
    autre = Membre.objects.filter(uuid=code, cercle__usager=usager, type=TypeMembre.AUTRE).first()
    if autre is not None:
        return services.MembreVoulu(TypeMembre.AUTRE, "", participant.debut, membre=autre)
    return None
