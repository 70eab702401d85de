"""Bad input answers 400 (or a redirect with a message), never 500; exports are readable in
both languages and safe to open in a spreadsheet; no page's query count grows with the number
of agencies or employees."""

import csv
import html
import io
import re
import shutil
import subprocess
import unicodedata
from datetime import timedelta

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from accounts.models import User
from insights.models import EvaluationSettings
from requests_app.constants import Status
from tenants.models import Agency
from tenants.staff.models import AuditEvent
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    membership_of,
)
from tests.insights.dataset import build, shape
from tests.two_factor import sign_in

OCTOBER = "start=2026-10-01&end=2026-10-31&grain=week"
FIGURE_MSGIDS = [
    ("count", "Received"),
    "Open",
    "Completed",
    "Rejected",
    "Late",
    "Reopened",
    "Completion rate %",
    "Delay rate %",
    "Mean first response (h)",
    "p90 first response (h)",
    "Mean resolution (h)",
    "p90 resolution (h)",
    "Satisfaction (1-5)",
]


def make_oversight() -> User:
    user = make_beneficiary()
    User.objects.filter(pk=user.pk).update(is_oversight=True)
    return User.objects.get(pk=user.pk)


def use_language(client, language: str) -> None:
    """The one-click switch (remembered on the signed-in user's account)."""
    response = client.post(reverse("portal:set_language"), {"language": language, "next": "/"})
    assert response.status_code == 302


def translated(msgid, language: str, **params) -> str:
    """``msgid`` in ``language``; a (context, msgid) pair is looked up with its context."""
    with translation.override(language):
        text = pgettext(*msgid) if isinstance(msgid, tuple) else gettext(msgid)
    return text % params if params else text


def has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


@pytest.fixture
def viewers(agency_a):
    return {"oversight": make_oversight(), "admin": make_employee(agency_a, roles=("admin",))}


def page_url(kind: str, agency) -> str:
    return {
        "dashboard": "/oversight/",
        "agency": f"/oversight/agencies/{agency.slug}/",
        "workspace": f"/a/{agency.slug}/statistics/",
    }[kind]


def viewer_for(kind: str) -> str:
    return "admin" if kind == "workspace" else "oversight"


PAGES = ["dashboard", "agency", "workspace"]

# query, field the error belongs to, msgid, its parameters
BAD_PERIODS = [
    pytest.param(
        "start=2026-10-31&end=2026-10-01&grain=day",
        "end",
        "The end of the period comes before its start.",
        {},
        id="start-after-end",
    ),
    pytest.param(
        "start=2026-02-30&end=2026-03-31&grain=day",
        "start",
        "Enter a valid date.",
        {},
        id="no-such-day",
    ),
    pytest.param(
        "start=2026-10-01&end=tomorrow&grain=day",
        "end",
        "Enter a valid date.",
        {},
        id="unparsable-end",
    ),
    pytest.param(
        "start=2024-01-01&end=2026-01-01&grain=month",
        "start",
        "A period is at most %(days)s days.",
        {"days": 731},
        id="732-days",
    ),
    pytest.param(
        "start=1999-12-01&end=2000-01-31&grain=day",
        "start",
        "Choose a date from the year 2000 on.",
        {},
        id="before-2000",
    ),
    pytest.param(
        "start=2026-10-01&end=2026-10-31&grain=bogus",
        "grain",
        "Select a valid choice. %(value)s is not one of the available choices.",
        {"value": "bogus"},
        id="grain-bogus",
    ),
    pytest.param("end=2026-10-31", "start", "This field is required.", {}, id="start-missing"),
]


