"""Isolation of requests at every level (issue 4): pages, actions, attachments, JSON API,
websocket groups, notifications. Anonymous visitors, other beneficiaries, other agencies'
employees and colleagues who are neither the assignee nor allowed to see everything are refused;
internal comments, attachments and steps never reach the beneficiary."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from accounts.models import SmsMessage
from core.files.storage import reset_private_storage
from core.realtime import object_group
from notifications.models import Delivery, Notification
from portal.asgi import application
from portal.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, user_group
from requests_app.constants import Status, Visibility
from requests_app.models import Attachment, Comment, Request, TimelineEvent
from requests_app.public.models import RequestIndex
from requests_app.services import comment_add
from tenants.services import department_save
from tenants.staff.models import AuditEvent, Membership
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    pdf_upload,
    png_upload,
)
from tests.jobs import render_pending, run_pending_jobs

INTERNAL_TEXT = "ملاحظة-داخلية-سرية-7731"
INTERNAL_FILE = "internal-memo-7731.pdf"
EXTERNAL_TEXT = "رد-خارجي-للمستفيد-4410"
EXTERNAL_FILE = "external-scan.png"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # as in tests/portal/test_websocket.py: database_sync_to_async must not close the test's
    # connection (it is inside the test transaction).
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def _into_department(agency, user, department) -> Membership:
    with schema_context(agency.schema_name):
        Membership.objects.filter(user_id=user.pk).update(department=department)
        return Membership.objects.get(user_id=user.pk)


@pytest.fixture
def world(agency_a, agency_b):
    """Agency A with a department whose only worker is ``assignee``; a colleague outside it;
    a supervisor and an admin; agency B's employee; two beneficiaries. One request of
    ``beneficiary`` to A with an external attachment, then an internal comment with an
    internal attachment."""
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        department = department_save(actor=admin, name_ar="قسم الرخص", name_en="Licences")
    assignee = make_employee(agency_a)
    _into_department(agency_a, assignee, department)
    colleague = make_employee(agency_a)  # requests.work only, another (no) department
    supervisor = make_employee(agency_a, roles=("supervisor",))
    employee_b = make_employee(agency_b)
    admin_b = make_employee(agency_b, roles=("admin",))
    beneficiary = make_beneficiary()
    other_beneficiary = make_beneficiary()
    request_type = make_type(agency_a, actor=admin, department=department)
    item = make_request(
        agency_a,
        beneficiary=beneficiary,
        request_type=request_type,
        attachments=[png_upload(EXTERNAL_FILE)],
    )
    with schema_context(agency_a.schema_name):
        assert item.assignee.user_id == assignee.pk
        comment_add(
            agency=agency_a,
            request_obj=item,
            author=assignee,
            body=INTERNAL_TEXT,
            visibility=Visibility.INTERNAL,
            attachments=[pdf_upload(INTERNAL_FILE)],
        )
        external_file = Attachment.objects.get(request=item, visibility=Visibility.EXTERNAL)
        internal_file = Attachment.objects.get(request=item, visibility=Visibility.INTERNAL)
        assignee_membership = Membership.objects.get(user_id=assignee.pk)
    return {
        "agency": agency_a,
        "agency_b": agency_b,
        "admin": admin,
        "department": department,
        "assignee": assignee,
        "assignee_membership": assignee_membership,
        "colleague": colleague,
        "supervisor": supervisor,
        "employee_b": employee_b,
        "admin_b": admin_b,
        "beneficiary": beneficiary,
        "other_beneficiary": other_beneficiary,
        "type": request_type,
        "item": item,
        "external_file": external_file,
        "internal_file": internal_file,
    }


# --- URL tables -------------------------------------------------------------------------------


def public_urls(w) -> dict[str, str]:
    slug, ref = w["agency"].slug, w["item"].reference
    return {
        "detail": reverse("requests:detail", kwargs={"agency_slug": slug, "reference": ref}),
        "file": reverse(
            "requests:file",
            kwargs={"agency_slug": slug, "reference": ref, "file_id": w["external_file"].pk},
        ),
        "api": reverse("api:api_detail", kwargs={"agency_slug": slug, "reference": ref}),
        "submitted": reverse("requests:submitted", kwargs={"agency_slug": slug, "reference": ref}),
    }


def _w(w, name, **kwargs) -> str:
    return reverse(f"workspace:{name}", kwargs={"agency_slug": w["agency"].slug, **kwargs})


REQUEST_ACTIONS = [
    "request_comment",
    "request_start",
    "request_ask",
    "request_resolve",
    "request_reject",
    "request_reopen",
    "request_reassign",
    "request_postpone",
]


def request_urls(w) -> dict[str, str]:
    """The workspace URLs of the one request (pages and actions)."""
    rid = w["item"].pk
    urls = {"request_detail": _w(w, "request_detail", request_id=rid)}
    for name in REQUEST_ACTIONS:
        urls[name] = _w(w, name, request_id=rid)
    urls["request_file"] = _w(w, "request_file", request_id=rid, file_id=w["internal_file"].pk)
    urls["request_file_external"] = _w(
        w, "request_file", request_id=rid, file_id=w["external_file"].pk
    )
    return urls


def admin_urls(w) -> dict[str, str]:
    """Catalogue, distribution and availability pages (agency admin)."""
    with schema_context(w["agency"].schema_name):
        from requests_app.models import DistributionRule

        rule = DistributionRule.objects.create(name_ar="قاعدة", name_en="Rule")
        membership_id = w["assignee_membership"].pk
    return {
        "catalogue_list": _w(w, "catalogue_list"),
        "catalogue_edit": _w(w, "catalogue_edit", type_id=w["type"].pk),
        "distribution_list": _w(w, "distribution_list"),
        "distribution_edit": _w(w, "distribution_edit", rule_id=rule.pk),
        "employee_availability": _w(w, "employee_availability", membership_id=membership_id),
        "sla_settings": _w(w, "sla_settings"),
        "approval_list": _w(w, "approval_list"),
        "satisfaction": _w(w, "satisfaction"),
        "archive": _w(w, "archive"),
    }


def approval_url(w) -> str:
    """The decision URL of a pending approval on the request (supervisors only, POST)."""
    from requests_app.models import ApprovalRequest

    with schema_context(w["agency"].schema_name):
        approval = ApprovalRequest.objects.create(
            request=w["item"],
            kind=ApprovalRequest.POSTPONE,
            requested_by=w["assignee"],
            reason="…",
            postpone_until=w["item"].created_at + timedelta(days=30),
        )
    return _w(w, "approval_decide", approval_id=approval.pk)


def workspace_urls(w) -> dict[str, str]:
    return {
        "queue": _w(w, "queue"),
        "calendar": _w(w, "calendar"),  # every employee's own calendar
        **request_urls(w),
        **admin_urls(w),
        "approval_decide": approval_url(w),
    }


def test_outsiders_cannot_decide_approvals(client, world):
    url = approval_url(world)
    for who, expected in (
        ("colleague", 403),
        ("beneficiary", 403),
        ("admin_b", 403),
        ("employee_b", 403),
    ):
        client.force_login(world[who])
        assert client.post(url, {"decision": "approve"}).status_code == expected, who
    client.logout()
    assert client.post(url, {"decision": "approve"}).status_code == 302
    from requests_app.models import ApprovalRequest

    with schema_context(world["agency"].schema_name):
        assert (
            ApprovalRequest.objects.get(pk=int(url.rstrip("/").rsplit("/", 1)[1])).status
            == ApprovalRequest.PENDING
        )


def test_tables_cover_every_request_url(world):
    from requests_app.urls import api_patterns, urlpatterns, workspace_urlpatterns

    names = set(workspace_urls(world))
    assert {p.name for p in workspace_urlpatterns} <= names
    # the public URLs naming one request: all four are in public_urls()
    per_request = {
        p.name for p in urlpatterns + api_patterns if "reference" in p.pattern.converters
    }
    assert per_request == {"detail", "file", "api_detail", "submitted"}
    assert len(public_urls(world)) == len(per_request)


def snapshot(w) -> dict:
    """Everything an action on the request could change."""
    agency = w["agency"]
    with schema_context(agency.schema_name):
        item = Request.objects.get(pk=w["item"].pk)
        state = {
            "status": item.status,
            "assignee": item.assignee_id,
            "updated_at": item.updated_at,
            "closed_at": item.closed_at,
            "comments": Comment.objects.filter(request=item).count(),
            "attachments": Attachment.objects.filter(request=item).count(),
            "timeline": TimelineEvent.objects.filter(request=item).count(),
            "audit": AuditEvent.objects.filter(action__startswith="request.").count(),
        }
    row = RequestIndex.objects.get(agency=agency, request_id=w["item"].pk)
    state["index"] = (row.status, row.updated_at, row.closed_at)
    state["notifications"] = Notification.objects.count()
    return state


ACTION_DATA = {
    "request_comment": {"body": "تعليق", "visibility": Visibility.EXTERNAL},
    "request_start": {},
    "request_ask": {"text": "سؤال"},
    "request_resolve": {"text": "تم", "confirm": "1"},
    "request_reject": {"text": "سبب", "confirm": "1"},
    "request_reopen": {"text": "سبب"},
}


# --- public URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("other_beneficiary", 404),
        ("employee_b", 404),
        ("admin_b", 404),
        ("assignee", 404),  # staff use the workspace; the public pages are the beneficiary's
        ("beneficiary", 200),
    ],
)
def test_public_request_urls_table(client, world, who, expected):
    if who != "anonymous":
        client.force_login(world[who])
    urls = public_urls(world)
    for name, url in urls.items():
        response = client.get(url)
        if name == "api" and expected == "login":
            assert response.status_code == 401, who
            assert response["Content-Type"] == "application/json"
            assert "error" in response.json()
        elif expected == "login":
            assert response.status_code == 302, (who, name)
            assert response["Location"].startswith(reverse("account_login"))
        else:
            assert response.status_code == expected, (who, name, response.status_code)
            if name == "api" and expected == 404:
                assert response.json() == {"error": response.json()["error"]}
    # a comment posted on the request page by anyone but the beneficiary changes nothing
    before = snapshot(world)
    response = client.post(urls["detail"], {"body": "محاولة"})
    if who == "beneficiary":
        assert response.status_code == 302
        assert snapshot(world)["comments"] == before["comments"] + 1
    else:
        assert response.status_code == (302 if expected == "login" else 404)
        assert snapshot(world) == before


def test_attachment_urls_for_beneficiaries(client, world):
    slug, ref = world["agency"].slug, world["item"].reference

    def file_url(attachment):
        return reverse(
            "requests:file",
            kwargs={"agency_slug": slug, "reference": ref, "file_id": attachment.pk},
        )

    client.force_login(world["beneficiary"])
    response = client.get(file_url(world["external_file"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["Cache-Control"] == "private, no-store"
    # the internal attachment of the same request, by its real id: not found
    assert client.get(file_url(world["internal_file"])).status_code == 404
    # an id that does not exist answers the same
    missing = file_url(world["internal_file"]).replace(
        f"/{world['internal_file'].pk}/", "/99999999/"
    )
    assert client.get(missing).status_code == 404

    other = client.__class__()
    other.force_login(world["other_beneficiary"])
    assert other.get(file_url(world["external_file"])).status_code == 404
    assert other.get(file_url(world["internal_file"])).status_code == 404

    # the staff side serves both to the assignee, nothing to the beneficiary
    staff_urls = request_urls(world)
    assert client.get(staff_urls["request_file"]).status_code == 403
    assignee = client.__class__()
    assignee.force_login(world["assignee"])
    for key, start in (("request_file", b"%PDF"), ("request_file_external", b"\x89PNG")):
        response = assignee.get(staff_urls[key])
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(start)


def test_attachment_of_another_request_is_not_served_through_mine(client, world):
    """File ids are checked against the request in the URL: my own request's URL with the id
    of someone else's attachment is a 404."""
    other_item = make_request(
        world["agency"],
        beneficiary=world["other_beneficiary"],
        request_type=world["type"],
        attachments=[png_upload("theirs.png")],
    )
    with schema_context(world["agency"].schema_name):
        theirs = Attachment.objects.get(request=other_item)
    client.force_login(world["beneficiary"])
    url = reverse(
        "requests:file",
        kwargs={
            "agency_slug": world["agency"].slug,
            "reference": world["item"].reference,
            "file_id": theirs.pk,
        },
    )
    assert client.get(url).status_code == 404
    assignee = client.__class__()
    assignee.force_login(world["assignee"])
    staff_url = _w(world, "request_file", request_id=world["item"].pk, file_id=theirs.pk)
    assert assignee.get(staff_url).status_code == 404


