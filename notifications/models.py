"""Notification outbox (public schema): one notification per recipient and event, one delivery
per channel with its own status, attempts and provider id."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from notifications.events import CHANNELS


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    agency = models.ForeignKey(
        "tenants.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    event = models.CharField(_("event"), max_length=64)
    language = models.CharField(max_length=5)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # What the delivery job renders the email/SMS texts from (notifications.services): the
    # channels decided when the event happened and the caller's context as JSON, model
    # instances by reference ({"_model": "app.Model", "pk": …, "schema": …}). A sensitive
    # event's context is stored encrypted ({"_sealed": …}) and emptied once rendered.
    channels = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    # Files the email carries (e.g. a meeting's .ics): [{"name", "mimetype", "content"}] with
    # text content; other channels ignore them.
    attachments = models.JSONField(default=list, blank=True)
    # Set by the job once the deliveries exist (null: the email/SMS texts are not rendered yet;
    # the title and in-app text are, from the start).
    rendered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient_id}"


class Delivery(models.Model):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    STATUSES = [
        (QUEUED, _("Queued")),
        (SENDING, _("Sending")),
        (SENT, _("Sent")),
        (DELIVERED, _("Delivered")),
        (FAILED, _("Failed")),
    ]
    FINAL = {SENT, DELIVERED, FAILED}

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=CHANNELS)
    address = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # A sensitive event's body and html (a set-password link, a code) are stored encrypted while
    # queued (notifications.services.seal) and replaced by a placeholder once sent or failed.
    sealed = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=10, choices=STATUSES, default=QUEUED)
    failure_reason = models.CharField(_("reason"), max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="one_delivery_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.status}"


class ChannelPreference(models.Model):
    """A person's choice of channels for one event (absent: the event's default channels)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_preferences"
    )
    event = models.CharField(max_length=64)
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=True)
    inapp = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="one_preference_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.event}"

    def allows(self, channel: str) -> bool:
        return bool(getattr(self, channel))


class AccountEmail(models.Model):
    """An account message rendered by allauth (password reset, email confirmation, sign-in code,
    "account already exists"). Its texts carry secret links or codes, so they are stored
    encrypted while queued and removed once sent or finally failed; the job that sends it carries
    only this row's id. The address may belong to nobody (allauth's enumeration prevention
    writes to unknown addresses too), hence no link to a user."""

    to = models.JSONField(default=list)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    # As Notification.attachments: [{"name", "mimetype", "content"}], text content.
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Delivery.STATUSES, default=Delivery.QUEUED
    )
    failure_reason = models.CharField(_("reason"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"account-email:{self.pk}:{self.status}"


class ConsoleEmail(models.Model):
    """Outbox of the console email backend (development's delivery): each message it printed,
    for the developer outbox page (DEBUG only). Beside accounts.SmsMessage, the console SMS
    backend's outbox; both keep only their newest CONSOLE_OUTBOX_KEEP rows."""

    to = models.CharField(max_length=1000)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Email to {self.to}"
