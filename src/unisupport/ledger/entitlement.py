"""What an executed order puts in the ledger (R-ORD-1, R-FLEX-1, R-FLEX-3, R-FLEX-6,
R-CRED-1, R-HRS-1): the accounts it opens and the postings of its activation.

* Each contract year of flexible allocation is an account ``flex:yN`` in the order's
  currency: granted, then allocated to the flex-funded lines of that year; what is
  left unallocated at execution is forfeited at once (R-FLEX-6).
* Each line is an account ``line:ID`` in its unit (credits, hours, attendees …),
  granted its quantity. Lines paid with the flexible allocation of year N expire at
  the end of that year (R-FLEX-3); every other line at the end of the term (R-ORD-3).
* A line paid with proactive credits consumes them from the credit lines, those that
  expire first first (use it or lose it), and only credits usable on the day they are
  spent: what year N's allocation paid for is used within year N (R-FLEX-3), so a
  year-1 purchase never takes year 2's credits (:func:`draw_credits`, also used by
  bookings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from unisupport.catalog.catalog import Catalog
from unisupport.ledger.charge import plain
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

    # Credits-funded lines spend, on the day of execution, the credits usable then.
    remaining = {spec.key: catalog_quantity(order, spec) for spec in credit_lines}
    for line in order.lines:
        if line.funding is not Funding.CREDITS:
            continue
        pools = [spec_pool(order, spec, remaining[spec.key]) for spec in credit_lines]
        for key, take in draw_credits(
            pools, line.credits or Decimal(0), on, what=f"line {line.id} needs", field=f"lines.{line.id}.credits"
        ):
            remaining[key] -= take
            postings.append(
                Posting(
                    key,
                    EntryKind.CONSUME,
                    -take,
                    f"pays for line {line.id} ({line.service})",
                    "R-CRED-1",
                    on,
                    f"{tag}:consume:{line.id}:{key}",
                )
            )
    return Activation(accounts, postings)


def catalog_quantity(order: OrderFile, spec: AccountSpec) -> Decimal:
    line = order.line(spec.line or "")
    return line.quantity if line else Decimal(0)


# --------------------------------------------------------------------------- spending
@dataclass(frozen=True)
class Pool:
    """A balance that can pay for a service, and the days it may be used on."""

    key: str
    balance: Decimal
    contract_year: int | None  # the year whose flexible allocation paid for it; None: the whole term
    usable_from: date | None
    usable_until: date | None

    def usable_on(self, day: date) -> bool:
        return (self.usable_from is None or self.usable_from <= day) and (
            self.usable_until is None or day <= self.usable_until
        )

    def to_dict(self, day: date) -> dict[str, object]:
        return {
            "account": self.key,
            "contract_year": self.contract_year,
            "balance": str(self.balance),
            "usable_from": self.usable_from.isoformat() if self.usable_from else None,
            "usable_until": self.usable_until.isoformat() if self.usable_until else None,
            "usable_on_the_day": self.usable_on(day),
        }


def usable_from(term_start: date, contract_year: int | None) -> date | None:
    """R-FLEX-3: what contract year N's allocation paid for is used from the first
    day of year N (and until its last, the account's ``expires_on``)."""
    return None if contract_year is None else contract_year_start(term_start, contract_year)


def spec_pool(order: OrderFile, spec: AccountSpec, balance: Decimal) -> Pool:
    return Pool(
        spec.key, balance, spec.contract_year, usable_from(order.term.start, spec.contract_year), spec.expires_on
    )


def draw_credits(
    pools: Iterable[Pool], amount: Decimal, day: date, *, what: str = "the booking costs", field: str = "funding"
) -> list[tuple[str, Decimal]]:
    """Take ``amount`` credits for ``day`` from the pools usable that day, those that
    expire first first (D17), in the given order when they expire the same day.
    Refused when they hold too little: under R-FLEX-3 when other years' credits would
    have covered it, else under R-CRED-2; the details give what each contract year
    holds."""
    pools = list(pools)
    # Stable: pools ending the same day are spent in the order given (the accounts' order).
    usable = sorted((p for p in pools if p.balance > 0 and p.usable_on(day)), key=lambda p: p.usable_until or date.max)
    draws: list[tuple[str, Decimal]] = []
    need = amount
    for pool in usable:
        if need <= 0:
            break
        take = min(need, pool.balance)
        draws.append((pool.key, take))
        need -= take
    if need > 0:
        raise _too_few(pools, amount, amount - need, day, what=what, field=field)
    return draws


def _too_few(pools: list[Pool], amount: Decimal, available: Decimal, day: date, *, what: str, field: str) -> Refused:
    held = sum((p.balance for p in pools if p.balance > 0), Decimal(0))
    by_year: dict[str, Decimal] = {}  # "1", "2" … and "term" for credits usable all term
    for p in pools:
        year = "term" if p.contract_year is None else str(p.contract_year)
        by_year[year] = by_year.get(year, Decimal(0)) + max(p.balance, Decimal(0))
    holds = "; ".join(
        f"{'the whole term' if year == 'term' else 'contract year ' + year}: {plain(balance)}"
        for year, balance in by_year.items()
    )
    head = f"{what} {plain(amount)} credits but only {plain(available)} can be used on {day.isoformat()}"
    if held >= amount:
        rule = "R-FLEX-3"
        message = f"{head}: credits paid with a contract year's flexible allocation are used within that year ({holds})"
    else:
        rule = "R-CRED-2"
        message = f"{head}, and the order holds {plain(held)} in all ({holds})"
    details = {
        "cost": str(amount),
        "available": str(available),
        "held": str(held),
        "day": day.isoformat(),
        "by_contract_year": {year: str(balance) for year, balance in by_year.items()},
        "accounts": [p.to_dict(day) for p in pools],
    }
    return Refused(message, rule=rule, field=field, details=details)
