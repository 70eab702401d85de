"""Who may open which statistics page, and what each viewer may not see: other agencies'
figures, comments and attachments (R-51), other people's requests, other departments."""

import html
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from insights import urls as insights_urls
from requests_app.constants import Status, Visibility
from requests_app.models import Attachment, Comment, Request
from requests_app.public.models import RequestIndex
from tenants.staff.models import Department, Membership
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    membership_of,
    png_upload,
)
from tests.insights.dataset import DAY, H, build, shape
from tests.two_factor import sign_in

OCTOBER = "?start=2026-10-01&end=2026-10-31&grain=week"


def make_oversight(**fields) -> User:
    user = make_beneficiary(**fields)
    User.objects.filter(pk=user.pk).update(is_oversight=True)
    return User.objects.get(pk=user.pk)


def oversight_paths(agency) -> list[str]:
    base = f"/oversight/agencies/{agency.slug}/"
    return [
        "/oversight/",
        "/oversight/" + OCTOBER,
        "/oversight/" + OCTOBER + "&export=csv",
        "/oversight/?export=xlsx",
        base,
        base + OCTOBER,
        base + "?table=departments&export=csv",
        base + "?table=employees&export=xlsx",
        base + "?table=types&export=csv",
        "/oversight/report/?month=2026-10",
    ]


def workspace_paths(agency) -> list[str]:
    base = f"/a/{agency.slug}/statistics/"
    return [
        base,
        base + OCTOBER,
        base + "?export=csv",
        base + "?table=departments&export=xlsx",
        base + "?table=types&export=csv",
        base + "report/?month=2026-10",
    ]


def evaluation_path(agency) -> str:
    return f"/a/{agency.slug}/statistics/evaluation/"


def login_url() -> str:
    return reverse("account_login")


@pytest.fixture
def people(agency_a, agency_b):
    return {
        "anonymous": None,
        "beneficiary": make_beneficiary(),
        "admin_a": make_employee(agency_a, roles=("admin",)),
        "admin_b": make_employee(agency_b, roles=("admin",)),
        "employee_a": make_employee(agency_a, roles=("employee",)),
        "supervisor_a": make_employee(agency_a, roles=("supervisor",)),
        "oversight": make_oversight(),
    }


def _as(client, people, who):
    if people[who] is not None:
        sign_in(client, people[who])
    return client


# --- the lists above cover every statistics URL ---------------------------------------------


def test_path_lists_cover_every_statistics_url(agency_a):
    names = {resolve(p.split("?")[0]).url_name for p in oversight_paths(agency_a)}
    assert names == {p.name for p in insights_urls.urlpatterns}
    names = {
        resolve(p.split("?")[0]).url_name
        for p in [*workspace_paths(agency_a), evaluation_path(agency_a)]
    }
    assert names == {p.name for p in insights_urls.workspace_urlpatterns}


# --- oversight ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("beneficiary", 403),
        ("admin_a", 403),
        ("supervisor_a", 403),
        ("oversight", 200),
    ],
)
def test_oversight_access_table(client, agency_a, people, who, expected):
    _as(client, people, who)
    for path in oversight_paths(agency_a):
        response = client.get(path)
        assert response.status_code == expected, (who, path, response.status_code)
        if expected == 302:
            assert response["Location"].startswith(login_url()), path


def test_oversight_unknown_agency_is_404(client, people):
    _as(client, people, "oversight")
    assert client.get("/oversight/agencies/does-not-exist/").status_code == 404
    assert client.get("/oversight/agencies/public/").status_code == 404


