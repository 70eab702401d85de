"""Entering vouchers (R-40): create, correct, cancel. The review chain (services.review) takes
them from there; final approval posts them (services.ledger).

Every error is translated and tied to what it is about: a field of the voucher (``date``,
``department``, ``description``, ``files``), a field of a line (``lines.<index>.<field>``, the
index counting the lines given, blank ones included) or the lines as a whole (``lines``: too few,
unbalanced). Nothing is saved when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date as Date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from core.files.checks import check_upload
from finance import policies
from finance.constants import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    HALALA,
    PeriodStatus,
    VoucherStatus,
    VoucherType,
)
from finance.models import Account, Period, Voucher, VoucherAttachment, VoucherLine
from finance.services.numbers import number_next
from tenants.staff.models import Department

MIN_LINES = 2
MAX_LINES = 200
MAX_FILES = 10
LINE_FIELDS = ("account", "department", "debit", "credit", "description")


@dataclass
class CleanLine:
    account: Account
    department: Department | None
    debit: Decimal
    credit: Decimal
    description: str


def line_key(index: int, field: str | None = None) -> str:
    """The error key of a line's field (or of the line as a whole)."""
    return f"lines.{index}.{field}" if field else f"lines.{index}"


# An amount as typed: digits with at most one decimal point (Arabic-Indic digits and
# separators accepted); no sign, exponent, NaN or Infinity, which Decimal() would take.
_AMOUNT_TEXT = re.compile(r"^([0-9]+)(?:\.([0-9]+))?$")
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩٫٬", "0123456789.,")


def amount_clean(value: Any) -> Decimal:
    """A non-negative amount in SAR with at most two decimal places (halalas); empty is zero.
    Raises ValidationError with the reason (codes ``invalid``, ``negative``, ``decimals``,
    ``too_large``), never an arithmetic error, whatever the text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0.00")
    invalid = ValidationError(_("Enter the amount as a number such as 1250.50."), code="invalid")
    if isinstance(value, (float, bool)):
        raise invalid
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise invalid
        text = format(value, "f")
    else:
        text = str(value).strip().translate(_ARABIC_DIGITS).replace(",", "")
    negative = text.startswith("-")
    match = _AMOUNT_TEXT.match(text[1:] if negative else text)
    if match is None:
        raise invalid
    whole, decimals = match.group(1).lstrip("0"), (match.group(2) or "").rstrip("0")
    if negative and (whole or decimals):
        raise ValidationError(_("An amount cannot be negative."), code="negative")
    if len(decimals) > AMOUNT_PLACES:
        raise ValidationError(
            _("An amount has at most two decimal places (halalas)."), code="decimals"
        )
    if len(whole) > AMOUNT_DIGITS - AMOUNT_PLACES:
        raise ValidationError(_("This amount is too large."), code="too_large")
    return Decimal(f"{whole or 0}.{decimals}" if decimals else whole or "0").quantize(HALALA)


def _is_blank(line: Mapping[str, Any]) -> bool:
    return all(line.get(field) in (None, "", 0) for field in LINE_FIELDS)


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def lines_clean(
    lines: Sequence[Mapping[str, Any]], errors: dict[str, list[str]]
) -> list[CleanLine]:
    """The voucher's lines checked (blank ones skipped); problems are added to ``errors``."""
    wanted_accounts = {_pk(line.get("account")) for line in lines if line.get("account")}
    wanted_departments = {_pk(line.get("department")) for line in lines if line.get("department")}
    accounts = {str(a.pk): a for a in Account.objects.filter(pk__in=_ints(wanted_accounts))}
    departments = {
        str(d.pk): d for d in Department.objects.filter(pk__in=_ints(wanted_departments))
    }
    clean: list[CleanLine] = []
    if len(lines) > MAX_LINES:
        errors.setdefault("lines", []).append(
            _("A voucher has at most %(n)s lines.") % {"n": MAX_LINES}
        )
        return clean
    for index, line in enumerate(lines):
        if _is_blank(line):
            continue
        line_errors: dict[str, str] = {}
        account = accounts.get(str(_pk(line.get("account")))) if line.get("account") else None
        if not line.get("account"):
            line_errors["account"] = _("Choose an account.")
        elif account is None:
            line_errors["account"] = _("This account does not exist.")
        elif not account.is_active:
            line_errors["account"] = _("This account is inactive.")
        elif not account.is_postable:
            line_errors["account"] = _("This account is a heading: choose one of its accounts.")
        department = None
        if line.get("department"):
            department = departments.get(str(_pk(line["department"])))
            if department is None or not department.is_active:
                line_errors["department"] = _("Choose an active department.")
        amounts = {}
        for side in ("debit", "credit"):
            try:
                amounts[side] = amount_clean(line.get(side))
            except ValidationError as exc:
                line_errors[side] = exc.messages[0]
                amounts[side] = None
        if "debit" not in line_errors and "credit" not in line_errors:
            if amounts["debit"] > 0 and amounts["credit"] > 0:
                line_errors["debit"] = _("A line is a debit or a credit, not both.")
            elif amounts["debit"] == 0 and amounts["credit"] == 0:
                line_errors["debit"] = _("Enter a debit or a credit.")
        description = str(line.get("description") or "").strip()
        if len(description) > 300:
            line_errors["description"] = _("At most 300 characters.")
        for field, message in line_errors.items():
            errors.setdefault(line_key(index, field), []).append(message)
        if not line_errors:
            clean.append(
                CleanLine(account, department, amounts["debit"], amounts["credit"], description)
            )
    has_line_errors = any(key.startswith("lines.") for key in errors)
    if not has_line_errors:
        if len(clean) < MIN_LINES:
            errors.setdefault("lines", []).append(_("A voucher has at least two lines."))
        else:
            debit = sum((line.debit for line in clean), Decimal("0.00"))
            credit = sum((line.credit for line in clean), Decimal("0.00"))
            if debit != credit:
                errors.setdefault("lines", []).append(
                    _(
                        "The voucher does not balance: the debits total %(debit)s and the "
                        "credits %(credit)s."
                    )
                    % {"debit": f"{debit:,.2f}", "credit": f"{credit:,.2f}"}
                )
    return clean


