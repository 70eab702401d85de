from django.conf import settings

from notifications.selectors import unread_count


def unread(request):
    """The bell's unread count: one indexed count query, only for signed-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": unread_count(
            user=user,
            agency=getattr(request, "agency", None),
            session=getattr(request, "session", None),
        )
    }


def dev_outbox(request):
    """Under DEBUG only: the sign-in and sign-up pages link to the developer outbox."""
    return {"dev_outbox_link": settings.DEBUG}
