"""Small factories that go through the real services, so tests exercise the real paths."""

import itertools
from datetime import date

from django_tenants.utils import schema_context

from accounts.identity import luhn_complete
from accounts.models import User
from core.numbering.models import Counter
from requests_app.constants import REFERENCE_NUMBERING
from tenants.models import Agency
from tenants.services import employee_invite, invitation_accept, invitation_accept_new_account
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
    """An employee of ``agency`` with the given role codenames, who can log in: invited by the
    platform and accepted through the invitation services, as the link would."""
    n = next(_counter)
    email = (email or f"staff{n}@{agency.slug}.example").lower()
    with schema_context(agency.schema_name):
        invitation = employee_invite(
            agency=agency,
            email=email,
            names={"first_name_en": f"Staff{n}", "first_name_ar": f"موظف{n}"},
            roles=list(Role.objects.filter(codename__in=roles)),
            by_platform=True,
        )
    existing = User.objects.filter(email=email).first()
    if (
        existing is not None and existing.has_usable_password()
    ):  # an account of the tests' own making: take its address as verified
        from allauth.account.models import EmailAddress

        EmailAddress.objects.update_or_create(
            user=existing, email=email, defaults={"verified": True, "primary": True}
        )
        membership = invitation_accept(agency=agency, token=invitation.token, user=existing)
    else:
        membership = invitation_accept_new_account(
            agency=agency, token=invitation.token, password=PASSWORD
        )
    user = User.objects.get(pk=membership.user_id)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def membership_of(agency: Agency, user: User) -> Membership:
    with schema_context(agency.schema_name):
        return Membership.objects.get(user_id=user.pk)


# --- requests ---------------------------------------------------------------------------------

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_upload(name: str = "photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def pdf_upload(name: str = "letter.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def make_type(agency: Agency, *, actor: User | None = None, department=None, rule=None, **fields):
    """A catalogue service of ``agency`` (published in the public catalogue)."""
    from requests_app.services import transaction_type_save

    n = next(_counter)
    data = {
        "name_ar": fields.pop("name_ar", f"خدمة {n}"),
        "name_en": fields.pop("name_en", f"Service {n}"),
        "category": fields.pop("category", "transaction"),
        "expected_duration_hours": fields.pop("expected_duration_hours", 48),
        "default_priority": fields.pop("default_priority", "normal"),
        "department": department,
        "distribution_rule": rule,
        "is_active": fields.pop("is_active", True),
        **fields,
    }
    with schema_context(agency.schema_name):
        actor = actor or make_employee(agency, roles=("admin",))
        return transaction_type_save(agency=agency, actor=actor, data=data)


def make_request(
    agency: Agency, *, beneficiary: User | None = None, request_type=None, attachments=(), **fields
):
    from requests_app.services import request_submit

    beneficiary = beneficiary or make_beneficiary()
    request_type = request_type or make_type(agency)
    return request_submit(
        agency=agency,
        beneficiary=beneficiary,
        transaction_type_id=request_type.pk,
        subject=fields.pop("subject", "طلب تجريبي"),
        description=fields.pop("description", "وصف الطلب"),
        priority=fields.pop("priority", None),
        attachments=list(attachments),
    )


def reference_counters(agency: Agency) -> list[tuple[int, int]]:
    """(year, last number given) of the agency's request references, by year."""
    with schema_context(agency.schema_name):
        return list(
            Counter.objects.filter(key=REFERENCE_NUMBERING)
            .order_by("year")
            .values_list("year", "last")
        )


def reference_counter(agency: Agency, year: int) -> int:
    """The last request reference number the agency gave in ``year`` (0: none yet)."""
    return dict(reference_counters(agency)).get(year, 0)