def _field_error(page: str, field: str) -> str:
    """The error paragraph of ``field``, after checking the control points to it."""
    error_id = f"id_{field}_error"
    control = re.search(rf'<(?:input|select)[^>]*\bid="id_{field}"[^>]*>', page)
    assert control, f"no control for {field}"
    described = re.search(r'aria-describedby="([^"]*)"', control[0])
    assert described and error_id in described[1].split(), control[0]
    assert 'aria-invalid="true"' in control[0], control[0]
    paragraph = re.search(rf'<p class="[^"]*\berror" id="{error_id}">(.*?)</p>', page, re.S)
    assert paragraph, f"no {error_id}"
    text = re.sub(r'<span class="visually-hidden">[^<]*</span>', "", paragraph[1])
    return html.unescape(text).strip()


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize(("query", "field", "msgid", "params"), BAD_PERIODS)
def test_invalid_period_is_400_with_the_error_on_its_field_in_english(
    client, agency_a, viewers, kind, query, field, msgid, params
):
    sign_in(client, viewers[viewer_for(kind)])
    use_language(client, "en")
    response = client.get(page_url(kind, agency_a) + "?" + query)
    assert response.status_code == 400, response.content[:500]
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert translated(msgid, "en", **params) in _field_error(page, field)
    assert 'role="alert"' in page  # the summary that the last 30 days are shown instead


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize(("query", "field", "msgid", "params"), BAD_PERIODS)
def test_invalid_period_error_is_arabic_on_the_arabic_page(
    client, agency_a, viewers, kind, query, field, msgid, params
):
    sign_in(client, viewers[viewer_for(kind)])
    response = client.get(page_url(kind, agency_a) + "?" + query)
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="ar"' in page
    error = _field_error(page, field)
    arabic = translated(msgid, "ar", **params)
    assert arabic != translated(msgid, "en", **params), f"no Arabic translation of {msgid!r}"
    assert arabic in error
    assert has_arabic(error)


