"""The beneficiary's side: the guidance catalogue and its Arabic-tolerant search, the new
request form (invalid input changes nothing), "My requests" across agencies with filters, and
query counts that do not grow with the number of rows."""

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from frontend.templatetags.ui import field_messages
from notifications.models import Notification
from requests_app.constants import Priority, Status
from requests_app.models import Attachment, Request
from requests_app.public.models import CatalogueEntry, RequestIndex
from requests_app.services import request_resolve, transaction_type_save
from requests_app.services.submission import MAX_ATTACHMENTS
from tenants.models import Agency
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    png_upload,
    reference_counters,
)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def entry_href(agency, request_type) -> str:
    return reverse("guide:entry", kwargs={"agency_slug": agency.slug, "type_id": request_type.pk})


def catalogue_html(client, **params) -> str:
    response = client.get(reverse("guide:catalogue"), params)
    assert response.status_code == 200
    return response.content.decode()


# --- the guidance catalogue -------------------------------------------------------------------


@pytest.fixture
def catalogue(agency_a, agency_b):
    admin_a = make_employee(agency_a, roles=("admin",))
    admin_b = make_employee(agency_b, roles=("admin",))
    family = make_type(
        agency_a,
        actor=admin_a,
        name_ar="تجديد رخصة الأسرة",
        name_en="Family Licence Renewal",
        description_ar="تجديد الرخصة السنوية",
        description_en="Yearly renewal",
    )
    car = make_type(agency_a, actor=admin_a, name_ar="تسجيل سيارة", name_en="Car registration")
    hidden = make_type(
        agency_a, actor=admin_a, name_ar="خدمة موقوفة", name_en="Retired service", is_active=False
    )
    in_beta = make_type(agency_b, actor=admin_b, name_ar="شكوى عامة", name_en="General complaint")
    return {
        "admin_a": admin_a,
        "family": family,
        "car": car,
        "hidden": hidden,
        "in_beta": in_beta,
    }


def test_catalogue_lists_active_types_of_active_agencies(client, catalogue, agency_a, agency_b):
    html = catalogue_html(client)
    for key, agency in (("family", agency_a), ("car", agency_a), ("in_beta", agency_b)):
        assert entry_href(agency, catalogue[key]) in html, key
    assert entry_href(agency_a, catalogue["hidden"]) not in html
    assert "خدمة موقوفة" not in html
    assert client.get(entry_href(agency_a, catalogue["hidden"])).status_code == 404
    assert client.get(entry_href(agency_a, catalogue["family"])).status_code == 200

    # an agency switched off disappears with all its services (update(): the session's Agency
    # objects are shared between tests and must not be changed in memory)
    Agency.objects.filter(pk=agency_b.pk).update(is_active=False)
    html = catalogue_html(client)
    assert entry_href(agency_b, catalogue["in_beta"]) not in html
    assert "شكوى عامة" not in html
    assert entry_href(agency_a, catalogue["family"]) in html
    assert client.get(entry_href(agency_b, catalogue["in_beta"])).status_code == 404
    client.force_login(make_beneficiary())
    new_in_b = reverse("requests:new", kwargs={"agency_slug": agency_b.slug})
    assert client.get(new_in_b).status_code == 404
    choose = client.get(reverse("requests:choose_agency")).content.decode()
    assert reverse("requests:new", kwargs={"agency_slug": agency_a.slug}) in choose
    assert new_in_b not in choose


