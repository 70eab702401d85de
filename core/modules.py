"""The module contract: what each app declares in one place, and the registry that assembles it.

An app that adds to the agency workspace has a ``<app>/module.py`` exposing ``MODULE``, a
:class:`Module` naming its permissions (a :class:`Permissions` enum), the default grants of the
system roles, its notification events (templates under the app's own
``templates/notifications/events/<event>/``), its workspace menu entries, its workspace URLs
and its websocket routes. The registry finds those objects through ``django.apps`` (core imports
no app): every installed app with a ``module`` submodule is read, in INSTALLED_APPS order, on
first use. Nothing central is edited to add a module: the role editor, the roles sync
(``migrate_agencies``, onboarding), ``notification_send``, the workspace menu, the root URLconf
and the ASGI routing all read from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.utils.functional import Promise
from django.utils.module_loading import import_string, module_has_submodule
from django.utils.translation import gettext_lazy as _

PERMISSION_PREFIX = "agency."

# --- permissions ----------------------------------------------------------------------------


class Permissions(models.TextChoices):
    """Base of an app's permission enum: ``WORK = "requests.work", _("Receive and work…")``.

    A member is its codename (a ``str``: ``code in codes`` and ``@workspace_view(Perm.WORK)``
    work); ``.perm`` is what ``user.has_perm`` takes."""

    @property
    def perm(self) -> str:
        return PERMISSION_PREFIX + self.value


# The system roles every agency has. Their grants come from the modules' ``default_grants``;
# the admin role holds every declared permission.
ADMIN = "admin"
SUPERVISOR = "supervisor"
EMPLOYEE = "employee"


@dataclass(frozen=True)
class SystemRole:
    codename: str
    name_ar: str
    name_en: str
    all_permissions: bool = False


SYSTEM_ROLES: tuple[SystemRole, ...] = (
    SystemRole(ADMIN, "مدير الجهة", "Agency admin", all_permissions=True),
    SystemRole(SUPERVISOR, "مشرف", "Supervisor"),
    SystemRole(EMPLOYEE, "موظف", "Employee"),
)


@dataclass(frozen=True)
class PermissionArea:
    """A heading the role editor groups permissions under (a fieldset with its legend)."""

    key: str
    label: str | Promise


# The areas of the role editor, in the order shown. A permission is in the area its module maps
# it to (``Module.permission_areas``), else in the area named by its codename's prefix
# ("requests.work": requests), else in "other".
PERMISSION_AREAS: tuple[PermissionArea, ...] = (
    PermissionArea("requests", _("Requests")),
    PermissionArea("settings", _("Services and their settings")),
    PermissionArea("staff", _("Employees, departments and roles")),
    PermissionArea("statistics", _("Statistics and evaluation")),
    PermissionArea("notifications", _("Messages")),
    PermissionArea("audit", _("Audit trail")),
    PermissionArea("meetings", _("Meetings")),
    PermissionArea("finance", _("Finance")),
    PermissionArea("other", _("Other permissions")),
)

# --- notification events --------------------------------------------------------------------

EMAIL = "email"
SMS = "sms"
INAPP = "inapp"
CHANNELS = [(INAPP, _("In the portal")), (EMAIL, _("Email")), (SMS, _("SMS"))]


@dataclass(frozen=True)
class Event:
    """A kind of notification: its label (preferences page), channels and rules.

    Templates per event live in the declaring app's
    templates/notifications/events/<event>/: subject.txt, email.txt, email.html, sms.txt,
    inapp.txt (only for the channels the event uses)."""

    label: str | Promise
    channels: tuple[str, ...]
    # Mandatory events (codes, invitations) ignore preferences: they are how people get in.
    mandatory: bool = False
    # Sensitive events carry a secret in their context (a one-time code, a set-password or
    # invitation link with a token). Their email/SMS texts are stored encrypted while queued and
    # replaced by a placeholder once sent or finally failed; their subject and in-app text, kept
    # in clear, are rendered WITHOUT the caller's context (only recipient, agency, link and
    # site_url), so no template can put the secret there. ``link`` itself must stay secret-free.
    sensitive: bool = False


# --- the workspace --------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuEntry:
    """A workspace menu entry, shown to whoever holds ANY of ``permissions`` (all if empty).

    ``url_name`` is in the "workspace" namespace; ``order`` places it among every module's
    entries (ties keep INSTALLED_APPS order)."""

    url_name: str
    label: str | Promise
    permissions: tuple[str, ...] = ()
    order: int = 500


@dataclass(frozen=True)
class OverviewPanel:
    """A block of the workspace overview (the agency's home page): ``template`` rendered with
    ``context`` (its own variables under ``panel``); ``order`` places it among every module's."""

    template: str
    context: Mapping[str, Any]
    order: int = 500


@dataclass(frozen=True)
class SetupStep:
    """One item of a new agency's first-run checklist on the overview: ticked when ``done``
    (derived from the agency's data, never a stored flag), linking to where it is done."""

    label: str | Promise
    done: bool
    url: str
    order: int = 500


@dataclass(frozen=True)
class Module:
    """What one app brings to the platform. URL lists and routes are dotted paths, imported
    when the root URLconf / ASGI routing is built (not when the registry is read)."""

    name: str
    permissions: type[Permissions] | None = None
    # System role codename -> codenames it gets by default (the admin role gets every one).
    default_grants: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Permissions whose holder oversees every department (not only their own subtree).
    agency_wide: Sequence[str] = ()
    # Codename -> key of a PERMISSION_AREAS entry, where the prefix of the codename is not it.
    permission_areas: Mapping[str, str] = field(default_factory=dict)
    # Codename -> one line more about what the permission allows (shown under its label).
    permission_help: Mapping[str, str | Promise] = field(default_factory=dict)
    # Every audit action the app writes (core.audit) -> its label on the audit trail page.
    audit_actions: Mapping[str, str | Promise] = field(default_factory=dict)
    events: Mapping[str, Event] = field(default_factory=dict)
    menu: Sequence[MenuEntry] = ()
    # "app.urls.workspace_urlpatterns": served under /a/<slug>/ in the "workspace" namespace.
    workspace_urls: str | None = None
    # "app.routing.websocket_urlpatterns": channels routes, mounted at the root.
    websocket_routes: str | None = None
    # "app.overview.workload": callables (request) -> OverviewPanel | None, for the overview
    # of whoever opens the workspace (None: nothing to show them). Their queries must not
    # grow with the agency's data.
    overview_panels: Sequence[str] = ()
    # "app.overview.setup_steps": a callable (request) -> list[SetupStep], the steps of the
    # first-run checklist this user can do (those of permissions they hold).
    setup_steps: str | None = None
    # "app.services.x_onboard": a callable () run by onboarding in the new agency's schema,
    # inside its transaction, after the clone of the template: for what the template cannot
    # hold (data that depends on the day of onboarding). Idempotent.
    onboard: str | None = None


# --- the registry ---------------------------------------------------------------------------

_cache: list[Module] | None = None


def modules() -> list[Module]:
    """Every installed app's ``MODULE``, in INSTALLED_APPS order (read once, then cached)."""
    global _cache
    if _cache is None:
        found = []
        for config in apps.get_app_configs():
            if not module_has_submodule(config.module, "module"):
                continue
            declared = getattr(import_module(f"{config.name}.module"), "MODULE", None)
            if not isinstance(declared, Module):
                raise ImproperlyConfigured(f"{config.name}.module must define MODULE = Module(…)")
            found.append(declared)
        _check(found)
        _cache = found
    return _cache


def registry_reset() -> None:
    """Forget the modules read (the next call reads INSTALLED_APPS again)."""
    global _cache
    _cache = None


def _installed_apps_changed(*, setting, **kwargs) -> None:
    if setting == "INSTALLED_APPS":
        registry_reset()


setting_changed.connect(_installed_apps_changed, dispatch_uid="core.modules.reset")


def _check(found: list[Module]) -> None:
    seen_perms: set[str] = set()
    seen_events: set[str] = set()
    seen_actions: set[str] = set()
    areas = {area.key for area in PERMISSION_AREAS}
    roles = {role.codename for role in SYSTEM_ROLES}
    for module in found:
        codes = {str(p) for p in module.permissions} if module.permissions else set()
        if codes & seen_perms:
            raise ImproperlyConfigured(f"{module.name}: permission declared twice")
        seen_perms |= codes
        if set(module.events) & seen_events:
            raise ImproperlyConfigured(f"{module.name}: event declared twice")
        seen_events |= set(module.events)
        if set(module.default_grants) - roles:
            raise ImproperlyConfigured(f"{module.name}: default grants for an unknown role")
        if set(module.audit_actions) & seen_actions:
            raise ImproperlyConfigured(f"{module.name}: audit action declared twice")
        seen_actions |= set(module.audit_actions)
        if set(module.permission_areas.values()) - areas:
            raise ImproperlyConfigured(f"{module.name}: permission in an unknown area")
        if (set(module.permission_areas) | set(module.permission_help)) - codes:
            raise ImproperlyConfigured(f"{module.name}: area or help for a permission of another")
    for module in found:
        for granted in module.default_grants.values():
            unknown = {str(code) for code in granted} - seen_perms
            if unknown:
                raise ImproperlyConfigured(f"{module.name}: unknown default grants {unknown}")


def _all_permissions() -> Iterator[Permissions]:
    for module in modules():
        if module.permissions:
            yield from module.permissions


def permission_labels() -> dict[str, Any]:
    """Every declared codename with its label, in declaration order."""
    return {p.value: p.label for p in _all_permissions()}


def permission_area_of(codename: str) -> PermissionArea:
    """The area the role editor shows ``codename`` in (see PERMISSION_AREAS)."""
    by_key = {area.key: area for area in PERMISSION_AREAS}
    for module in modules():
        if codename in module.permission_areas:
            return by_key[module.permission_areas[codename]]
    return by_key.get(codename.partition(".")[0], by_key["other"])


def permission_help() -> dict[str, Any]:
    """Codename -> its one-line explanation, for the permissions that have one."""
    return {
        str(code): text for module in modules() for code, text in module.permission_help.items()
    }


def permission_groups(codes: Iterable[str] | None = None) -> list[tuple[PermissionArea, list[str]]]:
    """``codes`` (every declared permission if None) by area, in the areas' order, each area's
    codes in declaration order (unknown codes, e.g. of an app since removed, last, in "other")."""
    declared = list(permission_labels())
    wanted = declared if codes is None else list(codes)
    position = {code: index for index, code in enumerate(declared)}
    by_area: dict[str, list[str]] = {}
    for code in sorted(set(wanted), key=lambda code: (position.get(code, len(position)), code)):
        area = permission_area_of(code) if code in position else PERMISSION_AREAS[-1]
        by_area.setdefault(area.key, []).append(code)
    return [(area, by_area[area.key]) for area in PERMISSION_AREAS if area.key in by_area]


def audit_action_labels() -> dict[str, Any]:
    """Every audit action the installed apps declare they write, with its label."""
    return {code: label for module in modules() for code, label in module.audit_actions.items()}


def audit_action_label(code: str) -> Any:
    """The label of an audit action; an undeclared one (an older row) is shown as its code."""
    return audit_action_labels().get(code, code)


def default_grants(role_codename: str) -> list[str]:
    """The codenames a system role holds by default (sorted)."""
    spec = next((role for role in SYSTEM_ROLES if role.codename == role_codename), None)
    if spec is None:
        return []
    if spec.all_permissions:
        return sorted(permission_labels())
    codes: set[str] = set()
    for module in modules():
        codes.update(str(code) for code in module.default_grants.get(role_codename, ()))
    return sorted(codes)


def agency_wide_permissions() -> set[str]:
    return {str(code) for module in modules() for code in module.agency_wide}


def events() -> dict[str, Event]:
    found: dict[str, Event] = {}
    for module in modules():
        found.update(module.events)
    return found


def menu_entries() -> list[MenuEntry]:
    entries = [entry for module in modules() for entry in module.menu]
    return sorted(entries, key=lambda entry: entry.order)  # stable: ties keep module order


def workspace_urlpatterns() -> list:
    """Every module's workspace URL patterns, for the root URLconf (imported now)."""
    return [
        pattern
        for module in modules()
        if module.workspace_urls
        for pattern in import_string(module.workspace_urls)
    ]


def websocket_urlpatterns() -> list:
    return [
        route
        for module in modules()
        if module.websocket_routes
        for route in import_string(module.websocket_routes)
    ]


def overview_panels(request) -> list[OverviewPanel]:
    """The overview's blocks every module has for this request's user, in order."""
    panels = [
        panel
        for module in modules()
        for dotted in module.overview_panels
        if (panel := import_string(dotted)(request)) is not None
    ]
    return sorted(panels, key=lambda panel: panel.order)


def setup_steps(request) -> list[SetupStep]:
    """The first-run checklist's steps of every module for this request's user, in order."""
    steps = [
        step
        for module in modules()
        if module.setup_steps
        for step in import_string(module.setup_steps)(request)
    ]
    return sorted(steps, key=lambda step: step.order)


def onboard_hooks() -> list:
    """The onboarding callables of every module, in module order (imported now)."""
    return [import_string(module.onboard) for module in modules() if module.onboard]


class EventsView(Mapping):
    """A read-only ``{code: Event}`` view of the declared events, read at each access."""

    def __getitem__(self, code: str) -> Event:
        return events()[code]

    def __iter__(self):
        return iter(events())

    def __len__(self) -> int:
        return len(events())
