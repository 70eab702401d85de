"""An index in the ledger's reading order per account (R-43 reports): the account statement
and the general ledger read an account's lines of a fiscal year by date and entry number, and
page through them without sorting the year; the trial balance and budget against actual find
their sums in it (debit and credit are included, so those scans read only the index).

Raw SQL, not a model index: the model's Meta is shared by the finance parts and this index is
the reports' own concern (the migration state stays unchanged, so makemigrations adds nothing).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX finance_ledger_report_order ON finance_ledgerline "
            "(fiscal_year_id, account_id, date, entry_number, id) "
            "INCLUDE (debit, credit, department_id)",
            "DROP INDEX IF EXISTS finance_ledger_report_order",
        )
    ]
