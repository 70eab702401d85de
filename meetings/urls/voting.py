"""URLs of the voting part of meetings (assembled in meetings.urls)."""

import core.converters  # noqa: F401 - registers <id:…>

# Under /a/<slug>/ in the "workspace" namespace (employees of the agency).
workspace_urlpatterns: list = []
# Under /meetings/ in the "meetings" namespace (every participant, employee or not).
public_urlpatterns: list = []
