from django.apps import AppConfig


class GradesConfig(AppConfig):
    name = "grades"
    default_auto_field = "django.db.models.BigAutoField"
