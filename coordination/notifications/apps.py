from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Préférences et envois de notifications (rempli par le ticket des échanges)."""

    name = "coordination.notifications"
    label = "notifications"
    verbose_name = "notifications"
