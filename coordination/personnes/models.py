"""Personnes et structures du domaine : structures (FINESS), professionnels (RPPS/ADELI) et leurs
situations d'exercice, usagers (INS + 5 traits + statut d'identité) et leurs proches."""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Collate, Concat, Trim

from coordination.modeles import ModeleDeBase
from coordination.personnes import identifiants


def normaliser_trait(valeur: str) -> str:
    """Forme de comparaison d'un nom ou prénom : majuscules sans accents, sans tirets,
    apostrophes ni espaces (« Lefèvre-D'Ornano » → « LEFEVREDORNANO »)."""
    decompose = unicodedata.normalize("NFKD", valeur or "")
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c))
    return "".join(c for c in sans_accents.upper() if c.isalnum())


def cle_de_recherche(texte: str) -> str:
    """Forme de recherche d'un nom, côté Python : majuscules sans accents, mots séparés par une espace
    (« Lefèvre-D'Ornano Hélène » → « LEFEVRE D ORNANO HELENE »). Même résultat que l'expression SQL
    `CleRecherche` pour les lettres latines usuelles."""
    decompose = unicodedata.normalize("NFKD", (texte or "").replace("œ", "oe").replace("Œ", "OE"))
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c)).upper()
    return " ".join("".join(c if c.isalnum() else " " for c in sans_accents).split())


class CleRecherche(models.Func):
    """Clé de recherche SQL d'un nom : `immutable_unaccent(upper(a || ' ' || b))`, où les caractères
    autres que lettres et chiffres deviennent des espaces. Immuable (colonne générée, index)."""

    template = "regexp_replace(immutable_unaccent(upper(%(expressions)s)), '[^A-Z0-9]+', ' ', 'g')"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()


def _compacter_identifiants(
    instance: models.Model, champs: tuple[str, ...], nullables: tuple[str, ...]
) -> None:
    """Avant validation : retire espaces, points et tirets des identifiants saisis et passe en
    majuscules (« 2 45 07 2a 004 … » → « 245072A004… ») ; une saisie vide devient NULL pour les
    champs uniques facultatifs (sinon deux « » se heurteraient)."""
    for champ in champs:
        valeur = getattr(instance, champ)
        if isinstance(valeur, str):
            valeur = identifiants.compacter(valeur)
            setattr(instance, champ, None if (not valeur and champ in nullables) else valeur)


# --- Structures -----------------------------------------------------------------------------


class Structure(ModeleDeBase):
    """Établissement ou service (ESMS, établissement de santé, cabinet…), repéré par son FINESS
    géographique (EG) et juridique (EJ), ou à défaut par l'identifiant technique de l'Annuaire Santé."""

    finess_eg = models.CharField(
        "FINESS établissement (EG)", max_length=9, blank=True, null=True, unique=True,
        validators=[identifiants.valider_finess],
    )  # fmt: skip
    finess_ej = models.CharField(
        "FINESS entité juridique (EJ)", max_length=9, blank=True, validators=[identifiants.valider_finess]
    )
    finess_cle_verifiee = models.BooleanField(
        "clé FINESS vérifiée",
        default=True,
        help_text="Faux pour la Corse (2A/2B) : règle de clé non publiée.",
    )
    identifiant_technique = models.CharField(
        "identifiant technique (Annuaire Santé)", max_length=40, blank=True, null=True, unique=True
    )
    raison_sociale = models.CharField("raison sociale", max_length=200)
    enseigne = models.CharField("enseigne commerciale", max_length=200, blank=True)
    categorie_code = models.CharField(
        "catégorie FINESS (code)", max_length=4, blank=True, help_text="Nomenclature TRE_R66, ex. 500 EHPAD."
    )
    categorie_libelle = models.CharField("catégorie FINESS", max_length=200, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[identifiants.valider_siret])
    adresse = models.CharField("adresse", max_length=250, blank=True)
    code_postal = models.CharField("code postal", max_length=5, blank=True)
    commune = models.CharField("commune", max_length=120, blank=True)
    code_commune = models.CharField("code commune INSEE", max_length=5, blank=True)
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    bal_mssante = models.EmailField("BAL MSSanté organisationnelle", blank=True)

    class Meta:
        verbose_name = "structure"
        verbose_name_plural = "structures"
        ordering = ["raison_sociale"]
        indexes = [models.Index(fields=["finess_ej"], name="structure_finess_ej_idx")]

    def __str__(self) -> str:
        return self.raison_sociale

    def clean_fields(self, exclude=None) -> None:
        _compacter_identifiants(
            self, ("finess_eg", "finess_ej", "siret", "identifiant_technique"),
            nullables=("finess_eg", "identifiant_technique"),
        )  # fmt: skip
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        if self.finess_eg:
            resultat = identifiants.verifier_finess(self.finess_eg, "FINESS établissement (EG)")
            self.finess_eg = resultat.valeur
            self.finess_cle_verifiee = resultat.cle_verifiee
        if self.bal_mssante and not self.bal_mssante.lower().endswith(".mssante.fr"):
            raise ValidationError(
                {"bal_mssante": "BAL MSSanté organisationnelle : l'adresse doit se terminer par .mssante.fr."}
            )


