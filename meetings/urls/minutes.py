"""URLs of the minutes part of meetings (assembled in meetings.urls)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from meetings.views import minutes as views

# Under /a/<slug>/ in the "workspace" namespace (employees of the agency).
workspace_urlpatterns: list = [
    path("meetings/decisions/", views.decision_list, name="meetings_decisions"),
    path("meetings/decisions/new/", views.decision_new, name="meetings_decision_new"),
    path("meetings/decisions/<id:decision_id>/", views.decision_detail, name="meetings_decision"),
    path(
        "meetings/decisions/<id:decision_id>/edit/",
        views.decision_edit,
        name="meetings_decision_edit",
    ),
]
# Under /meetings/ in the "meetings" namespace (every participant, employee or not).
_MINUTES = "<slug:agency_slug>/<id:meeting_id>/minutes/"
public_urlpatterns: list = [
    path(_MINUTES, views.minutes_page, name="minutes"),
    path(_MINUTES + "draft/", views.minutes_draft, name="minutes_draft"),
    path(_MINUTES + "circulate/", views.minutes_circulate, name="minutes_circulate"),
    path(_MINUTES + "remark/", views.minutes_remark, name="minutes_remark"),
    path(_MINUTES + "approve/", views.minutes_approve, name="minutes_approve"),
    path(_MINUTES + "versions/<int:number>/", views.minutes_version, name="minutes_version"),
    path(_MINUTES + "pdf/<str:language>/", views.minutes_pdf, name="minutes_pdf"),
]
