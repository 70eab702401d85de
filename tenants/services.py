"""Agency and staff use cases: onboarding, departments, employees, roles, grants."""

import hashlib
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from core import audit, messaging
from core.actions import use_case
from core.modules import onboard_hooks
from tenants.backends import clear_permission_cache
from tenants.models import Agency, AgencyMember
from tenants.module import Perm
from tenants.permissions import SYSTEM_ROLES, default_grants, permission_labels
from tenants.selectors import (
    department_subtree,
    effective_permissions,
    membership_for,
    permission_set,
    scope_of,
    sees_everything,
)
from tenants.staff.models import Department, Invitation, Membership, Role

logger = logging.getLogger("muamalat.tenants")


# --- template schema ---------------------------------------------------------------------------


def template_schema_ensure() -> None:
    """Create and migrate the template schema that new agencies are cloned from, and install
    the clone functions (django-tenants' clone_schema and our SECURITY DEFINER entry point,
    tenants.dbroles) and the fast numbers' one. DDL: runs as the owner role
    (migrate_agencies)."""
    from tenants import dbroles

    base = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{base}"')
    call_command("migrate_schemas", schema_name=base, interactive=False, verbosity=0)
    # New agencies are cloned with the system roles and their declared grants.
    with schema_context(base):
        system_roles_sync(audited=False)
    connection.set_schema_to_public()
    # The library's current version, installed once per deploy: its clone_schema() would
    # re-create it before every clone (each PostgreSQL connection then keeps every compiled
    # version), and the app role may not create functions anyway.
    CloneSchema()._create_clone_schema_function()
    dbroles.clone_function_install()
    dbroles.number_function_install()


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


# --- system roles ------------------------------------------------------------------------------
#
# The system roles (admin, supervisor, employee) and their default grants are declared by the
# installed modules (core.modules). The sync, run in every agency schema and the template by
# migrate_agencies and at onboarding, ADDS: a missing system role is created with its defaults;
# an existing one gets the defaults declared since its last sync (``Role.defaults_applied``).
# It never removes: neither what an admin added to a system role, nor a permission a module no
# longer declares by default, and a default an admin took away once is not given back.


def system_roles_sync(*, actor: User | None = None, audited: bool = True) -> dict:
    """Bring the current schema's system roles up to the declared defaults; returns
    ``{codename: [codes added]}`` for the roles changed (created ones included). Each change
    is an audit event ``role.sync`` (not in the template schema: ``audited=False``, its rows
    would be copied into every new agency)."""
    changed: dict[str, list[str]] = {}
    with transaction.atomic():
        existing = {
            role.codename: role
            for role in Role.objects.select_for_update().filter(
                codename__in=[spec.codename for spec in SYSTEM_ROLES]
            )
        }
        for spec in SYSTEM_ROLES:
            defaults = set(default_grants(spec.codename))
            role = existing.get(spec.codename)
            if role is None:
                role = Role.objects.create(
                    codename=spec.codename,
                    name_ar=spec.name_ar,
                    name_en=spec.name_en,
                    permissions=sorted(defaults),
                    defaults_applied=sorted(defaults),
                    is_system=True,
                )
                before = None
                added = sorted(defaults)
            else:
                new = defaults - set(role.defaults_applied)
                if not new:
                    continue
                before = {"permissions": sorted(role.permissions)}
                added = sorted(new - set(role.permissions))
                role.permissions = sorted(set(role.permissions) | new)
                role.defaults_applied = sorted(set(role.defaults_applied) | new)
                role.save(update_fields=["permissions", "defaults_applied"])
            changed[spec.codename] = added
            if audited:
                audit.agency_record(
                    actor=actor,
                    action="role.sync",
                    obj=role,
                    before=before,
                    after={"permissions": sorted(role.permissions), "added": added},
                )
    return changed


