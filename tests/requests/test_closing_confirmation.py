"""Reject and resolve ask for confirmation (issue 12), without JavaScript: the first POST shows
a page that says what will happen, with the text the employee typed still there and editable,
and changes nothing; the POST with confirm=1 applies it."""

import html

import pytest
from django.utils import translation
from django.utils.translation import gettext

from notifications.models import Notification
from requests_app.constants import Status
from tests.requests.test_actions import act, fresh, state, ws

REASON = "المستندات المرفقة غير مقروءة <ولا> تكفي & لا تشمل الصفحة الثانية"


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


REJECT_CONSEQUENCE = (
    "The beneficiary will be told the request is rejected with your reason. The request "
    "will be closed."
)
RESOLVE_CONSEQUENCE = (
    "The request will be closed as completed. The beneficiary will be told, with your "
    "note if you wrote one, and invited to rate the service."
)


@pytest.mark.parametrize(
    ("step", "consequence", "button", "closed_as", "event"),
    [
        ("reject", REJECT_CONSEQUENCE, "Yes, reject the request", Status.REJECTED, "rejected"),
        ("resolve", RESOLVE_CONSEQUENCE, "Yes, resolve the request", Status.CLOSED, "resolved"),
    ],
)
def test_first_post_asks_then_confirm_applies(
    client, team, step, consequence, button, closed_as, event
):
    client.force_login(team["assignee"])
    url = ws(team, f"request_{step}")
    before = state(team)

    response = client.post(url, {"text": REASON})
    assert response.status_code == 200
    page = response.content.decode()
    assert ar(consequence) in page and ar(consequence) != consequence  # translated
    assert ar(button) in page
    assert 'name="confirm" value="1"' in page
    # what was typed is on the page, escaped, in the box that the confirmation sends
    assert f">{html.escape(REASON, quote=False)}</textarea>" in page
    assert ws(team, "request_detail") in page  # the way back
    assert state(team) == before  # nothing changed
    assert fresh(team).status == Status.NEW
    assert not Notification.objects.filter(
        recipient=team["beneficiary"], event=f"request.{event}"
    ).exists()

    response = act(client, url, {"text": REASON, "confirm": "1"})
    assert response.status_code == 302 and response["Location"] == ws(team, "request_detail")
    item = fresh(team)
    assert item.status == closed_as
    if step == "reject":
        assert item.rejection_reason == REASON
    assert Notification.objects.filter(
        recipient=team["beneficiary"], event=f"request.{event}"
    ).exists()


def test_reject_without_a_reason_goes_back_to_the_form(client, team):
    client.force_login(team["assignee"])
    before = state(team)
    for data in ({"text": "  "}, {"text": "", "confirm": "1"}):
        response = act(client, ws(team, "request_reject"), data)
        if "confirm" in data:
            # the confirmation page again, with the service's message and nothing changed
            assert response.status_code == 200
            assert ar("Give the reason for rejecting the request.") in response.content.decode()
        else:
            assert response.status_code == 302
            assert response.flashed == [ar("Give the reason for rejecting the request.")]
    assert state(team) == before


def test_a_closed_request_is_not_offered_a_confirmation(client, team):
    client.force_login(team["assignee"])
    assert act(client, ws(team, "request_resolve"), {"confirm": "1"}).status_code == 302
    before = state(team)
    response = act(client, ws(team, "request_reject"), {"text": REASON})
    assert response.status_code == 302
    assert response.flashed == [ar("This request is already closed.")]
    assert state(team) == before


def test_others_get_no_confirmation_page(client, team, agency_b):
    """The confirmation step is refused like the action: a colleague who may not open the
    request, another agency's employee, the beneficiary, an anonymous visitor."""
    from tests.factories import make_beneficiary, make_employee

    refused = {
        "colleague": (make_employee(team["agency"]), 404),
        "another agency's admin": (make_employee(agency_b, roles=("admin",)), 403),
        "the beneficiary": (team["beneficiary"], 403),
        "another beneficiary": (make_beneficiary(), 403),
    }
    before = state(team)
    for step in ("reject", "resolve"):
        for who, (user, expected) in refused.items():
            client.force_login(user)
            response = client.post(ws(team, f"request_{step}"), {"text": REASON})
            assert response.status_code == expected, (step, who)
            assert REASON not in response.content.decode()
        client.logout()
        response = client.post(ws(team, f"request_{step}"), {"text": REASON, "confirm": "1"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert state(team) == before