@pytest.mark.parametrize("kind", PAGES)
def test_longest_period_is_accepted(client, agency_a, viewers, kind):
    sign_in(client, viewers[viewer_for(kind)])
    # 2024 is a leap year: 366 + 365 = 731 days
    response = client.get(page_url(kind, agency_a) + "?start=2024-01-01&end=2025-12-31&grain=month")
    assert response.status_code == 200
    assert "_error" not in response.content.decode()


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        *(
            (kind, query)
            for kind in PAGES
            for query in ("export=bogus", "export=", OCTOBER + "&export=bogus")
        ),
        # the drill-downs export one of their tables: an unknown one is no export
        ("agency", "table=bogus&export=csv"),
        ("workspace", "table=bogus&export=xlsx"),
    ],
)
def test_unknown_export_shows_the_page(client, agency_a, viewers, kind, query):
    sign_in(client, viewers[viewer_for(kind)])
    response = client.get(page_url(kind, agency_a) + "?" + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response


# --- monthly reports: a bad month goes back to the page with a message ---------------------


def _next_month() -> str:
    first = timezone.localdate().replace(day=1)
    return (first + timedelta(days=32)).strftime("%Y-%m")


BAD_MONTHS = [
    pytest.param("month=2026-13", "Choose a month (year and month).", id="month-13"),
    pytest.param("month=abc", "Choose a month (year and month).", id="abc"),
    pytest.param("month=2026-00", "Choose a month (year and month).", id="month-0"),
    pytest.param("month=26-1-5", "Choose a month (year and month).", id="three-parts"),
    pytest.param(
        "month=1999-12", "Choose a month that has begun, from the year 2000 on.", id="1999"
    ),
    pytest.param(
        "month=FUTURE", "Choose a month that has begun, from the year 2000 on.", id="future"
    ),
    pytest.param("month=99999-01", None, id="too-long"),
    pytest.param("month=", None, id="empty"),
    pytest.param("", None, id="missing"),
]


@pytest.mark.parametrize("kind", ["oversight", "workspace"])
@pytest.mark.parametrize(("query", "message"), BAD_MONTHS)
def test_bad_month_redirects_with_an_error_message(client, agency_a, viewers, kind, query, message):
    sign_in(client, viewers["oversight" if kind == "oversight" else "admin"])
    use_language(client, "en")
    if kind == "oversight":
        url, back = "/oversight/report/", "/oversight/"
    else:
        url, back = f"/a/{agency_a.slug}/statistics/report/", f"/a/{agency_a.slug}/statistics/"
    response = client.get(url + "?" + query.replace("FUTURE", _next_month()))
    assert response.status_code == 302
    assert response["Location"] == back
    errors = [m for m in get_messages(response.wsgi_request) if m.level == message_levels.ERROR]
    assert len(errors) == 1 and str(errors[0]).strip()
    if message:
        assert message in str(errors[0])
    followed = client.get(back)
    assert followed.status_code == 200
    assert html.escape(str(errors[0]).strip()) in followed.content.decode()


@pytest.mark.parametrize("kind", ["oversight", "workspace"])
def test_current_month_report_is_allowed(client, agency_a, viewers, kind):
    sign_in(client, viewers["oversight" if kind == "oversight" else "admin"])
    url = "/oversight/report/" if kind == "oversight" else f"/a/{agency_a.slug}/statistics/report/"
    response = client.get(url + "?month=" + timezone.localdate().strftime("%Y-%m"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


# --- evaluation settings ------------------------------------------------------------------

SAVED = {
    "weight_response": 40,
    "weight_resolution": 30,
    "weight_lateness": 20,
    "weight_satisfaction": 10,
    "response_target_hours": 10,
    "resolution_target_hours": 100,
    "min_requests": 3,
}
# The satisfaction survey's form, chosen on the same page (kept in the agency's schema).
SHORT_FORM = {"survey_form": "short"}
ZERO_WEIGHTS = {
    "weight_response": 0,
    "weight_resolution": 0,
    "weight_lateness": 0,
    "weight_satisfaction": 0,
}

BAD_SETTINGS = [
    pytest.param(ZERO_WEIGHTS, None, "Give at least one component a weight above zero.", id="zero"),
    pytest.param(
        {"weight_response": -5},
        "weight_response",
        "Ensure this value is greater than or equal to 0.",
        id="negative",
    ),
    pytest.param(
        {"weight_lateness": 101},
        "weight_lateness",
        "Ensure this value is less than or equal to 100.",
        id="over-100",
    ),
    pytest.param({"weight_resolution": 99999999999}, "weight_resolution", None, id="huge"),
    pytest.param(
        {"weight_satisfaction": "abc"},
        "weight_satisfaction",
        "Enter a whole number.",
        id="non-numeric",
    ),
    pytest.param({"weight_response": "12.5"}, "weight_response", None, id="decimal"),
    pytest.param(
        {"response_target_hours": 0},
        "response_target_hours",
        "Ensure this value is greater than or equal to 1.",
        id="target-zero",
    ),
    # GOV.UK pattern: "Enter <what>", not the generic "This field is required."
    pytest.param({"min_requests": ""}, "min_requests", "Enter fewest requests", id="missing"),
]


def _settings_of(agency) -> dict:
    config = EvaluationSettings.objects.get(agency=agency)
    return {name: getattr(config, name) for name in SAVED}


def _audits(agency) -> list[AuditEvent]:
    with schema_context(agency.schema_name):
        return list(AuditEvent.objects.filter(action="statistics.evaluation_settings"))


@pytest.fixture
def saved_settings(client, agency_a, viewers):
    sign_in(client, viewers["admin"])
    use_language(client, "en")
    url = f"/a/{agency_a.slug}/statistics/evaluation/"
    response = client.post(url, {**SAVED, **SHORT_FORM})
    assert response.status_code == 302
    assert _settings_of(agency_a) == SAVED
    return url


@pytest.mark.parametrize(("change", "field", "message"), BAD_SETTINGS)
def test_invalid_evaluation_settings_are_refused(
    client, agency_a, saved_settings, change, field, message
):
    audits = len(_audits(agency_a))
    response = client.post(saved_settings, {**SAVED, **SHORT_FORM, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page
    if field is None:  # a rule over all four weights: the form-wide error
        summary = r'<div class="alert error-summary" role="alert"[^>]*>(.*?)</div>'
        alert = re.search(summary, page, re.S)
        assert alert and message in html.unescape(alert[1])
    else:
        error = _field_error(page, field)
        assert error
        if message:
            assert message in error
    assert _settings_of(agency_a) == SAVED
    assert len(_audits(agency_a)) == audits


def test_valid_evaluation_settings_are_saved_and_audited(client, agency_a, agency_b, viewers):
    admin = viewers["admin"]
    sign_in(client, admin)
    use_language(client, "en")
    url = f"/a/{agency_a.slug}/statistics/evaluation/"
    assert not EvaluationSettings.objects.filter(agency=agency_a).exists()
    new = {**SAVED, **ZERO_WEIGHTS, "weight_satisfaction": 100, "min_requests": 12}
    response = client.post(url, {**new, **SHORT_FORM})
    assert response.status_code == 302 and response["Location"] == url
    assert _settings_of(agency_a) == new
    [event] = _audits(agency_a)
    assert event.actor_id == admin.pk
    assert event.after == new
    assert event.before["weight_satisfaction"] == 25  # the defaults it replaced
    followed = client.get(url)
    assert "The evaluation settings were saved." in followed.content.decode()
    assert _audits(agency_b) == []  # nothing lands in another agency's schema
    assert not EvaluationSettings.objects.filter(agency=agency_b).exists()


def _survey_form(agency) -> str:
    from requests_app.services.survey import survey_form

    with schema_context(agency.schema_name):
        return survey_form()


def test_the_survey_form_is_chosen_in_the_evaluation_settings(client, agency_a, agency_b, viewers):
    """The short form by default; the admin chooses the extended form (the eleven statements)
    on the evaluation settings page: saved in the agency's schema and audited; another
    agency keeps the short form."""
    from requests_app.survey import SurveyKind

    admin = viewers["admin"]
    sign_in(client, admin)
    use_language(client, "ar")
    url = f"/a/{agency_a.slug}/statistics/evaluation/"
    page = client.get(url)
    assert page.context["form"]["survey_form"].value() == "short"
    body = page.content.decode()
    assert 'name="survey_form" value="short"' in body and 'value="extended"' in body
    with translation.override("ar"):
        assert html.escape(str(SurveyKind.EXTENDED.label)) in body
    assert _survey_form(agency_a) == "short"

    response = client.post(url, {**SAVED, "survey_form": "extended"})
    assert response.status_code == 302
    assert _survey_form(agency_a) == "extended"
    assert _survey_form(agency_b) == "short"
    with schema_context(agency_a.schema_name):
        [event] = AuditEvent.objects.filter(action="requests.survey_form")
        assert (event.actor_id, event.before, event.after) == (
            admin.pk,
            {"form": "short"},
            {"form": "extended"},
        )
    assert client.get(url).context["form"]["survey_form"].value() == "extended"

    # saving again without a change adds no survey audit; going back to short is audited
    assert client.post(url, {**SAVED, "survey_form": "extended"}).status_code == 302
    assert client.post(url, {**SAVED, "survey_form": "short"}).status_code == 302
    assert _survey_form(agency_a) == "short"
    with schema_context(agency_a.schema_name):
        assert AuditEvent.objects.filter(action="requests.survey_form").count() == 2


@pytest.mark.parametrize("value", ["", "long", "EXTENDED"])
def test_an_unknown_survey_form_is_refused(client, agency_a, viewers, value):
    sign_in(client, viewers["admin"])
    use_language(client, "ar")
    url = f"/a/{agency_a.slug}/statistics/evaluation/"
    response = client.post(url, {**SAVED, "survey_form": value})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"survey_form"}
    # Django's own message, in Arabic
    assert all(re.search(r"[\u0621-\u064a]", str(e)) for e in errors["survey_form"]), errors
    assert _survey_form(agency_a) == "short"
    assert not EvaluationSettings.objects.filter(agency=agency_a).exists()


# --- exports -------------------------------------------------------------------------------


def _active_agencies(language: str) -> list[str]:
    field = "name_en" if language == "en" else "name_ar"
    return sorted(
        Agency.objects.exclude(schema_name="public")
        .filter(is_active=True)
        .values_list(field, flat=True)
    )


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Disposition"].endswith('.csv"')
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:])))


