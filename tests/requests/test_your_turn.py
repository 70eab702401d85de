"""The beneficiary's turn (issue 12): when the agency asks for information, the request records
a reply-by date in working days of the agency's calendar; the question and the date are a
banner at the top of the beneficiary's request page, a "waiting for you" list on their home
page, and in the SMS and email; a date that passes only tells the employee."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from accounts.models import SmsMessage
from requests_app import services
from requests_app.calendar import WorkingCalendar
from requests_app.constants import Status, Visibility
from requests_app.models import AgencyCalendar, Holiday, Request
from requests_app.public.models import RequestIndex
from requests_app.services.sla import reply_by_date
from tests.factories import make_beneficiary, make_employee, make_request
from tests.jobs import run_pending_jobs

QUESTION = "أرسل صورة عقد الإيجار موقّعة من الطرفين"
FSI, PDI = "\u2068", "\u2069"


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def shown_date(day: date, language: str) -> str:
    """The Gregorian part of the date as pages and messages show it ("9 December 2026")."""
    from frontend.human import human_date_parts

    with translation.override(language):
        return human_date_parts(day).text


def fresh(team) -> Request:
    with schema_context(team["agency"].schema_name):
        return Request.objects.get(pk=team["item"].pk)


def ask(team, *, question: str = QUESTION, days: int = 5) -> Request:
    with schema_context(team["agency"].schema_name):
        return services.request_ask_information(
            agency=team["agency"],
            request_obj=team["item"],
            actor=team["assignee"],
            question=question,
            reply_within_days=days,
        )


def public_page(team) -> str:
    return reverse(
        "requests:detail",
        kwargs={"agency_slug": team["agency"].slug, "reference": team["item"].reference},
    )


def workspace_page(team) -> str:
    return reverse(
        "workspace:request_detail",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk},
    )


# --- the reply-by date ------------------------------------------------------------------------


def test_working_days_skip_the_weekend_and_holidays():
    calendar = WorkingCalendar(holidays=frozenset({date(2025, 6, 17)}))  # a Tuesday
    thursday = date(2025, 6, 12)
    assert calendar.add_working_days(thursday, 1) == date(2025, 6, 15)  # Sunday
    # Sun 15, Mon 16, (holiday Tue 17), Wed 18, Thu 19, (Fri, Sat), Sun 22
    assert calendar.add_working_days(thursday, 5) == date(2025, 6, 22)
    with pytest.raises(ValueError):
        calendar.add_working_days(thursday, 0)


def test_reply_by_follows_the_agency_calendar(agency_a):
    asked_on = date(2025, 6, 12)  # a Thursday
    with schema_context(agency_a.schema_name):
        # No calendar row: Sunday to Thursday.
        assert reply_by_date(working_days=2, asked_on=asked_on) == date(2025, 6, 16)
        # The agency works Monday to Friday and closes on Monday 16 June.
        AgencyCalendar.objects.create(workdays=[0, 1, 2, 3, 4])
        Holiday.objects.create(day=date(2025, 6, 16), name="عطلة")
        # Fri 13, (Sat, Sun, holiday Mon 16), Tue 17
        assert reply_by_date(working_days=2, asked_on=asked_on) == date(2025, 6, 17)


def test_ask_records_the_question_and_reply_by_until_the_beneficiary_answers(team):
    agency = team["agency"]
    item = ask(team, days=3)
    with schema_context(agency.schema_name):
        expected = reply_by_date(working_days=3)
    assert expected > timezone.localdate()
    item = fresh(team)
    assert item.status == Status.AWAITING_BENEFICIARY
    assert (item.awaiting_question, item.reply_by) == (QUESTION, expected)
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    assert (row.question_excerpt, row.reply_by) == (QUESTION, expected)

    # asking again replaces the question and the date
    ask(team, question="وأرسل أيضًا صورة الهوية", days=10)
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    with schema_context(agency.schema_name):
        assert row.reply_by == reply_by_date(working_days=10)
    assert row.question_excerpt == "وأرسل أيضًا صورة الهوية"

    # the beneficiary answers: nothing is awaited of them any more
    with schema_context(agency.schema_name):
        services.comment_add(
            agency=agency,
            request_obj=fresh(team),
            author=team["beneficiary"],
            body="هذه الصور",
            visibility=Visibility.EXTERNAL,
        )
    item = fresh(team)
    assert item.status == Status.IN_PROGRESS
    assert (item.awaiting_question, item.reply_by) == ("", None)
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    assert (row.question_excerpt, row.reply_by) == ("", None)


def test_resolving_without_an_answer_clears_the_turn(team):
    ask(team)
    with schema_context(team["agency"].schema_name):
        services.request_resolve(
            agency=team["agency"], request_obj=team["item"], actor=team["assignee"]
        )
    item = fresh(team)
    assert (item.status, item.awaiting_question, item.reply_by) == (Status.CLOSED, "", None)
    row = RequestIndex.objects.get(agency=team["agency"], request_id=item.pk)
    assert (row.question_excerpt, row.reply_by) == ("", None)


def test_a_long_question_is_cut_in_the_index_only(team):
    question = "كلمة " * 200
    ask(team, question=question)
    assert fresh(team).awaiting_question == question.strip()
    excerpt = RequestIndex.objects.get(agency=team["agency"], request_id=team["item"].pk)
    assert len(excerpt.question_excerpt) <= 300 and excerpt.question_excerpt.endswith("…")


@pytest.mark.parametrize("days", [0, -1, 31])
def test_reply_time_out_of_bounds_is_refused_and_changes_nothing(team, days):
    with pytest.raises(ValidationError) as caught:
        ask(team, days=days)
    assert "reply_within_days" in caught.value.message_dict
    item = fresh(team)
    assert item.status == Status.NEW and item.reply_by is None


@pytest.mark.parametrize("days", ["0", "31", "abc", "2.5"])
def test_ask_page_with_a_bad_reply_time_says_so_in_arabic(client, team, days):
    client.force_login(team["assignee"])
    url = reverse(
        "workspace:request_ask",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk},
    )
    response = client.post(url, {"text": QUESTION, "reply_within_days": days}, follow=True)
    assert response.status_code == 200
    with translation.override("ar"):
        message = gettext("The time to reply is between %(min)s and %(max)s working days.") % {
            "min": 1,
            "max": 30,
        }
    assert message in response.content.decode()
    assert fresh(team).status == Status.NEW


def test_ask_page_takes_the_employees_choice_and_defaults_to_five(client, team):
    client.force_login(team["assignee"])
    url = reverse(
        "workspace:request_ask",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk},
    )
    assert client.post(url, {"text": QUESTION, "reply_within_days": "7"}).status_code == 302
    with schema_context(team["agency"].schema_name):
        assert fresh(team).reply_by == reply_by_date(working_days=7)
    assert client.post(url, {"text": QUESTION}).status_code == 302
    with schema_context(team["agency"].schema_name):
        assert fresh(team).reply_by == reply_by_date(working_days=5)


# --- the banner and the home page --------------------------------------------------------------


def banner(html: str) -> str:
    found = re.search(r'<section id="your-turn".*?</section>', html, re.S)
    return found.group(0) if found else ""


@pytest.mark.parametrize("language", ["ar", "en"])
def test_request_page_shows_the_banner_with_question_date_and_reply_link(client, team, language):
    beneficiary = team["beneficiary"]
    beneficiary.preferred_language = language
    beneficiary.save(update_fields=["preferred_language"])
    client.force_login(beneficiary)
    assert banner(client.get(public_page(team)).content.decode()) == ""  # not their turn yet

    ask(team)
    html = client.get(public_page(team)).content.decode()
    section = banner(html)
    reply_by = fresh(team).reply_by
    assert 'role="region"' in section and 'aria-labelledby="your-turn-title"' in section
    assert "alert" in section and "alert-danger" not in section
    assert QUESTION in section
    assert shown_date(reply_by, language) in section
    assert f'datetime="{reply_by.isoformat()}"' in section
    assert 'href="#id_body"' in section and 'id="id_body"' in html
    with translation.override(language):
        assert gettext("Your turn: the agency needs information from you") in section
    # at the top: before the request's own details and timeline
    assert html.index('id="your-turn"') < html.index('id="timeline-title"')


def test_home_lists_waiting_requests_first_with_question_and_date(client, team, agency_b):
    beneficiary = team["beneficiary"]
    other = make_request(agency_b, beneficiary=beneficiary, subject="طلب لا ينتظر شيئًا")
    client.force_login(beneficiary)
    html = client.get("/").content.decode()
    assert ar("Waiting for you") not in html

    ask(team)
    html = client.get("/").content.decode()
    reply_by = fresh(team).reply_by
    waiting = re.search(r'aria-labelledby="waiting-title".*?</section>', html, re.S).group(0)
    assert QUESTION in waiting and shown_date(reply_by, "ar") in waiting
    assert team["item"].reference in waiting and other.reference not in waiting
    assert f"{public_page(team)}#id_body" in waiting
    # at the top, above the list of all requests
    assert html.index('id="waiting-title"') < html.index('id="my-requests"')


def test_home_query_count_does_not_grow_with_waiting_requests(client, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(team["beneficiary"])
    ask(team)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    one = count()
    for _ in range(3):
        item = make_request(
            team["agency"], beneficiary=team["beneficiary"], request_type=team["type"]
        )
        with schema_context(team["agency"].schema_name):
            services.request_ask_information(
                agency=team["agency"],
                request_obj=item,
                actor=team["assignee"],
                question="سؤال آخر",
            )
    assert count() == one
    assert client.get("/").content.decode().count("سؤال آخر") == 3


def test_nobody_else_sees_the_question(client, team, agency_b):
    """Home and request page, as another beneficiary, an employee of another agency and an
    anonymous visitor: no question, no date."""
    ask(team)
    someone = make_beneficiary()
    outsider = make_employee(agency_b)
    for who, url, expected in [
        (someone, "/", 200),
        (someone, public_page(team), 404),
        (outsider, "/", 200),
        (outsider, public_page(team), 404),
        (None, "/", 200),
        (None, public_page(team), 302),
    ]:
        client.logout()
        if who is not None:
            client.force_login(who)
        response = client.get(url)
        assert response.status_code == expected, (who, url)
        html = response.content.decode()
        assert QUESTION not in html and 'id="your-turn"' not in html, (who, url)
        assert ar("Waiting for you") not in html, (who, url)


def test_a_passed_date_changes_nothing_but_tells_the_employee(client, team):
    ask(team)
    with schema_context(team["agency"].schema_name):
        Request.objects.filter(pk=team["item"].pk).update(
            reply_by=timezone.localdate() - timedelta(days=1)
        )
    item = fresh(team)
    assert item.is_reply_late and item.status == Status.AWAITING_BENEFICIARY

    client.force_login(team["assignee"])
    html = client.get(workspace_page(team)).content.decode()
    assert ar("Late to reply") in html

    client.force_login(team["beneficiary"])
    section = banner(client.get(public_page(team)).content.decode())
    assert "alert-danger" in section and QUESTION in section
    assert (
        ar("This date has passed, but you can still reply: the request is waiting for your answer.")
        in section
    )


def test_employee_page_shows_the_date_without_late_note_before_it(client, team):
    ask(team)
    client.force_login(team["assignee"])
    html = client.get(workspace_page(team)).content.decode()
    assert ar("Beneficiary asked to reply by") in html
    assert shown_date(fresh(team).reply_by, "ar") in html
    assert ar("Late to reply") not in html


# --- the SMS and the email --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en"])
def test_sms_and_email_carry_the_question_date_and_link(team, settings, language):
    beneficiary = team["beneficiary"]
    beneficiary.preferred_language = language
    beneficiary.save(update_fields=["preferred_language"])
    ask(team)
    run_pending_jobs()
    item = fresh(team)
    date_text = shown_date(item.reply_by, language)
    link = f"{settings.SITE_URL}{public_page(team)}"

    sms = SmsMessage.objects.get(to=beneficiary.mobile).body
    assert QUESTION in sms and link in sms
    (message,) = [m for m in mail.outbox if m.to == [beneficiary.email]]
    text = message.body
    html = message.alternatives[0][0]
    assert QUESTION in text and QUESTION in html
    assert link in text and link in html
    # the reference and the date (with the Hijri date beside) keep their own direction inside
    # the sentence, in both languages (an English SMS drops the marks only when they alone
    # would take it out of GSM-7: here the question is Arabic)
    from frontend.human import date_text as isolated_date

    with translation.override(language):
        whole_date = isolated_date(item.reply_by)
    assert whole_date.startswith(FSI) and date_text in whole_date
    for body in (sms, text):
        assert f"{FSI}{item.reference}{PDI}" in body
        assert whole_date in body
    assert f"{FSI}{item.reference}{PDI}" in message.subject
    if language == "en":
        assert f"Please reply by {whole_date}" in sms
        assert f"Please reply by {whole_date}." in text


def test_sms_of_a_long_question_is_an_excerpt(team):
    question = "سطر من السؤال " * 40
    ask(team, question=question)
    run_pending_jobs()
    sms = SmsMessage.objects.get(to=team["beneficiary"].mobile).body
    assert question.strip() not in sms and "سطر من السؤال" in sms
    assert shown_date(fresh(team).reply_by, "ar") in sms
