"""Recherche plein texte et filtres du cahier de liaison (ADR 0018) : français sans accents ni
casse, racines, syntaxe « websearch », filtres seuls et combinés, habilitations et visibilités
respectées (matrice acteurs × visibilités, dans un cahier et dans tous mes cahiers), extraits
sûrs, nombre de requêtes constant, index GIN utilisé, formulaire des filtres."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cahier_liaison import selectors
from cahier_liaison import services as cahier
from cahier_liaison.forms import FiltresCahierForm
from cahier_liaison.models import Note, TypeAuteur
from cercle import services
from cercle.models import TypeMembre
from cercle.roles import Role
from tests.factories import UsagerFactory
from tests.monde_cahier import (
    ACTEURS,
    SANS_USAGER,
    SANTE,
    TOUS,
    VISIBILITES,
    construire_monde_cahier,
    note_de,
    peut_lire,
    qui,
    une_heure_avant,
)
from tests.monde_cercle import acteur_usager

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde_cahier()


def trouvees(acteur, usager, texte: str, **filtres) -> list[Note]:
    return list(selectors.notes_visibles(acteur, usager, filtres={"texte": texte, **filtres}))


# --- Le français --------------------------------------------------------------------------------


def test_accents_et_casse_ignores(monde):
    fievre = note_de(monde, texte="Fièvre à 38,5 °C ce soir.")
    medecin = qui(monde, "medecin")
    for saisie in ("fievre", "FIÈVRE", "Fiévre", "fièvres"):
        assert trouvees(medecin, monde.usager, saisie) == [fievre], saisie
    assert trouvees(medecin, monde.usager, "grippe") == []


def test_racines_francaises(monde):
    chute = note_de(monde, texte="Chute dans la salle de bain.")
    marche = note_de(monde, texte="Elle marchait seule dans le couloir.")
    medecin = qui(monde, "medecin")
    assert trouvees(medecin, monde.usager, "chutes") == [chute]
    assert trouvees(medecin, monde.usager, "chuté") == [chute]
    assert trouvees(medecin, monde.usager, "marcher") == [marche]
    # Les mots vides ne comptent pas : « la » seul ne trouve rien (et ne plante pas).
    assert trouvees(medecin, monde.usager, "la") == []


def test_expression_exclusion_et_ou(monde):
    genou = note_de(monde, texte="Douleur au genou droit depuis hier.")
    dos = note_de(monde, texte="Douleur dans le dos, genou sans particularité.")
    fievre = note_de(monde, texte="Fièvre modérée.")
    medecin = qui(monde, "medecin")
    assert trouvees(medecin, monde.usager, '"douleur au genou"') == [genou]
    assert set(trouvees(medecin, monde.usager, "douleur genou")) == {genou, dos}
    assert trouvees(medecin, monde.usager, "douleur -dos") == [genou]
    assert set(trouvees(medecin, monde.usager, "fièvre or dos")) == {fievre, dos}
    for bizarre in ('"', "-", "or", "!!! ((", "'; DROP TABLE"):
        assert trouvees(medecin, monde.usager, bizarre) == []


def test_tous_les_champs_de_la_transmission_ciblee(monde):
    note = note_de(
        monde, texte="", cible="Hydratation", donnees="Boit peu depuis deux jours.",
        actions="Eau gélifiée proposée.", resultats="Amélioration nette.",
    )  # fmt: skip
    medecin = qui(monde, "medecin")
    for mot in ("hydratation", "boit", "gélifiée", "amelioration"):
        assert trouvees(medecin, monde.usager, mot) == [note], mot


def test_modification_et_desactivation_suivies(monde):
    note = note_de(monde, texte="Toux sèche.")
    medecin = qui(monde, "medecin")
    cahier.modifier_note(acteur=medecin, note=note, texte="Toux grasse, encombrement.")
    assert trouvees(qui(monde, "medecin"), monde.usager, "sèche") == []
    assert trouvees(qui(monde, "medecin"), monde.usager, "encombrement") == [note]
    cahier.desactiver_note(acteur=qui(monde, "medecin"), note=note, motif="Erreur de dossier.")
    assert trouvees(qui(monde, "medecin"), monde.usager, "encombrement") == []
    assert trouvees(qui(monde, "medecin"), monde.usager, "encombrement", desactivees=True) == [note]


# --- Habilitations et visibilités -----------------------------------------------------------------

MOTS = {TOUS: "framboise", SANS_USAGER: "groseille", SANTE: "myrtille"}


@pytest.fixture
def trois_notes(monde):
    """Une note par visibilité, chacune avec son mot, écrites par le médecin."""
    return {v: note_de(monde, visibilite=v, texte=f"Confiture de {MOTS[v]} au goûter.") for v in VISIBILITES}


@pytest.mark.parametrize("visibilite", VISIBILITES)
@pytest.mark.parametrize("nom", ACTEURS)
def test_recherche_respecte_droits_et_visibilite(monde, trois_notes, nom, visibilite):
    """Matrice acteurs × visibilités, dans le cahier et dans « tous mes cahiers » : une note que
    l'acteur ne peut pas lire n'est jamais trouvée, ni comptée, ni citée comme auteur."""
    attendu = [trois_notes[visibilite]] if peut_lire(nom, visibilite) else []
    mot = MOTS[visibilite]

    assert trouvees(qui(monde, nom), monde.usager, mot) == attendu
    assert selectors.notes_visibles(qui(monde, nom), monde.usager, filtres={"texte": mot}).count() == len(
        attendu
    )
    lisibles = sum(peut_lire(nom, v) for v in VISIBILITES)
    assert (
        selectors.notes_visibles(qui(monde, nom), monde.usager, filtres={"texte": "confiture"}).count()
        == lisibles
    )
    partout = selectors.rechercher_dans_mes_cahiers(qui(monde, nom), mot)
    assert [n for n in partout if n.usager_id == monde.usager.pk] == attendu


def test_auteurs_et_structures_sans_fuite(monde):
    """L'infirmière n'écrit que des notes réservées aux professionnels de santé : l'éducateur
    (pas de santé) et l'aidant ne la voient pas dans les choix d'auteurs ni sa structure."""
    note_de(monde, "ide", visibilite=SANTE, texte="Pansement refait.")
    note_de(monde, "medecin", visibilite=TOUS, texte="Consultation de suivi.")
    note_de(monde, "educateur", visibilite=SANS_USAGER, texte="Atelier mémoire.")
    ide, medecin, educateur = (
        f"exercice:{monde.acteurs[n].exercice.uuid}" for n in ("ide", "medecin", "educateur")
    )

    def cles(nom):
        return {cle for cle, _ in selectors.auteurs_du_cahier(qui(monde, nom), monde.usager)}

    assert cles("gestionnaire") == {ide, medecin, educateur}
    assert cles("educateur") == {medecin, educateur}
    assert cles("aidant_avec_droits") == {medecin}
    assert cles("pro_hors_cercle") == cles("aidant_sans_droit") == cles("autre_usager") == set()
    libelles = dict(selectors.auteurs_du_cahier(qui(monde, "gestionnaire"), monde.usager))
    assert "INFIRMIERE" in libelles[ide]
    ssiad = (monde.ssiad.uuid, monde.ssiad.raison_sociale)
    assert selectors.structures_du_cahier(qui(monde, "gestionnaire"), monde.usager) == [ssiad]
    # L'éducateur exerce au SSIAD : la structure apparaît, mais par ses notes à lui seulement.
    assert selectors.structures_du_cahier(qui(monde, "educateur"), monde.usager) == [ssiad]
    assert selectors.structures_du_cahier(qui(monde, "aidant_avec_droits"), monde.usager) == []


# --- Filtres -------------------------------------------------------------------------------------


@pytest.fixture
def varietes(monde):
    """Des notes de toutes sortes d'auteurs, de types, d'urgence et de dates."""
    moi = monde.acteurs["usager"]
    services.accorder(acteur=moi, membre=monde.membres["ssiad"], domaine="cahier", niveau=2)
    notes = {
        "ide": note_de(monde, "ide", type="INTERV", texte="Toilette faite, escarre surveillée."),
        "medecin": note_de(
            monde, "medecin", type="INST", urgente=True, texte="Arrêt du traitement, escarre."
        ),
        "usager": note_de(monde, "usager", type="GEN", texte="J'ai bien dormi."),
        "dui": note_de(monde, "dui_ssiad", type="OBS", texte="Escarre au talon, pansement."),
    }
    Note.objects.filter(pk=notes["ide"].pk).update(ecrite_le=timezone.now() - datetime.timedelta(days=10))
    return notes


def cle(monde, nom):
    acteur = monde.acteurs[nom]
    if nom == "usager":
        return f"usager:{monde.usager.uuid}"
    if nom == "dui_ssiad":
        return f"structure:{acteur.structure_logiciel.uuid}"
    return f"exercice:{acteur.exercice.uuid}"


def fil(monde, nom="gestionnaire", **filtres) -> set:
    return set(selectors.notes_visibles(qui(monde, nom), monde.usager, filtres=filtres))


def test_chaque_filtre_seul(monde, varietes):
    assert varietes["dui"].auteur_type == TypeAuteur.LOGICIEL and varietes["dui"].auteur_exercice_id is None
    for nom, note in (("ide", "ide"), ("medecin", "medecin"), ("usager", "usager"), ("dui_ssiad", "dui")):
        assert fil(monde, auteur=cle(monde, nom)) == {varietes[note]}, nom
    assert fil(monde, auteur=f"proche:{monde.usager.uuid}") == set()
    assert fil(monde, auteur="inconnu:x") == set()
    assert fil(monde, structure=monde.ssiad.uuid) == {varietes["ide"], varietes["dui"]}
    assert fil(monde, type="INST") == {varietes["medecin"]}
    assert fil(monde, urgente=True) == {varietes["medecin"]}
    assert fil(monde, urgente=False) == {varietes["ide"], varietes["usager"], varietes["dui"]}
    hier = timezone.now() - datetime.timedelta(days=1)
    assert fil(monde, jusqu_au=hier) == {varietes["ide"]}
    assert fil(monde, depuis=hier) == {varietes["medecin"], varietes["usager"], varietes["dui"]}
    assert fil(monde, texte="escarres") == {varietes["ide"], varietes["medecin"], varietes["dui"]}


def test_filtres_combines(monde, varietes):
    assert fil(monde, texte="escarre", structure=monde.ssiad.uuid) == {varietes["ide"], varietes["dui"]}
    assert fil(monde, texte="escarre", structure=monde.ssiad.uuid, type="OBS") == {varietes["dui"]}
    assert fil(monde, texte="escarre", urgente=True, auteur=cle(monde, "medecin")) == {varietes["medecin"]}
    assert fil(monde, texte="escarre", urgente=True, auteur=cle(monde, "ide")) == set()
    hier = timezone.now() - datetime.timedelta(days=1)
    assert fil(monde, texte="escarre -talon", depuis=hier) == {varietes["medecin"]}
    partout = selectors.rechercher_dans_mes_cahiers(
        qui(monde, "gestionnaire"), "escarre", filtres={"structure": monde.ssiad.uuid, "type": "OBS"}
    )
    assert partout == [varietes["dui"]]


def test_filtre_attend_mon_accuse(monde, varietes):
    medecin = qui(monde, "medecin")
    cahier.demander_accuse(acteur=medecin, note=varietes["ide"], destinataires=[monde.membres["ssiad"]])
    cahier.demander_accuse(acteur=medecin, note=varietes["usager"], destinataires=[monde.membres["ide"]])
    cahier.demander_accuse(acteur=medecin, note=varietes["dui"], destinataires=[monde.membres["educateur"]])
    assert fil(monde, "ide", attend_mon_accuse=True) == {varietes["ide"], varietes["usager"]}
    assert fil(monde, "collegue_structure", attend_mon_accuse=True) == {varietes["ide"]}
    # L'éducateur exerce au SSIAD : la demande faite à la structure l'attend aussi.
    assert fil(monde, "educateur", attend_mon_accuse=True) == {varietes["ide"], varietes["dui"]}
    assert fil(monde, "educateur", attend_mon_accuse=True, texte="talon") == {varietes["dui"]}
    assert fil(monde, "medecin", attend_mon_accuse=True) == set()
    assert fil(monde, "usager", attend_mon_accuse=True) == set()
    cahier.accuser_reception(acteur=qui(monde, "ide"), note=varietes["usager"])
    assert fil(monde, "ide", attend_mon_accuse=True) == {varietes["ide"]}


# --- Tous mes cahiers ----------------------------------------------------------------------------


@pytest.fixture
def trois_cahiers(monde):
    """Le médecin est aussi médecin traitant de Paul ; Lucie a un cahier où il n'est pas."""
    paul = monde.autre_usager
    services.ajouter_membre(
        acteur=acteur_usager(paul), usager=paul, type=TypeMembre.PROFESSIONNEL,
        exercice=monde.acteurs["medecin"].exercice, role=Role.MEDECIN_TRAITANT,
    )  # fmt: skip
    lucie = UsagerFactory(nom_naissance="TROISIEME", prenoms_naissance="Lucie")
    services.creer_cercle(usager=lucie)
    ecrire = lambda acteur, usager, texte, **c: cahier.ecrire_note(  # noqa: E731
        acteur=acteur, usager=usager, type="OBS", survenue_le=une_heure_avant(), texte=texte, **c
    )
    return {
        "jeanne": note_de(monde, texte="Hypoglycémie à 0,55 g/l, resucrée."),
        "paul": ecrire(acteur_usager(paul), paul, "Hypoglycémie au réveil."),
        "lucie": ecrire(acteur_usager(lucie), lucie, "Hypoglycémie nocturne."),
    }


