from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "coordination.journal"
    label = "journal"
    verbose_name = "journal des actions"
