from coordination.notifications.models_abonnements import *  # noqa: F403