def test_tous_mes_cahiers_seulement_ceux_que_je_lis(monde, trois_cahiers):
    medecin = qui(monde, "medecin")
    resultats = selectors.rechercher_dans_mes_cahiers(medecin, "hypoglycemie")
    assert resultats == [trois_cahiers["paul"], trois_cahiers["jeanne"]]  # les plus récentes d'abord
    assert {n.usager for n in resultats} == {monde.usager, monde.autre_usager}
    assert selectors.rechercher_dans_mes_cahiers(qui(monde, "ide"), "hypoglycemie") == [
        trois_cahiers["jeanne"]
    ]
    for nom in ("pro_hors_cercle", "pro_sans_droit", "membre_sorti", "aidant_sans_droit", "assistant"):
        assert selectors.rechercher_dans_mes_cahiers(qui(monde, nom), "hypoglycemie") == [], nom
    assert selectors.rechercher_dans_mes_cahiers(qui(monde, "autre_usager"), "hypoglycemie") == [
        trois_cahiers["paul"]
    ]
    assert selectors.rechercher_dans_mes_cahiers(None, "hypoglycemie") == []
    assert selectors.rechercher_dans_mes_cahiers(medecin, "   ") == []
    assert len(selectors.rechercher_dans_mes_cahiers(qui(monde, "systeme"), "hypoglycemie")) == 3
    assert len(selectors.rechercher_dans_mes_cahiers(medecin, "hypoglycemie", limite=1)) == 1


