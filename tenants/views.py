"""Agency workspace views (thin: parse, authorise, call a service or selector, render)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from core import modules
from frontend.forms import apply_service_errors
from tenants import selectors, services
from tenants.decorators import workspace_view
from tenants.forms import (
    AgencySecurityForm,
    DepartmentForm,
    EmployeeEditForm,
    EmployeeInviteForm,
    PermissionGrantForm,
    RoleForm,
)
from tenants.module import Perm
from tenants.permissions import labelled_groups, permission_labels
from tenants.staff.models import Department, Membership, Role
from tenants.urls_helpers import workspace_reverse


def _actor_permissions(request) -> set[str]:
    return selectors.effective_permissions(request.membership)


def _actor_scope(request) -> list[int] | None:
    """The departments the actor oversees (None: all), as the services count it."""
    return selectors.scope_of(
        department_id=request.membership.department_id,
        sees_everything=selectors.sees_everything(_actor_permissions(request)),
    )


def _refused(form, exc: PermissionDenied) -> int:
    """A permission refusal from a service, shown on the form: status 403."""
    form.add_error(None, str(exc) or _("You do not have permission to do this."))
    return 403


@workspace_view()
def dashboard(request):
    """The workspace overview: every module's blocks for this user (core.modules), and a new
    agency's first-run checklist until each of its steps is done."""
    steps = modules.setup_steps(request)
    return render(
        request,
        "tenants/dashboard.html",
        {
            "membership": request.membership,
            "panels": modules.overview_panels(request),
            "setup_steps": steps if not all(step.done for step in steps) else [],
            "setup_done": sum(step.done for step in steps),
        },
    )


@workspace_view(Perm.VIEW_STAFF)
def staff_list(request):
    search = request.GET.get("q", "").strip()[:100]
    members = list(selectors.staff_list(search=search))
    invitations = (
        selectors.invitation_pending_list(search=search)
        if request.user.has_perm(Perm.MANAGE_EMPLOYEES.perm)
        else []
    )
    return render(
        request,
        "tenants/staff_list.html",
        {"members": members, "invitations": invitations, "q": search},
    )


