"""The one identity shared by beneficiaries, employees and oversight users (public schema)."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin, _user_has_perm
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts import identity


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_identity(self, number: str):
        return self.get(identity_hash__in=identity.identity_lookup_hashes(number))


class User(AbstractBaseUser, PermissionsMixin):
    INSIDE = "inside"
    OUTSIDE = "outside"
    LOCATIONS = [(INSIDE, _("Inside the Kingdom")), (OUTSIDE, _("Outside the Kingdom"))]

    email = models.EmailField(_("email"), unique=True)
    identity_type = models.CharField(
        _("identity type"), max_length=16, choices=identity.IDENTITY_TYPES, blank=True
    )
    identity_encrypted = models.TextField(_("identity number (encrypted)"), blank=True)
    identity_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    first_name_ar = models.CharField(_("first name (Arabic)"), max_length=60, blank=True)
    father_name_ar = models.CharField(_("father's name (Arabic)"), max_length=60, blank=True)
    family_name_ar = models.CharField(_("family name (Arabic)"), max_length=60, blank=True)
    first_name_en = models.CharField(_("first name (English)"), max_length=60, blank=True)
    father_name_en = models.CharField(_("father's name (English)"), max_length=60, blank=True)
    family_name_en = models.CharField(_("family name (English)"), max_length=60, blank=True)

    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    birth_calendar = models.CharField(
        _("calendar used"), max_length=10, choices=identity.CALENDARS, blank=True
    )
    location = models.CharField(_("location"), max_length=10, choices=LOCATIONS, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, unique=True, null=True, blank=True)
    mobile_verified = models.BooleanField(_("mobile verified"), default=False)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=[("ar", "العربية"), ("en", "English")],
        default="ar",
    )
    is_oversight = models.BooleanField(_("oversight user"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform operator"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        db_table = "accounts_user"

    def has_perm(self, perm: str, obj=None) -> bool:
        """An agency's permissions come from the user's membership there only (tenants.backends):
        being a platform superuser grants none of them (Django would answer True at once)."""
        if perm.startswith("agency."):
            return self.is_active and _user_has_perm(self, perm, obj)
        return super().has_perm(perm, obj)

    def __str__(self) -> str:
        return self.display_name

    def set_identity(self, identity_type: str, number: str) -> None:
        number = identity.normalize_identity(identity_type, number)
        self.identity_type = identity_type
        self.identity_encrypted = identity.encrypt_identity(number)
        self.identity_hash = identity.identity_lookup_hash(number)

    @property
    def identity_number(self) -> str:
        return identity.decrypt_identity(self.identity_encrypted) if self.identity_encrypted else ""

    @property
    def full_name_ar(self) -> str:
        return " ".join(
            p for p in (self.first_name_ar, self.father_name_ar, self.family_name_ar) if p
        )

    @property
    def full_name_en(self) -> str:
        return " ".join(
            p for p in (self.first_name_en, self.father_name_en, self.family_name_en) if p
        )

    @property
    def display_name(self) -> str:
        if get_language() == "en":
            return self.full_name_en or self.full_name_ar or self.email
        return self.full_name_ar or self.full_name_en or self.email


class MobileVerification(models.Model):
    """A one-time code sent by SMS; stored hashed, limited in attempts and lifetime."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mobile_codes")
    mobile = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"code for {self.mobile}"


class SmsMessage(models.Model):
    """Outbox of the default SMS backend: what would have been sent, readable in development."""

    to = models.CharField(max_length=20)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"SMS to {self.to}"
