from allauth.account.utils import perform_login
from allauth.account.views import SignupView as AllauthSignupView
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import pending, services, signup_steps
from accounts.forms import MobileCodeForm
from accounts.templatetags.accounts_tags import local_path


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


# --- registration in steps (accounts.signup_steps) ---------------------------------------------


def _signup_step_page(request, step: str):
    """One step of the registration: its form, filled with what the step accepted before; on
    a valid answer, kept in the session and on to the next step."""
    from allauth.account.adapter import get_adapter

    if request.user.is_authenticated:
        return redirect("portal:home")
    if not get_adapter().is_open_for_signup(request):
        return render(request, "account/signup_closed.html")
    unanswered = signup_steps.first_unanswered(request, before=step)
    if unanswered is not None:
        return redirect(signup_steps.url(unanswered))
    form_class = signup_steps.STEP_FORMS[step]
    # A local "next" given to the first page is kept for the last one (allauth's form field).
    next_given = local_path(request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            signup_steps.save_answers(request, step, form)
            if next_given:
                signup_steps.remember_next(request, next_given)
            following = signup_steps.STEPS[signup_steps.STEPS.index(step) + 1]
            return redirect(signup_steps.url(following))
    else:
        stored = signup_steps.answers(request, step)
        # Bound to what was accepted before: shown as typed (and checked again).
        form = form_class(stored) if stored is not None else form_class()
    return render(
        request,
        f"accounts/signup/{step}.html",
        {
            "form": form,
            "next_path": next_given or signup_steps.next_path(request),
            **signup_steps.step_context(step),
        },
    )


@login_not_required
@never_cache
def signup_identity(request):
    return _signup_step_page(request, signup_steps.IDENTITY)


@login_not_required
@never_cache
def signup_names(request):
    return _signup_step_page(request, signup_steps.NAMES)


@login_not_required
@never_cache
def signup_contact(request):
    return _signup_step_page(request, signup_steps.CONTACT)


class SignupPasswordView(AllauthSignupView):
    """The last step: allauth's sign-up view (its rate limit, its flow, email verification),
    with the earlier steps' answers from the session and the password from this page."""

    template_name = "accounts/signup/password.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            unanswered = signup_steps.first_unanswered(request, before=signup_steps.PASSWORD)
            if unanswered is not None:
                return redirect(signup_steps.url(unanswered))
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict:
        return {"email": signup_steps.all_answers(self.request).get("email", "")}

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            data = signup_steps.all_answers(self.request)
            for name in ("password1", "password2"):
                data[name] = self.request.POST.get(name, "")
            kwargs["data"] = data
        return kwargs

    def form_valid(self, form):
        response = super().form_valid(form)
        signup_steps.clear(self.request)
        return response

    def form_invalid(self, form):
        for step in signup_steps.STEP_FORMS:
            if step in form.step_errors:
                # An earlier answer no longer passes (e.g. a date of birth now in the future):
                # its page shows it with the error.
                messages.error(self.request, _("Please check your answers on this page."))
                return redirect(signup_steps.url(step))
        return super().form_invalid(form)

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context.update(signup_steps.step_context(signup_steps.PASSWORD))
        context["next_path"] = signup_steps.next_path(self.request)
        return context


signup_password = SignupPasswordView.as_view()