def test_tous_mes_cahiers_en_requetes_constantes(monde, trois_cahiers):
    """Trois requêtes (usagers lisibles, notes trouvées, ces notes avec usager et extrait), pour 2 ou
    40 notes."""

    def chercher() -> list:
        with CaptureQueriesContext(connection) as requetes:
            resultats = selectors.rechercher_dans_mes_cahiers(qui(monde, "medecin"), "hypoglycémie")
            for note in resultats:  # ce qu'affiche la page
                str(note.usager), note.auteur_nom, note.auteur_qualite, note.extrait, note.get_type_display()
        return resultats, len(requetes)

    peu, avant = chercher()
    for rang in range(38):
        note_de(monde, "ide", texte=f"Hypoglycémie numéro {rang}.")
    beaucoup, apres = chercher()
    assert len(peu) == 2 and len(beaucoup) == 40
    assert avant == apres == 3


def test_extrait_echappe_et_mots_marques(monde):
    note_de(monde, texte="Fièvre <b>forte</b> & frissons \ue000piège\ue001 <img src=x onerror=alert(1)> fin.")
    [note] = selectors.rechercher_dans_mes_cahiers(qui(monde, "medecin"), "fievre forte")
    assert "<b>" not in note.extrait and "<img" not in note.extrait and "&amp; frissons" in note.extrait
    assert note.extrait.count("<mark>") == note.extrait.count("</mark>") == 2
    assert "<mark>Fièvre</mark>" in note.extrait and "<mark>forte</mark>" in note.extrait
    assert "piège" in note.extrait and "<mark>piège" not in note.extrait and "\ue000" not in note.extrait
    assert selectors.extrait_html("<i>\ue000a\ue001\ue000") == "&lt;i&gt;<mark>a</mark>"


