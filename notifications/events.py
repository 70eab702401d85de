"""The events people are told about, their channels and whether a person may turn them off.

Templates per event live in templates/notifications/events/<event>/: subject.txt, email.txt,
email.html, sms.txt, inapp.txt (only for the channels the event uses). Later apps add events.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

EMAIL = "email"
SMS = "sms"
INAPP = "inapp"
CHANNELS = [(INAPP, _("In the portal")), (EMAIL, _("Email")), (SMS, _("SMS"))]


@dataclass(frozen=True)
class Event:
    label: str | Promise
    channels: tuple[str, ...]
    # Mandatory events (codes, invitations) ignore preferences: they are how people get in.
    mandatory: bool = False
    # Sensitive events carry a secret in their context (a one-time code, a set-password or
    # invitation link with a token). Their email/SMS texts are stored encrypted while queued and
    # replaced by a placeholder once sent or finally failed; their subject and in-app text, kept
    # in clear, are rendered WITHOUT the caller's context (only recipient, agency, link and
    # site_url), so no template can put the secret there. ``link`` itself must stay secret-free.
    sensitive: bool = False


EVENTS: dict[str, Event] = {
    "account.mobile_code": Event(
        _("Mobile verification code"), (SMS,), mandatory=True, sensitive=True
    ),
    "account.welcome": Event(_("Welcome to Muamalat"), (INAPP, EMAIL, SMS)),
    # Someone tried to register (or add to their account) this account's identity number,
    # email or mobile; says nothing about who.
    "account.registered_details_used": Event(
        _("Someone tried to use your account details"), (EMAIL, SMS), mandatory=True
    ),
    "staff.invited": Event(
        _("Invitation to an agency"), (INAPP, EMAIL), mandatory=True, sensitive=True
    ),
    "request.submitted": Event(_("Your request was received"), (INAPP, EMAIL)),
    "request.commented": Event(_("A reply on your request"), (INAPP, EMAIL, SMS)),
    "request.info_requested": Event(_("Information needed for your request"), (INAPP, EMAIL, SMS)),
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
    "calendar.reminder": Event(_("Appointment reminder"), (INAPP, EMAIL)),
    "request.escalated": Event(_("A late request was escalated to you"), (INAPP, EMAIL)),
}


def configurable_events() -> dict[str, Event]:
    return {code: event for code, event in EVENTS.items() if not event.mandatory}
