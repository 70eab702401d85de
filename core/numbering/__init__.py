"""Numbers per sequence and year, in the current schema (public or an agency's).

    number = number_next(REFERENCE_NUMBERING, year=2026, gapless=True)  # last in the transaction
    reference_format("MOH", 2026, number)                               # "MOH-2026-000123"

A sequence is named by a key (a constant declared by the module that owns it, matching
``^[a-z0-9_]{1,40}$``) and a year (None: one sequence for all years). Two kinds, chosen by the
caller:

* ``gapless=True``: a row of ``numbering_counter`` in the current schema, upserted in the
  caller's transaction, which keeps the row locked until it ends. A rolled-back transaction
  gives its number back and a concurrent caller waits for the first to finish, so the numbers
  that exist are 1, 2, 3… with no hole and no duplicate (vouchers; requests' references). Only
  inside ``transaction.atomic()``; take it as late in the transaction as possible, as the row
  lock serialises every caller of that sequence in the schema until commit.
* ``gapless=False`` (fast): a PostgreSQL sequence ``<schema>.num_<key>_<year>``. ``nextval``
  never waits for another transaction and is not rolled back: a rolled-back transaction leaves
  a hole. The application's database role may not create anything, so the sequence is created
  on its first use, and every number taken, by ``public.muamalat_number_next`` (a SECURITY
  DEFINER function of the owner role, see ``core.numbering.function``). A sequence is created
  on a connection of its own, committed at once: created in the caller's transaction, its
  catalog entry would make a concurrent first caller wait until that transaction ended.
"""

import re

from django.db import connection

# What a key may be (also checked by the database: the counter table's constraint and the
# sequence function), so that it can name a sequence: num_<key>_<year>.
KEY_PATTERN = r"^[a-z0-9_]{1,40}$"
# The year of a sequence that does not start again each year.
NO_YEAR = 0
_KEY = re.compile(KEY_PATTERN)
_NEXT = "SELECT public.muamalat_number_next(%s::text, %s::text, %s::integer, %s::boolean)"


def number_next(key: str, *, year: int | None = None, gapless: bool = False) -> int:
    """The next number of the sequence ``key`` (of ``year``) in the current schema.

    Raises ValueError for a key or year that cannot name a sequence (nothing is created), and
    RuntimeError for a gapless number asked outside a transaction."""
    year = _year_checked(key, year)
    if gapless:
        return _counter_next(key, year)
    return _sequence_next(key, year)


def number_last(key: str, *, year: int | None = None) -> int:
    """The last number given by the gapless sequence ``key`` (of ``year``) in the current
    schema, 0 before the first."""
    year = _year_checked(key, year)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "last" FROM {_counter_table()} WHERE "key" = %s AND "year" = %s', [key, year]
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def reference_format(prefix: str, year: int, number: int, width: int = 6) -> str:
    """``MOH-2026-000123``: prefix, year and the number padded to ``width`` digits."""
    return f"{prefix}-{year}-{number:0{width}d}"


def _year_checked(key: str, year: int | None) -> int:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"a numbering key matches {KEY_PATTERN}, not {key!r}")
    if year is None:
        return NO_YEAR
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ValueError(f"a numbering year is from 1 to 9999, not {year!r}")
    return year


def _counter_table() -> str:
    # Qualified: a schema that missed the migration must fail, not number from public's table.
    return f"{connection.ops.quote_name(connection.schema_name)}.numbering_counter"


def _counter_next(key: str, year: int) -> int:
    if not connection.in_atomic_block:
        raise RuntimeError(
            "a gapless number is taken inside the transaction that uses it (transaction.atomic())"
        )
    table = _counter_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} AS counter ("key", "year", "last") VALUES (%s, %s, 1) '
            'ON CONFLICT ("key", "year") DO UPDATE SET "last" = counter."last" + 1 '
            'RETURNING "last"',
            [key, year],
        )
        return cursor.fetchone()[0]


def _sequence_next(key: str, year: int) -> int:
    schema = connection.schema_name
    in_transaction = connection.in_atomic_block
    with connection.cursor() as cursor:
        # Outside a transaction the function may create the sequence (committed at once).
        cursor.execute(_NEXT, [schema, key, year, not in_transaction])
        number = cursor.fetchone()[0]
    if number is None:
        # Its first number, asked inside a transaction: created and taken on a connection of
        # its own (autocommit), so that the caller's transaction holds no lock on the new
        # sequence. Once a year per key and schema.
        side = connection.copy()
        try:
            with side.cursor() as cursor:
                cursor.execute(_NEXT, [schema, key, year, True])
                number = cursor.fetchone()[0]
        finally:
            side.close()
    return number


__all__ = ["number_last", "number_next", "reference_format"]
