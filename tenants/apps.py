from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Agencies"

    def ready(self) -> None:
        from accounts import two_factor
        from core import audit
        from tenants import selectors
        from tenants.models import PlatformAuditEvent
        from tenants.staff.models import AuditEvent

        audit.trails_register(platform=PlatformAuditEvent, agency=AuditEvent)
        two_factor.agency_rule_register(
            agencies_requiring=selectors.agencies_requiring_two_factor,
            is_staff=selectors.is_agency_staff,
            withheld=selectors.agencies_withheld,
        )
