"""Two-factor sign-in (R-2): who must use it, whether this session did, and the one gate.

allauth.mfa asks for the code at sign-in whenever the user has an authenticator (its login
stage, whatever identifier was typed) and records ``{"method": "mfa"}`` in the session. The
platform requires two-factor sign-in of operators (``is_staff``) and oversight users on the
platform and oversight pages; an agency may require it of its staff (``Agency.
requires_two_factor``). :class:`TwoFactorRequiredMiddleware` is the one place that enforces
both, for every page under those paths; the workspace websocket asks
:func:`session_allows_agency` too, and the portal's notifications (inbox, bell, public
websocket) leave out the agencies of :func:`agencies_withheld_from_session`.
"""

from types import SimpleNamespace
from urllib.parse import urlencode, urlparse

from allauth.account.internal.flows.login import get_authentication_records, record_authentication
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Pages of the platform operator and of oversight users (the platform's requirement).
PLATFORM_PATH_PREFIXES = ("/platform/", "/oversight/", "/notifications/platform/")
# Authenticators that are a second factor by themselves (recovery codes only back them up).
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
NEXT_SESSION_KEY = "two_factor_next"
# Set at sign-in when the user has an authenticator but the session did not use it (a login
# outside allauth's flow, e.g. right after setting a password from an invitation link).
PENDING_SESSION_KEY = "two_factor_pending"
# Pages a session with a pending second factor may still open.
PENDING_ALLOWED_PREFIXES = (
    "/accounts/2fa/reauthenticate/",
    "/accounts/2fa/webauthn/reauthenticate/",
    "/accounts/logout/",
    "/language/",
    "/healthz",
)


# --- policy ----------------------------------------------------------------------------------


def platform_requires_two_factor(user) -> bool:
    """Operators and oversight users must use two-factor sign-in on their pages."""
    return bool(user.is_authenticated and (user.is_staff or user.is_oversight))


# The agencies' requirement is known to the tenants app (above accounts), which registers its
# two reads here in its AppConfig.ready(): ``agencies_requiring(user)`` and
# ``is_staff(user, agency)`` (tenants.selectors).
_agency_rule: dict = {}


def agency_rule_register(*, agencies_requiring, is_staff, withheld) -> None:
    _agency_rule.update(agencies_requiring=agencies_requiring, is_staff=is_staff, withheld=withheld)


def _agency_read(name: str):
    try:
        return _agency_rule[name]
    except KeyError:
        raise ImproperlyConfigured(
            "No agency two-factor rule registered: the tenants app registers it in its ready()."
        ) from None


def agencies_requiring_two_factor(user):
    """Active agencies where the user is active staff and which require two-factor sign-in."""
    return _agency_read("agencies_requiring")(user)


def user_is_required_to_use_two_factor(user) -> bool:
    """Whether any requirement applies to the user now (then they keep one authenticator)."""
    if not user.is_authenticated:
        return False
    return platform_requires_two_factor(user) or agencies_requiring_two_factor(user).exists()


def user_has_second_factor(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()


def session_is_two_factor_verified(session, user) -> bool:
    """Whether this session's sign-in (or a later re-authentication) used a second factor."""
    records = get_authentication_records(SimpleNamespace(session=session), user)
    return any(record.get("method") == "mfa" for record in records)


def _is_agency_staff(user, agency) -> bool:
    return _agency_read("is_staff")(user, agency)


def agencies_withheld_from_session(session, user):
    """The agencies whose two-factor requirement this session does not meet, as a queryset to
    use as a subquery (the one rule, see :func:`session_allows_agency`).

    None when the session used a second factor; every agency while its second factor is
    pending; otherwise the agencies that require it and where the user is active staff. A
    missing session (``None``) counts as one that did not use a second factor."""
    verified = session is not None and session_is_two_factor_verified(session, user)
    pending = session is not None and bool(session.get(PENDING_SESSION_KEY))
    return _agency_read("withheld")(user, verified=verified, pending=pending)


def session_allows_agency(session, user, agency) -> bool:
    """False when the agency requires two-factor sign-in of its staff and this session of a
    staff member has not used it: its workspace, its websocket and its notifications on the
    portal (inbox, bell, public websocket) are then withheld."""
    return not agencies_withheld_from_session(session, user).filter(pk=agency.pk).exists()


def second_factor_pending(session, user) -> bool:
    """The session was opened without the code of an existing authenticator and has not
    entered it since (then only the pages of PENDING_ALLOWED_PREFIXES open: see gate)."""
    if session is None or not session.get(PENDING_SESSION_KEY):
        return False
    return not session_is_two_factor_verified(session, user)


# --- the gate --------------------------------------------------------------------------------


def _requirement(request) -> str | None:
    """Which requirement applies to this request: "agency", "platform" or None."""
    user = request.user
    agency = getattr(request, "agency", None)
    if agency is not None:
        if agency.requires_two_factor and _is_agency_staff(user, agency):
            return "agency"
        return None
    if request.path_info.startswith(PLATFORM_PATH_PREFIXES) and platform_requires_two_factor(user):
        return "platform"
    return None


def _second_factor_redirect(request, user) -> HttpResponseRedirect:
    """To allauth's re-authentication with the user's second factor, then back here."""
    types = set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))
    urlname = (
        "mfa_reauthenticate"
        if types & {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
        else "mfa_reauthenticate_webauthn"
    )
    messages.info(request, _("Confirm your sign-in with your second factor to continue."))
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse(urlname)}?{query}")


