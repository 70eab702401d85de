"""The invitation link (public, outside any workspace): where an invitation becomes a
membership, with a new account or the holder's own."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from tenants import services as tenant_services
from tenants.forms import InvitationAccountForm
from tenants.models import Agency


def _invitation_invalid(request, message: str = ""):
    return render(request, "accounts/invitation_invalid.html", {"message": message}, status=400)


def invitation_accept(request, agency_slug: str, token: str):
    """The link of an invitation email: the only way an invitation becomes a membership.

    Following it proves control of the invited address. Whoever holds the address decides what
    happens: nobody, or only an unverified claim → the person creates their account here (an
    unverified claim by another account is detached, never bound to); a verified account → its
    owner signs in and accepts. Signed in as another account → refused.
    """
    agency = Agency.objects.filter(slug=agency_slug[:40], is_active=True).first()
    if agency is None:
        return _invitation_invalid(request)
    with schema_context(agency.schema_name):
        try:
            invitation = tenant_services.invitation_pending(agency=agency, token=token)
        except tenant_services.InvitationInvalid as exc:
            return _invitation_invalid(request, exc.messages[0])
        state, holder = tenant_services.invitation_account_state(invitation)
        roles = [role.name for role in invitation.roles.all()]
    context = {"agency": agency, "invitation": invitation, "roles": roles, "mode": ""}
    workspace = f"/a/{agency.slug}/"
    user = request.user
    if user.is_authenticated:
        if holder is None or holder.pk != user.pk:
            context["mode"] = "other_account"
            return render(request, "accounts/invitation_accept.html", context, status=403)
        if state != "verified":
            context["mode"] = "confirm_address"
            return render(request, "accounts/invitation_accept.html", context)
        context["mode"] = "accept"
        if request.method == "POST":
            try:
                tenant_services.invitation_accept(agency=agency, token=token, user=user)
            except tenant_services.InvitationInvalid as exc:
                return _invitation_invalid(request, exc.messages[0])
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, _message(exc))
            else:
                messages.success(request, _("Welcome to %(agency)s.") % {"agency": agency.name})
                return redirect(workspace)
        return render(request, "accounts/invitation_accept.html", context)
    if state == "verified":
        context["mode"] = "sign_in"
        context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        return render(request, "accounts/invitation_accept.html", context)
    context["mode"] = "create"
    form = InvitationAccountForm(request.POST or None, initial=invitation.names)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            membership = tenant_services.invitation_accept_new_account(
                agency=agency,
                token=token,
                password=form.cleaned_data["new_password1"],
                names=form.names(),
            )
        except tenant_services.InvitationInvalid as exc:
            return _invitation_invalid(request, exc.messages[0])
        except ValidationError as exc:  # the password validators
            form.add_error("new_password1", exc)
        except PermissionDenied as exc:
            form.add_error(None, _message(exc))
        else:
            login(request, membership.user, backend="accounts.backends.IdentifierBackend")
            return redirect(workspace)
    return render(request, "accounts/invitation_accept.html", context)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.messages[0]
    return str(exc) or _("You may not open this page.")