def _ints(values) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def period_for(day: Date | None, errors: dict[str, list[str]]) -> Period | None:
    """The open period ``day`` falls in; else an error on ``date``."""
    if day is None:
        errors.setdefault("date", []).append(_("Enter the voucher's date."))
        return None
    period = (
        Period.objects.select_related("fiscal_year").filter(start__lte=day, end__gte=day).first()
    )
    if period is None:
        errors.setdefault("date", []).append(_("No fiscal year covers this date."))
    elif period.status != PeriodStatus.OPEN:
        errors.setdefault("date", []).append(_("The accounting period of this date is closed."))
        return None
    return period


def _header_clean(
    *,
    type: str | None,
    department: Department | None,
    counterparty: str,
    description: str,
    errors: dict[str, list[str]],
) -> tuple[str, str]:
    if type is not None and type not in VoucherType.values:
        errors.setdefault("type", []).append(_("Choose the type of voucher."))
    if department is None or not department.is_active:
        errors.setdefault("department", []).append(_("Choose an active department."))
    counterparty = (counterparty or "").strip()
    if len(counterparty) > 200:
        errors.setdefault("counterparty", []).append(_("At most 200 characters."))
    description = (description or "").strip()
    if not description:
        errors.setdefault("description", []).append(_("Describe the voucher."))
    elif len(description) > 2000:
        errors.setdefault("description", []).append(_("At most 2000 characters."))
    return counterparty, description


def _files_check(files: Sequence[UploadedFile], errors: dict[str, list[str]], *, already: int = 0):
    checked = []
    if len(files) + already > MAX_FILES:
        errors.setdefault("files", []).append(
            _("At most %(n)s attachments per voucher.") % {"n": MAX_FILES}
        )
        return checked
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.setdefault("files", []).extend(exc.messages)
    return checked


def _lines_write(voucher: Voucher, clean: list[CleanLine]) -> None:
    VoucherLine.objects.bulk_create(
        [
            VoucherLine(
                voucher=voucher,
                position=position,
                account=line.account,
                department=line.department,
                debit=line.debit,
                credit=line.credit,
                description=line.description,
            )
            for position, line in enumerate(clean, 1)
        ]
    )


def _attachments_write(voucher: Voucher, checked, by: User) -> None:
    for item in checked:
        attachment = VoucherAttachment(voucher=voucher, uploaded_by=by)
        attachment.take(item)
        attachment.save()


def _summary(voucher: Voucher, clean: list[CleanLine]) -> dict[str, Any]:
    return {
        "date": voucher.date.isoformat(),
        "department": voucher.department_id,
        "total": str(voucher.total),
        "lines": [
            [
                line.account.code,
                str(line.debit),
                str(line.credit),
                getattr(line.department, "pk", None),
            ]
            for line in clean
        ],
    }


@use_case
def voucher_create(
    *,
    by: User,
    type: str,
    date: Date | None,
    department: Department | None,
    counterparty: str = "",
    description: str,
    lines: Sequence[Mapping[str, Any]],
    files: Sequence[UploadedFile] = (),
) -> Voucher:
    """Enter a voucher (a draft of ``by``), numbered without gaps per type and fiscal year.

    ``lines``: mappings with ``account`` (an Account or its id), ``department`` (optional cost
    centre), ``debit``, ``credit`` (Decimal or text, one side only) and ``description``."""
    require(policies.can_enter(by))
    errors: dict[str, list[str]] = {}
    counterparty, description = _header_clean(
        type=type or "",
        department=department,
        counterparty=counterparty,
        description=description,
        errors=errors,
    )
    period = period_for(date, errors)
    clean = lines_clean(lines, errors)
    checked = _files_check(files, errors)
    if errors:
        raise ValidationError(errors)
    number = number_next(key=type, fiscal_year=period.fiscal_year)
    voucher = Voucher.objects.create(
        type=type,
        fiscal_year=period.fiscal_year,
        number=number,
        date=date,
        period=period,
        department=department,
        counterparty=counterparty,
        description=description,
        status=VoucherStatus.DRAFT,
        total=sum((line.debit for line in clean), Decimal("0.00")),
        maker=by,
    )
    _lines_write(voucher, clean)
    _attachments_write(voucher, checked, by)
    audit.agency_record(
        actor=by, action="finance.voucher_create", obj=voucher, after=_summary(voucher, clean)
    )
    return voucher