# --- workspace URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "who", ["anonymous", "beneficiary", "other_beneficiary", "employee_b", "admin_b"]
)
def test_outsiders_are_refused_on_every_workspace_url(client, world, who, method):
    if who != "anonymous":
        client.force_login(world[who])
    urls = workspace_urls(world)
    for name, url in urls.items():
        before = snapshot(world)
        response = getattr(client, method)(url, ACTION_DATA.get(name, {}))
        if who == "anonymous":
            assert response.status_code == 302, (name, method)
            assert response["Location"].startswith(reverse("account_login"))
        else:
            assert response.status_code == 403, (who, name, method, response.status_code)
        assert snapshot(world) == before, (who, name, method)


def test_colleague_without_view_all_gets_404_and_changes_nothing(client, world):
    colleague = world["colleague"]
    client.force_login(colleague)
    # their own queue works and does not list the request
    response = client.get(_w(world, "queue"))
    assert response.status_code == 200
    assert world["item"].reference not in response.content.decode()
    for scope in ("all", "unassigned"):
        page = client.get(_w(world, "queue") + f"?scope={scope}").content.decode()
        assert world["item"].reference not in page
    for name, url in request_urls(world).items():
        assert client.get(url).status_code in (404, 405), name
        before = snapshot(world)
        response = client.post(url, ACTION_DATA.get(name, {}))
        assert response.status_code == 404, (name, response.status_code)
        assert snapshot(world) == before, name
    # the admin pages need their own permissions
    for name, url in admin_urls(world).items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {}).status_code == 403, name


