"""Public portal views: home, language, health, platform operator's agency list."""

import asyncio
import contextlib
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.services import user_set_language
from frontend.forms import apply_service_errors
from requests_app.selectors import my_requests, waiting_for_beneficiary
from tenants import services as tenant_services
from tenants.forms import AgencyOnboardForm
from tenants.models import Agency
from tenants.selectors import workspaces_for


def home(request):
    context = {}
    if request.user.is_authenticated:
        context["workspaces"] = list(workspaces_for(user=request.user))
        context["recent_requests"] = list(my_requests(user=request.user)[:5])
        context["waiting"] = waiting_for_beneficiary(user=request.user)
    return render(request, "portal/home.html", context)


@require_POST
def set_language(request):
    """Switch language with one click; remembered in a cookie and on the user's account."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)
    translation.activate(language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@never_cache
def healthz(request):
    """Database and channel layer reachability, for load balancers and monitors."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        async_to_sync(_channel_layer_roundtrip)()
        checks["channel_layer"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["channel_layer"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


async def _channel_layer_roundtrip() -> None:
    layer = get_channel_layer()
    # The default prefix: the lists layer reads a process's own channels from one shared inbox
    # ("specific.<process>!"), which an open socket's receive holds; a message to any other
    # prefix would wait there unread and the check would time out whenever a socket is open.
    channel = await layer.new_channel()
    try:
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "healthz", "token": token})
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    finally:
        await _channel_end(layer, channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


async def _channel_end(layer, channel: str) -> None:
    """The pub/sub layer keeps a channel subscribed (for the process's life, under daphne's one
    event loop) until a receive on it is cancelled; it has no call to delete one. The lists
    layer keeps nothing, and cancelling a receive there could drop a message popped for an
    open socket: only pub/sub is ended."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    if isinstance(layer, RedisPubSubChannelLayer):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), timeout=0.01)


@login_required
def platform_agencies(request):
    """Platform operators list and onboard agencies (R-60)."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Only platform operators can manage agencies."))
    form = AgencyOnboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agency = tenant_services.agency_onboard(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Agency %(name)s was created.") % {"name": agency.name})
            return redirect("portal:platform_agencies")
    agencies = Agency.objects.order_by("slug")
    return render(request, "portal/platform_agencies.html", {"form": form, "agencies": agencies})


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else _("You may not open this page.")
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


def bad_request(request, exception=None):
    from portal.middleware import bad_request_page

    return bad_request_page(request)
