from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.accounts import pending, services
from portal.accounts.forms import MobileCodeForm
from portal.accounts.models import User
from tenants import audit
from tenants.models import Agency


def verify_mobile(request):
    """The mobile-code step: of a signed-in account, or of the sign-up just made in this
    session (signed in once the code is confirmed; see portal.accounts.pending)."""
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


def invitation_accept(request, uidb64: str, token: str):
    """One-time link from an invitation email: the employee sets their own password."""
    try:
        user = User.objects.get(pk=int(urlsafe_base64_decode(uidb64).decode()))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "accounts/invitation_invalid.html", status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()  # changes the password hash, so the token cannot be used again
        audit.platform_record(
            request=request, actor=user, action="account.invitation_accepted", obj=user
        )
        login(request, user, backend="portal.accounts.backends.IdentifierBackend")
        slug = request.GET.get("agency", "")
        if Agency.objects.filter(slug=slug, is_active=True).exists():
            return redirect(f"/a/{slug}/")
        return redirect("portal:home")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invited": user})
