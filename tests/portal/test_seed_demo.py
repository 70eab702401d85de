from io import StringIO
from unittest import mock

from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import User
from requests_app.models import Request
from requests_app.public.models import CatalogueEntry, RequestIndex
from tenants.models import Agency

FINANCE = ("accountant@moh.demo", "reviewer@moh.demo", "cfo@moh.demo")


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
    from portal.management.commands.seed_demo import Command

    settings.DEMO_PASSWORD = ""
    settings.DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
    out = StringIO()
    # (a demo created before the meetings existed: no board)
    with (
        mock.patch.object(Agency.objects, "exists", return_value=False),
        mock.patch.object(Command, "_meetings"),
        mock.patch.object(Command, "_finance"),
    ):
        call_command("seed_demo", stdout=out)
    password = out.getvalue().split("password (shown once): ")[1].split()[0]
    assert User.objects.get(email="supervisor@moh.demo").check_password(password)
    assert "  TOTP secret: JBSWY3DPEHPK3PXP\n" in out.getvalue()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert password not in out.getvalue()  # not kept anywhere: shown once
    assert "password: the one printed when the demo was created" in out.getvalue()
    # the re-run gave the older demo its board and meetings, and its finance, once
    assert "demo board and meetings added" in out.getvalue()
    assert "demo finance added" in out.getvalue()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "demo board and meetings added" not in out.getvalue()
    assert "demo finance added" not in out.getvalue()
    assert User.objects.filter(email="cfo@moh.demo").count() == 1
    from meetings.models import Meeting

    with schema_context(Agency.objects.get(slug="moh").schema_name):
        assert Meeting.objects.count() == 2


def test_seed_demo_creates_the_board_and_its_meetings(db, agencies, settings):
    """The demo board: a closed past meeting (attendance, a named and a secret poll with their
    results, approved minutes, one open and one late decision) and an upcoming announced one,
    listed in the outside member's "My meetings"; made through the services, so the secret
    poll keeps no choice per voter. Adding it again (a re-run) changes nothing."""
    from django.utils import timezone

    from meetings.constants import MeetingStatus, MemberRole, Presence
    from meetings.models import Body, Meeting
    from meetings.models_minutes import Decision, Minutes, MinutesStatus
    from meetings.models_voting import Poll, PollResult, PollStatus, PollVoter
    from meetings.selectors_schedule import PAST, my_meetings

    settings.DEMO_PASSWORD = "Demo-Password-123"
    settings.DEMO_TOTP_SECRET = ""
    with mock.patch.object(Agency.objects, "exists", return_value=False):
        call_command("seed_demo", stdout=StringIO())
    moh = Agency.objects.get(slug="moh")
    now = timezone.now()
    with schema_context(moh.schema_name):
        board = Body.objects.get(name_ar="مجلس الإدارة")
        roles = {m.user.email: (m.role, m.weight) for m in board.members.select_related("user")}
        assert roles["employee1@moh.demo"][0] == MemberRole.CHAIR
        assert roles["supervisor@moh.demo"][0] == MemberRole.SECRETARY
        assert roles["beneficiary@demo.sa"][0] == MemberRole.MEMBER
        assert roles["employee2@moh.demo"][1] == 2
        past, upcoming = Meeting.objects.filter(body=board).order_by("starts_at")
        assert past.status == MeetingStatus.CLOSED and past.ends_at < now
        assert past.started_at < past.closed_at < now
        assert past.agenda.count() == 3
        assert set(past.participants.values_list("presence", flat=True)) == {Presence.PRESENT}
        assert upcoming.status == MeetingStatus.SCHEDULED and upcoming.starts_at > now
        assert upcoming.agenda.exists()
        polls = {p.is_secret: p for p in Poll.objects.filter(meeting=past)}
        assert {p.status for p in polls.values()} == {PollStatus.CLOSED}
        for p in polls.values():
            result = PollResult.objects.get(poll=p)
            assert result.carried and result.voters == 4 and result.quorum_reached
        named = PollVoter.objects.filter(poll=polls[False])
        assert all(v.choices for v in named)
        # the secret poll: who voted, never what
        secret = PollVoter.objects.filter(poll=polls[True])
        assert secret.count() == 4
        assert all(v.choices is None for v in secret)
        minutes = Minutes.objects.get(meeting=past)
        assert minutes.status == MinutesStatus.APPROVED
        today = timezone.localdate()
        due = sorted(Decision.objects.filter(meeting=past).values_list("due_date", flat=True))
        assert due[0] < today < due[1]
        assert not Decision.objects.filter(meeting=upcoming).exists()
        assert Meeting.objects.count() == 2
    beneficiary = User.objects.get(email="beneficiary@demo.sa")
    assert [m.meeting_id for m in my_meetings(user=beneficiary)] == [upcoming.pk]
    assert [m.meeting_id for m in my_meetings(user=beneficiary, when=PAST)] == [past.pk]
    out = StringIO()
    call_command("seed_demo", stdout=out)  # re-run: nothing added
    assert "demo board and meetings added" not in out.getvalue()
    with schema_context(moh.schema_name):
        assert Body.objects.count() == 1 and Meeting.objects.count() == 2


