"""State changes of an agency object, the same way for every module (issue 11, the kernel).

A module declares its object's state machine once — the model, the state field, the timeline
kinds it may write, the audit prefix — and its transitions: the states each is allowed from,
the state it goes to, the timeline kind it writes, the message shown when it is refused::

    REQUESTS = StateMachine(
        queryset=lambda: Request.objects.select_related("assignee__user"),
        field="status", audit_prefix="request", timeline_kinds=TimelineEvent.KINDS,
    )
    RESOLVE = REQUESTS.declare(
        "resolved", to=Status.CLOSED, allowed_from=OPEN_STATUSES,
        refused=_("This request is already closed."),
    )  # timeline kind: the name, unless given

    item = transition_apply(
        RESOLVE, pk=item.pk, actor=user, policy=policies.can_work,
        change=..., step=..., notify=...,
    )

``transition_apply`` runs inside the caller's transaction (a use case, core.actions): it locks
the row, asks the policy (PermissionDenied), checks the state (ValidationError, nothing
written), moves the state, lets the module change its other fields (``change``) and write its
timeline step and mirrors (``step``), records the audit row (``<prefix>.<name>``, before and
after), then ``notify``. The module's own pieces stay its own; the order, the lock, the checks
and the audit are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.db.models import Model, QuerySet

from core import audit
from core.actions import require


@dataclass(frozen=True)
class Transition:
    machine: StateMachine
    name: str
    to: str | None
    allowed_from: frozenset[str]
    timeline_kind: str
    refused: Any  # a (lazy) translated message

    @property
    def audit_action(self) -> str:
        return f"{self.machine.audit_prefix}.{self.name}"


@dataclass
class StateMachine:
    queryset: Callable[[], QuerySet]
    field: str
    audit_prefix: str
    timeline_kinds: frozenset[str]
    transitions: dict[str, Transition] = field(default_factory=dict)

    def declare(
        self,
        name: str,
        *,
        to: str | None,
        allowed_from: Iterable[str],
        refused: Any,
        timeline_kind: str | None = None,
    ) -> Transition:
        timeline_kind = timeline_kind or name  # usually the step is named as the transition
        if timeline_kind not in self.timeline_kinds:
            raise ImproperlyConfigured(
                f"{self.audit_prefix}.{name}: timeline kind {timeline_kind!r} is not declared"
            )
        if name in self.transitions:
            raise ImproperlyConfigured(f"{self.audit_prefix}.{name} is declared twice")
        transition = Transition(
            machine=self,
            name=name,
            to=to,
            allowed_from=frozenset(allowed_from),
            timeline_kind=timeline_kind,
            refused=refused,
        )
        self.transitions[name] = transition
        return transition

    def lock(self, pk: Any) -> Model:
        return self.queryset().select_for_update(of=("self",)).get(pk=pk)


def transition_apply(
    transition: Transition,
    *,
    pk: Any,
    actor: Any,
    policy: Callable[[Any, Any], bool],
    change: Callable[[Any, str], None] | None = None,
    step: Callable[[Any, str], None] | None = None,
    notify: Callable[[Any], None] | None = None,
    audit_after: Callable[[Any], dict] | None = None,
) -> Any:
    """Apply ``transition`` to the object ``pk`` inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("transition_apply runs inside a use case's transaction")
    machine = transition.machine
    obj = machine.lock(pk)
    require(policy(actor, obj))
    before = getattr(obj, machine.field)
    if before not in transition.allowed_from:
        raise ValidationError(transition.refused)
    if transition.to is not None:
        setattr(obj, machine.field, transition.to)
    if change is not None:
        change(obj, before)  # the module's other fields; it knows the state moved from

    obj.save()
    if step is not None:
        step(obj, transition.timeline_kind)
    audit.agency_record(
        actor=actor,
        action=transition.audit_action,
        obj=obj,
        before={machine.field: before},
        after={
            machine.field: getattr(obj, machine.field),
            **(audit_after(obj) if audit_after else {}),
        },
    )
    if notify is not None:
        notify(obj)
    return obj