def gate(request) -> HttpResponseRedirect | None:
    """Send a required user who has not used a second factor in this session to set one up
    (no authenticator yet) or to enter a code (an authenticator, but e.g. a session opened by
    an invitation link); a user with an authenticator whose sign-in skipped it is sent to
    enter a code anywhere. None when the request may go on."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if session_is_two_factor_verified(request.session, user):
        return None
    if request.session.get(PENDING_SESSION_KEY):
        if request.path_info.startswith(PENDING_ALLOWED_PREFIXES):
            return None
        return _second_factor_redirect(request, user)
    requirement = _requirement(request)
    if requirement is None:
        return None
    if user_has_second_factor(user):
        return _second_factor_redirect(request, user)
    path = request.get_full_path()
    if request.method == "GET":
        request.session[NEXT_SESSION_KEY] = path
    if requirement == "agency":
        message = _(
            "%(agency)s requires two-factor sign-in for its staff. Set it up to open the workspace."
        ) % {"agency": request.agency.name}
    else:
        message = _(
            "Platform operators and oversight users must use two-factor sign-in. Set it up to "
            "continue."
        )
    messages.warning(request, message)
    return HttpResponseRedirect(reverse("mfa_index"))


class TwoFactorRequiredMiddleware:
    """Applies :func:`gate` to workspace, platform and oversight pages (after authentication,
    sessions, messages and the agency middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return gate(request) or self.get_response(request)


def next_url(request) -> str:
    """Where a user sent to set up two-factor sign-in was going (for the "continue" link)."""
    return request.session.get(NEXT_SESSION_KEY, "")


# --- allauth hooks ---------------------------------------------------------------------------


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": gettext_lazy(
            "Two-factor sign-in is required for your account, so you cannot remove your last "
            "authenticator. Add another one first."
        ),
    }

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """A user who is required to use two-factor sign-in keeps at least one second factor."""
        user = authenticator.user
        others = Authenticator.objects.filter(
            user_id=user.pk, type__in=SECOND_FACTOR_TYPES
        ).exclude(pk=authenticator.pk)
        return others.exists() or not user_is_required_to_use_two_factor(user)

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        """WebAuthn's relying party is the site's host name from SITE_URL, not the Host header."""
        return {"id": urlparse(settings.SITE_URL).hostname or "localhost", "name": "Muamalat"}

    def get_totp_label(self, user) -> str:
        return user.email


@receiver(user_logged_in)
def _flag_sign_in_without_second_factor(sender, request, user, **kwargs):
    """allauth's login asks for the code of a user with an authenticator; any other login
    (invitation link, a future view calling login()) leaves the second factor pending, and
    the gate asks for it before anything else."""
    if request is None or not hasattr(request, "session"):
        return
    if session_is_two_factor_verified(request.session, user):
        request.session.pop(PENDING_SESSION_KEY, None)
    elif user_has_second_factor(user):
        request.session[PENDING_SESSION_KEY] = True


@receiver(authenticator_added)
def _record_second_factor_on_setup(sender, request, user, authenticator, **kwargs):
    """Setting up a user's first authenticator proves possession of it (a valid code, or the
    key's signature): count it as this session's second factor, so the user goes on at once.

    Only the first: a user who already had one must use it. Otherwise a session opened without
    the code (one predating the authenticator) plus the password could add a key of its own
    and pass the requirement."""
    if authenticator.type not in SECOND_FACTOR_TYPES or request is None:
        return
    had_one = (
        Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES)
        .exclude(pk=authenticator.pk)
        .exists()
    )
    if had_one:
        return
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type, setup=True
    )
    # allauth sends this signal on commit, which may come after the response saved the
    # session (e.g. inside an outer transaction): save it here too.
    request.session.save()