@pytest.mark.parametrize("who", ["assignee", "supervisor"])
def test_assignee_and_supervisor_reach_the_request(client, world, who):
    client.force_login(world[who])
    queue = client.get(_w(world, "queue") + ("?scope=all" if who == "supervisor" else ""))
    assert queue.status_code == 200
    assert world["item"].reference in queue.content.decode()
    urls = request_urls(world)
    page = client.get(urls["request_detail"])
    assert page.status_code == 200
    html = page.content.decode()
    # staff see the internal comment and file
    assert INTERNAL_TEXT in html and INTERNAL_FILE in html
    for name in ("request_file", "request_file_external"):
        assert client.get(urls[name]).status_code == 200
    for name in REQUEST_ACTIONS:
        assert client.get(urls[name]).status_code == 405  # POST only
    response = client.post(urls["request_comment"], ACTION_DATA["request_comment"])
    assert response.status_code == 302
    assert response["Location"] == urls["request_detail"]
    response = client.post(urls["request_start"])
    assert response.status_code == 302
    with schema_context(world["agency"].schema_name):
        assert Request.objects.get(pk=world["item"].pk).status == Status.IN_PROGRESS


def test_admin_pages_answer_the_admin(client, world):
    client.force_login(world["admin"])
    for name, url in admin_urls(world).items():
        assert client.get(url).status_code == 200, name


