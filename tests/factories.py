"""Fabriques factory_boy des personnes et structures (données fictives, INS de test OID …4.10)."""

import datetime

import factory

from coordination.comptes.models import Compte
from coordination.personnes import models
from coordination.personnes.identifiants import OID_INS_TEST, avec_cle_luhn, avec_cle_nir


def rpps_valide(n: int) -> str:
    """RPPS fictif (préfixe 99, comme les identités de test) avec sa clé de Luhn."""
    return avec_cle_luhn(f"99{n:08d}")


def finess_valide(n: int, departement: str = "99") -> str:
    return avec_cle_luhn(f"{departement}{n:06d}")


def nir_valide(n: int, sexe: str = "2", naissance: str = "4507", lieu: str = "75056") -> str:
    """Un NIR de test à clé juste, distinct pour chaque `n` : le rang de naissance (3 chiffres) vaut
    n modulo 1000, le millier décale le code du lieu (sans quoi n = 1000 redonnait n = 100)."""
    if lieu.isdigit():
        lieu = f"{int(lieu) + n // 1000:05d}"
    corps = f"{sexe}{naissance[2:]}{naissance[:2]}{lieu}{n % 1000:03d}"
    return avec_cle_nir(corps)


class CompteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compte
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"compte{n}@exemple.test")
    password = factory.django.Password("mot-de-passe-de-test-42")


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Structure

    finess_eg = factory.Sequence(lambda n: finess_valide(n))
    finess_ej = factory.Sequence(lambda n: finess_valide(500000 + n))
    raison_sociale = factory.Sequence(lambda n: f"SSIAD fictif n°{n}")
    categorie_code = "354"
    categorie_libelle = "Service de soins infirmiers à domicile (SSIAD)"
    commune = "Villefictive"


class ProfessionnelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Professionnel

    idnat_ps = factory.Sequence(lambda n: "8" + rpps_valide(n))
    nom_exercice = factory.Sequence(lambda n: f"SOIGNANT{n}")
    prenom_exercice = "Camille"
    profession_code = "60"
    profession_libelle = "Infirmier"


class ExerciceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Exercice

    professionnel = factory.SubFactory(ProfessionnelFactory)
    structure = factory.SubFactory(StructureFactory)
    profession_code = factory.SelfAttribute("professionnel.profession_code")
    profession_libelle = factory.SelfAttribute("professionnel.profession_libelle")
    mode_exercice = models.ModeExercice.SALARIE
    date_debut = datetime.date(2020, 1, 1)


class UsagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Usager

    nom_naissance = factory.Sequence(lambda n: f"FICTIF{n}")
    prenoms_naissance = "Jeanne Marie"
    date_naissance = datetime.date(1945, 7, 14)
    sexe = models.Sexe.FEMININ
    code_lieu_naissance = "75056"
    statut_identite = models.StatutIdentite.PROVISOIRE

    class Params:
        qualifiee = factory.Trait(
            matricule_ins=factory.Sequence(lambda n: nir_valide(n)),
            oid_ins=OID_INS_TEST,
            statut_identite=models.StatutIdentite.QUALIFIEE,
            mode_recueil=models.ModeRecueil.INSI,
            date_interrogation_insi=datetime.date(2026, 1, 15),
        )


class ProcheFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Proche

    usager = factory.SubFactory(UsagerFactory)
    lien = models.LienProche.AIDANT
    precision_lien = "fille"
    nom = "AIDANTE"
    prenoms = "Sophie"
    date_debut = datetime.date(2024, 1, 1)


# --- Comptes prêts à se connecter (pages, navigateur) -------------------------------------------

MOT_DE_PASSE_TEST = "mot-de-passe-de-test-42"
# Secret TOTP fictif (base32, 160 bits), partagé par les comptes de test.
SECRET_TOTP_TEST = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def compte_connectable(*, totp: bool = True, **champs) -> Compte:
    """Compte local comme ceux créés sur invitation : courriel vérifié (allauth l'exige) et, sauf
    `totp=False`, une application d'authentification déjà activée avec SECRET_TOTP_TEST."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP

    compte = CompteFactory(**champs)
    EmailAddress.objects.create(user=compte, email=compte.email, verified=True, primary=True)
    if totp:
        TOTP.activate(compte, SECRET_TOTP_TEST)
    return compte


def connecter(client, compte):
    """Connecte `compte` comme après un vrai parcours mot de passe + code TOTP (la session porte la
    marque posée par le middleware MFA). Le vrai parcours est testé dans test_pages et test_demo."""
    from coordination.comptes.middleware import SESSION_MFA_OK

    client.force_login(compte)
    session = client.session
    session[SESSION_MFA_OK] = True
    session.save()
    return client
