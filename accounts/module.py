"""What the accounts app brings to the platform (see core.modules): its account events and
the labels of the audit actions it writes to the platform's trail."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, SMS, Event, Module

MOBILE_CODE = "account.mobile_code"
WELCOME = "account.welcome"
# Someone tried to register (or add to their account) this account's identity number, email
# or mobile; says nothing about who.
REGISTERED_DETAILS_USED = "account.registered_details_used"

MODULE = Module(
    name="accounts",
    events={
        MOBILE_CODE: Event(_("Mobile verification code"), (SMS,), mandatory=True, sensitive=True),
        WELCOME: Event(_("Welcome to Muamalat"), (INAPP, EMAIL, SMS)),
        REGISTERED_DETAILS_USED: Event(
            _("Someone tried to use your account details"), (EMAIL, SMS), mandatory=True
        ),
    },
    audit_actions={
        "auth.login": _("Signed in"),
        "auth.logout": _("Signed out"),
        "account.signup": _("Account created"),
        "account.signup_registered_details": _(
            "Someone tried to register with this account's details"
        ),
        "account.email_change_registered": _("Someone tried to use this account's email address"),
    },
)
