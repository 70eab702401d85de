"""The satisfaction survey (R-8): on closure the beneficiary is invited in-app and by email
with a signed link that works without signing in. By default one required overall rating
(1–5), two optional ratings (ease, speed) and an optional comment; an agency may choose the
extended form instead, the eleven statements of seed 002 each rated 1–5 with a suggestion.
Once per request; employees of the agency and other people cannot answer; results per
statement, type, employee and for the agency, counting both forms."""

import re
import time
from fractions import Fraction

import pytest
from django.core import mail, signing
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from notifications.events import EMAIL, INAPP
from notifications.models import Delivery, Notification
from requests_app.constants import Status
from requests_app.models import Request, SurveyResponse, SurveySettings
from requests_app.services import request_reject, request_resolve
from requests_app.services.index import index_sync
from requests_app.services.survey import SALT, survey_results, survey_submit, survey_token
from requests_app.survey import STATEMENTS
from tenants.services import department_save
from tenants.staff.models import AuditEvent, Membership
from tests.factories import make_beneficiary, make_employee, make_request, make_type
from tests.jobs import render_pending, run_pending_jobs

ALREADY = "This survey was already answered. Thank you."
INVALID = "This survey link is not valid or has expired."
NOT_CLOSED = "The survey opens when the request is completed."
ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
LATIN_LETTER = re.compile(r"[A-Za-z]")


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def answers_post(answers, suggestion="") -> dict:
    """A post of the extended form."""
    data = {f"q{i}": str(value) for i, value in enumerate(answers, 1)}
    data["suggestion"] = suggestion
    return data


def short_post(overall=5, ease="", speed="", suggestion="") -> dict:
    """A post of the short (default) form."""
    return {
        "overall": str(overall),
        "ease": str(ease),
        "speed": str(speed),
        "suggestion": suggestion,
    }


FIVES = [5] * 11
SHORT = short_post()


