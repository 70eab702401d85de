from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import pending, services
from accounts.forms import MobileCodeForm


def verify_mobile(request):
    """The mobile-code step: of a signed-in account, or of the sign-up just made in this
    session (signed in once the code is confirmed; see accounts.pending)."""
    if request.user.is_authenticated:
        if request.user.mobile_verified:
            return redirect("portal:home")
        form = MobileCodeForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            messages.success(request, _("Your mobile number is verified."))
            return redirect("portal:home")
        return render(
            request, "accounts/verify_mobile.html", {"form": form, "mobile": request.user.mobile}
        )
    state = pending.get(request)
    if state is None:
        return redirect_to_login(request.get_full_path())
    user = pending.user_of(state)
    if state.get("user_id") and (user is None or user.mobile_verified):
        pending.clear(request)
        return redirect_to_login(reverse("portal:home"))
    form = MobileCodeForm(request.POST or None, user=user, unregistered=state)
    if request.method == "POST":
        valid = form.is_valid()
        pending.save(request, state)  # attempts of an unregistered sign-up are counted
        if valid and user is not None:
            pending.clear(request)
            messages.success(request, _("Your mobile number is verified."))
            return perform_login(request, user, redirect_url=reverse("portal:home"))
    return render(request, "accounts/verify_mobile.html", {"form": form, "mobile": state["mobile"]})


@require_POST
def resend_mobile_code(request):
    state = None
    if request.user.is_authenticated:
        user = request.user
    else:
        state = pending.get(request)
        if state is None:
            return redirect_to_login(reverse("accounts:verify_mobile"))
        user = pending.user_of(state)
    # Per network as well as per account (allauth's rate limit "mobile_code").
    if not ratelimit.consume(request, action="mobile_code", dry_run=True):
        messages.error(request, _("Too many codes were asked for from this network. Try later."))
        return redirect("accounts:verify_mobile")
    try:
        if user is not None:
            services.mobile_verification_send(user=user)
        else:
            services.mobile_verification_send_unregistered(state=state)
            pending.save(request, state)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        ratelimit.consume(request, action="mobile_code")
        messages.success(request, _("A new code was sent."))
    return redirect("accounts:verify_mobile")
