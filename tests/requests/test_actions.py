"""What employees and beneficiaries do on a request (R-6, R-12): each action through the views
and the services, with its status change, notifications, audit entry, timeline step and the
public index row written in the same transaction; references per agency and year."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from accounts.models import SmsMessage
from core.files.storage import reset_private_storage
from notifications.events import EMAIL, INAPP, SMS
from notifications.models import Delivery, Notification
from requests_app import services
from requests_app.constants import Priority, Status, Visibility
from requests_app.models import (
    Attachment,
    Comment,
    Request,
    TimelineEvent,
)
from requests_app.public.models import RequestIndex
from requests_app.services.submission import _next_reference
from tenants.services import department_save
from tenants.staff.models import AuditEvent
from tests.factories import (
    make_request,
    make_type,
    pdf_upload,
    png_upload,
    reference_counter,
)
from tests.jobs import render_pending, run_pending_jobs


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


def fresh(team) -> Request:
    with schema_context(team["agency"].schema_name):
        return Request.objects.select_related("assignee__user").get(pk=team["item"].pk)


def assert_index_matches(agency, item: Request) -> RequestIndex:
    """The public index row says what the request says."""
    with schema_context(agency.schema_name):
        item = Request.objects.select_related("assignee__user", "transaction_type").get(pk=item.pk)
        assignee_user = item.assignee.user if item.assignee_id else None
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    assert row.reference == item.reference
    assert row.beneficiary_id == item.beneficiary_id
    assert row.subject == item.subject
    assert row.status == item.status
    assert row.priority == item.priority
    assert row.assignee_user_id == (assignee_user.pk if assignee_user else None)
    if assignee_user is not None:
        with translation.override("en"):
            assert row.assignee_name_en == assignee_user.display_name
        with translation.override("ar"):
            assert row.assignee_name_ar == assignee_user.display_name
    else:
        assert row.assignee_name_ar == row.assignee_name_en == ""
    assert row.department_id == item.department_id
    assert row.type_id == item.transaction_type_id
    assert row.created_at == item.created_at
    assert row.updated_at == item.updated_at
    assert row.due_at == item.due_at
    assert row.first_response_at == item.first_response_at
    assert row.closed_at == item.closed_at
    return row


def ws(team, name, **kwargs) -> str:
    return reverse(
        f"workspace:{name}",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk, **kwargs},
    )


def public_page(team) -> str:
    return reverse(
        "requests:detail",
        kwargs={"agency_slug": team["agency"].slug, "reference": team["item"].reference},
    )


def flash(response) -> list[str]:
    """The messages this response queued. The test client does not follow redirects, so
    ``act`` shows the page redirected to right away: nothing piles up for the next request."""
    return response.flashed


def act(client, url, data=None):
    response = client.post(url, data or {})
    response.flashed = [str(m) for m in get_messages(response.wsgi_request)]
    if response.status_code == 302:
        page = client.get(response["Location"])
        assert page.status_code == 200
        for message in response.flashed:  # shown on the page it returns to
            assert message in page.content.decode()
    return response


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def audit_actions(team) -> list[str]:
    with schema_context(team["agency"].schema_name):
        return list(
            AuditEvent.objects.filter(
                object_type="requests_app.request", object_id=str(team["item"].pk)
            )
            .order_by("id")
            .values_list("action", flat=True)
        )


def timeline(team) -> list[tuple[str, str]]:
    with schema_context(team["agency"].schema_name):
        return list(
            TimelineEvent.objects.filter(request_id=team["item"].pk)
            .order_by("id")
            .values_list("kind", "visibility")
        )


def state(team) -> dict:
    """Everything a refused action must leave as it was."""
    agency = team["agency"]
    with schema_context(agency.schema_name):
        item = Request.objects.get(pk=team["item"].pk)
        snapshot = {
            "status": item.status,
            "updated_at": item.updated_at,
            "closed_at": item.closed_at,
            "rejection_reason": item.rejection_reason,
            "comments": Comment.objects.filter(request=item).count(),
            "attachments": Attachment.objects.filter(request=item).count(),
        }
    row = RequestIndex.objects.get(agency=agency, request_id=item.pk)
    snapshot.update(
        index=(row.status, row.updated_at, row.closed_at),
        timeline=timeline(team),
        audit=audit_actions(team),
        notifications=Notification.objects.count(),
    )
    return snapshot


# --- comments -----------------------------------------------------------------------------


def test_external_comment_notifies_the_beneficiary_everywhere(client, team):
    beneficiary = team["beneficiary"]
    client.force_login(team["assignee"])
    response = act(
        client,
        ws(team, "request_comment"),
        {"body": "نحتاج إلى صورة الهوية", "visibility": Visibility.EXTERNAL},
    )
    assert response.status_code == 302 and response["Location"] == ws(team, "request_detail")
    assert flash(response) == [ar("The comment was added.")]

    item = fresh(team)
    # an external answer is the first response: the request is now in progress
    assert item.status == Status.IN_PROGRESS and item.first_response_at is not None
    assert_index_matches(team["agency"], item)
    assert timeline(team)[-1] == (TimelineEvent.COMMENTED, Visibility.EXTERNAL)
    assert audit_actions(team)[-1] == "request.comment.external"

    notification = Notification.objects.get(recipient=beneficiary, event="request.commented")
    assert notification.agency_id == team["agency"].pk
    assert notification.link == f"/requests/{team['agency'].slug}/{item.reference}/"
    render_pending()
    deliveries = {d.channel: d for d in notification.deliveries.all()}
    assert set(deliveries) == {INAPP, EMAIL, SMS}
    assert deliveries[INAPP].status == Delivery.SENT
    assert deliveries[EMAIL].status == deliveries[SMS].status == Delivery.QUEUED
    assert run_pending_jobs() == 2
    for delivery in Delivery.objects.filter(notification=notification):
        assert delivery.status in (Delivery.SENT, Delivery.DELIVERED), delivery.channel
    sms = SmsMessage.objects.get(to=beneficiary.mobile)
    assert "نحتاج إلى صورة الهوية" in sms.body and item.reference in sms.body
    (email,) = [m for m in mail.outbox if m.to == [beneficiary.email]]
    assert "نحتاج إلى صورة الهوية" in email.body


def test_internal_comment_notifies_nobody_outside(client, team):
    beneficiary = team["beneficiary"]
    client.force_login(team["assignee"])
    before = Notification.objects.count()
    response = act(
        client,
        ws(team, "request_comment"),
        {"body": "للفريق فقط", "visibility": Visibility.INTERNAL, "attachments": [pdf_upload()]},
    )
    assert response.status_code == 302
    item = fresh(team)
    assert item.status == Status.NEW and item.first_response_at is None
    assert Notification.objects.count() == before
    assert run_pending_jobs() == 0
    assert not SmsMessage.objects.filter(to=beneficiary.mobile).exists()
    assert not [m for m in mail.outbox if beneficiary.email in m.to]
    assert timeline(team)[-1] == (TimelineEvent.COMMENTED, Visibility.INTERNAL)
    assert audit_actions(team)[-1] == "request.comment.internal"
    with schema_context(team["agency"].schema_name):
        attachment = Attachment.objects.get(request=item)
        assert attachment.visibility == Visibility.INTERNAL
        assert attachment.comment.body == "للفريق فقط"
    assert_index_matches(team["agency"], item)


def test_comment_without_text_or_file_is_refused(client, team):
    client.force_login(team["assignee"])
    before = state(team)
    response = act(client, ws(team, "request_comment"), {"body": " ", "visibility": "external"})
    assert response.status_code == 302
    assert flash(response) == [ar("Write a comment or attach a file.")]
    response = act(client, ws(team, "request_comment"), {"body": "x", "visibility": "everyone"})
    assert response.status_code == 302 and flash(response)
    assert state(team) == before


def test_attachment_add_by_staff_reaches_the_beneficiary(client, team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        comment = services.attachment_add(
            agency=agency,
            request_obj=team["item"],
            author=team["assignee"],
            visibility=Visibility.EXTERNAL,
            files=[png_upload("stamped.png")],
        )
        attachment = comment.attachments.get()
        with pytest.raises(ValidationError):
            services.attachment_add(
                agency=agency,
                request_obj=team["item"],
                author=team["assignee"],
                visibility=Visibility.EXTERNAL,
                files=[],
            )
    client.force_login(team["beneficiary"])
    assert "stamped.png" in client.get(public_page(team)).content.decode()
    url = reverse(
        "requests:file",
        kwargs={
            "agency_slug": agency.slug,
            "reference": team["item"].reference,
            "file_id": attachment.pk,
        },
    )
    assert client.get(url).status_code == 200


def test_beneficiary_writes_external_comments_only(team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        with pytest.raises(PermissionDenied):
            services.comment_add(
                agency=agency,
                request_obj=team["item"],
                author=team["beneficiary"],
                body="سر",
                visibility=Visibility.INTERNAL,
            )
    with pytest.raises(RuntimeError):  # services refuse to run outside the agency's schema
        services.comment_add(
            agency=agency,
            request_obj=team["item"],
            author=team["assignee"],
            body="x",
            visibility=Visibility.EXTERNAL,
        )


# --- asking for information -------------------------------------------------------------------


def test_ask_information_then_beneficiary_reply_returns_it_to_in_progress(client, team):
    agency, assignee, beneficiary = team["agency"], team["assignee"], team["beneficiary"]
    client.force_login(assignee)
    before = state(team)
    response = act(client, ws(team, "request_ask"), {"text": "  "})
    assert flash(response) == [ar("Write what you need from the beneficiary.")]
    assert state(team) == before

    response = act(client, ws(team, "request_ask"), {"text": "أرسل صورة العقد"})
    assert response.status_code == 302 and flash(response) == []
    item = fresh(team)
    assert item.status == Status.AWAITING_BENEFICIARY
    assert_index_matches(agency, item)
    assert timeline(team)[-1] == (TimelineEvent.INFO_REQUESTED, Visibility.EXTERNAL)
    assert audit_actions(team)[-1] == "request.info_requested"
    asked = Notification.objects.get(recipient=beneficiary, event="request.info_requested")
    render_pending()
    assert {d.channel for d in asked.deliveries.all()} == {INAPP, EMAIL, SMS}
    run_pending_jobs()
    assert "أرسل صورة العقد" in SmsMessage.objects.get(to=beneficiary.mobile).body

    # the beneficiary answers from the public page, with a file
    portal = client.__class__()
    portal.force_login(beneficiary)
    page = portal.get(public_page(team)).content.decode()
    assert "أرسل صورة العقد" in page and ar("Answer the agency") in page
    response = portal.post(
        public_page(team), {"body": "هذه صورة العقد", "attachments": [pdf_upload("contract.pdf")]}
    )
    assert response.status_code == 302 and response["Location"] == public_page(team)
    item = fresh(team)
    assert item.status == Status.IN_PROGRESS
    assert_index_matches(agency, item)
    assert timeline(team)[-1] == (TimelineEvent.INFO_PROVIDED, Visibility.EXTERNAL)
    assert audit_actions(team)[-1] == "request.comment.external"
    with schema_context(agency.schema_name):
        reply = Comment.objects.filter(request=item).latest("id")
        assert reply.author_id == beneficiary.pk and reply.visibility == Visibility.EXTERNAL
        assert reply.attachments.get().original_name == "contract.pdf"
    replied = Notification.objects.get(recipient=assignee, event="request.replied")
    render_pending()
    assert [d.channel for d in replied.deliveries.all()] == [INAPP]
    assert replied.link == f"/a/{agency.slug}/requests/{item.pk}/"
    assert run_pending_jobs() == 0  # in-app only: no job, no SMS, no email to the employee
    # a reply is not a second "information provided": a later comment is a plain comment
    portal.post(public_page(team), {"body": "وشكرًا"})
    assert timeline(team)[-1] == (TimelineEvent.COMMENTED, Visibility.EXTERNAL)
    assert fresh(team).status == Status.IN_PROGRESS


# --- resolving and rejecting ------------------------------------------------------------------


def test_start_then_resolve(client, team):
    agency, beneficiary = team["agency"], team["beneficiary"]
    client.force_login(team["assignee"])
    response = act(client, ws(team, "request_start"))
    assert response.status_code == 302
    item = fresh(team)
    assert item.status == Status.IN_PROGRESS and item.first_response_at is not None
    assert_index_matches(agency, item)
    assert timeline(team)[-1] == (TimelineEvent.STARTED, Visibility.EXTERNAL)

    response = act(client, ws(team, "request_resolve"), {"text": "تم إصدار الرخصة", "confirm": "1"})
    assert response.status_code == 302
    item = fresh(team)
    assert item.status == Status.CLOSED
    assert item.closed_at is not None
    assert abs((timezone.now() - item.closed_at).total_seconds()) < 60
    row = assert_index_matches(agency, item)
    assert row.status == Status.CLOSED and row.closed_at == item.closed_at
    assert timeline(team)[-1] == (TimelineEvent.RESOLVED, Visibility.EXTERNAL)
    actions = audit_actions(team)
    assert actions[0] == "request.submit"
    assert actions[-2:] == ["request.started", "request.resolved"]
    with schema_context(agency.schema_name):
        event = AuditEvent.objects.filter(action="request.resolved", object_id=str(item.pk)).get()
        assert event.actor_id == team["assignee"].pk
        assert event.before == {"status": Status.IN_PROGRESS}
        assert event.after == {"status": Status.CLOSED}
        assert event.ip_address == "127.0.0.1"
        note = Comment.objects.filter(request=item).latest("id")
        assert note.body == "تم إصدار الرخصة" and note.visibility == Visibility.EXTERNAL
    resolved = Notification.objects.get(recipient=beneficiary, event="request.resolved")
    render_pending()
    assert {d.channel for d in resolved.deliveries.all()} == {INAPP, EMAIL, SMS}
    # the closed request's page: the step and the note, no reply form
    portal = client.__class__()
    portal.force_login(beneficiary)
    page = portal.get(public_page(team)).content.decode()
    assert "timeline__step--resolved" in page and "تم إصدار الرخصة" in page
    assert 'name="body"' not in page


def test_index_is_written_in_the_same_transaction(team, monkeypatch):
    """If anything after the index write fails, the request and its index row roll back
    together."""
    agency = team["agency"]
    before = state(team)

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("requests_app.services.actions.audit.agency_record", broken)
    with schema_context(agency.schema_name):
        with pytest.raises(RuntimeError):
            services.request_resolve(
                agency=agency, request_obj=team["item"], actor=team["assignee"]
            )
    assert state(team) == before
    row = RequestIndex.objects.get(agency=agency, request_id=team["item"].pk)
    assert row.status == Status.NEW and row.closed_at is None


def test_reject_needs_a_reason(client, team):
    agency = team["agency"]
    client.force_login(team["assignee"])
    before = state(team)
    for data in ({}, {"text": ""}, {"text": "   \n "}):
        response = act(client, ws(team, "request_reject"), data)
        assert response.status_code == 302
        assert flash(response) == [ar("Give the reason for rejecting the request.")]
    assert state(team) == before
    with schema_context(agency.schema_name), pytest.raises(ValidationError) as error:
        services.request_reject(
            agency=agency, request_obj=team["item"], actor=team["assignee"], reason=""
        )
    assert "reason" in error.value.error_dict
    assert state(team) == before

    response = act(
        client, ws(team, "request_reject"), {"text": "الخدمة لا تشمل هذه الحالة", "confirm": "1"}
    )
    assert response.status_code == 302
    item = fresh(team)
    assert item.status == Status.REJECTED
    assert item.rejection_reason == "الخدمة لا تشمل هذه الحالة"
    assert item.closed_at is not None
    assert_index_matches(agency, item)
    assert timeline(team)[-1] == (TimelineEvent.REJECTED, Visibility.EXTERNAL)
    assert audit_actions(team)[-1] == "request.rejected"
    rejected = Notification.objects.get(recipient=team["beneficiary"], event="request.rejected")
    run_pending_jobs()
    sms = SmsMessage.objects.get(to=team["beneficiary"].mobile)
    assert rejected.deliveries.count() == 3
    assert item.reference in sms.body


@pytest.mark.parametrize("closing", ["request_resolve", "request_reject"])
def test_actions_on_a_closed_request_are_refused(client, team, closing):
    agency = team["agency"]
    client.force_login(team["assignee"])
    assert act(client, ws(team, closing), {"text": "سبب", "confirm": "1"}).status_code == 302
    closed_status = fresh(team).status
    assert closed_status in (Status.CLOSED, Status.REJECTED)
    before = state(team)
    for name, data, message in [
        ("request_start", {}, "This request is already closed."),
        ("request_ask", {"text": "سؤال"}, "This request is already closed."),
        ("request_resolve", {"text": ""}, "This request is already closed."),
        ("request_reject", {"text": "سبب آخر"}, "This request is already closed."),
        ("request_comment", {"body": "تعليق", "visibility": "external"}, "This request is closed."),
        ("request_comment", {"body": "تعليق", "visibility": "internal"}, "This request is closed."),
    ]:
        response = act(client, ws(team, name), data)
        assert response.status_code == 302, name
        assert flash(response) == [ar(message)], name  # shown on the page, no 500
    assert state(team) == before
    # the services say the same
    with schema_context(agency.schema_name):
        for call in (
            lambda: services.request_start(
                agency=agency, request_obj=team["item"], actor=team["assignee"]
            ),
            lambda: services.request_resolve(
                agency=agency, request_obj=team["item"], actor=team["assignee"]
            ),
            lambda: services.comment_add(
                agency=agency,
                request_obj=team["item"],
                author=team["assignee"],
                body="x",
                visibility=Visibility.INTERNAL,
            ),
        ):
            with pytest.raises(ValidationError):
                call()
    assert state(team) == before
    # the closed request's staff page offers no actions
    page = client.get(ws(team, "request_detail")).content.decode()
    assert ws(team, "request_resolve") not in page


def test_beneficiary_cannot_post_on_a_closed_request(client, team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        services.request_resolve(agency=agency, request_obj=team["item"], actor=team["assignee"])
    before = state(team)
    client.force_login(team["beneficiary"])
    page = client.get(public_page(team))
    assert page.status_code == 200 and 'name="body"' not in page.content.decode()
    response = act(
        client, public_page(team), {"body": "ما زلت أنتظر", "attachments": [png_upload()]}
    )
    assert response.status_code == 302 and response["Location"] == public_page(team)
    assert flash(response) == [ar("This request is closed.")]
    assert state(team) == before
    with schema_context(agency.schema_name), pytest.raises(ValidationError):
        services.comment_add(
            agency=agency,
            request_obj=team["item"],
            author=team["beneficiary"],
            body="x",
            visibility=Visibility.EXTERNAL,
        )


# --- the index row follows every change ---------------------------------------------------------


def test_index_row_follows_every_step(client, team):
    agency = team["agency"]
    beneficiary = team["beneficiary"]
    # submitted with a chosen priority, assigned in the same transaction
    item = make_request(
        agency,
        beneficiary=beneficiary,
        request_type=team["type"],
        priority=Priority.URGENT,
        subject="طلب عاجل",
    )
    team = {**team, "item": item}
    row = assert_index_matches(agency, item)
    assert row.priority == Priority.URGENT and row.assignee_user_id == team["assignee"].pk
    assert row.status == Status.NEW

    client.force_login(team["assignee"])
    portal = client.__class__()
    portal.force_login(beneficiary)
    steps = [
        (client, ws(team, "request_comment"), {"body": "داخلي", "visibility": "internal"}),
        (client, ws(team, "request_start"), {}),
        (client, ws(team, "request_ask"), {"text": "سؤال"}),
        (portal, public_page(team), {"body": "جواب"}),
        (client, ws(team, "request_comment"), {"body": "شكرًا", "visibility": "external"}),
        (client, ws(team, "request_resolve"), {"text": "", "confirm": "1"}),
    ]
    statuses = []
    for who, url, data in steps:
        assert act(who, url, data).status_code == 302, url
        statuses.append(assert_index_matches(agency, item).status)
    assert statuses == [
        Status.NEW,
        Status.IN_PROGRESS,
        Status.AWAITING_BENEFICIARY,
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        Status.CLOSED,
    ]


def test_unassigned_submission_is_indexed_without_assignee(team):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        empty = department_save(actor=team["admin"], name_ar="قسم فارغ", name_en="Empty")
    lonely_type = make_type(agency, actor=team["admin"], department=empty)
    item = make_request(agency, request_type=lonely_type)
    with schema_context(agency.schema_name):
        assert item.assignee_id is None
        assert not TimelineEvent.objects.filter(request=item, kind=TimelineEvent.ASSIGNED)
    row = assert_index_matches(agency, item)
    assert row.assignee_user_id is None and row.status == Status.NEW


# --- references ---------------------------------------------------------------------------


def test_references_per_agency_and_year(agency_a, agency_b):
    year = timezone.localtime().year
    start_a, start_b = reference_counter(agency_a, year), reference_counter(agency_b, year)
    type_a, type_b = make_type(agency_a), make_type(agency_b)
    first = make_request(agency_a, request_type=type_a)
    second = make_request(agency_a, request_type=type_a)
    in_beta = make_request(agency_b, request_type=type_b)
    third = make_request(agency_a, request_type=type_a)
    assert re.fullmatch(r"ALP-\d{4}-\d{6}", first.reference)
    assert first.reference == f"ALP-{year}-{start_a + 1:06d}"
    assert second.reference == f"ALP-{year}-{start_a + 2:06d}"
    assert third.reference == f"ALP-{year}-{start_a + 3:06d}"  # beta's request took no number
    assert in_beta.reference == f"BET-{year}-{start_b + 1:06d}"
    if start_a == 0:  # a fresh database: the very first request of the year
        assert first.reference == f"ALP-{year}-000001"
    # the index holds the same references
    assert RequestIndex.objects.get(agency=agency_a, request_id=third.pk).reference == (
        third.reference
    )
    assert RequestIndex.objects.get(agency=agency_b, request_id=in_beta.pk).reference == (
        in_beta.reference
    )
    # each year starts its own sequence
    later = year + 5
    with schema_context(agency_a.schema_name):
        assert _next_reference(agency_a, later) == f"ALP-{later}-000001"
        assert _next_reference(agency_a, later) == f"ALP-{later}-000002"
        assert _next_reference(agency_a, year) == f"ALP-{year}-{start_a + 4:06d}"
    with schema_context(agency_b.schema_name):
        assert _next_reference(agency_b, later) == f"BET-{later}-000001"