# --- Plan d'exécution ----------------------------------------------------------------------------


def test_index_gin_utilise(monde):
    """Sur une table réaliste (quelques milliers de notes, deux usagers), la recherche dans un cahier
    et dans tous mes cahiers passe par l'index GIN (usager, vecteur)."""
    note_de(monde, texte="Érysipèle de la jambe droite.")
    base = {"auteur_type": TypeAuteur.USAGER, "type": "OBS", "survenue_le": timezone.now()}
    Note.objects.bulk_create(
        [Note(usager=usager, auteur_usager=usager, auteur_nom="usager fictif", texte=f"Repas, note {i}.",
              **base) for usager in (monde.usager, monde.autre_usager) for i in range(2500)]
    )  # fmt: skip
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE cahier_liaison_note")
        dans_un = selectors.notes_visibles(
            qui(monde, "medecin"), monde.usager, filtres={"texte": "érysipèle"}
        )
        plan_un = dans_un.explain()
        assert "cahier_note_recherche_idx" in plan_un, plan_un
        with CaptureQueriesContext(connection) as requetes:
            selectors.rechercher_dans_mes_cahiers(qui(monde, "medecin"), "érysipèle")
        # Les requêtes : usagers lisibles, notes trouvées (celle qui cherche), ces notes avec extraits.
        assert len(requetes) == 3
        curseur.execute("EXPLAIN " + requetes.captured_queries[1]["sql"])
        plan = "\n".join(ligne for (ligne,) in curseur.fetchall())
    assert "cahier_note_recherche_idx" in plan


