"""`manage.py demo` : territoire fictif complet, idempotent, comptes de démonstration utilisables
de bout en bout (mot de passe puis code TOTP) et code TOTP calculable sans base."""

import io
import os
import subprocess
import sys
import time
from collections import Counter

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.urls import reverse

from coordination.comptes.acteur import SESSION_ACTEUR, TypeActeur, acteurs_possibles
from coordination.comptes.models import Compte
from coordination.journal.models import Evenement
from coordination.personnes import demo, identifiants
from coordination.personnes.models import (
    Exercice,
    LienProche,
    Proche,
    Professionnel,
    Sexe,
    StatutIdentite,
    Structure,
    Usager,
)
from sandbox import demo_totp
from tests.factories import CompteFactory, ProfessionnelFactory, StructureFactory, UsagerFactory

pytestmark = pytest.mark.django_db

MODELES_DEMO = (Compte, EmailAddress, Authenticator, Structure, Professionnel, Exercice, Usager, Proche)


def charger() -> str:
    sortie = io.StringIO()
    call_command("demo", stdout=sortie)
    return sortie.getvalue()


def instantane() -> dict[str, list[dict]]:
    """Toutes les lignes des tables touchées par la démo, champ par champ (horodatages compris)."""
    return {m.__name__: sorted(m.objects.values(), key=lambda ligne: ligne["id"]) for m in MODELES_DEMO}


def code_totp_sur(email: str) -> str:
    """Code TOTP courant, pris assez loin de la fin de sa fenêtre de 30 s (pas de tolérance côté allauth)."""
    if demo.secondes_restantes() < 4:
        time.sleep(demo.secondes_restantes() + 0.2)
    return pyotp.TOTP(demo.secret_totp_demo(email)).now()


# --- Le territoire ---------------------------------------------------------------------------------


def test_comptes_par_categorie_et_par_statut():
    sortie = charger()
    # 111 lignes de personnes et comptes, 96 étapes des cercles, 15 de l'agenda, 1 projet personnalisé
    assert "lignes créées : 223" in sortie

    assert Structure.objects.count() == 8
    categories = Counter(Structure.objects.values_list("categorie_code", flat=True))
    assert categories == {"500": 1, "354": 1, "460": 1, "183": 1, "182": 1, "255": 1, "448": 1, "": 1}
    ehpad = Structure.objects.get(categorie_code="500")
    assert ehpad.categorie_libelle == "Etablissement d'hébergement pour personnes âgées dépendantes"
    assert ehpad.code_commune.startswith("96") and ehpad.telephone.startswith("01 99 00")
    dac = Structure.objects.get(categorie_code="")
    assert dac.finess_eg is None and dac.identifiant_technique == "3" + dac.siret
    # IME et SESSAD gérés par la même entité juridique.
    assert (
        Structure.objects.get(categorie_code="183").finess_ej
        == Structure.objects.get(categorie_code="182").finess_ej
    )

    assert Professionnel.objects.count() == 23
    assert Professionnel.objects.filter(idnat_ps__isnull=False).count() == 13
    assert Professionnel.objects.filter(idnat_ps__isnull=True).count() == 10  # personnels sans RPPS
    assert Exercice.objects.count() == 24
    assert Exercice.objects.filter(structure__isnull=True, mode_exercice="L").count() == 3  # libéraux
    fonctions = set(Exercice.objects.values_list("fonction", flat=True))
    for attendu in (
        "médecin traitant", "infirmier", "aide-soignante", "auxiliaire de vie", "éducateur spécialisé",
        "psychologue", "assistante sociale", "ergothérapeute", "masseur-kinésithérapeute", "directeur",
        "infirmière coordinatrice", "référente de parcours", "accompagnant éducatif et social",
    ):  # fmt: skip
        assert attendu in fonctions, attendu

    assert Usager.objects.count() == 12
    statuts = Counter(Usager.objects.values_list("statut_identite", flat=True))
    assert statuts == {"PROV": 3, "RECUP": 3, "VALI": 3, "QUAL": 3}
    assert Usager.objects.filter(identite_douteuse=True, statut_identite="PROV").count() == 1
    assert Usager.objects.filter(identite_fictive=True, statut_identite="PROV").count() == 1
    assert Usager.objects.filter(matricule_ins__isnull=True).count() == 3
    assert Usager.objects.filter(matricule_ins__isnull=True, statut_identite="VALI").count() == 1

    assert Proche.objects.count() == 12
    liens = Counter(Proche.objects.values_list("lien", flat=True))
    assert liens == {"aidant": 2, "representant_legal": 7, "personne_confiance": 2, "personne_a_prevenir": 1}
    mesures = Counter(
        Proche.objects.exclude(mesure_protection="").values_list("mesure_protection", flat=True)
    )
    assert mesures == {"tutelle": 2, "autorite_parentale": 4, "curatelle": 1}

    assert Compte.objects.count() == 8
    assert EmailAddress.objects.filter(verified=True, primary=True).count() == 8
    assert Authenticator.objects.filter(type="totp").count() == 8
    assert Authenticator.objects.filter(type="recovery_codes").count() == 8


