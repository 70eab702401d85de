"""Writing to the audit trails (R-15): the platform's in public, each agency's in its schema.

The tables are ``tenants.PlatformAuditEvent`` and ``staff.AuditEvent``; the tenants app hands
their models to :func:`trails_register` in its ``AppConfig.ready()``, so every layer (accounts
included) can record without importing an app above it.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from core import context

_trails: dict[str, Any] = {}


def trails_register(*, platform: Any, agency: Any) -> None:
    """Set the models of the platform's and the agencies' audit trails (tenants does it)."""
    _trails["platform"] = platform
    _trails["agency"] = agency


def _trail(kind: str) -> Any:
    try:
        return _trails[kind]
    except KeyError:
        raise ImproperlyConfigured(
            "No audit trail registered: the tenants app registers them in its ready()."
        ) from None


def _fields(*, actor, action: str, obj, before, after) -> dict[str, Any]:
    """The row's fields; who acted comes from the caller, from where from the action context
    (the client's address, the HTTP request or job that did it)."""
    ctx = context.current()
    return {
        "actor_id": getattr(actor, "pk", None),
        "actor_display": (str(actor) if actor is not None else "")[:200],
        "action": action,
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "object_repr": str(obj)[:255] if obj is not None else "",
        "ip_address": ctx.ip,
        "request_id": ctx.request_id or None,
        "before": before,
        "after": after,
    }


def platform_record(*, actor=None, action: str, obj=None, before=None, after=None) -> Any:
    """Append to the platform's audit trail (public schema)."""
    return _trail("platform").objects.create(
        **_fields(actor=actor, action=action, obj=obj, before=before, after=after)
    )


def agency_record(*, actor=None, action: str, obj=None, before=None, after=None) -> Any:
    """Append to the current agency's audit trail (the connection must be on its schema)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("agency_record needs an agency schema")
    return _trail("agency").objects.create(
        **_fields(actor=actor, action=action, obj=obj, before=before, after=after)
    )