# --- Formulaire des filtres ----------------------------------------------------------------------


def test_formulaire_valeurs_propres():
    structure = "3f2b8a4e-9a0c-4c47-9a53-5d1e7c3b2a10"
    auteur = "exercice:7a1c0e52-1f6d-4b8a-9d3e-2c5b6a7f8e90"
    form = FiltresCahierForm({
        "q": "  fièvre -toux ", "type": "OBS", "urgente": "oui", "depuis": "2026-01-02",
        "jusqu_au": "03/01/2026", "auteur": auteur, "structure": structure, "attend_mon_accuse": "on",
    })  # fmt: skip
    assert form.is_valid(), form.errors
    filtres = form.filtres()
    assert filtres["texte"] == "fièvre -toux" and filtres["type"] == "OBS" and filtres["urgente"] is True
    assert timezone.localtime(filtres["depuis"]).date() == datetime.date(2026, 1, 2)
    assert timezone.localtime(filtres["jusqu_au"]).date() == datetime.date(2026, 1, 3)
    assert timezone.localtime(filtres["jusqu_au"]).hour == 23
    assert filtres["auteur"] == auteur and str(filtres["structure"]) == structure
    assert filtres["attend_mon_accuse"] is True
    assert FiltresCahierForm({"urgente": "non"}).filtres() == {}  # avant is_valid : rien
    vide = FiltresCahierForm({"q": "   ", "urgente": "non"})
    assert vide.is_valid() and vide.filtres() == {"urgente": False}


def test_formulaire_erreurs_en_francais_et_valeurs_ignorees():
    form = FiltresCahierForm({
        "q": "x" * 201, "type": "XYZ", "urgente": "peut-être", "depuis": "31/02/2026", "jusqu_au": "hier",
        "auteur": "exercice:pas-un-uuid", "structure": "123", "attend_mon_accuse": "",
    })  # fmt: skip
    assert not form.is_valid()
    assert form.errors["q"] == ["La recherche est trop longue (200 caractères au plus)."]
    assert form.errors["type"] == ["Ce type de note n'existe pas."]
    assert (
        form.errors["depuis"] == form.errors["jusqu_au"] == ["Date invalide : utilisez le format JJ/MM/AAAA."]
    )
    assert form.errors["auteur"] == ["Cet auteur n'a pas écrit dans ce cahier."]
    assert form.errors["structure"] == ["Cette structure n'existe pas."]
    assert "urgente" in form.errors
    assert form.filtres() == {}
    inverse = FiltresCahierForm({"q": "toux", "depuis": "2026-02-01", "jusqu_au": "2026-01-01"})
    assert not inverse.is_valid()
    assert inverse.errors["jusqu_au"] == ["La date de fin doit suivre la date de début."]
    assert inverse.filtres() == {"texte": "toux", "depuis": inverse.filtres()["depuis"]}


def test_formulaire_auteurs_et_structures_du_cahier():
    permis = [("usager:7a1c0e52-1f6d-4b8a-9d3e-2c5b6a7f8e90", "FICTIVE Jeanne")]
    structures = [("3f2b8a4e-9a0c-4c47-9a53-5d1e7c3b2a10", "SSIAD fictif")]
    ailleurs = "exercice:0a1c0e52-1f6d-4b8a-9d3e-2c5b6a7f8e90"
    form = FiltresCahierForm(
        {"auteur": ailleurs, "structure": "0f2b8a4e-9a0c-4c47-9a53-5d1e7c3b2a10"}, auteurs=permis,
        structures=structures,
    )  # fmt: skip
    assert not form.is_valid()
    assert set(form.errors) == {"auteur", "structure"}
    assert FiltresCahierForm({"auteur": permis[0][0]}, auteurs=permis).is_valid()
    assert 'value="usager:7a1c0e52' in str(FiltresCahierForm(auteurs=permis)["auteur"])
