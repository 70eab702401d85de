"""Gapless numbers of finance: the next number of a key (a voucher type, "ledger") in a fiscal
year, from its ``NumberCounter`` row locked (SELECT … FOR UPDATE) in the caller's transaction.
Concurrent takers wait for each other; a rollback gives the number back, so there is no gap."""

from django.db import transaction

from finance.models import FiscalYear, NumberCounter

LEDGER = "ledger"


def number_next(*, key: str, fiscal_year: FiscalYear) -> int:
    """The next number of ``key`` in ``fiscal_year`` (1, 2, …); the counter row stays locked
    until the caller's transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_next must run inside the transaction that uses the number")
    counter = NumberCounter.objects.select_for_update().filter(key=key, fiscal_year=fiscal_year)
    row = counter.first()
    if row is None:
        # First use of the key this year (counters are made with the fiscal year; this is for
        # a key added later): two first takers at once both insert, one insert is ignored.
        NumberCounter.objects.bulk_create(
            [NumberCounter(key=key, fiscal_year=fiscal_year, last=0)], ignore_conflicts=True
        )
        row = counter.get()
    row.last += 1
    row.save(update_fields=["last"])
    return row.last
