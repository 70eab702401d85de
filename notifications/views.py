"""Notification centre, preferences, delivery logs and the Twilio status webhook."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import PreferencesForm
from notifications.models import ChannelPreference, Delivery
from notifications.module import Perm
from tenants.decorators import workspace_view

logger = logging.getLogger("muamalat.notifications")


def _inbox(request, template: str):
    agency = getattr(request, "agency", None)
    notifications = selectors.inbox(user=request.user, agency=agency, session=request.session)
    page = Paginator(notifications, 30).get_page(request.GET.get("page"))
    return render(request, template, {"page": page})


def _mark_read(request):
    agency = getattr(request, "agency", None)
    raw = request.POST.get("notification", "").strip()
    # ASCII digits only (str.isdigit() also accepts "١٢" and "²"), and within a bigint.
    valid = raw.isascii() and raw.isdigit() and len(raw) <= 18
    notification_id = int(raw) if valid else None
    if raw and notification_id is None:
        messages.error(request, _("Unknown notification."))
    else:
        services.notification_mark_read(
            user=request.user,
            notification_id=notification_id,
            agency=agency,
            session=request.session,
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = request.path.replace("read/", "")
    return redirect(target)


@login_required
def inbox(request):
    return _inbox(request, "notifications/inbox.html")


@login_required
@require_POST
def mark_read(request):
    return _mark_read(request)


@workspace_view()
def workspace_inbox(request):
    return _inbox(request, "notifications/workspace_inbox.html")


@workspace_view()
@require_POST
def workspace_mark_read(request):
    return _mark_read(request)


@login_required
def preferences(request):
    current = {
        p.event: {c for c in ("email", "sms", "inapp") if p.allows(c)}
        for p in ChannelPreference.objects.filter(user=request.user)
    }
    # Bound on every POST: a form with every box unticked posts no field at all.
    form = PreferencesForm(request.POST if request.method == "POST" else None, current=current)
    if request.method == "POST" and form.is_valid():
        services.preferences_save(user=request.user, choices=form.choices())
        messages.success(request, _("Your notification preferences were saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


def _log(request, agency, template):
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    query = request.GET.get("q", "").strip()[:100]
    status = status if status in dict(Delivery.STATUSES) else ""
    channel = channel if channel in ("email", "sms", "inapp") else ""
    page = Paginator(
        selectors.delivery_log(agency=agency, status=status, channel=channel, query=query), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        template,
        {
            "page": page,
            "status": status,
            "channel": channel,
            "q": query,
            "statuses": Delivery.STATUSES,
        },
    )


@workspace_view(Perm.VIEW_LOG)
def agency_delivery_log(request):
    return _log(request, request.agency, "notifications/delivery_log.html")


@login_required
def platform_delivery_log(request):
    if not request.user.is_staff:
        raise PermissionDenied(_("Only platform operators can see the platform's messages."))
    return _log(request, None, "notifications/platform_delivery_log.html")


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's delivery reports. Only requests signed with our auth token are believed."""
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.SITE_URL + request.get_full_path()
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if (
        not signature
        or not settings.TWILIO_AUTH_TOKEN
        or not validator.validate(url, request.POST.dict(), signature)
    ):
        logger.warning("refused Twilio callback with a missing or wrong signature")
        return HttpResponseForbidden("invalid signature")
    services.delivery_status_update(
        provider_message_id=request.POST.get("MessageSid", ""),
        provider_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        error_message=request.POST.get("ErrorMessage", ""),
    )
    return HttpResponse(status=204)


@never_cache
def dev_outbox(request):
    """Developer outbox: the SMS (codes included) and emails the console backends kept, newest
    first, so that a developer never searches the server's output for a sign-up code. It exists
    only under DEBUG (404 otherwise, whatever the backends); no sign-in needed, since the code is
    wanted before the account can be used."""
    if not settings.DEBUG:
        raise Http404
    return render(
        request,
        "notifications/dev_outbox.html",
        {
            "entries": selectors.console_outbox(),
            "console_sms": settings.SMS_BACKEND == "notifications.backends.sms.ConsoleSmsBackend",
            "console_email": settings.EMAIL_BACKEND
            == "notifications.backends.email.ConsoleEmailBackend",
        },
    )