def test_type_switched_off_leaves_the_catalogue_and_the_form(client, catalogue, agency_a):
    family = catalogue["family"]
    with schema_context(agency_a.schema_name):
        transaction_type_save(
            agency=agency_a,
            actor=catalogue["admin_a"],
            data={"is_active": False},
            request_type=family,
        )
    assert not CatalogueEntry.objects.get(agency=agency_a, type_id=family.pk).is_active
    assert entry_href(agency_a, family) not in catalogue_html(client)
    assert entry_href(agency_a, family) not in catalogue_html(client, q="اسره")
    client.force_login(make_beneficiary())
    form = client.get(reverse("requests:new", kwargs={"agency_slug": agency_a.slug}))
    assert "تجديد رخصة الأسرة" not in form.content.decode()
    assert "تسجيل سيارة" in form.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "اسره",  # no hamza, haa for taa marbuta
        "الاُسرة",  # a diacritic (damma) on a plain alef
        "رخصه",  # taa marbuta written as haa
        "الأسرة",  # as written
        "إسرة",  # another hamza form
        "تَجْدِيد رُخْصَة",  # fully vocalised, two words
        "تجديـــد",  # tatweel
        "family",
        "FAMILY licence",  # English, any case
        "renewal",
        "ألفا",  # the agency's name
    ],
)
def test_catalogue_search_is_tolerant(client, catalogue, agency_a, query):
    html = catalogue_html(client, q=query)
    assert entry_href(agency_a, catalogue["family"]) in html, query
    assert entry_href(agency_a, catalogue["hidden"]) not in html


@pytest.mark.parametrize("query", ["سيارة", "complaint", "رخصة سيارة", "xyz"])
def test_catalogue_search_finds_only_matches(client, catalogue, agency_a, query):
    html = catalogue_html(client, q=query)
    assert entry_href(agency_a, catalogue["family"]) not in html, query


def test_catalogue_filters_by_agency_and_category(client, catalogue, agency_a, agency_b):
    html = catalogue_html(client, agency=agency_b.slug)
    assert entry_href(agency_b, catalogue["in_beta"]) in html
    assert entry_href(agency_a, catalogue["family"]) not in html
    html = catalogue_html(client, category="complaint")
    assert entry_href(agency_a, catalogue["family"]) not in html


# --- the new request form ---------------------------------------------------------------------


def _job_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def _world_state(agency_a, agency_b) -> dict:
    state = {"index": RequestIndex.objects.count(), "jobs": _job_count()}
    state["notifications"] = Notification.objects.count()
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            state[agency.slug] = (
                Request.objects.count(),
                Attachment.objects.count(),
                reference_counters(agency),
            )
    return state