def test_assignee_actions_each_answer_302(client, world):
    client.force_login(world["assignee"])
    urls = request_urls(world)
    for name in ("request_start", "request_ask", "request_resolve"):
        response = client.post(urls[name], ACTION_DATA[name])
        assert response.status_code == 302, name
        assert response["Location"] == urls["request_detail"]
    with schema_context(world["agency"].schema_name):
        assert Request.objects.get(pk=world["item"].pk).status == Status.CLOSED


# --- what the beneficiary sees ------------------------------------------------------------------


def _internal_labels() -> set[str]:
    labels = {"Internal", str(Visibility.INTERNAL.label)}
    for language in ("ar", "en"):
        with translation.override(language):
            labels.add(gettext("Internal"))
            labels.add(gettext("Internal (team only)"))
    return labels


def _drain(layer, channel) -> list[dict]:
    async def run():
        import asyncio

        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
            except TimeoutError:
                return messages

    return async_to_sync(run)()


def test_internal_comments_never_reach_the_beneficiary(
    client, world, django_capture_on_commit_callbacks
):
    agency, item, beneficiary = world["agency"], world["item"], world["beneficiary"]
    layer = get_channel_layer()
    public_group = user_group(settings.PUBLIC_SCHEMA_NAME, beneficiary.pk)
    agency_group = user_group(agency.schema_name, beneficiary.pk)
    channel = async_to_sync(layer.new_channel)()
    agency_channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(public_group, channel)
    async_to_sync(layer.group_add)(agency_group, agency_channel)
    run_pending_jobs()  # the world's own notifications: rendered (and not pushed) before
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with schema_context(agency.schema_name):
                # a second internal note (text only) and an external reply with a file
                comment_add(
                    agency=agency,
                    request_obj=item,
                    author=world["assignee"],
                    body=INTERNAL_TEXT + " (2)",
                    visibility=Visibility.INTERNAL,
                )
                comment_add(
                    agency=agency,
                    request_obj=item,
                    author=world["assignee"],
                    body=EXTERNAL_TEXT,
                    visibility=Visibility.EXTERNAL,
                    attachments=[pdf_upload("answer.pdf")],
                )
        with django_capture_on_commit_callbacks(execute=True):
            run_pending_jobs()  # rendering (then the live pushes) and sending
        pushed = _drain(layer, channel)
        pushed_agency = _drain(layer, agency_channel)
    finally:
        async_to_sync(layer.group_discard)(public_group, channel)
        async_to_sync(layer.group_discard)(agency_group, agency_channel)

    forbidden = [INTERNAL_TEXT, INTERNAL_FILE]

    # the request page
    client.force_login(beneficiary)
    html = client.get(
        reverse("requests:detail", kwargs={"agency_slug": agency.slug, "reference": item.reference})
    ).content.decode()
    assert EXTERNAL_TEXT in html and "answer.pdf" in html and EXTERNAL_FILE in html
    for text in forbidden:
        assert text not in html
    for label in _internal_labels():
        assert label not in html, label
    internal_kinds = {TimelineEvent.ASSIGNED, TimelineEvent.UNASSIGNED}
    for kind in internal_kinds:
        assert f"timeline__step--{kind}" not in html
    with translation.override("ar"):
        assert gettext("Assigned") not in html.replace(gettext("not assigned yet"), "")
    assert f"/files/{world['internal_file'].pk}/" not in html

    # the JSON API
    response = client.get(
        reverse("api:api_detail", kwargs={"agency_slug": agency.slug, "reference": item.reference})
    )
    assert response.status_code == 200
    body = response.content.decode()
    data = response.json()
    for text in forbidden:
        assert text not in body
    kinds = [event["kind"] for event in data["timeline"]]
    assert not internal_kinds & set(kinds)
    assert kinds.count(TimelineEvent.COMMENTED) == 1  # only the external comment
    assert any(EXTERNAL_TEXT == event["comment"] for event in data["timeline"])
    files = [name for event in data["timeline"] for name in event["files"]]
    assert files == ["answer.pdf"]

    # notifications: rows, delivery bodies (after the jobs ran), SMS outbox, email
    notifications = list(Notification.objects.filter(recipient=beneficiary))
    assert {n.event for n in notifications} == {"request.submitted", "request.commented"}
    deliveries = list(Delivery.objects.filter(notification__recipient=beneficiary))
    assert deliveries
    sms = list(SmsMessage.objects.filter(to=beneficiary.mobile))
    assert sms and any(EXTERNAL_TEXT in m.body for m in sms)
    emails = [m for m in mail.outbox if beneficiary.email in m.to]
    assert emails
    texts = [n.title + n.body + n.link for n in notifications]
    texts += [d.subject + d.body + d.html for d in deliveries]
    texts += [m.body for m in sms]
    texts += [m.subject + m.body + "".join(a[0] for a in m.alternatives) for m in emails]
    for text in texts:
        for secret in forbidden:
            assert secret not in text

    # the live stream of the beneficiary
    payloads = [m["payload"] for m in pushed]
    assert [p["event"] for p in payloads] == ["request.commented"]
    assert EXTERNAL_TEXT in json.dumps(payloads, ensure_ascii=False)
    everything = json.dumps(payloads + [m["payload"] for m in pushed_agency], ensure_ascii=False)
    for secret in forbidden:
        assert secret not in everything


