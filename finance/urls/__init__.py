"""The finance app's URLs: each part's, assembled (served under /a/<slug>/ in the "workspace"
namespace, see module.py)."""

from finance.urls import ledger, reports, review

_PARTS = (ledger, review, reports)

workspace_urlpatterns = [pattern for part in _PARTS for pattern in part.workspace_urlpatterns]
