"""Configuring review chains: translated errors per field, nothing saved; audited changes."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from finance.models_review import ReviewChain
from finance.services.review_config import (
    LevelInput,
    review_chain_delete,
    review_chain_save,
    review_delegation_create,
)
from tenants.staff.models import AuditEvent, Role
from tests.finance.factories_review import committee, finance_people, make_chain, named

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def people(agency_a):
    return finance_people(
        agency_a,
        admin=("configure",),
        r1=("review",),
        r2=("review",),
        boss=("approve",),
        clerk=("enter",),
    )


def _save(people, **kwargs):
    values = {
        "actor": people["admin"],
        "voucher_type": "payment",
        "department_id": None,
        "min_amount": "0",
        "max_amount": None,
        "levels": [named(people["r1"]), named(people["boss"])],
    }
    values.update(kwargs)
    return review_chain_save(**values)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"voucher_type": "bogus"}, "voucher_type"),
        ({"min_amount": "abc"}, "min_amount"),
        ({"min_amount": "-1"}, "min_amount"),
        ({"min_amount": "1.234"}, "min_amount"),
        ({"min_amount": "100", "max_amount": "50"}, "max_amount"),
        ({"levels": []}, "levels"),
        ({"levels": [LevelInput(kind="named", user_ids=[])]}, "level_1"),
        ({"levels": [LevelInput(kind="role", role_id=None)]}, "level_1"),
        ({"levels": [LevelInput(kind="weird")]}, "level_1"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_saved(agency_a, people, change, field):
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            _save(people, **change)
        assert field in caught.value.message_dict
        assert not ReviewChain.objects.exists()


def test_levels_must_be_reachable(agency_a, people):
    with schema_context(agency_a.schema_name):
        # The last level is final approval: a reviewer without finance.approve cannot act there.
        with pytest.raises(ValidationError) as caught:
            _save(people, levels=[named(people["r1"]), named(people["r2"])])
        assert "level_2" in caught.value.message_dict
        # A committee needs N <= M.
        with pytest.raises(ValidationError) as caught:
            _save(people, levels=[committee(3, people["r1"], people["r2"]), named(people["boss"])])
        assert "level_1" in caught.value.message_dict
        # A role nobody holding the permission has.
        role = Role.objects.create(codename="empty-role", name_ar="فارغ", name_en="Empty")
        with pytest.raises(ValidationError) as caught:
            _save(people, levels=[LevelInput(kind="role", role_id=role.pk), named(people["boss"])])
        assert "level_1" in caught.value.message_dict
        # A clerk without finance.review is not a reviewer.
        with pytest.raises(ValidationError):
            _save(people, levels=[named(people["clerk"]), named(people["boss"])])
        # Only one person may act at a level: saved, with a warning.
        _chain, warnings = _save(people)
        assert warnings


def test_ranges_neither_overlap_nor_leave_gaps(agency_a, people):
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            _save(people, min_amount="100", max_amount="1000")
        assert "min_amount" in caught.value.message_dict  # amounts below 100 have none
        low, _ = _save(people, max_amount="1000")
        with pytest.raises(ValidationError):
            _save(people, min_amount="500")  # overlaps
        with pytest.raises(ValidationError):
            _save(people, min_amount="2000")  # gap 1000..2000
        high, _ = _save(people, min_amount="1000")
        # Another department has its own ranges.
        from tenants.staff.models import Department

        dept = Department.objects.create(name_ar="د", name_en="D")
        _save(people, department_id=dept.pk)
        with pytest.raises(ValidationError, match="gap"):
            review_chain_delete(actor=people["admin"], chain=low)
        review_chain_delete(actor=people["admin"], chain=high)
        assert ReviewChain.objects.count() == 2


def test_changes_are_audited_and_need_the_permission(agency_a, people):
    with schema_context(agency_a.schema_name):
        chain = make_chain(
            actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])]
        )
        _save(people, chain=chain, levels=[named(people["r2"]), named(people["boss"])])
        events = list(
            AuditEvent.objects.filter(
                action="finance.review_chain_save", object_id=str(chain.pk)
            ).order_by("id")
        )
        assert len(events) == 2
        assert events[1].before["levels"][0]["users"] == [people["r1"].pk]
        assert events[1].after["levels"][0]["users"] == [people["r2"].pk]
        with pytest.raises(PermissionDenied):
            _save(people, actor=people["r1"], max_amount="5")


def test_delegation_bad_input(agency_a, people):
    with schema_context(agency_a.schema_name):
        today = timezone.localdate()
        base = {
            "actor": people["r1"],
            "delegator": people["r1"],
            "delegate": people["r2"],
            "starts_on": today,
            "ends_on": today + timedelta(days=2),
        }
        cases = [
            ({"delegate": people["r1"]}, "delegate"),
            ({"delegate": people["clerk"]}, "delegate"),
            ({"delegate": None}, "delegate"),
            ({"starts_on": today - timedelta(days=1)}, "starts_on"),
            ({"ends_on": today - timedelta(days=1)}, "ends_on"),
            ({"starts_on": None}, "starts_on"),
        ]
        for change, field in cases:
            with pytest.raises(ValidationError) as caught:
                review_delegation_create(**{**base, **change})
            assert field in caught.value.message_dict, change
        with pytest.raises(PermissionDenied):
            review_delegation_create(**{**base, "actor": people["r2"]})
        review_delegation_create(**base)
        with pytest.raises(ValidationError, match="overlap"):
            review_delegation_create(**base)
        assert AuditEvent.objects.filter(action="finance.review_delegation_create").count() == 1
