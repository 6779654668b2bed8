from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def accueil(request):
    return HttpResponse(f"Bonjour {request.acteur.nom if request.acteur else ''}")


@login_required
def choisir_acteur(request):
    return HttpResponse("choix")
