import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import make_beneficiary


def test_arabic_is_default_and_rtl(client, db):
    html = client.get("/").content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "معاملات" in html


def test_english_with_one_click_is_remembered(client, db):
    response = client.post(reverse("portal:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en" dir="ltr">' in html


def test_language_is_remembered_per_user(client, db):
    user = make_beneficiary(preferred_language="ar")
    client.force_login(user)
    client.post(reverse("portal:set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.preferred_language == "en"
    other_device = client.__class__()
    other_device.force_login(User.objects.get(pk=user.pk))
    assert '<html lang="en" dir="ltr">' in other_device.get("/").content.decode()


def test_language_switch_refuses_offsite_redirect_and_unknown_language(client, db):
    response = client.post(
        reverse("portal:set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert '<html lang="ar"' in client.get("/").content.decode()


def test_healthz_reports_database_and_channel_layer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


@pytest.mark.parametrize("backend", ["pubsub", "lists"])
def test_healthz_reports_unreachable_channel_layer(client, db, settings, backend):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[backend],
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"].startswith("error")


def test_browser_language_does_not_override_arabic_default(client, db):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_account_pages_use_the_portal_layout(client, db):
    for url in (
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
    ):
        html = client.get(url).content.decode()
        assert '<html lang="ar" dir="rtl">' in html, url
        assert "frontend/build/muamalat.rtl" in html, url


def test_huge_object_ids_answer_404_not_500(client, agency_a):
    from tests.factories import make_employee

    client.force_login(make_employee(agency_a, roles=("admin",)))
    huge = "9" * 30
    for path in (
        f"/a/{agency_a.slug}/staff/{huge}/",
        f"/a/{agency_a.slug}/requests/{huge}/",
        f"/a/{agency_a.slug}/departments/{huge}/",
        f"/requests/{agency_a.slug}/X/files/{huge}/",
        f"/a/{agency_a.slug}/staff/999999999999999999/",
    ):
        assert client.get(path).status_code == 404, path


def test_huge_or_foreign_digit_ids_in_queries_are_ignored(client, agency_a):
    from tests.factories import make_beneficiary

    client.force_login(make_beneficiary())
    for path in (
        "/requests/?agency=" + "9" * 30,
        "/requests/?agency=١٢",
        f"/requests/new/{agency_a.slug}/?type=" + "9" * 30,
    ):
        assert client.get(path).status_code == 200, path
