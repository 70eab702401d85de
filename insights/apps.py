from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Statistics for oversight bodies, agency managers and beneficiaries (R-19, R-50, R-51):
    daily rollups in the public schema, presence time, employee evaluation, reports."""

    name = "insights"
    verbose_name = "Statistics"

    def ready(self) -> None:
        from insights import signals  # noqa: F401
