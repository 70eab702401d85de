"""URLs of the room part of meetings (assembled in meetings.urls)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from meetings.views import room as views

# Under /a/<slug>/ in the "workspace" namespace (employees of the agency).
workspace_urlpatterns: list = []

_M = "<slug:agency_slug>/<id:meeting_id>/"

# Under /meetings/ in the "meetings" namespace (every participant, employee or not).
public_urlpatterns: list = [
    path(f"{_M}room/", views.room, name="room"),
    path(f"{_M}start/", views.start, name="room_start"),
    path(f"{_M}close/", views.close, name="room_close"),
    path(f"{_M}check-in/", views.check_in, name="room_check_in"),
    path(f"{_M}leave/", views.leave, name="room_leave"),
    path(f"{_M}attendance/", views.attendance, name="room_attendance"),
    path(f"{_M}attendance/<id:participant_id>/", views.mark, name="room_mark"),
    path(f"{_M}qr/", views.qr_screen, name="room_qr"),
    path(f"{_M}qr/code/", views.qr_code, name="room_qr_code"),
    path(f"{_M}qr/<str:token>/", views.qr_check_in, name="room_qr_check_in"),
    path(f"{_M}room/item/", views.current_item, name="room_item"),
    path(f"{_M}room/opinions/", views.opinion, name="room_opinion"),
    path(f"{_M}room/note/", views.private_note, name="room_note"),
    path(f"{_M}room/shared-notes/", views.shared_notes, name="room_shared_notes"),
    path(f"{_M}room/hand/", views.hand, name="room_hand"),
    path(f"{_M}room/floor/", views.floor, name="room_floor"),
]
