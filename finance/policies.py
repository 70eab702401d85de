"""Who may do what in finance: one answer for the services (which refuse through
``core.actions.require``), the views and the templates. Agency permissions, held by employees
(``user.has_perm`` in the agency's schema)."""

from __future__ import annotations

from accounts.models import User
from finance.constants import EDITABLE_STATUSES, VoucherStatus
from finance.models import Voucher
from finance.module import Perm

# Who sees every voucher of the agency (besides its maker).
SEE_ALL = (Perm.REVIEW, Perm.APPROVE, Perm.REPORTS, Perm.CONFIGURE)


def _has(actor: User, perm: Perm) -> bool:
    return actor.is_authenticated and actor.has_perm(perm.perm)


def can_enter(actor: User) -> bool:
    return _has(actor, Perm.ENTER)


def can_configure(actor: User) -> bool:
    """Chart of accounts, fiscal years, opening balances, finance settings."""
    return _has(actor, Perm.CONFIGURE)


def can_close_periods(actor: User) -> bool:
    return _has(actor, Perm.CLOSE_PERIODS)


def sees_all_vouchers(actor: User) -> bool:
    return any(_has(actor, perm) for perm in SEE_ALL)


def can_use_vouchers(actor: User) -> bool:
    """Opens the voucher list: enters vouchers, or sees every one."""
    return can_enter(actor) or sees_all_vouchers(actor)


def can_see(actor: User, voucher: Voucher) -> bool:
    """Its maker, and holders of review, approval, reports or configuration."""
    if not actor.is_authenticated:
        return False
    return voucher.maker_id == actor.pk or sees_all_vouchers(actor)


def can_edit(actor: User, voucher: Voucher) -> bool:
    """Only the maker (still entering vouchers), only while a draft or returned."""
    return (
        actor.is_authenticated
        and voucher.maker_id == actor.pk
        and voucher.status in EDITABLE_STATUSES
        and can_enter(actor)
    )


def can_cancel(actor: User, voucher: Voucher) -> bool:
    """Only the maker, only a draft (a voucher never submitted)."""
    return (
        actor.is_authenticated
        and voucher.maker_id == actor.pk
        and voucher.status == VoucherStatus.DRAFT
        and can_enter(actor)
    )


def can_reverse(actor: User, voucher: Voucher) -> bool:
    """Enters the reversing voucher of a posted one (it then goes through review)."""
    return voucher.status == VoucherStatus.POSTED and can_enter(actor)
