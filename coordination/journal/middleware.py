"""Écrit, après la vue, toutes les lectures notées pendant la requête, en un seul INSERT.

À placer après `ActeurMiddleware` (qui pose `request.acteur`). Pour une réponse en flux
(StreamingHttpResponse), les lectures notées par la vue sont écrites tout de suite, et celles
notées pendant le flux à sa fin (ou quand le client coupe : le serveur ferme le générateur).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async

from coordination.journal.lectures import ecrire_lectures, fermer_lot, ouvrir_lot


class JournalDesLecturesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ouvrir_lot(request)
        response = self.get_response(request)
        if response.streaming:
            ecrire_lectures(request)
            response.streaming_content = self._puis_fermer(request, response)
        else:
            fermer_lot(request)
        return response

    def _puis_fermer(self, request, response):
        if response.is_async:
            return self._flux_async(request, response.streaming_content)
        return self._flux(request, response.streaming_content)

    @staticmethod
    def _flux(request, contenu):
        try:
            yield from contenu
        finally:
            fermer_lot(request)

    @staticmethod
    async def _flux_async(request, contenu):
        try:
            async for morceau in contenu:
                yield morceau
        finally:
            await sync_to_async(fermer_lot)(request)
