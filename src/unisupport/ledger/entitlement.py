"""What an executed order puts in the ledger (R-ORD-1, R-FLEX-1, R-FLEX-3, R-FLEX-6,
R-CRED-1, R-HRS-1): the accounts it opens and the postings of its activation.

* Each contract year of flexible allocation is an account ``flex:yN`` in the order's
  currency: granted, then allocated to the flex-funded lines of that year; what is
  left unallocated at execution is forfeited at once (R-FLEX-6).
* Each line is an account ``line:ID`` in its unit (credits, hours, attendees …),
  granted its quantity. Lines paid with the flexible allocation of year N expire at
  the end of that year (R-FLEX-3); every other line at the end of the term (R-ORD-3).
* A line paid with proactive credits consumes them from the credit lines, those that
  expire first first (use it or lose it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from unisupport.catalog.catalog import Catalog
from unisupport.ledger.posting import AccountSpec, EntryKind, Posting
from unisupport.orders.order_file import Funding, Line, OrderFile, contract_year_start
from unisupport.refusal import Refused

CREDITS = "credits"
HOURS = "hours"


def flex_key(year: int) -> str:
    return f"flex:y{year}"


def line_key(line_id: str) -> str:
    return f"line:{line_id}"


def fees_key(currency: str) -> str:
    return f"fees:{currency}"


def contract_year_end(order: OrderFile, year: int) -> date:
    """Last day of contract year ``year``, never after the term's end."""
    return min(contract_year_start(order.term.start, year + 1) - timedelta(days=1), order.term.end)


def line_unit(line: Line, catalog: Catalog) -> str:
    service = catalog.get(line.service)
    if line.service == "proactive-credits":
        return CREDITS
    if service.hour_based and line.unit == "hours":
        return HOURS
    return line.unit


def line_account(order: OrderFile, line: Line, catalog: Catalog) -> AccountSpec:
    service = catalog.get(line.service)
    if line.funding is Funding.FLEX:
        expires, rule = contract_year_end(order, line.contract_year), "R-FLEX-3"
    else:
        expires, rule = order.term.end, "R-ORD-3"
    return AccountSpec(
        key=line_key(line.id),
        unit=line_unit(line, catalog),
        label=f"{service.en} ({line.id})",
        service=line.service,
        line=line.id,
        site=line.site or order.host_site,
        contract_year=line.contract_year if line.funding is Funding.FLEX else None,
        expires_on=expires,
        expiry_rule=rule,
    )


@dataclass(frozen=True)
class Activation:
    accounts: list[AccountSpec]
    postings: list[Posting]


def activation(order: OrderFile, catalog: Catalog, *, on: date) -> Activation:
    """Accounts and postings of executing ``order`` (its validation already passed)."""
    accounts: list[AccountSpec] = [
        AccountSpec(
            fees_key(order.currency), order.currency, f"Cancellation fees ({order.currency})", may_go_negative=True
        )
    ]
    postings: list[Posting] = []
    tag = f"order:{order.number}"

    if order.flexible_allocation is not None:
        per_year = order.flexible_allocation.amount_per_year
        for year in range(1, order.contract_years() + 1):
            key = flex_key(year)
            accounts.append(
                AccountSpec(
                    key,
                    order.currency,
                    f"Flexible allocation, contract year {year}",
                    contract_year=year,
                    expires_on=contract_year_end(order, year),
                    expiry_rule="R-FLEX-3",
                )
            )
            postings.append(
                Posting(
                    key,
                    EntryKind.GRANT,
                    per_year,
                    f"flexible allocation of contract year {year}",
                    "R-FLEX-1",
                    on,
                    f"{tag}:grant:{key}",
                )
            )
            allocated = Decimal(0)
            for line in order.lines:
                if line.funding is Funding.FLEX and line.contract_year == year:
                    allocated += line.price
                    postings.append(
                        Posting(
                            key,
                            EntryKind.ALLOCATE,
                            -line.price,
                            f"pays for line {line.id} ({line.service})",
                            "R-FLEX-1",
                            on,
                            f"{tag}:allocate:{line.id}",
                        )
                    )
            rest = per_year - allocated
            if rest > 0:
                postings.append(
                    Posting(
                        key,
                        EntryKind.FORFEIT,
                        -rest,
                        f"unallocated at execution of contract year {year}",
                        "R-FLEX-6",
                        on,
                        f"{tag}:forfeit-unallocated:{key}",
                    )
                )

    credit_lines: list[AccountSpec] = []
    for line in order.lines:
        spec = line_account(order, line, catalog)
        accounts.append(spec)
        how = {
            Funding.PAID: "bought",
            Funding.FLEX: f"paid with the flexible allocation of year {line.contract_year}",
            Funding.CREDITS: "paid with proactive credits",
        }[line.funding]
        postings.append(
            Posting(
                spec.key,
                EntryKind.GRANT,
                line.quantity,
                f"{line.quantity.normalize():f} {spec.unit} {how}",
                "R-ORD-1",
                on,
                f"{tag}:grant:{spec.key}",
            )
        )
        if spec.unit == CREDITS:
            credit_lines.append(spec)

    # Credits-funded lines spend the credit lines that expire first.
    remaining = {spec.key: catalog_quantity(order, spec) for spec in credit_lines}
    for line in order.lines:
        if line.funding is not Funding.CREDITS:
            continue
        need = line.credits or Decimal(0)
        for spec in sorted(credit_lines, key=lambda s: (s.expires_on or date.max, s.key)):
            if need <= 0:
                break
            take = min(need, remaining[spec.key])
            if take > 0:
                remaining[spec.key] -= take
                need -= take
                postings.append(
                    Posting(
                        spec.key,
                        EntryKind.CONSUME,
                        -take,
                        f"pays for line {line.id} ({line.service})",
                        "R-CRED-1",
                        on,
                        f"{tag}:consume:{line.id}:{spec.key}",
                    )
                )
        if need > 0:
            raise Refused(
                f"line {line.id} needs {line.credits} credits but the order holds too few",
                rule="R-CRED-2",
                field=f"lines.{line.id}.credits",
            )
    return Activation(accounts, postings)


def catalog_quantity(order: OrderFile, spec: AccountSpec) -> Decimal:
    line = order.line(spec.line or "")
    return line.quantity if line else Decimal(0)