# --- workspace ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected", "evaluation_expected"),
    [
        ("anonymous", 302, 302),
        ("beneficiary", 403, 403),
        ("oversight", 403, 403),  # an oversight body is no employee of the agency
        ("admin_b", 403, 403),
        ("employee_a", 403, 403),
        ("supervisor_a", 200, 403),
        ("admin_a", 200, 200),
    ],
)
def test_workspace_access_table(client, agency_a, people, who, expected, evaluation_expected):
    _as(client, people, who)
    for path in workspace_paths(agency_a):
        response = client.get(path)
        assert response.status_code == expected, (who, path, response.status_code)
        if expected == 302:
            assert response["Location"].startswith(login_url()), path
    response = client.get(evaluation_path(agency_a))
    assert response.status_code == evaluation_expected, (who, response.status_code)
    if evaluation_expected == 302:
        assert response["Location"].startswith(login_url())


@pytest.mark.parametrize(
    "who", ["anonymous", "beneficiary", "admin_b", "employee_a", "supervisor_a"]
)
def test_evaluation_settings_post_is_refused_and_changes_nothing(client, agency_a, people, who):
    from insights.models import EvaluationSettings

    _as(client, people, who)
    response = client.post(
        evaluation_path(agency_a),
        {
            "weight_response": 100,
            "weight_resolution": 0,
            "weight_lateness": 0,
            "weight_satisfaction": 0,
            "response_target_hours": 1,
            "resolution_target_hours": 1,
            "min_requests": 1,
            "survey_form": "extended",
        },
    )
    assert response.status_code == (302 if who == "anonymous" else 403)
    assert not EvaluationSettings.objects.filter(agency=agency_a).exists()
    from django_tenants.utils import schema_context

    from requests_app.models import SurveySettings

    with schema_context(agency_a.schema_name):
        assert not SurveySettings.objects.exists()  # the beneficiaries' form is unchanged


# --- one agency's workspace never shows another's ------------------------------------------


def _summary_received(page: str) -> int:
    """The first figure of the summary cards (Received)."""
    cards = page.split('class="stat-cards"', 1)[1]
    return int(re.search(r"<dd>\s*(\d+)\s*</dd>", cards)[1])


def _cells(page: str) -> list[str]:
    return [c.strip() for c in re.findall(r"<(?:td|dd)>([^<]*)</(?:td|dd)>", page)]


def _row_labels(page: str) -> list[str]:
    """Labels of the rows of the statistics tables (linked or not)."""
    return [
        html.unescape(label).strip()
        for label in re.findall(r'<th scope="row">(?:<a [^>]*>)?([^<]*)', page)
    ]


BETA_REQUESTS = 11  # distinctive: alpha gets 3


def test_agency_admin_sees_nothing_of_another_agency(client, agency_a, agency_b):
    type_a, type_b = make_type(agency_a), make_type(agency_b)
    for _ in range(3):
        make_request(agency_a, request_type=type_a)
    for _ in range(BETA_REQUESTS):
        make_request(agency_b, request_type=type_b)
    sign_in(client, make_employee(agency_a, roles=("admin",)))
    pages = {"page": client.get(f"/a/{agency_a.slug}/statistics/")}
    assert pages["page"].status_code == 200
    page = pages["page"].content.decode()
    assert _summary_received(page) == 3
    for table in ("employees", "departments", "types"):
        export = client.get(f"/a/{agency_a.slug}/statistics/?table={table}&export=csv")
        assert export.status_code == 200
        pages[table] = export
    for name, response in pages.items():
        text = html.unescape(response.content.decode("utf-8-sig"))
        for beta_name in (agency_b.name_ar, agency_b.name_en, type_b.name_ar, type_b.name_en):
            assert beta_name not in text, (name, beta_name)
    assert str(BETA_REQUESTS) not in _cells(page)
    assert str(BETA_REQUESTS + 3) not in _cells(page)  # nor the platform's total count


# --- the oversight drill-down shows request metadata only -----------------------------

SECRETS = {
    "internal": "ملاحظة-داخلية-سرية-7Q4Z",
    "external": "رد-خارجي-للمستفيد-K9X2",
    "request_file": "wasiqa-talab-5RTY.png",
    "internal_file": "murfaq-dakhili-8WQE.png",
    "external_file": "murfaq-khariji-3PLM.png",
}


