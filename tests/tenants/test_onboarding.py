import time

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from tenants.models import Agency, AgencyMember, PlatformAuditEvent
from tenants.services import agency_onboard
from tenants.staff.models import AuditEvent, Invitation, Membership, Role
from tests.jobs import run_pending_jobs


def test_onboarding_creates_schema_roles_and_invited_admin(db, agencies):
    started = time.perf_counter()
    agency = agency_onboard(
        slug="gamma",
        name_ar="جهة جاما",
        name_en="Gamma",
        code="GAM",
        admin_email="Boss@Gamma.example",
    )
    elapsed = time.perf_counter() - started
    print(f"onboarding took {elapsed:.3f}s")
    assert schema_exists("agency_gamma")
    with schema_context(agency.schema_name):
        assert set(Role.objects.values_list("codename", flat=True)) == {
            "admin",
            "supervisor",
            "employee",
        }
        # The first admin is invited, not yet bound: the membership comes with the link.
        assert not Membership.objects.exists()
        invitation = Invitation.objects.get()
        assert invitation.email == "boss@gamma.example" and invitation.by_platform
        assert list(invitation.roles.values_list("codename", flat=True)) == ["admin"]
        assert AuditEvent.objects.filter(action="agency.onboard").exists()
    assert agency.admin_invitation.token  # returned once, stored only as a hash
    assert invitation.token_hash != agency.admin_invitation.token
    assert not AgencyMember.objects.filter(agency=agency).exists()
    assert PlatformAuditEvent.objects.filter(action="agency.onboard", object_id=str(agency.pk))


def test_onboarding_sends_invitation_through_a_job(db, agencies):
    agency_onboard(slug="delta", name_ar="دلتا", name_en="Delta", admin_email="admin@delta.example")
    assert len(mail.outbox) == 0  # nothing leaves before the job runs (after commit)
    run_pending_jobs()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["admin@delta.example"]
    assert "/accounts/invitation/" in message.body
    assert "password:" not in message.body.lower()


@pytest.mark.parametrize("slug", ["A", "1abc", "with space", "x" * 41, "alpha"])
def test_onboarding_refuses_bad_or_taken_slug(db, agencies, slug):
    before = Agency.objects.count()
    with pytest.raises(ValidationError):
        agency_onboard(slug=slug, name_ar="س", name_en="S", admin_email="a@b.example")
    assert Agency.objects.count() == before


def test_onboarding_failure_leaves_no_schema(db, agencies):
    with pytest.raises(ValidationError):
        agency_onboard(slug="epsilon", name_ar="إ", name_en="E", admin_email="not-an-email")
    assert not schema_exists("agency_epsilon")
    assert connection.schema_name == "public"


def test_onboard_command(db, agencies):
    from django.core.management import call_command

    call_command(
        "onboard_agency",
        "zeta",
        "--name-ar",
        "زيتا",
        "--name-en",
        "Zeta",
        "--admin-email",
        "z@zeta.example",
    )
    assert Agency.objects.filter(slug="zeta").exists()
