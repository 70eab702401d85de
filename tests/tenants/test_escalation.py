"""Permission escalation (issue 10, point 1): nobody gives a role or permission they do not
hold, changes their own membership, or touches someone who holds more than they do.

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
from tenants.staff.models import AuditEvent, Invitation, Membership, Role
from tests.factories import make_beneficiary, make_employee, membership_of

MANAGER_GRANTS = ["staff.view", "staff.manage_employees"]
ROLE_MANAGER_GRANTS = ["staff.view", "staff.manage_employees", "staff.manage_roles"]


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

    def m(self, user: User) -> Membership:
        return Membership.objects.prefetch_related("roles").get(user_id=user.pk)

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
            audit = AuditEvent.objects.count()
        return {"members": members, "roles": roles, "invitations": invitations, "audit": audit}

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
    return Org(agency_a, admin, fresh(manager), fresh(role_manager), fresh(worker), fresh(rich))


# --- the table --------------------------------------------------------------------------------
# Each attempt: (actor attribute, service call). The call gets the Org and the actor.


def _invite(roles):
    def call(org, actor):
        services.employee_invite(
            agency=org.agency,
            email="escalate@example.sa",
            roles=[org.role(code) for code in roles],
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
            kwargs["department"] = changes["department"]
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