def test_chaque_statut_et_cas_d_identite_est_present():
    charger()
    assert {s.value for s in StatutIdentite} == set(Usager.objects.values_list("statut_identite", flat=True))
    nes_en_corse = Usager.objects.filter(code_lieu_naissance__regex=r"^2[AB]")
    assert nes_en_corse.count() == 1
    corse = nes_en_corse.get()
    assert corse.matricule_ins[5:10] == corse.code_lieu_naissance == "2B033"
    nes_a_l_etranger = Usager.objects.filter(code_lieu_naissance__startswith="99")
    assert nes_a_l_etranger.count() == 1
    etranger = nes_a_l_etranger.get()
    assert etranger.matricule_ins[5:10] == etranger.code_lieu_naissance == "99139"
    # Enfants (IME/SESSAD), adultes, personnes âgées.
    annees = sorted(Usager.objects.values_list("date_naissance__year", flat=True))
    assert annees[0] < 1945 and annees[-1] > 2010
    # Un usager à identité qualifiée se connecte lui-même.
    usager_connecte = Usager.objects.get(compte__email="usager@demo.invalid")
    assert usager_connecte.identite_qualifiee and usager_connecte.matricule_exportable


def test_identifiants_valides_et_fictifs():
    charger()
    for modele in (Structure, Professionnel, Exercice, Usager, Proche, Compte):
        for objet in modele.objects.all():
            objet.full_clean()  # lève ValidationError sinon
    for structure in Structure.objects.all():
        assert identifiants.valider_siret(structure.siret) == structure.siret
        if structure.finess_eg:
            assert identifiants.valider_finess(structure.finess_eg).startswith("96")
            assert identifiants.valider_finess(structure.finess_ej).startswith("96")
            assert structure.finess_cle_verifiee
        assert structure.bal_mssante == ""
    for professionnel in Professionnel.objects.filter(idnat_ps__isnull=False):
        assert identifiants.valider_idnat_ps(professionnel.idnat_ps) == professionnel.idnat_ps
        assert professionnel.rpps.startswith("99")
    for usager in Usager.objects.filter(matricule_ins__isnull=False):
        assert identifiants.valider_matricule_ins(usager.matricule_ins) == usager.matricule_ins
        assert usager.oid_ins == identifiants.OID_INS_TEST
        assert usager.matricule_ins[0] == ("1" if usager.sexe == Sexe.MASCULIN else "2")
        assert usager.matricule_ins[5:10] == usager.code_lieu_naissance
    courriels = [
        *Compte.objects.values_list("email", flat=True),
        *Usager.objects.exclude(email="").values_list("email", flat=True),
        *Proche.objects.exclude(email="").values_list("email", flat=True),
    ]
    assert courriels and all(c.endswith("@demo.invalid") for c in courriels)
    assert all("FICTIF" in nom for nom in Usager.objects.values_list("nom_naissance", flat=True))


