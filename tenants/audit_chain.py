"""A hash chain over each audit table (R-15: tamper-evident), computed in the database.

Every audit row carries ``chain_seq`` (its position, 1, 2, 3 … with no gap), ``prev_hash`` (the
previous row's ``row_hash``; 64 zeros for the first row) and ``row_hash``::

    row_hash = hex(sha256(prev_hash || content))
    content  = jsonb_strip_nulls(to_jsonb(row) - chain_seq - prev_hash - row_hash)::text

with TimeZone = UTC (a timestamptz's JSON text depends on it). jsonb's text output is canonical
for a value (keys sorted, one spacing), so the same row always gives the same text, whatever
the column order of its table. Top-level NULLs are left out so that a nullable column added to
an audit table later leaves the old rows' hashes valid (``jsonb_strip_nulls`` also drops a
NULL-valued key nested in ``before``/``after``: ``{"a": null}`` and ``{}`` hash alike).

A BEFORE INSERT trigger (``public.audit_chain_link()``, owned by the owner role) sets the three
columns, overwriting whatever the inserting role passed, under a transaction-level advisory lock
per table: writers of one table are serialised from their insert until their commit, so the
position is taken from the rows committed before and the chain stays linear. The predecessor is
found by ``chain_seq``, which is assigned under the lock (ids come from the sequence before any
trigger runs, so they may commit out of order). A UNIQUE constraint on ``chain_seq`` makes a
fork impossible: a REPEATABLE READ transaction that cannot see its predecessor fails with a
unique violation instead of linking to a stale head.

Changing the canonical form or the hash needs a migration that replaces both functions, and
breaks the verification of the rows hashed before: don't.

``chain_verify`` walks a chain in one SQL pass (a window over the ``chain_seq`` index, the
hashes recomputed by PostgreSQL) and returns the first broken link only.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from psycopg import sql

GENESIS = "0" * 64
# pg_advisory_xact_lock(key1, key2): key1 is this constant ('AUDT'), key2 the table's oid.
LOCK_CLASS = 0x41554454

HASH_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.audit_chain_hash(prev_hash text, doc jsonb) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT encode(sha256(convert_to(
        prev_hash || jsonb_strip_nulls(doc - '{chain_seq,prev_hash,row_hash}'::text[])::text,
        'UTF8')), 'hex')
$fn$;
"""

LINK_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION public.audit_chain_link() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $fn$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    -- One writer per table until its transaction ends; the oid is shown unsigned in pg_locks.
    PERFORM pg_advisory_xact_lock(
        {LOCK_CLASS},
        (CASE WHEN TG_RELID::bigint > 2147483647 THEN TG_RELID::bigint - 4294967296
              ELSE TG_RELID::bigint END)::int);
    -- READ COMMITTED: this statement's snapshot is taken after the lock, so it sees the head
    -- the previous writer committed.
    EXECUTE format('SELECT chain_seq, row_hash FROM %I.%I ORDER BY chain_seq DESC LIMIT 1',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO last_seq, last_hash;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '{GENESIS}');
    NEW.row_hash := public.audit_chain_hash(NEW.prev_hash, to_jsonb(NEW));
    RETURN NEW;
END
$fn$;
"""

FUNCTIONS_SQL = HASH_FUNCTION_SQL + LINK_FUNCTION_SQL

# For the agency schemas' migration (run once per schema, possibly in parallel processes): the
# public migration (run first) installed the functions; only install them where it did not, so
# that parallel migrations do not rewrite the same catalog rows.
FUNCTIONS_ENSURE_SQL = f"""
DO $ensure$
BEGIN
    IF to_regprocedure('public.audit_chain_link()') IS NULL THEN
        EXECUTE $h${HASH_FUNCTION_SQL}$h$;
        EXECUTE $l${LINK_FUNCTION_SQL}$l$;
    END IF;
