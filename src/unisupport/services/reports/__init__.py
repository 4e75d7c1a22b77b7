"""The monthly reports (issue 10, item 4): SLA attainment by month × customer ×
severity × plan (``sla``), contract consumption, forfeitures and cancellation fees
(``consumption``), and their spreadsheet-ready CSV (``csv``). Read-only: every query
is limited to the caller's tenant scope (``services.scope``)."""
