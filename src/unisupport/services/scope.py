"""The tenant filter every read applies: a principal sees the records of the
customers in its scope (:attr:`~unisupport.access.Principal.customer_scope`; None:
every customer). A record outside it is reported exactly like a missing one."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import QueryableAttribute

from unisupport.access import Principal

S = TypeVar("S", bound=Select)  # a select of any number of columns


def scoped(query: S, column: QueryableAttribute[Any], principal: Principal) -> S:
    """``query`` limited to the rows whose ``column`` (a customer id) is in the
    principal's scope."""
    scope = principal.customer_scope
    return query if scope is None else query.where(column.in_(scope))
