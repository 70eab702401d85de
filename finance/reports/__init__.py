"""Financial reports (R-43): the scope a report covers, the reads behind each report
(``finance.reports.selectors``) and the tables they are shown and exported as
(``finance.reports.tables``)."""
