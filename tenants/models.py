"""Public-schema models: agencies (tenants), their domains, and the platform audit log."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from tenants.audit_base import AuditEventBase

slug_validator = RegexValidator(
    r"^[a-z][a-z0-9-]{1,39}$",
    _("Use 2-40 lowercase Latin letters, digits or hyphens, starting with a letter."),
)


class Agency(TenantMixin):
    """A registered agency. Its confidential data lives in its own PostgreSQL schema."""

    slug = models.CharField(_("slug"), max_length=40, unique=True, validators=[slug_validator])
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)
    code = models.CharField(
        _("reference code"),
        max_length=10,
        help_text=_("Prefix of request references, e.g. MOH."),
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    requires_two_factor = models.BooleanField(
        _("two-factor sign-in required for staff"),
        default=False,
        help_text=_("Staff must sign in with a code from an authenticator app or a security key."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created explicitly by tenants.services.agency_onboard (clone of a template).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" else self.name_ar


class Domain(DomainMixin):
    """Custom domains per agency (later); subfolder routing /a/<slug>/ needs none."""


class PlatformAuditEvent(AuditEventBase):
    """Append-only log of platform actions (logins, logouts, onboarding) in the public schema."""

    class Meta(AuditEventBase.Meta):
        db_table = "platform_audit_event"


class AgencyMember(models.Model):
    """Public mirror of who works where, written with each membership change, so the portal can
    list a person's workspaces without visiting agency schemas."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="agency_links")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="member_links")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="agency_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}"
