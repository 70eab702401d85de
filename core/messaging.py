"""Telling a user something, for the layers below the notifications app (accounts, tenants).

They call :func:`notify` (an event to one user: in-app, email, SMS as the event and the user's
preferences say), :func:`notify_address` (an event emailed to an address of no verified
account) or :func:`account_email` (one of allauth's account messages); the notifications app
plugs in its ``notification_send``, ``address_email_send`` and ``account_email_queue`` in its
``AppConfig.ready()``. A call is synchronous and runs in the caller's transaction, exactly as a
direct call would: the message is recorded, or rolled back, with the change that caused it.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_senders: dict[str, Callable[..., Any]] = {}


def senders_register(
    *,
    notify: Callable[..., Any],
    notify_address: Callable[..., Any],
    account_email: Callable[..., Any],
) -> None:
    _senders.update(notify=notify, notify_address=notify_address, account_email=account_email)


def _sender(name: str) -> Callable[..., Any]:
    try:
        return _senders[name]
    except KeyError:
        raise ImproperlyConfigured(
            "No message sender registered: the notifications app registers it in its ready()."
        ) from None


def notify(**kwargs: Any) -> Any:
    """``notification_send(recipient=…, event=…, context=…, …)`` of the notifications app."""
    return _sender("notify")(**kwargs)


def notify_address(**kwargs: Any) -> Any:
    """``address_email_send(address=…, event=…, context=…, agency=…)``."""
    return _sender("notify_address")(**kwargs)


def account_email(message: Any) -> Any:
    """Queue one of allauth's rendered account messages (password reset, confirmation…)."""
    return _sender("account_email")(message)
