from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from insights.models import Presence
from insights.services import presence_end


@receiver(user_logged_out)
def end_presence(sender, request, user, **kwargs):
    if user is not None:
        presence_end(user=user)


@receiver(user_logged_in)
def fresh_presence(sender, request, user, **kwargs):
    # A session that ended without logging out does not count the time until this login.
    Presence.objects.filter(user=user, last_seen_at__isnull=False).update(last_seen_at=None)
