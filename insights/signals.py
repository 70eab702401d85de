from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from insights import rollups
from insights.models import Presence
from insights.services import presence_end
from requests_app.public.signals import index_changed


@receiver(index_changed)
def rollups_follow_index(sender, *, agency, previous, row, **kwargs):
    """Move the rollups by the row's change, in index_sync's transaction (looked up through the
    module at each call, so a benchmark can switch them off)."""
    before = rollups.snapshot(previous) if previous is not None else None
    rollups.rollup_apply(before=before, after=rollups.snapshot(row))
    if (previous.created_at if previous is not None else None) != row.created_at:
        rollups.beneficiary_seen(
            agency_id=agency.pk, beneficiary_id=row.beneficiary_id, at=row.created_at
        )


@receiver(user_logged_out)
def end_presence(sender, request, user, **kwargs):
    if user is not None:
        presence_end(user=user)


@receiver(user_logged_in)
def fresh_presence(sender, request, user, **kwargs):
    # A session that ended without logging out does not count the time until this login.
    Presence.objects.filter(user=user, last_seen_at__isnull=False).update(last_seen_at=None)
