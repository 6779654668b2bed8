/*
 * Clés de sécurité (WebAuthn) : messages d'erreur en français.
 * Le script d'allauth (mfa/js/webauthn.js) émet l'événement « allauth.error » quand la clé ne répond
 * pas, que la personne annule, ou que le navigateur ne sait pas faire. On l'affiche dans la zone
 * #erreur-cle (role="alert" : lue par les lecteurs d'écran) au lieu de la console.
 */
(function () {
  'use strict'

  function texteErreur (exception) {
    const nom = exception && exception.name
    if (!window.PublicKeyCredential) {
      return "Ce navigateur ne sait pas utiliser les clés de sécurité. Mettez-le à jour, ou utilisez un autre moyen de confirmer votre connexion."
    }
    if (nom === 'InvalidStateError') {
      return 'Cette clé est déjà enregistrée sur votre compte. Utilisez une autre clé ou un autre appareil.'
    }
    if (nom === 'NotAllowedError' || nom === 'AbortError') {
      return "La clé n'a pas répondu à temps, ou l'opération a été annulée. Réessayez en suivant les indications du navigateur."
    }
    if (nom === 'SecurityError') {
      return "Le navigateur a refusé d'utiliser la clé sur cette adresse. Vérifiez que vous êtes bien sur le portail."
    }
    return "La clé de sécurité n'a pas pu être utilisée. Réessayez, ou utilisez un autre moyen."
  }

  document.addEventListener('allauth.error', function (evenement) {
    const zone = document.getElementById('erreur-cle')
    if (!zone) {
      return
    }
    evenement.preventDefault()
    const paragraphe = document.createElement('p')
    paragraphe.textContent = texteErreur(evenement.detail && evenement.detail.exception)
    zone.replaceChildren(paragraphe)
    zone.className = 'message message--error'
  })
})()
