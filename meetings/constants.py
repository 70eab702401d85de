"""The vocabularies of meetings (R-30..R-34): kept apart from the models so that services,
forms and templates name them without importing the models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BodyKind(models.TextChoices):
    BOARD = "board", _("Board")
    COMMITTEE = "committee", _("Committee")


class MemberRole(models.TextChoices):
    """A person's role in a body or a meeting. Observers attend and read but never vote."""

    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")
    OBSERVER = "observer", _("Observer")


VOTING_ROLES = (MemberRole.CHAIR, MemberRole.SECRETARY, MemberRole.MEMBER)


class QuorumKind(models.TextChoices):
    """How the quorum is reached: at least ``quorum_value`` members present (a count), or more
    than a share of the members or of their weight (``quorum_value`` is then a fraction, 0.5 =
    more than half... see meetings.quorum)."""

    COUNT = "count", _("A number of members present")
    SHARE_MEMBERS = "share_members", _("A share of the members present")
    SHARE_WEIGHT = "share_weight", _("A share of the vote weight present")


class Majority(models.TextChoices):
    SIMPLE = "simple", _("Simple: more yes than no")
    ABSOLUTE = "absolute", _("Absolute: yes above half of the entitled weight")
    TWO_THIRDS = "two_thirds", _("Two thirds")


class MajorityBase(models.TextChoices):
    """What a two-thirds majority is counted against."""

    CAST = "cast", _("Of the votes cast")
    PRESENT = "present", _("Of the members present")
    MEMBERS = "members", _("Of all members")


class Mode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    REMOTE = "remote", _("Remote")
    HYBRID = "hybrid", _("Hybrid")


class MeetingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("Meeting under way")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Rsvp(models.TextChoices):
    PENDING = "pending", _("No answer yet")
    ACCEPTED = "accepted", _("Will attend")
    DECLINED = "declined", _("Will not attend")
    TENTATIVE = "tentative", _("Maybe")


class Presence(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked in")
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    EXCUSED = "excused", _("Excused")
    LEFT = "left", _("Left")


# The kind of the meeting's channel-layer group (core.realtime.object_group): meeting.<schema>.<id>
MEETING_KIND = "meeting"
