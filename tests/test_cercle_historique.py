"""Voie 1 du cercle : l'historique de remboursement propose des professionnels, que l'usager ou le
gestionnaire confirme ou écarte ; formats CSV et FHIR, erreurs signalées ligne par ligne."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError

from cercle import habilitations, historique, services
from cercle.models import Membre, StatutMembre
from tests.factories import ProfessionnelFactory, rpps_valide
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde()


def csv(*lignes: str, entete: str = "rpps;date;libelle") -> bytes:
    return "\n".join([entete, *lignes]).encode()


def test_lecture_csv_agrege_par_professionnel_et_signale_les_lignes_fautives():
    a, b = rpps_valide(90_000_001), rpps_valide(90_000_002)
    faux = a[:10] + str((int(a[10]) + 1) % 10)
    lecture = historique.lire(
        csv(f"{a};2026-03-02;Consultation", f"{a};14/10/2026;Consultation", f"8{b};2026-05-20;Soins",
            f"{faux};2026-01-01;x", f"{a};2026-13-01;x", "123;2026-01-01;x", f"{a};2999-01-01;x", ";;")
    )  # fmt: skip
    assert set(lecture.vus) == {a, b}
    assert lecture.vus[a].nombre == 2
    assert lecture.vus[a].resume == "2 soins remboursés entre le 02/03/2026 et le 14/10/2026"
    assert lecture.vus[b].resume == "1 soin remboursé le 20/05/2026"
    assert [ou for ou, _ in lecture.erreurs] == ["ligne 5", "ligne 6", "ligne 7", "ligne 8"]
    raisons = dict(lecture.erreurs)
    assert "clé de contrôle" in raisons["ligne 5"]
    assert "AAAA-MM-JJ" in raisons["ligne 6"]
    assert "11 chiffres" in raisons["ligne 7"]
    assert "futur" in raisons["ligne 8"]


def test_lecture_csv_separateur_virgule_bom_et_colonnes_dans_le_desordre():
    a = rpps_valide(90_000_003)
    lecture = historique.lire(f"\ufeffDate,RPPS\n2026-02-01,{a}\n".encode())
    assert list(lecture.vus) == [a]


@pytest.mark.parametrize(
    ("contenu", "message"),
    [
        (b"", "vide"),
        (b"\xff\xfe\x00a", "UTF-8"),
        (b"nom;jour\nA;2026-01-01", "rpps, date"),
        (b"{pas du json", "JSON invalide"),
        (b'{"resourceType": "Patient"}', "Bundle"),
        (b'{"resourceType": "Bundle", "entry": {}}', "liste"),
        (b"x" * (historique.TAILLE_MAX + 1), "trop volumineux"),
    ],
)
def test_fichier_inutilisable_message_francais(contenu, message):
    with pytest.raises(historique.HistoriqueIllisible, match=message):
        historique.lire(contenu)


def _eob(rpps: str, *dates: str, systeme="https://rpps.esante.gouv.fr") -> dict:
    return {
        "resource": {
            "resourceType": "ExplanationOfBenefit",
            "status": "active",
            "provider": {"identifier": {"system": systeme, "value": rpps}},
            "item": [{"sequence": i + 1, "servicedDate": d} for i, d in enumerate(dates)],
        }
    }


def _rencontre(rpps: str, debut: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "period": {"start": debut},
        "participant": [
            {"individual": {"identifier": {"system": "https://rpps.esante.gouv.fr", "value": rpps}}}
        ],
    }


def test_lecture_fhir_explanation_of_benefit_et_encounter():
    a, b = rpps_valide(90_000_004), rpps_valide(90_000_005)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            _eob(a, "2026-01-10", "2026-02-10"),
            _eob("8" + b, "2026-03-01", systeme="urn:oid:1.2.250.1.71.4.2.1"),
            {"resource": _rencontre(a, "2026-04-01T10:00:00+02:00")},
            {"resource": {"resourceType": "Observation"}},
            _eob(a, systeme="http://autre.exemple"),
            {"pas": "de ressource"},
        ],
    }  # fmt: skip
    lecture = historique.lire(json.dumps(bundle).encode())
    assert lecture.vus[a].nombre == 3 and lecture.vus[a].derniere == datetime.date(2026, 4, 1)
    assert lecture.vus[b].nombre == 1
    assert [ou for ou, _ in lecture.erreurs] == ["entrée 4", "entrée 5", "entrée 6"]
    assert "Observation ignorée" in lecture.erreurs[0][1]


def test_import_propose_sans_droit_puis_confirmer_ou_ecarter(monde):
    connu = ProfessionnelFactory(idnat_ps="8" + rpps_valide(90_000_010), profession_code="60")
    autre = ProfessionnelFactory(idnat_ps="8" + rpps_valide(90_000_011), profession_code="10")
    deja = monde.membres["medecin"].professionnel
    inconnu = rpps_valide(90_000_012)
    contenu = csv(
        f"{connu.idnat_ps[1:]};2026-06-01;x", f"{autre.idnat_ps[1:]};2026-06-02;x",
        f"{deja.idnat_ps[1:]};2026-06-03;x", f"{inconnu};2026-06-04;x", "abc;2026-06-04;x",
    )  # fmt: skip
    rapport = services.importer_historique(acteur=monde["gestionnaire"], usager=monde.usager, contenu=contenu,
                                           nom_fichier="historique.csv")  # fmt: skip
    assert {m.professionnel for m in rapport.proposes} == {connu, autre}
    assert rapport.deja_membres == [str(deja)] and rapport.inconnus == [inconnu] and len(rapport.erreurs) == 1
    assert "2 professionnel(s) proposé(s)" in rapport.resume
    propose = next(m for m in rapport.proposes if m.professionnel == connu)
    assert propose.statut == StatutMembre.PROPOSE and propose.role == "ide"
    assert propose.note_origine == "1 soin remboursé le 01/06/2026"
    assert not propose.habilitations.exists()
    # Un membre proposé n'a aucun accès.
    from tests.factories import ExerciceFactory
    from tests.monde_cercle import acteur_pro

    exercice = ExerciceFactory(professionnel=connu, structure=None)
    assert set(habilitations.niveaux(acteur_pro(exercice), monde.usager).values()) == {0}
    services.confirmer_proposition(acteur=monde["usager"], membre=propose)
    propose.refresh_from_db()
    assert propose.statut == StatutMembre.ACTIF
    ecarte = next(m for m in rapport.proposes if m.professionnel == autre)
    services.ecarter_proposition(acteur=monde["representant"], membre=ecarte)
    with pytest.raises(ValidationError, match="déjà été traitée"):
        services.confirmer_proposition(acteur=monde["usager"], membre=ecarte)
    # Réimport du même historique : rien de neuf (présent, écarté sans avoir été revu).
    second = services.importer_historique(acteur=monde["usager"], usager=monde.usager, contenu=contenu)
    assert second.proposes == [] and str(autre) in second.ecartes_avant and str(connu) in second.deja_membres
    # Revu après avoir été écarté (hier) : reproposé.
    hier = datetime.date.today() - datetime.timedelta(days=1)
    Membre.objects.filter(pk=ecarte.pk).update(date_entree=hier, date_sortie=hier)
    aujourd_hui = f"{datetime.date.today():%Y-%m-%d}"
    troisieme = services.importer_historique(
        acteur=monde["usager"], usager=monde.usager, contenu=csv(f"{autre.idnat_ps[1:]};{aujourd_hui};x")
    )
    assert [m.professionnel for m in troisieme.proposes] == [autre]


def test_import_et_decision_reserves_a_qui_gere(monde):
    contenu = csv(f"{rpps_valide(90_000_020)};2026-06-01;x")
    for nom in (
        "ide",
        "aidant_avec_droits",
        "aidant_sans_droit",
        "pro_hors_cercle",
        "autre_usager",
        "assistant",
    ):
        with pytest.raises(services.AccesRefuse):
            services.importer_historique(acteur=monde[nom], usager=monde.usager, contenu=contenu)
    pro = ProfessionnelFactory(idnat_ps="8" + rpps_valide(90_000_021))
    [propose] = services.importer_historique(
        acteur=monde["usager"], usager=monde.usager, contenu=csv(f"{pro.idnat_ps[1:]};2026-06-01;x")
    ).proposes
    for nom in ("ide", "aidant_avec_droits", "pro_hors_cercle"):
        with pytest.raises(services.AccesRefuse):
            services.confirmer_proposition(acteur=monde[nom], membre=propose)
        with pytest.raises(services.AccesRefuse):
            services.ecarter_proposition(acteur=monde[nom], membre=propose)
    assert Membre.objects.get(pk=propose.pk).statut == StatutMembre.PROPOSE
