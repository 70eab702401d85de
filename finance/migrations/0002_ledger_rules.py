"""The accounting rules the database enforces whatever code (or person with the application's
SQL access) writes: posted ledger lines never change, a closed period takes no posting, a
voucher's ledger lines balance when the transaction commits, and a posted voucher (its lines
and the fields its posting depends on) is frozen.

Triggers, written by hand as in meetings 0005: they are created by the migration, which runs as
the owner role (tenants.dbroles); the application's role could not create or disable them. The
functions live in public (one copy, shared by every agency schema) and find the rows of the
schema of the table that fired them (TG_TABLE_SCHEMA).
"""

from django.db import migrations

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION public.finance_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'posted ledger lines are final: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- A posting into a closed period (or outside its dates) is refused. FOR SHARE: a period being
-- closed at the same moment waits for this transaction, and a posting after the close sees it.
CREATE OR REPLACE FUNCTION public.finance_ledger_period_open() RETURNS trigger AS $$
DECLARE
    period_status text;
    period_start date;
    period_end date;
    period_year bigint;
BEGIN
    EXECUTE format(
        'SELECT status, start, "end", fiscal_year_id FROM %I.finance_period WHERE id = $1 FOR SHARE',
        TG_TABLE_SCHEMA
    ) INTO period_status, period_start, period_end, period_year USING NEW.period_id;
    IF period_status IS NULL THEN
        RAISE EXCEPTION 'ledger line without a period' USING ERRCODE = 'check_violation';
    END IF;
    IF period_status <> 'open' THEN
        RAISE EXCEPTION 'the period is closed: posting refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.date < period_start OR NEW.date > period_end OR NEW.fiscal_year_id <> period_year THEN
        RAISE EXCEPTION 'ledger line dated outside its period' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- At commit (deferred): the ledger lines of the voucher balance, are on one side each, and the
-- voucher is posted.
CREATE OR REPLACE FUNCTION public.finance_ledger_balanced() RETURNS trigger AS $$
DECLARE
    difference numeric;
    voucher_status text;
BEGIN
    EXECUTE format(
        'SELECT coalesce(sum(debit - credit), 0) FROM %I.finance_ledgerline WHERE voucher_id = $1',
        TG_TABLE_SCHEMA
    ) INTO difference USING NEW.voucher_id;
    IF difference <> 0 THEN
        RAISE EXCEPTION 'the ledger lines of voucher % do not balance (difference %)',
            NEW.voucher_id, difference USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE format('SELECT status FROM %I.finance_voucher WHERE id = $1', TG_TABLE_SCHEMA)
        INTO voucher_status USING NEW.voucher_id;
    IF voucher_status IS DISTINCT FROM 'posted' THEN
        RAISE EXCEPTION 'ledger lines of voucher % that is not posted', NEW.voucher_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- The lines of a posted voucher cannot be added, changed or removed.
CREATE OR REPLACE FUNCTION public.finance_posted_lines_final() RETURNS trigger AS $$
DECLARE
    voucher_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT status FROM %I.finance_voucher WHERE id = $1', TG_TABLE_SCHEMA)
            INTO voucher_status USING OLD.voucher_id;
        IF voucher_status = 'posted' THEN
            RAISE EXCEPTION 'the lines of a posted voucher are final: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        EXECUTE format('SELECT status FROM %I.finance_voucher WHERE id = $1', TG_TABLE_SCHEMA)
            INTO voucher_status USING NEW.voucher_id;
        IF voucher_status = 'posted' THEN
            RAISE EXCEPTION 'the lines of a posted voucher are final: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- A posted voucher stays posted, and what its ledger lines were written from does not move.
CREATE OR REPLACE FUNCTION public.finance_posted_voucher_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'posted' THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'a posted voucher is final: DELETE refused'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status
            OR NEW.type IS DISTINCT FROM OLD.type
            OR NEW.number IS DISTINCT FROM OLD.number
            OR NEW.fiscal_year_id IS DISTINCT FROM OLD.fiscal_year_id
            OR NEW.period_id IS DISTINCT FROM OLD.period_id
            OR NEW.date IS DISTINCT FROM OLD.date
            OR NEW.total IS DISTINCT FROM OLD.total
            OR NEW.maker_id IS DISTINCT FROM OLD.maker_id
            OR NEW.department_id IS DISTINCT FROM OLD.department_id
            OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id
            OR NEW.posted_at IS DISTINCT FROM OLD.posted_at THEN
            RAISE EXCEPTION 'a posted voucher is final: UPDATE refused'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS_SQL = """
CREATE TRIGGER finance_ledgerline_final BEFORE UPDATE OR DELETE ON finance_ledgerline
    FOR EACH ROW EXECUTE FUNCTION public.finance_ledger_refuse_change();
CREATE TRIGGER finance_ledgerline_no_truncate BEFORE TRUNCATE ON finance_ledgerline
    FOR EACH STATEMENT EXECUTE FUNCTION public.finance_ledger_refuse_change();
CREATE TRIGGER finance_ledgerline_period_open BEFORE INSERT ON finance_ledgerline
    FOR EACH ROW EXECUTE FUNCTION public.finance_ledger_period_open();
CREATE CONSTRAINT TRIGGER finance_ledgerline_balanced AFTER INSERT ON finance_ledgerline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.finance_ledger_balanced();
CREATE TRIGGER finance_voucherline_posted_final BEFORE INSERT OR UPDATE OR DELETE
    ON finance_voucherline
    FOR EACH ROW EXECUTE FUNCTION public.finance_posted_lines_final();
CREATE TRIGGER finance_voucher_posted_final BEFORE UPDATE OR DELETE ON finance_voucher
    FOR EACH ROW EXECUTE FUNCTION public.finance_posted_voucher_final();
"""

DROP_TRIGGERS_SQL = """
DROP TRIGGER finance_ledgerline_final ON finance_ledgerline;
DROP TRIGGER finance_ledgerline_no_truncate ON finance_ledgerline;
DROP TRIGGER finance_ledgerline_period_open ON finance_ledgerline;
DROP TRIGGER finance_ledgerline_balanced ON finance_ledgerline;
DROP TRIGGER finance_voucherline_posted_final ON finance_voucherline;
DROP TRIGGER finance_voucher_posted_final ON finance_voucher;
"""


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [
        migrations.RunSQL(FUNCTIONS_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS_SQL, DROP_TRIGGERS_SQL),
    ]
