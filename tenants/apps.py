from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Agencies"

    def ready(self) -> None:
        from core import audit
        from tenants.models import PlatformAuditEvent
        from tenants.staff.models import AuditEvent

        audit.trails_register(platform=PlatformAuditEvent, agency=AuditEvent)
