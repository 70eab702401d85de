"""Permission escalation (issue 10, points 1 and 7): nobody gives a role or permission they do
not hold, changes their own membership, or touches someone who holds more than they do; and an
actor whose scope is a department subtree (what a supervisor sees: department_scope) gives
nobody a wider one: they place people and departments only inside their own subtree, never in
"no department" (which means every department).

One table of attempts, each tried at the service level and, where a page offers it, through a
forged HTTP POST: always refused, nothing changed, never a 500, and no membership ends up with
permissions its actor does not hold."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django_tenants.utils import schema_context

from accounts.models import User
from tenants import services
from tenants.selectors import effective_permissions
from tenants.staff.models import AuditEvent, Department, Invitation, Membership, Role
from tests.factories import make_beneficiary, make_employee, membership_of

MANAGER_GRANTS = ["staff.view", "staff.manage_employees"]
ROLE_MANAGER_GRANTS = ["staff.view", "staff.manage_employees", "staff.manage_roles"]
# The reviewer's department manager: supervises, manages employees and departments of their
# department, reads its audit trail; no requests.view_all, so scoped to their subtree.
DEPT_MANAGER_PERMISSIONS = [
    "audit.view",
    "requests.supervise",
    "requests.work",
    "staff.manage_departments",
    "staff.manage_employees",
    "staff.view",
]


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@dataclass
class Org:
    agency: object
    admin: User
    manager: User  # only staff.view + staff.manage_employees (the reported attacker)
    role_manager: User  # the employee role + staff.view/manage_employees/manage_roles
    worker: User  # the employee role
    rich: User  # the supervisor role plus statistics.manage: more than the managers hold
    # Departments: p (top level) > a > a1, and p > b. The department manager is in a (scope:
    # a and a1), their peer (same role) in a1, the outsider (employee) in b, the loose
    # employee in no department.
    dept_manager: User
    peer: User
    outsider: User
    loose: User
    depts: dict[str, int]

    def m(self, user: User) -> Membership:
        return Membership.objects.prefetch_related("roles").get(user_id=user.pk)

    def dept(self, key: str | None) -> Department | None:
        return None if key is None else Department.objects.get(pk=self.depts[key])

    def role(self, codename: str) -> Role:
        return Role.objects.get(codename=codename)

    def snapshot(self) -> dict:
        with schema_context(self.agency.schema_name):
            members = {
                m.user_id: (
                    sorted(r.codename for r in m.roles.all()),
                    sorted(m.granted_permissions),
                    sorted(m.revoked_permissions),
                    m.is_active,
                    m.department_id,
                    m.title,
                )
                for m in Membership.objects.prefetch_related("roles")
            }
            roles = {r.codename: sorted(r.permissions) for r in Role.objects.all()}
            invitations = sorted(Invitation.objects.values_list("email", flat=True))
            departments = sorted(Department.objects.values_list("id", "name_en", "parent_id"))
            audit = AuditEvent.objects.count()
        return {
            "members": members,
            "roles": roles,
            "invitations": invitations,
            "departments": departments,
            "audit": audit,
        }

    def perms(self, user: User) -> set[str]:
        with schema_context(self.agency.schema_name):
            return effective_permissions(self.m(user), even_if_inactive=True)


@pytest.fixture
def org(agency_a) -> Org:
    admin = make_employee(agency_a, roles=("admin",))
    manager = make_employee(agency_a, roles=())
    role_manager = make_employee(agency_a, roles=("employee",))
    worker = make_employee(agency_a, roles=("employee",))
    rich = make_employee(agency_a, roles=("supervisor",))
    with schema_context(agency_a.schema_name):
        for user, grants in (
            (manager, MANAGER_GRANTS),
            (role_manager, ROLE_MANAGER_GRANTS),
            (rich, ["statistics.manage"]),
        ):
            services.employee_set_permissions(
                membership=membership_of(agency_a, user), granted=grants, revoked=[], actor=admin
            )
        Role.objects.create(
            codename="deptmgr",
            name_ar="مدير إدارة",
            name_en="Department manager",
            permissions=DEPT_MANAGER_PERMISSIONS,
        )
        p = services.department_save(actor=admin, name_ar="القطاع", name_en="P")
        a = services.department_save(actor=admin, name_ar="أ", name_en="A", parent=p)
        a1 = services.department_save(actor=admin, name_ar="أ١", name_en="A1", parent=a)
        b = services.department_save(actor=admin, name_ar="ب", name_en="B", parent=p)
    dept_manager = make_employee(agency_a, roles=("deptmgr",))
    peer = make_employee(agency_a, roles=("deptmgr",))
    outsider = make_employee(agency_a, roles=("employee",))
    loose = make_employee(agency_a, roles=("employee",))
    with schema_context(agency_a.schema_name):
        for user, department in ((dept_manager, a), (peer, a1), (outsider, b)):
            services.employee_edit(
                agency=agency_a,
                membership=membership_of(agency_a, user),
                actor=admin,
                department=department,
            )
    return Org(
        agency_a,
        admin,
        fresh(manager),
        fresh(role_manager),
        fresh(worker),
        fresh(rich),
        fresh(dept_manager),
        fresh(peer),
        fresh(outsider),
        fresh(loose),
        {"p": p.pk, "a": a.pk, "a1": a1.pk, "b": b.pk},
    )


def scope(org: Org, user: User) -> list[int] | None:
    from requests_app.selectors import department_scope

    with schema_context(org.agency.schema_name):
        return department_scope(membership=org.m(user), user=fresh(user))


# --- the table --------------------------------------------------------------------------------
# Each attempt: (actor attribute, service call). The call gets the Org and the actor.


def _invite(roles, department=None):
    def call(org, actor):
        services.employee_invite(
            agency=org.agency,
            email="escalate@example.sa",
            roles=[org.role(code) for code in roles],
            department=org.dept(department),
            actor=actor,
        )

    return call


def _edit(target, **changes):
    def call(org, actor):
        membership = org.m(getattr(org, target) if target != "self" else actor)
        kwargs = {}
        if "add_roles" in changes:
            kwargs["roles"] = list(membership.roles.all()) + [
                org.role(c) for c in changes["add_roles"]
            ]
        if "roles" in changes:
            kwargs["roles"] = [org.role(c) for c in changes["roles"]]
        for key in ("granted", "revoked", "is_active", "title"):
            if key in changes:
                kwargs[key] = changes[key]
        if "department" in changes:
            kwargs["department"] = org.dept(changes["department"])
        services.employee_edit(agency=org.agency, membership=membership, actor=actor, **kwargs)

    return call


def _role_edit(codename, add=(), remove=()):
    def call(org, actor):
        role = org.role(codename)
        permissions = (set(role.permissions) | set(add)) - set(remove)
        services.role_save(
            actor=actor,
            role=role,
            codename=role.codename,
            name_ar=role.name_ar,
            name_en=role.name_en,
            permissions=sorted(permissions),
        )

    return call


def _role_create(permissions):
    def call(org, actor):
        services.role_save(
            actor=actor,
            codename="forged",
            name_ar="مزورة",
            name_en="Forged",
            permissions=permissions,
        )

    return call


def _department(key=None, *, name_en=None, parent=None):
    """Create a department (``key`` None) or change department ``key``; ``parent`` a key."""

    def call(org, actor):
        department = org.dept(key)
        services.department_save(
            actor=actor,
            department=department,
            name_ar=department.name_ar if department else "جديدة",
            name_en=name_en or (department.name_en if department else "New"),
            parent=org.dept(parent),
        )

    return call


ATTEMPTS: dict[str, tuple[str, Callable]] = {
    # invitations
    "invite as admin": ("manager", _invite(["admin"])),
    "invite with a role holding one more permission": ("role_manager", _invite(["supervisor"])),
    "invite as employee without holding requests.work": ("manager", _invite(["employee"])),
    # one's own membership
    "give oneself the admin role": ("manager", _edit("self", add_roles=["admin"])),
    "drop one's own role": ("role_manager", _edit("self", roles=[])),
    "grant oneself audit.view": ("role_manager", _edit("self", granted=["audit.view"])),
    "lift one's own revocation": ("role_manager", _edit("self", granted=[])),
    "deactivate oneself": ("manager", _edit("self", is_active=False)),
    # someone else's membership
    "give a worker the admin role": ("manager", _edit("worker", add_roles=["admin"])),
    "grant a worker audit.view": ("role_manager", _edit("worker", granted=["audit.view"])),
    "refuse a worker a permission one lacks": (
        "role_manager",
        _edit("worker", revoked=["audit.view"]),
    ),
    "give a worker a role one lacks, hidden by a revocation": (
        "role_manager",
        _edit("worker", add_roles=["supervisor"], revoked=["audit.view"]),
    ),
    "deactivate the admin": ("manager", _edit("admin", is_active=False)),
    "demote the admin": ("role_manager", _edit("admin", roles=["employee"])),
    "move a richer employee": ("manager", _edit("rich", title="moved")),
    "revoke from a richer employee": (
        "role_manager",
        _edit("rich", revoked=["requests.work"]),
    ),
    # roles
    "add audit.view to a role one holds": (
        "role_manager",
        _role_edit("employee", add=["audit.view"]),
    ),
    "create a role with audit.view": ("role_manager", _role_create(["audit.view"])),
    "edit the admin role": ("role_manager", _role_edit("admin", remove=["audit.view"])),
    "strip a role a richer employee holds": (
        "admin_like_supervisor",
        _role_edit("supervisor", remove=["audit.view"]),
    ),
    "edit roles without staff.manage_roles": ("manager", _role_create([])),
    # departments (the actor of these rows is scoped to a and a1, see Org)
    "scoped: invite a peer in no department": (
        "dept_manager",
        _invite(["deptmgr"], department=None),
    ),
    "scoped: invite into a sibling department": ("dept_manager", _invite(["employee"], "b")),
    "scoped: invite into the parent department": ("dept_manager", _invite(["employee"], "p")),
    "scoped: move a peer to no department": ("dept_manager", _edit("peer", department=None)),
    "scoped: move a peer out of the subtree": ("dept_manager", _edit("peer", department="b")),
    "scoped: move a peer up to the parent": ("dept_manager", _edit("peer", department="p")),
    "scoped: edit someone of another department": (
        "dept_manager",
        _edit("outsider", title="moved"),
    ),
    "scoped: pull someone of another department in": (
        "dept_manager",
        _edit("outsider", department="a1"),
    ),
    "scoped: edit someone in no department": ("dept_manager", _edit("loose", department="a")),
    "scoped: move oneself to no department": ("dept_manager", _edit("self", department=None)),
    "scoped: create a top-level department": ("dept_manager", _department(parent=None)),
    "scoped: create a department under a sibling": ("dept_manager", _department(parent="b")),
    "scoped: move a sub-department to the top": ("dept_manager", _department("a1", parent=None)),
    "scoped: move a sub-department out": ("dept_manager", _department("a1", parent="b")),
    "scoped: move another department in": ("dept_manager", _department("b", parent="a")),
    "scoped: move one's own department": ("dept_manager", _department("a", parent="b")),
    "scoped: rename another department": (
        "dept_manager",
        _department("b", name_en="Renamed", parent="p"),
    ),
    "departments without staff.manage_departments": ("manager", _department(parent=None)),
    "rename a department without staff.manage_departments": (
        "manager",
        _department("b", name_en="Renamed", parent="p"),
    ),
}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_escalation_refused_at_service_level(org, name):
    actor_name, attempt = ATTEMPTS[name]
    if actor_name == "admin_like_supervisor":
        # holds everything of the supervisor role, and manage_roles, but not statistics.manage
        actor = make_employee(org.agency, roles=("supervisor",))
        with schema_context(org.agency.schema_name):
            services.employee_set_permissions(
                membership=org.m(actor), granted=ROLE_MANAGER_GRANTS, revoked=[], actor=org.admin
            )
        actor = fresh(actor)
    else:
        actor = getattr(org, actor_name)
    if name == "lift one's own revocation":
        with schema_context(org.agency.schema_name):
            services.employee_set_permissions(
                membership=org.m(actor),
                granted=ROLE_MANAGER_GRANTS,
                revoked=["requests.work"],
                actor=org.admin,
            )
    held = org.perms(actor)
    before = org.snapshot()
    with schema_context(org.agency.schema_name), pytest.raises(PermissionDenied) as excinfo:
        attempt(org, fresh(actor))
    assert str(excinfo.value)  # a message the page can show
    assert org.snapshot() == before
    assert org.perms(actor) == held


def test_nothing_the_actor_can_do_yields_more_than_the_actor_holds(org):
    """The positive side of the rule: what an actor may give stays within what they hold."""
    actor = org.role_manager
    with schema_context(org.agency.schema_name):
        services.employee_edit(
            agency=org.agency,
            membership=org.m(org.worker),
            actor=actor,
            granted=["staff.view"],
            title="Case officer",
        )
        invitation = services.employee_invite(
            agency=org.agency, email="ok@example.sa", roles=[org.role("employee")], actor=actor
        )
        services.role_save(
            actor=actor,
            codename="viewer",
            name_ar="مطلع",
            name_en="Viewer",
            permissions=["staff.view"],
        )
    services.invitation_accept_new_account(
        agency=org.agency, token=invitation.token, password="Another-Strong-Pass-77"
    )
    mine = org.perms(actor)
    with schema_context(org.agency.schema_name):
        assert effective_permissions(org.m(org.worker)) == {"requests.work", "staff.view"}
        newcomer = Membership.objects.get(user__email="ok@example.sa")
        assert effective_permissions(newcomer) <= mine


def test_own_title_may_change_but_nothing_else(org):
    with schema_context(org.agency.schema_name):
        services.employee_edit(
            agency=org.agency, membership=org.m(org.manager), actor=org.manager, title="Lead"
        )
        assert org.m(org.manager).title == "Lead"


def test_an_invitation_loses_force_when_its_inviter_is_demoted(org):
    """A pending invitation carries roles the inviter could give when inviting; if the inviter
    no longer holds them when the link is followed, it binds nothing."""
    with schema_context(org.agency.schema_name):
        invitation = services.employee_invite(
            agency=org.agency,
            email="late@example.sa",
            roles=[org.role("employee")],
            actor=org.role_manager,
        )
        services.employee_edit(
            agency=org.agency, membership=org.m(org.role_manager), actor=org.admin, roles=[]
        )
    with pytest.raises(services.InvitationInvalid):
        services.invitation_accept_new_account(
            agency=org.agency, token=invitation.token, password="Another-Strong-Pass-77"
        )
    with schema_context(org.agency.schema_name):
        assert not Membership.objects.filter(user__email="late@example.sa").exists()


def test_staff_edit_is_one_transaction(client, org):
    """The edit page changes the employment and the grants in one use case: when the grants
    part is refused, the employment part is not left saved (it was, with two services)."""
    client.force_login(org.admin)
    with schema_context(org.agency.schema_name):
        target = org.m(org.worker)
        employee_pk = org.role("employee").pk
        supervisor_pk = org.role("supervisor").pk
    before = org.snapshot()
    response = client.post(
        f"/a/{org.agency.slug}/staff/{target.pk}/",
        {
            "e-title": "Changed title",
            "e-roles": [employee_pk, supervisor_pk],
            "e-is_active": "on",
            "p-granted": ["audit.view"],
            "p-revoked": ["audit.view"],  # contradictory: refused by the service
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert org.snapshot() == before


# --- through the pages: forged POSTs ---------------------------------------------------------


def _url(org, name: str) -> str:
    base = f"/a/{org.agency.slug}"
    with schema_context(org.agency.schema_name):
        return {
            "invite": f"{base}/staff/invite/",
            "edit_self_manager": f"{base}/staff/{org.m(org.manager).pk}/",
            "edit_self_role_manager": f"{base}/staff/{org.m(org.role_manager).pk}/",
            "edit_worker": f"{base}/staff/{org.m(org.worker).pk}/",
            "edit_admin": f"{base}/staff/{org.m(org.admin).pk}/",
            "roles": f"{base}/roles/",
            "role_employee": f"{base}/roles/{org.role('employee').pk}/",
            "role_admin": f"{base}/roles/{org.role('admin').pk}/",
            "edit_peer": f"{base}/staff/{org.m(org.peer).pk}/",
            "edit_outsider": f"{base}/staff/{org.m(org.outsider).pk}/",
            "departments": f"{base}/departments/",
            "department_a1": f"{base}/departments/{org.depts['a1']}/",
            "department_b": f"{base}/departments/{org.depts['b']}/",
            "audit": f"{base}/audit/",
        }[name]


def _pk(org, codename: str) -> int:
    with schema_context(org.agency.schema_name):
        return org.role(codename).pk


FORGED_POSTS = {
    "invite as admin": (
        "manager",
        "invite",
        lambda o: {"email": "x@example.sa", "roles": [_pk(o, "admin")]},
    ),
    "invite as supervisor": (
        "role_manager",
        "invite",
        lambda o: {"email": "x@example.sa", "roles": [_pk(o, "supervisor")]},
    ),
    "own membership: admin role": (
        "manager",
        "edit_self_manager",
        lambda o: {"e-roles": [_pk(o, "admin")], "e-is_active": "on"},
    ),
    "own membership: a held role": (
        "role_manager",
        "edit_self_role_manager",
        lambda o: {
            "e-roles": [],
            "e-is_active": "on",
            "p-granted": ROLE_MANAGER_GRANTS,
        },
    ),
    "own membership: grant": (
        "role_manager",
        "edit_self_role_manager",
        lambda o: {
            "e-roles": [_pk(o, "employee")],
            "e-is_active": "on",
            "p-granted": ROLE_MANAGER_GRANTS + ["requests.work"],
        },
    ),
    "worker: admin role": (
        "manager",
        "edit_worker",
        lambda o: {"e-roles": [_pk(o, "employee"), _pk(o, "admin")], "e-is_active": "on"},
    ),
    "worker: grant audit.view": (
        "role_manager",
        "edit_worker",
        lambda o: {
            "e-roles": [_pk(o, "employee")],
            "e-is_active": "on",
            "p-granted": ["audit.view"],
        },
    ),
    "admin: deactivate": ("manager", "edit_admin", lambda o: {"e-roles": [_pk(o, "admin")]}),
    "admin: demote": (
        "role_manager",
        "edit_admin",
        lambda o: {"e-roles": [_pk(o, "employee")], "e-is_active": "on"},
    ),
    "role: add audit.view": (
        "role_manager",
        "role_employee",
        lambda o: {
            "name_ar": "موظف",
            "name_en": "Employee",
            "permissions": ["requests.work", "audit.view"],
        },
    ),
    "role: create with audit.view": (
        "role_manager",
        "roles",
        lambda o: {
            "codename": "forged",
            "name_ar": "مزورة",
            "name_en": "Forged",
            "permissions": ["audit.view"],
        },
    ),
    "role: edit the admin role": (
        "role_manager",
        "role_admin",
        lambda o: {"name_ar": "مدير", "name_en": "Admin", "permissions": ROLE_MANAGER_GRANTS},
    ),
    # a department manager scoped to a and a1
    "scoped invite: no department": (
        "dept_manager",
        "invite",
        lambda o: {"email": "x@example.sa", "roles": [_pk(o, "deptmgr")], "department": ""},
    ),
    "scoped invite: a sibling department": (
        "dept_manager",
        "invite",
        lambda o: {"email": "x@example.sa", "department": o.depts["b"]},
    ),
    "scoped edit: a peer to no department": (
        "dept_manager",
        "edit_peer",
        lambda o: {"e-roles": [_pk(o, "deptmgr")], "e-is_active": "on", "e-department": ""},
    ),
    "scoped edit: a peer out of the subtree": (
        "dept_manager",
        "edit_peer",
        lambda o: {
            "e-roles": [_pk(o, "deptmgr")],
            "e-is_active": "on",
            "e-department": o.depts["b"],
        },
    ),
    "scoped edit: pull in someone of another department": (
        "dept_manager",
        "edit_outsider",
        lambda o: {
            "e-roles": [_pk(o, "employee")],
            "e-is_active": "on",
            "e-department": o.depts["a1"],
        },
    ),
    "scoped departments: create at the top": (
        "dept_manager",
        "departments",
        lambda o: {"name_ar": "جديدة", "name_en": "New", "parent": ""},
    ),
    "scoped departments: create under a sibling": (
        "dept_manager",
        "departments",
        lambda o: {"name_ar": "جديدة", "name_en": "New", "parent": o.depts["b"]},
    ),
    "scoped departments: move a sub-department out": (
        "dept_manager",
        "department_a1",
        lambda o: {"name_ar": "أ١", "name_en": "A1", "parent": o.depts["b"]},
    ),
    "scoped departments: move another department in": (
        "dept_manager",
        "department_b",
        lambda o: {"name_ar": "ب", "name_en": "B", "parent": o.depts["a"]},
    ),
    "scoped departments: rename another department": (
        "dept_manager",
        "department_b",
        lambda o: {"name_ar": "ب", "name_en": "Renamed", "parent": o.depts["p"]},
    ),
}


@pytest.mark.parametrize("name", list(FORGED_POSTS))
def test_forged_posts_are_refused(client, org, name):
    actor_name, url_name, data = FORGED_POSTS[name]
    client.force_login(getattr(org, actor_name))
    url = _url(org, url_name)
    payload = data(org)
    before = org.snapshot()
    response = client.post(url, payload)
    assert response.status_code in (200, 403), response.status_code
    forms = [response.context["form"], response.context.get("grant_form")]
    assert any(f is not None and f.errors for f in forms), name
    assert org.snapshot() == before
    # the messages are translated (Arabic is the default language)
    html = response.content.decode()
    assert 'lang="ar"' in html


def test_service_refusal_message_is_translated(client, org):
    client.force_login(org.manager)
    response = client.post(_url(org, "edit_admin"), {"e-roles": [_pk(org, "admin")]})
    assert response.status_code == 403
    with translation.override("ar"):
        expected = translation.gettext(
            "This employee holds permissions you do not hold (%(missing)s): you cannot "
            "change their membership."
        )
    assert expected.split("(")[0].strip() in response.content.decode()
    assert expected != (
        "This employee holds permissions you do not hold (%(missing)s): you cannot "
        "change their membership."
    )


def test_forms_offer_only_what_the_actor_may_give(client, org):
    client.force_login(org.manager)
    html = client.get(_url(org, "invite")).content.decode()
    for codename in ("admin", "supervisor", "employee"):
        assert f'value="{_pk(org, codename)}"' not in html
    client.force_login(org.role_manager)
    html = client.get(_url(org, "invite")).content.decode()
    assert f'value="{_pk(org, "employee")}"' in html
    assert f'value="{_pk(org, "admin")}"' not in html
    html = client.get(_url(org, "roles")).content.decode()
    assert 'value="staff.view"' in html and 'value="audit.view"' not in html


def test_scope_refusal_from_the_service_is_translated(client, org):
    """A forged POST the form lets through (the outsider's page, a department of the actor's
    subtree) is refused by the service, with its message in Arabic and status 403."""
    client.force_login(org.dept_manager)
    before = org.snapshot()
    response = client.post(
        _url(org, "edit_outsider"),
        {"e-roles": [_pk(org, "employee")], "e-is_active": "on", "e-department": org.depts["a"]},
    )
    assert response.status_code == 403
    message = (
        "This employee is not in your department or a department under it: you cannot change "
        "their membership."
    )
    with translation.override("ar"):
        expected = translation.gettext(message)
    assert expected != message
    assert expected in response.content.decode()
    response = client.post(
        _url(org, "department_b"), {"name_ar": "ب", "name_en": "B", "parent": org.depts["a"]}
    )
    assert response.status_code == 403
    message = (
        "This department is not yours or under yours: you cannot change it (nor move it under "
        "yours)."
    )
    with translation.override("ar"):
        expected = translation.gettext(message)
    assert expected != message
    assert expected in response.content.decode()
    assert org.snapshot() == before


def test_forms_offer_only_the_actors_departments(client, org):
    client.force_login(org.dept_manager)
    html = client.get(_url(org, "invite")).content.decode()
    for key in ("a", "a1"):
        assert f'<option value="{org.depts[key]}"' in html
    for key in ("b", "p"):
        assert f'<option value="{org.depts[key]}"' not in html
    html = client.get(_url(org, "edit_peer")).content.decode()
    assert f'<option value="{org.depts["b"]}"' not in html
    html = client.get(_url(org, "departments")).content.decode()
    for key in ("a", "a1"):
        assert f'departments/{org.depts[key]}/"' in html  # an edit link
    for key in ("b", "p"):
        assert f'departments/{org.depts[key]}/"' not in html
        assert f'<option value="{org.depts[key]}"' not in html
    # the page of someone outside the subtree says why it cannot be changed
    response = client.get(_url(org, "edit_outsider"))
    assert response.status_code == 200 and response.context["outside"]
    with translation.override("ar"):
        note = translation.gettext(
            "This employee is not in your department or a department under it: you cannot "
            "change their membership."
        )
    assert note in response.content.decode()
    # an unscoped admin is offered every department
    client.force_login(org.admin)
    html = client.get(_url(org, "invite")).content.decode()
    for key in ("a", "a1", "b", "p"):
        assert f'<option value="{org.depts[key]}"' in html


def test_scoped_actor_works_inside_their_subtree(org):
    """What a scoped actor may still do, and every result stays inside their scope."""
    actor = org.dept_manager
    mine = scope(org, actor)
    assert sorted(mine) == sorted([org.depts["a"], org.depts["a1"]])
    with schema_context(org.agency.schema_name):
        invitation = services.employee_invite(
            agency=org.agency,
            email="inside@example.sa",
            roles=[org.role("deptmgr")],
            department=org.dept("a1"),
            actor=actor,
        )
        services.employee_edit(
            agency=org.agency, membership=org.m(org.peer), actor=actor, department=org.dept("a")
        )
        new = services.department_save(
            actor=actor, name_ar="أ٢", name_en="A2", parent=org.dept("a1")
        )
        services.department_save(
            actor=actor, department=new, name_ar="أ٢", name_en="A2", parent=org.dept("a")
        )
        services.department_save(
            actor=actor,
            department=org.dept("a"),
            name_ar="أ",
            name_en="A renamed",
            parent=org.dept("p"),
        )
    services.invitation_accept_new_account(
        agency=org.agency, token=invitation.token, password="Another-Strong-Pass-77"
    )
    newcomer = User.objects.get(email="inside@example.sa")
    assert set(scope(org, newcomer)) <= set(scope(org, actor))
    assert set(scope(org, org.peer)) <= set(scope(org, actor))
    assert set(scope(org, actor)) == {org.depts["a"], org.depts["a1"], new.pk}


def test_reviewer_probe_peer_never_sees_more_than_the_actor(client, org):
    """The reviewer's scenario end to end: the department manager tries to mint an agency-wide
    peer (same role, no department) through the page and the service; both are refused. The
    peer they may invite (into their subtree) accepts and sees only that subtree: the audit
    trail shows the peer's department's events, not the sibling department's."""
    actor = org.dept_manager
    client.force_login(actor)
    before = org.snapshot()
    response = client.post(
        _url(org, "invite"),
        {"email": "alt@attacker.example", "roles": [_pk(org, "deptmgr")], "department": ""},
    )
    assert response.status_code == 200 and response.context["form"].errors
    with schema_context(org.agency.schema_name), pytest.raises(PermissionDenied):
        services.employee_invite(
            agency=org.agency,
            email="alt@attacker.example",
            roles=[org.role("deptmgr")],
            department=None,
            actor=fresh(actor),
        )
    assert org.snapshot() == before

    response = client.post(
        _url(org, "invite"),
        {
            "email": "alt@attacker.example",
            "roles": [_pk(org, "deptmgr")],
            "department": org.depts["a1"],
        },
    )
    assert response.status_code == 302
    with schema_context(org.agency.schema_name):
        invitation = Invitation.objects.get(email="alt@attacker.example")
        token = "direct"
        invitation.token_hash = services._token_hash(token)
        invitation.save(update_fields=["token_hash"])  # the emailed link, which the test lacks
    services.invitation_accept_new_account(
        agency=org.agency, token=token, password="Another-Strong-Pass-77"
    )
    alt = User.objects.get(email="alt@attacker.example")
    alt_scope = scope(org, alt)
    assert alt_scope is not None
    assert set(alt_scope) <= set(scope(org, actor))

    client.force_login(alt)
    events = list(client.get(_url(org, "audit")).context["page"].object_list)
    with schema_context(org.agency.schema_name):
        outsider_m, peer_m = str(org.m(org.outsider).pk), str(org.m(org.peer).pk)
    shown = {(e.object_type, e.object_id) for e in events}
    assert ("staff.membership", peer_m) in shown
    assert ("staff.membership", outsider_m) not in shown
    # and the would-be peer cannot widen anyone either: moving the actor's peer out refused
    with schema_context(org.agency.schema_name), pytest.raises(PermissionDenied):
        services.employee_edit(
            agency=org.agency, membership=org.m(org.peer), actor=fresh(alt), department=None
        )


