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
    # the password's value, not the variable's name
    assert "  password: Demo-Password-123\n" in out.getvalue()
    assert "DEMO_PASSWORD" not in out.getvalue()
    assert "supervisor@moh.demo" in out.getvalue()
    moh = Agency.objects.get(slug="moh")
    assert Agency.objects.filter(slug="riyadh").exists()
    for email in (
        "admin@moh.demo",
        "employee1@moh.demo",
        "employee2@moh.demo",
        "supervisor@moh.demo",
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
        # a supervisor of the department the two employees work in
        supervisor = Membership.objects.get(user__email="supervisor@moh.demo")
        assert list(supervisor.roles.values_list("codename", flat=True)) == ["supervisor"]
        assert supervisor.department.name_en == "Beneficiary Services"
        assert {
            m.department_id for m in Membership.objects.filter(user__email__startswith="employee")
        } == {supervisor.department_id}
        from requests_app.module import Perm
        from tenants.selectors import memberships_holding

        holders = memberships_holding(Perm.SUPERVISE, department_id=supervisor.department_id)
        assert supervisor.pk in {m.pk for m in holders}
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
    # the accounts again, with DEMO_PASSWORD's value
    assert "supervisor@moh.demo" in out.getvalue()
    assert "  password: Demo-Password-123\n" in out.getvalue()


def test_seed_demo_prints_a_random_password_once(db, agencies, settings):
    settings.DEMO_PASSWORD = ""
    settings.DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
    out = StringIO()
    with mock.patch.object(Agency.objects, "exists", return_value=False):
        call_command("seed_demo", stdout=out)
    password = out.getvalue().split("password (shown once): ")[1].split()[0]
    assert User.objects.get(email="supervisor@moh.demo").check_password(password)
    assert "  TOTP secret: JBSWY3DPEHPK3PXP\n" in out.getvalue()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert password not in out.getvalue()  # not kept anywhere: shown once
    assert "password: the one printed when the demo was created" in out.getvalue()