def test_internal_comment_alone_notifies_and_pushes_nothing(
    world, django_capture_on_commit_callbacks
):
    agency, beneficiary = world["agency"], world["beneficiary"]
    run_pending_jobs()  # the setup's invitations and submission receipt
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        with schema_context(agency.schema_name):
            comment_add(
                agency=agency,
                request_obj=world["item"],
                author=world["assignee"],
                body="ملاحظة للفريق فقط",
                visibility=Visibility.INTERNAL,
            )
    # Nothing for the beneficiary: the one thing sent after the commit is the contentless
    # change notice to the request's workspace sockets (staff who may open it, issue 11).
    assert [(c.args[0], c.args[1]) for c in callbacks] == [
        (
            object_group("request", agency.schema_name, world["item"].pk),
            {"type": "object.changed", "what": "activity", "by": None},
        )
    ]
    assert Notification.objects.count() == before
    assert run_pending_jobs() == 0
    assert not Notification.objects.filter(recipient=beneficiary, event="request.commented")


# --- websocket groups -----------------------------------------------------------------------


def _headers(client_class, user=None):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        client = client_class()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def _try_connect(path, headers):
    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=3)
        await communicator.disconnect()
        return connected, code

    return async_to_sync(run)()


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anonymous", CLOSE_UNAUTHENTICATED),
        ("beneficiary", CLOSE_FORBIDDEN),
        ("other_beneficiary", CLOSE_FORBIDDEN),
        ("employee_b", CLOSE_FORBIDDEN),
        ("admin_b", CLOSE_FORBIDDEN),
    ],
)
def test_agency_group_refuses_outsiders(client, world, who, code):
    user = None if who == "anonymous" else world[who]
    connected, close_code = _try_connect(
        f"/ws/a/{world['agency'].slug}/notifications/", _headers(client.__class__, user)
    )
    assert not connected and close_code == code


