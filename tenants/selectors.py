"""Reads about agencies and their staff used by views."""

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from core.modules import PERMISSION_PREFIX, agency_wide_permissions, audit_action_labels
from tenants.models import Agency, AgencyMember
from tenants.staff.models import AuditEvent, Department, Invitation, Membership, Role


def membership_for(*, user: User) -> Membership | None:
    """The user's membership in the current agency schema, with roles, or None."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user_id=user.pk)
        .prefetch_related(Prefetch("roles", queryset=Role.objects.only("id", "permissions")))
        .first()
    )


def permission_set(
    *, roles: Iterable[Role], granted: Iterable[str], revoked: Iterable[str]
) -> set[str]:
    """The one definition of what a membership may do: union of its roles' permissions, plus
    single grants, minus revocations."""
    codes: set[str] = set()
    for role in roles:
        codes.update(role.permissions)
    codes.update(granted)
    codes.difference_update(revoked)
    return codes


def effective_permissions(membership: Membership, *, even_if_inactive: bool = False) -> set[str]:
    """Permission codenames of a membership (see permission_set); an inactive membership has
    none unless ``even_if_inactive`` (what it would hold once reactivated). Roles prefetched by
    the caller when used in a loop."""
    if not membership.is_active and not even_if_inactive:
        return set()
    return permission_set(
        roles=membership.roles.all(),
        granted=membership.granted_permissions,
        revoked=membership.revoked_permissions,
    )


def membership_permissions(*, user: User) -> set[str]:
    """Effective permission codenames of the user in the current agency."""
    membership = membership_for(user=user)
    return set() if membership is None else effective_permissions(membership)


STAFF_SEARCH_FIELDS = (
    "user__email",
    "user__first_name_ar",
    "user__father_name_ar",
    "user__family_name_ar",
    "user__first_name_en",
    "user__father_name_en",
    "user__family_name_en",
    "title",
)


def staff_search_filter(search: str) -> Q:
    """Memberships whose employee's email, names (Arabic or English) or title contain every
    word of ``search`` ("محمد الحربي" finds the first name and the family name together)."""
    condition = Q()
    for word in search.split():
        match = Q()
        for field in STAFF_SEARCH_FIELDS:
            match |= Q(**{f"{field}__icontains": word})
        condition &= match
    return condition


def staff_list(*, search: str = "", department_id: int | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.select_related("user", "department").prefetch_related("roles")
    if search:
        qs = qs.filter(staff_search_filter(search))
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("user__first_name_ar", "id")


def invitation_pending_list(*, search: str = "") -> list[Invitation]:
    """Invitations not yet accepted (expired ones included, marked by ``is_expired``)."""
    qs = (
        Invitation.objects.filter(accepted_at__isnull=True)
        .select_related("department")
        .prefetch_related("roles")
        .order_by("-created_at", "-id")
    )
    if search:
        qs = qs.filter(Q(email__icontains=search) | Q(title__icontains=search))
    now = timezone.now()
    invitations = list(qs)
    for invitation in invitations:
        invitation.is_expired = invitation.expires_at <= now
    return invitations


def department_list() -> QuerySet[Department]:
    return Department.objects.select_related("parent").order_by("parent_id", "name_ar")


# --- the department tree ---------------------------------------------------------------------
#
# The one walk of the tree: a recursive query giving every (ancestor, department) pair, each
# department being its own ancestor. A subtree is the departments of one ancestor, the departments
# overseeing one are its ancestors. UNION (not UNION ALL) ends even on a cycle the services would
# have refused. PostgreSQL computes the whole closure (departments x depth rows): agencies have
# tens or hundreds of departments.


def _department_closure(select: str, where: str, department_id: int) -> RawSQL:
    table = Department._meta.db_table
    return RawSQL(
        f"WITH RECURSIVE closure (ancestor_id, department_id) AS ("  # noqa: S608 - table name
        f" SELECT id, id FROM {table}"
        f" UNION SELECT closure.ancestor_id, d.id FROM {table} d"
        f" JOIN closure ON d.parent_id = closure.department_id"
        f") SELECT {select} FROM closure WHERE {where} = %s",
        (department_id,),
    )


def department_subtree_ids(department_id: int) -> RawSQL:
    """A department and every department under it, as a subquery (``pk__in=``)."""
    return _department_closure("department_id", "ancestor_id", department_id)


def department_ancestor_ids(department_id: int) -> RawSQL:
    """A department and every department above it, as a subquery (``pk__in=``)."""
    return _department_closure("ancestor_id", "department_id", department_id)


def department_subtree(department_id: int) -> list[int]:
    """A department and every department under it (one query)."""
    return list(
        Department.objects.filter(pk__in=department_subtree_ids(department_id))
        .order_by()
        .values_list("id", flat=True)
    )


def holds_permission(code: str) -> Q:
    """Memberships holding ``code`` (see permission_set), as a filter: active, granted it
    singly or through a role, and not revoked it."""
    through_role = Exists(Role.objects.filter(members=OuterRef("pk"), permissions__contains=[code]))
    return (
        Q(is_active=True)
        & (Q(granted_permissions__contains=[code]) | through_role)
        & ~Q(revoked_permissions__contains=[code])
    )


def memberships_holding(
    code: str, *, department_id: int | None = None, scope: str = "subtree"
) -> QuerySet[Membership]:
    """The memberships holding permission ``code`` (one query, see holds_permission), where:
    - no ``department_id``: anywhere in the agency;
    - ``scope="subtree"``: in the department ``department_id`` or one under it;
    - ``scope="department"``: in the department ``department_id`` itself;
    - ``scope="overseeing"``: whose department scope (scope_of) covers ``department_id``:
      in it, in one above it, or in no department (a department-less holder oversees all;
      ``department_id`` None then means work of no department, overseen by those only).
    Combine with ``|`` for several permissions (still one query)."""
    if scope not in ("subtree", "department", "overseeing"):
        raise ValueError(f"unknown scope {scope!r}")
    qs = Membership.objects.filter(holds_permission(code))
    if scope == "overseeing":
        covering = Q(department__isnull=True)
        if department_id is not None:
            covering |= Q(department_id__in=department_ancestor_ids(department_id))
        return qs.filter(covering)
    if department_id is None:
        return qs
    if scope == "department":
        return qs.filter(department_id=department_id)
    return qs.filter(department_id__in=department_subtree_ids(department_id))


def sees_everything(codes: Iterable[str]) -> bool:
    """Whether a holder of ``codes`` oversees every department: one of them is declared
    ``agency_wide`` by its module (requests.view_all)."""
    return not agency_wide_permissions().isdisjoint(codes)


def scope_of(*, department_id: int | None, sees_everything: bool) -> list[int] | None:
    """The departments an employee oversees: None (every department) for an agency-wide
    viewer (a permission its module declares ``agency_wide``: ``requests.view_all``) or
    someone in no department; else their department and
    the departments under it. The one definition behind
    requests_app.selectors.department_scope (what a supervisor sees) and the services' rule
    that a scoped actor places people and departments only inside their own subtree."""
    root = scope_root(department_id=department_id, sees_everything=sees_everything)
    return None if root is None else department_subtree(root)


def scope_root(*, department_id: int | None, sees_everything: bool) -> int | None:
    """The department whose subtree is scope_of's: None (every department) for an agency-wide
    viewer or someone in no department, else their own department."""
    if sees_everything or department_id is None:
        return None
    return department_id


def department_tree() -> list[tuple[Department, int]]:
    """Departments in tree order with their depth, from one query."""
    departments = list(Department.objects.all())
    children: dict[int | None, list[Department]] = {}
    for department in departments:
        children.setdefault(department.parent_id, []).append(department)
    ordered: list[tuple[Department, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for department in sorted(children.get(parent_id, []), key=lambda d: d.name):
            ordered.append((department, depth))
            walk(department.pk, depth + 1)

    walk(None, 0)
    return ordered


def role_list() -> QuerySet[Role]:
    return Role.objects.order_by("id")


def department_scope(*, membership: Membership, user: User) -> list[int] | None:
    """The departments whose work an employee oversees: None (every department) for an
    agency-wide viewer (requests.view_all, which the admin role holds) or someone in no
    department; else their department and the departments under it. The one definition of
    "a supervisor of a department sees its subtree", used by the request lists, the statistics,
    the satisfaction page and the audit trail (scope_of; the staff services keep a scoped actor
    from placing anyone, or any department, outside that subtree)."""
    return scope_of(department_id=membership.department_id, sees_everything=_sees_agency_wide(user))


def department_scope_subquery(*, membership: Membership, user: User) -> RawSQL | None:
    """department_scope as a subquery for ``department_id__in=`` (None: every department):
    the tree is walked inside the query that filters on it, so a page filtering twice (the
    queue: its rows and its counts) makes no query of its own for it."""
    root = scope_root(
        department_id=membership.department_id, sees_everything=_sees_agency_wide(user)
    )
    return None if root is None else department_subtree_ids(root)


def _sees_agency_wide(user: User) -> bool:
    return any(user.has_perm(PERMISSION_PREFIX + code) for code in agency_wide_permissions())


def audit_search(
    *, query: str = "", action: str = "", department_ids: list[int] | None = None
) -> QuerySet[AuditEvent]:
    """The audit trail, newest first. ``department_ids`` (a supervisor's subtree, see
    department_scope; None: everything) keeps the events whose actor is
    an employee of those departments, or whose object belongs to them: one of those
    departments, a membership in them, a request of them, or an appointment of such a
    membership. Agency-wide objects (roles, catalogue, service levels, settings) acted on by
    someone else are left out."""
    qs = AuditEvent.objects.all()
    if department_ids is not None:
        qs = qs.filter(_audit_scope(department_ids))
    if query:
        # An action is found by its code or by its label in the reader's language.
        labelled = [
            code
            for code, label in audit_action_labels().items()
            if query.casefold() in str(label).casefold()
        ]
        qs = qs.filter(
            Q(actor_display__icontains=query)
            | Q(object_repr__icontains=query)
            | Q(object_id=query)
            | Q(action__icontains=query)
            | Q(action__in=labelled)
        )
    if action:
        qs = qs.filter(action=action)
    return qs.order_by("-created_at", "-id")


# Objects of the apps above tenants that belong to departments, for the audit trail's subtree
# scope: each app registers, in its AppConfig.ready(), a function of (department_ids, members)
# returning (model, queryset) pairs (the requests app: requests of those departments and
# appointments of those memberships).
_audit_scope_sources: list[Callable[..., Iterable[tuple[Any, QuerySet]]]] = []


def audit_scope_register(source: Callable[..., Iterable[tuple[Any, QuerySet]]]) -> None:
    if source not in _audit_scope_sources:
        _audit_scope_sources.append(source)


def _audit_scope(department_ids: list[int]) -> Q:
    from django.db.models import CharField
    from django.db.models.functions import Cast

    members = Membership.objects.filter(department_id__in=department_ids)

    def ids(queryset) -> QuerySet:
        return queryset.annotate(key=Cast("pk", CharField())).values("key")

    def of(model, queryset) -> Q:
        return Q(object_type=model._meta.label_lower, object_id__in=ids(queryset))

    scope = (
        Q(actor_id__in=members.values("user_id"))
        | of(Department, Department.objects.filter(pk__in=department_ids))
        | of(Membership, members)
    )
    for source in _audit_scope_sources:
        for model, queryset in source(department_ids=department_ids, members=members):
            scope |= of(model, queryset)
    return scope


def workspaces_for(*, user: User) -> QuerySet[Agency]:
    """Agencies where the user is an active employee (from the public mirror)."""
    if not user.is_authenticated:
        return Agency.objects.none()
    agency_ids = AgencyMember.objects.filter(user=user, is_active=True).values("agency_id")
    return Agency.objects.filter(pk__in=agency_ids, is_active=True).order_by("slug")


# --- the agencies' two-factor requirement (R-2), registered with accounts.two_factor ---------


def agencies_requiring_two_factor(user) -> QuerySet[Agency]:
    """Active agencies where the user is active staff and which require two-factor sign-in."""
    return Agency.objects.filter(
        is_active=True,
        requires_two_factor=True,
        member_links__user_id=user.pk,
        member_links__is_active=True,
    )


def agencies_withheld(user, *, verified: bool, pending: bool) -> QuerySet[Agency]:
    """The agencies whose two-factor requirement a session of ``user`` does not meet (see
    accounts.two_factor.agencies_withheld_from_session): none once the session used a second
    factor, every agency while it is pending, else those requiring it where the user is active
    staff. A queryset, to use as a subquery."""
    if verified:
        return Agency.objects.none()
    if pending:
        return Agency.objects.all()
    return Agency.objects.filter(
        requires_two_factor=True,
        member_links__user_id=user.pk,
        member_links__is_active=True,
    )


def is_agency_staff(user, agency: Agency) -> bool:
    """Whether the user is active staff of the agency (from the public mirror)."""
    return AgencyMember.objects.filter(user_id=user.pk, agency=agency, is_active=True).exists()