def test_new_request_with_bad_input_creates_nothing(
    client, catalogue, agency_a, agency_b, tmp_path
):
    family = catalogue["family"]
    alpha_ids = set(
        CatalogueEntry.objects.filter(agency=agency_a, is_active=True).values_list(
            "type_id", flat=True
        )
    )
    foreign = catalogue["in_beta"]
    while foreign.pk in alpha_ids:  # type ids are per schema: take one alpha does not have
        foreign = make_type(agency_b)
    client.force_login(make_beneficiary())
    url = reverse("requests:new", kwargs={"agency_slug": agency_a.slug})
    good = {
        "transaction_type": family.pk,
        "subject": "تجديد رخصتي",
        "priority": Priority.NORMAL,
        "description": "أرجو تجديد الرخصة",
    }
    cases = [
        ("empty subject", {**good, "subject": "  "}, "subject"),
        ("no description", {**good, "description": ""}, "description"),
        ("unknown type", {**good, "transaction_type": 99_999_999}, "transaction_type"),
        ("type of another agency", {**good, "transaction_type": foreign.pk}, "transaction_type"),
        ("inactive type", {**good, "transaction_type": catalogue["hidden"].pk}, "transaction_type"),
        ("not a number", {**good, "transaction_type": "abc"}, "transaction_type"),
        ("bad priority", {**good, "priority": "whenever"}, "priority"),
        (
            "too many attachments",
            {**good, "attachments": [png_upload(f"p{n}.png") for n in range(MAX_ATTACHMENTS + 1)]},
            "attachments",
        ),
    ]
    before = _world_state(agency_a, agency_b)
    for label, data, field in cases:
        response = client.post(url, data)
        assert response.status_code == 200, label
        form = response.context["form"]
        assert field in form.errors, (label, form.errors)
        html = response.content.decode()
        # each message shown beside its field, Django's generic "required" replaced by what
        # to enter (GOV.UK): "أدخل الموضوع", never "هذا الحقل مطلوب."
        with translation.override("ar"):
            shown = field_messages(form[field])
            generic = str(forms.Field.default_error_messages["required"])
        assert shown, label
        for message in shown:
            assert escape(message) in html, label
        assert generic not in html, label
        assert _world_state(agency_a, agency_b) == before, label
    assert ar("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS} in html
    private = tmp_path / "private"
    assert not private.exists() or not any(p.is_file() for p in private.rglob("*"))

    # the same form, corrected, goes through "check your answers" (nothing created yet), then
    # the confirmation creates it
    response = client.post(url, {**good, "attachments": [png_upload()]})
    assert response.status_code == 302
    check = reverse("requests:check", kwargs={"agency_slug": agency_a.slug})
    assert response["Location"] == check
    assert _world_state(agency_a, agency_b) == before
    response = client.post(check)
    assert response.status_code == 302
    after = _world_state(agency_a, agency_b)
    assert after["index"] == before["index"] + 1
    assert after[agency_a.slug][0] == before[agency_a.slug][0] + 1


def test_new_request_page_of_unknown_agency_is_404(client, db):
    client.force_login(make_beneficiary())
    assert client.get(reverse("requests:new", kwargs={"agency_slug": "nowhere"})).status_code == (
        404
    )


# --- my requests ------------------------------------------------------------------------------


@pytest.fixture
def inbox(agency_a, agency_b):
    me = make_beneficiary()
    someone = make_beneficiary()
    type_a = make_type(agency_a, name_ar="تجديد رخصة الأسرة", name_en="Family licence")
    type_b = make_type(agency_b, name_ar="شكوى خدمة", name_en="Service complaint")
    family = make_request(
        agency_a,
        beneficiary=me,
        request_type=type_a,
        subject="طلب الأسرة الأول",
        priority=Priority.URGENT,
    )
    closed = make_request(agency_a, beneficiary=me, request_type=type_a, subject="طلب منتهٍ")
    with schema_context(agency_a.schema_name):
        request_resolve(agency=agency_a, request_obj=closed, actor=closed.assignee.user)
    complaint = make_request(agency_b, beneficiary=me, request_type=type_b, subject="شكوى التأخير")
    theirs = make_request(agency_a, beneficiary=someone, request_type=type_a, subject="طلب غيري")
    return {
        "me": me,
        "someone": someone,
        "family": family,
        "closed": closed,
        "complaint": complaint,
        "theirs": theirs,
        "agency_of": {
            "family": agency_a,
            "closed": agency_a,
            "complaint": agency_b,
            "theirs": agency_a,
        },
    }


def row(inbox, key) -> str:
    """The link of one request in the "My requests" table (a search echoes its words, so look
    for the row's link, not the bare reference)."""
    return reverse(
        "requests:detail",
        kwargs={"agency_slug": inbox["agency_of"][key].slug, "reference": inbox[key].reference},
    )


def mine_html(client, **params) -> str:
    response = client.get(reverse("requests:mine"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_my_requests_lists_both_agencies_and_never_someone_elses(client, inbox, agency_a, agency_b):
    client.force_login(inbox["me"])
    html = mine_html(client)
    for key in ("family", "closed", "complaint"):
        assert row(inbox, key) in html, key
    assert row(inbox, "theirs") not in html and "طلب غيري" not in html
    assert agency_a.name_ar in html and agency_b.name_ar in html
    # the JSON list says the same
    data = client.get(reverse("api:api_mine")).json()["requests"]
    assert {(r["agency"], r["reference"]) for r in data} == {
        (agency_a.slug, inbox["family"].reference),
        (agency_a.slug, inbox["closed"].reference),
        (agency_b.slug, inbox["complaint"].reference),
    }
    # and the other person sees only theirs
    other = client.__class__()
    other.force_login(inbox["someone"])
    html = mine_html(other)
    assert row(inbox, "theirs") in html
    for key in ("family", "closed", "complaint"):
        assert row(inbox, key) not in html
    assert client.__class__().get(reverse("api:api_mine")).status_code == 401


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": Status.CLOSED}, {"closed"}),
        ({"status": Status.NEW}, {"family", "complaint"}),
        ({"status": Status.REJECTED}, set()),
        ({"priority": Priority.URGENT}, {"family"}),
        ({"priority": Priority.NORMAL}, {"closed", "complaint"}),
        ({"q": "اسره"}, {"family", "closed"}),  # the type's name, Arabic-tolerant
        ({"q": "الاُسرة الاول"}, {"family"}),  # subject words, diacritics ignored
        ({"q": "complaint"}, {"complaint"}),
        ({"q": "بيتا"}, {"complaint"}),  # the agency's name
        ({"q": "غيري"}, set()),  # another person's subject finds nothing
        ({"status": Status.NEW, "priority": Priority.URGENT, "q": "الأسرة"}, {"family"}),
        ({"agency": "AGENCY_B"}, {"complaint"}),
    ],
)
def test_my_requests_filters(client, inbox, agency_b, params, expected):
    if params.get("agency") == "AGENCY_B":
        params = {"agency": agency_b.pk}
    client.force_login(inbox["me"])
    html = mine_html(client, **params)
    for key in ("family", "closed", "complaint", "theirs"):
        assert (row(inbox, key) in html) == (key in expected), (params, key)


def test_my_requests_search_by_reference(client, inbox):
    client.force_login(inbox["me"])
    html = mine_html(client, q=inbox["complaint"].reference.lower())
    assert row(inbox, "complaint") in html
    assert row(inbox, "family") not in html
    # someone else's reference finds nothing
    assert row(inbox, "theirs") not in mine_html(client, q=inbox["theirs"].reference)


@pytest.mark.parametrize(
    "params",
    [
        {"status": "x"},
        {"priority": "x"},
        {"agency": "x"},
        {"agency": "-1"},
        {"page": "abc"},
        {"page": "0"},
        {"page": "99999"},
        {"sort": "x"},
        {"scope": "x"},
        {"q": "x" * 500},
        {"q": "'; DROP TABLE x; --"},
        # a NUL byte is refused before any view with 400 (tests/portal/test_nul_bytes.py)
    ],
)
def test_my_requests_and_catalogue_survive_garbage(client, inbox, params):
    client.force_login(inbox["me"])
    assert client.get(reverse("requests:mine"), params).status_code == 200
    garbage = {**params, "category": "x", "agency": params.get("agency", "nowhere")}
    assert client.get(reverse("guide:catalogue"), garbage).status_code == 200
    # unknown filter values are ignored, not treated as "nothing matches"
    if set(params) <= {"status", "priority", "sort", "scope"}:
        assert row(inbox, "family") in mine_html(client, **params)


# --- the workspace queue survives garbage too ---------------------------------------------------


@pytest.fixture
def desk(agency_a):
    """An employee who is the only worker of a department of agency A."""
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        department = department_save(actor=admin, name_ar="قسم الطابور", name_en="Queue desk")
    employee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=employee.pk).update(department=department)
    request_type = make_type(agency_a, actor=admin, department=department)
    return {"admin": admin, "employee": employee, "type": request_type}


