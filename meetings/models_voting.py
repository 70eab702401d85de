"""Models of meetings: voting (R-33), see meetings.models.

The secret ballot is a matter of what is *not* stored (README, "Secret ballot"):

* ``PollVoter`` says who has voted (one row per poll and voter, unique: nobody votes twice,
  proxies included). For a secret poll it carries no choice, no timestamp and no ordered id
  (its key is random), and the close rewrites every row in a random order.
* ``PollOption`` is the tally. While a secret poll is open it stays at zero: the running
  tally is ``Poll.sealed_tally``, encrypted with a key the database does not hold, in a form of
  fixed length, rewritten whole by every vote; the close writes the plain counts into every
  option in one statement. (A named poll's options are its live tally, every vote rewriting
  every option in one UPDATE.)
* ``PollReceipt`` keeps a keyed hash of each voter's receipt code, with nothing linking it to
  the voter (random key, no timestamp, rewritten in a random order at close).
* There is no per-ballot row.

A closed poll cannot change: triggers (migration 0005_voting) refuse any UPDATE or DELETE of a
closed poll, of its options, voters and receipts, and of any ``PollResult``.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from meetings.constants import Majority, MajorityBase
from meetings.models import AgendaItem, Meeting, Participant

__all__ = [
    "Poll",
    "PollEntitlement",
    "PollOption",
    "PollReceipt",
    "PollResult",
    "PollVoter",
    "Proxy",
]


class PollKind(models.TextChoices):
    YES_NO = "yes_no", _("Yes, no or abstain")
    CHOICE = "choice", _("A choice among options")


class PollStatus(models.TextChoices):
    DRAFT = "draft", _("Not open yet")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Entitlement(models.TextChoices):
    PRESENT = "present", _("Members present when the poll opens")
    ALL = "all", _("All members")


class OptionCode(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    ABSTAIN = "abstain", _("Abstain")
    CHOICE = "choice", _("Option")


class Proxy(models.Model):
    """A member who will not vote themselves (``delegator``) has ``holder`` cast their vote in
    this meeting. No chains: the services refuse a holder who delegates and a delegator who
    holds (under a lock on the meeting)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="proxies")
    delegator = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="proxy_given"
    )
    holder = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="proxies_held")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(delegator=models.F("holder")), name="meetings_proxy_not_self"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.holder}"


class Poll(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="polls")
    agenda_item = models.ForeignKey(
        AgendaItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="polls",
        verbose_name=_("agenda item"),
    )
    question = models.CharField(_("question"), max_length=500)
    kind = models.CharField(_("kind"), max_length=20, choices=PollKind.choices)
    is_secret = models.BooleanField(_("secret ballot"), default=False)
    max_choices = models.PositiveSmallIntegerField(_("choices per voter"), default=1)
    entitlement = models.CharField(
        _("who votes"), max_length=20, choices=Entitlement.choices, default=Entitlement.PRESENT
    )
    # The meeting's majority rules, copied when the poll is created (the chair may change them
    # for this poll before it opens).
    majority = models.CharField(_("majority rule"), max_length=20, choices=Majority.choices)
    majority_base = models.CharField(
        _("two-thirds of"), max_length=20, choices=MajorityBase.choices
    )
    abstentions_count = models.BooleanField(_("abstentions count in the base"), default=False)
    chair_casting_vote = models.BooleanField(_("the chair decides a tie"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PollStatus.choices, default=PollStatus.DRAFT
    )
    quorum_override_reason = models.CharField(
        _("reason for opening without quorum"), max_length=500, blank=True
    )
    entitled_count = models.PositiveIntegerField(default=0)  # set when the poll opens
    # How many have voted (the voter list says so anyway): the live count without a COUNT(*).
    voted_count = models.PositiveIntegerField(default=0)
    # A secret poll's running tally while it is open, encrypted with the application's key
    # (FIELD_ENCRYPTION_KEY, not in the database) in a fixed-width form, so its length never
    # changes: a reader of the table cannot see how the last vote moved it. The plain tallies
    # (PollOption) are written once, at the close.
    sealed_tally = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_choices__gte=1), name="meetings_poll_max_choices"
            )
        ]

    def __str__(self) -> str:
        return self.question

    @property
    def is_open(self) -> bool:
        return self.status == PollStatus.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == PollStatus.CLOSED


class PollOption(models.Model):
    """One answer of a poll and its tally (count of voters and their weight)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=20, choices=OptionCode.choices)
    label = models.CharField(_("option"), max_length=200)
    count = models.PositiveIntegerField(default=0)
    weight = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["poll", "position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="meetings_option_position")
        ]

    def __str__(self) -> str:
        return self.label


class PollEntitlement(models.Model):
    """Who may vote in the poll and with what weight: the snapshot taken when it opens."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="entitlements")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    weight = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["poll", "participant"]
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "participant"], name="meetings_entitlement_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.participant_id}"


class PollVoter(models.Model):
    """The voter list: ``voter`` has voted (cast by ``cast_by``: themself, or their proxy
    holder). ``choices`` (option positions) is kept for named polls only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="voters")
    voter = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    cast_by = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    choices = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "voter"], name="meetings_vote_once")]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.voter_id}"


class PollReceipt(models.Model):
    """A keyed hash (HMAC-SHA-256) of a voter's receipt code, with nothing naming the voter."""

    digest = models.CharField(max_length=64, primary_key=True)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="receipts")

    def __str__(self) -> str:
        return self.digest[:12]


class PollResult(models.Model):
    """The result of a closed poll, stored once (a trigger refuses any change)."""

    poll = models.OneToOneField(Poll, on_delete=models.PROTECT, related_name="result")
    rule = models.CharField(_("majority rule"), max_length=20)
    base = models.CharField(_("base"), max_length=20, blank=True)
    abstentions_count = models.BooleanField(default=False)
    # {"options": [{"position", "code", "label", "count", "weight"}], "entitled_weight",
    #  "present_weight", "members_weight", "threshold", "tie", "winners": [positions]}
    numbers = models.JSONField()
    voters = models.PositiveIntegerField()
    entitled = models.PositiveIntegerField()
    quorum_reached = models.BooleanField()
    quorum = models.JSONField(default=dict)
    carried = models.BooleanField()
    casting_vote = models.CharField(max_length=10, blank=True)
    closed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.carried}"
