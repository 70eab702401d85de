"""Reassignment as the employee request page offers it (issue 12): the candidates leave out the
employee themselves and the current assignee and carry department and job title, so that two
people of one name can be told apart; the service refuses a reassignment to oneself. After a
reassignment, whoever held the request is told where it went (not a bare 404); nobody else
learns anything of it."""

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from accounts.models import User
from requests_app.models import ApprovalRequest, Assignment
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee
from tests.requests.test_approvals import Org, _post, _ws


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


@pytest.fixture
def org(agency_a) -> Org:
    return Org(agency_a)


def _name(user, first_ar, family_ar, first_en, family_en) -> None:
    User.objects.filter(pk=user.pk).update(
        first_name_ar=first_ar,
        family_name_ar=family_ar,
        first_name_en=first_en,
        family_name_en=family_en,
    )


def _options(page: str) -> dict[str, str]:
    """The reassign list's options: value -> label."""
    select = re.search(r'<select name="new_assignee"[^>]*>(.*?)</select>', page, re.S).group(1)
    return {
        value: html.unescape(label).strip()
        for value, label in re.findall(r'<option value="(\d+)"[^>]*>(.*?)</option>', select)
    }


# --- candidates -----------------------------------------------------------------------------


def test_candidates_leave_out_oneself_and_the_assignee_and_tell_homonyms_apart(client, org):
    """The supervisor opens the worker's request: neither the supervisor nor the worker is
    offered; two colleagues both named Ahmed Ali are shown with their department (and job
    title where there is one)."""
    _name(org.other, "أحمد", "علي", "Ahmed", "Ali")
    _name(org.outsider, "أحمد", "علي", "Ahmed", "Ali")
    with schema_context(org.agency.schema_name):
        Membership.objects.filter(user_id=org.other.pk).update(title="مدقق")
    client.force_login(org.supervisor)
    options = _options(
        client.get(_ws(org, "request_detail", request_id=org.item.pk)).content.decode()
    )

    assert str(org.m(org.supervisor).pk) not in options  # not oneself
    assert str(org.m(org.worker).pk) not in options  # not who holds it
    assert options[str(org.m(org.other).pk)] == "أحمد علي — قسم١ · مدقق"
    assert options[str(org.m(org.outsider).pk)] == "أحمد علي — قسم٢"
    assert len(set(options.values())) == len(options)  # every option can be told apart
    # the admin, in no department, by name only
    assert options[str(org.m(org.admin).pk)] == org.admin.display_name

    # in English too
    User.objects.filter(pk=org.supervisor.pk).update(preferred_language="en")
    page = client.get(_ws(org, "request_detail", request_id=org.item.pk)).content.decode()
    assert _options(page)[str(org.m(org.other).pk)] == "Ahmed Ali — D1 · مدقق"


def test_the_assignee_is_not_offered_themselves(client, org):
    client.force_login(org.worker)
    options = _options(
        client.get(_ws(org, "request_detail", request_id=org.item.pk)).content.decode()
    )
    assert str(org.m(org.worker).pk) not in options
    assert str(org.m(org.other).pk) in options


def test_reassigning_to_oneself_is_refused_by_the_service_with_a_translated_error(org):
    before = org.snapshot()
    with translation.override("ar"), pytest.raises(ValidationError) as caught:
        org.reassign(org.supervisor, org.supervisor)
    assert caught.value.message_dict == {
        "new_assignee": [ar("You cannot reassign a request to yourself.")]
    }
    assert (
        ar("You cannot reassign a request to yourself.")
        != "You cannot reassign a request to yourself."
    )
    assert org.snapshot() == before
    with schema_context(org.agency.schema_name):
        assert not ApprovalRequest.objects.exists()


def test_reassigning_to_oneself_through_the_page_changes_nothing(client, org):
    """A forged form (oneself is not among the choices): an error, nothing changed, no 500."""
    client.force_login(org.supervisor)
    before = org.snapshot()
    response = _post(
        client,
        _ws(org, "request_reassign", request_id=org.item.pk),
        {"new_assignee": org.m(org.supervisor).pk, "reason": "لي"},
    )
    assert response.status_code == 302 and response.flashed
    assert org.snapshot() == before


# --- the previous assignee's page -----------------------------------------------------------


def _reassign_with_approval(org) -> None:
    with schema_context(org.agency.schema_name):
        Membership.objects.filter(user_id=org.other.pk).update(title="مدقق")
    _name(org.other, "سارة", "حسن", "Sara", "Hassan")
    approval = org.reassign(org.worker, org.other, reason="ضغط عمل")
    org.decide(approval, org.supervisor, approve=True)
    assert org.fresh().assignee.user_id == org.other.pk


def test_previous_assignee_sees_where_the_request_went(client, org):
    _reassign_with_approval(org)
    client.force_login(org.worker)
    response = client.get(_ws(org, "request_detail", request_id=org.item.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "سارة حسن" in page and "قسم١" in page
    assert org.item.reference in page and org.item.subject in page
    assert _ws(org, "queue") in page
    # nothing beyond reference and title: no description, beneficiary, reason, timeline, forms
    assert org.item.description not in page
    assert org.beneficiary.display_name not in page
    assert "ضغط عمل" not in page
    assert "new_assignee" not in page and 'name="text"' not in page
    # and still no action: the request's actions are not found for them
    before = org.snapshot()
    assert client.post(_ws(org, "request_start", request_id=org.item.pk)).status_code == 404
    assert org.snapshot() == before


def test_the_page_names_who_holds_it_now_after_a_second_move(client, org):
    _reassign_with_approval(org)
    org.reassign(org.supervisor, org.outsider)
    client.force_login(org.worker)
    page = client.get(_ws(org, "request_detail", request_id=org.item.pk)).content.decode()
    assert "سارة حسن" in page  # to whom it went from them
    assert org.outsider.display_name in page and "قسم٢" in page  # who holds it now


def test_only_a_previous_assignee_is_told(client, org, agency_b):
    """A colleague who never held it, another agency's employee, a beneficiary (its own and
    another) and an anonymous visitor learn nothing of the reassignment."""
    _reassign_with_approval(org)
    url = _ws(org, "request_detail", request_id=org.item.pk)
    stranger = make_employee(org.agency)
    refused = {
        "colleague who never held it": (stranger, 404),
        "another agency's admin": (make_employee(agency_b, roles=("admin",)), 403),
        "the request's beneficiary": (org.beneficiary, 403),
        "another beneficiary": (make_beneficiary(), 403),
    }
    for who, (user, expected) in refused.items():
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == expected, who
        assert "سارة حسن" not in response.content.decode(), who
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_request_of_another_number_is_not_found(client, org):
    """The history is asked for the request in the address only."""
    _reassign_with_approval(org)
    client.force_login(org.worker)
    with schema_context(org.agency.schema_name):
        assert Assignment.objects.filter(request_id=org.item.pk + 1000).count() == 0
    assert client.get(_ws(org, "request_detail", request_id=org.item.pk + 1000)).status_code == 404
