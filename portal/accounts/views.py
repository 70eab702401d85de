from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.accounts import services
from portal.accounts.forms import MobileCodeForm
from portal.accounts.models import User
from tenants import audit
from tenants.models import Agency


@login_required
def verify_mobile(request):
    if request.user.mobile_verified:
        return redirect("portal:home")
    form = MobileCodeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        messages.success(request, _("Your mobile number is verified."))
        return redirect("portal:home")
    return render(request, "accounts/verify_mobile.html", {"form": form})


@login_required
@require_POST
def resend_mobile_code(request):
    try:
        services.mobile_verification_send(user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
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
