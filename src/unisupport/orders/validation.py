"""Validation of an order file: every violation at once (RULES.md §2–§7).

``order_file.py`` says what a type can say; this module checks what needs the
whole order, the catalog, the product registry and the price list (R-FLEX-2,
R-MC-2, R-MCSAP-1 …). A customer fixing an order wants the full list in one
pass, so nothing here stops at the first problem: the structure is checked first
(each pydantic error becomes an ``R-ORD-1`` violation), then every semantic check
runs on the parts that did parse — a broken line is skipped, the other lines are
still checked, and their paths keep the document's own indexes (``lines[3].site``).

Pure: no SQL, HTTP or command line; the CLI and the API call the same function.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from unisupport.catalog.catalog import Catalog, Service, ServiceFamily, SiteRule, default_catalog
from unisupport.catalog.price_list import PriceList, PriceLists, default_price_lists
from unisupport.catalog.product import ProductRegistry, default_products
from unisupport.datafile import field_path
from unisupport.errors import InvalidInput, UnisupportError
from unisupport.orders.order_file import (
    AzureEvent,
    Contact,
    ContactRole,
    Funding,
    Line,
    OrderFile,
    OrderStatus,
    Site,
    Term,
    contract_year_start,
)
from unisupport.sla.calendar_file import calendar_from_spec

Severity = Literal["error", "warning"]

# Catalog codes the checks below name (the catalog file is the authority on the
# rest: units, site rules, flex eligibility, the flex cap, limits).
ARR = "azure-rapid-response"
MCSAP_CODES = ("mcsap", "mcsap-plus")
MCSAP_PLUS = "mcsap-plus"
SECURITY_PLUS = "mcs-security-plus"
AZURE_EVENTS = "mcs-azure-events"
CREDITS = "proactive-credits"
# R-EVT-2 figures, used when the catalog entry does not carry them as limits.
EVENT_MAX_DAYS = 5
EVENT_NOTICE_WEEKS = 6
PUBLIC_CLOUD = "public"


@dataclass(frozen=True)
class Violation:
    """One broken rule: which (``rule``, a RULES.md id), where (``path``, in the
    document's own keys and indexes) and what, in one sentence naming the values.
    A ``warning`` is reported but does not make the order invalid (R-FLEX-6)."""

    rule: str
    path: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message} [{self.rule}]"


def is_valid(violations: Iterable[Violation]) -> bool:
    """Warnings never make an order invalid; any error does."""
    return not any(v.severity == "error" for v in violations)


class OrderFileUnreadable(UnisupportError):
    """The order file cannot be read or parsed as YAML (the CLI's exit 2). The
    message is one line naming the file, the problem and, when known, its line."""


# ------------------------------------------------------------------ reading


class _OrderLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text: pydantic then parses them, so an
    impossible date (2026-02-30) becomes an ordinary violation with its path
    instead of an exception while loading the YAML."""


_OrderLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_order_document(path: str | Path) -> dict[str, Any]:
    """The mapping an order file holds, or OrderFileUnreadable naming the problem
    and its line: unreadable file, YAML syntax error, duplicate key (PyYAML would
    silently keep the last one), empty file, top level that is not a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrderFileUnreadable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise OrderFileUnreadable(f"{path}: is not UTF-8 text (byte {exc.start})") from None
    try:
        root = yaml.compose(text, Loader=_OrderLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise OrderFileUnreadable(f"{path}: is not valid YAML{where}: {problem}") from None
    if root is None:
        raise OrderFileUnreadable(f"{path}: is empty (line 1): an order file is a mapping of keys")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        line = root.start_mark.line + 1
        raise OrderFileUnreadable(f"{path}: the top level (line {line}) is {kind}, not a mapping of order keys")
    _refuse_duplicate_keys(path, root)
    try:
        data = yaml.load(text, Loader=_OrderLoader)
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # e.g. an unhashable key
        raise OrderFileUnreadable(f"{path}: cannot be loaded: {str(exc).splitlines()[0]}") from None
    return data


def _refuse_duplicate_keys(path: Path, root: yaml.Node) -> None:
    # Walks the composed nodes, keeping the document path so the message says
    # which key (``lines[2].id``) and on which two lines.
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                full = f"{where}.{key}" if where else key
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    raise OrderFileUnreadable(f"{path}: key {full!r} is given twice (lines {seen[key]} and {line})")
                seen[key] = line
                stack.append((value_node, full))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))


# ------------------------------------------------------------------ structure

# The lists whose items are validated one by one, so that one broken item hides
# only itself from the semantic checks.
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "sites": Site,
    "lines": Line,
    "contacts": Contact,
    "events": AzureEvent,
}
_ITEM_KEYS = {"sites": "id", "lines": "id", "contacts": "email", "events": "id"}
_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(Annotated[info.annotation, info])
    for name, info in OrderFile.model_fields.items()
    if name not in _ITEM_MODELS
}

_PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9._-]*$": "is not a code: use lower-case letters, digits, '.', '_' or '-'",
    r"^[A-Z]{3}$": "is not an upper-case ISO 4217 currency code such as EUR",
    r"^[A-Z]{2}$": "is not an upper-case ISO 3166-1 alpha-2 country code such as FR",
    r"^[a-z]{2}$": "is not a lower-case ISO 639-1 language code such as en",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "is not an e-mail address",
}


@dataclass
class _Parts:
    """What parsed of the document. ``fields`` holds the top-level values that
    parsed (defaults filled in for absent optional keys); a key absent from it is
    broken or missing, and checks needing it are skipped. Lists keep each parsed
    item with its index in the document."""

    fields: dict[str, Any] = field(default_factory=dict)
    items: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)  # lists with a broken item
    unlisted: set[str] = field(default_factory=set)  # lists missing or not a list: ids unknown
    raw_ids: dict[str, set[str]] = field(default_factory=dict)  # ids of every item, broken or not


_path = field_path


def _structural_violation(error: Mapping[str, Any], prefix: tuple[Any, ...] = ()) -> Violation:
    loc = prefix + tuple(error.get("loc", ()))
    kind = error.get("type", "")
    value = error.get("input")
    shown = _shown(value)
    if kind == "missing":
        message = "This key is required and is missing."
    elif kind == "extra_forbidden":
        message = f"Unknown key {loc[-1]!r}: it is not part of the order file (see docs/order-file.md)."
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in _PATTERN_WORDS:
        message = f"{shown} {_PATTERN_WORDS[error['ctx']['pattern']]}."
    else:
        text = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        text = text.replace("Input should", "The value should", 1)
        message = f"{text} (got {shown})." if shown else f"{text}."
    return Violation("R-ORD-1", _path(loc), message)


def _shown(value: Any) -> str:
    # Containers are too long to quote; the path already says where they are.
    if isinstance(value, (dict, list, tuple)):
        return ""
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse(document: Mapping[str, Any]) -> tuple[list[Violation], _Parts]:
    """The structural violations of the whole document, and its parts that parse."""
    violations: list[Violation] = []
    try:
        OrderFile.model_validate(document)
    except ValidationError as exc:
        violations = [_structural_violation(e) for e in exc.errors()]

    parts = _Parts()
    for name, info in OrderFile.model_fields.items():
        present = name in document
        if name in _ITEM_MODELS:
            parts.items[name] = []
            parts.raw_ids[name] = set()
            raw = document.get(name)
            if not present and not info.is_required():
                continue
            if not isinstance(raw, list):
                parts.incomplete.add(name)
                parts.unlisted.add(name)
                continue
            for index, item in enumerate(raw):
                key = _ITEM_KEYS[name]
                if isinstance(item, Mapping) and isinstance(item.get(key), str):
                    parts.raw_ids[name].add(item[key])
                try:
                    parts.items[name].append((index, _ITEM_MODELS[name].model_validate(item)))
                except ValidationError:
                    parts.incomplete.add(name)
        elif present:
            try:
                parts.fields[name] = _FIELD_ADAPTERS[name].validate_python(document[name])
            except ValidationError:
                pass  # reported above as a structural violation; checks needing it are skipped
        elif not info.is_required():
            parts.fields[name] = info.get_default(call_default_factory=True)
    return violations, parts


# ------------------------------------------------------------------ formatting


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _number(value: Decimal | int) -> str:
    return format(Decimal(value).normalize(), ",f")


def _sentence(text: str) -> str:
    # Capitalise a leading plain word ("line 'x' …" -> "Line 'x' …") but never a
    # key or a code ("executed_on", "mcsap-plus"), which must stay as written.
    text = text.strip()
    if re.match(r"[a-z]+ ", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


# ------------------------------------------------------------------ the checks


class _Checks:
    """Every semantic check, each citing its rule. Each reads only the parts that
    parsed; a check that needs a missing part is skipped, because the structural
    violation already says what is wrong there."""

    def __init__(self, parts: _Parts, catalog: Catalog, products: ProductRegistry, price_lists: PriceLists):
        self.parts = parts
        self.catalog = catalog
        self.products = products
        self.price_lists = price_lists
        self.out: list[Violation] = []
        self.price_list: PriceList | None = None
        self.services: dict[int, Service] = {}  # line index -> its catalog entry
        self.term: Term | None = None  # set only when usable (it ends after it starts)
        self.years = 0

    def run(self) -> list[Violation]:
        self.check_order()
        self.check_sites()
        self.check_contacts()
        self.check_lines()
        self.check_flexible_allocation()
        self.check_credits()
        self.check_quantity_limits()
        self.check_mcsap_plus()
        self.check_scopes()
        self.check_events()
        return self.out

    # -- plumbing
    def error(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(rule, path, _sentence(message)))

    def warn(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(rule, path, _sentence(message), severity="warning"))

    def get(self, name: str) -> Any:
        return self.parts.fields.get(name)

    def known(self, name: str) -> bool:
        return name in self.parts.fields

    def items(self, name: str) -> list[tuple[int, Any]]:
        return self.parts.items[name]

    def complete(self, name: str) -> bool:
        return name not in self.parts.incomplete

    def refers_to_unknown(self, name: str, item_id: str) -> bool:
        """Whether ``item_id`` names no item of list ``name``. Broken items still
        count by their id; when the list itself is unusable nothing is unknown, as
        its structural violation already says what to fix."""
        return name not in self.parts.unlisted and item_id not in self.parts.raw_ids[name]

    def check_unique(self, name: str, key: str, normal: Any = str) -> None:
        """R-ORD-1: ids (and contact e-mails) are unique within their list."""
        seen: dict[Any, int] = {}
        for i, item in self.items(name):
            value = getattr(item, key)
            first = seen.setdefault(normal(value), i)
            if first != i:
                self.error(
                    "R-ORD-1",
                    f"{name}[{i}].{key}",
                    f"{key} {value!r} is already used by {name}[{first}]",
                )

    @property
    def lines(self) -> list[tuple[int, Line]]:
        return self.items("lines")

    def lines_of(self, *codes: str) -> list[tuple[int, Line]]:
        return [(i, line) for i, line in self.lines if line.service in codes]

    def money(self, amount: Decimal) -> str:
        # Amounts on the order are in the price list's currency (R-CAT-2).
        currency = self.price_list.currency if self.price_list else self.get("currency") or "?"
        return _money(amount, currency)

    def within_term(self, day: date) -> bool:
        return self.term is not None and self.term.start <= day <= self.term.end

    def term_text(self) -> str:
        assert self.term is not None
        return f"the term {self.term.start} to {self.term.end}"

    def year_bounds(self, year: int) -> tuple[date, date]:
        assert self.term is not None
        first = contract_year_start(self.term.start, year)
        following = contract_year_start(self.term.start, year + 1)
        return first, min(following - timedelta(days=1), self.term.end)

    # -- the order as a whole (R-ORD-1, R-CAT-2, R-FLEX-1)
    def check_order(self) -> None:
        term: Term | None = self.get("term")
        if term is not None and term.end <= term.start:
            self.error(
                "R-ORD-1",
                "term.end",
                f"the term must end after it starts: {term.start} to {term.end}",
            )
        elif term is not None:
            self.term = term
            self.years = OrderFile.model_construct(term=term).contract_years()

        if self.get("price_list") is not None:
            try:
                self.price_list = self.price_lists.get(self.get("price_list"))
            except InvalidInput as exc:
                self.error("R-CAT-2", "price_list", exc.message)
        currency = self.get("currency")
        if self.price_list and currency and currency != self.price_list.currency:
            self.error(
                "R-CAT-2",
                "currency",
                f"the order is in {currency} but price list {self.price_list.code} is in "
                f"{self.price_list.currency}; an order uses the currency of its price list",
            )

        executed_on: date | None = self.get("executed_on")
        if self.get("status") == OrderStatus.ACTIVE and self.known("executed_on") and executed_on is None:
            self.error(
                "R-ORD-1",
                "executed_on",
                "an active order must say when it was executed (executed_on)",
            )
        if executed_on is not None and self.term is not None and not self.within_term(executed_on):
            self.error("R-ORD-1", "executed_on", f"executed_on {executed_on} is outside {self.term_text()}")

        no_base = self.known("base_package") and self.get("base_package") is None
        if no_base and self.get("flexible_allocation") is not None:
            self.error(
                "R-FLEX-1",
                "flexible_allocation",
                "a flexible allocation is part of the Base Package list price, but the order has no base_package",
            )

    # -- sites (R-ORD-1, R-SEV-4, R-MC-1)
    def check_sites(self) -> None:
        self.check_unique("sites", "id")
        for i, site in self.items("sites"):
            spec = {
                "country": site.country,
                "timezone": site.timezone,
                **site.calendar.model_dump(exclude_none=True),
            }
            try:
                calendar_from_spec(spec, field="calendar")
            except InvalidInput as exc:
                where, message = self.calendar_path(site, exc)
                self.error("R-SEV-4", f"sites[{i}].{where}", f"site {site.id!r}: {message}")
        host = self.get("host_site")
        if host is not None and self.refers_to_unknown("sites", host):
            known = ", ".join(sorted(self.parts.raw_ids["sites"])) or "none"
            self.error(
                "R-MC-1",
                "host_site",
                f"host_site {host!r} is not one of the order's sites ({known})",
            )

    @staticmethod
    def calendar_path(site: Site, exc: InvalidInput) -> tuple[str, str]:
        """The calendar's error located in the order file's own keys: country and
        timezone sit on the site, the rest under ``calendar`` (open days by index)."""
        where = exc.field or "calendar"
        message = re.sub(r"^field '[^']*': ", "", exc.message)
        if where in ("calendar.country", "calendar.timezone"):
            return where.removeprefix("calendar."), message
        if where.startswith("calendar.open_days."):
            day = where.removeprefix("calendar.open_days.")
            for k, open_day in enumerate(site.calendar.open_days):
                if str(open_day.get("date")) == day:
                    return f"calendar.open_days[{k}]", message
        return where, message

    # -- contacts (R-ORD-1, R-ORD-4)
    def check_contacts(self) -> None:
        self.check_unique("contacts", "email", str.lower)  # e-mail addresses ignore case
        host = self.get("host_site")
        host_admin = False
        for i, contact in self.items("contacts"):
            if contact.site is not None and self.refers_to_unknown("sites", contact.site):
                self.error(
                    "R-ORD-4",
                    f"contacts[{i}].site",
                    f"contact {contact.email} serves site {contact.site!r}, which is not one of the order's sites",
                )
            if ContactRole.SUPPORT_ADMINISTRATOR in contact.roles and contact.site in (None, host):
                host_admin = True
            if ContactRole.OUTAGE_CONTACT in contact.roles and self.complete("lines") and not self.lines_of(MCSAP_PLUS):
                self.error(
                    "R-MCSAP-5",
                    f"contacts[{i}].roles",
                    f"contact {contact.email} is an outage-contact, but platform outage communications are an MCSAP Plus "
                    "feature and the order has no mcsap-plus line",
                )
        if not host_admin and host is not None and self.complete("contacts"):
            self.error(
                "R-ORD-4",
                "contacts",
                f"the host site {host!r} has no support-administrator contact; the customer must designate one",
            )

    # -- each line on its own
    def check_lines(self) -> None:
        self.check_unique("lines", "id")
        for i, line in self.lines:
            here = f"lines[{i}]"
            if line.site is not None and self.refers_to_unknown("sites", line.site):
                self.error(
                    "R-MC-1",
                    f"{here}.site",
                    f"line {line.id!r} names site {line.site!r}, which is not one of the order's sites",
                )
            for j, product in enumerate(line.products):
                if product not in self.products:
                    self.error("R-SLA-2", f"{here}.products[{j}]", self.unknown_product(product))
            if line.credits is not None and line.funding != Funding.CREDITS:
                self.error(
                    "R-ORD-1",
                    f"{here}.credits",
                    f"line {line.id!r} gives credits but is funded by {line.funding}, not credits",
                )
            if line.funding == Funding.CREDITS and line.credits is None:
                self.error(
                    "R-CRED-2",
                    f"{here}.credits",
                    f"line {line.id!r} is funded by credits but does not say how many (credits)",
                )
            self.check_line_dates(here, line)
            try:
                self.services[i] = self.catalog.get(line.service)
            except InvalidInput as exc:
                self.error("R-CAT-1", f"{here}.service", f"line {line.id!r}: {exc.message}")
                continue
            self.check_line_service(here, line, self.services[i])

    def check_line_dates(self, here: str, line: Line) -> None:
        """R-ORD-1 dates in order and within the term; R-FLEX-3 contract years."""
        if line.start is not None and line.end is not None and line.end < line.start:
            self.error(
                "R-ORD-1",
                f"{here}.end",
                f"line {line.id!r} ends on {line.end}, before it starts on {line.start}",
            )
        if self.term is None:
            return
        dates = [(key, day) for key, day in (("start", line.start), ("end", line.end)) if day is not None]
        for key, day in dates:
            if not self.within_term(day):
                self.error(
                    "R-ORD-1",
                    f"{here}.{key}",
                    f"line {line.id!r} {key}s on {day}, outside {self.term_text()}",
                )
        if line.contract_year > self.years:
            self.error(
                "R-FLEX-3",
                f"{here}.contract_year",
                f"line {line.id!r} is in contract year {line.contract_year}, but {self.term_text()} "
                f"has {_plural(self.years, 'contract year')}",
            )
        elif line.funding == Funding.FLEX:
            # What the allocation of a contract year pays for is used within that year.
            first, last = self.year_bounds(line.contract_year)
            for key, day in dates:
                if self.within_term(day) and not first <= day <= last:
                    self.error(
                        "R-FLEX-3",
                        f"{here}.{key}",
                        f"line {line.id!r} is paid with the flexible allocation of contract year "
                        f"{line.contract_year} ({first} to {last}) and must be used within it, but {key}s on {day}",
                    )

    def check_line_service(self, here: str, line: Line, service: Service) -> None:
        """What the catalog entry of the line's service requires (R-CAT-1, R-ORD-2,
        R-MCSAP-6, R-MC-2, R-MC-3, R-CAT-3, R-FLEX-1, R-FLEX-4)."""
        if line.unit not in service.units:
            units = " or ".join(service.units)
            self.error(
                "R-CAT-1",
                f"{here}.unit",
                f"{service.code} is sold by {units}, not by {line.unit!r}",
            )
        no_base = self.known("base_package") and self.get("base_package") is None
        if no_base and service.requires("base"):
            if service.code in MCSAP_CODES:
                self.error(
                    "R-MCSAP-6",
                    f"{here}.service",
                    f"{service.en} requires an active Enterprise Support plan (a base_package) for its whole duration",
                )
            else:
                self.error(
                    "R-ORD-2",
                    f"{here}.service",
                    f"{service.en} is an add-on: it requires a Base Package on the same order, "
                    f"but the order has no base_package",
                )
        host = self.get("host_site")
        if service.site_rule == SiteRule.HOST_SITE_ONLY and line.site not in (None, host) and host is not None:
            self.error(
                "R-MC-2",
                f"{here}.site",
                f"{service.en} is bought for the host country only (site {host!r}) and delivered from there "
                f"to every site, not for site {line.site!r}",
            )
        if service.site_rule == SiteRule.SINGLE_SITE and line.site is None:
            self.error(
                "R-MC-3",
                f"{here}.site",
                f"{service.en} is delivered to one support location that the order must name: "
                f"set site on line {line.id!r}",
            )
        site = next((s for _, s in self.items("sites") if s.id == (line.site or host)), None)
        if site is not None:
            try:
                sold = self.catalog.is_sold_in(service.code, site.country)
            except InvalidInput:
                sold = True  # an unknown country is reported on the site (R-SEV-4)
            if not sold:
                self.error(
                    "R-CAT-3",
                    f"{here}.service",
                    f"{service.en} is not sold in {site.country} (site {site.id!r}); "
                    f"it is sold in {', '.join(service.countries or ())}",
                )
        if line.funding == Funding.FLEX and service.family == ServiceFamily.SUCCESS:
            self.error(
                "R-FLEX-4",
                f"{here}.funding",
                f"the flexible allocation can never pay for {service.en}",
            )
        elif line.funding == Funding.FLEX and not service.flex_eligible:
            self.error(
                "R-FLEX-1",
                f"{here}.funding",
                f"the flexible allocation cannot pay for {service.en}; fund it as paid",
            )

    def unknown_product(self, code: str) -> str:
        try:
            self.products.get(code)
        except InvalidInput as exc:
            return exc.message
        return f"unknown product {code!r}"  # pragma: no cover - only called for unknown codes

    # -- the flexible allocation, per contract year (R-FLEX-1, R-FLEX-2, R-FLEX-6)
    def check_flexible_allocation(self) -> None:
        if not self.known("flexible_allocation"):
            return
        allocation = self.get("flexible_allocation")
        by_year: dict[int, list[tuple[int, Line]]] = defaultdict(list)
        for i, line in self.lines:
            if line.funding == Funding.FLEX:
                by_year[line.contract_year].append((i, line))
        if allocation is None:
            for i, line in (item for year in by_year.values() for item in year):
                self.error(
                    "R-FLEX-1",
                    f"lines[{i}].funding",
                    f"line {line.id!r} is funded by flex, but the order has no flexible_allocation",
                )
            return
        amount: Decimal = allocation.amount_per_year
        for year, year_lines in sorted(by_year.items()):
            self.check_flex_year(year, year_lines, amount)

        # R-FLEX-6: what is unallocated at execution is forfeited; the order stays valid.
        if self.get("status") != OrderStatus.ACTIVE or self.term is None or not self.complete("lines"):
            return
        for year in range(1, self.years + 1):
            allocated = sum((line.price for _, line in by_year.get(year, [])), Decimal(0))
            if allocated < amount:
                self.warn(
                    "R-FLEX-6",
                    "flexible_allocation.amount_per_year",
                    f"contract year {year}: only {self.money(allocated)} of the {self.money(amount)} flexible "
                    f"allocation is allocated; the unallocated {self.money(amount - allocated)} is forfeited at execution",
                )

    def check_flex_year(self, year: int, year_lines: list[tuple[int, Line]], amount: Decimal) -> None:
        """One contract year: the lines never exceed the allocation (R-FLEX-1), and
        credits plus custom proactive services never exceed the cap (R-FLEX-2).
        Each is reported once, on the line that goes over, with the year's totals."""
        capped = [(i, line) for i, line in year_lines if i in self.services and self.services[i].counts_toward_flex_cap]
        total = sum((line.price for _, line in year_lines), Decimal(0))
        over = _first_over(year_lines, amount)
        if over is not None:
            self.error(
                "R-FLEX-1",
                f"lines[{over[0]}].price",
                f"contract year {year}: lines paid with the flexible allocation total {self.money(total)}, more than "
                f"the {self.money(amount)} the order holds for the year (line {over[1].id!r} goes over)",
            )
        if self.price_list is None:
            return
        cap = self.price_list.flex_cap(amount)
        over = _first_over(capped, cap)
        if over is not None:
            pl = self.price_list
            self.error(
                "R-FLEX-2",
                f"lines[{over[0]}].price",
                f"contract year {year}: proactive credits and custom proactive services paid with the flexible "
                f"allocation total {self.money(sum((line.price for _, line in capped), Decimal(0)))}, above the cap "
                f"of {self.money(cap)} (the {pl.flex_cap_rule} of {_number(pl.flex_cap_percent)} % of "
                f"{self.money(amount)} and {self.money(pl.flex_cap_amount)}, price list {pl.code})",
            )

    # -- credits: never spend more than the order holds (R-CRED-2)
    def check_credits(self) -> None:
        held = sum((line.quantity for _, line in self.lines_of(CREDITS)), Decimal(0))
        spending = [(i, line) for i, line in self.lines if line.funding == Funding.CREDITS and line.credits is not None]
        over = _first_over(spending, held, amount=lambda line: line.credits)
        if over is not None:
            spent = sum((line.credits for _, line in spending if line.credits is not None), Decimal(0))
            self.error(
                "R-CRED-2",
                f"lines[{over[0]}].credits",
                f"lines funded by credits spend {_number(spent)} credits, more than the {_number(held)} the order "
                f"holds (its {CREDITS} lines); line {over[1].id!r} goes over",
            )

    # -- fixed quantity limits (R-DEV-1)
    def check_quantity_limits(self) -> None:
        for code in dict.fromkeys(service.code for service in self.services.values()):
            service = self.catalog.get(code)
            if service.limits.max_quantity is None:
                continue
            if service.limits.max_quantity != "price-list":
                limit, source = service.limits.max_quantity, "the catalog"
            elif self.price_list is not None:
                limit, source = (
                    self.price_list.developer_support_max_quantity,
                    f"price list {self.price_list.code}",
                )
            else:
                continue
            bought = self.lines_of(code)
            over = _first_over(bought, Decimal(limit), amount=lambda line: line.quantity)
            if over is not None:
                total = sum((line.quantity for _, line in bought), Decimal(0))
                self.error(
                    "R-DEV-1",
                    f"lines[{over[0]}].quantity",
                    f"{service.en} is bought within a limit of {limit} ({source}), but the order buys {_number(total)}",
                )

    # -- MCSAP Plus eligibility (R-MCSAP-1)
    def check_mcsap_plus(self) -> None:
        plus = self.lines_of(MCSAP_PLUS)
        scopes = self.get("scopes")
        if not plus or scopes is None or self.price_list is None:
            return
        threshold = self.price_list.mcsap_plus_min_evaluated_spend_usd
        spend = scopes.mcsap.evaluated_azure_spend_usd
        if scopes.mcsap.plus_floor_price_paid or (spend is not None and spend >= threshold):
            return
        given = "gives none" if spend is None else f"gives {_money(spend, 'USD')}"
        self.error(
            "R-MCSAP-1",
            "scopes.mcsap.evaluated_azure_spend_usd",
            f"MCSAP Plus (line {plus[0][1].id!r}) needs an evaluated Azure spend of at least "
            f"{_money(threshold, 'USD')} at execution or the Plus floor price paid; the order {given} "
            f"and plus_floor_price_paid is false",
        )

    # -- scopes named on the order (R-SLA-2)
    def check_scopes(self) -> None:
        scopes = self.get("scopes")
        if scopes is None:
            return
        for j, code in enumerate(scopes.arr_components):
            if code not in self.products:
                self.error("R-SLA-2", f"scopes.arr_components[{j}]", self.unknown_product(code))
            elif not self.products.get(code).is_azure:
                self.error(
                    "R-SLA-2",
                    f"scopes.arr_components[{j}]",
                    f"ARR covers Azure components only, and {code} is not one",
                )
        for j, code in enumerate(scopes.mcsap.enrolled_products):
            if code not in self.products:
                self.error("R-SLA-2", f"scopes.mcsap.enrolled_products[{j}]", self.unknown_product(code))

        if not self.complete("lines"):
            return  # a broken line may be the one that needs, or justifies, a scope
        needed = (
            (
                ARR,
                "scopes.arr_components",
                scopes.arr_components,
                "the Azure components ARR covers",
            ),
            (
                SECURITY_PLUS,
                "scopes.security_plus_tenants",
                scopes.security_plus_tenants,
                "the tenants Security Plus covers",
            ),
        )
        for code, path, given, what in needed:
            bought = self.lines_of(code)
            if bought and not given:
                self.error(
                    "R-SLA-2",
                    path,
                    f"line {bought[0][1].id!r} buys {code}, so the order must name {what} in {path}",
                )
            elif given and not bought:
                self.error("R-SLA-2", path, f"{path} is given but the order has no {code} line")
        if scopes.mcsap.enrolled_products and not self.lines_of(*MCSAP_CODES):
            self.error(
                "R-SLA-2",
                "scopes.mcsap.enrolled_products",
                "scopes.mcsap.enrolled_products is given but the order has no mcsap or mcsap-plus line",
            )

    # -- Azure Events (R-EVT-2; R-ORD-1 for ids and the term)
    def check_events(self) -> None:
        self.check_unique("events", "id")
        limits = self.catalog.get(AZURE_EVENTS).limits if AZURE_EVENTS in self.catalog else None
        max_days = (limits and limits.max_consecutive_days) or EVENT_MAX_DAYS
        notice_days = 7 * ((limits and limits.min_notice_weeks) or EVENT_NOTICE_WEEKS)
        used: dict[str, int] = defaultdict(int)
        for i, event in self.items("events"):
            here = f"events[{i}]"
            self.check_event_line(here, event, used)
            days = (event.end - event.start).days + 1
            if event.end < event.start:
                self.error(
                    "R-EVT-2",
                    f"{here}.end",
                    f"event {event.id!r} ends on {event.end}, before it starts on {event.start}",
                )
            elif days > max_days:
                self.error(
                    "R-EVT-2",
                    f"{here}.end",
                    f"event {event.id!r} covers {days} calendar days ({event.start} to {event.end}); an event covers "
                    f"at most {max_days} consecutive days, so buy consecutive events",
                )
            notice = (event.start - event.confirmed_on).days
            if notice < notice_days and not event.provider_consent:
                self.error(
                    "R-EVT-2",
                    f"{here}.confirmed_on",
                    f"event {event.id!r} was confirmed on {event.confirmed_on}, {notice} days before its start on "
                    f"{event.start}; {notice_days} days ({notice_days // 7} weeks) are needed unless the provider "
                    f"consents (provider_consent)",
                )
            if event.cloud != PUBLIC_CLOUD:
                self.error(
                    "R-EVT-2",
                    f"{here}.cloud",
                    f"event {event.id!r} runs in cloud {event.cloud!r}; Azure Events covers the Azure public cloud only",
                )
            for key, day in (("start", event.start), ("end", event.end)):
                if self.term is not None and not self.within_term(day):
                    self.error(
                        "R-ORD-1",
                        f"{here}.{key}",
                        f"event {event.id!r} {key}s on {day}, outside {self.term_text()}",
                    )

    def check_event_line(self, here: str, event: AzureEvent, used: dict[str, int]) -> None:
        """The event is paid by an Azure Events line that bought enough events."""
        line = next((line for _, line in self.lines if line.id == event.line), None)
        if line is None:
            if self.refers_to_unknown("lines", event.line):
                close = difflib.get_close_matches(event.line, [x.id for _, x in self.lines], n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.error(
                    "R-EVT-2",
                    f"{here}.line",
                    f"event {event.id!r} names line {event.line!r}, which is not on the order{hint}",
                )
            return
        if line.service != AZURE_EVENTS:
            self.error(
                "R-EVT-2",
                f"{here}.line",
                f"event {event.id!r} names line {line.id!r}, a {line.service} line; an event is paid by an "
                f"{AZURE_EVENTS} line",
            )
            return
        used[line.id] += 1
        if used[line.id] > line.quantity:
            self.error(
                "R-EVT-2",
                f"{here}.line",
                f"line {line.id!r} buys {_plural(line.quantity, 'event')}, and event {event.id!r} is one more",
            )


def _first_over(
    items: list[tuple[int, Line]], limit: Decimal, *, amount: Any = lambda line: line.price
) -> tuple[int, Line] | None:
    """The first (index, line) at which the running total of ``amount`` exceeds
    ``limit``: the line a customer would drop or reduce."""
    running = Decimal(0)
    for i, line in items:
        running += amount(line) or 0
        if running > limit:
            return i, line
    return None


def _plural(count: Decimal | int, noun: str) -> str:
    return f"{_number(count)} {noun}{'' if count == 1 else 's'}"


def validate_order(
    document: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    products: ProductRegistry | None = None,
    price_lists: PriceLists | None = None,
) -> list[Violation]:
    """Every violation of ``document`` (an order file as read from YAML or JSON):
    structural ones first (``R-ORD-1``, from the schema), then the rules that
    need the catalog, the products and the price list, in document order within
    each check. An empty list, or warnings only, means the order is valid."""
    if not isinstance(document, Mapping):
        return [Violation("R-ORD-1", "", f"An order file is a mapping of keys, not {type(document).__name__}.")]
    structural, parts = _parse(document)
    checks = _Checks(
        parts,
        catalog or default_catalog(),
        products or default_products(),
        price_lists or default_price_lists(),
    )
    return structural + checks.run()
