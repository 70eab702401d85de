"""The action kernel's small pieces (issue 11): use cases that own their transaction, and the
permission gate that services use.

A *use case* is what a view, a job or a command calls: one function per thing a user does, in
one transaction. ``@use_case`` makes that transaction durable: calling it inside another
transaction raises ``RuntimeError`` at once, so a view cannot compose two use cases (each would
commit on its own, and the first stays saved when the second fails) and a use case cannot be
nested in another by accident. A use case that needs another's behaviour calls its
``.within`` form, which runs in the caller's transaction::

    @use_case
    def request_resolve(*, actor, request_obj, note=""): ...

    request_resolve(actor=user, request_obj=item)            # its own transaction
    request_resolve.within(actor=user, request_obj=item)     # inside the caller's (a job's)

Tests run inside pytest-django's transaction; Django exempts that outer block from the
durability check, so the check still fires for any block the code itself opens.

``require(policy(actor, obj))`` is how a service refuses: the same policy functions decide what
views show (buttons, menu entries) and what services allow, so they cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils.translation import gettext as _

F = TypeVar("F", bound=Callable[..., Any])


def use_case(func: F) -> F:
    """Run ``func`` in its own durable transaction; ``func.within`` runs it in the caller's."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(durable=True):
            return func(*args, **kwargs)

    @functools.wraps(func)
    def within(*args: Any, **kwargs: Any) -> Any:
        if not connection.in_atomic_block:
            raise RuntimeError(f"{func.__qualname__}.within must run inside a transaction")
        return func(*args, **kwargs)

    run.within = within  # type: ignore[attr-defined]
    run.is_use_case = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def require(allowed: bool, message: str | None = None) -> None:
    """Refuse with PermissionDenied unless ``allowed`` (a policy's answer)."""
    if not allowed:
        raise PermissionDenied(message or _("You do not have permission to do this."))
