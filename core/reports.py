"""Reports any module can give: tables as CSV (UTF-8 with a byte-order mark, so spreadsheet
programs read Arabic) or XLSX (openpyxl; right-to-left sheets in Arabic), and HTML rendered as
PDF (weasyprint). Cells that a spreadsheet would run as a formula are written as text."""

import csv
import io
import logging

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language_bidi
from openpyxl import Workbook
from openpyxl.styles import Font

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


logger = logging.getLogger(__name__)


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_response(
    *,
    fmt: str,
    filename: str,
    header: list[str],
    rows: list[list],
    column_formats: dict[int, str] | None = None,
):
    """A download of the table: ``fmt`` "xlsx", else CSV; ``filename`` without extension.
    ``column_formats`` gives XLSX number formats by column index (``{2: "#,##0.00"}``)."""
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
        for index, number_format in (column_formats or {}).items():
            for cells in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
                cells[0].number_format = number_format
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
        response["Content-Disposition"] = content_disposition_header(True, f"{filename}.xlsx")
        return response
    text = io.StringIO()
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _safe(value) for value in row])
    response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.csv")
    return response


def pdf_response(html: str, filename: str) -> HttpResponse | None:
    """The PDF of ``html`` as a download, or None when this server lacks the system libraries
    (Pango) weasyprint needs (the caller says so to the user)."""
    try:
        from weasyprint import HTML
    except OSError:
        logger.exception("PDF reports need Pango (apt-get install libpangoft2-1.0-0)")
        return None
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.pdf")
    return response