@workspace_view(Perm.MANAGE_EMPLOYEES)
def staff_invite(request):
    form = EmployeeInviteForm(
        request.POST or None, actor_perms=_actor_permissions(request), scope=_actor_scope(request)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.employee_invite(
                agency=request.agency,
                email=data["email"],
                names={
                    k: data[k]
                    for k in ("first_name_ar", "family_name_ar", "first_name_en", "family_name_en")
                },
                department=data["department"],
                roles=data["roles"],
                title=data["title"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, _("The invitation was sent."))
            return redirect(workspace_reverse(request, "workspace:staff_list"))
    return render(request, "tenants/staff_invite.html", {"form": form}, status=status)


@workspace_view(Perm.MANAGE_EMPLOYEES)
def staff_edit(request, membership_id: int):
    membership = get_object_or_404(
        Membership.objects.select_related("user", "department").prefetch_related("roles"),
        pk=membership_id,
    )
    actor_perms = _actor_permissions(request)
    can_grant = Perm.MANAGE_ROLES in actor_perms
    own = membership.user_id == request.user.pk
    beyond = selectors.effective_permissions(membership, even_if_inactive=True) - actor_perms
    scope = _actor_scope(request)
    outside = scope is not None and membership.department_id not in scope
    initial = {
        "title": membership.title,
        "department": membership.department,
        "roles": list(membership.roles.all()),
        "is_active": membership.is_active,
    }
    context = {"actor_perms": actor_perms, "membership": membership}
    form = EmployeeEditForm(
        request.POST or None, initial=initial, prefix="e", scope=scope, **context
    )
    grant_form = PermissionGrantForm(
        request.POST or None,
        initial={
            "granted": membership.granted_permissions,
            "revoked": membership.revoked_permissions,
        },
        prefix="p",
        **context,
    )
    status = 200
    if request.method == "POST":
        valid = form.is_valid() and (not can_grant or grant_form.is_valid())
        if valid:
            data = form.cleaned_data
            try:
                # One use case, one transaction: nothing is saved unless all of it is allowed.
                services.employee_edit(
                    agency=request.agency,
                    membership=membership,
                    actor=request.user,
                    department=data["department"],
                    title=data["title"],
                    roles=data["roles"],
                    is_active=data["is_active"],
                    granted=grant_form.cleaned_data["granted"] if can_grant else None,
                    revoked=grant_form.cleaned_data["revoked"] if can_grant else None,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, _("The employee was saved."))
                return redirect(workspace_reverse(request, "workspace:staff_list"))
    return render(
        request,
        "tenants/staff_edit.html",
        {
            "membership": membership,
            "form": form,
            "grant_form": grant_form,
            "can_grant": can_grant,
            "own": own,
            "locked": bool(beyond),
            "outside": outside,
        },
        status=status,
    )


def _department_tree(request, can_manage: bool) -> list[tuple[Department, int, bool]]:
    """The tree, each department marked editable when the actor may change it."""
    scope = _actor_scope(request) if can_manage else []
    return [
        (department, depth, can_manage and (scope is None or department.pk in scope))
        for department, depth in selectors.department_tree()
    ]


@workspace_view(Perm.VIEW_STAFF)
def department_list(request):
    can_manage = request.user.has_perm(Perm.MANAGE_DEPARTMENTS.perm)
    form = DepartmentForm(request.POST or None, scope=_actor_scope(request)) if can_manage else None
    status = 200
    if request.method == "POST":
        if not can_manage:
            return render(request, "403.html", status=403)
        if form.is_valid():
            try:
                services.department_save(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, _("The department was saved."))
                return redirect(workspace_reverse(request, "workspace:department_list"))
    return render(
        request,
        "tenants/department_list.html",
        {"tree": _department_tree(request, can_manage), "form": form},
        status=status,
    )


@workspace_view(Perm.MANAGE_DEPARTMENTS)
def department_edit(request, department_id: int):
    department = get_object_or_404(Department, pk=department_id)
    form = DepartmentForm(
        request.POST or None,
        exclude_pk=department.pk,
        scope=_actor_scope(request),
        initial={
            "name_ar": department.name_ar,
            "name_en": department.name_en,
            "parent": department.parent,
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.department_save(actor=request.user, department=department, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, _("The department was saved."))
            return redirect(workspace_reverse(request, "workspace:department_list"))
    return render(
        request,
        "tenants/department_edit.html",
        {"department": department, "form": form},
        status=status,
    )


@workspace_view(Perm.MANAGE_ROLES)
def role_list(request):
    form = RoleForm(request.POST or None, actor_perms=_actor_permissions(request))
    every = set(permission_labels())
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.role_save(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, _("The role was saved."))
            return redirect(workspace_reverse(request, "workspace:role_list"))
    return render(
        request,
        "tenants/role_list.html",
        {
            "roles": [
                (role, set(role.permissions) >= every, labelled_groups(role.permissions))
                for role in selectors.role_list()
            ],
            "form": form,
        },
        status=status,
    )


@workspace_view(Perm.MANAGE_ROLES)
def role_edit(request, role_id: int):
    role = get_object_or_404(Role, pk=role_id)
    form = RoleForm(
        request.POST or None,
        actor_perms=_actor_permissions(request),
        role=role,
        initial={
            "name_ar": role.name_ar,
            "name_en": role.name_en,
            "permissions": role.permissions,
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.role_save(
                actor=request.user,
                role=role,
                name_ar=data["name_ar"],
                name_en=data["name_en"],
                permissions=data["permissions"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, _("The role was saved."))
            return redirect(workspace_reverse(request, "workspace:role_list"))
    return render(request, "tenants/role_edit.html", {"role": role, "form": form}, status=status)


# --- audit trail (scoped to a department supervisor's subtree) ---------------------------------


@workspace_view(Perm.VIEW_AUDIT)
def audit_list(request):
    query = request.GET.get("q", "").strip()[:100]
    department_ids = selectors.department_scope(membership=request.membership, user=request.user)
    events = selectors.audit_search(query=query, department_ids=department_ids)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "tenants/audit_list.html", {"page": page, "q": query})


# --- end of audit trail ------------------------------------------------------------------------


@workspace_view(Perm.MANAGE_ROLES)
def security_settings(request):
    """The agency's sign-in security: whether its staff must use two-factor sign-in (R-2)."""
    form = AgencySecurityForm(
        request.POST or None, initial={"requires_two_factor": request.agency.requires_two_factor}
    )
    if request.method == "POST" and form.is_valid():
        try:
            request.agency = services.agency_set_two_factor_requirement(
                agency=request.agency,
                requires_two_factor=form.cleaned_data["requires_two_factor"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The sign-in security settings were saved."))
            return redirect(workspace_reverse(request, "workspace:security_settings"))
    return render(request, "tenants/security_settings.html", {"form": form})
