from django.apps import AppConfig


class PersonnesConfig(AppConfig):
    name = "coordination.personnes"
    label = "personnes"
    verbose_name = "personnes et structures"
