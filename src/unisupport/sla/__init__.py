"""The SLA engine: business calendars, severity matrices and the resolver that
explains each first-response target (docs/rules.md §5)."""

from unisupport.sla.calendar import Calendar, Window

__all__ = ["Calendar", "Window"]

from unisupport.sla.first_response_due import Considered, Explanation, Holding, explain  # noqa: E402
from unisupport.sla.matrix import Coverage, SeverityMatrix, default_matrix  # noqa: E402
from unisupport.sla.severity import Severity  # noqa: E402

__all__ += [
    "Considered",
    "Coverage",
    "Explanation",
    "Holding",
    "Severity",
    "SeverityMatrix",
    "default_matrix",
    "explain",
]
