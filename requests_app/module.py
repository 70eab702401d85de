"""What the requests app brings to the platform (see core.modules): request permissions and
their default grants, request events, the request pages of the workspace and their socket."""

from django.utils.translation import gettext_lazy as _

from core.modules import (
    EMAIL,
    EMPLOYEE,
    INAPP,
    SMS,
    SUPERVISOR,
    Event,
    MenuEntry,
    Module,
    Permissions,
)


class Perm(Permissions):
    WORK = "requests.work", _("Receive and work requests")
    VIEW_ALL = "requests.view_all", _("See every request of the agency and why it was assigned")
    MANAGE_CATALOGUE = "requests.manage_catalogue", _("Manage the catalogue of services")
    MANAGE_DISTRIBUTION = (
        "requests.manage_distribution",
        _("Manage distribution rules and employee availability"),
    )
    SUPERVISE = (
        "requests.supervise",
        _("Supervise the requests of one's department and decide approvals"),
    )
    REASSIGN = "requests.reassign", _("Reassign requests directly")
    POSTPONE = "requests.postpone", _("Postpone requests directly")
    MANAGE_SLA = (
        "requests.manage_sla",
        _("Manage service levels, the working calendar and holidays"),
    )
    REOPEN = "requests.reopen", _("Reopen closed or rejected requests")


# Who sees the request lists' pages of the menu.
OVERSEERS = (Perm.SUPERVISE, Perm.VIEW_ALL)

MODULE = Module(
    name="requests",
    permissions=Perm,
    default_grants={
        SUPERVISOR: [Perm.WORK, Perm.SUPERVISE, Perm.REASSIGN, Perm.POSTPONE, Perm.REOPEN],
        EMPLOYEE: [Perm.WORK],
    },
    agency_wide=[Perm.VIEW_ALL],
    permission_areas={
        Perm.MANAGE_CATALOGUE: "settings",
        Perm.MANAGE_DISTRIBUTION: "settings",
        Perm.MANAGE_SLA: "settings",
    },
    permission_help={
        Perm.VIEW_ALL: _("Every department, not only the holder's own."),
        Perm.SUPERVISE: _("Their department and the departments under it."),
        Perm.REASSIGN: _("Without asking a supervisor's approval."),
        Perm.POSTPONE: _("Without asking a supervisor's approval."),
    },
    audit_actions={
        "request.submit": _("Request submitted"),
        "requests.survey_form": _("Satisfaction survey form changed"),
        "request.started": _("Work on a request started"),
        "request.info_requested": _("Information asked of the beneficiary"),
        "request.resolved": _("Request completed"),
        "request.rejected": _("Request rejected"),
        "request.reopened": _("Request reopened"),
        "request.comment.external": _("Reply to the beneficiary"),
        "request.comment.internal": _("Internal note"),
        "request.reassign": _("Request reassigned"),
        "request.postpone": _("Request postponed"),
        "request.reassign.asked": _("Reassignment approval asked"),
        "request.reassign.approved": _("Reassignment approved"),
        "request.reassign.refused": _("Reassignment refused"),
        "request.postpone.asked": _("Postponement approval asked"),
        "request.postpone.approved": _("Postponement approved"),
        "request.postpone.refused": _("Postponement refused"),
        "request.late": _("Request became late"),
        "request.escalate": _("Late request escalated"),
        "request.survey": _("Satisfaction survey answered"),
        "catalogue.create": _("Service added to the catalogue"),
        "catalogue.update": _("Service of the catalogue changed"),
        "distribution.create": _("Distribution rule created"),
        "distribution.update": _("Distribution rule changed"),
        "staff.profile": _("Employee's skills or availability changed"),
        "staff.leave": _("Employee's leave recorded"),
        "sla.policy": _("Service level changed"),
        "sla.calendar": _("Working calendar changed"),
        "sla.holiday": _("Holiday added"),
    },
    events={
        "request.submitted": Event(_("Your request was received"), (INAPP, EMAIL)),
        "request.commented": Event(_("A reply on your request"), (INAPP, EMAIL, SMS)),
        "request.info_requested": Event(
            _("Information needed for your request"), (INAPP, EMAIL, SMS)
        ),
        "request.resolved": Event(_("Your request was completed"), (INAPP, EMAIL, SMS)),
        "request.rejected": Event(_("Your request was rejected"), (INAPP, EMAIL, SMS)),
        "request.reopened": Event(_("Your request was reopened"), (INAPP, EMAIL, SMS)),
        "request.assigned": Event(_("A request was assigned to you"), (INAPP,)),
        "request.replied": Event(_("The beneficiary replied"), (INAPP,)),
        "request.postponed": Event(_("Your request was postponed"), (INAPP, EMAIL)),
        "request.approval_requested": Event(_("An approval is waiting for you"), (INAPP, EMAIL)),
        "request.approval_decided": Event(_("Your approval request was decided"), (INAPP,)),
        "request.sla_warning": Event(_("A request is close to its deadline"), (INAPP,)),
        "request.late": Event(_("A request is late"), (INAPP, EMAIL)),
        "request.survey": Event(_("Tell us how we did"), (INAPP, EMAIL)),
        "request.escalated": Event(_("A late request was escalated to you"), (INAPP, EMAIL)),
    },
    menu=[
        MenuEntry("workspace:queue", _("Requests"), (Perm.WORK, Perm.VIEW_ALL), order=20),
        MenuEntry("workspace:approval_list", _("Approvals"), OVERSEERS, order=50),
        MenuEntry("workspace:archive", _("Archive"), OVERSEERS, order=60),
        MenuEntry("workspace:satisfaction", _("Satisfaction"), OVERSEERS, order=70),
        MenuEntry(
            "workspace:catalogue_list",
            _("Services catalogue"),
            (Perm.MANAGE_CATALOGUE,),
            order=130,
        ),
        MenuEntry(
            "workspace:distribution_list",
            _("Distribution"),
            (Perm.MANAGE_DISTRIBUTION,),
            order=140,
        ),
        MenuEntry("workspace:sla_settings", _("Service levels"), (Perm.MANAGE_SLA,), order=150),
    ],
    workspace_urls="requests_app.urls.workspace_urlpatterns",
    websocket_routes="requests_app.routing.websocket_urlpatterns",
    overview_panels=["requests_app.overview.workload"],
    setup_steps="requests_app.overview.setup_steps",
)
