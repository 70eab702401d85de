"""Agency and staff use cases: onboarding, departments, employees, roles, grants."""

import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from portal.accounts.models import User
from tenants import audit
from tenants.backends import clear_permission_cache
from tenants.models import Agency, AgencyMember
from tenants.permissions import DEFAULT_ROLES, PERMISSIONS
from tenants.staff.models import Department, Membership, Role

logger = logging.getLogger("muamalat.tenants")


# --- template schema ---------------------------------------------------------------------------


def template_schema_ensure() -> None:
    """Create and migrate the template schema that new agencies are cloned from, and install
    the clone functions (django-tenants' clone_schema and our SECURITY DEFINER entry point,
    tenants.dbroles). DDL: runs as the owner role (migrate_agencies)."""
    from tenants import dbroles

    base = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{base}"')
    call_command("migrate_schemas", schema_name=base, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    # The library's current version, installed once per deploy: its clone_schema() would
    # re-create it before every clone (each PostgreSQL connection then keeps every compiled
    # version), and the app role may not create functions anyway.
    CloneSchema()._create_clone_schema_function()
    dbroles.clone_function_install()


def _schema_has_pending_migrations(schema_name: str) -> bool:
    from django.db.migrations.executor import MigrationExecutor

    with schema_context(schema_name):
        executor = MigrationExecutor(connection)
        targets = executor.loader.graph.leaf_nodes()
        return bool(executor.migration_plan(targets))


def _schema_create(schema_name: str) -> None:
    """Clone the template schema (tables, triggers, migration records): no migrations replayed.

    The app role runs this (an operator onboarding in the web UI): the clone and the new
    schema's grants are done by public.agency_schema_clone(), a SECURITY DEFINER function of
    the owner role (tenants.dbroles), so the app role never needs to run DDL itself."""
    from tenants import dbroles

    connection.set_schema_to_public()
    if schema_exists(schema_name, case_sensitive=False):
        raise ValidationError({"slug": _("An agency with this address already exists.")})
    can_ddl = dbroles.can_create_schemas()
    if not (schema_exists(settings.TENANT_BASE_SCHEMA) and dbroles.clone_function_installed()):
        if not can_ddl:
            raise ImproperlyConfigured(
                "The agency template schema is not installed: run manage.py migrate_agencies."
            )
        template_schema_ensure()  # one role for everything (a laptop): install it now
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.agency_schema_clone(%s)", [schema_name])
    if _schema_has_pending_migrations(schema_name):
        # The template is behind the code: the deploy did not run migrate_agencies.
        if not can_ddl:
            raise ImproperlyConfigured(
                "The agency template schema is behind the code: run manage.py migrate_agencies."
            )
        call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()


# --- onboarding --------------------------------------------------------------------------------


def agency_onboard(
    *,
    slug: str,
    name_ar: str,
    name_en: str,
    code: str = "",
    admin_email: str,
    admin_first_name_ar: str = "",
    admin_family_name_ar: str = "",
    admin_first_name_en: str = "",
    admin_family_name_en: str = "",
    actor: User | None = None,
    request=None,
) -> Agency:
    """Create an agency: its row, its schema, default roles and its first admin (invited).

    The schema is cloned from the migrated template, so this stays fast however many migrations
    accumulate. Everything is one transaction (PostgreSQL DDL is transactional): a failure leaves
    neither the row nor the schema behind. The invitation email leaves after commit.
    """
    started = time.perf_counter()
    slug = (slug or "").strip().lower()
    agency = Agency(
        slug=slug,
        schema_name="agency_" + slug.replace("-", "_"),
        name_ar=name_ar.strip(),
        name_en=name_en.strip(),
        code=(code or slug[:6]).strip().upper(),
    )
    agency.full_clean()
    if not admin_email or "@" not in admin_email:
        raise ValidationError({"admin_email": _("Enter the first admin's email address.")})
    with transaction.atomic():
        agency.save()
        _schema_create(agency.schema_name)
        with schema_context(agency.schema_name):
            roles = {
                spec["codename"]: Role.objects.create(
                    codename=spec["codename"],
                    name_ar=spec["name_ar"],
                    name_en=spec["name_en"],
                    permissions=spec["permissions"],
                    is_system=True,
                )
                for spec in DEFAULT_ROLES
            }
            employee_invite(
                agency=agency,
                email=admin_email,
                names={
                    "first_name_ar": admin_first_name_ar,
                    "family_name_ar": admin_family_name_ar,
                    "first_name_en": admin_first_name_en,
                    "family_name_en": admin_family_name_en,
                },
                roles=[roles["admin"]],
                actor=actor,
                request=request,
            )
            audit.agency_record(request=request, actor=actor, action="agency.onboard", obj=agency)
        audit.platform_record(
            request=request,
            actor=actor,
            action="agency.onboard",
            obj=agency,
            after={"slug": agency.slug, "schema": agency.schema_name},
        )
    logger.info("onboarded %s in %.3fs", agency.slug, time.perf_counter() - started)
    return agency


def agency_set_active(*, agency: Agency, is_active: bool, actor: User, request=None) -> Agency:
    with transaction.atomic():
        before = {"is_active": agency.is_active}
        agency.is_active = is_active
        agency.save(update_fields=["is_active"])
        audit.platform_record(
            request=request,
            actor=actor,
            action="agency.set_active",
            obj=agency,
            before=before,
            after={"is_active": is_active},
        )
    return agency


# --- employees ---------------------------------------------------------------------------------


def _invitation_notify(
    *, user: User, agency: Agency, membership: Membership, new_account: bool
) -> None:
    """Email (and in-app) invitation; a new account gets a one-time set-password link."""
    from notifications.services import notification_send

    if new_account:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        path = reverse("accounts:invitation", kwargs={"uidb64": uid, "token": token})
        action_url = f"{settings.SITE_URL}{path}?agency={agency.slug}"
    else:
        action_url = f"{settings.SITE_URL}/a/{agency.slug}/"
    notification_send(
        recipient=user,
        event="staff.invited",
        agency=agency,
        context={"new_account": new_account, "action_url": action_url},
        idempotency_key=f"staff.invited:{agency.pk}:{membership.pk}",
        link=f"/a/{agency.slug}/",
    )


def employee_invite(
    *,
    agency: Agency,
    email: str,
    names: dict[str, str] | None = None,
    department: Department | None = None,
    roles: Iterable[Role] = (),
    title: str = "",
    actor: User | None = None,
    request=None,
) -> Membership:
    """Add an employee. A person without an account gets one, with no password, and an email
    holding a one-time link to set it; nobody ever receives a password in clear."""
    email = User.objects.normalize_email(email or "").strip().lower()
    if "@" not in email:
        raise ValidationError({"email": _("Enter a valid email address.")})
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        new_account = user is None
        if new_account:
            user = User(email=email, **{k: v.strip() for k, v in (names or {}).items() if v})
            user.set_unusable_password()
            user.save()
        if Membership.objects.filter(user_id=user.pk).exists():
            raise ValidationError({"email": _("This person is already an employee here.")})
        membership = Membership.objects.create(
            user=user, department=department, title=title, invited_at=timezone.now()
        )
        membership.roles.set(list(roles))
        AgencyMember.objects.update_or_create(
            user=user, agency=agency, defaults={"is_active": True}
        )
        audit.agency_record(
            request=request,
            actor=actor,
            action="staff.invite",
            obj=membership,
            after={
                "email": email,
                "roles": [r.codename for r in roles],
                "department": department.pk if department else None,
            },
        )
        _invitation_notify(user=user, agency=agency, membership=membership, new_account=new_account)
    return membership


def _membership_snapshot(membership: Membership) -> dict:
    return {
        "department": membership.department_id,
        "title": membership.title,
        "is_active": membership.is_active,
        "roles": sorted(r.codename for r in membership.roles.all()),
        "granted": sorted(membership.granted_permissions),
        "revoked": sorted(membership.revoked_permissions),
    }


def _check_codes(codes: Iterable[str]) -> list[str]:
    unknown = [code for code in codes if code not in PERMISSIONS]
    if unknown:
        raise ValidationError(_("Unknown permission: %(code)s") % {"code": ", ".join(unknown)})
    return sorted(set(codes))


def employee_update(
    *,
    agency: Agency,
    membership: Membership,
    actor: User,
    department: Department | None = None,
    title: str | None = None,
    roles: Iterable[Role] | None = None,
    is_active: bool | None = None,
    request=None,
) -> Membership:
    """Change an employee's department, title, roles or active state."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        before = _membership_snapshot(membership)
        if is_active is False and membership.user_id == actor.pk:
            raise ValidationError(_("You cannot deactivate yourself."))
        membership.department = department
        if title is not None:
            membership.title = title
        if is_active is not None:
            membership.is_active = is_active
        membership.save()
        if roles is not None:
            membership.roles.set(list(roles))
        AgencyMember.objects.filter(user_id=membership.user_id, agency=agency).update(
            is_active=membership.is_active
        )
        audit.agency_record(
            request=request,
            actor=actor,
            action="staff.update",
            obj=membership,
            before=before,
            after=_membership_snapshot(membership),
        )
    return membership


def employee_set_permissions(
    *,
    membership: Membership,
    granted: Iterable[str],
    revoked: Iterable[str],
    actor: User,
    request=None,
) -> Membership:
    """Grant or refuse single permissions to one employee, on top of their roles (R-17)."""
    granted, revoked = _check_codes(granted), _check_codes(revoked)
    if set(granted) & set(revoked):
        raise ValidationError(_("A permission cannot be both granted and revoked."))
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.user_id == actor.pk and "staff.manage_roles" in revoked:
            raise ValidationError(_("You cannot revoke your own right to manage permissions."))
        before = _membership_snapshot(membership)
        membership.granted_permissions = granted
        membership.revoked_permissions = revoked
        membership.save(update_fields=["granted_permissions", "revoked_permissions"])
        audit.agency_record(
            request=request,
            actor=actor,
            action="staff.permissions",
            obj=membership,
            before=before,
            after=_membership_snapshot(membership),
        )
    clear_permission_cache(actor)
    return membership


# --- departments -------------------------------------------------------------------------------


def department_save(
    *,
    actor: User,
    name_ar: str,
    name_en: str,
    parent: Department | None = None,
    department: Department | None = None,
    request=None,
) -> Department:
    """Create a department, or rename/move an existing one (never under itself)."""
    with transaction.atomic():
        creating = department is None
        department = department or Department()
        before = (
            None
            if creating
            else {
                "name_ar": department.name_ar,
                "name_en": department.name_en,
                "parent": department.parent_id,
            }
        )
        if parent is not None and not creating:
            ancestor = parent
            while ancestor is not None:
                if ancestor.pk == department.pk:
                    raise ValidationError(
                        {"parent": _("A department cannot be placed under itself.")}
                    )
                ancestor = ancestor.parent
        department.name_ar = name_ar.strip()
        department.name_en = name_en.strip()
        department.parent = parent
        department.full_clean()
        department.save()
        audit.agency_record(
            request=request,
            actor=actor,
            action="department.create" if creating else "department.update",
            obj=department,
            before=before,
            after={
                "name_ar": department.name_ar,
                "name_en": department.name_en,
                "parent": department.parent_id,
            },
        )
    return department


# --- roles -------------------------------------------------------------------------------------


def role_save(
    *,
    actor: User,
    codename: str,
    name_ar: str,
    name_en: str,
    permissions: Iterable[str],
    role: Role | None = None,
    request=None,
) -> Role:
    """Create or edit a role (a named set of permissions)."""
    permissions = _check_codes(permissions)
    with transaction.atomic():
        creating = role is None
        role = role or Role(codename=codename)
        if role.is_system and role.codename == "admin" and "staff.manage_roles" not in permissions:
            raise PermissionDenied(_("The admin role must keep the right to manage roles."))
        before = None if creating else {"permissions": role.permissions}
        role.name_ar, role.name_en, role.permissions = name_ar.strip(), name_en.strip(), permissions
        role.full_clean(validate_unique=True)
        role.save()
        audit.agency_record(
            request=request,
            actor=actor,
            action="role.create" if creating else "role.update",
            obj=role,
            before=before,
            after={"permissions": permissions},
        )
    clear_permission_cache(actor)
    return role
