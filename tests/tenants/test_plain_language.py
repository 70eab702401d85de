"""Plain language for agency admins (issue 12): permissions grouped by area with translated
labels wherever they are shown, role codes derived from the name, audit actions translated."""

import ast
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django_tenants.utils import schema_context

from core import audit
from core.modules import (
    PERMISSION_AREAS,
    audit_action_label,
    audit_action_labels,
    permission_groups,
    permission_help,
    permission_labels,
)
from core.transitions import StateMachine
from tenants.services import role_save
from tenants.staff.models import AuditEvent, Role
from tests.factories import make_employee, membership_of

ROOT = Path(__file__).resolve().parents[2]


class _Text(HTMLParser):
    """The text a reader sees (attribute values, scripts and styles left out)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _raw_codes_in(text: str) -> list[str]:
    return [code for code in permission_labels() if code in text]


def _url(agency, name, **kwargs):
    return reverse(f"workspace:{name}", kwargs={"agency_slug": agency.slug, **kwargs})


# --- role codes derived from the name -----------------------------------------------------------


def test_a_role_created_with_only_names_gets_a_unique_code_kept_on_rename(agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        first = role_save(
            actor=admin, name_ar="مراجع الجودة", name_en="Quality reviewer", permissions=[]
        )
        second = role_save(
            actor=admin, name_ar="مراجع الجودة", name_en="Quality  Reviewer!", permissions=[]
        )
        # The system roles' codes are never given to another role.
        homonym = role_save(actor=admin, name_ar="موظف", name_en="Employee", permissions=[])
        # No usable English: the Arabic name transliterated; nothing usable at all: "role".
        arabic = role_save(actor=admin, name_ar="مراجع", name_en="؟؟", permissions=[])
        bare = role_save(actor=admin, name_ar="؟", name_en="?", permissions=[])
        bare_again = role_save(actor=admin, name_ar="!", name_en="!", permissions=[])
        assert [first.codename, second.codename] == ["quality-reviewer", "quality-reviewer-2"]
        assert homonym.codename == "employee-2"
        assert arabic.codename == "mraj"
        assert [bare.codename, bare_again.codename] == ["role", "role-2"]
        assert Role.objects.get(codename="employee").is_system

        renamed = role_save(
            actor=admin,
            role=first,
            name_ar="مدقق",
            name_en="Auditor",
            permissions=["requests.work"],
        )
        assert renamed.codename == "quality-reviewer"
        assert Role.objects.get(pk=first.pk).name_en == "Auditor"


def test_the_role_form_asks_no_code_and_the_page_creates_one(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    url = _url(agency_a, "role_list")
    page = client.get(url).content.decode()
    assert 'name="codename"' not in page
    assert "slug" not in page.lower() and "الرابط المختصر" not in page

    response = client.post(
        url,
        {"name_ar": "موظف استقبال", "name_en": "Desk officer", "permissions": ["requests.work"]},
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        role = Role.objects.get(name_en="Desk officer")
        assert role.codename == "desk-officer" and role.permissions == ["requests.work"]
        event = AuditEvent.objects.filter(action="role.create").latest("id")
        assert event.object_id == str(role.pk)

    # Editing the role: names change, the code does not; no code field is offered.
    edit_url = _url(agency_a, "role_edit", role_id=role.pk)
    assert 'name="codename"' not in client.get(edit_url).content.decode()
    response = client.post(
        edit_url,
        {"name_ar": "استقبال", "name_en": "Front desk", "codename": "forged", "permissions": []},
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        role.refresh_from_db()
        assert (role.codename, role.name_en) == ("desk-officer", "Front desk")


def test_bad_role_input_is_refused_with_a_translated_message_and_nothing_saved(client, agency_a):
    client.force_login(make_employee(agency_a, roles=("admin",)))
    with schema_context(agency_a.schema_name):
        before = Role.objects.count()
    response = client.post(
        _url(agency_a, "role_list"), {"name_ar": "", "name_en": "X", "permissions": ["nope.x"]}
    )
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(r'id="id_name_ar_error"[^>]*>(.*?)</p>', html, re.S)
    assert error and re.search("[\u0600-\u06ff]", re.sub(r"<[^>]+>", "", error.group(1)))
    with schema_context(agency_a.schema_name):
        assert Role.objects.count() == before


def test_an_explicit_code_taken_is_refused(agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name), pytest.raises(ValidationError):
        role_save(actor=admin, codename="employee", name_ar="س", name_en="S", permissions=[])


# --- permissions grouped by area, with labels ------------------------------------------------


def test_every_permission_is_in_one_area_in_the_declared_order():
    groups = permission_groups()
    codes = [code for _area, group in groups for code in group]
    assert sorted(codes) == sorted(permission_labels())
    assert len(codes) == len(set(codes))
    order = [area.key for area in PERMISSION_AREAS]
    keys = [area.key for area, _group in groups]
    assert keys == sorted(keys, key=order.index)
    by_area = {area.key: group for area, group in groups}
    assert "requests.manage_sla" in by_area["settings"]
    assert "requests.work" in by_area["requests"]
    assert "staff.manage_roles" in by_area["staff"]
    assert "statistics.view" in by_area["statistics"]
    assert "audit.view" in by_area["audit"]
    # A code no installed app declares (any more) is still shown, as itself, under "other".
    assert permission_groups(["gone.away", "requests.work"])[-1][0].key == "other"


def test_permission_and_area_labels_are_translated_into_arabic():
    with translation.override("ar"):
        untranslated = [
            str(text)
            for text in [
                *permission_labels().values(),
                *permission_help().values(),
                *(area.label for area in PERMISSION_AREAS),
            ]
            if not re.search("[\u0600-\u06ff]", str(text))
        ]
    assert untranslated == []


def test_the_roles_page_groups_permissions_with_arabic_labels_and_no_codes(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    html = client.get(_url(agency_a, "role_list")).content.decode()
    text = visible_text(html)
    assert _raw_codes_in(text) == []
    assert "requests." not in text and "staff." not in text
    with translation.override("ar"):
        areas = [str(area.label) for area, _group in permission_groups()]
        labels = [str(label) for label in permission_labels().values()]
        employee_label = str(permission_labels()["requests.work"])
    # One fieldset per area, with its legend, in the new role form.
    legends = re.findall(r"<legend[^>]*>\s*([^<]+?)\s*</legend>", html)
    assert [legend for legend in legends if legend in areas] == areas
    # Every permission a stacked form-check with its Arabic label.
    assert html.count('class="form-check-input"') == len(labels)
    assert len(re.findall(r'<div class="form-check[ "]', html)) == len(labels)
    for label in labels:
        assert label in text
    # The list of roles reads labels too: the employee role's one permission.
    assert employee_label == "استلام الطلبات ومعالجتها"
    role_list = html.split('class="list-group', 1)[1].split("</ul>", 1)[0]
    assert employee_label in role_list


def test_the_roles_page_in_english_reads_english_labels(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    admin.preferred_language = "en"
    admin.save(update_fields=["preferred_language"])
    client.force_login(admin)
    text = visible_text(client.get(_url(agency_a, "role_list")).content.decode())
    assert "Services and their settings" in text
    assert "Manage service levels, the working calendar and holidays" in text
    assert _raw_codes_in(text) == []


def test_the_employee_page_groups_individual_permissions_without_codes(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    employee = make_employee(agency_a)
    client.force_login(admin)
    membership = membership_of(agency_a, employee)
    html = client.get(_url(agency_a, "staff_edit", membership_id=membership.pk)).content.decode()
    text = visible_text(html)
    assert _raw_codes_in(text) == []
    # Granted and refused: each area's fieldset twice, every permission twice, stacked.
    with translation.override("ar"):
        settings_area = str(PERMISSION_AREAS[1].label)
    assert html.count(f">{settings_area}</legend>") == 2
    # the two permission lists (granted, revoked); the page's other checkboxes are not counted
    boxes = re.findall(r'<input type="checkbox" name="[\w-]*(?:granted|revoked)"', html)
    assert len(boxes) == 2 * len(permission_labels())


# --- audit actions translated ----------------------------------------------------------------


def _state_machines() -> list[StateMachine]:
    import requests_app.services.actions  # noqa: F401  (declares the request machine)

    found = []
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, StateMachine) and value not in found:
                found.append(value)
    return found


def _dynamic_actions() -> dict[str, set[str]]:
    """The audit actions written through an expression, by the expression's source: what each
    can be. A new kind of expression makes the scan fail until it is taught here."""
    from finance.models_review import ReviewAction
    from requests_app.constants import Visibility
    from requests_app.models import ApprovalRequest

    kinds = [kind for kind, _label in ApprovalRequest.KINDS]
    decided = [ApprovalRequest.APPROVED, ApprovalRequest.REFUSED]
    return {
        "transition.audit_action": {
            t.audit_action for machine in _state_machines() for t in machine.transitions.values()
        },
        "f'request.comment.{visibility}'": {f"request.comment.{v}" for v in Visibility.values},
        "f'request.{kind}.asked'": {f"request.{kind}.asked" for kind in kinds},
        "f'request.{approval.kind}.{approval.status}'": {
            f"request.{kind}.{status}" for kind in kinds for status in decided
        },
        # finance.services.review's return and reject.
        "f'finance.voucher_{action}'": {
            f"finance.voucher_{action}" for action in (ReviewAction.RETURN, ReviewAction.REJECT)
        },
    }


def _constants(node) -> set[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _constants(node.body), _constants(node.orelse)
        if body is not None and orelse is not None:
            return body | orelse
    return None


def written_audit_actions() -> tuple[set[str], list[str]]:
    """Every audit action the project's code writes (core.audit's agency_record and
    platform_record, and the keyword dicts handed to them), and the expressions not
    understood."""
    dynamic = _dynamic_actions()
    found: set[str] = set()
    unknown: list[str] = []
    skip = {".venv", "tests", "migrations", "var", "node_modules"}
    for path in sorted(ROOT.rglob("*.py")):
        if skip & set(path.relative_to(ROOT).parts) or path.name == "audit.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            values = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name in ("agency_record", "platform_record"):
                    values += [kw.value for kw in node.keywords if kw.arg == "action"]
            elif isinstance(node, ast.Dict):
                values += [
                    value
                    for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant) and key.value == "action"
                ]
            for value in values:
                constants = _constants(value)
                source = ast.unparse(value)
                if constants is not None:
                    found |= constants
                elif source in dynamic:
                    found |= dynamic[source]
                else:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {source}")
    return found, unknown


def test_every_audit_action_written_has_a_translated_label(db):
    written, unknown = written_audit_actions()
    assert unknown == [], "teach _dynamic_actions what these expressions can be"
    # The scan does find them (the request transitions and the platform's sign-ins included).
    assert {"request.started", "request.reopened", "auth.login", "role.create"} <= written
    assert len(written) > 50
    labels = audit_action_labels()
    assert sorted(written - set(labels)) == []
    # No label for an action nothing writes (a renamed action leaves no stale label).
    assert sorted(set(labels) - written) == []
    with translation.override("ar"):
        untranslated = [
            code for code in written if not re.search("[\u0600-\u06ff]", str(labels[code]))
        ]
    assert untranslated == []


def test_an_unknown_action_is_shown_as_its_code():
    assert audit_action_label("something.older") == "something.older"
    with translation.override("en"):
        assert str(audit_action_label("request.reopened")) == "Request reopened"


def test_the_audit_page_shows_labels_and_finds_actions_by_label(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        audit.agency_record(actor=admin, action="sla.holiday")
        audit.agency_record(actor=admin, action="legacy.thing")
    client.force_login(admin)
    url = _url(agency_a, "audit_list")
    text = visible_text(client.get(url).content.decode())
    assert "إضافة عطلة" in text and "sla.holiday" not in text
    assert "legacy.thing" in text
    found = visible_text(client.get(url, {"q": "عطلة"}).content.decode())
    assert "إضافة عطلة" in found and "legacy.thing" not in found