def test_liens_pour_montrer_le_choix_de_la_qualite():
    charger()
    coordinatrice = acteurs_possibles(Compte.objects.get(email="coordinatrice@demo.invalid"))
    assert len(coordinatrice) == 2
    assert {a.structure.categorie_code for a in coordinatrice} == {"354", ""}  # SSIAD et DAC
    aidante = acteurs_possibles(Compte.objects.get(email="aidante@demo.invalid"))
    assert [a.type for a in aidante] == [TypeActeur.PROCHE, TypeActeur.PROCHE]
    assert {a.usager.prenoms_naissance.split()[0] for a in aidante} == {"Marcelle", "Robert"}
    (tuteur,) = acteurs_possibles(Compte.objects.get(email="tuteur@demo.invalid"))
    assert tuteur.proche.lien == LienProche.REPRESENTANT_LEGAL and tuteur.proche.represente_legalement
    (parent,) = acteurs_possibles(Compte.objects.get(email="parent@demo.invalid"))
    assert (
        parent.proche.mesure_protection == "autorite_parentale" and parent.usager.date_naissance.year > 2008
    )
    admin = Compte.objects.get(email="admin@demo.invalid")
    assert admin.is_staff and admin.is_superuser and acteurs_possibles(admin) == []
    curatelle = Proche.objects.get(mesure_protection="curatelle")
    assert not curatelle.represente_legalement  # la curatelle assiste, ne représente pas


# --- Idempotence et respect des autres données ---------------------------------------------------


def test_second_chargement_ne_change_rien():
    charger()
    avant = instantane()
    sortie = charger()
    assert "lignes créées : 0, modifiées : 0, inchangées : 223" in sortie
    assert instantane() == avant  # mêmes lignes, mêmes UUID, mêmes horodatages de modification
    uuids = set(Usager.objects.values_list("uuid", flat=True))
    assert uuids == {demo.uuid_demo("usager", u.cle) for u in demo.USAGERS}


def test_chaque_chargement_journalise_un_evenement():
    charger()
    charger()
    evenements = list(Evenement.objects.filter(action="demo.chargement").order_by("id"))
    assert len(evenements) == 2
    assert {(e.acteur_type, e.acteur_nom) for e in evenements} == {(TypeActeur.SYSTEME, "demo")}
    assert evenements[0].details["crees"]["usager"] == 12
    assert evenements[1].details["crees"] == {} and evenements[1].details["modifies"] == {}
    assert evenements[1].details["inchanges"]["professionnel"] == 23
    # Les cercles sont écrits par les services (journalisés) au premier chargement seulement.
    assert not Evenement.objects.filter(id__gt=evenements[0].id).exclude(action="demo.chargement").exists()
    assert Evenement.objects.filter(action="cercle.droit.octroi").exists()


def test_recharger_remet_la_demo_en_etat():
    charger()
    structure = Structure.objects.get(categorie_code="500")
    uuid_avant = structure.uuid
    Structure.objects.filter(pk=structure.pk).update(raison_sociale="Renommée à la main")
    compte = Compte.objects.get(email="ide.ssiad@demo.invalid")
    compte.set_password("un-autre-mot-de-passe")
    compte.save()
    secours = Authenticator.objects.get(user=compte, type="recovery_codes")
    secours.data["used_mask"] = 0b101
    secours.save()

    sortie = charger()

    assert "modifiées : 3" in sortie
    structure.refresh_from_db()
    assert structure.raison_sociale == "EHPAD Les Tilleuls fictifs" and structure.uuid == uuid_avant
    compte.refresh_from_db()
    assert compte.check_password(demo.MOT_DE_PASSE_DEMO)
    secours.refresh_from_db()
    assert secours.data["used_mask"] == 0


