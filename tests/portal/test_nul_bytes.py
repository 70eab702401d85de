"""Issue 10, point 12: a NUL byte anywhere in a request answers a translated 400 page.

PostgreSQL refuses NUL in text: a NUL in a search parameter or a path segment reached a query
and answered 500. portal.middleware.RejectNulMiddleware refuses such requests before routing,
for every page at once; these tests go through the pages that read query parameters (grep
``GET.get(``) as a user allowed to open each, path segments, and form posts.
"""

from urllib.parse import urlencode

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import Agency
from tenants.staff.models import Department
from tests.factories import make_employee
from tests.two_factor import sign_in

NUL = "%00"

# Every page reading a query parameter, with the parameters it reads.
QUERY_PAGES = [
    ("/", ["q"]),
    ("/guide/", ["q", "category", "agency"]),
    ("/requests/", ["q", "status", "priority", "agency", "page"]),
    ("/requests/documents/", ["q", "page"]),
    ("/requests/new/alpha/", ["type"]),
    ("/notifications/", ["page"]),
    ("/notifications/platform/log/", ["q", "status", "channel"]),
    ("/platform/agencies/", ["q"]),
    ("/oversight/", ["sort", "export", "page", "month"]),
    ("/oversight/agencies/alpha/", ["table", "export"]),
    ("/me/statistics/", ["q"]),
    ("/a/alpha/", ["q"]),
    ("/a/alpha/requests/", ["q", "state", "priority", "sort", "scope", "partial", "page"]),
    ("/a/alpha/archive/", ["reference", "beneficiary", "name", "type", "page"]),
    ("/a/alpha/notifications/", ["page"]),
    ("/a/alpha/notifications/log/", ["q", "status", "channel"]),
    ("/a/alpha/staff/", ["q"]),
    ("/a/alpha/audit/", ["q", "page"]),
    ("/a/alpha/statistics/", ["table", "export"]),
    ("/accounts/login/", ["next"]),  # signed in: redirected home
    ("/accounts/invitation/MQ/abc/", ["agency"]),  # an invalid link: its own 400 page
]
PLAIN_STATUS = {"/accounts/login/": 302, "/accounts/invitation/MQ/abc/": 400}

PATHS = [
    "/%00",
    "/guide/al%00pha/1/",
    "/requests/alpha/ALP-2026-1%00/",
    "/requests/new/al%00pha/",
    "/survey/ab%00cd/",
    "/a/al%00pha/",
    "/a/alpha/requests/1%00/",
    "/a/alpha/staff/%001/",
    "/oversight/agencies/al%00pha/",
    "/api/requests/alpha/ALP%00/",
]


def bad_request_text(language: str = "ar") -> str:
    with translation.override(language):
        return gettext("Bad request")


@pytest.fixture
def everyone(agency_a):
    """One person allowed everywhere: agency admin, oversight user and platform operator."""
    user = make_employee(agency_a, roles=("admin",))
    User.objects.filter(pk=user.pk).update(is_oversight=True, is_staff=True)
    user.refresh_from_db()
    return user


def assert_bad_request(response, language="ar"):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.content.decode()
    assert bad_request_text(language) in body
    assert bad_request_text(language) != "Bad request" or language == "en"  # translated


@pytest.mark.parametrize("page,parameters", QUERY_PAGES, ids=[p for p, _ in QUERY_PAGES])
def test_nul_in_any_query_parameter_is_refused(client, everyone, page, parameters):
    sign_in(client, everyone)
    # a page this person may open (so the view would run)
    assert client.get(page).status_code == PLAIN_STATUS.get(page, 200)
    for name in parameters:
        assert_bad_request(client.get(f"{page}?{name}=a{NUL}b"))
    assert_bad_request(client.get(f"{page}?a{NUL}b=1"))  # in a parameter's name too


@pytest.mark.parametrize("path", PATHS)
def test_nul_in_a_path_segment_is_refused(client, everyone, path):
    sign_in(client, everyone)
    assert_bad_request(client.get(path))


def test_the_page_follows_the_visitors_language(client, db):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert_bad_request(client.get(f"/guide/?q=a{NUL}b"), language="en")


def test_nul_in_a_posted_field_is_refused_and_changes_nothing(client, everyone, agency_a):
    sign_in(client, everyone)
    agencies = Agency.objects.count()
    with schema_context(agency_a.schema_name):
        departments = Department.objects.count()
    users = User.objects.count()
    posts = [
        (
            "/a/alpha/departments/",
            {"name_ar": "قسم\x00جديد", "name_en": "New department"},
        ),
        (
            "/platform/agencies/",
            {"slug": "gamma", "name_ar": "جهة", "name_en": "Gamma\x00", "code": "GAM"},
        ),
        ("/language/", {"language": "en\x00", "next": "/"}),
        ("/requests/new/alpha/", {"subject": "a\x00b", "description": "text"}),
    ]
    for url, data in posts:
        assert_bad_request(client.post(url, data))
        # multipart (the default of the test client) and url-encoded forms alike
        assert_bad_request(
            client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
        )
    client.logout()
    signup = {"email": "nul\x00@example.sa", "password1": "x", "password2": "x"}
    assert_bad_request(client.post("/accounts/signup/", signup))
    assert Agency.objects.count() == agencies
    with schema_context(agency_a.schema_name):
        assert Department.objects.count() == departments
    assert User.objects.count() == users


def test_ordinary_requests_are_untouched(client, everyone):
    sign_in(client, everyone)
    assert client.get("/guide/?q=ab").status_code == 200
    assert client.get("/a/alpha/staff/?q=%25").status_code == 200


@pytest.mark.parametrize("path", ["/", "/requests/", "/notifications/", "/a/alpha/"])
def test_nul_in_a_cookie_or_header_is_refused(client, agency_a, path):
    # Python's cookie parser turns "\000" inside quotes into a real NUL byte.
    response = client.get(path, HTTP_COOKIE='sessionid="abcdefghij\\000klmnop"')
    assert_bad_request(response)
    assert_bad_request(client.get(path, HTTP_X_SEARCH="a\x00b"))


def test_a_session_key_with_a_nul_is_no_session(db):
    """Also for the websocket handshake, which reads the session without the middleware."""
    from portal.sessions import SessionStore

    for key in ("abcdefghij\x00klmnop", "abcdefghij klmnop", "abcdefghij'klmnop"):
        session = SessionStore(session_key=key)
        assert session.load() == {}  # no query with the bad key: no database error
        assert session.session_key is None
    real = SessionStore()
    real["x"] = 1
    real.save()
    assert SessionStore(session_key=real.session_key).load() == {"x": 1}
