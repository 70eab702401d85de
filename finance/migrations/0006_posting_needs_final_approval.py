"""The database's side of two rules of the review chain (finance audit, issue 14):

- A voucher becomes posted only from review, when every level of its current round is done
  with the approvals it needs (the decisions themselves are checked by 0002_review: never the
  maker, never an earlier approver, only someone eligible). A voucher is never inserted as
  posted. The review service completes the final level and posts in one transaction, which this
  trigger sees.
- A voucher in review is frozen like a posted one: its lines, and the fields its chain was
  resolved from (type, department, total, date...), do not change while reviewers decide on
  them; only its status moves on (posted, returned or rejected).

Written by hand like 0002_ledger_rules: functions in public, rows found in the firing table's
schema (TG_TABLE_SCHEMA).
"""

import importlib

from django.db import migrations

# Going back restores the functions as 0002_ledger_rules wrote them.
PREVIOUS_FUNCTIONS_SQL = importlib.import_module(
    "finance.migrations.0002_ledger_rules"
).FUNCTIONS_SQL

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION public.finance_voucher_posting_approved() RETURNS trigger AS $$
DECLARE
    n_steps integer;
    n_final integer;
    n_open integer;
BEGIN
    IF NEW.status <> 'posted' OR (TG_OP = 'UPDATE' AND OLD.status = 'posted') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.status <> 'in_review' THEN
        RAISE EXCEPTION 'voucher % is posted only from review', NEW.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format(
        'SELECT count(*), count(*) FILTER (WHERE s.is_final),'
        ' count(*) FILTER (WHERE s.completed_at IS NULL OR s.outcome <> ''approved'''
        '   OR (SELECT count(*) FROM %I.finance_reviewdecision d'
        '       WHERE d.step_id = s.id AND d.action = ''approve'') < s.required)'
        ' FROM %I.finance_reviewstep s WHERE s.voucher_id = $1 AND s.round = $2',
        TG_TABLE_SCHEMA, TG_TABLE_SCHEMA
    ) INTO n_steps, n_final, n_open USING NEW.id, NEW.review_round;
    IF n_steps = 0 OR n_final <> 1 OR n_open > 0 THEN
        RAISE EXCEPTION 'voucher % has no completed final approval in round %',
            NEW.id, NEW.review_round USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- The lines of a voucher in review or posted cannot be added, changed or removed.
CREATE OR REPLACE FUNCTION public.finance_posted_lines_final() RETURNS trigger AS $$
DECLARE
    voucher_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT status FROM %I.finance_voucher WHERE id = $1', TG_TABLE_SCHEMA)
            INTO voucher_status USING OLD.voucher_id;
        IF voucher_status IN ('posted', 'in_review') THEN
            RAISE EXCEPTION 'the lines of a voucher in review or posted are final: % refused',
                TG_OP USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        EXECUTE format('SELECT status FROM %I.finance_voucher WHERE id = $1', TG_TABLE_SCHEMA)
            INTO voucher_status USING NEW.voucher_id;
        IF voucher_status IN ('posted', 'in_review') THEN
            RAISE EXCEPTION 'the lines of a voucher in review or posted are final: % refused',
                TG_OP USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- A posted voucher stays posted, and what its ledger lines were written from does not move;
-- a voucher in review keeps what its chain was resolved from and only leaves review.
CREATE OR REPLACE FUNCTION public.finance_posted_voucher_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('posted', 'in_review') THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'a voucher in review or posted is kept: DELETE refused'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.type IS DISTINCT FROM OLD.type
            OR NEW.number IS DISTINCT FROM OLD.number
            OR NEW.fiscal_year_id IS DISTINCT FROM OLD.fiscal_year_id
            OR NEW.period_id IS DISTINCT FROM OLD.period_id
            OR NEW.date IS DISTINCT FROM OLD.date
            OR NEW.total IS DISTINCT FROM OLD.total
            OR NEW.maker_id IS DISTINCT FROM OLD.maker_id
            OR NEW.department_id IS DISTINCT FROM OLD.department_id
            OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id
            OR NEW.review_round IS DISTINCT FROM OLD.review_round
            OR (OLD.status = 'posted' AND (NEW.status IS DISTINCT FROM OLD.status
                OR NEW.posted_at IS DISTINCT FROM OLD.posted_at))
            OR (OLD.status = 'in_review'
                AND NEW.status NOT IN ('in_review', 'posted', 'returned', 'rejected')) THEN
            RAISE EXCEPTION 'a voucher in review or posted is frozen: UPDATE refused'
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
CREATE TRIGGER finance_voucher_posting_approved BEFORE INSERT OR UPDATE OF status
    ON finance_voucher
    FOR EACH ROW EXECUTE FUNCTION public.finance_voucher_posting_approved();
"""

DROP_TRIGGERS_SQL = """
DROP TRIGGER finance_voucher_posting_approved ON finance_voucher;
"""


class Migration(migrations.Migration):
    dependencies = [("finance", "0005_merge_reports")]

    operations = [
        migrations.RunSQL(FUNCTIONS_SQL, PREVIOUS_FUNCTIONS_SQL),
        migrations.RunSQL(TRIGGERS_SQL, DROP_TRIGGERS_SQL),
    ]
