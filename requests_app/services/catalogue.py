"""Catalogue and distribution configuration by the agency admin."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require
from requests_app import policies
from requests_app.models import DistributionRule, EmployeeProfile, Leave, TransactionType
from requests_app.public.models import CatalogueEntry
from requests_app.search import normalize
from tenants.models import Agency
from tenants.staff.models import Membership


def _catalogue_sync(*, agency: Agency, request_type: TransactionType) -> None:
    """Mirror a type into the public guidance catalogue (same transaction)."""
    text = " ".join(
        [
            request_type.name_ar,
            request_type.name_en,
            request_type.description_ar,
            request_type.description_en,
            agency.name_ar,
            agency.name_en,
        ]
    )
    CatalogueEntry.objects.update_or_create(
        agency=agency,
        type_id=request_type.pk,
        defaults={
            "name_ar": request_type.name_ar,
            "name_en": request_type.name_en,
            "description_ar": request_type.description_ar,
            "description_en": request_type.description_en,
            "category": request_type.category,
            "required_documents_ar": request_type.required_documents_ar,
            "required_documents_en": request_type.required_documents_en,
            "expected_duration_hours": request_type.expected_duration_hours,
            "is_active": request_type.is_active,
            "search_text": normalize(text),
        },
    )


def transaction_type_save(
    *,
    agency: Agency,
    actor: User,
    data: dict[str, Any],
    request_type: TransactionType | None = None,
) -> TransactionType:
    """Create or edit a transaction type and publish it in the guidance catalogue."""
    require(policies.manages_catalogue(actor))
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("transaction_type_save must run in the agency's schema")
    with transaction.atomic():
        creating = request_type is None
        request_type = request_type or TransactionType()
        before = (
            None
            if creating
            else {"name_en": request_type.name_en, "is_active": request_type.is_active}
        )
        for field, value in data.items():
            setattr(request_type, field, value)
        request_type.full_clean()
        request_type.save()
        _catalogue_sync(agency=agency, request_type=request_type)
        audit.agency_record(
            actor=actor,
            action="catalogue.create" if creating else "catalogue.update",
            obj=request_type,
            before=before,
            after={"name_en": request_type.name_en, "is_active": request_type.is_active},
        )
    return request_type


def distribution_rule_save(
    *,
    actor: User,
    data: dict[str, Any],
    rule: DistributionRule | None = None,
) -> DistributionRule:
    require(policies.manages_distribution(actor))
    with transaction.atomic():
        creating = rule is None
        rule = rule or DistributionRule()
        for field, value in data.items():
            setattr(rule, field, value)
        rule.full_clean()
        rule.save()
        audit.agency_record(
            actor=actor,
            action="distribution.create" if creating else "distribution.update",
            obj=rule,
            after={
                "chooser": rule.chooser,
                "max_open": rule.max_open,
                "skills": rule.required_skills,
            },
        )
    return rule


def employee_profile_save(
    *, membership: Membership, actor: User, data: dict[str, Any]
) -> EmployeeProfile:
    """Skills, weight, cap, out-of-office and work schedule of one employee."""
    require(policies.manages_distribution(actor))
    schedule = data.get("work_schedule")
    if schedule is not None:
        _check_schedule(schedule)
    with transaction.atomic():
        profile, _created = EmployeeProfile.objects.select_for_update().get_or_create(
            membership=membership
        )
        before = {"skills": profile.skills, "is_out_of_office": profile.is_out_of_office}
        for field, value in data.items():
            setattr(profile, field, value)
        profile.full_clean()
        profile.save()
        audit.agency_record(
            actor=actor,
            action="staff.profile",
            obj=membership,
            before=before,
            after={"skills": profile.skills, "is_out_of_office": profile.is_out_of_office},
        )
    return profile


def _check_schedule(schedule: dict) -> None:
    import re

    if not isinstance(schedule, dict):
        raise ValidationError({"work_schedule": _("The work schedule is not valid.")})
    for day, ranges in schedule.items():
        if day not in {str(n) for n in range(7)} or not isinstance(ranges, list):
            raise ValidationError({"work_schedule": _("The work schedule is not valid.")})
        for pair in ranges:
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(t, str) and re.fullmatch(r"\d\d:\d\d", t) for t in pair)
                or pair[0] >= pair[1]
            ):
                raise ValidationError({"work_schedule": _("Use HH:MM-HH:MM ranges.")})


def leave_add(
    *,
    membership: Membership,
    starts_on: date,
    ends_on: date,
    reason: str,
    actor: User,
) -> Leave:
    require(policies.manages_distribution(actor))
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The leave must end on or after its start.")})
    with transaction.atomic():
        leave = Leave.objects.create(
            membership=membership, starts_on=starts_on, ends_on=ends_on, reason=reason
        )
        audit.agency_record(
            actor=actor,
            action="staff.leave",
            obj=membership,
            after={"from": str(starts_on), "to": str(ends_on)},
        )
    return leave
