"""Administration (lecture seule) des notifications, signaux, préférences et éléments de résumé."""

from django.contrib import admin

from cercle.admin import LectureSeule
from coordination.notifications.models import ElementResume, Notification, Preference, Signal


@admin.register(Signal)
class SignalAdmin(LectureSeule):
    list_display = ("nature", "usager", "cree_le", "distribue_le")
    list_filter = ("nature",)
    list_select_related = ("usager",)
    search_fields = ("uuid", "objet_uuid", "usager__uuid")
    raw_id_fields = ("usager",)


@admin.register(Notification)
class NotificationAdmin(LectureSeule):
    list_display = ("titre", "compte", "source", "cree_le", "lue_le")
    list_filter = ("nature", "source")
    list_select_related = ("compte",)
    search_fields = ("uuid", "source_uuid", "compte__email")
    raw_id_fields = ("compte", "usager")


@admin.register(Preference)
class PreferenceAdmin(LectureSeule):
    list_display = ("compte", "nature", "canal", "frequence", "modifie_le")
    list_filter = ("canal", "frequence")
    list_select_related = ("compte",)
    search_fields = ("compte__email",)
    raw_id_fields = ("compte",)


@admin.register(ElementResume)
class ElementResumeAdmin(LectureSeule):
    list_display = ("notification", "compte", "canal", "frequence", "message")
    list_filter = ("canal", "frequence")
    list_select_related = ("notification", "compte", "message")
    raw_id_fields = ("notification", "compte", "message")
