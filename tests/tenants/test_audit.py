import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django_tenants.utils import schema_context

from core import audit
from tenants.models import PlatformAuditEvent
from tenants.staff.models import AuditEvent
from tests.factories import make_employee


def test_agency_audit_log_refuses_update_and_delete(agency_a):
    # The app role lacks the privileges (tests/tenants/test_dbroles.py); the trigger stops the
    # owner too (test_the_owner_is_still_stopped_by_the_append_only_trigger).
    with schema_context(agency_a.schema_name):
        event = audit.agency_record(action="test.event", after={"x": 1})
        for sql in (
            "UPDATE agency_audit_event SET action = 'forged' WHERE id = %s",
            "DELETE FROM agency_audit_event WHERE id = %s",
            "TRUNCATE agency_audit_event",
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql, [event.pk] if "%s" in sql else None)
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
        event.refresh_from_db()
        assert event.action == "test.event"


def test_every_cloned_agency_schema_has_the_trigger(agencies, db):
    for agency in agencies.values():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = 'agency_audit_event' AND NOT t.tgisinternal",
                [agency.schema_name],
            )
            assert cursor.fetchone()[0] == 3  # append-only (2) and the hash chain


def test_platform_audit_log_refuses_update_and_delete(db):
    event = audit.platform_record(action="test.platform")
    with pytest.raises(DatabaseError), transaction.atomic():
        PlatformAuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        PlatformAuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "test.platform"


def test_actions_are_audited_with_before_after_and_ip(client, agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    client.post(
        f"/a/{agency_a.slug}/departments/",
        {"name_ar": "قسم", "name_en": "Desk"},
        REMOTE_ADDR="10.1.2.3",
    )
    with schema_context(agency_a.schema_name):
        event = AuditEvent.objects.filter(action="department.create").latest("id")
    assert event.actor_id == admin.pk
    assert event.ip_address == "10.1.2.3"
    assert event.after["name_en"] == "Desk"
    response = client.get(
        reverse("workspace:audit_list", kwargs={"agency_slug": agency_a.slug}), {"q": "department"}
    )
    # The action is shown by its label in the reader's language (Arabic here), not its code.
    html = response.content.decode()
    assert "إنشاء قسم" in html and "department.create" not in html


def test_audit_of_one_agency_is_not_in_another(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        audit.agency_record(action="secret.of.alpha")
    with schema_context(agency_b.schema_name):
        assert not AuditEvent.objects.filter(action="secret.of.alpha").exists()
