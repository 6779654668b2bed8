"""Journal en ajout seul : chaîne d'empreintes, refus de modification (ORM et base), vérification,
concurrence, lectures groupées par requête, « qui a consulté mon dossier », administration."""

import datetime
import threading
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.utils import ProgrammingError
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone
from psycopg.errors import RaiseException

from coordination.comptes.acteur import Acteur, TypeActeur, acteur_systeme
from coordination.journal.lectures import lectures_en_attente, noter_lecture
from coordination.journal.middleware import JournalDesLecturesMiddleware
from coordination.journal.models import EMPREINTE_ORIGINE, Evenement, JournalImmuable
from coordination.journal.selectors import acces_a_mon_dossier
from coordination.journal.services import journaliser, journaliser_plusieurs, preparer_evenement
from tests.factories import CompteFactory, ExerciceFactory, ProcheFactory, UsagerFactory, connecter

SYSTEME = acteur_systeme("tests du journal")


def _inserts(contexte: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in contexte.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]


def _chaine(n: int, **kwargs) -> list[Evenement]:
    return journaliser_plusieurs(
        [preparer_evenement(acteur=SYSTEME, action=f"test.action{i}", **kwargs) for i in range(n)]
    )


def _verifier(*args) -> str:
    from io import StringIO

    sortie = StringIO()
    call_command("verifier_journal", *args, stdout=sortie)
    return sortie.getvalue()


def _verifier_en_echec(*args) -> tuple[str, str]:
    from io import StringIO

    sortie = StringIO()
    with pytest.raises(CommandError) as erreur:
        call_command("verifier_journal", *args, stdout=sortie)
    return sortie.getvalue(), str(erreur.value)


