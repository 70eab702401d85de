"""The sign-up waiting for its mobile code, kept in the session.

A sign-up does not sign the person in: it leads to the mobile-code step, and the account is
signed in once the code is confirmed. A sign-up whose identity number, email or mobile is
already registered creates no account but leads to the same step (an "unregistered" pending
sign-up, with no account behind it), so the page does not tell anyone which details exist.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User

SESSION_KEY = "accounts_pending_signup"
LIFETIME = timedelta(hours=1)


def start(request, *, user: User | None, mobile: str) -> None:
    now = timezone.now().isoformat()
    request.session[SESSION_KEY] = {
        "user_id": user.pk if user is not None else None,
        "mobile": mobile,
        "started": now,
        "sent": [now],
        "attempts": 0,
    }


def get(request) -> dict | None:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict):
        return None
    try:
        started = datetime.fromisoformat(state["started"])
    except (KeyError, TypeError, ValueError):
        started = None
    if started is None or started < timezone.now() - LIFETIME:
        clear(request)
        return None
    return state


def user_of(state: dict) -> User | None:
    if not state.get("user_id"):
        return None
    return User.objects.filter(pk=state["user_id"], is_active=True).first()


def save(request, state: dict) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def clear(request) -> None:
    request.session.pop(SESSION_KEY, None)
