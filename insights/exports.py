"""Tables as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Arabic) or XLSX
(openpyxl; right-to-left sheets in Arabic). Cells that a spreadsheet would run as a formula
are written as text."""

import csv
import io

from django.http import HttpResponse
from django.utils.translation import get_language_bidi
from openpyxl import Workbook
from openpyxl.styles import Font

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_response(*, fmt: str, filename: str, header: list[str], rows: list[list]):
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = filename[:31]
        sheet.sheet_view.rightToLeft = get_language_bidi()
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_safe(value) for value in row])
        for column in sheet.columns:
            letter = column[0].column_letter
            sheet.column_dimensions[letter].width = min(
                40, max(10, *(len(str(c.value or "")) + 2 for c in column))
            )
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    text = io.StringIO()
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _safe(value) for value in row])
    response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