def _sql_sans_declencheur(sql: str, params=()) -> None:
    """Ce que ferait un administrateur malveillant propriétaire de la table."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE journal_evenement DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE journal_evenement ENABLE TRIGGER USER")


def _acteur_professionnel() -> Acteur:
    compte = CompteFactory()
    exercice = ExerciceFactory(professionnel__compte=compte, fonction="Infirmière coordinatrice")
    return Acteur(TypeActeur.PROFESSIONNEL, compte, exercice=exercice)


# --- Chaîne ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_chaine_les_evenements_depuis_l_origine():
    premier = journaliser(acteur=SYSTEME, action="test.un")
    second = journaliser(acteur=SYSTEME, action="test.deux")
    assert premier.empreinte_precedente == EMPREINTE_ORIGINE
    assert second.empreinte_precedente == premier.empreinte
    relu = Evenement.objects.get(pk=premier.pk)
    assert relu.calculer_empreinte(relu.empreinte_precedente) == relu.empreinte


@pytest.mark.django_db
def test_journaliser_plusieurs_chaine_dans_l_ordre_en_un_insert():
    evenements = [preparer_evenement(acteur=SYSTEME, action=f"test.lot{i}") for i in range(5)]
    with CaptureQueriesContext(connection) as contexte:
        ecrits = journaliser_plusieurs(evenements)
    assert len(_inserts(contexte)) == 1
    relus = list(Evenement.objects.order_by("id"))
    assert [e.action for e in relus] == [f"test.lot{i}" for i in range(5)]
    for precedent, suivant in zip(relus, relus[1:], strict=False):
        assert suivant.empreinte_precedente == precedent.empreinte
    assert [e.empreinte for e in ecrits] == [e.empreinte for e in relus]


@pytest.mark.django_db
def test_empreinte_se_recalcule_apres_relecture_des_details_et_de_l_acteur():
    acteur = _acteur_professionnel()
    usager = UsagerFactory()
    evenement = journaliser(
        acteur=acteur,
        action="cahier.transmission.creation",
        objet=usager,
        usager=usager,
        details={
            "motif": "Chute à domicile — « urgent »",
            "rangs": [3, 1, 2],
            "imbrique": {"b": True, "a": None},
        },
    )
    relu = Evenement.objects.get(pk=evenement.pk)
    assert relu.acteur_type == TypeActeur.PROFESSIONNEL
    assert relu.professionnel_uuid == acteur.professionnel.uuid
    assert relu.structure_uuid == acteur.structure.uuid
    assert relu.compte_uuid == acteur.compte.uuid
    assert relu.objet_type == "personnes.usager" and relu.objet_uuid == usager.uuid
    assert relu.calculer_empreinte(relu.empreinte_precedente) == relu.empreinte


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"dose": 1.5}, "details.dose"),
        ({"liste": [1, {"x": 1e20}]}, "details.liste[1].x"),
        ({1: "clé entière"}, "la clé 1"),
        ({"quand": datetime.date(2026, 1, 1)}, "details.quand"),
    ],
)
def test_details_qui_ne_relisent_pas_a_l_identique_sont_refuses(details, message):
    with pytest.raises(ValueError, match="Journal") as erreur:
        preparer_evenement(acteur=SYSTEME, action="test.details", details=details)
    assert message in str(erreur.value)


@pytest.mark.django_db
def test_la_base_interdit_une_bifurcation_de_la_chaine():
    (premier,) = _chaine(1)
    jumeau = preparer_evenement(acteur=SYSTEME, action="test.jumeau")
    jumeau.empreinte_precedente = premier.empreinte_precedente
    jumeau.empreinte = jumeau.calculer_empreinte(jumeau.empreinte_precedente)
    with pytest.raises(IntegrityError, match="journal_chaine_sans_bifurcation"), transaction.atomic():
        Evenement.objects.bulk_create([jumeau])


@pytest.mark.django_db
def test_la_base_exige_des_empreintes_sha256():
    evenement = preparer_evenement(acteur=SYSTEME, action="test.sans_empreinte")
    with pytest.raises(IntegrityError, match="journal_empreinte"), transaction.atomic():
        evenement.save()


# --- Refus de modification et de suppression ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tentative",
    [
        pytest.param(lambda e: e.save(), id="save"),
        pytest.param(lambda e: e.delete(), id="delete"),
        pytest.param(lambda e: Evenement.objects.filter(pk=e.pk).update(action="x"), id="queryset.update"),
        pytest.param(lambda e: Evenement.objects.filter(pk=e.pk).delete(), id="queryset.delete"),
        pytest.param(lambda e: Evenement.objects.all().delete(), id="manager.delete"),
        pytest.param(lambda e: Evenement.objects.bulk_update([e], ["action"]), id="bulk_update"),
        pytest.param(
            lambda e: Evenement.objects.update_or_create(uuid=e.uuid, defaults={"action": "x"}),
            id="update_or_create",
        ),
    ],
)
def test_l_orm_refuse_modification_et_suppression(tentative):
    (evenement,) = _chaine(1)
    evenement.action = "test.falsifiee"
    with pytest.raises(JournalImmuable, match="ajout seul"):
        tentative(evenement)
    assert Evenement.objects.get(pk=evenement.pk).action == "test.action0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("UPDATE journal_evenement SET action = 'test.falsifiee' WHERE id = %s", "modification"),
        ("DELETE FROM journal_evenement WHERE id = %s", "suppression"),
    ],
)
def test_la_base_refuse_update_et_delete_en_sql_brut(sql, operation):
    (evenement,) = _chaine(1)
    # RAISE EXCEPTION (SQLSTATE P0001) : psycopg.errors.RaiseException, que Django présente en
    # django.db.utils.ProgrammingError.
    with pytest.raises(ProgrammingError) as erreur, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [evenement.pk])
    assert isinstance(erreur.value.__cause__, RaiseException)
    message = str(erreur.value)
    assert f"journal en ajout seul : la {operation} d'un événement est interdite" in message
    assert f"id {evenement.pk}" in message
    assert Evenement.objects.filter(pk=evenement.pk, action="test.action0").exists()


@pytest.mark.django_db
def test_truncate_reste_possible_pour_les_tests():
    _chaine(3)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE journal_evenement")
        assert not Evenement.objects.exists()
        transaction.set_rollback(True)
    assert Evenement.objects.count() == 3


# --- verifier_journal ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_verifier_journal_vide():
    assert "Journal OK : vide" in _verifier()


@pytest.mark.django_db
def test_verifier_journal_intact_par_petits_paquets():
    evenements = _chaine(7)
    sortie = _verifier("--paquet", "2")
    assert "Journal OK : 7 événement(s), chaîne intacte" in sortie
    assert evenements[-1].empreinte in sortie


@pytest.mark.django_db
def test_verifier_journal_detecte_un_contenu_modifie():
    evenements = _chaine(5)
    cible = evenements[2]
    _sql_sans_declencheur("UPDATE journal_evenement SET action = 'test.falsifiee' WHERE id = %s", [cible.pk])
    sortie, erreur = _verifier_en_echec("--paquet", "2")
    assert f"RUPTURE (contenu modifié) sur l'événement id {cible.pk} (uuid {cible.uuid})" in sortie
    assert sortie.count("RUPTURE") == 1  # le maillon suivant reste rattaché à l'empreinte enregistrée
    assert "Journal altéré : 1 rupture(s) sur 5 événement(s)" in erreur


@pytest.mark.django_db
def test_verifier_journal_detecte_une_empreinte_recalculee_par_le_falsificateur():
    evenements = _chaine(4)
    cible = Evenement.objects.get(pk=evenements[1].pk)
    cible.action = "test.falsifiee"
    nouvelle = cible.calculer_empreinte(cible.empreinte_precedente)
    _sql_sans_declencheur(
        "UPDATE journal_evenement SET action = 'test.falsifiee', empreinte = %s WHERE id = %s",
        [nouvelle, cible.pk],
    )
    sortie, _ = _verifier_en_echec()
    suivant = evenements[2]
    assert f"avant l'événement id {suivant.pk} (uuid {suivant.uuid})" in sortie
    assert "contenu modifié" not in sortie


@pytest.mark.django_db
def test_verifier_journal_detecte_une_ligne_supprimee_au_milieu():
    evenements = _chaine(5)
    _sql_sans_declencheur("DELETE FROM journal_evenement WHERE id = %s", [evenements[2].pk])
    sortie, erreur = _verifier_en_echec()
    suivant = evenements[3]
    rupture = "RUPTURE (ligne supprimée, insérée ou déplacée)"
    assert f"{rupture} avant l'événement id {suivant.pk} (uuid {suivant.uuid})" in sortie
    assert f"celle de l'événement id {evenements[1].pk}" in sortie
    assert "sur 4 événement(s)" in erreur


@pytest.mark.django_db
def test_verifier_journal_detecte_la_premiere_ligne_supprimee():
    evenements = _chaine(3)
    _sql_sans_declencheur("DELETE FROM journal_evenement WHERE id = %s", [evenements[0].pk])
    sortie, _ = _verifier_en_echec()
    assert f"avant l'événement id {evenements[1].pk}" in sortie
    assert "l'origine de la chaîne" in sortie


@pytest.mark.django_db
def test_verifier_journal_detecte_une_fin_supprimee_grace_a_l_ancre():
    evenements = _chaine(4)
    ancre = evenements[-1].empreinte
    assert "Journal OK" in _verifier("--ancre", ancre)
    _sql_sans_declencheur("DELETE FROM journal_evenement WHERE id = %s", [evenements[-1].pk])
    assert "Journal OK : 3 événement(s)" in _verifier()  # sans ancre, la fin tronquée ne se voit pas
    sortie, erreur = _verifier_en_echec("--ancre", ancre)
    assert f"ANCRE ABSENTE : l'empreinte {ancre}" in sortie
    assert "1 rupture(s)" in erreur


# --- Concurrence ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_la_chaine_reste_intacte_quand_plusieurs_connexions_journalisent_en_meme_temps():
    fils, par_fil = 8, 15
    depart = threading.Barrier(fils)
    erreurs: list[BaseException] = []

    def ecrire(numero: int) -> None:
        try:
            depart.wait(timeout=30)
            for i in range(par_fil):
                if i % 5 == 4:  # des lots, dans une transaction plus large, comme un service
                    with transaction.atomic():
                        journaliser_plusieurs(
                            [
                                preparer_evenement(acteur=SYSTEME, action=f"fil{numero}.lot{j}")
                                for j in range(3)
                            ]
                        )
                else:
                    journaliser(acteur=SYSTEME, action=f"fil{numero}.{i}")
        except BaseException as erreur:  # noqa: BLE001 — remonté au fil principal
            erreurs.append(erreur)
        finally:
            connection.close()

    threads = [threading.Thread(target=ecrire, args=(n,)) for n in range(fils)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not erreurs, erreurs
    attendus = fils * (par_fil - par_fil // 5 + 3 * (par_fil // 5))
    assert Evenement.objects.count() == attendus
    assert f"Journal OK : {attendus} événement(s), chaîne intacte" in _verifier("--paquet", "50")
    # Les fils se sont bien entrelacés (sinon le test ne prouverait rien).
    ordre = [
        action.split(".")[0] for action in Evenement.objects.order_by("id").values_list("action", flat=True)
    ]
    changements = sum(1 for a, b in zip(ordre, ordre[1:], strict=False) if a != b)
    assert changements > fils


# --- Lectures groupées par requête ------------------------------------------------------------------


def _requete(acteur: Acteur):
    request = RequestFactory().get("/dossier/")
    request.user = acteur.compte
    request.acteur = acteur
    return request


@pytest.mark.django_db
def test_le_middleware_ecrit_toutes_les_lectures_de_la_requete_en_un_insert():
    acteur = _acteur_professionnel()
    usager = UsagerFactory()
    proches = ProcheFactory.create_batch(3, usager=usager)

    def vue(request):
        noter_lecture(request, usager=usager, objet=usager, action="usager.lecture")
        for proche in proches:
            noter_lecture(request, usager=usager, objet=proche, action="proche.lecture")
        noter_lecture(request, usager=usager, objet=proches[0], action="proche.lecture")  # doublon
        assert len(lectures_en_attente(request)) == 4
        assert not Evenement.objects.exists()  # rien n'est écrit pendant la vue
        return HttpResponse("dossier")

    with CaptureQueriesContext(connection) as contexte:
        reponse = JournalDesLecturesMiddleware(vue)(_requete(acteur))
    assert reponse.status_code == 200
    assert len(_inserts(contexte)) == 1
    lectures = list(Evenement.objects.order_by("id"))
    assert [e.action for e in lectures] == ["usager.lecture"] + ["proche.lecture"] * 3
    assert [e.objet_uuid for e in lectures] == [usager.uuid] + [p.uuid for p in proches]
    assert {e.usager_uuid for e in lectures} == {usager.uuid}
    assert {e.compte_uuid for e in lectures} == {acteur.compte.uuid}
    assert {e.acteur_qualite for e in lectures} == {acteur.qualite}
    assert "Journal OK : 4 événement(s)" in _verifier()


@pytest.mark.django_db
def test_le_middleware_ne_fait_aucune_requete_sans_lecture():
    request = _requete(_acteur_professionnel())
    with CaptureQueriesContext(connection) as contexte:
        JournalDesLecturesMiddleware(lambda r: HttpResponse("rien"))(request)
    assert contexte.captured_queries == []
    assert not Evenement.objects.exists()


@pytest.mark.django_db
def test_lectures_notees_pendant_une_reponse_en_flux():
    usager = UsagerFactory()

    def vue(request):
        noter_lecture(request, usager=usager, action="export.debut")

        def contenu():
            yield b"debut;"
            noter_lecture(request, usager=usager, action="export.ligne1")
            noter_lecture(request, usager=usager, action="export.ligne2")
            yield b"fin"

        return StreamingHttpResponse(contenu())

    reponse = JournalDesLecturesMiddleware(vue)(_requete(_acteur_professionnel()))
    assert list(Evenement.objects.values_list("action", flat=True)) == ["export.debut"]
    with CaptureQueriesContext(connection) as contexte:
        assert b"".join(reponse.streaming_content) == b"debut;fin"
    assert len(_inserts(contexte)) == 1
    actions = list(Evenement.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["export.debut", "export.ligne1", "export.ligne2"]


@pytest.mark.django_db
def test_hors_middleware_la_lecture_est_ecrite_tout_de_suite():
    usager = UsagerFactory()
    acteur = _acteur_professionnel()
    noter_lecture(_requete(acteur), usager=usager.uuid, action="usager.lecture")
    evenement = Evenement.objects.get()
    assert evenement.usager_uuid == usager.uuid
    assert evenement.acteur_type == TypeActeur.PROFESSIONNEL


@pytest.mark.django_db
def test_une_requete_drf_partage_le_lot_de_la_requete_django():
    from rest_framework.request import Request

    usager = UsagerFactory()

    def vue(request):
        noter_lecture(Request(request), usager=usager, action="api.lecture")
        return HttpResponse("ok")

    JournalDesLecturesMiddleware(vue)(_requete(_acteur_professionnel()))
    assert list(Evenement.objects.values_list("action", flat=True)) == ["api.lecture"]


def vue_de_test_dossier(request, usager_uuid):
    noter_lecture(request, usager=usager_uuid, action="dossier.lecture")
    noter_lecture(request, usager=usager_uuid, action="dossier.synthese.lecture")
    return HttpResponse("dossier")


def _urls():
    from coordination.urls import urlpatterns

    return [path("test-dossier/<uuid:usager_uuid>/", vue_de_test_dossier), *urlpatterns]


urlpatterns = _urls()


@pytest.mark.django_db
@pytest.mark.urls("tests.test_journal")
def test_cycle_complet_avec_les_middlewares_du_projet(client):
    acteur = _acteur_professionnel()
    usager = UsagerFactory()
    connecter(client, acteur.compte)
    with CaptureQueriesContext(connection) as contexte:
        reponse = client.get(f"/test-dossier/{usager.uuid}/")
    assert reponse.status_code == 200
    journal = [sql for sql in _inserts(contexte) if "journal_evenement" in sql]
    assert len(journal) == 1
    # La connexion elle-même est journalisée (ADR 0014) ; seules les lectures comptent ici.
    lectures = list(Evenement.objects.exclude(action="connexion.reussie").order_by("id"))
    assert [e.action for e in lectures] == ["dossier.lecture", "dossier.synthese.lecture"]
    # L'acteur vient d'ActeurMiddleware : le professionnel, dans sa situation d'exercice.
    assert {e.professionnel_uuid for e in lectures} == {acteur.professionnel.uuid}
    assert {e.structure_uuid for e in lectures} == {acteur.structure.uuid}


# --- « Qui a consulté mon dossier » ---------------------------------------------------------------


@pytest.mark.django_db
def test_acces_a_mon_dossier_du_plus_recent_sans_les_actions_de_l_usager():
    usager, autre = UsagerFactory(), UsagerFactory()
    usager.compte = CompteFactory()
    moi = Acteur(TypeActeur.USAGER, usager.compte, usager=usager)
    pro = _acteur_professionnel()
    proche = ProcheFactory(usager=usager, compte=CompteFactory())
    aidant = Acteur(TypeActeur.PROCHE, proche.compte, proche=proche, usager=usager)

    lecture_pro = journaliser(acteur=pro, action="usager.lecture", usager=usager)
    journaliser(acteur=moi, action="usager.lecture", usager=usager)
    journaliser(acteur=pro, action="usager.lecture", usager=autre)
    ecriture_aidant = journaliser(acteur=aidant, action="agenda.rdv.creation", usager=usager)
    refus = journaliser(acteur=pro, action="ppa.lecture", usager=usager.uuid, resultat="refuse")
    tache = journaliser(acteur=SYSTEME, action="dmp.envoi", usager=usager)

    acces = acces_a_mon_dossier(usager=usager)
    assert [e.pk for e in acces] == [tache.pk, refus.pk, ecriture_aidant.pk, lecture_pro.pk]
    assert len(acces_a_mon_dossier(usager=usager, inclure_les_miens=True)) == 5
    assert [e.pk for e in acces_a_mon_dossier(usager=usager.uuid, limite=2)] == [tache.pk, refus.pk]


@pytest.mark.django_db
def test_acces_a_mon_dossier_depuis_une_date():
    usager = UsagerFactory()
    ancien = preparer_evenement(acteur=SYSTEME, action="usager.lecture", usager=usager)
    ancien.horodatage = timezone.now() - datetime.timedelta(days=400)
    recent = preparer_evenement(acteur=SYSTEME, action="usager.lecture", usager=usager)
    journaliser_plusieurs([ancien, recent])
    depuis = timezone.now() - datetime.timedelta(days=30)
    assert [e.pk for e in acces_a_mon_dossier(usager=usager, depuis=depuis)] == [recent.pk]


@pytest.mark.parametrize("limite", [0, 1001])
def test_acces_a_mon_dossier_refuse_une_limite_hors_bornes(limite):
    with pytest.raises(ValueError, match="limite"):
        acces_a_mon_dossier(usager=uuid.uuid4(), limite=limite)


@pytest.mark.django_db
def test_acces_a_mon_dossier_sert_l_index_usager():
    usagers = [uuid.uuid4() for _ in range(400)]
    debut = timezone.now() - datetime.timedelta(days=365)
    evenements = []
    for i in range(12_000):
        evenement = preparer_evenement(acteur=SYSTEME, action="usager.lecture", usager=usagers[i % 400])
        evenement.horodatage = debut + datetime.timedelta(minutes=i)
        evenements.append(evenement)
    journaliser_plusieurs(evenements)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journal_evenement")
    plan = acces_a_mon_dossier(usager=usagers[7]).explain()
    assert "journal_usager_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
    plan_depuis = acces_a_mon_dossier(
        usager=usagers[7], depuis=debut + datetime.timedelta(days=200)
    ).explain()
    assert "journal_usager_idx" in plan_depuis, plan_depuis


# --- Administration -----------------------------------------------------------------------------------


@pytest.fixture
def admin_connecte(client):
    compte = CompteFactory(is_staff=True, is_superuser=True)
    connecter(client, compte)
    return client


LISTE = "/admin/journal/evenement/"


@pytest.mark.django_db
def test_admin_liste_sans_n_plus_1_ni_comptage_complet(admin_connecte):
    usager = UsagerFactory()
    _chaine(5, usager=usager)
    with CaptureQueriesContext(connection) as peu:
        assert admin_connecte.get(LISTE).status_code == 200
    _chaine(40, usager=usager)
    with CaptureQueriesContext(connection) as beaucoup:
        reponse = admin_connecte.get(LISTE)
    assert reponse.status_code == 200
    assert len(beaucoup.captured_queries) == len(peu.captured_queries)
    requetes = " ".join(q["sql"] for q in beaucoup.captured_queries).upper()
    assert "SELECT DISTINCT" not in requetes
    assert "journal.consultation" not in requetes.lower()  # la liste ne journalise pas ligne à ligne
    contenu = reponse.content.decode()
    assert "test.action39" in contenu
    assert 'name="_selected_action"' not in contenu  # aucune action de masse (pas de suppression)


@pytest.mark.django_db
def test_admin_filtres_et_recherche_par_uuid(admin_connecte):
    usager, autre = UsagerFactory(), UsagerFactory()
    cible = journaliser(acteur=SYSTEME, action="ppa.validation", usager=usager, resultat="refuse")
    journaliser(acteur=SYSTEME, action="ppa.lecture", usager=autre)

    def actions(reponse):
        return [e.action for e in reponse.context["cl"].result_list]

    assert actions(admin_connecte.get(LISTE, {"q": str(usager.uuid)})) == ["ppa.validation"]
    assert actions(admin_connecte.get(LISTE, {"q": str(cible.uuid)})) == ["ppa.validation"]
    assert actions(admin_connecte.get(LISTE, {"action": "ppa.lecture"})) == ["ppa.lecture"]
    assert actions(admin_connecte.get(LISTE, {"resultat": "refuse"})) == ["ppa.validation"]
    assert actions(admin_connecte.get(LISTE, {"acteur_type": "professionnel"})) == []
    assert len(actions(admin_connecte.get(LISTE, {"acteur_type": "systeme"}))) == 2
    reponse = admin_connecte.get(LISTE, {"q": "FICTIF"}, follow=True)
    assert actions(reponse) == []
    assert "FICTIF » n&#x27;est pas un UUID complet" in reponse.content.decode()


@pytest.mark.django_db
def test_admin_en_lecture_seule_et_consultation_journalisee(admin_connecte):
    usager = UsagerFactory()
    evenement = journaliser(acteur=SYSTEME, action="cahier.note.lecture", usager=usager)
    fiche = f"{LISTE}{evenement.pk}/change/"
    reponse = admin_connecte.get(fiche)
    assert reponse.status_code == 200
    contenu = reponse.content.decode()
    assert evenement.empreinte in contenu
    assert 'name="_save"' not in contenu
    consultation = Evenement.objects.get(action="journal.consultation")
    assert consultation.objet_uuid == evenement.uuid and consultation.usager_uuid == usager.uuid
    assert admin_connecte.get(f"{LISTE}add/").status_code == 403
    assert admin_connecte.get(f"{LISTE}{evenement.pk}/delete/").status_code == 403
    assert admin_connecte.post(fiche, {"action": "falsifiee"}).status_code == 403
    assert Evenement.objects.get(pk=evenement.pk).action == "cahier.note.lecture"
