from io import StringIO
from unittest import mock

from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import User
from requests_app.models import Request
from requests_app.public.models import CatalogueEntry, RequestIndex
from tenants.models import Agency


def test_seed_demo_creates_the_demo_platform_once(db, agencies, settings):
    settings.DEMO_PASSWORD = "Demo-Password-123"
    settings.DEMO_TOTP_SECRET = ""
    out = StringIO()
    # The demo is created only on a platform without agencies; the test agencies exist, so
    # the emptiness check is made to answer "empty" once.
    with mock.patch.object(Agency.objects, "exists", return_value=False):
        call_command("seed_demo", stdout=out)
    assert "demo platform created" in out.getvalue()
    assert "password: DEMO_PASSWORD" in out.getvalue()
    moh = Agency.objects.get(slug="moh")
    assert Agency.objects.filter(slug="riyadh").exists()
    for email in (
        "admin@moh.demo",
        "employee1@moh.demo",
        "employee2@moh.demo",
        "beneficiary@demo.sa",
        "oversight@demo.sa",
        "operator@demo.sa",
    ):
        assert User.objects.get(email=email).check_password("Demo-Password-123"), email
    assert User.objects.get(email="oversight@demo.sa").is_oversight
    # operator and oversight must use two-factor sign-in: a TOTP secret, printed once
    from allauth.mfa.models import Authenticator

    secret = out.getvalue().split("TOTP secret (shown once): ")[1].split()[0]
    for email in ("operator@demo.sa", "oversight@demo.sa"):
        totp = Authenticator.objects.get(user__email=email, type="totp")
        assert totp.wrap().instance.data["secret"] == secret
        assert Authenticator.objects.filter(user__email=email, type="recovery_codes").exists()
    assert CatalogueEntry.objects.filter(agency=moh).count() == 3
    from allauth.account.models import EmailAddress

    from tenants.staff.models import Membership

    with schema_context(moh.schema_name):  # the demo accepted its own invitations
        admin = Membership.objects.get(user__email="admin@moh.demo")
        assert list(admin.roles.values_list("codename", flat=True)) == ["admin"]
        assert Membership.objects.filter(user__email__startswith="employee").count() == 2
    assert EmailAddress.objects.get(email="admin@moh.demo").verified
    with schema_context(moh.schema_name):
        item = Request.objects.filter(description__startswith="أحتاج").get()
        assert item.assignee is not None
        # past requests for the statistics pages, with outcomes
        assert Request.objects.count() == 46
        assert Request.objects.filter(status="closed").exists()
    assert RequestIndex.objects.filter(agency=moh, reference=item.reference).exists()
    from insights.models import AgencyDailyStat

    days = AgencyDailyStat.objects.filter(agency=moh)
    assert sum(days.values_list("received", flat=True)) == 46
    assert sum(days.values_list("completed", flat=True)) > 0
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "reusing" in out.getvalue()