def test_oversight_drill_down_shows_metadata_not_comments_or_attachments(client, agency_a):
    from requests_app.services import comment_add

    admin = make_employee(agency_a, roles=("admin",))
    request_type = make_type(agency_a, actor=admin, name_ar="خدمة متأخرة", name_en="Late service")
    item = make_request(
        agency_a, request_type=request_type, attachments=[png_upload(SECRETS["request_file"])]
    )
    with schema_context(agency_a.schema_name):
        comment_add(
            agency=agency_a,
            request_obj=Request.objects.get(pk=item.pk),
            author=admin,
            body=SECRETS["internal"],
            visibility=Visibility.INTERNAL,
            attachments=[png_upload(SECRETS["internal_file"])],
        )
        comment_add(
            agency=agency_a,
            request_obj=Request.objects.get(pk=item.pk),
            author=admin,
            body=SECRETS["external"],
            visibility=Visibility.EXTERNAL,
            attachments=[png_upload(SECRETS["external_file"])],
        )
        # the set-up did store what must stay hidden
        assert set(Comment.objects.filter(request_id=item.pk).values_list("body", flat=True)) == {
            SECRETS["internal"],
            SECRETS["external"],
        }
        assert set(
            Attachment.objects.filter(request_id=item.pk).values_list("original_name", flat=True)
        ) == {SECRETS["request_file"], SECRETS["internal_file"], SECRETS["external_file"]}
    created = timezone.now() - timedelta(days=5)
    late = shape(
        agency_a,
        item,
        created=created,
        first=created + H,
        status=Status.IN_PROGRESS,
        late=True,
        assignee=membership_of(agency_a, admin),
    )
    row = RequestIndex.objects.get(agency=agency_a, request_id=late.pk)
    assert row.is_late and row.status == Status.IN_PROGRESS
    sign_in(client, make_oversight())
    responses = [client.get(f"/oversight/agencies/{agency_a.slug}/")]
    assert responses[0].status_code == 200
    page = html.unescape(responses[0].content.decode())
    assert late.reference in page
    assert "خدمة متأخرة" in page  # the service name is metadata
    for table in ("departments", "employees", "types"):
        for fmt in ("csv", "xlsx"):
            responses.append(
                client.get(f"/oversight/agencies/{agency_a.slug}/?table={table}&export={fmt}")
            )
    for response in responses:
        assert response.status_code == 200
        body = response.content
        for secret in SECRETS.values():
            assert secret.encode() not in body, secret
            assert secret not in html.unescape(body.decode("utf-8", "replace")), secret


# --- a beneficiary's own statistics ---------------------------------------------------------


def _my_rows(page: str) -> dict[str, list[int]]:
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>((?:<td>[^<]*</td>)+)</tr>', page)
    return {
        html.unescape(name): [int(v) for v in re.findall(r"<td>(\d+)</td>", cells)[:5]]
        for name, cells in rows
    }


def test_my_statistics_are_my_own(client, agency_a, agency_b):
    type_a, type_b = make_type(agency_a), make_type(agency_b)
    me, other = make_beneficiary(), make_beneficiary()
    for _ in range(2):
        make_request(agency_a, beneficiary=me, request_type=type_a)
    make_request(agency_b, beneficiary=me, request_type=type_b)
    for _ in range(4):
        make_request(agency_b, beneficiary=other, request_type=type_b)

    sign_in(client, me)
    response = client.get("/me/statistics/")
    assert response.status_code == 200
    rows = _my_rows(response.content.decode())
    # received, open, completed, rejected, late
    assert rows == {agency_a.name_ar: [2, 2, 0, 0, 0], agency_b.name_ar: [1, 1, 0, 0, 0]}

    sign_in(client, other)
    page = client.get("/me/statistics/").content.decode()
    assert _my_rows(page) == {agency_b.name_ar: [4, 4, 0, 0, 0]}
    assert agency_a.name_ar not in page

    sign_in(client, make_beneficiary())
    page = client.get("/me/statistics/").content.decode()
    assert _my_rows(page) == {}


