"""The finance app's workspace URLs: each part's, assembled (module.py names them)."""

from finance import urls_reports

workspace_urlpatterns: list = [*urls_reports.workspace_urlpatterns]
