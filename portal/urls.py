"""One URL configuration: the public portal at /, each agency's workspace under /a/<slug>/.

tenants.middleware.AgencyMiddleware has already pointed the connection at the agency's schema
before these patterns are resolved; workspace views receive ``agency_slug`` and ignore it.
"""

from django.urls import include, path

from accounts import two_factor_views
from accounts import views as account_views
from core import modules
from insights.views import my_statistics
from notifications import views as notification_views
from portal import views
from requests_app.urls import api_patterns, guide_patterns
from requests_app.views_public import survey as survey_view
from tenants import views_invitation as invitation_views

# Each agency's workspace, /a/<slug>/…: the pages every installed module declares
# (``Module.workspace_urls``, core.modules), in one namespace ("workspace:…").
workspace_patterns = modules.workspace_urlpatterns()

public_patterns = [
    path("", views.home, name="home"),
    path("language/", views.set_language, name="set_language"),
    path("platform/agencies/", views.platform_agencies, name="platform_agencies"),
]

account_patterns = [
    # Registration in steps (accounts.signup_steps); the first is allauth's "account_signup".
    path("signup/names/", account_views.signup_names, name="signup_names"),
    path("signup/contact/", account_views.signup_contact, name="signup_contact"),
    path("signup/password/", account_views.signup_password, name="signup_password"),
    path("mobile/verify/", account_views.verify_mobile, name="verify_mobile"),
    path("mobile/resend/", account_views.resend_mobile_code, name="resend_mobile_code"),
    path(
        "invitation/<str:agency_slug>/<str:token>/",
        invitation_views.invitation_accept,
        name="invitation",
    ),
]

urlpatterns = [
    path("", include((public_patterns, "portal"))),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include((account_patterns, "accounts"))),
    # Before allauth's own: registration starts with the identity step.
    path("accounts/signup/", account_views.signup_identity, name="account_signup"),
    # Before allauth's own URL of the same name: the project's rule on removing a last key.
    path(
        "accounts/2fa/webauthn/keys/<int:pk>/remove/",
        two_factor_views.remove_webauthn,
        name="mfa_remove_webauthn",
    ),
    path("accounts/", include("allauth.urls")),
    path("notifications/", include("notifications.urls")),
    # Development only: the view answers 404 unless DEBUG.
    path("dev/outbox/", notification_views.dev_outbox, name="dev_outbox"),
    path("requests/", include("requests_app.urls")),
    path("meetings/", include("meetings.urls")),
    path("guide/", include((guide_patterns, "guide"))),
    path("survey/<str:token>/", survey_view, name="survey"),
    path("api/", include((api_patterns, "api"))),
    path("oversight/", include("insights.urls")),
    path("me/statistics/", my_statistics, name="my_statistics"),
    path("a/<slug:agency_slug>/", include((workspace_patterns, "workspace"))),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.forbidden"
handler404 = "portal.views.not_found"