def test_seed_demo_creates_the_finance_of_the_demo_agency(db, agencies, settings):
    """Finance users (with the demo password) holding their permissions through roles, a chain
    of two levels and a final one per voucher type, budgets, and vouchers at every stage, made
    through the services: each posted voucher balances in the ledger, the reversal nets the
    original out, the returned and rejected ones carry their reasons. A re-run adds nothing."""
    from decimal import Decimal

    from django.db.models import Sum

    from finance.models import BudgetLine, LedgerLine, Voucher
    from finance.models_review import ReviewChain, ReviewDecision
    from finance.reports.scope import ReportScope
    from finance.reports.selectors import budget_against_actual
    from tenants.selectors import effective_permissions
    from tenants.staff.models import Membership

    settings.DEMO_PASSWORD = "Demo-Password-123"
    settings.DEMO_TOTP_SECRET = ""
    out = StringIO()
    with mock.patch.object(Agency.objects, "exists", return_value=False):
        call_command("seed_demo", stdout=out)
    for email in FINANCE:
        assert email in out.getvalue()
        assert User.objects.get(email=email).check_password("Demo-Password-123"), email
    moh = Agency.objects.get(slug="moh")
    with schema_context(moh.schema_name):
        finance_people = Membership.objects.filter(user__email__in=FINANCE).select_related("user")
        grants = {m.user.email: effective_permissions(m) for m in finance_people}
        # through roles of the agency, not single grants
        assert all(m.roles.exists() and not m.granted_permissions for m in finance_people)
        assert "finance.enter" in grants["accountant@moh.demo"]
        assert "finance.review" not in grants["accountant@moh.demo"]
        assert "finance.review" in grants["reviewer@moh.demo"]
        assert {"finance.approve", "finance.reports"} <= grants["cfo@moh.demo"]
        assert "finance.enter" not in grants["cfo@moh.demo"]
        chains = ReviewChain.objects.prefetch_related("levels")
        assert {c.voucher_type for c in chains} == {"payment", "receipt", "journal"}
        assert all(c.levels.count() == 3 for c in chains)
        assert BudgetLine.objects.count() == 2
        vouchers = Voucher.objects.all()
        statuses = sorted(v.status for v in vouchers)
        assert statuses.count("draft") == 1
        assert statuses.count("returned") == 1 and statuses.count("rejected") == 1
        assert statuses.count("posted") == 4  # payment, receipt, the mistaken one, its reversal
        waiting = sorted(
            v.review_steps.filter(
                round=v.review_round, completed_at__isnull=True, started_at__isnull=False
            )
            .get()
            .position
            for v in vouchers.filter(status="in_review")
        )
        assert waiting == [1, 3]  # at the first level, and at final approval
        reversal = Voucher.objects.get(reverses__isnull=False)
        assert reversal.status == "posted" and reversal.reverses.status == "posted"
        for voucher in vouchers.filter(status="posted"):
            sums = LedgerLine.objects.filter(voucher=voucher).aggregate(
                d=Sum("debit"), c=Sum("credit")
            )
            assert sums["d"] == sums["c"] == voucher.total
        reasons = set(
            ReviewDecision.objects.filter(action__in=["return", "reject"]).values_list(
                "reason", flat=True
            )
        )
        assert len(reasons) == 2 and all(reasons)
        # budget against actual: the office supplies waiting in review are not actual yet and
        # the mistaken 1500 is cancelled by its reversal: nothing on 5204; the rent is posted
        year = reversal.fiscal_year
        report = budget_against_actual(
            scope=ReportScope(fiscal_year=year, start=year.start, end=year.end)
        )
        actual = {row.account.code: row.actual for row in report.rows}
        assert actual["5204"] == 0 and actual["5201"] == Decimal("60000.00")
        count = Voucher.objects.count()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "demo finance added" not in out.getvalue()
    with schema_context(moh.schema_name):
        assert Voucher.objects.count() == count