# --- Professionnels -----------------------------------------------------------------------------


class Professionnel(ModeleDeBase):
    """Personne physique professionnelle. L'idNat_PS (« 8 » + RPPS, « 0 » + ADELI) est la clé
    nationale ; il manque pour les personnels médico-sociaux pas encore inscrits au RPPS+."""

    idnat_ps = models.CharField(
        "identifiant national (idNat_PS)", max_length=12, blank=True, null=True, unique=True,
        validators=[identifiants.valider_idnat_ps],
    )  # fmt: skip
    civilite_exercice = models.CharField("civilité d'exercice", max_length=10, blank=True)
    nom_exercice = models.CharField("nom d'exercice", max_length=100)
    prenom_exercice = models.CharField("prénom d'exercice", max_length=100, blank=True)
    profession_code = models.CharField("profession (code TRE_G15)", max_length=4, blank=True)
    profession_libelle = models.CharField("profession", max_length=120, blank=True)
    categorie_professionnelle = models.CharField(
        "catégorie professionnelle", max_length=1, blank=True, help_text="C civil, M militaire, E étudiant."
    )
    savoir_faire_code = models.CharField("savoir-faire (code)", max_length=10, blank=True)
    savoir_faire_libelle = models.CharField("savoir-faire", max_length=200, blank=True)
    bal_mssante = models.EmailField("BAL MSSanté personnelle", blank=True)
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    compte = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="compte", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="professionnel",
    )  # fmt: skip
    # Calculée par PostgreSQL (aussi pendant les COPY de l'import) ; index trigramme pour la recherche.
    cle_recherche = models.GeneratedField(
        expression=CleRecherche("nom_exercice", "prenom_exercice"), output_field=models.TextField(),
        db_persist=True, verbose_name="clé de recherche",
    )  # fmt: skip

    class Meta:
        verbose_name = "professionnel"
        verbose_name_plural = "professionnels"
        ordering = ["nom_exercice", "prenom_exercice"]
        indexes = [
            models.Index(fields=["nom_exercice", "prenom_exercice"], name="professionnel_nom_idx"),
            GinIndex(
                fields=["cle_recherche"], opclasses=["gin_trgm_ops"], name="professionnel_recherche_trgm"
            ),
            # Début de nom, dans l'ordre alphabétique (collation « C » : la clé n'a que A-Z, 0-9, espace).
            models.Index(Collate("cle_recherche", "C"), name="professionnel_recherche_debut"),
        ]

    def __str__(self) -> str:
        return " ".join(p for p in (self.prenom_exercice, self.nom_exercice) if p)

    @staticmethod
    def nom_en_sql(chemin: str = "") -> Trim:
        """Le nom qu'affiche `str()`, calculé par PostgreSQL pour le professionnel au bout de
        `chemin` (« auteur_exercice__professionnel__ ») : une liste en affiche sans charger la fiche."""
        return Trim(Concat(F(f"{chemin}prenom_exercice"), Value(" "), F(f"{chemin}nom_exercice")))

    def clean_fields(self, exclude=None) -> None:
        _compacter_identifiants(self, ("idnat_ps",), nullables=("idnat_ps",))
        super().clean_fields(exclude=exclude)

    @property
    def rpps(self) -> str:
        return self.idnat_ps[1:] if self.idnat_ps and self.idnat_ps.startswith("8") else ""

    @property
    def nom_complet(self) -> str:
        return str(self)


