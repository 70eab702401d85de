"""The meetings app's URLs: each part's, assembled.

``workspace_urlpatterns`` (module.py) are served under /a/<slug>/ (employees); ``urlpatterns``
(the root URLconf includes them at /meetings/, namespace "meetings") are the participants'
pages, across agencies, for employees and outside members alike."""

from meetings.urls import minutes, room, schedule, voting

_PARTS = (schedule, room, voting, minutes)

app_name = "meetings"

workspace_urlpatterns = [pattern for part in _PARTS for pattern in part.workspace_urlpatterns]
urlpatterns = [pattern for part in _PARTS for pattern in part.public_urlpatterns]
