"""Django settings for Muamalat.

Every value that differs between a laptop and production comes from the environment; the
README's configuration section lists each variable.
"""

import base64
import getpass
import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

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
SECRET_KEY = (
    os.environ.get("SECRET_KEY") or "dev-only-insecure-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]


def _derived_key(label: str) -> bytes:
    return hashlib.sha256(f"{label}:{SECRET_KEY}".encode()).digest()


# Identity numbers: encrypted with Fernet (AES-128-CBC + HMAC), looked up by a keyed hash.
FIELD_ENCRYPTION_KEY = (
    os.environ.get("FIELD_ENCRYPTION_KEY")
    or base64.urlsafe_b64encode(_derived_key("field-encryption")).decode()
)
IDENTITY_HASH_KEY = (os.environ.get("IDENTITY_HASH_KEY") or "").encode() or _derived_key(
    "identity-hash"
)

SHARED_APPS = [
    "django_tenants",
    "daphne",
    "tenants",
    "portal.accounts",
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
    "channels",
    "procrastinate.contrib.django",
    "notifications",
    "requests_app.public",
    "portal",
]
TENANT_APPS = [
    "tenants.staff",
    "requests_app",
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
    "tenants.middleware.AgencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.accounts.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
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
            ],
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
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
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
    "portal.accounts.backends.IdentifierBackend",
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
# portal.accounts.forms.LoginForm and the IdentifierBackend).
ACCOUNT_ADAPTER = "portal.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_FORMS = {
    "login": "portal.accounts.forms.LoginForm",
    "signup": "portal.accounts.forms.SignupForm",
}
ACCOUNT_RATE_LIMITS = {
    "login_failed": os.environ.get("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Muamalat] "

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

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
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

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

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
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
TWILIO_STATUS_CALLBACK = os.environ.get(
    "TWILIO_STATUS_CALLBACK",
    f"{SITE_URL}/notifications/twilio/status/" if TWILIO_AUTH_TOKEN else "",
)
