"""What every agency starts with in finance: a default chart of accounts for a government
agency (assets, liabilities, net assets, revenue, expenses by the budget's chapters; codes and
Arabic/English names), the finance settings row, the current fiscal year with its twelve monthly
periods and its counters, and every finance permission for the admin role.

Run in the template schema too, so agencies cloned from it have them (onboarding adds the
fiscal year of the day if the template's is older: finance.services.chart.finance_onboard).
The chart is a copy frozen here: later changes to a default chart belong in a new migration.
Nothing is added where an agency already has accounts (its chart is its own)."""

import calendar
from datetime import date

from django.db import migrations

# (code, parent code, kind, Arabic, English); a code that is another's parent is a heading.
CHART = [
    ("1", None, "asset", "الأصول", "Assets"),
    ("11", "1", "asset", "الأصول المتداولة", "Current assets"),
    ("1101", "11", "asset", "النقدية في الصندوق", "Cash on hand"),
    ("1102", "11", "asset", "البنك - الحساب الجاري", "Bank - current account"),
    ("1103", "11", "asset", "المدينون", "Receivables"),
    ("1104", "11", "asset", "سلف الموظفين", "Advances to employees"),
    ("1105", "11", "asset", "مصروفات مدفوعة مقدماً", "Prepaid expenses"),
    ("12", "1", "asset", "الأصول الثابتة", "Fixed assets"),
    ("1201", "12", "asset", "المباني", "Buildings"),
    ("1202", "12", "asset", "السيارات", "Vehicles"),
    ("1203", "12", "asset", "الأثاث والمعدات", "Furniture and equipment"),
    ("1204", "12", "asset", "الحاسبات والبرمجيات", "Computers and software"),
    ("1209", "12", "asset", "مجمع الإهلاك", "Accumulated depreciation"),
    ("2", None, "liability", "الخصوم", "Liabilities"),
    ("21", "2", "liability", "الخصوم المتداولة", "Current liabilities"),
    ("2101", "21", "liability", "الدائنون", "Payables"),
    ("2102", "21", "liability", "مصروفات مستحقة", "Accrued expenses"),
    ("2103", "21", "liability", "الضمانات والأمانات", "Guarantees and deposits"),
    ("2104", "21", "liability", "مستحقات الخزينة العامة", "Due to the public treasury"),
    ("3", None, "equity", "صافي الأصول", "Net assets"),
    ("3101", "3", "equity", "الفائض المتراكم", "Accumulated surplus"),
    ("3102", "3", "equity", "فائض أو عجز السنة", "Surplus or deficit of the year"),
    ("4", None, "revenue", "الإيرادات", "Revenue"),
    ("4101", "4", "revenue", "اعتمادات الميزانية", "Budget appropriations"),
    ("4102", "4", "revenue", "الرسوم", "Fees and charges"),
    ("4103", "4", "revenue", "إيرادات الخدمات", "Service revenue"),
    ("4104", "4", "revenue", "إيرادات أخرى", "Other revenue"),
    ("5", None, "expense", "المصروفات", "Expenses"),
    ("51", "5", "expense", "تعويضات العاملين", "Employee compensation"),
    ("5101", "51", "expense", "الرواتب والأجور", "Salaries and wages"),
    ("5102", "51", "expense", "البدلات", "Allowances"),
    ("5103", "51", "expense", "اشتراكات التأمينات الاجتماعية", "Social insurance contributions"),
    ("52", "5", "expense", "السلع والخدمات", "Goods and services"),
    ("5201", "52", "expense", "الإيجارات", "Rent"),
    ("5202", "52", "expense", "الكهرباء والمياه والاتصالات", "Electricity, water and telecoms"),
    ("5203", "52", "expense", "الصيانة والنظافة", "Maintenance and cleaning"),
    ("5204", "52", "expense", "اللوازم المكتبية", "Office supplies"),
    ("5205", "52", "expense", "السفر والانتقالات", "Travel and transport"),
    (
        "5206",
        "52",
        "expense",
        "الخدمات المهنية والاستشارية",
        "Professional and consulting services",
    ),
    ("53", "5", "expense", "الإهلاك", "Depreciation"),
    ("5301", "53", "expense", "مصروف الإهلاك", "Depreciation expense"),
    ("54", "5", "expense", "المنح والإعانات", "Grants and subsidies"),
    ("5401", "54", "expense", "الإعانات والمساعدات", "Subsidies and assistance"),
]
COUNTER_KEYS = ("receipt", "payment", "journal", "ledger")
ADMIN_PERMISSIONS = [
    "finance.enter",
    "finance.review",
    "finance.approve",
    "finance.configure",
    "finance.reports",
    "finance.close_periods",
]


def chart_install(apps, schema_editor):
    Account = apps.get_model("finance", "Account")
    if Account.objects.exists():
        return
    headings = {parent for _code, parent, *_rest in CHART if parent}
    made = {}
    for code, parent, kind, name_ar, name_en in CHART:
        made[code] = Account.objects.create(
            code=code,
            parent=made.get(parent),
            kind=kind,
            name_ar=name_ar,
            name_en=name_en,
            is_postable=code not in headings,
        )


def settings_install(apps, schema_editor):
    apps.get_model("finance", "FinanceSettings").objects.get_or_create(pk=1)


def fiscal_year_install(apps, schema_editor):
    FiscalYear = apps.get_model("finance", "FiscalYear")
    Period = apps.get_model("finance", "Period")
    NumberCounter = apps.get_model("finance", "NumberCounter")
    year = date.today().year
    if FiscalYear.objects.filter(start__lte=date(year, 6, 30), end__gte=date(year, 6, 30)).exists():
        return
    fiscal_year = FiscalYear.objects.create(
        name=str(year), start=date(year, 1, 1), end=date(year, 12, 31)
    )
    Period.objects.bulk_create(
        [
            Period(
                fiscal_year=fiscal_year,
                number=month,
                start=date(year, month, 1),
                end=date(year, month, calendar.monthrange(year, month)[1]),
            )
            for month in range(1, 13)
        ]
    )
    NumberCounter.objects.bulk_create(
        [NumberCounter(key=key, fiscal_year=fiscal_year) for key in COUNTER_KEYS]
    )


def admin_permissions(apps, schema_editor):
    Role = apps.get_model("staff", "Role")
    for role in Role.objects.filter(is_system=True, codename="admin"):
        role.permissions = sorted(set(role.permissions) | set(ADMIN_PERMISSIONS))
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_ledger_rules"), ("staff", "0001_initial")]

    operations = [
        migrations.RunPython(chart_install, migrations.RunPython.noop),
        migrations.RunPython(settings_install, migrations.RunPython.noop),
        migrations.RunPython(fiscal_year_install, migrations.RunPython.noop),
        migrations.RunPython(admin_permissions, migrations.RunPython.noop),
    ]