class NomAnnuaire(models.Model):
    """Premiers mots distincts des clés de recherche de l'annuaire (« MARTIN », « SAINT »…) et leurs
    variantes à une lettre retirée, tenus par deux déclencheurs par instruction de
    `personnes_professionnel` (migration 0006), COPY de l'import compris. Sert la recherche approchée :
    un mot saisi et un nom à une faute de frappe près (lettre en trop, en moins, remplacée, ou deux
    lettres voisines inversées) ont une variante commune ; la recherche ne lit donc que quelques
    lignes d'un index GIN au lieu de comparer 2 millions de clés. Un nom qui n'a plus de
    professionnel reste : il ne ramène personne."""

    nom = models.TextField("premier mot de la clé de recherche", primary_key=True)
    variantes = ArrayField(models.TextField(), verbose_name="le nom et ses variantes à une lettre retirée")

    class Meta:
        verbose_name = "nom de l'annuaire"
        verbose_name_plural = "noms de l'annuaire"
        indexes = [
            GinIndex(fields=["variantes"], name="nom_annuaire_variantes"),
            GinIndex(fields=["nom"], opclasses=["gin_trgm_ops"], name="nom_annuaire_trgm"),
        ]

    def __str__(self) -> str:
        return self.nom


def variantes_de_nom(mot: str) -> list[str]:
    """Le mot et, à partir de 4 lettres, chaque forme à une lettre retirée (même calcul que le
    déclencheur SQL de la migration 0006)."""
    if len(mot) < 4:
        return [mot]
    return [mot, *dict.fromkeys(mot[:i] + mot[i + 1 :] for i in range(len(mot)))]


class ModeExercice(models.TextChoices):
    LIBERAL = "L", "libéral"
    SALARIE = "S", "salarié"
    BENEVOLE = "B", "bénévole"


