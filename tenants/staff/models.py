"""Agency-schema models: departments, roles, employee memberships and the audit trail."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tenants.audit_base import AuditEventBase


class BilingualName(models.Model):
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" else self.name_ar

    def __str__(self) -> str:
        return self.name


class Department(BilingualName):
    """A unit of the agency; departments form a tree."""

    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_ar"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="department_not_own_parent"
            )
        ]


class Role(BilingualName):
    """A named set of permission codenames (see tenants.permissions)."""

    codename = models.SlugField(_("code"), max_length=50, unique=True)
    permissions = ArrayField(
        models.CharField(max_length=64), verbose_name=_("permissions"), default=list, blank=True
    )
    is_system = models.BooleanField(default=False)
    # For a system role: the default grants the modules' declarations have already given it
    # (tenants.services.system_roles_sync). A default is given once: an admin who takes it away
    # again is not overruled by the next sync.
    defaults_applied = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta:
        ordering = ["id"]


class Membership(models.Model):
    """A person (public user) employed by this agency, with roles and individual grants."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=True,
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    roles = models.ManyToManyField(
        Role, verbose_name=_("roles"), blank=True, related_name="members"
    )
    granted_permissions = ArrayField(
        models.CharField(max_length=64), verbose_name=_("granted"), default=list, blank=True
    )
    revoked_permissions = ArrayField(
        models.CharField(max_length=64), verbose_name=_("revoked"), default=list, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"membership:{self.user_id}"


class Invitation(models.Model):
    """A pending offer of employment, sent to an email address. It becomes a membership only
    when its link is followed (the link proves control of the address); only a hash of its
    token is stored. Re-inviting an address replaces its pending invitation."""

    email = models.EmailField(_("email"))
    names = models.JSONField(default=dict, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), blank=True, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Sent by the platform (onboarding of the first admin), not by an employee of the agency.
    by_platform = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invitation:{self.email}"

    @property
    def display_name(self) -> str:
        names = self.names or {}
        ar = " ".join(p for p in (names.get("first_name_ar"), names.get("family_name_ar")) if p)
        en = " ".join(p for p in (names.get("first_name_en"), names.get("family_name_en")) if p)
        if get_language() == "en":
            return en or ar or self.email
        return ar or en or self.email


class AuditEvent(AuditEventBase):
    """Append-only log of every action in this agency (a trigger refuses UPDATE/DELETE)."""

    class Meta(AuditEventBase.Meta):
        db_table = "agency_audit_event"
