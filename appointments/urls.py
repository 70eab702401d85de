from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from appointments import views

workspace_urlpatterns = [
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar/<id:appointment_id>/", views.appointment_edit, name="appointment_edit"),
]