def _xlsx(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    return book.active


def _sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _same(value):
    """A cell as a comparable value: numbers as numbers (a CSV's "100.0" is the sheet's 100)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _comparable(rows) -> list[list]:
    return [[_same(v) for v in row] for row in rows]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_dashboard_exports_one_row_per_agency(client, agency_a, agency_b, viewers, language):
    make_request(agency_a)
    sign_in(client, viewers["oversight"])
    use_language(client, language)
    header = [translated("Agency", language)] + [translated(m, language) for m in FIGURE_MSGIDS]
    if language == "ar":
        assert has_arabic(header[0])

    rows = _csv_rows(client.get("/oversight/?export=csv"))
    assert rows[0] == header
    assert sorted(row[0] for row in rows[1:]) == _active_agencies(language)
    assert all(len(row) == len(header) for row in rows)
    alpha = next(row for row in rows if row[0] == getattr(agency_a, f"name_{language}"))
    assert alpha[1] == "1"  # received

    sheet = _xlsx(client.get("/oversight/?export=xlsx"))
    assert bool(sheet.sheet_view.rightToLeft) is (language == "ar")
    cells = _sheet_rows(sheet)
    assert cells[0] == header
    assert _comparable(cells[1:]) == _comparable(rows[1:])


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_formula_like_names_are_written_as_text(client, agency_b, viewers, prefix):
    name_ar, name_en = f'{prefix}HYPERLINK("http://x.example";"جهة")', f"{prefix}1+2 Agency"
    Agency.objects.filter(pk=agency_b.pk).update(name_ar=name_ar, name_en=name_en)
    sign_in(client, viewers["oversight"])
    rows = _csv_rows(client.get("/oversight/?export=csv"))
    labels = [row[0] for row in rows[1:]]
    assert "'" + name_ar in labels
    assert name_ar not in labels
    sheet = _xlsx(client.get("/oversight/?export=xlsx"))
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    written = next(c for c in cells if c.value and str(c.value).endswith(name_ar))
    assert written.value == "'" + name_ar
    assert written.data_type == "s"
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    use_language(client, "en")
    labels = [row[0] for row in _csv_rows(client.get("/oversight/?export=csv"))[1:]]
    assert "'" + name_en in labels


@pytest.fixture
def data(agency_a):
    return build(agency_a)


DRILL_DOWN = {
    "departments": ("Department", {"التراخيص", "الخدمات"}, {"Licences", "Services"}),
    "types": ("Service", {"رخصة", "إشعار"}, {"Permit", "Notice"}),
}


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("table", ["departments", "types", "employees"])
@pytest.mark.parametrize("where", ["oversight", "workspace"])
def test_breakdown_exports(client, agency_a, viewers, data, language, table, where):
    sign_in(client, viewers["oversight" if where == "oversight" else "admin"])
    use_language(client, language)
    base = (
        f"/oversight/agencies/{agency_a.slug}/"
        if where == "oversight"
        else f"/a/{agency_a.slug}/statistics/"
    )
    query = f"?{OCTOBER}&table={table}&export="
    if table == "employees":
        first = "Employee"
        with translation.override(language):
            names = {data.employees[e].display_name for e in ("e1", "e2")}
        extra = (["Evaluation (0-100)"] if where == "workspace" else []) + ["Hours present"]
    else:
        first, names_ar, names_en = DRILL_DOWN[table]
        names = names_ar if language == "ar" else names_en
        extra = []
    # the employees' own columns (evaluation, presence) come right after the name
    header = [translated(m, language) for m in [first, *extra, *FIGURE_MSGIDS]]

    rows = _csv_rows(client.get(base + query + "csv"))
    assert rows[0] == header
    assert {row[0] for row in rows[1:]} == names
    received = 1 + len(extra)
    assert sum(int(row[received]) for row in rows[1:]) == 6  # every request of the data set

    sheet = _xlsx(client.get(base + query + "xlsx"))
    assert bool(sheet.sheet_view.rightToLeft) is (language == "ar")
    cells = _sheet_rows(sheet)
    assert cells[0] == header
    assert _comparable(cells[1:]) == _comparable(rows[1:])


def _pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    # Arabic may come out as presentation forms (fold them back to letters) and wrapped in
    # bidirectional embedding marks (drop them); lines and cells are joined by single spaces.
    text = unicodedata.normalize("NFKC", result.stdout.decode("utf-8"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


@pytest.mark.parametrize("where", ["oversight", "workspace"])
def test_monthly_report_pdf(client, agency_a, viewers, data, where):
    sign_in(client, viewers["oversight" if where == "oversight" else "admin"])
    if where == "oversight":
        url, filename = "/oversight/report/?month=2026-10", "report-2026-10.pdf"
    else:
        url = f"/a/{agency_a.slug}/statistics/report/?month=2026-10"
        filename = f"{agency_a.slug}-report-2026-10.pdf"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not checked")
    text = _pdf_text(response.content)
    assert agency_a.name_ar in text, text[:1000]
    assert agency_a.name_en not in text  # the report is in the reader's language (Arabic)


# --- no query per agency or per employee ---------------------------------------------------


def _count_queries(client, url: str) -> int:
    client.get(url)  # warm per-process caches (content types, translations, sessions)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_oversight_dashboard_queries_do_not_grow_with_agencies(client, agency_a, viewers):
    from tenants.services import agency_onboard

    make_request(agency_a)
    sign_in(client, viewers["oversight"])
    url = "/oversight/"
    before = _count_queries(client, url)
    for n in range(1, 7):
        extra = agency_onboard(
            slug=f"extra{n}",
            name_ar=f"جهة إضافية {n}",
            name_en=f"Extra {n}",
            code=f"EXT{n}",
            admin_email=f"admin@extra{n}.example",
        )
        make_request(extra)
    connection.set_schema_to_public()
    page = client.get(url).content.decode()
    assert "جهة إضافية 6" in page
    after = _count_queries(client, url)
    assert after == before


def test_workspace_statistics_queries_do_not_grow_with_employees(client, agency_a, viewers):
    admin = viewers["admin"]
    request_type = make_type(agency_a, actor=admin)
    created = timezone.now() - timedelta(days=1)

    def employees_with_requests(count: int) -> None:
        for _ in range(count):
            employee = make_employee(agency_a)
            item = make_request(agency_a, request_type=request_type)
            shape(
                agency_a,
                item,
                created=created,
                first=created + timedelta(hours=1),
                status=Status.IN_PROGRESS,
                assignee=membership_of(agency_a, employee),
            )

    employees_with_requests(2)
    sign_in(client, admin)
    url = f"/a/{agency_a.slug}/statistics/"
    before = _count_queries(client, url)
    employees_with_requests(6)
    page = client.get(url).content.decode()
    assert len(re.findall(r'<th scope="row">موظف\d+', page)) == 8
    after = _count_queries(client, url)
    assert after == before


def test_an_export_of_an_invalid_period_shows_the_errors_instead(client, db, agency_a):
    from accounts.models import User
    from tests.factories import make_beneficiary

    viewer = make_beneficiary()
    User.objects.filter(pk=viewer.pk).update(is_oversight=True)
    sign_in(client, User.objects.get(pk=viewer.pk))
    response = client.get("/oversight/?start=bad&end=2026-10-31&grain=day&export=csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert 'id="id_start_error"' in response.content.decode()
