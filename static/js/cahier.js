/*
 * Cahier de liaison : mises à jour en direct du fil (ADR 0017).
 * Le flux SSE n'annonce qu'un identifiant de note ; la carte est demandée à une vue ordinaire qui
 * vérifie que le lecteur peut la voir (sinon 404 : rien n'est inséré). Sans JavaScript, ou si le
 * flux est coupé, la page reste utilisable : recharger montre tout.
 */
(function () {
  "use strict";

  function demarrer() {
    var fil = document.getElementById("fil");
    if (!fil || !window.EventSource) {
      return;
    }
    var etat = document.getElementById("fil-etat");
    var direct = fil.dataset.direct === "oui";
    var interrompu = false;

    function annoncer(texte) {
      if (etat) {
        etat.textContent = texte;
      }
    }

    function mettreAJourNonLus(nombre) {
      var compte = document.getElementById("fil-non-lus");
      if (!compte || nombre === null || nombre === undefined) {
        return;
      }
      compte.dataset.nonLus = nombre;
      compte.textContent = "";
      if (Number(nombre) > 0) {
        var fort = document.createElement("strong");
        fort.textContent = nombre;
        compte.appendChild(fort);
        var s = Number(nombre) > 1 ? "s" : "";
        compte.appendChild(document.createTextNode(" note" + s + " non lue" + s));
      } else {
        compte.textContent = "Aucune note non lue.";
      }
    }

    function recevoir(html) {
      var gabarit = document.createElement("template");
      gabarit.innerHTML = html;
      var carte = gabarit.content.querySelector("article.note");
      var compte = gabarit.content.querySelector("template[data-non-lus]");
      if (compte) {
        mettreAJourNonLus(compte.dataset.nonLus);
      }
      if (!carte) {
        return;
      }
      var existante = document.getElementById(carte.id);
      if (existante) {
        existante.replaceWith(carte);
      } else if (direct) {
        var liste = document.getElementById("fil-notes");
        var vide = document.getElementById("fil-vide");
        if (vide) {
          vide.remove();
        }
        var element = document.createElement("li");
        element.appendChild(carte);
        liste.insertBefore(element, liste.firstChild);
      }
    }

    function chercherNote(uuid) {
      fetch(fil.dataset.fragment + uuid + "/fragment/", {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      })
        .then(function (reponse) {
          return reponse.ok && reponse.status === 200 ? reponse.text() : "";
        })
        .then(function (html) {
          if (html) {
            recevoir(html);
          }
        })
        .catch(function () {});
    }

    function recharger() {
      // Après une coupure : la liste entière, pour ne rien manquer de ce qui s'est écrit entre-temps.
      if (!direct) {
        return;
      }
      fetch(fil.dataset.liste, { credentials: "same-origin", headers: { "X-Cahier-Liste": "1" } })
        .then(function (reponse) {
          return reponse.ok ? reponse.text() : "";
        })
        .then(function (html) {
          if (html) {
            document.getElementById("fil-liste").innerHTML = html;
          }
        })
        .catch(function () {});
    }

    var flux = new EventSource(fil.dataset.flux);
    flux.addEventListener("ouvert", function () {
      fil.dataset.fluxOuvert = "oui";
      if (interrompu) {
        interrompu = false;
        recharger();
      }
      annoncer("");
    });
    flux.addEventListener("note", function (evenement) {
      var donnees = JSON.parse(evenement.data);
      chercherNote(donnees.fil);
    });
    flux.addEventListener("fin", function () {
      flux.close();
      annoncer("Vous n'avez plus accès à ce cahier : les mises à jour en direct sont arrêtées.");
    });
    flux.addEventListener("indisponible", function () {
      flux.close();
      annoncer("Les mises à jour en direct sont indisponibles : rechargez la page pour voir les nouvelles notes.");
    });
    flux.onerror = function () {
      interrompu = true;
    };
    window.addEventListener("pagehide", function () {
      flux.close();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", demarrer);
  } else {
    demarrer();
  }
})();
