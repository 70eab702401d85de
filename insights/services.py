"""Statistics use cases: presence time, the evaluation settings, the rollup rebuild."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from core import audit
from core.actions import require
from insights.models import EvaluationSettings, Presence
from insights.module import Perm
from insights.rollups import local_day
from tenants.models import Agency

# A gap between two requests longer than this is time away, not time present.
IDLE = timedelta(minutes=getattr(settings, "PRESENCE_IDLE_MINUTES", 10))
# At most one write per employee and agency this often; requests in between count anyway,
# since the next write adds the whole gap.
TOUCH_EVERY = 60


def presence_touch(*, agency: Agency, user, now: datetime | None = None) -> bool:
    """Record that ``user`` is working in ``agency``'s workspace now: the time since their
    previous request counts as present when it is within the idle limit. Returns whether a
    row was written (writes are throttled per minute)."""
    if not settings.PRESENCE_TRACKING:
        return False
    now = now or timezone.now()
    throttle_key = f"presence:{agency.pk}:{user.pk}"
    if not cache.add(throttle_key, 1, TOUCH_EVERY):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.{Presence._meta.db_table} AS p "
            "(agency_id, user_id, day, seconds, last_seen_at) VALUES (%s, %s, %s, 0, %s) "
            "ON CONFLICT (agency_id, user_id, day) DO UPDATE SET "
            "seconds = p.seconds + CASE WHEN p.last_seen_at IS NOT NULL "
            "AND EXCLUDED.last_seen_at > p.last_seen_at "
            "AND EXCLUDED.last_seen_at - p.last_seen_at <= %s "
            "THEN extract(epoch FROM EXCLUDED.last_seen_at - p.last_seen_at)::int ELSE 0 END, "
            "last_seen_at = greatest(p.last_seen_at, EXCLUDED.last_seen_at)",
            [agency.pk, user.pk, local_day(now), now, IDLE],
        )
    return True


def presence_end(*, user, now: datetime | None = None) -> int:
    """Logging out ends the time present: the last gap counts, then nothing until the next
    request after logging in again. Returns how many agency rows were closed."""
    now = now or timezone.now()
    closed = 0
    with transaction.atomic():
        open_rows = Presence.objects.select_for_update().filter(
            user=user, last_seen_at__isnull=False
        )
        for row in open_rows:
            gap = now - row.last_seen_at
            if timedelta(0) < gap <= IDLE and row.day == local_day(now):
                row.seconds += int(gap.total_seconds())
            row.last_seen_at = None
            row.save(update_fields=["seconds", "last_seen_at"])
            cache.delete(f"presence:{row.agency_id}:{user.pk}")
            closed += 1
    return closed


def evaluation_settings_save(
    *, agency: Agency, actor, data: dict, survey_form: str | None = None
) -> EvaluationSettings:
    """Store the agency's evaluation weights and targets (validated by the form), audited; and
    ``survey_form``, the satisfaction form its beneficiaries answer (audited when it changes)."""
    from requests_app.services.survey import survey_form_set

    require(actor.has_perm(Perm.MANAGE.perm))
    with transaction.atomic():
        config, _ = EvaluationSettings.objects.select_for_update().get_or_create(agency=agency)
        before = {name: getattr(config, name) for name in data}
        for name, value in data.items():
            setattr(config, name, value)
        config.full_clean()
        config.save()
        audit.agency_record(
            actor=actor,
            action="statistics.evaluation_settings",
            obj=config,
            before=before,
            after=data,
        )
        if survey_form is not None:
            old, new = survey_form_set(form=survey_form)
            if old != new:
                audit.agency_record(
                    actor=actor,
                    action="requests.survey_form",
                    obj=config,
                    before={"form": old},
                    after={"form": new},
                )
    return config