def test_donnees_hors_demo_intactes():
    autre_structure = StructureFactory()
    autre_usager = UsagerFactory(qualifiee=True)
    autre_professionnel = ProfessionnelFactory()
    autre_compte = CompteFactory()
    avant = instantane()

    charger()
    charger()

    for modele, objet in (
        (Structure, autre_structure), (Usager, autre_usager), (Professionnel, autre_professionnel),
        (Compte, autre_compte),
    ):  # fmt: skip
        ligne_avant = next(ligne for ligne in avant[modele.__name__] if ligne["id"] == objet.pk)
        assert modele.objects.filter(pk=objet.pk).values().get() == ligne_avant


def test_refuse_de_reprendre_une_cle_portee_par_une_autre_ligne():
    finess_ehpad = next(s.finess_eg for s in demo.STRUCTURES if s.cle == "ehpad")
    StructureFactory(finess_eg=finess_ehpad, raison_sociale="Établissement réel")

    with pytest.raises(CommandError, match=f"FINESS établissement \\(EG\\) {finess_ehpad}"):
        charger()

    assert Structure.objects.get(finess_eg=finess_ehpad).raison_sociale == "Établissement réel"
    assert not Compte.objects.filter(email__endswith="@demo.invalid").exists()  # tout est annulé
    assert not Evenement.objects.filter(action="demo.chargement").exists()


def test_refuse_en_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusées en production"):
        charger()
    assert not Structure.objects.exists()


# --- Connexion de bout en bout ----------------------------------------------------------------------


def _connexion_mot_de_passe(client, email: str, mot_de_passe: str = demo.MOT_DE_PASSE_DEMO):
    return client.post(reverse("account_login"), {"login": email, "password": mot_de_passe})


