"""The sentences the system writes once and stores — ledger entries' reasons,
incident events' reasons — said in the reader's language.

They are stored in English (the audit trail is one language, and the API returns
them as written); the pages say each known sentence with a message of the catalog
(``reason.*``), its values (a year, a date, a service, a line) read back from the
stored sentence. A sentence written by a person, or one this list does not know
yet, is shown as written, marked ``lang="en"`` on a French page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from unisupport.catalog import default_catalog
from unisupport.web.i18n import Formatter

_DATE = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class Said:
    text: str
    lang: str


@dataclass(frozen=True)
class _Sentence:
    pattern: re.Pattern[str]
    key: str


def _sentence(pattern: str, key: str) -> _Sentence:
    return _Sentence(re.compile(rf"^{pattern}$"), key)


# Every sentence the services write, as they write it (ledger/entitlement.py,
# ledger/forfeiture.py, services/bookings.py, services/orders.py,
# services/mission_critical.py, services/exchanges.py, services/incidents.py,
# services/watcher.py, incidents/routing.py, incidents/customer_clock.py).
SENTENCES = (
    # ledger
    _sentence(r"flexible allocation of contract year (?P<year>\d+)", "reason.flex_granted"),
    _sentence(r"unallocated at execution of contract year (?P<year>\d+)", "reason.flex_unallocated"),
    _sentence(r"pays for line (?P<line>\S+) \((?P<service>[a-z0-9-]+)\)", "reason.pays_for_line"),
    _sentence(r"(?P<quantity>[\d.]+) (?P<unit>\S+) bought", "reason.line_bought"),
    _sentence(r"(?P<quantity>[\d.]+) (?P<unit>\S+) paid with proactive credits", "reason.line_paid_with_credits"),
    _sentence(
        r"(?P<quantity>[\d.]+) (?P<unit>\S+) paid with the flexible allocation of year (?P<year>\d+)",
        "reason.line_paid_with_flex",
    ),
    _sentence(rf"booking (?P<booking>\d+): (?P<service>[a-z0-9-]+) on (?P<day>{_DATE})", "reason.booked"),
    _sentence(
        rf"booking (?P<booking>\d+) cancelled: Cancelled on (?P<day>{_DATE}),.* by the provider \(.*\): full refund.*",
        "reason.cancelled_by_provider",
    ),
    _sentence(
        rf"booking (?P<booking>\d+) cancelled: Cancelled on (?P<day>{_DATE}),.*: full refund, no fee.*",
        "reason.cancelled_free",
    ),
    _sentence(
        rf"booking (?P<booking>\d+) cancelled: Cancelled on (?P<day>{_DATE}),.*"
        r": a fee of (?P<percent>\d+) % of the cost applies.*",
        "reason.cancelled_with_fee",
    ),
    _sentence(
        r"cancellation fee of booking (?P<booking>\d+): (?P<percent>\d+) % \((?P<days>-?\d+) days' notice\)",
        "reason.cancellation_fee",
    ),
    _sentence(rf"unused at the end of contract year \(last day (?P<day>{_DATE})\)", "reason.unused_year"),
    _sentence(rf"unused at the end of the term \(last day (?P<day>{_DATE})\)", "reason.unused_term"),
    _sentence(rf"term ended on (?P<day>{_DATE})", "reason.term_ended"),
    _sentence(
        rf"Azure event (?P<event>\S+): (?P<solution>.+), (?P<start>{_DATE}) to (?P<end>{_DATE})", "reason.azure_event"
    ),
    _sentence(r"exchanged with the agreement of (?P<approver>[^:]+): (?P<why>.+)", "reason.exchanged"),
    _sentence(r"late confirmation accepted by the provider: reduced pre-event assessment", "reason.late_confirmation"),
    # incidents
    _sentence(r"opened_at set by an admin importing history", "reason.history_imported"),
    _sentence(r"logged after the fact", "reason.logged_late"),
    _sentence(r"the first response came after the due time", "reason.answered_late"),
    _sentence(r"no first response by the due time", "reason.breached"),
    _sentence(r"first-response target breached: escalated to the incident managers", "reason.escalated_on_breach"),
    _sentence(r"the first-response target is at risk", "reason.warned"),
    _sentence(r"no critical situation resource designated within 30 minutes", "reason.critical_resource_missed"),
    _sentence(
        r"Azure Events Sev 1: a critical situation resource is designated within 30 minutes",
        "reason.critical_resource_clock",
    ),
    _sentence(r"the customer's expected answer did not come in time", "reason.customer_response_missed"),
    _sentence(r"Severity (?P<severity>[1ABC]): enhanced escalation starts automatically", "reason.escalated"),
    _sentence(
        r"Sev B: the change-approval authority answers within 4 business hours \(R-SLA-4\)", "reason.customer_clock_b"
    ),
    _sentence(r"Sev C: an answer within 24 hours \(R-SLA-4\)", "reason.customer_clock_c"),
    _sentence(
        r"Sev (?P<severity>[1A]): rapid access and response, within (?P<minutes>\d+) minutes \(R-SLA-4\)",
        "reason.customer_clock_critical",
    ),
    _sentence(
        r"MCSAP covers this Azure component: incidents of any severity go to MCSAP support engineers",
        "reason.routed_mcsap",
    ),
    _sentence(
        r"Azure Rapid Response covers this component: the Rapid Response team keeps ownership 24x7",
        "reason.routed_rapid_response",
    ),
    _sentence(
        r"MCS Security Plus covers this product and tenant: dedicated security engineers", "reason.routed_security"
    ),
    _sentence(
        r"opened during a covered Azure event with the AEM marker: the Azure Events team", "reason.routed_azure_events"
    ),
    _sentence(r"no enhanced plan covers it: standard support", "reason.routed_standard"),
    _sentence(
        r"requested before closure; the engineer says whether the technology allows it and any extra fees",
        "reason.rca_before_closure",
    ),
    _sentence(r"MCSAP RCA: due 10 business days after the later of the request and the mitigation", "reason.rca_mcsap"),
    _sentence(
        r"MCSAP RCA after closure: due 10 business days after the later of the request and the mitigation",
        "reason.rca_mcsap_after_closure",
    ),
    _sentence(
        r"the customer asked the provider to work with (?P<vendor>.+?)"
        r"(?P<recorded> \(recorded by the provider at the customer's request\))?",
        "reason.third_party_requested",
    ),
)


def _values(fmt: Formatter, found: dict[str, str | None]) -> dict[str, object]:
    """A sentence's values as the reader reads them: dates in their format, a
    service by its name, a unit by its name."""
    catalog = default_catalog()
    out: dict[str, object] = {}
    for name, value in found.items():
        if value is None or name == "recorded":
            continue
        if name in ("day", "start", "end"):
            out[name] = fmt.date(date.fromisoformat(value), long=True)
        elif name == "service":
            out[name] = catalog.get(value).name(fmt.language) if value in catalog else value
        elif name == "quantity":
            out[name] = fmt.number(value)
        else:
            out[name] = value
    unit, quantity = found.get("unit"), found.get("quantity")
    if unit is not None and quantity is not None:
        out["unit"] = fmt.unit(unit, _quantity(quantity))
    return out


def _quantity(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(2)


def say(fmt: Formatter, sentence: str | None, *, as_written: bool = False) -> Said | None:
    """``sentence`` in the reader's language when it is one the system writes —
    words, without its codes (a line's id, a service's code) —; as written
    (English) otherwise, and for ``as_written`` readers of English (provider
    users, who know the codes). None for no sentence."""
    if not sentence:
        return None
    if as_written and fmt.language == "en":
        return Said(sentence, "en")
    for known in SENTENCES:
        match = known.pattern.match(sentence)
        if match is not None:
            values = _values(fmt, match.groupdict())
            if known.key == "reason.third_party_requested":
                values["recorded"] = fmt.t("reason.recorded_for_customer") if match.group("recorded") else ""
            return Said(fmt.t(known.key, **values), fmt.language)
    return Said(sentence, "en")