@pytest.mark.parametrize(
    "params",
    [
        {"state": "x"},
        {"priority": "x"},
        {"sort": "x"},
        {"scope": "x"},
        {"scope": "all"},  # without requests.view_all: their own queue
        {"page": "abc"},
        {"page": "-3"},
        {"q": "%_\\"},
        {"partial": "1", "state": "x", "sort": "x"},
    ],
)
def test_queue_survives_garbage(client, desk, agency_a, params):
    item = make_request(agency_a, request_type=desk["type"])
    client.force_login(desk["employee"])
    response = client.get(reverse("workspace:queue", kwargs={"agency_slug": agency_a.slug}), params)
    assert response.status_code == 200
    if "q" not in params:
        assert item.reference in response.content.decode()


# --- query counts -----------------------------------------------------------------------------


def _queries(client, url, params=None) -> int:
    client.get(url, params or {})  # warm up (session, permissions, content types)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def test_my_requests_query_count_is_constant(client, agency_a, agency_b):
    me = make_beneficiary()
    types = {agency_a: make_type(agency_a), agency_b: make_type(agency_b)}
    agencies = [agency_a, agency_b]
    for n in range(3):
        make_request(agencies[n % 2], beneficiary=me, request_type=types[agencies[n % 2]])
    client.force_login(me)
    url = reverse("requests:mine")
    few = _queries(client, url)
    few_filtered = _queries(client, url, {"status": "new", "q": "طلب"})
    for n in range(27):
        make_request(agencies[n % 2], beneficiary=me, request_type=types[agencies[n % 2]])
    assert RequestIndex.objects.filter(beneficiary=me).count() == 30
    many = _queries(client, url)
    assert many == few, (few, many)
    assert _queries(client, url, {"status": "new", "q": "طلب"}) == few_filtered
    assert _queries(client, url, {"page": "2"}) == few
    api = reverse("api:api_mine")
    assert len(client.get(api).json()["requests"]) == 30
    with CaptureQueriesContext(connection) as captured:
        client.get(api)
    assert len(captured) <= few