class Exercice(ModeleDeBase):
    """Situation d'exercice : un professionnel dans une structure, pour une profession, datée."""

    # Pas d'index propre à chaque clé étrangère : (professionnel, structure, profession_code), unique, et
    # exercice_structure_idx (structure, professionnel) commencent par elles et servent les mêmes
    # recherches ; deux index de moins à tenir et à reconstruire au chargement de l'annuaire.
    professionnel = models.ForeignKey(
        Professionnel, verbose_name="professionnel", on_delete=models.CASCADE, related_name="exercices",
        db_index=False,
    )  # fmt: skip
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.PROTECT, null=True, blank=True,
        related_name="exercices", db_index=False,
    )  # fmt: skip
    profession_code = models.CharField("profession (code TRE_G15)", max_length=4, blank=True)
    profession_libelle = models.CharField("profession", max_length=120, blank=True)
    fonction = models.CharField(
        "fonction", max_length=120, blank=True, help_text="Ex. infirmière coordinatrice, directeur."
    )
    mode_exercice = models.CharField("mode d'exercice", max_length=1, choices=ModeExercice, blank=True)
    secteur_activite_code = models.CharField("secteur d'activité (code)", max_length=6, blank=True)
    date_debut = models.DateField("début", null=True, blank=True)
    date_fin = models.DateField("fin", null=True, blank=True)
    invite_le_personnel = models.BooleanField(
        "invite le personnel de la structure", default=False, db_default=False,
        help_text="Peut inviter des personnes de la structure sans RPPS à créer un compte (ADR 0014).",
    )  # fmt: skip
    signe_les_projets = models.BooleanField(
        "signe les projets personnalisés pour la structure", default=False, db_default=False,
        help_text="Direction ou professionnel désigné : donne l'accord de la structure aux projets "
        "personnalisés, comme le référent de chaque projet (ADR 0028).",
    )  # fmt: skip

    class Meta:
        verbose_name = "situation d'exercice"
        verbose_name_plural = "situations d'exercice"
        ordering = ["professionnel", "structure"]
        constraints = [
            models.UniqueConstraint(
                fields=["professionnel", "structure", "profession_code"],
                nulls_distinct=False,
                name="exercice_unique_par_structure_profession",
            ),
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True)
                | Q(date_debut__isnull=True)
                | Q(date_fin__gte=F("date_debut")),
                name="exercice_dates_ordonnees",
                violation_error_message="Situation d'exercice : la date de fin précède la date de début.",
            ),
        ]
        indexes = [models.Index(fields=["structure", "professionnel"], name="exercice_structure_idx")]

    def __str__(self) -> str:
        lieu = self.structure.raison_sociale if self.structure_id else "sans structure"
        return f"{self.professionnel} — {self.profession_libelle or 'exercice'} ({lieu})"


# --- Usagers ---------------------------------------------------------------------------------


class StatutIdentite(models.TextChoices):
    """Statuts du Référentiel national d'identitovigilance (FR Core fr-core-cs-identity-status)."""

    PROVISOIRE = "PROV", "provisoire"
    RECUPEREE = "RECUP", "récupérée"
    VALIDEE = "VALI", "validée"
    QUALIFIEE = "QUAL", "qualifiée"


class ModeRecueil(models.TextChoices):
    """FR Core fr-core-cs-method-collection."""

    SAISIE_MANUELLE = "SM", "saisie manuelle"
    CARTE_VITALE = "CV", "carte Vitale"
    INSI = "INSI", "téléservice INSi"
    DATAMATRIX = "CB", "Datamatrix INS"
    RFID = "RFID", "RFID"
    APPLI_CARTE_VITALE = "AV", "application carte Vitale"


class Sexe(models.TextChoices):
    FEMININ = "F", "féminin"
    MASCULIN = "M", "masculin"
    INDETERMINE = "I", "indéterminé"


