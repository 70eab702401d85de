"""Who is acting, from where: the action context (issue 11, the action kernel).

Set once at the edge — by :class:`ActionContextMiddleware` for an HTTP request, by the job
wrapper (:func:`core.jobs.agency_task`) for a job, by :func:`bound` in a command — and read by
the audit writers (:mod:`core.audit`), so that no service takes the ``HttpRequest``::

    with context.bound(origin="cli", request_id="cli:rotate-keys"):
        services.something(actor=user, ...)     # audit rows carry the request id

The context is a :class:`contextvars.ContextVar`: each thread and each asyncio task sees its own,
and asgiref carries it from a sync view to the code it calls.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

# An X-Request-ID from a trusted proxy is kept when it looks like an id, never echoed raw.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,60}$")


@dataclass(frozen=True)
class ActionContext:
    """``actor``: the signed-in user (may be a lazy object), ``ip``: the client's address,
    ``request_id``: ties together the audit rows of one HTTP request or job, ``agency``: the
    agency whose workspace or page is served (None on platform pages), ``origin``: web, job,
    cli or system."""

    actor: Any = None
    ip: str | None = None
    request_id: str = ""
    agency: Any = None
    origin: str = "system"


_EMPTY = ActionContext()
_current: ContextVar[ActionContext | None] = ContextVar("muamalat_action_context", default=None)


def current() -> ActionContext:
    return _current.get() or _EMPTY


def new_request_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@contextmanager
def bound(**fields: Any) -> Iterator[ActionContext]:
    """Run a block with some fields of the context replaced (the rest is inherited)."""
    token = _current.set(replace(current(), **fields))
    try:
        yield current()
    finally:
        _current.reset(token)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: Any) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind the trusted proxy (TRUST_X_FORWARDED_FOR),
    the address that proxy appended last to X-Forwarded-For (the hops before it are whatever
    the client sent). Anything that is not an IP address is ignored."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop]
        if hops:
            found = _valid_ip(hops[-1])
            if found:
                return found
    return _valid_ip(request.META.get("REMOTE_ADDR") or "")


def request_id_of(request: Any) -> str:
    """A fresh id; behind the trusted proxy, the proxy's X-Request-ID when it looks like one,
    prefixed ``px:`` so that it can never pass for a job's (``job:``) or a command's id."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False) and _REQUEST_ID.match(given):
        return f"px:{given}"
    return new_request_id()


class ActionContextMiddleware:
    """Binds the action context for the rest of the request (after the authentication
    middleware: the actor is the lazy ``request.user``, loaded only if something reads it).
    The request id is sent back in ``X-Request-ID`` so a user's report can be matched to the
    audit rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request)
        request.request_id = request_id
        with bound(
            actor=getattr(request, "user", None),
            ip=client_ip(request),
            request_id=request_id,
            agency=getattr(request, "agency", None),
            origin="web",
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def actor_id(actor: Any) -> int | None:
    """The user's id, or None for nobody or an anonymous visitor (without loading more)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor.pk
