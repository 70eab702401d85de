"""core.reports: the table and PDF downloads any module can give (the statistics' exports use
them; their pages are tested in tests/insights)."""

import io

from django.utils import translation
from openpyxl import load_workbook

from core.reports import pdf_response, table_response

HEADER = ["المرجع", "Subject"]
ROWS = [["MOH-2026-000001", '=HYPERLINK("http://x")'], ["-1", None], ["نص عربي", 3]]


def test_csv_has_a_bom_and_neutralised_formulas():
    response = table_response(fmt="csv", filename="طلبات", header=HEADER, rows=ROWS)
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffالمرجع,Subject")
    assert "'=HYPERLINK" in text and "\r\n'-1," in text
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=utf-8''" in response["Content-Disposition"]  # an Arabic name survives


def test_xlsx_is_right_to_left_in_arabic_only():
    for language, rtl in (("ar", True), ("en", False)):
        with translation.override(language):
            response = table_response(fmt="xlsx", filename="requests", header=HEADER, rows=ROWS)
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert bool(sheet.sheet_view.rightToLeft) is rtl
        assert sheet["B2"].value.startswith("'=") and sheet["A4"].value == "نص عربي"
        assert response["Content-Disposition"] == 'attachment; filename="requests.xlsx"'


def test_pdf_from_html():
    response = pdf_response("<html dir='rtl'><body><p>تقرير</p></body></html>", "report")
    assert response is not None, "weasyprint needs Pango on this machine"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
