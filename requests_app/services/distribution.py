"""The distribution engine (R-10): a pipeline of filters, then one chooser.

Filters: permission to work requests, department, skills, availability (out of office, leave,
work schedule), cap of open requests. Choosers: round robin (assigned longest ago), least open
load (ties to whoever waited longest), weighted (fewest assignments per unit of weight).

Concurrency: the candidates' profile rows are locked (SELECT ... FOR UPDATE, in id order, so
two submissions never deadlock) before loads are counted and one is chosen, so concurrent
submissions are serialised per candidate set and spread exactly as the chooser says.
"""

from datetime import datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from requests_app.constants import OPEN_STATUSES, Chooser
from requests_app.models import DistributionRule, EmployeeProfile, Leave, Request
from requests_app.module import Perm
from tenants.selectors import memberships_holding
from tenants.staff.models import Membership

WORK_PERMISSION = Perm.WORK
DEFAULT_RULE = DistributionRule(
    name_ar="افتراضي",
    name_en="Default",
    restrict_to_department=True,
    respect_availability=True,
    chooser=Chooser.ROUND_ROBIN,
)


def rule_for(request: Request) -> DistributionRule:
    request_type = request.transaction_type
    if request_type.distribution_rule_id:
        return request_type.distribution_rule
    if request.department_id:
        rule = DistributionRule.objects.filter(department_id=request.department_id).first()
        if rule is not None:
            return rule
    return DEFAULT_RULE


def _in_schedule(schedule: dict, now: datetime) -> bool:
    if not schedule:
        return True
    local = timezone.localtime(now)
    ranges = schedule.get(str(local.weekday()), [])
    current = local.time()
    return any(
        time.fromisoformat(start) <= current < time.fromisoformat(end) for start, end in ranges
    )


def distribution_assign(
    *, request: Request, now: datetime | None = None
) -> tuple[Membership | None, dict]:
    """Choose the assignee of ``request`` (caller holds the transaction) and explain why."""
    now = now or timezone.now()
    rule = rule_for(request)
    members = list(
        memberships_holding(
            WORK_PERMISSION,
            department_id=request.department_id if rule.restrict_to_department else None,
            scope="department",
        )
        .select_related("user")
        .order_by("id")
    )
    decision: dict = {
        "rule": rule.name_en,
        "rule_id": rule.pk,
        "chooser": rule.chooser,
        "department_id": request.department_id,
        "considered": [],
        "chosen": None,
    }
    if not members:
        decision["outcome"] = "no_candidates"
        return None, decision

    EmployeeProfile.objects.bulk_create(
        [EmployeeProfile(membership=m) for m in members], ignore_conflicts=True
    )
    profiles = {
        p.membership_id: p
        for p in EmployeeProfile.objects.select_for_update()
        .filter(membership__in=[m.pk for m in members])
        .order_by("id")
    }
    open_counts = dict(
        Request.objects.filter(assignee__in=list(profiles), status__in=OPEN_STATUSES)
        .exclude(pk=request.pk)
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    # Leaves are calendar days in the agency's time zone, not UTC dates (between midnight and
    # 03:00 in Riyadh, the UTC date is still yesterday's).
    today = timezone.localdate(now)
    on_leave = set(
        Leave.objects.filter(
            membership__in=list(profiles), starts_on__lte=today, ends_on__gte=today
        ).values_list("membership_id", flat=True)
    )
    eligible = []
    for member in members:
        profile = profiles[member.pk]
        load = open_counts.get(member.pk, 0)
        entry = {"membership_id": member.pk, "name": member.user.display_name, "open": load}
        cap = min([c for c in (rule.max_open, profile.max_open) if c is not None], default=None)
        if rule.required_skills and not set(rule.required_skills) <= set(profile.skills):
            entry["excluded"] = "missing_skills"
        elif rule.respect_availability and profile.is_out_of_office:
            entry["excluded"] = "out_of_office"
        elif rule.respect_availability and member.pk in on_leave:
            entry["excluded"] = "on_leave"
        elif rule.respect_availability and not _in_schedule(profile.work_schedule, now):
            entry["excluded"] = "outside_working_hours"
        elif cap is not None and load >= cap:
            entry["excluded"] = "at_capacity"
        else:
            eligible.append((member, profile, load))
        decision["considered"].append(entry)
    if not eligible:
        decision["outcome"] = "nobody_available"
        return None, decision

    oldest = datetime.min.replace(tzinfo=timezone.get_current_timezone())

    def waited(profile: EmployeeProfile) -> datetime:
        return profile.last_assigned_at or oldest

    if rule.chooser == Chooser.LEAST_LOAD:
        key = lambda item: (item[2], waited(item[1]), item[1].pk)  # noqa: E731
    elif rule.chooser == Chooser.WEIGHTED:
        key = lambda item: (  # noqa: E731
            item[1].assigned_total / max(item[1].weight, 1),
            waited(item[1]),
            item[1].pk,
        )
    else:
        key = lambda item: (waited(item[1]), item[1].pk)  # noqa: E731
    member, profile, _load = min(eligible, key=key)
    # Stamp after the locks were taken and never earlier than any stamp already given, so
    # "assigned longest ago" stays a strict order under concurrency.
    latest = max(
        (p.last_assigned_at for p in profiles.values() if p.last_assigned_at), default=None
    )
    stamp = timezone.now()
    if latest is not None and stamp <= latest:
        stamp = latest + timedelta(microseconds=1)
    profile.last_assigned_at = stamp
    profile.assigned_total += 1
    profile.save(update_fields=["last_assigned_at", "assigned_total"])
    decision["chosen"] = {"membership_id": member.pk, "name": member.user.display_name}
    decision["outcome"] = "assigned"
    return member, decision
