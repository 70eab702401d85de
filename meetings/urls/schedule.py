"""URLs of the schedule part of meetings (assembled in meetings.urls)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from meetings.views import schedule as views

# Under /a/<slug>/ in the "workspace" namespace (employees of the agency).
workspace_urlpatterns: list = [
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/bodies/", views.bodies, name="meeting_bodies"),
    path("meetings/bodies/new/", views.body_new, name="meeting_body_new"),
    path("meetings/bodies/<id:body_id>/", views.body_detail, name="meeting_body"),
    path(
        "meetings/bodies/<id:body_id>/members/<id:member_id>/",
        views.member_edit,
        name="meeting_member_edit",
    ),
    path(
        "meetings/bodies/<id:body_id>/members/<id:member_id>/remove/",
        views.member_remove,
        name="meeting_member_remove",
    ),
    path("meetings/employees/", views.employees, name="meeting_employees"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<id:meeting_id>/", views.meeting_detail, name="meeting"),
    path("meetings/<id:meeting_id>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<id:meeting_id>/announce/", views.meeting_announce, name="meeting_announce"),
    path("meetings/<id:meeting_id>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path(
        "meetings/<id:meeting_id>/participants/add/",
        views.participant_add,
        name="meeting_participant_add",
    ),
    path(
        "meetings/<id:meeting_id>/participants/<id:participant_id>/remove/",
        views.participant_remove,
        name="meeting_participant_remove",
    ),
    path("meetings/<id:meeting_id>/agenda/add/", views.agenda_add, name="meeting_agenda_add"),
    path(
        "meetings/<id:meeting_id>/agenda/<id:item_id>/",
        views.agenda_edit,
        name="meeting_agenda_edit",
    ),
    path(
        "meetings/<id:meeting_id>/agenda/<id:item_id>/delete/",
        views.agenda_delete,
        name="meeting_agenda_delete",
    ),
    path(
        "meetings/<id:meeting_id>/agenda/<id:item_id>/move/",
        views.agenda_move,
        name="meeting_agenda_move",
    ),
    path(
        "meetings/<id:meeting_id>/documents/add/",
        views.document_add,
        name="meeting_document_add",
    ),
    path(
        "meetings/<id:meeting_id>/documents/<id:document_id>/delete/",
        views.document_delete,
        name="meeting_document_delete",
    ),
]
# Under /meetings/ in the "meetings" namespace (every participant, employee or not).
public_urlpatterns: list = [
    path("", views.mine, name="mine"),
    path("<slug:agency_slug>/<id:meeting_id>/", views.meeting_page, name="meeting"),
    path("<slug:agency_slug>/<id:meeting_id>/answer/", views.meeting_rsvp, name="rsvp"),
    path("<slug:agency_slug>/<id:meeting_id>/ics/", views.meeting_ics_download, name="ics"),
    path(
        "<slug:agency_slug>/<id:meeting_id>/documents/<id:document_id>/",
        views.document_download,
        name="document",
    ),
    path("<slug:agency_slug>/answer/<str:token>/", views.rsvp_link, name="rsvp_link"),
    path("<slug:agency_slug>/invitation/<str:token>/", views.invitation, name="invitation"),
]
