"""STAND-IN (review branch only): the ledger helper writes the real ``voucher_post`` (ledger
lines, entry numbers, closed-period and balance checks). The integrator replaces this file."""

from __future__ import annotations

from django.utils import timezone

from finance.constants import VoucherStatus


def voucher_post(voucher, *, by) -> None:
    """Mark the voucher posted (the real one also writes its ledger lines)."""
    voucher.status = VoucherStatus.POSTED
    voucher.posted_at = timezone.now()
    voucher.save(update_fields=["status", "posted_at", "updated_at"])