END
$ensure$;
"""


def chain_install_sql(table: str) -> str:
    """As the owner, in a migration: the chain columns on ``table`` (unqualified, found on the
    search_path), the existing rows chained in id order (the append-only trigger is disabled for
    that UPDATE only, within the migration's transaction), then the constraints and the
    trigger."""
    return f"""
    ALTER TABLE {table} ADD COLUMN chain_seq bigint, ADD COLUMN prev_hash varchar(64),
        ADD COLUMN row_hash varchar(64);
    ALTER TABLE {table} DISABLE TRIGGER {table}_no_update;
    DO $backfill$
    DECLARE
        r record;
        seq bigint := 0;
        prev text := '{GENESIS}';
        digest text;
    BEGIN
        PERFORM set_config('TimeZone', 'UTC', true);
        FOR r IN SELECT * FROM {table} ORDER BY id LOOP
            seq := seq + 1;
            digest := public.audit_chain_hash(prev, to_jsonb(r));
            UPDATE {table} SET chain_seq = seq, prev_hash = prev, row_hash = digest
                WHERE id = r.id;
            prev := digest;
        END LOOP;
    END
    $backfill$;
    ALTER TABLE {table} ENABLE TRIGGER {table}_no_update;
    ALTER TABLE {table} ALTER COLUMN chain_seq SET NOT NULL,
        ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN row_hash SET NOT NULL,
        ADD CONSTRAINT {table}_chain_seq_key UNIQUE (chain_seq);
    CREATE TRIGGER {table}_chain BEFORE INSERT ON {table}
        FOR EACH ROW EXECUTE FUNCTION public.audit_chain_link();
    """


def chain_uninstall_sql(table: str) -> str:
    return f"""
    DROP TRIGGER {table}_chain ON {table};
    ALTER TABLE {table} DROP COLUMN chain_seq, DROP COLUMN prev_hash, DROP COLUMN row_hash;
    """


# --- verification ----------------------------------------------------------------------------

# One pass in chain order: each row's hash recomputed and compared with the stored one, its
# position and prev_hash compared with the row before it. Only the first broken row comes back.
_FIRST_BREAK_SQL = """
SELECT id, chain_seq, prev_hash, row_hash, computed, before_id, before_seq, before_hash
FROM (
    SELECT t.id, t.chain_seq, t.prev_hash, t.row_hash,
           public.audit_chain_hash(t.prev_hash, to_jsonb(t)) AS computed,
           lag(t.id) OVER w AS before_id,
           lag(t.chain_seq) OVER w AS before_seq,
           lag(t.row_hash) OVER w AS before_hash
    FROM {table} t
    WHERE t.chain_seq <= %(head)s
    WINDOW w AS (ORDER BY t.chain_seq)
) walk
WHERE computed IS DISTINCT FROM row_hash
   OR chain_seq <> coalesce(before_seq, 0) + 1
   OR prev_hash IS DISTINCT FROM coalesce(before_hash, {genesis})
ORDER BY chain_seq
LIMIT 1
"""


@dataclass
class ChainBreak:
    kind: str  # "changed", "missing", "reordered", "relinked"
    id: int
    chain_seq: int
    detail: str


@dataclass
class ChainReport:
    table: str  # schema-qualified
    checked: int  # rows walked (up to the break when there is one)
    head_seq: int
    head_hash: str | None
    broken: ChainBreak | None


def chain_verify(schema: str, table: str) -> ChainReport:
    """Verify ``schema.table``'s chain (read-only; any role that may SELECT it)."""
    name = sql.Identifier(schema, table)
    with transaction.atomic(), connection.cursor() as cursor:
        # A timestamptz's JSON text depends on the session's TimeZone: hash as the trigger did.
        cursor.execute("SELECT set_config('TimeZone', 'UTC', true)")
        # The head first: rows committed while the walk runs are left for the next run.
        cursor.execute(
            sql.SQL("SELECT chain_seq, row_hash FROM {} ORDER BY chain_seq DESC LIMIT 1").format(
                name
            )
        )
        head = cursor.fetchone() or (0, None)
        cursor.execute(
            sql.SQL(_FIRST_BREAK_SQL).format(table=name, genesis=sql.Literal(GENESIS)),
            {"head": head[0]},
        )
        row = cursor.fetchone()
        if row is None:
            # No break: positions 1..head, each present once.
            return ChainReport(f"{schema}.{table}", head[0], *head, None)
        broken = _classify(cursor, name, row)
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE chain_seq <= %s").format(name),
            [broken.chain_seq],
        )
        return ChainReport(f"{schema}.{table}", cursor.fetchone()[0], *head, broken)


def _classify(cursor, name, row) -> ChainBreak:
    id_, seq, prev_hash, row_hash, computed, before_id, before_seq, before_hash = row
    if computed != row_hash:
        return ChainBreak(
            "changed", id_, seq, f"row id {id_}: its content does not match its row_hash"
        )
    expected_seq = (before_seq or 0) + 1
    if seq > expected_seq:
        where = f"after id {before_id}" if before_id is not None else "at the start"
        return ChainBreak(
            "missing",
            id_,
            seq,
            f"rows missing (deleted) before id {id_}: chain positions {expected_seq}..{seq - 1} "
            f"{where}",
        )
    cursor.execute(
        sql.SQL("SELECT id FROM {} WHERE row_hash = %s ORDER BY chain_seq LIMIT 1").format(name),
        [prev_hash],
    )
    linked = cursor.fetchone()
    if seq < expected_seq:
        return ChainBreak(
            "reordered", id_, seq, f"row id {id_}: chain position {seq} repeated or out of order"
        )
    if linked is not None:
        return ChainBreak(
            "reordered",
            id_,
            seq,
            f"row id {id_} was chained after id {linked[0]}, but now follows id {before_id}",
        )
    if before_id is None:
        return ChainBreak(
            "relinked", id_, seq, f"row id {id_}: the first row does not start the chain"
        )
    return ChainBreak(
        "relinked",
        id_,
        seq,
        f"row id {id_} does not link to the row before it (id {before_id}): that row, or rows "
        "between them, were changed and re-hashed, or deleted and the positions renumbered",
    )
