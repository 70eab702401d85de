"""Demo platform for `make run`: two agencies, an admin, a supervisor of a department, two
employees in it, a beneficiary and an oversight user, the board of the Ministry of Health
with a past meeting (votes, minutes, decisions) and an upcoming one, and its finance (an
accountant, a reviewer and a finance manager, a review chain, budgets, vouchers at every stage).
Runs only when there is no agency yet (the board and the finance are added once to a demo
created before them); passwords are DEMO_PASSWORD or random (printed once). Every run prints
the demo accounts."""

import secrets
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import schema_context

from accounts.identity import luhn_complete
from accounts.models import User
from tenants.models import Agency
from tenants.services import (
    agency_onboard,
    department_save,
    employee_invite,
    invitation_accept_new_account,
)
from tenants.staff.models import Role


class Command(BaseCommand):
    help = "Create the demo platform when the database has no agency."

    def handle(self, *args, **options):
        if Agency.objects.exists():
            self.stdout.write("[muamalat] demo data present; reusing it")
            if self._meetings_missing():
                with transaction.atomic():
                    self._meetings()
                self.stdout.write("[muamalat] demo board and meetings added")
            if self._finance_missing():
                with transaction.atomic():
                    self._finance(interim=secrets.token_urlsafe(16))
                    self._demo_passwords(settings.DEMO_PASSWORD, self.FINANCE_EMAILS)
                self.stdout.write("[muamalat] demo finance added")
            self.stdout.write(self._accounts(password=settings.DEMO_PASSWORD or None))
            return
        # Invitation emails of the demo accounts would only bury the password below.
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        password = settings.DEMO_PASSWORD or secrets.token_urlsafe(12)
        # Accepting an invitation validates the password; DEMO_PASSWORD is set on every demo
        # account at the end instead, whatever its strength.
        interim = secrets.token_urlsafe(16)
        with transaction.atomic():
            moh = agency_onboard(
                slug="moh",
                name_ar="وزارة الصحة",
                name_en="Ministry of Health",
                code="MOH",
                admin_email="admin@moh.demo",
                admin_first_name_ar="سارة",
                admin_family_name_ar="العتيبي",
                admin_first_name_en="Sara",
                admin_family_name_en="Alotaibi",
            )
            invitation_accept_new_account(
                agency=moh, token=moh.admin_invitation.token, password=interim
            )
            riyadh = agency_onboard(
                slug="riyadh",
                name_ar="أمانة منطقة الرياض",
                name_en="Riyadh Region Municipality",
                code="RYD",
                admin_email="admin@riyadh.demo",
                admin_first_name_ar="فهد",
                admin_family_name_ar="القحطاني",
                admin_first_name_en="Fahad",
                admin_family_name_en="Alqahtani",
            )
            invitation_accept_new_account(
                agency=riyadh, token=riyadh.admin_invitation.token, password=interim
            )
            admin = User.objects.get(email="admin@moh.demo")
            with schema_context(moh.schema_name):
                department = department_save.within(
                    actor=admin, name_ar="خدمة المستفيدين", name_en="Beneficiary Services"
                )
                employee_role = Role.objects.get(codename="employee")
                supervisor_role = Role.objects.get(codename="supervisor")
                staff = [
                    # The department's supervisor, then its two employees.
                    ("supervisor@moh.demo", "ريم", "Reem", "الحربي", "Alharbi", supervisor_role),
                    ("employee1@moh.demo", "خالد", "Khalid", "الدوسري", "Aldosari", employee_role),
                    ("employee2@moh.demo", "نورة", "Noura", "الدوسري", "Aldosari", employee_role),
                ]
                for email, *names, role in staff:
                    self._employee(moh, admin, department, role, email, names, interim)
            self._catalogue(moh, admin, department)
            beneficiary = User(
                email="beneficiary@demo.sa",
                first_name_ar="محمد",
                father_name_ar="عبدالله",
                family_name_ar="الشمري",
                first_name_en="Mohammed",
                father_name_en="Abdullah",
                family_name_en="Alshammari",
                birth_date=date(1990, 5, 17),
                birth_calendar="gregorian",
                location=User.INSIDE,
                mobile="+966501234567",
                mobile_verified=True,
            )
            beneficiary.set_identity("national_id", luhn_complete("100000000"))
            beneficiary.save()
            from requests_app.models import TransactionType
            from requests_app.services import request_submit

            with schema_context(moh.schema_name):
                first_type = TransactionType.objects.order_by("id").first()
            request_submit(
                agency=moh,
                beneficiary=beneficiary,
                transaction_type_id=first_type.pk,
                subject="تقرير طبي لمراجعة العمل",
                description="أحتاج تقريراً طبياً عن زيارتي الأخيرة للمستشفى.",
            )
            self._history(beneficiary)
            self._meetings()
            self._finance(interim=interim)
            User.objects.create_user(
                "oversight@demo.sa",
                first_name_ar="هيئة",
                family_name_ar="الرقابة",
                first_name_en="Oversight",
                family_name_en="Authority",
                is_oversight=True,
            )
            operator = User.objects.create_user(
                "operator@demo.sa",
                first_name_en="Platform",
                family_name_en="Operator",
                is_staff=True,
            )
            totp_secret = self._two_factor(operator, "oversight@demo.sa")
            for user in (
                User.objects.filter(email__endswith=".demo")
                | User.objects.filter(pk__in=[beneficiary.pk, operator.pk])
                | User.objects.filter(email="oversight@demo.sa")
            ):
                user.set_password(password)
                user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS("[muamalat] demo platform created"))
        self.stdout.write(
            self._accounts(
                password=password,
                shown_once=not settings.DEMO_PASSWORD,
                identity=beneficiary.identity_number,
                totp_secret=totp_secret,
            )
        )

    @staticmethod
    def _employee(
        agency: Agency,
        admin: User,
        department,
        role: Role,
        email: str,
        names: list[str],
        interim: str,
    ) -> None:
        """An employee of ``agency`` in ``department`` with ``role``, invited by ``admin``;
        ``names``: (first name in Arabic, in English, family name in Arabic, in English). The
        demo accepts its own invitation (password ``interim``), as the emailed link would."""
        first_ar, first_en, family_ar, family_en = names
        invitation = employee_invite(
            agency=agency,
            email=email,
            names={
                "first_name_ar": first_ar,
                "family_name_ar": family_ar,
                "first_name_en": first_en,
                "family_name_en": family_en,
            },
            department=department,
            roles=[role],
            actor=admin,
        )
        invitation_accept_new_account(agency=agency, token=invitation.token, password=interim)

    @staticmethod
    def _accounts(
        *,
        password: str | None,
        shown_once: bool = False,
        identity: str = "",
        totp_secret: str = "",
    ) -> str:
        """The demo accounts and how to sign in. The password and TOTP secret are printed as
        their values: DEMO_PASSWORD/DEMO_TOTP_SECRET when set (every run), else the random
        ones of the first run only (``None``: not known any more)."""
        if password is None:
            password_line = (
                "  password: the one printed when the demo was created (or set DEMO_PASSWORD)\n"
            )
        else:
            password_line = f"  password{' (shown once)' if shown_once else ''}: {password}\n"
        totp_secret = totp_secret or settings.DEMO_TOTP_SECRET
        if totp_secret:
            secret_once = " (shown once)" if not settings.DEMO_TOTP_SECRET else ""
            totp_line = f"  TOTP secret{secret_once}: {totp_secret}\n"
        else:
            totp_line = "  TOTP secret: the one printed when the demo was created\n"
        return (
            "  agencies: /a/moh/ (Ministry of Health), /a/riyadh/ (Riyadh Region Municipality)\n"
            "  agency admin: admin@moh.demo   supervisor of Beneficiary Services: "
            "supervisor@moh.demo\n"
            "  employees: employee1@moh.demo, employee2@moh.demo\n"
            f"  beneficiary: beneficiary@demo.sa{f' (identity {identity})' if identity else ''}\n"
            "  oversight: oversight@demo.sa   platform operator: operator@demo.sa\n"
            "  board of the Ministry of Health (/a/moh/meetings/): chair employee1@moh.demo,\n"
            "  secretary supervisor@moh.demo, outside member beneficiary@demo.sa (My meetings)\n"
            "  finance (/a/moh/finance/vouchers/): accountant@moh.demo enters vouchers,\n"
            "  reviewer@moh.demo reviews (level 1), admin@moh.demo (level 2), cfo@moh.demo gives\n"
            "  final approval and sees the reports\n"
            + password_line
            + "  operator and oversight sign in with two-factor: add the TOTP secret below to\n"
            "  an authenticator app, or print the current code with\n"
            "  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"\n"
            + totp_line
            + (
                f"  SMS codes and emails sent (developer outbox): {settings.SITE_URL}/dev/outbox/\n"
                if settings.DEBUG
                else ""
            )
        )

    def _two_factor(self, *users_or_emails) -> str:
        """The platform requires two-factor sign-in of operators and oversight users: give
        the demo ones a TOTP authenticator (one secret for both) and recovery codes."""
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        secret = settings.DEMO_TOTP_SECRET or generate_totp_secret()
        for item in users_or_emails:
            user = item if isinstance(item, User) else User.objects.get(email=item)
            TOTP.activate(user, secret)
            RecoveryCodes.activate(user)
        return secret

    def _history(self, beneficiary: User) -> None:
        """Six weeks of past requests in both agencies, so the statistics pages have figures:
        submitted through the service, then given past times and outcomes as the services
        would have left them, and mirrored to the index (and so to the rollups)."""
        import random
        from datetime import timedelta

        from django.utils import timezone

        from requests_app.constants import Status
        from requests_app.models import Request, StatusPause, SurveyResponse, TransactionType
        from requests_app.services import request_submit
        from requests_app.services.index import index_sync

        rng = random.Random(2026)
        now = timezone.now()
        for agency in Agency.objects.filter(slug__in=["moh", "riyadh"]).order_by("slug"):
            with schema_context(agency.schema_name):
                types = list(TransactionType.objects.order_by("id"))
            for _ in range(45 if agency.slug == "moh" else 25):
                kind = rng.choice(types)
                item = request_submit(
                    agency=agency,
                    beneficiary=beneficiary,
                    transaction_type_id=kind.pk,
                    subject=kind.name_ar,
                    description="طلب سابق (بيانات تجريبية).",
                )
                created = now - timedelta(days=rng.uniform(1, 42))
                first = created + timedelta(hours=rng.uniform(0.2, 20))
                outcome = rng.choices(["closed", "rejected", "open"], [70, 10, 20])[0]
                closed = first + timedelta(hours=rng.uniform(1, 120))
                if closed >= now:
                    outcome = "open"
                late = closed - created > timedelta(hours=kind.expected_duration_hours)
                with schema_context(agency.schema_name):
                    fields = {"created_at": created, "first_response_at": first}
                    if outcome == "open":
                        fields.update(status=Status.IN_PROGRESS, is_late=rng.random() < 0.3)
                    else:
                        fields.update(
                            status=Status.CLOSED if outcome == "closed" else Status.REJECTED,
                            closed_at=closed,
                            is_late=late,
                        )
                    Request.objects.filter(pk=item.pk).update(**fields)
                    if outcome != "open" and rng.random() < 0.2:
                        start = first + timedelta(hours=1)
                        StatusPause.objects.create(
                            request_id=item.pk,
                            status=Status.AWAITING_BENEFICIARY,
                            started_at=start,
                            ended_at=min(start + timedelta(hours=rng.uniform(2, 30)), closed),
                        )
                    if outcome == "closed" and rng.random() < 0.6:
                        # The short form (the default): an overall rating, sometimes details.
                        overall = rng.choice([3, 4, 4, 5, 5])
                        SurveyResponse.objects.create(
                            request_id=item.pk,
                            transaction_type_id=kind.pk,
                            assignee_id=item.assignee_id,
                            form="short",
                            overall=overall,
                            ease=rng.choice([None, 3, 4, 5]),
                            speed=rng.choice([None, 2, 3, 4, 5]),
                            score=overall,
                        )
                    index_sync(
                        agency=agency,
                        request=Request.objects.select_related(
                            "transaction_type", "assignee__user"
                        ).get(pk=item.pk),
                    )

    def _catalogue(self, moh: Agency, admin: User, department) -> None:
        from requests_app.services import transaction_type_save

        with schema_context(moh.schema_name):
            for name_ar, name_en, category, hours in [
                ("إصدار تقرير طبي", "Medical report issuance", "transaction", 72),
                ("شكوى على مستوى الخدمة", "Complaint about a service", "complaint", 120),
                ("استفسار عام", "General inquiry", "inquiry", 24),
            ]:
                transaction_type_save(
                    agency=moh,
                    actor=admin,
                    data={
                        "name_ar": name_ar,
                        "name_en": name_en,
                        "category": category,
                        "expected_duration_hours": hours,
                        "department": department,
                        "description_ar": f"{name_ar} عبر منصة معاملات.",
                        "description_en": f"{name_en} through Muamalat.",
                        "required_documents_ar": ["صورة الهوية"],
                        "required_documents_en": ["Copy of the identity document"],
                    },
                )
        riyadh = Agency.objects.get(slug="riyadh")
        riyadh_admin = User.objects.get(email="admin@riyadh.demo")
        with schema_context(riyadh.schema_name):
            transaction_type_save(
                agency=riyadh,
                actor=riyadh_admin,
                data={
                    "name_ar": "رخصة بناء",
                    "name_en": "Building permit",
                    "category": "transaction",
                    "expected_duration_hours": 240,
                    "description_ar": "طلب رخصة بناء سكني.",
                    "description_en": "Residential building permit request.",
                },
            )

    # --- meetings ----------------------------------------------------------------------------

    BOARD_NAME_AR = "مجلس الإدارة"

    def _meetings_missing(self) -> bool:
        """A demo created before the meetings existed gets its board once (re-runs add
        nothing): the demo agency and accounts are there and the board is not."""
        from meetings.models import Body

        moh = Agency.objects.filter(slug="moh").first()
        emails = [
            "admin@moh.demo",
            "supervisor@moh.demo",
            "employee1@moh.demo",
            "employee2@moh.demo",
            "beneficiary@demo.sa",
        ]
        if moh is None or User.objects.filter(email__in=emails).count() != len(emails):
            return False
        with schema_context(moh.schema_name):
            return not Body.objects.filter(name_ar=self.BOARD_NAME_AR).exists()

    def _meetings(self) -> None:
        """The board of the Ministry of Health: its secretary (the supervisor), its chair (an
        employee), another employee and an outside member (the demo beneficiary, whose "My
        meetings" lists the board's meetings), with weights. A past meeting, closed, with its
        agenda, attendance, a named and a secret poll with their results, approved minutes and
        two decisions (one open and due ahead, one late); and an upcoming meeting, announced.

        Everything goes through the meetings services, as the people would have done it, with
        the clock set to when they did it (so invitations, the attendance, the results, the
        minutes and the audit trail carry realistic times and the decisions' reminder jobs are
        scheduled as they would have been)."""
        from contextlib import contextmanager
        from datetime import datetime, time, timedelta
        from unittest import mock
        from zoneinfo import ZoneInfo

        from django.utils import timezone

        from meetings.constants import BodyKind, Majority, MemberRole, Mode, QuorumKind
        from meetings.models_room import AttendanceMethod
        from meetings.models_voting import Entitlement, PollKind
        from meetings.services import attendance, decisions, minutes, room, schedule, voting
        from tenants.staff.models import Membership

        @contextmanager
        def at(moment: datetime):
            with mock.patch("django.utils.timezone.now", return_value=moment):
                yield

        moh = Agency.objects.get(slug="moh")
        users = {
            key: User.objects.get(email=email)
            for key, email in [
                ("admin", "admin@moh.demo"),
                ("secretary", "supervisor@moh.demo"),
                ("chair", "employee1@moh.demo"),
                ("member", "employee2@moh.demo"),
                ("outside", "beneficiary@demo.sa"),
            ]
        }
        admin, secretary, chair = users["admin"], users["secretary"], users["chair"]
        member, outside = users["member"], users["outside"]
        riyadh = ZoneInfo("Asia/Riyadh")
        today = timezone.localdate()

        def ten_am(day) -> datetime:
            return datetime.combine(day, time(10, 0), tzinfo=riyadh)

        past = ten_am(today - timedelta(days=12))
        upcoming = ten_am(today + timedelta(days=5))
        with schema_context(moh.schema_name):
            memberships = {
                key: Membership.objects.get(user=users[key])
                for key in ("secretary", "chair", "member")
            }
            with at(past - timedelta(days=30)):
                board = schedule.body_save.within(
                    actor=admin,
                    name_ar=self.BOARD_NAME_AR,
                    name_en="Board of Directors",
                    kind=BodyKind.BOARD,
                    rules={
                        # more than half of the vote weight present; decisions by simple
                        # majority, the chair deciding a tie; one proxy per member
                        "quorum_kind": QuorumKind.SHARE_WEIGHT,
                        "quorum_value": "0.5",
                        "majority": Majority.SIMPLE,
                        "chair_casting_vote": True,
                        "proxies_allowed": True,
                        "proxy_cap": 1,
                    },
                )
                for key, role, weight in [
                    ("chair", MemberRole.CHAIR, 1),
                    ("secretary", MemberRole.SECRETARY, 1),
                    ("member", MemberRole.MEMBER, 2),
                ]:
                    schedule.body_member_add.within(
                        actor=admin,
                        body=board,
                        membership=memberships[key],
                        role=role,
                        weight=weight,
                    )
                schedule.body_member_add.within(
                    actor=admin, body=board, user=outside, role=MemberRole.MEMBER, weight=1
                )

            # The past meeting: announced five days ahead, answered, attended, voted on,
            # closed, its minutes approved within the week and two decisions followed up.
            with at(past - timedelta(days=5)):
                meeting = schedule.meeting_create.within(
                    actor=admin,
                    body=board,
                    title_ar="الاجتماع الدوري الرابع لمجلس الإدارة",
                    title_en="Fourth regular board meeting",
                    mode=Mode.HYBRID,
                    place="مقر الوزارة، قاعة الاجتماعات الكبرى",
                    conference_url="https://meet.example.com/moh-board-4",
                    starts_at=past,
                    ends_at=past + timedelta(hours=2),
                )
                items = [
                    schedule.agenda_item_save.within(
                        actor=admin,
                        meeting=meeting,
                        title=title,
                        presenter=presenter,
                        planned_minutes=planned,
                    )
                    for title, presenter, planned in [
                        ("اعتماد محضر الاجتماع السابق", "أمين المجلس", 10),
                        ("الميزانية التشغيلية للربع القادم", "خالد الدوسري", 40),
                        ("تجديد عقد التشغيل والصيانة", "نورة الدوسري", 30),
                    ]
                ]
                meeting = schedule.meeting_announce.within(actor=admin, meeting=meeting)
            with at(past - timedelta(days=4)):
                for user in (chair, secretary, member):
                    schedule.rsvp_answer.within(actor=user, meeting=meeting, answer="accepted")
                schedule.rsvp_answer.within(
                    actor=outside, meeting=meeting, answer="accepted", note="أحضر عن بعد."
                )
            with at(past - timedelta(minutes=10)):
                for user in (chair, secretary, member):
                    attendance.attendance_check_in.within(
                        actor=user, meeting=meeting, method=AttendanceMethod.QR
                    )
                attendance.attendance_check_in.within(
                    actor=outside, meeting=meeting, method=AttendanceMethod.REMOTE
                )
            with at(past):
                meeting = room.meeting_start.within(actor=secretary, meeting=meeting)

            def poll(moment: datetime, data: dict, ballots: list[tuple[User, int]]):
                with at(moment):
                    created = voting.poll_create.within(actor=secretary, meeting=meeting, data=data)
                    opened = voting.poll_open.within(actor=chair, poll=created)
                for minute, (user, choice) in enumerate(ballots, start=1):
                    with at(moment + timedelta(minutes=minute)):
                        voter = meeting.participants.get(user=user)
                        voting.poll_vote.within(
                            actor=user, poll=opened, voter_id=voter.pk, choices=[choice]
                        )
                with at(moment + timedelta(minutes=len(ballots) + 2)):
                    return voting.poll_close.within(actor=chair, poll=opened)

            yes, no, abstain = 1, 2, 3
            # Named: yes 4 (weights 1 + 1 + 2), no 1: carried.
            poll(
                past + timedelta(minutes=25),
                {
                    "question": "الموافقة على الميزانية التشغيلية للربع القادم",
                    "kind": PollKind.YES_NO,
                    "is_secret": False,
                    "entitlement": Entitlement.PRESENT,
                    "agenda_item": items[1].pk,
                },
                [(chair, yes), (secretary, yes), (member, yes), (outside, no)],
            )
            # Secret: yes 3, no 1, one abstention: carried; who chose what is not kept.
            poll(
                past + timedelta(minutes=70),
                {
                    "question": "تجديد عقد التشغيل والصيانة لمدة سنتين",
                    "kind": PollKind.YES_NO,
                    "is_secret": True,
                    "entitlement": Entitlement.PRESENT,
                    "agenda_item": items[2].pk,
                },
                [(member, yes), (chair, yes), (outside, abstain), (secretary, no)],
            )
            with at(past + timedelta(minutes=100)):
                room.meeting_close.within(actor=secretary, meeting=meeting)
                meeting.refresh_from_db()
            with at(past + timedelta(minutes=110)):
                plan = decisions.decision_create.within(
                    actor=admin,
                    meeting=meeting,
                    text="إعداد خطة تنفيذ الميزانية التشغيلية ورفعها للمجلس.",
                    owner=memberships["chair"],
                    due_date=today + timedelta(days=18),
                    agenda_item=items[1],
                )
                decisions.decision_create.within(
                    actor=admin,
                    meeting=meeting,
                    text="توقيع عقد التشغيل والصيانة المجدد مع المورّد.",
                    owner=memberships["member"],
                    due_date=today - timedelta(days=3),
                    agenda_item=items[2],
                )
            with at(past + timedelta(days=1)):
                minutes.minutes_draft.within(actor=secretary, meeting=meeting)
                minutes.minutes_circulate.within(actor=secretary, meeting=meeting)
            with at(past + timedelta(days=2)):
                minutes.minutes_remark.within(
                    actor=member, meeting=meeting, text="المحضر مطابق لما دار في الاجتماع."
                )
            with at(past + timedelta(days=3)):
                minutes.minutes_approve.within(actor=chair, meeting=meeting, version=1)
            with at(past + timedelta(days=6)):
                decisions.decision_follow_up.within(
                    actor=chair,
                    decision=plan,
                    status="in_progress",
                    text="أُرسلت المسودة الأولى للإدارات للمراجعة.",
                )

            # The upcoming meeting: announced today, an answer so far, its agenda ready.
            later = schedule.meeting_create.within(
                actor=admin,
                body=board,
                title_ar="الاجتماع الدوري الخامس لمجلس الإدارة",
                title_en="Fifth regular board meeting",
                mode=Mode.HYBRID,
                place="مقر الوزارة، قاعة الاجتماعات الكبرى",
                conference_url="https://meet.example.com/moh-board-5",
                starts_at=upcoming,
                ends_at=upcoming + timedelta(hours=2),
            )
            for title, presenter, planned in [
                ("متابعة قرارات الاجتماع السابق", "أمين المجلس", 20),
                ("تقرير رضا المستفيدين للربع الماضي", "ريم الحربي", 30),
                ("ما يستجد من أعمال", "", 15),
            ]:
                schedule.agenda_item_save.within(
                    actor=admin,
                    meeting=later,
                    title=title,
                    presenter=presenter,
                    planned_minutes=planned,
                )
            schedule.meeting_announce.within(actor=admin, meeting=later)
            schedule.rsvp_answer.within(actor=chair, meeting=later, answer="accepted")

    # --- finance -----------------------------------------------------------------------------

    FINANCE_EMAILS = ("accountant@moh.demo", "reviewer@moh.demo", "cfo@moh.demo")
    FINANCE_DEPARTMENT_EN = "Finance"

    def _finance_missing(self) -> bool:
        """A demo created before finance gets its finance once: the demo agency and its admin
        are there and the finance users are not."""
        moh = Agency.objects.filter(slug="moh").first()
        if moh is None or not User.objects.filter(email="admin@moh.demo").exists():
            return False
        return not User.objects.filter(email__in=self.FINANCE_EMAILS).exists()

    @staticmethod
    def _demo_passwords(password: str, emails) -> None:
        """Accounts added to an existing demo get DEMO_PASSWORD when it is set (else they keep
        the random interim one: the first run's random password is not known any more)."""
        if not password:
            return
        for user in User.objects.filter(email__in=emails):
            user.set_password(password)
            user.save(update_fields=["password"])

    def _finance(self, *, interim: str) -> None:
        """The finance of the Ministry of Health, made through the services as the people would
        have: a Finance department with an accountant (enters vouchers), a reviewer (first
        level) and a finance manager (final approval, reports, configuration, closing periods),
        each through a role of the agency; one review chain per voucher type: the reviewers'
        role, then the agency admin by name, then the finance manager's role (final approval);
        the annual budgets of two expense accounts; and vouchers at every stage: a draft, one
        waiting at level 1, one waiting for final approval, one returned with its reason, one
        rejected, posted ones (a payment and a receipt) and a posted voucher reversed by a
        posted reversing voucher. The database's triggers hold for all of it."""
        from django.utils import timezone

        from finance.models import Account, FiscalYear
        from finance.services import budgets, ledger, review, review_config, vouchers
        from finance.services.review_config import LevelInput
        from tenants.services import role_save

        moh = Agency.objects.get(slug="moh")
        admin = User.objects.get(email="admin@moh.demo")
        with schema_context(moh.schema_name):
            department = department_save.within(
                actor=admin, name_ar="الإدارة المالية", name_en=self.FINANCE_DEPARTMENT_EN
            )
            roles = {}
            for key, name_ar, name_en, permissions in [
                ("accountant", "محاسب", "Accountant", ["finance.enter"]),
                (
                    "reviewer",
                    "مراجع مالي",
                    "Finance reviewer",
                    ["finance.review", "finance.reports"],
                ),
                (
                    "cfo",
                    "المدير المالي",
                    "Finance manager",
                    [
                        "finance.approve",
                        "finance.reports",
                        "finance.configure",
                        "finance.close_periods",
                    ],
                ),
            ]:
                roles[key] = role_save.within(
                    actor=admin, name_ar=name_ar, name_en=name_en, permissions=permissions
                )
            for email, *names, key in [
                ("accountant@moh.demo", "عمر", "Omar", "الزهراني", "Alzahrani", "accountant"),
                ("reviewer@moh.demo", "هند", "Hind", "المطيري", "Almutairi", "reviewer"),
                ("cfo@moh.demo", "فيصل", "Faisal", "الشهري", "Alshehri", "cfo"),
            ]:
                self._employee(moh, admin, department, roles[key], email, names, interim)
            accountant, reviewer, cfo = (User.objects.get(email=e) for e in self.FINANCE_EMAILS)

            for voucher_type in ("payment", "receipt", "journal"):
                review_config.review_chain_save.within(
                    actor=admin,
                    voucher_type=voucher_type,
                    department_id=None,
                    min_amount="0",
                    max_amount=None,
                    levels=[
                        LevelInput(kind="role", role_id=roles["reviewer"].pk),
                        LevelInput(kind="named", user_ids=[admin.pk]),
                        LevelInput(kind="role", role_id=roles["cfo"].pk),
                    ],
                )
            today = timezone.localdate()
            year = FiscalYear.objects.get(start__lte=today, end__gte=today)
            account = {
                a.code: a for a in Account.objects.filter(code__in=["5201", "5204", "1102", "4102"])
            }
            for code, amount in (("5204", "60000"), ("5201", "240000")):
                budgets.budget_line_create.within(
                    actor=cfo,
                    fiscal_year=year,
                    account=account[code],
                    department=department,
                    period=None,
                    amount=amount,
                    reason="الميزانية المعتمدة للسنة المالية",
                )

            def enter(
                description: str, amount: str, *, debit="5204", credit="1102", kind="payment"
            ):
                return vouchers.voucher_create.within(
                    by=accountant,
                    type=kind,
                    date=today,
                    department=department,
                    counterparty="مؤسسة الرواد للتوريدات" if kind == "payment" else "",
                    description=description,
                    lines=[
                        {"account": account[debit], "debit": amount, "description": ""},
                        {"account": account[credit], "credit": amount, "description": ""},
                    ],
                )

            def through(voucher, levels: int):
                """Submitted, then approved at ``levels`` levels (3: posted)."""
                voucher = review.voucher_submit.within(voucher, by=accountant)
                for approver in (reviewer, admin, cfo)[:levels]:
                    voucher = review.voucher_approve.within(voucher, by=approver)
                return voucher

            enter("مسودة: شراء حبر للطابعات", "850.00")
            through(enter("شراء أدوات مكتبية للإدارة", "3450.75"), 0)
            through(enter("صيانة أجهزة الحاسب", "12800.00"), 2)
            returned = through(enter("شراء كراسي لقاعة الاجتماعات", "9200.00"), 0)
            review.voucher_return.within(
                returned, by=reviewer, reason="أرفق عرض السعر المعتمد وصحح المبلغ وفق الفاتورة."
            )
            rejected = through(enter("ضيافة خارج البنود المعتمدة", "4100.00"), 0)
            review.voucher_reject.within(
                rejected, by=reviewer, reason="المصروف غير مدرج في الميزانية المعتمدة."
            )
            through(enter("إيجار مقر الإدارة للربع الأول", "60000.00", debit="5201"), 3)
            through(
                enter("رسوم خدمات محصلة", "15000.00", debit="1102", credit="4102", kind="receipt"),
                3,
            )
            mistaken = through(enter("شراء ورق تصوير (قُيّد مرتين)", "1500.00"), 3)
            reversal = ledger.voucher_reverse(
                mistaken, by=accountant, date=today, reason="قُيّد السند مرتين بالخطأ."
            )
            through(reversal, 3)