class Usager(ModeleDeBase):
    """Personne accompagnée. Identité INS (matricule + OID + 5 traits) et son statut RNIV ;
    les usagers sans INS ont le statut provisoire et sont repérés par leur `uuid`."""

    # Bloc INS
    matricule_ins = models.CharField(
        "matricule INS", max_length=15, blank=True, null=True, validators=[identifiants.valider_matricule_ins]
    )
    oid_ins = models.CharField(
        "OID du matricule INS", max_length=30, blank=True, choices=list(identifiants.OIDS_INS.items())
    )
    nom_naissance = models.CharField("nom de naissance", max_length=100)
    prenoms_naissance = models.CharField(
        "prénoms de naissance",
        max_length=200,
        help_text="Liste des prénoms de naissance, séparés par un espace.",
    )
    date_naissance = models.DateField("date de naissance")
    sexe = models.CharField("sexe", max_length=1, choices=Sexe)
    code_lieu_naissance = models.CharField(
        "code INSEE du lieu de naissance", max_length=5, blank=True,
        validators=[identifiants.valider_code_lieu_naissance],
        help_text="Code commune (COG) ; 99xxx pour un pays étranger.",
    )  # fmt: skip
    statut_identite = models.CharField(
        "statut de l'identité", max_length=5, choices=StatutIdentite, default=StatutIdentite.PROVISOIRE
    )
    identite_douteuse = models.BooleanField("identité douteuse", default=False)
    identite_fictive = models.BooleanField("identité fictive", default=False)
    mode_recueil = models.CharField(
        "mode de recueil", max_length=4, choices=ModeRecueil, default=ModeRecueil.SAISIE_MANUELLE
    )
    date_interrogation_insi = models.DateField("date d'interrogation INSi", null=True, blank=True)
    justificatif_identite = models.CharField(
        "justificatif d'identité vérifié",
        max_length=60,
        blank=True,
        help_text="Ex. carte nationale d'identité.",
    )
    # Formes normalisées pour la détection des doublons (remplies à l'enregistrement).
    nom_naissance_normalise = models.CharField(max_length=100, editable=False, db_index=False)
    premier_prenom_normalise = models.CharField(max_length=100, editable=False)
    # Usage et contact
    nom_utilise = models.CharField("nom utilisé", max_length=100, blank=True)
    prenom_utilise = models.CharField("prénom utilisé", max_length=100, blank=True)
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    email = models.EmailField("courriel", blank=True)
    adresse = models.CharField("adresse", max_length=250, blank=True)
    code_postal = models.CharField("code postal", max_length=5, blank=True)
    commune = models.CharField("commune", max_length=120, blank=True)
    compte = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="compte", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="usager",
    )  # fmt: skip
    # Champs confirmés par un fournisseur d'identité (FranceConnect+) à la liaison du compte : les
    # services refusent de les modifier (services.modifier_identite_usager), les formulaires les figent.
    champs_figes = ArrayField(
        models.CharField(max_length=40), verbose_name="champs figés", default=list, blank=True,
        editable=False, help_text="Confirmés par FranceConnect+ : non modifiables dans le portail.",
    )  # fmt: skip

    class Meta:
        verbose_name = "usager"
        verbose_name_plural = "usagers"
        ordering = ["nom_naissance", "prenoms_naissance"]
        constraints = [
            models.UniqueConstraint(
                fields=["oid_ins", "matricule_ins"],
                condition=Q(matricule_ins__isnull=False),
                name="usager_matricule_unique",
                violation_error_message="Matricule INS : un autre usager porte déjà ce matricule.",
            ),
            models.CheckConstraint(
                condition=(Q(matricule_ins__isnull=True) & Q(oid_ins=""))
                | (Q(matricule_ins__isnull=False) & ~Q(oid_ins="")),
                name="usager_matricule_et_oid_ensemble",
                violation_error_message="Matricule INS et OID vont ensemble : renseignez les deux ou aucun.",
            ),
            models.CheckConstraint(
                condition=~(Q(identite_douteuse=True) & Q(identite_fictive=True)),
                name="usager_douteuse_xor_fictive",
                violation_error_message="Une identité ne peut pas être à la fois douteuse et fictive.",
            ),
            models.CheckConstraint(
                condition=Q(identite_douteuse=False, identite_fictive=False) | Q(statut_identite="PROV"),
                name="usager_douteuse_fictive_provisoire",
                violation_error_message="Une identité douteuse ou fictive reste au statut provisoire.",
            ),
            # VALI (traits contrôlés sur une pièce d'identité, sans appel INSi) n'exige pas d'INS :
            # seul un appel INSi fournit le matricule (RNIV, FR Core fr-core-cs-identity-status).
            models.CheckConstraint(
                condition=~Q(statut_identite__in=["RECUP", "QUAL"]) | Q(matricule_ins__isnull=False),
                name="usager_statut_exige_ins",
                violation_error_message=(
                    "Statut d'identité : une identité récupérée ou qualifiée exige un matricule INS."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(statut_identite__in=["RECUP", "QUAL"])
                | Q(date_interrogation_insi__isnull=False)
                | Q(mode_recueil="AV"),
                name="usager_insi_date_requise",
                violation_error_message=(
                    "Statut d'identité : une identité récupérée ou qualifiée exige la date "
                    "d'interrogation INSi."
                ),
            ),
            models.CheckConstraint(
                condition=Q(matricule_ins__isnull=True) | Q(sexe__in=["F", "M"]),
                name="usager_sexe_ins",
                violation_error_message="Sexe : une identité INS est de sexe féminin ou masculin.",
            ),
        ]
        indexes = [
            # Recherche des doublons (selectors.doublons_possibles) : même nom de naissance et même
            # date, ou nom et premier prénom inversés à la même date.
            models.Index(fields=["nom_naissance_normalise", "date_naissance"], name="usager_traits_idx"),
            models.Index(
                fields=["date_naissance", "premier_prenom_normalise"], name="usager_prenom_date_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prenom_affiche} {self.nom_affiche}"

    @property
    def premier_prenom(self) -> str:
        return (self.prenoms_naissance or "").split(" ")[0]

    @property
    def nom_affiche(self) -> str:
        return self.nom_utilise or self.nom_naissance

    @property
    def prenom_affiche(self) -> str:
        return self.prenom_utilise or self.premier_prenom

    @property
    def identite_qualifiee(self) -> bool:
        return self.statut_identite == StatutIdentite.QUALIFIEE and bool(self.matricule_ins)

    @property
    def matricule_exportable(self) -> str | None:
        """Le matricule INS ne quitte le portail que si l'identité est qualifiée (RNIV)."""
        return self.matricule_ins if self.identite_qualifiee else None

    def clean_fields(self, exclude=None) -> None:
        _compacter_identifiants(self, ("matricule_ins", "code_lieu_naissance"), nullables=("matricule_ins",))
        if self.prenoms_naissance:
            # Liste des prénoms séparés par une seule espace (trait INS).
            self.prenoms_naissance = " ".join(self.prenoms_naissance.split())
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        erreurs: dict[str, str] = {}
        if self.identite_douteuse and self.identite_fictive:
            erreurs["identite_fictive"] = (
                "Identité fictive : une identité ne peut pas être à la fois douteuse et fictive."
            )
        if self.identite_douteuse or self.identite_fictive:
            self.statut_identite = StatutIdentite.PROVISOIRE
        if self.matricule_ins and not self.oid_ins:
            erreurs["oid_ins"] = "OID du matricule INS : obligatoire quand un matricule est saisi."
        if self.oid_ins and not self.matricule_ins:
            erreurs["matricule_ins"] = "Matricule INS : obligatoire quand un OID est choisi."
        if (
            self.statut_identite in {StatutIdentite.RECUPEREE, StatutIdentite.QUALIFIEE}
            and not self.matricule_ins
        ):
            erreurs["statut_identite"] = (
                "Statut de l'identité : une identité récupérée ou qualifiée exige un matricule INS "
                "(obtenu par le téléservice INSi)."
            )
        if (
            self.statut_identite in {StatutIdentite.RECUPEREE, StatutIdentite.QUALIFIEE}
            and not self.date_interrogation_insi
            and self.mode_recueil != ModeRecueil.APPLI_CARTE_VITALE
        ):
            erreurs["date_interrogation_insi"] = (
                "Date d'interrogation INSi : obligatoire pour une identité récupérée ou qualifiée."
            )
        if self.matricule_ins and self.sexe not in {Sexe.FEMININ, Sexe.MASCULIN}:
            erreurs["sexe"] = "Sexe : une identité INS est de sexe féminin ou masculin."
        if self.matricule_ins and not self.code_lieu_naissance:
            erreurs["code_lieu_naissance"] = (
                "Code INSEE du lieu de naissance : obligatoire pour une identité INS (99xxx si à l'étranger)."
            )
        if self.matricule_ins and self.sexe in {Sexe.FEMININ, Sexe.MASCULIN}:
            attendu = "1" if self.sexe == Sexe.MASCULIN else "2"
            if self.matricule_ins[0] in "12" and self.matricule_ins[0] != attendu:
                erreurs["matricule_ins"] = (
                    "Matricule INS : le premier chiffre ne correspond pas au sexe saisi "
                    "(1 masculin, 2 féminin)."
                )
        if erreurs:
            raise ValidationError(erreurs)

    def save(self, *args, **kwargs) -> None:
        self.nom_naissance_normalise = normaliser_trait(self.nom_naissance)
        self.premier_prenom_normalise = normaliser_trait(self.premier_prenom)
        if self.identite_douteuse or self.identite_fictive:
            self.statut_identite = StatutIdentite.PROVISOIRE
        super().save(*args, **kwargs)


# --- Proches ---------------------------------------------------------------------------------


class LienProche(models.TextChoices):
    AIDANT = "aidant", "aidant"
    FAMILLE = "famille", "famille"
    REPRESENTANT_LEGAL = "representant_legal", "représentant légal"
    PERSONNE_CONFIANCE = "personne_confiance", "personne de confiance"
    PERSONNE_A_PREVENIR = "personne_a_prevenir", "personne à prévenir"
    AUTRE = "autre", "autre"


class MesureProtection(models.TextChoices):
    TUTELLE = "tutelle", "tutelle"
    CURATELLE = "curatelle", "curatelle"
    HABILITATION_FAMILIALE = "habilitation_familiale", "habilitation familiale avec représentation"
    AUTORITE_PARENTALE = "autorite_parentale", "autorité parentale (usager mineur)"
    MANDAT_PROTECTION_FUTURE = "mandat_protection_future", "mandat de protection future"


# Mesures qui donnent un pouvoir de représentation (la curatelle est une assistance).
MESURES_AVEC_REPRESENTATION = {
    MesureProtection.TUTELLE,
    MesureProtection.HABILITATION_FAMILIALE,
    MesureProtection.AUTORITE_PARENTALE,
    MesureProtection.MANDAT_PROTECTION_FUTURE,
}


class Proche(ModeleDeBase):
    """Une personne liée à un usager (aidant, famille, représentant légal, personne de confiance…),
    pour une période. Un même compte peut être proche de plusieurs usagers (une ligne par lien)."""

    usager = models.ForeignKey(
        Usager, verbose_name="usager", on_delete=models.CASCADE, related_name="proches"
    )
    lien = models.CharField("lien", max_length=30, choices=LienProche)
    precision_lien = models.CharField("précision", max_length=60, blank=True, help_text="Ex. fille, voisin.")
    mesure_protection = models.CharField(
        "mesure de protection", max_length=30, choices=MesureProtection, blank=True
    )
    nom = models.CharField("nom", max_length=100)
    prenoms = models.CharField("prénoms", max_length=200)
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    email = models.EmailField("courriel", blank=True)
    adresse = models.CharField("adresse", max_length=250, blank=True)
    date_debut = models.DateField("début")
    date_fin = models.DateField("fin", null=True, blank=True)
    compte = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="compte", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="proches",
    )  # fmt: skip

    class Meta:
        verbose_name = "proche"
        verbose_name_plural = "proches"
        ordering = ["usager", "nom"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True) | Q(date_fin__gte=F("date_debut")),
                name="proche_dates_ordonnees",
                violation_error_message="Proche : la date de fin précède la date de début.",
            ),
            models.CheckConstraint(
                condition=~Q(lien="representant_legal") | ~Q(mesure_protection=""),
                name="proche_representant_a_une_mesure",
                violation_error_message="Représentant légal : précisez la mesure de protection.",
            ),
        ]
        indexes = [models.Index(fields=["compte", "usager"], name="proche_compte_idx")]

    def __str__(self) -> str:
        return f"{self.prenoms} {self.nom} ({self.get_lien_display()} de {self.usager})"

    @property
    def represente_legalement(self) -> bool:
        return (
            self.lien == LienProche.REPRESENTANT_LEGAL
            and self.mesure_protection in MESURES_AVEC_REPRESENTATION
        )