def test_catalogue_query_count_is_constant(client, agency_a, agency_b):
    admin_a = make_employee(agency_a, roles=("admin",))
    admin_b = make_employee(agency_b, roles=("admin",))
    for n in range(3):
        make_type(agency_a if n % 2 else agency_b, actor=admin_a if n % 2 else admin_b)
    url = reverse("guide:catalogue")
    few = _queries(client, url)
    few_searched = _queries(client, url, {"q": "خدمة"})
    for n in range(27):
        make_type(agency_a if n % 2 else agency_b, actor=admin_a if n % 2 else admin_b)
    assert CatalogueEntry.objects.filter(is_active=True).count() >= 30
    assert _queries(client, url) == few
    assert _queries(client, url, {"q": "خدمة"}) == few_searched
    # signed in, too
    client.force_login(make_beneficiary())
    signed_in = _queries(client, url)
    make_type(agency_a, actor=admin_a)
    assert _queries(client, url) == signed_in


def test_queue_query_count_is_constant(client, desk, agency_a):
    beneficiaries = [make_beneficiary() for _ in range(3)]
    for n in range(3):
        make_request(agency_a, beneficiary=beneficiaries[n % 3], request_type=desk["type"])
    url = reverse("workspace:queue", kwargs={"agency_slug": agency_a.slug})
    client.force_login(desk["employee"])
    few = _queries(client, url)
    few_partial = _queries(client, url, {"partial": "1", "sort": "due"})
    for _ in range(27):
        make_request(agency_a, beneficiary=make_beneficiary(), request_type=desk["type"])
    with schema_context(agency_a.schema_name):
        mine = Request.objects.filter(assignee__user_id=desk["employee"].pk).count()
    assert mine == 30
    many_html = client.get(url).content.decode()
    assert many_html.count("data-request=") == 30
    assert _queries(client, url) == few
    assert _queries(client, url, {"partial": "1", "sort": "due"}) == few_partial
    # a supervisor's view of everyone's requests is constant as well
    supervisor = make_employee(agency_a, roles=("supervisor",))
    boss = client.__class__()
    boss.force_login(supervisor)
    everyone = _queries(boss, url, {"scope": "all"})
    make_request(agency_a, request_type=desk["type"])
    assert _queries(boss, url, {"scope": "all"}) == everyone