def test_assignment_push_reaches_only_the_assignee(
    client, world, django_capture_on_commit_callbacks
):
    agency = world["agency"]
    client_class = client.__class__
    sockets = {
        "assignee": (f"/ws/a/{agency.slug}/notifications/", world["assignee"]),
        "assignee_public": ("/ws/notifications/", world["assignee"]),
        "colleague": (f"/ws/a/{agency.slug}/notifications/", world["colleague"]),
        "supervisor": (f"/ws/a/{agency.slug}/notifications/", world["supervisor"]),
        "employee_b": (f"/ws/a/{world['agency_b'].slug}/notifications/", world["employee_b"]),
        "beneficiary": ("/ws/notifications/", world["beneficiary"]),
        "other_beneficiary": ("/ws/notifications/", world["other_beneficiary"]),
    }
    headers = {name: _headers(client_class, user) for name, (_path, user) in sockets.items()}
    new_beneficiary = world["other_beneficiary"]

    def submit():
        with django_capture_on_commit_callbacks(execute=True):
            item = make_request(agency, beneficiary=new_beneficiary, request_type=world["type"])
            render_pending()  # the rendering job pushes, after its commit
        return item

    async def run():
        communicators = {}
        for name, (path, _user) in sockets.items():
            communicator = WebsocketCommunicator(application, path, headers=headers[name])
            connected, _ = await communicator.connect(timeout=3)
            assert connected, name
            assert (await communicator.receive_json_from(timeout=3))["type"] == "hello"
            communicators[name] = communicator
        item = await sync_to_async(submit)()
        received = {}
        for name, communicator in communicators.items():
            messages = []
            while not await communicator.receive_nothing(timeout=0.3):
                messages.append(await communicator.receive_json_from(timeout=1))
            received[name] = messages
            await communicator.disconnect()
        return item, received

    run_pending_jobs()  # the world's own notifications: rendered (and not pushed) before
    item, received = async_to_sync(run)()
    with schema_context(agency.schema_name):
        assert Request.objects.get(pk=item.pk).assignee.user_id == world["assignee"].pk
    assigned = {
        name: [m for m in messages if m.get("event") == "request.assigned"]
        for name, messages in received.items()
    }
    assert len(assigned["assignee"]) == 1
    assert assigned["assignee"][0]["link"] == f"/a/{agency.slug}/requests/{item.pk}/"
    assert len(assigned["assignee_public"]) == 1  # their own portal bell
    for name in ("colleague", "supervisor", "employee_b", "beneficiary", "other_beneficiary"):
        assert assigned[name] == [], name
    # the submitter hears of their own submission only; nobody else hears anything
    assert [m["event"] for m in received["other_beneficiary"]] == ["request.submitted"]
    for name in ("colleague", "supervisor", "employee_b", "beneficiary"):
        assert received[name] == [], name
