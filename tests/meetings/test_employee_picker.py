"""The employee pickers of meetings' forms (body members, participants, decision owners): a
search by name or email that offers a short list, on the page (``?employee_q=``, no
JavaScript needed) and as JSON for the live search; who may search (the isolation table);
a choice made from any search is accepted, another agency's employee never is."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import User
from meetings.models import BodyMember, Participant
from meetings.services import employees as employee_services
from meetings.services.employees import employee_search
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee, membership_of
from tests.meetings.factories import decisions_manager, make_body, make_meeting, manager_of

pytestmark = pytest.mark.django_db


def named(user: User, first: str, family: str, email: str = "") -> User:
    fields = {"first_name_ar": first, "family_name_ar": family}
    if email:
        fields["email"] = email
    User.objects.filter(pk=user.pk).update(**fields)
    user.refresh_from_db()
    return user


@pytest.fixture
def world(agency_a, agency_b):
    manager = manager_of(agency_a)
    noura = named(make_employee(agency_a), "نورة", "القحطاني", "noura.q@alpha.example")
    nasser = named(make_employee(agency_a), "ناصر", "القحطاني")
    sara = named(make_employee(agency_a), "سارة", "العتيبي")
    other = named(make_employee(agency_b, roles=("admin",)), "نورة", "الشمري", "noura@beta.example")
    body = make_body(agency_a, actor=manager, members=[(nasser, "member")])
    return {
        "agency": agency_a,
        "manager": manager,
        "decisions": decisions_manager(agency_a),
        "employee": make_employee(agency_a),
        "beneficiary": make_beneficiary(),
        "other_agency_employee": other,
        "noura": noura,
        "nasser": nasser,
        "sara": sara,
        "body": body,
    }


def json_url(world, **params) -> str:
    url = reverse("workspace:meeting_employees", kwargs={"agency_slug": world["agency"].slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def labels(response) -> list[str]:
    return [row["label"] for row in response.json()["results"]]


def test_who_may_search_the_employees(client, world):
    """(who, expected): the JSON of the live search is the agency's, for those who choose
    employees in meetings (managers; the decisions register's managers) only."""
    body = world["body"]
    table = [
        ("anonymous", {}, 302),
        ("beneficiary", {}, 403),
        ("other_agency_employee", {}, 403),
        ("employee", {}, 403),
        ("decisions", {}, 200),
        ("decisions", {"body": body.pk}, 403),  # a body's members are its managers' to see
        ("manager", {}, 200),
        ("manager", {"body": body.pk}, 200),
    ]
    for who, params, expected in table:
        client.logout()
        if who != "anonymous":
            client.force_login(world[who])
        response = client.get(json_url(world, q="نورة", **params))
        assert response.status_code == expected, (who, params, response.status_code)
        if expected == 302:
            assert response["Location"].startswith(reverse("account_login"))
        if expected == 200:
            assert labels(response) == ["نورة القحطاني"], who  # never beta's Noura


def test_the_service_refuses_whoever_does_not_choose_employees(world):
    with schema_context(world["agency"].schema_name):
        for user in (AnonymousUser(), world["beneficiary"], world["employee"]):
            with pytest.raises(PermissionDenied):
                employee_search(actor=user, query="نورة")
        with pytest.raises(PermissionDenied):
            employee_search(actor=world["decisions"], excluding=world["body"])


def test_search_by_words_of_the_name_or_the_email(world):
    with schema_context(world["agency"].schema_name):

        def found(query, **kwargs):
            rows = employee_search(actor=world["manager"], query=query, **kwargs).rows
            return [m.user.display_name for m in rows]

        assert found("القحطاني") == ["ناصر القحطاني", "نورة القحطاني"]
        assert found("نورة القحطاني") == ["نورة القحطاني"]  # every word, in any field
        assert found("NOURA.Q@") == ["نورة القحطاني"]
        assert found("الشمري") == []  # another agency's employee is not in this schema
        assert found("القحطاني", excluding=world["body"]) == ["نورة القحطاني"]
        Membership.objects.filter(user=world["noura"]).update(is_active=False)
        assert found("القحطاني") == ["ناصر القحطاني"]


def test_the_list_is_cut_and_keeps_the_chosen_one(world, monkeypatch):
    monkeypatch.setattr(employee_services, "PICKER_LIMIT", 2)
    with schema_context(world["agency"].schema_name):
        sara = Membership.objects.get(user=world["sara"])
        matches = employee_search(actor=world["manager"])
        assert len(matches.rows) == 2 and matches.more
        matches = employee_search(actor=world["manager"], query="القحطاني", selected=sara.pk)
        assert [m.pk for m in matches.rows][0] == sara.pk and not matches.more


def test_the_json_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    client.force_login(world["manager"])
    url = json_url(world, body=world["body"].pk)
    client.get(url)
    with django_assert_max_num_queries(9) as few:
        assert client.get(url).status_code == 200
    for _n in range(5):
        make_employee(world["agency"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.json()["results"]) >= 10


def test_body_page_offers_the_matches_and_accepts_a_choice_from_another_search(client, world):
    agency, body = world["agency"], world["body"]
    client.force_login(world["manager"])
    url = reverse("workspace:meeting_body", kwargs={"agency_slug": agency.slug, "body_id": body.pk})
    page = client.get(url, {"employee_q": "القحطاني"})
    offered = [
        label for _value, label in page.context["person_form"].fields["membership"].widget.choices
    ]
    assert offered == ["—", "نورة القحطاني"]  # Nasser is a member already
    assert 'data-employee-search="' in page.content.decode()
    # Sara was not in that list (another search found her): she is accepted all the same.
    sara = membership_of(agency, world["sara"])
    response = client.post(
        url + "?employee_q=القحطاني",
        {"form": "member", "membership": sara.pk, "role": "member", "weight": "1"},
    )
    assert response.status_code == 302
    with schema_context(agency.schema_name):
        assert BodyMember.objects.filter(body=body, user=world["sara"], is_active=True).exists()
    # Another agency's membership id, an inactive employee, rubbish: refused on the field.
    with schema_context(agency.schema_name):
        Membership.objects.filter(user=world["noura"]).update(is_active=False)
        inactive = Membership.objects.get(user=world["noura"]).pk
    for value in (inactive, 999999, "x"):
        response = client.post(
            url, {"form": "member", "membership": value, "role": "member", "weight": "1"}
        )
        assert response.status_code == 200, value
        assert response.context["person_form"].errors["membership"], value


def test_meeting_page_invites_an_employee_found_by_search(client, world):
    agency = world["agency"]
    meeting = make_meeting(agency, actor=world["manager"], participants=[(world["sara"], "chair")])
    client.force_login(world["manager"])
    kwargs = {"agency_slug": agency.slug, "meeting_id": meeting.pk}
    page = client.get(reverse("workspace:meeting", kwargs=kwargs), {"employee_q": "سارة"})
    assert page.context["employee_search"]["status"]  # no match: Sara is invited already
    noura = membership_of(agency, world["noura"])
    response = client.post(
        reverse("workspace:meeting_participant_add", kwargs=kwargs),
        {"membership": noura.pk, "role": "member", "weight": "1.5"},
    )
    assert response.status_code == 302
    with schema_context(agency.schema_name):
        assert Participant.objects.get(meeting=meeting, user=world["noura"]).weight == Decimal(
            "1.5"
        )


def test_decision_pages_search_the_owner(client, world):
    agency = world["agency"]
    client.force_login(world["decisions"])
    base = f"/a/{agency.slug}/meetings/decisions/"
    page = client.get(base + "new/", {"owner_q": "نورة", "meeting": "7"})
    offered = [label for _value, label in page.context["form"].fields["owner"].widget.choices]
    assert offered == ["—", "نورة القحطاني"]
    assert page.context["employee_search"]["keep"] == [("meeting", "7")]
    register = client.get(base, {"owner_q": "القحطاني"})
    offered = [label for _value, label in register.context["form"].fields["owner"].widget.choices]
    assert offered[1:] == ["ناصر القحطاني", "نورة القحطاني"]
    # An owner who follows up only their own decisions has no owner to look for.
    client.force_login(world["employee"])
    assert "owner_q" not in client.get(base).context["form"].fields
