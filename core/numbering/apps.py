from django.apps import AppConfig


class NumberingConfig(AppConfig):
    """Numbering's counter table, in the public schema and in every agency schema."""

    name = "core.numbering"
    label = "numbering"
    verbose_name = "Numbering"