def test_my_statistics_need_login(client, db):
    response = client.get("/me/statistics/")
    assert response.status_code == 302
    assert response["Location"].startswith(login_url())


# --- a supervisor of a department sees its subtree only -------------------------------------


@pytest.fixture
def departments(agency_a):
    """The fixed data set (licences: R1-R3, permits; services: R4-R6, notices) and one more
    request in a department under Licences, from a third beneficiary."""
    data = build(agency_a)
    with schema_context(agency_a.schema_name):
        desk = Department.objects.create(
            name_ar="مكتب الرخص الفرعي",
            name_en="Permits desk",
            parent=data.departments["licences"],
        )
    extra = make_request(agency_a, request_type=data.types["permit"])
    shape(
        agency_a,
        extra,
        created=DAY,
        first=DAY + H,
        status=Status.IN_PROGRESS,
        department=desk,
        assignee=membership_of(agency_a, data.employees["e1"]),
    )
    data.departments["desk"] = desk
    return data


def _supervisor(agency, department, language="en") -> User:
    user = make_employee(agency, roles=("supervisor",))
    with schema_context(agency.schema_name):
        Membership.objects.filter(user_id=user.pk).update(department=department)
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(
    ("department", "received", "departments_seen", "types_seen"),
    [
        ("licences", 4, {"Licences", "Permits desk"}, {"Permit"}),
        ("desk", 1, {"Permits desk"}, {"Permit"}),
        ("services", 3, {"Services"}, {"Notice"}),
        (None, 7, {"Licences", "Permits desk", "Services"}, {"Permit", "Notice"}),
    ],
)
def test_department_supervisor_sees_only_their_subtree(
    client, agency_a, departments, department, received, departments_seen, types_seen
):
    target = departments.departments[department] if department else None
    sign_in(client, _supervisor(agency_a, target))
    response = client.get(f"/a/{agency_a.slug}/statistics/" + OCTOBER)
    assert response.status_code == 200
    page = response.content.decode()
    assert _summary_received(page) == received
    labels = set(_row_labels(page))
    all_departments = {"Licences", "Permits desk", "Services"}
    assert labels & all_departments == departments_seen
    assert labels & {"Permit", "Notice"} == types_seen
    if department is not None:
        assert "Your department and the departments under it." in page
    for table, expected in (("departments", departments_seen), ("types", types_seen)):
        export = client.get(
            f"/a/{agency_a.slug}/statistics/" + OCTOBER + f"&table={table}&export=csv"
        )
        lines = export.content.decode("utf-8-sig").splitlines()[1:]
        names = {line.split(",")[0] for line in lines}
        assert names & (all_departments | {"Permit", "Notice"}) == expected, table


def test_department_supervisor_beneficiary_counts_are_scoped(client, agency_a, departments):
    """The Services supervisor's page must not show the agency-wide count of beneficiaries
    (three people brought requests in October; one of them to Services)."""
    sign_in(client, _supervisor(agency_a, departments.departments["services"]))
    page = client.get(f"/a/{agency_a.slug}/statistics/" + OCTOBER).content.decode()
    shown = re.search(
        r"Beneficiaries in the period: (\d+) \((\d+) for the first time\); (\d+) served", page
    )
    if shown is not None:
        assert (int(shown[1]), int(shown[2]), int(shown[3])) == (1, 1, 1), shown[0]


def test_department_supervisor_monthly_report_is_scoped(client, agency_a, departments):
    """The PDF of the Permits desk's supervisor names neither Licences nor the notices."""
    sign_in(client, _supervisor(agency_a, departments.departments["desk"]))
    response = client.get(f"/a/{agency_a.slug}/statistics/report/?month=2026-10")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: PDF text not checked")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    # Narrow table cells wrap long words, so look for pieces of them.
    assert "desk" in text and "Permit" in text
    assert "Licen" not in text and "Notic" not in text