def system_roles_sync_agencies(*, actor: User | None = None) -> dict[str, dict]:
    """Sync the system roles of every agency (migrate_agencies; the template schema is synced by
    template_schema_ensure). Returns ``{schema: {role: [codes added]}}``."""
    results = {}
    for agency in Agency.objects.order_by("pk"):
        with schema_context(agency.schema_name):
            results[agency.schema_name] = system_roles_sync(actor=actor)
    connection.set_schema_to_public()
    return results


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
) -> Agency:
    """Create an agency: its row, its schema, default roles and its first admin's invitation
    (the admin role; bound only when the emailed link is followed — ``agency.admin_invitation``
    holds it, with its one-time ``token``, for callers such as the demo seed).

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
            # The clone has the template's system roles; whatever a module declared since the
            # template was last synced is added here (and audited).
            system_roles_sync(actor=actor)
            for hook in onboard_hooks():
                hook()
            roles = {role.codename: role for role in Role.objects.filter(is_system=True)}
            agency.admin_invitation = employee_invite(
                agency=agency,
                by_platform=True,
                email=admin_email,
                names={
                    "first_name_ar": admin_first_name_ar,
                    "family_name_ar": admin_family_name_ar,
                    "first_name_en": admin_first_name_en,
                    "family_name_en": admin_family_name_en,
                },
                roles=[roles["admin"]],
                actor=actor,
            )
            audit.agency_record(actor=actor, action="agency.onboard", obj=agency)
        audit.platform_record(
            actor=actor,
            action="agency.onboard",
            obj=agency,
            after={"slug": agency.slug, "schema": agency.schema_name},
        )
    logger.info("onboarded %s in %.3fs", agency.slug, time.perf_counter() - started)
    return agency


@use_case
def agency_set_active(*, agency: Agency, is_active: bool, actor: User) -> Agency:
    with transaction.atomic():
        before = {"is_active": agency.is_active}
        agency.is_active = is_active
        agency.save(update_fields=["is_active"])
        audit.platform_record(
            actor=actor,
            action="agency.set_active",
            obj=agency,
            before=before,
            after={"is_active": is_active},
        )
    return agency


# --- who may give what --------------------------------------------------------------------------
#
# The rule, enforced here (views and forms only mirror it): nobody gives a permission they do
# not hold. An agency actor
#   - gives a role only if every permission in it is one they effectively hold (roles + grants -
#     revocations, tenants.selectors.permission_set), and grants or revokes only permissions they
#     hold;
#   - never changes their own roles, grants, revocations, department or active state;
#   - never touches a membership whose permissions (counted as if active) are not a subset of
#     their own: a manager cannot demote, deactivate or re-department an admin;
#   - edits a role only if its permissions, before and after, are a subset of their own, and
#     only if the edit changes nobody who holds more than they do;
#   - gives nobody a wider department scope than their own (tenants.selectors.scope_of: what a
#     supervisor sees). An actor whose scope is limited to their department's subtree (they do
#     not hold requests.view_all and belong to a department) places people only in departments
#     of that subtree, never in "no department" (which means every department); edits only
#     memberships inside it; creates departments only under it; moves none out of it and none
#     into it. An unscoped actor already sees everything and is not limited.
# The platform (onboarding of an agency's first admin) acts from outside the agency: the rule
# does not apply to it (``by_platform``), and only code paths, never a view, pass it.


def _actor_permissions(actor: User | None) -> set[str]:
    """What ``actor`` effectively holds in the current agency, read now (not from a cache)."""
    if actor is None or not actor.is_authenticated:
        return set()
    membership = membership_for(user=actor)
    return set() if membership is None else effective_permissions(membership)


def _actor_scope(actor: User | None) -> tuple[set[str], list[int] | None]:
    """What ``actor`` holds and the departments they oversee (None: every department; see
    tenants.selectors.scope_of), read now. No membership: nothing, and an empty scope."""
    membership = (
        membership_for(user=actor) if actor is not None and actor.is_authenticated else None
    )
    if membership is None:
        return set(), []
    perms = effective_permissions(membership)
    scope = scope_of(department_id=membership.department_id, sees_everything=sees_everything(perms))
    return perms, scope


def _check_department_placeable(scope: list[int] | None, department: Department | None) -> None:
    """A scoped actor places people only inside their own subtree, never in "no department"."""
    if scope is not None and (department is None or department.pk not in scope):
        raise PermissionDenied(
            _(
                "You can place employees only in your own department or a department under it "
                "(not in “no department”, which would let them see every department)."
            )
        )


def _require(actor_perms: set[str], code: str) -> None:
    if code not in actor_perms:
        raise PermissionDenied(_("You do not have permission to do this."))


def _labels(codes: Iterable[str]) -> str:
    labels = permission_labels()
    return ", ".join(str(labels.get(code, code)) for code in sorted(codes))


def _check_roles_grantable(actor_perms: set[str], roles: Iterable[Role]) -> None:
    for role in roles:
        missing = set(role.permissions) - actor_perms
        if missing:
            raise PermissionDenied(
                _(
                    "You cannot give the role “%(role)s”: it includes permissions you do not "
                    "hold (%(missing)s)."
                )
                % {"role": role.name, "missing": _labels(missing)}
            )


def _check_codes_grantable(actor_perms: set[str], codes: Iterable[str]) -> None:
    missing = set(codes) - actor_perms
    if missing:
        raise PermissionDenied(
            _("You cannot give or refuse permissions you do not hold yourself: %(missing)s.")
            % {"missing": _labels(missing)}
        )


# --- employees and invitations -----------------------------------------------------------------

INVITATION_TTL = timedelta(days=getattr(settings, "INVITATION_TTL_DAYS", 7))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(*, agency: Agency, token: str) -> str:
    path = reverse("accounts:invitation", kwargs={"agency_slug": agency.slug, "token": token})
    return f"{settings.SITE_URL}{path}"


def _address_verified(user: User, email: str) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def _invitation_notify(*, user: User, agency: Agency, invitation: Invitation, token: str) -> None:
    """Email (and in-app) invitation. The email carries the one-time link; the in-app note and
    its link carry no token. An account that merely claims the address (unverified, but
    usable: not the placeholder made for the invitation) is told nothing: the email goes to the
    address alone."""
    verified = _address_verified(user, invitation.email)
    if not verified and user.has_usable_password():
        messaging.notify_address(
            address=invitation.email,
            event="staff.invited",
            agency=agency,
            context={"new_account": True, "action_url": invitation_url(agency=agency, token=token)},
        )
        return
    messaging.notify(
        recipient=user,
        event="staff.invited",
        agency=agency,
        context={
            "new_account": not verified,
            "action_url": invitation_url(agency=agency, token=token),
        },
        idempotency_key=f"staff.invited:{agency.pk}:{invitation.pk}",
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
    by_platform: bool = False,
) -> Invitation:
    """Invite a person by email. Nothing is bound to any account here: the membership is
    created when the emailed link is followed (invitation_accept*). A pending invitation of the
    same address is replaced. The raw token is returned on ``invitation.token`` (never stored).

    An agency actor needs ``staff.manage_employees``, may offer only roles whose permissions
    they hold and, if their own scope is a department subtree, only a department of it;
    ``by_platform`` (onboarding) skips that rule.
    """
    email = User.objects.normalize_email(email or "").strip().lower()
    if "@" not in email:
        raise ValidationError({"email": _("Enter a valid email address.")})
    roles = list(roles)
    names = {k: v.strip() for k, v in (names or {}).items() if v and v.strip()}
    with transaction.atomic():
        if not by_platform:
            actor_perms, scope = _actor_scope(actor)
            _require(actor_perms, Perm.MANAGE_EMPLOYEES)
            _check_roles_grantable(actor_perms, roles)
            _check_department_placeable(scope, department)
        user = User.objects.filter(email__iexact=email).first()
        if user is not None and Membership.objects.filter(user_id=user.pk).exists():
            raise ValidationError({"email": _("This person is already an employee here.")})
        replaced = Invitation.objects.filter(email=email, accepted_at__isnull=True).delete()[0]
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            email=email,
            names=names,
            department=department,
            title=title,
            invited_by=actor if actor is not None and actor.is_authenticated else None,
            by_platform=by_platform,
            token_hash=_token_hash(token),
            expires_at=timezone.now() + INVITATION_TTL,
        )
        invitation.roles.set(roles)
        if user is None:
            # The address's owner has no account: a placeholder receives the notification. It
            # has no password and an unverified address; only the link completes it.
            from allauth.account.models import EmailAddress

            user = User(email=email, **names)
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        audit.agency_record(
            actor=actor,
            action="staff.invite",
            obj=invitation,
            after={
                "email": email,
                "roles": [r.codename for r in roles],
                "department": department.pk if department else None,
                "replaced_pending": bool(replaced),
                "by_platform": by_platform,
            },
        )
        _invitation_notify(user=user, agency=agency, invitation=invitation, token=token)
    invitation.token = token
    return invitation


class InvitationInvalid(ValidationError):
    """The link is unknown, expired, already used, or no longer backed by its inviter."""


def invitation_pending(*, agency: Agency, token: str, lock: bool = False) -> Invitation:
    """The pending, unexpired invitation of ``token`` in ``agency`` (current schema must be
    the agency's), or InvitationInvalid."""
    invalid = InvitationInvalid(
        _("This invitation link is not valid: it was used, replaced or has expired.")
    )
    if not token or len(token) > 100:
        raise invalid
    qs = Invitation.objects.filter(token_hash=_token_hash(token))
    if lock:
        qs = qs.select_for_update()
    invitation = qs.first()
    if invitation is None or invitation.accepted_at or invitation.expires_at <= timezone.now():
        raise invalid
    return invitation


def invitation_account_state(invitation: Invitation) -> tuple[str, User | None]:
    """Who holds the invited address: ("none", None), ("placeholder", u) — an account the
    invitation made, never usable —, ("verified", u) or ("unverified", u) — a claim nobody
    proved, never bound to."""
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        return "none", None
    if _address_verified(user, invitation.email):
        return "verified", user
    if not user.has_usable_password() and user.last_login is None:
        return "placeholder", user
    return "unverified", user


def _invitation_bind(*, agency: Agency, invitation: Invitation, user: User) -> Membership:
    roles = list(invitation.roles.all())
    if not invitation.by_platform:
        # The roles and the department must still be the inviter's to give (they may have
        # been demoted or moved since).
        inviter = User.objects.filter(pk=invitation.invited_by_id).first()
        inviter_perms, inviter_scope = _actor_scope(inviter)
        try:
            _require(inviter_perms, Perm.MANAGE_EMPLOYEES)
            _check_roles_grantable(inviter_perms, roles)
            _check_department_placeable(inviter_scope, invitation.department)
        except PermissionDenied:
            raise InvitationInvalid(
                _("This invitation is no longer valid. Ask the agency to invite you again.")
            ) from None
    if Membership.objects.filter(user_id=user.pk).exists():
        raise ValidationError(_("You are already an employee of this agency."))
    membership = Membership.objects.create(
        user=user,
        department=invitation.department,
        title=invitation.title,
        invited_at=invitation.created_at,
    )
    membership.roles.set(roles)
    AgencyMember.objects.update_or_create(user=user, agency=agency, defaults={"is_active": True})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.agency_record(
        actor=user,
        action="staff.join",
        obj=membership,
        after={"invitation": invitation.pk, **_membership_snapshot(membership)},
    )
    audit.platform_record(
        actor=user,
        action="account.invitation_accepted",
        obj=user,
        after={"agency": agency.slug},
    )
    return membership


def invitation_accept(*, agency: Agency, token: str, user: User) -> Membership:
    """Case (b): the signed-in owner of the invited address, verified, accepts."""
    with schema_context(agency.schema_name), transaction.atomic():
        invitation = invitation_pending(agency=agency, token=token, lock=True)
        if (user.email or "").lower() != invitation.email or not _address_verified(
            user, invitation.email
        ):
            raise PermissionDenied(
                _("This invitation was sent to another address than the one of your account.")
            )
        return _invitation_bind(agency=agency, invitation=invitation, user=user)


def _address_detach(*, user: User, email: str) -> dict:
    """Take an unverified address away from an account that claimed it (the invitation link
    proved someone else controls it). The account keeps working with its other identifiers.
    Returns the platform audit record's arguments: the caller writes it after the agency's
    records, since writers of each audit chain are serialised until commit and every use case
    writes the agency log before the platform log (the other order could deadlock)."""
    from allauth.account.models import EmailAddress

    before = user.email
    EmailAddress.objects.filter(user=user, email__iexact=email).delete()
    other = EmailAddress.objects.filter(user=user).order_by("-verified", "id").first()
    if other is not None:
        other.primary = True
        other.save(update_fields=["primary"])
        user.email = other.email
    else:
        user.email = f"detached-{user.pk}-{secrets.token_hex(4)}@detached.invalid"
    user.save(update_fields=["email"])
    return {
        "actor": None,
        "action": "account.email_detached",
        "obj": user,
        "before": {"email": before},
        "after": {"email": user.email, "reason": "invitation link followed by the address's owner"},
    }


def invitation_accept_new_account(
    *, agency: Agency, token: str, password: str, names: dict[str, str] | None = None
) -> Membership:
    """Cases (a) and (c): the person who followed the link (and so controls the address)
    creates their account: no account yet, the invitation's placeholder, or an account that
    only claims the address unverified (the claim is detached first, never bound to). The
    address is then verified and primary. An account holding the address verified must sign in
    instead (invitation_accept)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password

    names = {k: v.strip() for k, v in (names or {}).items() if k in _NAME_FIELDS and v}
    with schema_context(agency.schema_name), transaction.atomic():
        invitation = invitation_pending(agency=agency, token=token, lock=True)
        state, user = invitation_account_state(invitation)
        if state == "verified":
            raise PermissionDenied(
                _("An account already uses this address: sign in to it to accept the invitation.")
            )
        detached = None
        if state == "unverified":
            user = User.objects.select_for_update().get(pk=user.pk)
            detached = _address_detach(user=user, email=invitation.email)
            user = None
        if user is None:
            user = User(email=invitation.email)
        for field, value in {**(invitation.names or {}), **names}.items():
            if field in _NAME_FIELDS:
                setattr(user, field, value)
        validate_password(password, user)
        user.set_password(password)
        user.save()
        EmailAddress.objects.filter(user=user).exclude(email__iexact=invitation.email).update(
            primary=False
        )
        EmailAddress.objects.update_or_create(
            user=user,
            email=invitation.email,
            defaults={"verified": True, "primary": True},
        )
        membership = _invitation_bind(agency=agency, invitation=invitation, user=user)
        if detached is not None:
            audit.platform_record(**detached)
        return membership


_NAME_FIELDS = ("first_name_ar", "family_name_ar", "first_name_en", "family_name_en")


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
    known = permission_labels()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(_("Unknown permission: %(code)s") % {"code": ", ".join(unknown)})
    return sorted(set(codes))


_UNCHANGED = object()


@use_case
def employee_edit(
    *,
    agency: Agency | None,
    membership: Membership,
    actor: User,
    department=_UNCHANGED,
    title: str | None = None,
    roles: Iterable[Role] | None = None,
    is_active: bool | None = None,
    granted: Iterable[str] | None = None,
    revoked: Iterable[str] | None = None,
) -> Membership:
    """Change an employee's department, title, roles, active state and single grants or
    revocations: one use case, one transaction (all or nothing), one audit event. ``None`` (or
    unchanged ``department``) leaves a field as it is. See "who may give what" above."""
    if granted is not None:
        granted = _check_codes(granted)
    if revoked is not None:
        revoked = _check_codes(revoked)
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("department")
            .get(pk=membership.pk)
        )
        before = _membership_snapshot(membership)
        old_roles = list(membership.roles.all())
        new_roles = old_roles if roles is None else list(roles)
        new_granted = list(membership.granted_permissions) if granted is None else granted
        new_revoked = list(membership.revoked_permissions) if revoked is None else revoked
        if set(new_granted) & set(new_revoked):
            raise ValidationError(_("A permission cannot be both granted and revoked."))
        new_department = membership.department if department is _UNCHANGED else department
        new_active = membership.is_active if is_active is None else is_active

        roles_changed = {r.pk for r in new_roles} != {r.pk for r in old_roles}
        grants_changed = set(new_granted) != set(membership.granted_permissions) or set(
            new_revoked
        ) != set(membership.revoked_permissions)
        employment_changed = (
            roles_changed
            or (new_department.pk if new_department else None) != membership.department_id
            or new_active != membership.is_active
        )

        actor_perms, scope = _actor_scope(actor)
        if membership.user_id == actor.pk:
            if new_active is False and membership.is_active:
                raise PermissionDenied(_("You cannot deactivate yourself."))
            if employment_changed or grants_changed:
                raise PermissionDenied(
                    _(
                        "You cannot change your own roles, permissions or department. Ask "
                        "another administrator."
                    )
                )
        title_changed = title is not None and title != membership.title
        if employment_changed or title_changed:
            _require(actor_perms, Perm.MANAGE_EMPLOYEES)
        if grants_changed:
            _require(actor_perms, Perm.MANAGE_ROLES)
        holds = effective_permissions(membership, even_if_inactive=True)
        if not holds <= actor_perms:
            raise PermissionDenied(
                _(
                    "This employee holds permissions you do not hold (%(missing)s): you cannot "
                    "change their membership."
                )
                % {"missing": _labels(holds - actor_perms)}
            )
        if scope is not None and membership.department_id not in scope:
            raise PermissionDenied(
                _(
                    "This employee is not in your department or a department under it: you "
                    "cannot change their membership."
                )
            )
        _check_department_placeable(scope, new_department)
        old_role_ids = {r.pk for r in old_roles}
        _check_roles_grantable(actor_perms, [r for r in new_roles if r.pk not in old_role_ids])
        _check_codes_grantable(
            actor_perms,
            (set(new_granted) ^ set(membership.granted_permissions))
            | (set(new_revoked) ^ set(membership.revoked_permissions)),
        )
        after_perms = permission_set(roles=new_roles, granted=new_granted, revoked=new_revoked)
        if not after_perms <= actor_perms:  # the invariant the checks above ensure
            raise PermissionDenied(
                _("You cannot give permissions you do not hold yourself: %(missing)s.")
                % {"missing": _labels(after_perms - actor_perms)}
            )

        membership.department = new_department
        if title is not None:
            membership.title = title
        membership.is_active = new_active
        membership.granted_permissions = sorted(set(new_granted))
        membership.revoked_permissions = sorted(set(new_revoked))
        membership.save()
        if roles_changed:
            membership.roles.set(new_roles)
        mirror = AgencyMember.objects.filter(user_id=membership.user_id)
        if agency is not None:
            mirror = mirror.filter(agency=agency)
        else:
            mirror = mirror.filter(agency__schema_name=connection.schema_name)
        mirror.update(is_active=membership.is_active)
        if before["is_active"] and not membership.is_active:
            from core.realtime import membership_sockets_close

            schema = agency.schema_name if agency is not None else connection.schema_name
            membership_sockets_close(schema, membership.user_id)
        after = _membership_snapshot(membership)
        audit.agency_record(
            actor=actor,
            action="staff.permissions"
            if grants_changed and not (employment_changed or title_changed)
            else "staff.update",
            obj=membership,
            before=before,
            after=after,
        )
    clear_permission_cache(actor)
    return membership


@use_case
def employee_update(
    *,
    agency: Agency,
    membership: Membership,
    actor: User,
    department: Department | None = None,
    title: str | None = None,
    roles: Iterable[Role] | None = None,
    is_active: bool | None = None,
) -> Membership:
    """Change an employee's department, title, roles or active state (see employee_edit)."""
    return employee_edit.within(
        agency=agency,
        membership=membership,
        actor=actor,
        department=department,
        title=title,
        roles=roles,
        is_active=is_active,
    )


@use_case
def employee_set_permissions(
    *,
    membership: Membership,
    granted: Iterable[str],
    revoked: Iterable[str],
    actor: User,
) -> Membership:
    """Grant or refuse single permissions to one employee, on top of their roles (R-17)."""
    return employee_edit.within(
        agency=None,
        membership=membership,
        actor=actor,
        granted=granted,
        revoked=revoked,
    )


# --- departments -------------------------------------------------------------------------------


@use_case
def department_save(
    *,
    actor: User,
    name_ar: str,
    name_en: str,
    parent: Department | None = None,
    department: Department | None = None,
) -> Department:
    """Create a department, or rename/move an existing one (never under itself). The actor
    needs ``staff.manage_departments``; an actor whose scope is their department's subtree
    (see "who may give what") edits only departments of it, creates them only under it, and
    moves none out of it: who sees what never widens beyond what they see."""
    with transaction.atomic():
        actor_perms, scope = _actor_scope(actor)
        _require(actor_perms, Perm.MANAGE_DEPARTMENTS)
        creating = department is None
        if creating:
            department = Department()
        else:
            department = Department.objects.select_for_update().get(pk=department.pk)
        before = (
            None
            if creating
            else {
                "name_ar": department.name_ar,
                "name_en": department.name_en,
                "parent": department.parent_id,
            }
        )
        new_parent_id = parent.pk if parent is not None else None
        if scope is not None:
            if not creating and department.pk not in scope:
                raise PermissionDenied(
                    _(
                        "This department is not yours or under yours: you cannot change it "
                        "(nor move it under yours)."
                    )
                )
            if (creating or new_parent_id != department.parent_id) and (new_parent_id not in scope):
                raise PermissionDenied(
                    _(
                        "A department can be placed only under your own department or a "
                        "department under it."
                    )
                )
        if parent is not None and not creating and parent.pk in department_subtree(department.pk):
            raise ValidationError({"parent": _("A department cannot be placed under itself.")})
        department.name_ar = name_ar.strip()
        department.name_en = name_en.strip()
        department.parent = parent
        department.full_clean()
        department.save()
        audit.agency_record(
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

# Arabic letters in Latin, for a role code derived from an Arabic name (a common simplified
# scheme; the code is an identifier, not a reading aid).
_ARABIC_LATIN = str.maketrans(
    {
        **dict.fromkeys("اأإآٱى", "a"),
        "ء": "",
        "ؤ": "o",
        "ئ": "e",
        "ب": "b",
        "ت": "t",
        "ة": "a",
        "ث": "th",
        "ج": "j",
        "ح": "h",
        "خ": "kh",
        "د": "d",
        "ذ": "dh",
        "ر": "r",
        "ز": "z",
        "س": "s",
        "ش": "sh",
        "ص": "s",
        "ض": "d",
        "ط": "t",
        "ظ": "z",
        "ع": "",
        "غ": "gh",
        "ف": "f",
        "ق": "q",
        "ك": "k",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ه": "h",
        "و": "w",
        "ي": "y",
        **{digit: str(value) for value, digit in enumerate("٠١٢٣٤٥٦٧٨٩")},
    }
)
_CODENAME_MAX = 50
_CODE_ATTEMPTS = 5


def _code_base(name: str) -> str:
    """``name`` as a code (lower-case ASCII letters, digits and hyphens), or "" if nothing is
    left of it."""
    latin = name.translate(_ARABIC_LATIN)
    # slugify keeps letters of every script: drop what is not ASCII (a name in another script).
    ascii_only = latin.encode("ascii", "ignore").decode()
    return slugify(ascii_only).replace("_", "-").strip("-")[: _CODENAME_MAX - 4].strip("-")


def role_codename(*, name_en: str, name_ar: str) -> str:
    """A code for a new role, free in this agency: from the English name ("Quality reviewer":
    quality-reviewer), else the Arabic one transliterated ("مراجع": mraj), else "role"; with
    -2, -3... when taken. The system roles' codes are never given to another role."""
    base = _code_base(name_en) or _code_base(name_ar) or "role"
    taken = set(
        Role.objects.filter(codename__startswith=base).values_list("codename", flat=True)
    ) | {spec.codename for spec in SYSTEM_ROLES}
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _role_create_with_derived_code(role: Role) -> None:
    """Save the new ``role`` under a derived code; a concurrent creation that took the same code
    first makes it try the next one."""
    for attempt in range(_CODE_ATTEMPTS):
        role.codename = role_codename(name_en=role.name_en, name_ar=role.name_ar)
        role.full_clean(validate_unique=True)
        try:
            with transaction.atomic():
                role.save()
            return
        except IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise


@use_case
def role_save(
    *,
    actor: User,
    name_ar: str,
    name_en: str,
    permissions: Iterable[str],
    role: Role | None = None,
    codename: str | None = None,
) -> Role:
    """Create or edit a role (a named set of permissions). The actor gives a role only
    permissions they hold, edits only a role whose permissions they all hold, and never
    through a role changes someone who holds more than they do.

    A new role's code is ``codename`` if given, else derived from its names (role_codename);
    an existing role keeps its code whatever its names become (``codename`` is ignored)."""
    permissions = _check_codes(permissions)
    with transaction.atomic():
        creating = role is None
        if not creating:
            role = Role.objects.select_for_update().get(pk=role.pk)
        role = role or Role(codename=codename or "")
        actor_perms = _actor_permissions(actor)
        _require(actor_perms, Perm.MANAGE_ROLES)
        if role.is_system and role.codename == "admin" and Perm.MANAGE_ROLES not in permissions:
            raise PermissionDenied(_("The admin role must keep the right to manage roles."))
        if not creating and not set(role.permissions) <= actor_perms:
            raise PermissionDenied(
                _(
                    "This role includes permissions you do not hold (%(missing)s): you cannot "
                    "change it."
                )
                % {"missing": _labels(set(role.permissions) - actor_perms)}
            )
        _check_codes_grantable(actor_perms, permissions)
        if not creating and set(permissions) != set(role.permissions):
            changed = Role(pk=role.pk, permissions=permissions)
            for member in Membership.objects.filter(roles=role).prefetch_related("roles"):
                held = effective_permissions(member, even_if_inactive=True)
                roles_after = [changed if r.pk == role.pk else r for r in member.roles.all()]
                after = permission_set(
                    roles=roles_after,
                    granted=member.granted_permissions,
                    revoked=member.revoked_permissions,
                )
                if held != after and not held <= actor_perms:
                    raise PermissionDenied(
                        _(
                            "This change would alter the permissions of an employee who holds "
                            "permissions you do not hold."
                        )
                    )
        before = None if creating else {"permissions": role.permissions}
        role.name_ar, role.name_en, role.permissions = name_ar.strip(), name_en.strip(), permissions
        if creating and not codename:
            _role_create_with_derived_code(role)
        else:
            role.full_clean(validate_unique=True)
            role.save()
        audit.agency_record(
            actor=actor,
            action="role.create" if creating else "role.update",
            obj=role,
            before=before,
            after={"permissions": permissions},
        )
    clear_permission_cache(actor)
    return role


# --- agency security settings ------------------------------------------------------------------


@use_case
def agency_set_two_factor_requirement(
    *, agency: Agency, requires_two_factor: bool, actor: User
) -> Agency:
    """Require (or stop requiring) two-factor sign-in of the agency's staff (R-2). Only an
    active employee of this agency holding ``staff.manage_roles`` may; the connection must be
    on the agency's schema (the audit event goes to its trail)."""
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("agency_set_two_factor_requirement needs the agency's schema")
    if not actor.has_perm(Perm.MANAGE_ROLES.perm):
        raise PermissionDenied(_("You do not have permission to do this."))
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency.pk)
        before = {"requires_two_factor": agency.requires_two_factor}
        if before["requires_two_factor"] == requires_two_factor:
            return agency
        agency.requires_two_factor = requires_two_factor
        agency.save(update_fields=["requires_two_factor"])
        audit.agency_record(
            actor=actor,
            action="agency.two_factor_requirement",
            obj=agency,
            before=before,
            after={"requires_two_factor": requires_two_factor},
        )
    return agency
