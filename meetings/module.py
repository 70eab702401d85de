"""What the meetings app brings to the platform (see core.modules): its permissions, and the
audit actions, events and menu entries each part declares in ``meetings/declarations/``."""

from django.utils.translation import gettext_lazy as _

from core.modules import Module, Permissions
from meetings.declarations import minutes, room, schedule, voting


class Perm(Permissions):
    MANAGE = (
        "meetings.manage",
        _("Manage boards and committees, schedule meetings and keep their records"),
    )
    VIEW_ALL = "meetings.view_all", _("See every meeting of the agency")
    DECISIONS = "meetings.decisions", _("Follow up the decisions of meetings")


_PARTS = (schedule, room, voting, minutes)

MODULE = Module(
    name="meetings",
    permissions=Perm,
    # Only the agency admin holds these by default. None is "agency-wide" in the sense of
    # core.modules: seeing every meeting says nothing about a supervisor's department scope.
    permission_help={
        Perm.MANAGE: _("Members, rules, invitations, agenda, attendance and minutes."),
        Perm.VIEW_ALL: _("Read only; taking part still needs an invitation."),
        Perm.DECISIONS: _("The register of decisions: owners, due dates and follow-up."),
    },
    audit_actions={code: label for part in _PARTS for code, label in part.AUDIT_ACTIONS.items()},
    events={code: event for part in _PARTS for code, event in part.EVENTS.items()},
    menu=[entry for part in _PARTS for entry in part.MENU],
    workspace_urls="meetings.urls.workspace_urlpatterns",
    websocket_routes="meetings.routing.websocket_urlpatterns",
)
