"""Django settings for Muamalat.

Every value that differs between a laptop and production comes from the environment; the
README's configuration section lists each variable.
"""

import getpass
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """postgresql://user:pass@host:port/name?host=/socket/dir -> Django DATABASES entry."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = unquote(parsed.hostname or "") or query.get("host", [""])[0]
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or query.get("port", [""])[0] or ""),
        # 0: one connection per request, closed at its end. Django's advice under ASGI, where
        # each request may run in another thread: a persistent connection per thread stays
        # open until garbage collection (a 16-client burst reached 194 of 200 connections).
        "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME") or None},
    }


DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- Keys (issue 10, point 3) -------------------------------------------------------------
# Development values: allowed only with DEBUG=1 (`make run` sets it). With DEBUG=0 the process
# refuses to start unless SECRET_KEY, FIELD_ENCRYPTION_KEY and IDENTITY_HASH_KEY are all set
# and none of them is (or derives from) a development value. `infra/run.py test`/`bench`
# export random keys, so the test suite runs with production checks and real keys.
from portal.keys import (  # noqa: E402 - stdlib + cryptography only
    DEV_SECRET_KEY,
    derived_development_values,
    production_key_problems,
)

if not DEBUG:
    _key_problems = production_key_problems(os.environ)
    if _key_problems:
        raise ImproperlyConfigured(
            "With DEBUG=0, SECRET_KEY, FIELD_ENCRYPTION_KEY and IDENTITY_HASH_KEY must be set to "
            "production values (not the development ones): "
            + "; ".join(_key_problems)
            + ". `python -m portal.keys` prints fresh values. "
            "For local development set DEBUG=1 (make run does)."
        )

SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
# Identity numbers: encrypted with Fernet (AES-128-CBC + HMAC), looked up by a keyed hash.
# FIELD_ENCRYPTION_KEY may list several comma-separated Fernet keys: the first encrypts, all
# decrypt (MultiFernet); `manage.py rotate_identity_keys` re-encrypts with the first one.
_development_field_key, _development_hash_key = derived_development_values(SECRET_KEY)
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or _development_field_key
IDENTITY_HASH_KEY = (os.environ.get("IDENTITY_HASH_KEY") or "").encode() or _development_hash_key
# The lookup key before a rotation: identity numbers are also found by it until
# `manage.py rotate_identity_keys` has recomputed every hash with IDENTITY_HASH_KEY.
IDENTITY_HASH_KEY_PREVIOUS = (os.environ.get("IDENTITY_HASH_KEY_PREVIOUS") or "").encode()
# --- end of keys ----------------------------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "daphne",
    # numbering's counter table, in public and (TENANT_APPS) in every agency schema
    "core.numbering",
    "tenants",
    "accounts",
    "insights",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    # Before allauth, so our account templates win over allauth's defaults.
    "frontend",
    "allauth",
    "allauth.account",
    "allauth.mfa",  # two-factor sign-in; see the MFA block below
    "channels",
    "procrastinate.contrib.django",
    "notifications",
    "requests_app.public",
    "portal",
]
TENANT_APPS = [
    "core.numbering",
    "tenants.staff",
    "appointments",
    "requests_app",
    "meetings",
    "finance",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Agency"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New agencies are cloned from this migrated template schema instead of replaying every
# migration (see the README's design section).
TENANT_BASE_SCHEMA = "agency_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

MIDDLEWARE = [
    # --- issue 10 (points 11, 12): CSP on every response, even the early 400 below; requests
    # with a NUL byte refused before routing or any query (PostgreSQL refuses NUL in text).
    "csp.middleware.CSPMiddleware",
    "portal.middleware.RejectNulMiddleware",
    # --- end of issue 10
    "tenants.middleware.AgencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts and from where, for the audit trails (core.context): services never take the
    # HttpRequest.
    "core.context.ActionContextMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Two-factor sign-in where the platform or the agency requires it.
    "accounts.two_factor.TwoFactorRequiredMiddleware",
    # Employees' time present in the workspaces (statistics, R-51).
    "insights.middleware.PresenceMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.navigation",
                "notifications.context_processors.unread",
                "notifications.context_processors.dev_outbox",
            ],
            # Dates with the Hijri date, references, working time (issue 12) on every page
            # without a {% load %} line in each template.
            "builtins": ["frontend.templatetags.human"],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/muamalat")
    )
}
# Two database roles (see tenants/dbroles.py): DATABASE_URL is the application's role, which
# owns nothing; DATABASE_OWNER_URL the role that owns the schema and runs `migrate_agencies`
# (unset: DATABASE_URL's role does both, and the grants are skipped). DATABASE_APP_ROLE names
# the role the owner grants to (default: DATABASE_URL's user).
DATABASE_OWNER = (
    database_from_url(os.environ["DATABASE_OWNER_URL"])
    if os.environ.get("DATABASE_OWNER_URL")
    else None
)
DATABASE_APP_ROLE = (
    os.environ.get("DATABASE_APP_ROLE")
    or DATABASES["default"]["USER"]
    or os.environ.get("PGUSER")
    or getpass.getuser()
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# How pushes cross processes (tests/bench/README.md, "A meeting of 500 members voting"):
# "lists" (default) is channels_redis' original layer: a group message is one entry per
# process naming its sockets, kept up to 60 s; "pubsub" publishes a group message once and each
# process hands it to its own sockets (push latency about halved in the meeting benchmark; what
# is published while a process is cut off is lost; channels_redis still calls it beta).
CHANNEL_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "lists": "channels_redis.core.RedisChannelLayer",
}
REDIS_CHANNEL_LAYER = os.environ.get("REDIS_CHANNEL_LAYER", "lists")
if REDIS_CHANNEL_LAYER not in CHANNEL_LAYER_BACKENDS:
    raise ImproperlyConfigured("REDIS_CHANNEL_LAYER must be pubsub or lists")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKENDS[REDIS_CHANNEL_LAYER],
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "muamalat"},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.IdentifierBackend",
    "tenants.backends.AgencyPermissionBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",  # tests only, via settings override
]
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# allauth: identity number, email or mobile all go through one login field (see
# accounts.forms.LoginForm and the IdentifierBackend).
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_FORMS = {
    "login": "accounts.forms.LoginForm",
    "signup": "accounts.forms.SignupForm",
}
ACCOUNT_RATE_LIMITS = {
    # Keyed on the account, whatever spelling of its identifier was typed (see the adapter).
    "login_failed": os.environ.get("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    # Adding or changing the account's email address (each one mails a confirmation).
    "manage_email": os.environ.get("MANAGE_EMAIL_RATE_LIMIT", "5/h/user"),
    # Mobile codes asked for from one network (per account: MOBILE_CODE_* below).
    "mobile_code": os.environ.get("MOBILE_CODE_IP_RATE_LIMIT", "20/h/ip"),
    # Notices to an owner whose identity number, email or mobile someone tried to register.
    "registered_details_notice": "3/d/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Muamalat] "
# A sign-up with registered details answers as a new one would (accounts.forms).
ACCOUNT_PREVENT_ENUMERATION = True
# One email address per account, replaced only once the new one is confirmed; changing it
# asks for the password again (allauth's reauthentication, REAUTHENTICATION_TIMEOUT 300 s).
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_FORMS["add_email"] = "accounts.forms.AddEmailForm"
# Mobile codes: one per MOBILE_CODE_RESEND_SECONDS, at most MOBILE_CODE_MAX_PER_HOUR an hour
# per account, the sign-up's first code included.
MOBILE_CODE_RESEND_SECONDS = int(os.environ.get("MOBILE_CODE_RESEND_SECONDS", "60"))
MOBILE_CODE_MAX_PER_HOUR = int(os.environ.get("MOBILE_CODE_MAX_PER_HOUR", "5"))

# --- two-factor sign-in: allauth.mfa -----------------------------------------------------
# TOTP apps, recovery codes and security keys (WebAuthn) where the browser has them. Who must use
# it is decided in accounts.two_factor (operators, oversight users, staff of agencies that
# require it); the adapter keeps such a user from removing their last authenticator.
MFA_ADAPTER = "accounts.two_factor.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Muamalat")
MFA_TOTP_TOLERANCE = 1  # one 30-second step either side: phones' clocks drift
MFA_PASSKEY_LOGIN_ENABLED = False  # security keys are a second factor, not a password
# WebAuthn is bound to the site's host name (the relying party id), taken from SITE_URL;
# browsers allow WebAuthn over plain http only on localhost.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# The demo operator and oversight accounts (`make run`) get a TOTP authenticator with this
# base32 secret; random (printed once) when unset.
DEMO_TOTP_SECRET = os.environ.get("DEMO_TOTP_SECRET", "")
# --- end two-factor sign-in ---------------------------------------------------------------------

SMS_BACKEND = os.environ.get("SMS_BACKEND", "notifications.backends.sms.ConsoleSmsBackend")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")  # tests: a local server
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))
AWS_SES_REGION = os.environ.get("AWS_SES_REGION", "me-south-1")
AWS_SES_ENDPOINT_URL = os.environ.get("AWS_SES_ENDPOINT_URL", "")
MOBILE_CODE_TTL_SECONDS = 600
MOBILE_CODE_MAX_ATTEMPTS = 5

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "notifications.backends.email.ConsoleEmailBackend")
CONSOLE_EMAIL_BACKENDS = {
    "notifications.backends.email.ConsoleEmailBackend",
    "django.core.mail.backends.console.EmailBackend",
}
# The console backends are development's delivery: they print whole messages (reset links,
# invitation links, codes) and keep the newest CONSOLE_OUTBOX_KEEP of each kind in the database
# for the developer outbox page (/dev/outbox/, DEBUG only). With DEBUG=0 they are refused unless
# explicitly allowed (the test runner allows them: tests read the outbox); `check --deploy`
# warns about them as well.
CONSOLE_OUTBOX_KEEP = int(os.environ.get("CONSOLE_OUTBOX_KEEP", "500"))
if (
    not DEBUG
    and not env_bool("ALLOW_CONSOLE_DELIVERY", False)
    and (
        EMAIL_BACKEND in CONSOLE_EMAIL_BACKENDS
        or SMS_BACKEND == "notifications.backends.sms.ConsoleSmsBackend"
    )
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "With DEBUG=0, EMAIL_BACKEND and SMS_BACKEND must be real providers (SMTP/SES, Twilio): "
        "the console backends print reset links and codes. Set ALLOW_CONSOLE_DELIVERY=1 to "
        "allow them anyway (tests, demos)."
    )
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Muamalat <no-reply@muamalat.local>")

LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LANGUAGES_BIDI = ["ar"]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "muamalat_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "Asia/Riyadh"
# Arabic decimal and thousands marks ("61٫1", not Django's "61,1"): portal/formats/ar.
FORMAT_MODULE_PATH = ["portal.formats"]
# Rankings of agencies ("most responsive") include only agencies with at least this many
# requests received in the period.
OVERSIGHT_RANKING_MIN_REQUESTS = int(os.environ.get("OVERSIGHT_RANKING_MIN_REQUESTS", "20"))
# A gap longer than this between an employee's requests is time away, not time present.
PRESENCE_IDLE_MINUTES = int(os.environ.get("PRESENCE_IDLE_MINUTES", "10"))
PRESENCE_TRACKING = env_bool("PRESENCE_TRACKING", True)
# Statistics scopes with at most this many requests get exact p90 times; larger ones an
# estimate from the rollups' time brackets (a cost that does not grow with the requests).
STATISTICS_EXACT_PERCENTILE_LIMIT = int(os.environ.get("STATISTICS_EXACT_PERCENTILE_LIMIT", "5000"))
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security headers (issue 10, points 3 and 11) -------------------------------------------
# The database engine, refusing malformed keys (a NUL in the cookie) before any query.
SESSION_ENGINE = "portal.sessions"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# HSTS: off by default (a laptop on plain HTTP); behind TLS e.g. SECURE_HSTS_SECONDS=31536000.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4): no inline script or style anywhere; websockets to the
# same host ('self' covers ws(s): of the same origin in CSP level 3 browsers; the ws(s) origin
# of SITE_URL is listed for older ones); voice messages are recorded in the browser and played
# back from blob: URLs.
# An empty SITE_URL counts as unset (it would make every emailed link relative).
_site = urlparse(os.environ.get("SITE_URL") or "http://127.0.0.1:8000")
_websocket_origin = f"{'wss' if _site.scheme == 'https' else 'ws'}://{_site.netloc}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", _websocket_origin],
        "media-src": ["'self'", "blob:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# --- end of security headers -----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "")

# Attachments: private local folder by default; S3 (django-storages + boto3) when a bucket is set.
PRIVATE_MEDIA_ROOT = os.environ.get("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private"))
ATTACHMENTS_S3_BUCKET = os.environ.get("ATTACHMENTS_S3_BUCKET", "")
ATTACHMENTS_S3_ENDPOINT_URL = os.environ.get("ATTACHMENTS_S3_ENDPOINT_URL", "")
ATTACHMENTS_S3_REGION = os.environ.get("ATTACHMENTS_S3_REGION", "me-south-1")
ATTACHMENT_URL_TTL_SECONDS = int(os.environ.get("ATTACHMENT_URL_TTL_SECONDS", "60"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
VOICE_MAX_SECONDS = int(os.environ.get("VOICE_MAX_SECONDS", "180"))
VOICE_MAX_BYTES = int(os.environ.get("VOICE_MAX_BYTES", str(5 * 1024 * 1024)))
SITE_URL = (os.environ.get("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
TWILIO_STATUS_CALLBACK = os.environ.get(
    "TWILIO_STATUS_CALLBACK",
    f"{SITE_URL}/notifications/twilio/status/" if TWILIO_AUTH_TOKEN else "",
)
