"""Agency-schema models of meetings (R-30..R-34): standing bodies and their members, meetings,
their participants (members of the body or invited for one meeting), agenda and documents.

The other parts of the module keep their models in their own files, imported here so that
Django finds them: attendance and the live room (``models_room``), voting
(``models_voting``), minutes and decisions (``models_minutes``)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.files.models import PrivateFile
from meetings.constants import (
    BodyKind,
    Majority,
    MajorityBase,
    MeetingStatus,
    MemberRole,
    Mode,
    Presence,
    QuorumKind,
    Rsvp,
)
from tenants.staff.models import BilingualName, Membership


class Rules(models.Model):
    """The rules a body sets for its meetings; an ad-hoc meeting carries its own, and a body's
    meeting starts with a copy of the body's (changing the body later changes no meeting)."""

    quorum_kind = models.CharField(
        _("quorum"), max_length=20, choices=QuorumKind.choices, default=QuorumKind.SHARE_MEMBERS
    )
    # A count (QuorumKind.COUNT) or a share between 0 and 1 (the others): see meetings.rules.
    quorum_value = models.DecimalField(
        _("quorum value"), max_digits=6, decimal_places=3, default=Decimal("0.5")
    )
    majority = models.CharField(
        _("majority rule"), max_length=20, choices=Majority.choices, default=Majority.SIMPLE
    )
    majority_base = models.CharField(
        _("two-thirds of"), max_length=20, choices=MajorityBase.choices, default=MajorityBase.CAST
    )
    abstentions_count = models.BooleanField(
        _("abstentions count in the base"),
        default=False,
        help_text=_("When on, an abstention counts like a vote against in the base."),
    )
    chair_casting_vote = models.BooleanField(_("the chair decides a tie"), default=True)
    proxies_allowed = models.BooleanField(_("proxies allowed"), default=True)
    proxy_cap = models.PositiveSmallIntegerField(
        _("proxies one member may hold"), default=1, validators=[MinValueValidator(1)]
    )

    RULE_FIELDS = (
        "quorum_kind",
        "quorum_value",
        "majority",
        "majority_base",
        "abstentions_count",
        "chair_casting_vote",
        "proxies_allowed",
        "proxy_cap",
    )

    class Meta:
        abstract = True

    def rules_copy_to(self, other: "Rules") -> None:
        for name in self.RULE_FIELDS:
            setattr(other, name, getattr(self, name))


class Body(BilingualName, Rules):
    """A standing board or committee of the agency."""

    kind = models.CharField(_("kind"), max_length=20, choices=BodyKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_ar", "id"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """Someone taking part: a platform user, or (until they sign up and open their invitation
    link) a name with an email and/or a mobile. ``invite_token_hash`` is the SHA-256 of the
    invitation link's token (the token itself is never stored)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    role = models.CharField(
        _("role"), max_length=20, choices=MemberRole.choices, default=MemberRole.MEMBER
    )
    weight = models.DecimalField(
        _("vote weight"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    invite_token_hash = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        if self.user_id:
            return self.user.display_name
        return self.name or self.email or self.mobile

    @property
    def may_vote(self) -> bool:
        return self.role != MemberRole.OBSERVER and self.weight > 0


class BodyMember(Person):
    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="members")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["body", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "user"],
                condition=models.Q(user__isnull=False, is_active=True),
                name="meetings_bodymember_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email="", mobile=""),
                name="meetings_bodymember_reachable",
            ),
        ]


class Meeting(Rules):
    body = models.ForeignKey(
        Body,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meetings",
        verbose_name=_("body"),
        help_text=_("Leave empty for an ad-hoc meeting with its own rules."),
    )
    title_ar = models.CharField(_("title in Arabic"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    mode = models.CharField(_("how"), max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    place = models.CharField(_("place"), max_length=200, blank=True)
    conference_url = models.URLField(
        _("conference link"),
        max_length=500,
        blank=True,
        help_text=_("For remote attendees (any provider: the platform does not host video)."),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(
        _("status"), max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.DRAFT
    )
    # The calendar identity of the invitations (.ics): same UID, SEQUENCE raised on each change.
    uid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    current_item = models.ForeignKey(
        "AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        Membership, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meetings_meeting_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "starts_at"], name="meeting_status_start")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        if get_language() == "en" and self.title_en:
            return self.title_en
        return self.title_ar


class Participant(Person):
    """One person invited to one meeting: copied from the body's members when the meeting is
    created (role and weight too), or invited for this meeting only."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    body_member = models.ForeignKey(
        BodyMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rsvp = models.CharField(_("answer"), max_length=20, choices=Rsvp.choices, default=Rsvp.PENDING)
    rsvp_note = models.CharField(_("note"), max_length=500, blank=True)
    rsvp_at = models.DateTimeField(null=True, blank=True)
    presence = models.CharField(
        _("attendance"), max_length=20, choices=Presence.choices, default=Presence.UNKNOWN
    )
    presence_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"],
                condition=models.Q(user__isnull=False),
                name="meetings_participant_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email="", mobile=""),
                name="meetings_participant_reachable",
            ),
        ]
        indexes = [models.Index(fields=["user", "meeting"], name="participant_user")]


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveIntegerField(_("order"))
    title = models.CharField(_("title"), max_length=300)
    presenter = models.CharField(_("presenter"), max_length=200, blank=True)
    planned_minutes = models.PositiveSmallIntegerField(_("planned minutes"), default=10)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["meeting", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "position"],
                name="meetings_agenda_position_once",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]

    def __str__(self) -> str:
        return self.title


class MeetingDocument(PrivateFile):
    """A document of the meeting, or of one agenda item, in the private storage (checked as
    request attachments are: core.files.checks)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="documents")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )

    class Meta(PrivateFile.Meta):
        pass


# The other parts' models (each file imports only what is above it).
from meetings.models_minutes import *  # noqa: E402, F403
from meetings.models_room import *  # noqa: E402, F403
from meetings.models_voting import *  # noqa: E402, F403
