"""URLs of the voting part of meetings (assembled in meetings.urls)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from meetings.views import voting as views

# Under /a/<slug>/ in the "workspace" namespace (employees of the agency).
workspace_urlpatterns: list = []

_MEETING = "<slug:agency_slug>/<id:meeting_id>/"
_POLL = _MEETING + "polls/<id:poll_id>/"

# Under /meetings/ in the "meetings" namespace (every participant, employee or not).
public_urlpatterns: list = [
    path(_MEETING + "polls/", views.polls, name="polls"),
    path(_MEETING + "polls/new/", views.poll_new, name="poll_new"),
    path(_POLL + "open/", views.poll_open, name="poll_open"),
    path(_POLL + "close/", views.poll_close, name="poll_close"),
    path(_POLL + "vote/", views.poll_vote, name="poll_vote"),
    path(_POLL + "receipt/", views.receipt_check, name="poll_receipt"),
    path(_MEETING + "proxy/", views.proxy_give, name="proxy_give"),
    path(_MEETING + "proxy/withdraw/", views.proxy_withdraw, name="proxy_withdraw"),
]