def test_an_invitation_loses_force_when_its_inviter_is_moved(org):
    """A pending invitation into the inviter's subtree binds nothing once the inviter has been
    moved to a department whose subtree no longer holds it."""
    with schema_context(org.agency.schema_name):
        invitation = services.employee_invite(
            agency=org.agency,
            email="moved@example.sa",
            roles=[org.role("employee")],
            department=org.dept("a1"),
            actor=org.dept_manager,
        )
        services.employee_edit(
            agency=org.agency,
            membership=org.m(org.dept_manager),
            actor=org.admin,
            department=org.dept("b"),
        )
    with pytest.raises(services.InvitationInvalid):
        services.invitation_accept_new_account(
            agency=org.agency, token=invitation.token, password="Another-Strong-Pass-77"
        )
    with schema_context(org.agency.schema_name):
        assert not Membership.objects.filter(user__email="moved@example.sa").exists()


def test_unscoped_admin_may_still_use_no_department(org):
    """Decision: "no department" keeps meaning every department; an unscoped actor (the admin,
    who sees everything anyway) may still invite or move people there."""
    with schema_context(org.agency.schema_name):
        services.employee_edit(
            agency=org.agency, membership=org.m(org.peer), actor=org.admin, department=None
        )
        services.department_save(actor=org.admin, name_ar="عليا", name_en="Top")
    assert scope(org, org.peer) is None


# --- who may open these pages at all ----------------------------------------------------------

PAGES = ["invite", "edit_worker", "roles", "role_employee"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", ["anonymous", "beneficiary", "other agency's admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_are_refused(client, org, agency_b, page, who, method):
    url = _url(org, page)
    if who == "beneficiary":
        client.force_login(make_beneficiary())
    elif who == "other agency's admin":
        client.force_login(make_employee(agency_b, roles=("admin",)))
    before = org.snapshot()
    payload = {"email": "x@example.sa", "codename": "x", "name_ar": "x", "name_en": "x"}
    response = getattr(client, method)(url, payload if method == "post" else None)
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403
    assert org.snapshot() == before