def test_connexion_demo_mot_de_passe_puis_totp(client):
    charger()
    email = "usager@demo.invalid"
    compte = Compte.objects.get(email=email)

    reponse = _connexion_mot_de_passe(client, email)
    assert reponse.status_code == 302 and reponse["Location"] == reverse("mfa_authenticate")
    assert SESSION_KEY not in client.session  # pas encore connecté : le second facteur manque

    reponse = client.post(reverse("mfa_authenticate"), {"code": code_totp_sur(email)})
    assert reponse.status_code == 302 and reponse["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert client.session[SESSION_KEY] == str(compte.pk)

    client.get(reverse("accueil"))
    usager = Usager.objects.get(compte=compte)
    assert client.session[SESSION_ACTEUR] == f"usager:{usager.uuid}"  # une seule qualité : prise d'office


def test_connexion_coordinatrice_doit_choisir_sa_qualite(client):
    charger()
    email = "coordinatrice@demo.invalid"
    _connexion_mot_de_passe(client, email)
    client.post(reverse("mfa_authenticate"), {"code": code_totp_sur(email)})
    assert client.session[SESSION_KEY] == str(Compte.objects.get(email=email).pk)

    reponse = client.get(reverse("accueil"))
    assert reponse.status_code == 302 and reponse["Location"].startswith(reverse("choisir_acteur"))
    assert SESSION_ACTEUR not in client.session


def test_connexion_avec_un_code_de_secours(client):
    charger()
    email = "aidante@demo.invalid"
    (connexion,) = [c for c in demo.connexions_demo() if c.email == email]
    _connexion_mot_de_passe(client, email)
    reponse = client.post(reverse("mfa_authenticate"), {"code": connexion.codes_secours[0]})
    assert reponse.status_code == 302
    assert client.session[SESSION_KEY] == str(Compte.objects.get(email=email).pk)


def test_mauvais_code_totp_ne_connecte_pas(client):
    charger()
    email = "tuteur@demo.invalid"
    _connexion_mot_de_passe(client, email)
    bon = code_totp_sur(email)
    faux = f"{(int(bon) + 1) % 1_000_000:06d}"
    reponse = client.post(reverse("mfa_authenticate"), {"code": faux})
    assert reponse.status_code == 200
    assert SESSION_KEY not in client.session


def test_secret_en_base_est_le_secret_derive():
    charger()
    for email in demo.EMAILS_DEMO:
        totp = Authenticator.objects.get(user__email=email, type="totp")
        assert decrypt(totp.data["secret"]) == demo.secret_totp_demo(email)
    assert len({demo.secret_totp_demo(e) for e in demo.EMAILS_DEMO}) == len(demo.EMAILS_DEMO)


# --- Affichage des connexions et code TOTP sans base --------------------------------------------------


def test_logins_liste_chaque_compte():
    charger()
    sortie = io.StringIO()
    call_command("demo", "--logins", stdout=sortie)
    texte = sortie.getvalue()
    for email in demo.EMAILS_DEMO:
        assert email in texte
        assert demo.secret_totp_demo(email) in texte
    assert f"Mot de passe commun : {demo.MOT_DE_PASSE_DEMO}" in texte
    assert "make totp EMAIL=" in texte
    assert "référente de parcours · DAC du Val-Fictif" in texte
    assert "infirmière coordinatrice · SSIAD du Val-Fictif" in texte
    assert "aidant de Marcelle MARTIN-FICTIF" in texte and "aidant de Robert MARTIN-FICTIF" in texte


def test_logins_sans_demo_chargee_le_dit():
    sortie = io.StringIO()
    call_command("demo", "--logins", stdout=sortie)
    assert sortie.getvalue().count("compte absent de la base") == len(demo.EMAILS_DEMO)
    assert not Compte.objects.exists()


def test_demo_totp_affiche_le_code_courant(capsys):
    email = "educateur.ime@demo.invalid"
    attendu = code_totp_sur(email)
    assert demo_totp.main([email.upper()]) == 0
    assert capsys.readouterr().out.strip() == attendu


def test_demo_totp_refuse_un_courriel_hors_demo(capsys):
    assert demo_totp.main(["quelquun@exemple.test"]) == 2
    erreur = capsys.readouterr().err
    assert "n'est pas un compte de démonstration" in erreur and "coordinatrice@demo.invalid" in erreur
    assert demo_totp.main([]) == 2


@pytest.mark.django_db(False)
def test_demo_totp_sans_base_ni_django():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = "postgres://personne@127.0.0.1:1/aucune"  # injoignable : ne doit pas servir
    resultat = subprocess.run(
        [sys.executable, "-m", "sandbox.demo_totp", "parent@demo.invalid"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert resultat.returncode == 0, resultat.stderr
    code = resultat.stdout.strip()
    assert len(code) == 6 and code.isdigit()
    totp = pyotp.TOTP(demo.secret_totp_demo("parent@demo.invalid"))
    assert totp.verify(code, valid_window=1)
    assert "django" not in resultat.stderr.lower()


# --- Cercles de démonstration ------------------------------------------------------------------------


def test_cercles_de_demonstration_par_les_services():
    from cercle import habilitations, selectors
    from cercle.models import (
        Consentement,
        Delegation,
        DemandeAdhesion,
        Habilitation,
        Membre,
        OrigineHabilitation,
        StatutDelegation,
        StatutMembre,
    )

    charger()
    marcelle = Usager.objects.get(uuid=demo.uuid_demo("usager", "marcelle"))
    membres = Membre.objects.filter(cercle__usager=marcelle)
    assert {m.nom_affiche for m in membres.filter(type="structure")} == {
        "SSIAD du Val-Fictif",
        "Aide à domicile du Val-Fictif",
    }
    # Droits présumés (équipe de soins) pour l'infirmier du SSIAD, accordés (consentement) pour l'aidante.
    ide = membres.get(professionnel__nom_exercice="NGUYEN-FICTIF")
    assert ide.habilitations.filter(origine=OrigineHabilitation.PRESOMPTION).count() == 5
    aidante = membres.get(proche__prenoms="Sophie")
    assert set(aidante.habilitations.values_list("domaine", "niveau")) == {
        ("cahier", 1),
        ("agenda", 2),
        ("ppa", 2),
    }
    assert all(h.consentement.qualite == "usager" for h in aidante.habilitations.all())
    # Gestion confiée à la coordinatrice du DAC ; elle voit Marcelle dans « Mes usagers ».
    coordinatrice = Compte.objects.get(email="coordinatrice@demo.invalid")
    dac = next(a for a in acteurs_possibles(coordinatrice) if a.structure.categorie_code == "")
    assert habilitations.peut(dac, marcelle, "gerer", "cercle")
    assert marcelle in selectors.mes_usagers(dac)
    # À décider : une demande, une délégation, une proposition ; un ancien membre.
    assert DemandeAdhesion.objects.filter(cercle__usager=marcelle, statut="en_attente").count() == 1
    assert (
        Delegation.objects.filter(
            delegant__cercle__usager=marcelle, statut=StatutDelegation.EN_ATTENTE
        ).count()
        == 1
    )
    assert membres.filter(statut=StatutMembre.PROPOSE, origine="historique").count() == 1
    assert membres.filter(statut=StatutMembre.INACTIF, motif_sortie="fin_accompagnement").count() == 1
    # Le tuteur de Jeanne décide pour elle : la délégation en attente lui est présentée.
    jeanne = Usager.objects.get(uuid=demo.uuid_demo("usager", "jeanne"))
    (tuteur,) = acteurs_possibles(Compte.objects.get(email="tuteur@demo.invalid"))
    assert [d.delegant.nom_affiche for d in selectors.delegations_a_consentir(tuteur, jeanne)] == [
        "Marc DUBOIS-FICTIF"
    ]
    assert selectors.demandes_en_attente(tuteur, jeanne).count() == 1
    for usager in Usager.objects.all():
        assert Membre.objects.filter(cercle__usager=usager, statut=StatutMembre.ACTIF).count() >= 1, usager
    # UUID fixes : un second chargement ne crée rien et garde les mêmes lignes.
    avant = {
        modele.__name__: set(modele.objects.values_list("uuid", flat=True))
        for modele in (Membre, Habilitation, Consentement, Delegation, DemandeAdhesion)
    }
    assert demo.uuid_demo("membre", "marcelle:pro:nguyen:0") in avant["Membre"]
    charger()
    apres = {
        modele.__name__: set(modele.objects.values_list("uuid", flat=True))
        for modele in (Membre, Habilitation, Consentement, Delegation, DemandeAdhesion)
    }
    assert apres == avant


def test_projet_personnalise_de_demonstration():
    """Le projet de Marcelle au SSIAD : validé par les deux accords (ses actions dans l'agenda, au nom
    du PPA), un avenant en brouillon avec une question de Sophie ; tout par les services (journal)."""
    from agenda.models import Evenement as EvenementAgenda
    from ppa.models import StatutVersion, VersionPPA

    charger()
    marcelle = Usager.objects.get(uuid=demo.uuid_demo("usager", "marcelle"))
    versions = VersionPPA.objects.filter(projet__usager=marcelle).order_by("numero")
    assert [v.statut for v in versions] == [StatutVersion.VALIDEE, StatutVersion.BROUILLON]
    validee, avenant = versions
    assert validee.accords.count() == 2 and avenant.derive_de_id == validee.pk
    assert avenant.commentaires.filter(partie="actions").count() == 1
    assert validee.projet.referent.professionnel.nom_exercice == "NGUYEN-FICTIF"
    assert EvenementAgenda.objects.filter(usager=marcelle, systeme_source="ppa").count() == 2
    assert Evenement.objects.filter(usager_uuid=marcelle.uuid, action="ppa.version.validation").count() == 1