class Desk:
    """Agency A: a department with two employees (``first`` and ``second``), a supervisor, a
    plain employee outside it, an admin; two services of the department."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_employee(agency, roles=("admin",))
        self.first = make_employee(agency)
        self.second = make_employee(agency)
        self.supervisor = make_employee(agency, roles=("supervisor",))
        with schema_context(agency.schema_name):
            self.department = department_save(
                actor=self.admin, name_ar="قسم الرضا", name_en="Satisfaction desk"
            )
            Membership.objects.filter(
                user_id__in=[self.first.pk, self.second.pk, self.supervisor.pk]
            ).update(department=self.department)
        self.licences = make_type(
            agency,
            actor=self.admin,
            department=self.department,
            name_ar="إصدار رخصة",
            name_en="Licence",
        )
        self.complaints = make_type(
            agency,
            actor=self.admin,
            department=self.department,
            name_ar="شكوى",
            name_en="Complaint",
        )
        run_pending_jobs()
        mail.outbox.clear()

    def membership(self, user) -> Membership:
        with schema_context(self.agency.schema_name):
            return Membership.objects.get(user_id=user.pk)

    def request(self, *, assignee=None, request_type=None, beneficiary=None) -> Request:
        item = make_request(
            self.agency,
            beneficiary=beneficiary or make_beneficiary(),
            request_type=request_type or self.licences,
        )
        with schema_context(self.agency.schema_name):
            Request.objects.filter(pk=item.pk).update(
                assignee=self.membership(assignee or self.first)
            )
            item = Request.objects.select_related("assignee__user", "transaction_type").get(
                pk=item.pk
            )
            index_sync(agency=self.agency, request=item)
        return item

    def resolve(self, item, actor=None) -> Request:
        with schema_context(self.agency.schema_name):
            return request_resolve(
                agency=self.agency, request_obj=item, actor=actor or self.first, note="تم"
            )

    def token(self, item) -> str:
        return survey_token(agency=self.agency, item=item)

    def url(self, item) -> str:
        return reverse("survey", kwargs={"token": self.token(item)})

    def responses(self, item=None):
        with schema_context(self.agency.schema_name):
            qs = SurveyResponse.objects.all()
            if item is not None:
                qs = qs.filter(request_id=item.pk)
            return list(qs.order_by("id"))

    def use_extended(self) -> None:
        """The agency chooses the eleven statements (as its evaluation settings page does)."""
        with schema_context(self.agency.schema_name):
            SurveySettings.objects.update_or_create(defaults={"form": "extended"})

    def fresh(self, item) -> Request:
        with schema_context(self.agency.schema_name):
            return Request.objects.get(pk=item.pk)


@pytest.fixture
def desk(agency_a) -> Desk:
    return Desk(agency_a)


@pytest.fixture
def closed(desk):
    """A request of ``beneficiary`` handled by ``first``, closed through the workspace."""
    beneficiary = make_beneficiary()
    item = desk.request(beneficiary=beneficiary)
    run_pending_jobs()
    mail.outbox.clear()
    return {"item": item, "beneficiary": beneficiary}


def resolve_through_the_page(client, desk, item):
    client.force_login(desk.first)
    url = reverse(
        "workspace:request_resolve",
        kwargs={"agency_slug": desk.agency.slug, "request_id": item.pk},
    )
    response = client.post(url, {"text": "أنجزنا طلبكم", "confirm": "1"})
    assert response.status_code == 302
    client.logout()
    assert desk.fresh(item).status == Status.CLOSED


# --- the invitation ---------------------------------------------------------------------------


def test_resolving_invites_the_beneficiary_in_app_and_by_email(client, desk, closed, settings):
    item, beneficiary = closed["item"], closed["beneficiary"]
    resolve_through_the_page(client, desk, item)

    (invite,) = Notification.objects.filter(recipient=beneficiary, event="request.survey")
    assert invite.agency_id == desk.agency.pk
    match = re.fullmatch(r"/survey/([^/]+)/", invite.link)
    assert match, invite.link
    token = match.group(1)
    assert signing.loads(token, salt=SALT) == {"a": desk.agency.pk, "r": item.pk}
    render_pending()
    deliveries = {d.channel: d for d in invite.deliveries.all()}
    assert set(deliveries) == {INAPP, EMAIL}
    assert deliveries[INAPP].status == Delivery.SENT
    assert deliveries[EMAIL].status == Delivery.QUEUED
    assert item.reference in invite.title

    run_pending_jobs()
    assert Delivery.objects.get(pk=deliveries[EMAIL].pk).status in (
        Delivery.SENT,
        Delivery.DELIVERED,
    )
    (email,) = [m for m in mail.outbox if m.to == [beneficiary.email] and token in m.body]
    assert f"{settings.SITE_URL}/survey/{token}/" in email.body
    html = email.alternatives[0][0] if email.alternatives else ""
    assert f"{settings.SITE_URL}/survey/{token}/" in html

    # the link of the notification works without signing in
    page = client.get(invite.link)
    assert page.status_code == 200
    form = page.context["form"]
    assert list(form.fields) == ["overall", "ease", "speed", "suggestion"]
    assert [name for name, field in form.fields.items() if field.required] == ["overall"]


def test_rejected_request_is_not_surveyed(desk):
    item = desk.request()
    with schema_context(desk.agency.schema_name):
        request_reject(agency=desk.agency, request_obj=item, actor=desk.first, reason="ناقص")
    assert not Notification.objects.filter(event="request.survey").exists()


# --- answering --------------------------------------------------------------------------------


def test_default_form_is_one_required_rating_and_optional_details(client, desk, closed):
    """An anonymous visitor holding the link (Arabic by default) sees the short form: one
    required overall rating, two optional ratings and a comment, all in Arabic."""
    item = desk.resolve(closed["item"])
    url = desk.url(item)
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert [name for name, field in form.fields.items() if field.required] == ["overall"]
    html = page.content.decode()
    for name in ("overall", "ease", "speed"):
        for value in range(1, 6):
            assert f'name="{name}" value="{value}"' in html
    assert 'name="suggestion"' in html and 'name="q1"' not in html
    labels = [str(field.label) for field in form.fields.values()]
    labels += [
        str(label)
        for field in form.fields.values()
        for _v, label in getattr(field, "choices", None) or []
    ]
    untranslated = [label for label in labels if LATIN_LETTER.search(label)]
    assert not untranslated, untranslated
    assert item.reference in html

    # only the overall rating: recorded, its rating is the score
    response = client.post(url, short_post(4))
    assert response.status_code == 200
    assert escape(ar("Your answers were recorded. They help the agency improve its service.")) in (
        response.content.decode()
    )
    (saved,) = desk.responses(item)
    assert (saved.form, saved.overall, saved.ease, saved.speed) == ("short", 4, None, None)
    assert saved.answers == [] and saved.suggestion == "" and saved.score == 4
    assert saved.assignee_id == desk.membership(desk.first).pk
    with schema_context(desk.agency.schema_name):
        event = AuditEvent.objects.get(action="request.survey", object_id=str(item.pk))
        assert event.actor_id is None and event.after["form"] == "short"
    assert escape(ar(ALREADY)) in client.post(url, short_post(1)).content.decode()
    assert [r.overall for r in desk.responses(item)] == [4]


def test_short_form_details_are_recorded(client, desk, closed):
    item = desk.resolve(closed["item"])
    response = client.post(desk.url(item), short_post(2, ease=5, speed=1, suggestion=" أبطأ "))
    assert response.status_code == 200
    (saved,) = desk.responses(item)
    assert (saved.overall, saved.ease, saved.speed, saved.suggestion) == (2, 5, 1, "أبطأ")
    assert saved.score == 2  # the details do not change the satisfaction score


def test_short_form_without_the_overall_rating_saves_nothing(client, desk, closed):
    item = desk.resolve(closed["item"])
    url = desk.url(item)
    for data in ({}, {"ease": "5", "speed": "4", "suggestion": "جيد"}, short_post("")):
        response = client.post(url, data)
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.errors) == {"overall"}
        assert form.errors["overall"] == [ar("Choose your overall rating.")]
        assert escape(ar("Choose your overall rating.")) in response.content.decode()
        assert "field--error" in response.content.decode()
    for field, bad in (("overall", "0"), ("overall", "6"), ("overall", "x"), ("ease", "9")):
        data = {**SHORT, field: bad}
        response = client.post(url, data)
        assert response.status_code == 200 and set(response.context["form"].errors) == {field}
    # the extended form's fields are not what the short form takes
    response = client.post(url, answers_post(FIVES))
    assert set(response.context["form"].errors) == {"overall"}
    assert desk.responses() == []
    with schema_context(desk.agency.schema_name):
        from django.core.exceptions import ValidationError

        for kwargs in (
            {},
            {"overall": 0},
            {"overall": 6},
            {"overall": True},
            {"overall": 5, "ease": 0},
            {"overall": 5, "speed": 6},
            {"overall": 5, "answers": FIVES},
        ):
            with pytest.raises(ValidationError):
                survey_submit(agency=desk.agency, item=item, **kwargs)
    assert desk.responses() == []
    with schema_context(desk.agency.schema_name):
        assert not AuditEvent.objects.filter(action="request.survey").exists()


def test_anonymous_visitor_answers_the_extended_form_once(client, desk, closed):
    desk.use_extended()
    item = desk.resolve(closed["item"])
    url = desk.url(item)

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    with translation.override("ar"):
        texts = [str(statement) for statement in STATEMENTS]
    assert len(texts) == 11
    for number, text in enumerate(texts, 1):
        assert escape(f"{number}. {text}") in html
        for value in range(1, 6):
            assert f'name="q{number}" value="{value}"' in html
    assert 'name="suggestion"' in html
    assert item.reference in html

    answers = [5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5]
    response = client.post(url, answers_post(answers, "  افتحوا يوم السبت  "))
    assert response.status_code == 200
    assert escape(ar("Your answers were recorded. They help the agency improve its service.")) in (
        response.content.decode()
    )
    (saved,) = desk.responses(item)
    assert saved.answers == answers
    assert (saved.form, saved.overall, saved.ease, saved.speed) == ("extended", 5, None, None)
    assert saved.suggestion == "افتحوا يوم السبت"
    assert saved.assignee_id == desk.membership(desk.first).pk
    assert saved.transaction_type_id == desk.licences.pk
    assert saved.score == pytest.approx(35 / 11)
    with schema_context(desk.agency.schema_name):
        event = AuditEvent.objects.get(action="request.survey", object_id=str(item.pk))
        assert event.actor_id is None

    # a second answer is refused: the page says so and nothing is added
    again = client.get(url)
    assert again.status_code == 200
    assert escape(ar(ALREADY)) in again.content.decode()
    response = client.post(url, answers_post([1] * 11, "مرة ثانية"))
    assert response.status_code == 200
    assert escape(ar(ALREADY)) in response.content.decode()
    assert [r.answers for r in desk.responses(item)] == [answers]


def test_second_answer_is_refused_by_the_service_too(desk, closed):
    item = desk.resolve(closed["item"])
    with schema_context(desk.agency.schema_name):
        survey_submit(agency=desk.agency, item=item, overall=5)
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as refused:
            survey_submit(agency=desk.agency, item=item, overall=1)
        assert refused.value.messages == [gettext(ALREADY)]
        # the refused insert left the transaction usable
        assert SurveyResponse.objects.filter(request=item).count() == 1


def test_the_beneficiary_signed_in_may_answer(client, desk, closed):
    item = desk.resolve(closed["item"])
    client.force_login(closed["beneficiary"])
    response = client.post(desk.url(item), SHORT)
    assert response.status_code == 200
    assert len(desk.responses(item)) == 1


def test_tampered_or_expired_link_is_refused(client, desk, closed, monkeypatch):
    item = desk.resolve(closed["item"])
    token = desk.token(item)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    other_salt = signing.dumps({"a": desk.agency.pk, "r": item.pk}, salt="elsewhere", compress=True)
    forged_payload = token.replace(token.split(":")[0], "e30", 1)  # "{}" with the old signature
    for bad in (tampered, other_salt, forged_payload, "nonsense"):
        for response in (
            client.get(reverse("survey", kwargs={"token": bad})),
            client.post(reverse("survey", kwargs={"token": bad}), SHORT),
        ):
            assert response.status_code == 400, bad
            assert escape(ar(INVALID)) in response.content.decode()

    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 91 * 24 * 3600)
    expired = desk.token(item)
    monkeypatch.setattr(signing.time, "time", real_time)
    response = client.post(reverse("survey", kwargs={"token": expired}), SHORT)
    assert response.status_code == 400
    assert escape(ar(INVALID)) in response.content.decode()
    assert desk.responses(item) == []

    # a valid signature for a request that does not exist
    missing = signing.dumps({"a": desk.agency.pk, "r": 10**9}, salt=SALT, compress=True)
    assert client.get(reverse("survey", kwargs={"token": missing})).status_code == 404
    # still within 90 days: accepted
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 89 * 24 * 3600)
    recent = desk.token(item)
    monkeypatch.setattr(signing.time, "time", real_time)
    assert client.post(reverse("survey", kwargs={"token": recent}), SHORT).status_code == 200
    assert len(desk.responses(item)) == 1


@pytest.mark.parametrize("who", ["assignee", "supervisor", "admin", "other_employee"])
def test_employees_of_the_agency_cannot_answer(client, desk, closed, who):
    item = desk.resolve(closed["item"])
    user = {
        "assignee": desk.first,
        "supervisor": desk.supervisor,
        "admin": desk.admin,
        "other_employee": desk.second,
    }[who]
    client.force_login(user)
    page = client.get(desk.url(item))  # the form is not even shown
    assert page.status_code == 403 and 'name="overall"' not in page.content.decode()
    response = client.post(desk.url(item), short_post(5, suggestion="ممتاز جدًا"))
    assert response.status_code == 403
    assert escape(ar("Employees of the agency cannot answer its surveys.")) in (
        response.content.decode()
    )
    assert desk.responses() == []
    # the beneficiary can still answer afterwards
    client.logout()
    assert client.post(desk.url(item), SHORT).status_code == 200
    assert len(desk.responses(item)) == 1


def test_an_employee_who_is_also_the_beneficiary_cannot_answer(client, desk):
    """An employee of the agency who filed a request there: still an employee."""
    item = desk.request(beneficiary=desk.second, assignee=desk.first)
    item = desk.resolve(item)
    client.force_login(desk.second)
    assert client.post(desk.url(item), SHORT).status_code == 403
    assert desk.responses() == []


@pytest.mark.parametrize("form", ["short", "extended"])
def test_other_people_signed_in_cannot_answer(client, desk, closed, agency_b, form):
    """Another beneficiary and an employee of another agency holding the link: refused on
    the page and in the service, with either form."""
    if form == "extended":
        desk.use_extended()
    item = desk.resolve(closed["item"])
    post = SHORT if form == "short" else answers_post(FIVES)
    strangers = (
        make_beneficiary(),
        make_employee(agency_b),
        make_employee(agency_b, roles=("admin",)),
    )
    for stranger in strangers:
        client.force_login(stranger)
        page = client.get(desk.url(item))
        assert page.status_code == 403
        assert 'name="overall"' not in page.content.decode()
        assert 'name="q1"' not in page.content.decode()
        response = client.post(desk.url(item), post)
        assert response.status_code == 403
        assert escape(ar("Only the beneficiary of the request can answer.")) in (
            response.content.decode()
        )
        client.logout()
        with schema_context(desk.agency.schema_name):
            from django.core.exceptions import PermissionDenied

            with pytest.raises(PermissionDenied):
                survey_submit(agency=desk.agency, item=item, overall=5, user=stranger)
    assert desk.responses() == []
    with schema_context(desk.agency.schema_name):
        assert not AuditEvent.objects.filter(action="request.survey").exists()
    # their request pages do not offer the survey either: another person's request is not found
    page_url = reverse(
        "requests:detail", kwargs={"agency_slug": desk.agency.slug, "reference": item.reference}
    )
    for stranger in strangers:
        client.force_login(stranger)
        assert client.get(page_url).status_code == 404
        client.logout()
    response = client.get(page_url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_anonymous_visitor_needs_a_genuine_link(client, desk, closed):
    """Signed out, only the link sent to the beneficiary opens the survey: another request's
    id in a link signed elsewhere, or no link at all, opens nothing and saves nothing."""
    item = desk.resolve(closed["item"])
    forged = signing.dumps({"a": desk.agency.pk, "r": item.pk}, salt="other", compress=True)
    for url in (reverse("survey", kwargs={"token": forged}), f"/survey/{item.pk}/"):
        assert client.get(url).status_code in (400, 404)
        assert client.post(url, SHORT).status_code in (400, 404)
    assert desk.responses() == []


def test_open_request_cannot_be_surveyed(client, desk, closed):
    item = closed["item"]  # assigned, not closed
    response = client.post(desk.url(item), SHORT)
    assert response.status_code == 200
    assert escape(ar(NOT_CLOSED)) in response.content.decode()
    assert response.context["form"].non_field_errors() == [ar(NOT_CLOSED)]
    assert desk.responses() == []
    with schema_context(desk.agency.schema_name):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            survey_submit(agency=desk.agency, item=item, overall=5)


def test_extended_form_needs_every_statement(client, desk, closed):
    desk.use_extended()
    item = desk.resolve(closed["item"])
    page = client.get(desk.url(item))
    required = [name for name, field in page.context["form"].fields.items() if field.required]
    assert required == [f"q{i}" for i in range(1, 12)]
    url = desk.url(item)
    partial = answers_post(FIVES)
    del partial["q4"], partial["q11"]
    response = client.post(url, partial)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"q4", "q11"}
    assert "field--error" in response.content.decode()
    for bad in ("0", "6", "x", ""):
        data = answers_post(FIVES)
        data["q7"] = bad
        response = client.post(url, data)
        assert response.status_code == 200 and set(response.context["form"].errors) == {"q7"}
    # the short form's rating alone is not an answer to the extended form
    response = client.post(url, SHORT)
    assert response.status_code == 200 and len(response.context["form"].errors) == 11
    assert desk.responses() == []
    with schema_context(desk.agency.schema_name):
        from django.core.exceptions import ValidationError

        for kwargs in (
            {"answers": [5] * 10},
            {"answers": [5] * 12},
            {"answers": [5] * 10 + [6]},
            {"answers": [0] + [5] * 10},
            {"overall": 5},
            {"answers": FIVES, "ease": 4},
        ):
            with pytest.raises(ValidationError):
                survey_submit(agency=desk.agency, item=item, **kwargs)
    assert desk.responses() == []


@pytest.mark.parametrize("form", ["short", "extended"])
def test_request_page_offers_the_survey_at_the_top_until_answered(client, desk, closed, form):
    if form == "extended":
        desk.use_extended()
    item, beneficiary = closed["item"], closed["beneficiary"]
    page_url = reverse(
        "requests:detail", kwargs={"agency_slug": desk.agency.slug, "reference": item.reference}
    )
    client.force_login(beneficiary)
    label = escape(ar("Rate the service"))
    assert label not in client.get(page_url).content.decode()  # open: nothing to rate yet

    item = desk.resolve(item)
    html = client.get(page_url).content.decode()
    assert label in html
    # a call to action right under the heading, before the request's facts and timeline
    heading_end = html.index("</h1>")
    invite = html.index('class="card border-primary mb-3 survey-invite"')
    assert heading_end < invite < html.index(escape(item.description[:20]))
    assert invite < html.index('id="timeline-title"')
    section = html.rindex("<section", 0, invite)
    assert re.fullmatch(r"</h1>\s*", html[heading_end:section])
    promise = (
        "One question, less than a minute. Your rating helps the agency improve its service."
        if form == "short"
        else "Eleven short statements, about two minutes. Your answers help the agency "
        "improve its service."
    )
    assert escape(ar(promise)) in html
    link = re.search(r'<a class="btn btn-primary" href="(/survey/[^"]+/)"', html).group(1)
    post = SHORT if form == "short" else answers_post(FIVES)
    assert client.post(link, post).status_code == 200
    assert [r.form for r in desk.responses(item)] == [form]
    html = client.get(page_url).content.decode()
    assert label not in html and "survey-invite" not in html


def test_survey_statements_are_the_arabic_form_of_seed_002(client, desk, closed):
    """An anonymous visitor (Arabic by default) reads the eleven statements and the 1–5 scale
    of the seed form in Arabic, not the English source strings."""
    desk.use_extended()
    item = desk.resolve(closed["item"])
    response = client.get(desk.url(item))
    form = response.context["form"]
    labels = [str(form.fields[f"q{i}"].label) for i in range(1, 12)]
    untranslated = [label for label in labels if LATIN_LETTER.search(label)]
    assert not untranslated, (
        f"{len(untranslated)} of 11 survey statements have no Arabic translation "
        f"(locale/ar/LC_MESSAGES/django.po), e.g. {untranslated[0]!r}"
    )
    assert all(ARABIC_LETTER.search(label) for label in labels)
    assert labels[0].startswith("1. بشكل عام أشعر بالرضا عن الخدمة")  # the seed's first line
    scale = [str(label) for _value, label in form.fields["q1"].choices]
    assert len(scale) == 5 and not any(LATIN_LETTER.search(label) for label in scale), scale
    html = response.content.decode()
    assert 'lang="ar"' in html and 'dir="rtl"' in html
    for label in labels:
        assert escape(label) in html


# --- results ----------------------------------------------------------------------------------

# Three fixed responses: (service, employee, answers).
R1 = [5] * 11  # score 5
R2 = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 3]  # 33 / 11 = 3
R3 = [4] * 10 + [1]  # 41 / 11


@pytest.fixture
def three_answers(desk):
    desk.use_extended()
    plan = [
        (desk.licences, desk.first, R1),
        (desk.licences, desk.second, R2),
        (desk.complaints, desk.first, R3),
    ]
    for request_type, assignee, answers in plan:
        item = desk.resolve(desk.request(assignee=assignee, request_type=request_type), assignee)
        with schema_context(desk.agency.schema_name):
            survey_submit(agency=desk.agency, item=item, answers=answers, suggestion="")
    return plan


def fmt(value) -> str:
    with translation.override("ar"):
        return floatformat(float(value), 2)


def test_results_match_hand_computed_averages(client, desk, three_answers):
    overall = (Fraction(5) + Fraction(3) + Fraction(41, 11)) / 3  # 3.909…
    per_statement = [
        Fraction(10, 3),
        Fraction(11, 3),
        Fraction(4),
        Fraction(13, 3),
        Fraction(14, 3),
        Fraction(10, 3),
        Fraction(11, 3),
        Fraction(4),
        Fraction(13, 3),
        Fraction(14, 3),
        Fraction(3),
    ]
    per_type = {desk.licences.pk: (Fraction(4), 2), desk.complaints.pk: (Fraction(41, 11), 1)}
    first, second = desk.membership(desk.first), desk.membership(desk.second)
    per_employee = {first.pk: ((5 + Fraction(41, 11)) / 2, 2), second.pk: (Fraction(3), 1)}

    with schema_context(desk.agency.schema_name):
        results = survey_results()
    assert results["count"] == 3
    assert float(results["overall"]) == pytest.approx(float(overall))
    assert [float(avg) for _text, avg in results["per_statement"]] == pytest.approx(
        [float(x) for x in per_statement]
    )
    assert [str(text) for text, _avg in results["per_statement"]] == [str(s) for s in STATEMENTS]
    assert {
        row["transaction_type_id"]: (pytest.approx(float(row["avg"])), row["n"])
        for row in results["per_type"]
    } == {pk: (float(avg), n) for pk, (avg, n) in per_type.items()}
    assert [row["transaction_type_id"] for row in results["per_type"]] == [
        desk.licences.pk,
        desk.complaints.pk,
    ]  # best first
    assert {
        row["assignee_id"]: (pytest.approx(float(row["avg"])), row["n"])
        for row in results["per_employee"]
    } == {pk: (float(avg), n) for pk, (avg, n) in per_employee.items()}

    # the page shows the same numbers, to two decimals
    client.force_login(desk.admin)
    response = client.get(reverse("workspace:satisfaction", kwargs={"agency_slug": "alpha"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert fmt(overall) in html and fmt(overall) == fmt(3.909)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>(?:<td>(\d+)</td>)?</tr>", html)
    shown = {text: (avg, n) for text, avg, n in rows}
    with translation.override("ar"):
        for statement, expected in zip(STATEMENTS, per_statement, strict=True):
            assert shown[escape(str(statement))][0] == fmt(expected)
    assert shown["إصدار رخصة"] == (fmt(4), "2")
    assert shown["شكوى"] == (fmt(Fraction(41, 11)), "1")
    assert shown[desk.first.first_name_ar] == (fmt(per_employee[first.pk][0]), "2")
    assert shown[desk.second.first_name_ar] == (fmt(3), "1")


def test_results_page_is_for_admins_and_supervisors(client, desk, three_answers, agency_b):
    url = reverse("workspace:satisfaction", kwargs={"agency_slug": "alpha"})
    for user, status in (
        (desk.admin, 200),
        (desk.supervisor, 200),
        (desk.first, 403),
        (make_employee(agency_b, roles=("admin",)), 403),
        (make_beneficiary(), 403),
    ):
        client.force_login(user)
        assert client.get(url).status_code == status, user.email
        client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_results_in_another_agency_are_its_own(client, desk, three_answers, agency_b):
    admin_b = make_employee(agency_b, roles=("admin",))
    with schema_context(agency_b.schema_name):
        assert survey_results()["count"] == 0
    client.force_login(admin_b)
    response = client.get(reverse("workspace:satisfaction", kwargs={"agency_slug": "beta"}))
    assert response.status_code == 200 and response.context["results"]["count"] == 0


def test_results_page_query_count_does_not_grow(client, desk, three_answers):
    client.force_login(desk.admin)
    url = reverse("workspace:satisfaction", kwargs={"agency_slug": "alpha"})
    client.get(url)  # warm caches (sessions, permissions)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    third = make_employee(desk.agency)
    extra_type = make_type(desk.agency, actor=desk.admin, department=desk.department)
    for assignee, request_type in (
        (third, extra_type),
        (desk.second, extra_type),
        (third, desk.complaints),
        (desk.first, desk.licences),
    ):
        item = desk.resolve(desk.request(assignee=assignee, request_type=request_type), assignee)
        with schema_context(desk.agency.schema_name):
            survey_submit(agency=desk.agency, item=item, answers=[3] * 11, suggestion="")
    assert client.get(url).context["results"]["count"] == 7
    assert count() == small


def test_link_forged_with_the_repository_key_is_refused(client, desk, closed, settings):
    """Issue 10, point 3: the suite runs with random keys (infra/run.py), as production must
    (portal.settings refuses the development key with DEBUG=0), so a survey link signed with the
    key published in the repository is worthless."""
    from portal.keys import DEV_SECRET_KEY

    assert settings.SECRET_KEY != DEV_SECRET_KEY, "the tests must run with a real SECRET_KEY"
    item = desk.resolve(closed["item"])
    payload = {"a": desk.agency.pk, "r": item.pk}
    forged = signing.dumps(payload, key=DEV_SECRET_KEY, salt=SALT, compress=True)
    url = reverse("survey", kwargs={"token": forged})
    assert client.get(url).status_code == 400
    response = client.post(url, SHORT)
    assert response.status_code == 400
    assert escape(ar(INVALID)) in response.content.decode()
    assert desk.responses(item) == []
    # The same payload signed with the key the app runs with is accepted (the test is sound).
    genuine = signing.dumps(payload, salt=SALT, compress=True)
    response = client.post(reverse("survey", kwargs={"token": genuine}), SHORT)
    assert response.status_code == 200
    assert len(desk.responses(item)) == 1


def test_results_and_statistics_count_both_forms(client, desk, agency_b):
    """Answers given with the extended form (as every answer was before the short form) and
    with the short form feed the same figures: the satisfaction score is the overall rating of
    a short answer and the mean of the eleven statements of an extended one; the statements'
    averages are over the extended answers only; the request index (the statistics' source)
    carries the same score."""
    desk.use_extended()
    old = desk.resolve(desk.request(assignee=desk.first))
    with schema_context(desk.agency.schema_name):
        survey_submit(agency=desk.agency, item=old, answers=R2)  # score 3, overall 1
        SurveySettings.objects.update(form="short")
    rated = desk.resolve(desk.request(assignee=desk.first))
    detailed = desk.resolve(
        desk.request(assignee=desk.second, request_type=desk.complaints), desk.second
    )
    with schema_context(desk.agency.schema_name):
        survey_submit(agency=desk.agency, item=rated, overall=5)
        survey_submit(agency=desk.agency, item=detailed, overall=2, ease=4, speed=1)
        results = survey_results()
    assert results["count"] == 3
    assert (results["short_count"], results["extended_count"]) == (2, 1)
    assert float(results["overall"]) == pytest.approx((3 + 5 + 2) / 3)
    assert float(results["overall_rating"]) == pytest.approx((1 + 5 + 2) / 3)
    assert (float(results["ease"]), results["ease_count"]) == (4, 1)
    assert (float(results["speed"]), results["speed_count"]) == (1, 1)
    assert [float(avg) for _text, avg in results["per_statement"]] == [float(a) for a in R2]
    per_employee = {
        row["assignee_id"]: (float(row["avg"]), row["n"]) for row in results["per_employee"]
    }
    assert per_employee == {
        desk.membership(desk.first).pk: (4.0, 2),
        desk.membership(desk.second).pk: (2.0, 1),
    }

    from requests_app.public.models import RequestIndex

    scores = dict(
        RequestIndex.objects.filter(agency=desk.agency).values_list("request_id", "satisfaction")
    )
    assert (scores[old.pk], scores[rated.pk], scores[detailed.pk]) == (3, 5, 2)
    # the statistics' rollups, read as the insights pages read them
    from django.utils import timezone

    from insights.selectors import Period, scope_summary

    today = timezone.localdate()
    figures = scope_summary(Period(start=today, end=today), agency=desk.agency, percentiles=False)
    assert figures.satisfaction_count == 3
    assert figures.satisfaction == pytest.approx(10 / 3)

    client.force_login(desk.admin)
    html = client.get(reverse("workspace:satisfaction", kwargs={"agency_slug": "alpha"})).content
    html = html.decode()
    assert f'<strong class="satisfaction-score">{fmt(Fraction(10, 3))}</strong>' in html
    ease = re.search(r'<tr class="rating-ease"><td>[^<]*</td><td>([^<]*)</td><td>(\d+)</td>', html)
    assert ease and ease.groups() == (fmt(4), "1")
    assert escape(ar("Per statement")) in html  # shown: there is an extended answer
    with schema_context(agency_b.schema_name):
        assert survey_results()["count"] == 0


def test_results_page_without_extended_answers_hides_the_statements(client, desk):
    item = desk.resolve(desk.request())
    with schema_context(desk.agency.schema_name):
        survey_submit(agency=desk.agency, item=item, overall=4)
    client.force_login(desk.admin)
    response = client.get(reverse("workspace:satisfaction", kwargs={"agency_slug": "alpha"}))
    html = response.content.decode()
    assert response.context["results"]["count"] == 1
    assert f'<strong class="satisfaction-score">{fmt(4)}</strong>' in html
    assert escape(ar("Per statement")) not in html
