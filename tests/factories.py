"""Small factories that go through the real services, so tests exercise the real paths."""

import itertools
from datetime import date

from django_tenants.utils import schema_context

from portal.accounts.identity import luhn_complete
from portal.accounts.models import User
from tenants.models import Agency
from tenants.services import employee_invite
from tenants.staff.models import Membership, Role

PASSWORD = "Correct-Horse-42"
_counter = itertools.count(1)


def national_id(seed: int | None = None) -> str:
    seed = next(_counter) if seed is None else seed
    return luhn_complete(f"1{seed:08d}")


def iqama_number(seed: int | None = None) -> str:
    seed = next(_counter) if seed is None else seed
    return luhn_complete(f"2{seed:08d}")


def mobile_number(seed: int | None = None) -> str:
    seed = next(_counter) if seed is None else seed
    return f"+96650{seed % 10_000_000:07d}"


def make_beneficiary(*, email: str | None = None, password: str = PASSWORD, **fields) -> User:
    n = next(_counter)
    user = User(
        email=email or f"person{n}@example.sa",
        first_name_ar="محمد",
        father_name_ar="علي",
        family_name_ar="الحربي",
        first_name_en="Mohammed",
        father_name_en="Ali",
        family_name_en="Alharbi",
        birth_date=date(1990, 1, 1),
        birth_calendar="gregorian",
        location=User.INSIDE,
        mobile=fields.pop("mobile", mobile_number(n)),
        mobile_verified=True,
        preferred_language=fields.pop("preferred_language", "ar"),
    )
    user.set_identity(
        fields.pop("identity_type", "national_id"), fields.pop("identity_number", national_id(n))
    )
    for key, value in fields.items():
        setattr(user, key, value)
    user.set_password(password)
    user.save()
    return user


def make_employee(
    agency: Agency,
    *,
    roles: tuple[str, ...] = ("employee",),
    email: str | None = None,
    password: str = PASSWORD,
) -> User:
    """An employee of ``agency`` with the given role codenames, who can log in."""
    n = next(_counter)
    with schema_context(agency.schema_name):
        membership = employee_invite(
            agency=agency,
            email=email or f"staff{n}@{agency.slug}.example",
            names={"first_name_en": f"Staff{n}", "first_name_ar": f"موظف{n}"},
            roles=list(Role.objects.filter(codename__in=roles)),
        )
    user = User.objects.get(pk=membership.user_id)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def membership_of(agency: Agency, user: User) -> Membership:
    with schema_context(agency.schema_name):
        return Membership.objects.get(user_id=user.pk)