@use_case
def voucher_update(
    *,
    by: User,
    voucher: Voucher,
    date: Date | None,
    department: Department | None,
    counterparty: str = "",
    description: str,
    lines: Sequence[Mapping[str, Any]],
    files: Sequence[UploadedFile] = (),
    remove_attachments: Sequence[int] = (),
) -> Voucher:
    """Correct a voucher: only its maker, only while a draft or returned for correction. The
    lines are replaced by ``lines``; the type and the number stay (so the date stays in the
    voucher's fiscal year)."""
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    require(
        policies.can_edit(by, voucher),
        _("Only the maker can correct a voucher, and only before it is submitted."),
    )
    errors: dict[str, list[str]] = {}
    counterparty, description = _header_clean(
        type=None,
        department=department,
        counterparty=counterparty,
        description=description,
        errors=errors,
    )
    period = period_for(date, errors)
    if period is not None and period.fiscal_year_id != voucher.fiscal_year_id:
        errors.setdefault("date", []).append(
            _("The date must stay in the voucher's fiscal year (%(year)s).")
            % {"year": voucher.fiscal_year.name}
        )
    clean = lines_clean(lines, errors)
    if voucher.reverses_id is not None:
        _reversal_check(voucher, department, clean, errors)
    removed = list(voucher.attachments.filter(pk__in=_ints(remove_attachments)))
    kept = voucher.attachments.count() - len(removed)
    checked = _files_check(files, errors, already=kept)
    if errors:
        raise ValidationError(errors)
    before = _summary(voucher, _clean_of(voucher))
    voucher.date = date
    voucher.period = period
    voucher.department = department
    voucher.counterparty = counterparty
    voucher.description = description
    voucher.total = sum((line.debit for line in clean), Decimal("0.00"))
    voucher.save()
    voucher.lines.all().delete()
    _lines_write(voucher, clean)
    for attachment in removed:
        # The row goes; the stored file is left to the storage's clean-up (a rollback must
        # never find its file gone).
        attachment.delete()
    _attachments_write(voucher, checked, by)
    after = _summary(voucher, clean)
    if removed:
        after["attachments_removed"] = [a.original_name for a in removed]
    audit.agency_record(
        actor=by, action="finance.voucher_update", obj=voucher, before=before, after=after
    )
    return voucher


def reversal_lines(voucher: Voucher) -> list[dict[str, Any]]:
    """The lines of a reversing voucher: the original's, debits and credits swapped."""
    return [
        {
            "account": line.account,
            "department": line.department,
            "debit": line.credit,
            "credit": line.debit,
            "description": line.description,
        }
        for line in VoucherLine.objects.filter(voucher_id=voucher.reverses_id)
        .select_related("account", "department")
        .order_by("position")
    ]


def _reversal_check(
    voucher: Voucher, department: Department | None, clean: list[CleanLine], errors
) -> None:
    """A reversing voucher mirrors the posted voucher it reverses: its lines and department
    stay those of the original (only the date, payee and description may be corrected)."""
    original = Voucher.objects.only("department_id").get(pk=voucher.reverses_id)
    if department is not None and department.pk != original.department_id:
        errors.setdefault("department", []).append(
            _("A reversing voucher keeps the department of the voucher it reverses.")
        )
    wanted = [
        (line["account"].pk, _pk(line["department"]), line["debit"], line["credit"])
        for line in reversal_lines(voucher)
    ]
    given = [(line.account.pk, _pk(line.department), line.debit, line.credit) for line in clean]
    if given != wanted:
        errors.setdefault("lines", []).append(
            _(
                "The lines of a reversing voucher mirror the voucher it reverses: they cannot "
                "be changed."
            )
        )


def _clean_of(voucher: Voucher) -> list[CleanLine]:
    return [
        CleanLine(line.account, line.department, line.debit, line.credit, line.description)
        for line in voucher.lines.select_related("account", "department")
    ]


@use_case
def voucher_cancel(*, by: User, voucher: Voucher, reason: str = "") -> Voucher:
    """Cancel a draft (only its maker). The voucher stays, with its number: numbers have no
    gaps, so a cancelled number is shown as cancelled, never reused."""
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    require(policies.can_cancel(by, voucher), _("Only the maker can cancel a draft voucher."))
    voucher.status = VoucherStatus.CANCELLED
    voucher.save(update_fields=["status", "updated_at"])
    audit.agency_record(
        actor=by,
        action="finance.voucher_cancel",
        obj=voucher,
        before={"status": VoucherStatus.DRAFT},
        after={"status": VoucherStatus.CANCELLED, "reason": (reason or "").strip()[:500]},
    )
    return voucher
