"""Mission-critical offers: MCSAP Plus eligibility (R-MCSAP-1), the scopes ARR, MCSAP and Security
Plus cover (R-SLA-2), and Azure Events (R-EVT-2; R-ORD-1 for ids and the term)."""

from __future__ import annotations

import difflib
from collections import defaultdict

from unisupport.orders.order_file import AzureEvent
from unisupport.orders.validation.order_check import (
    ARR,
    AZURE_EVENTS,
    EVENT_MAX_DAYS,
    EVENT_NOTICE_WEEKS,
    MCSAP_CODES,
    MCSAP_PLUS,
    PUBLIC_CLOUD,
    SECURITY_PLUS,
    OrderCheck,
)
from unisupport.orders.validation.wording import money, plural


def check_mcsap_plus(check: OrderCheck) -> None:
    plus = check.lines_of(MCSAP_PLUS)
    scopes = check.get("scopes")
    if not plus or scopes is None or check.price_list is None:
        return
    threshold = check.price_list.mcsap_plus_min_evaluated_spend_usd
    spend = scopes.mcsap.evaluated_azure_spend_usd
    if scopes.mcsap.plus_floor_price_paid or (spend is not None and spend >= threshold):
        return
    given = "gives none" if spend is None else f"gives {money(spend, 'USD')}"
    check.error(
        "R-MCSAP-1",
        "scopes.mcsap.evaluated_azure_spend_usd",
        f"MCSAP Plus (line {plus[0][1].id!r}) needs an evaluated Azure spend of at least "
        f"{money(threshold, 'USD')} at execution or the Plus floor price paid; the order {given} "
        f"and plus_floor_price_paid is false",
    )


def check_scopes(check: OrderCheck) -> None:
    scopes = check.get("scopes")
    if scopes is None:
        return
    for j, code in enumerate(scopes.arr_components):
        if code not in check.products:
            check.error("R-SLA-2", f"scopes.arr_components[{j}]", check.unknown_product(code))
        elif not check.products.get(code).is_azure:
            check.error(
                "R-SLA-2",
                f"scopes.arr_components[{j}]",
                f"ARR covers Azure components only, and {code} is not one",
            )
    for j, code in enumerate(scopes.mcsap.enrolled_products):
        if code not in check.products:
            check.error("R-SLA-2", f"scopes.mcsap.enrolled_products[{j}]", check.unknown_product(code))

    if not check.complete("lines"):
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
        bought = check.lines_of(code)
        if bought and not given:
            check.error(
                "R-SLA-2",
                path,
                f"line {bought[0][1].id!r} buys {code}, so the order must name {what} in {path}",
            )
        elif given and not bought:
            check.error("R-SLA-2", path, f"{path} is given but the order has no {code} line")
    if scopes.mcsap.enrolled_products and not check.lines_of(*MCSAP_CODES):
        check.error(
            "R-SLA-2",
            "scopes.mcsap.enrolled_products",
            "scopes.mcsap.enrolled_products is given but the order has no mcsap or mcsap-plus line",
        )


def check_events(check: OrderCheck) -> None:
    check.check_unique("events", "id")
    limits = check.catalog.get(AZURE_EVENTS).limits if AZURE_EVENTS in check.catalog else None
    max_days = (limits and limits.max_consecutive_days) or EVENT_MAX_DAYS
    notice_days = 7 * ((limits and limits.min_notice_weeks) or EVENT_NOTICE_WEEKS)
    used: dict[str, int] = defaultdict(int)
    for i, event in check.items("events"):
        here = f"events[{i}]"
        check_event_line(check, here, event, used)
        days = (event.end - event.start).days + 1
        if event.end < event.start:
            check.error(
                "R-EVT-2",
                f"{here}.end",
                f"event {event.id!r} ends on {event.end}, before it starts on {event.start}",
            )
        elif days > max_days:
            check.error(
                "R-EVT-2",
                f"{here}.end",
                f"event {event.id!r} covers {days} calendar days ({event.start} to {event.end}); an event covers "
                f"at most {max_days} consecutive days, so buy consecutive events",
            )
        notice = (event.start - event.confirmed_on).days
        if notice < notice_days and not event.provider_consent:
            check.error(
                "R-EVT-2",
                f"{here}.confirmed_on",
                f"event {event.id!r} was confirmed on {event.confirmed_on}, {notice} days before its start on "
                f"{event.start}; {notice_days} days ({notice_days // 7} weeks) are needed unless the provider "
                f"consents (provider_consent)",
            )
        if event.cloud != PUBLIC_CLOUD:
            check.error(
                "R-EVT-2",
                f"{here}.cloud",
                f"event {event.id!r} runs in cloud {event.cloud!r}; Azure Events covers the Azure public cloud only",
            )
        for key, day in (("start", event.start), ("end", event.end)):
            if check.term is not None and not check.within_term(day):
                check.error(
                    "R-ORD-1",
                    f"{here}.{key}",
                    f"event {event.id!r} {key}s on {day}, outside {check.term_text()}",
                )


def check_event_line(check: OrderCheck, here: str, event: AzureEvent, used: dict[str, int]) -> None:
    """The event is paid by an Azure Events line that bought enough events."""
    line = next((line for _, line in check.lines if line.id == event.line), None)
    if line is None:
        if check.refers_to_unknown("lines", event.line):
            close = difflib.get_close_matches(event.line, [x.id for _, x in check.lines], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            check.error(
                "R-EVT-2",
                f"{here}.line",
                f"event {event.id!r} names line {event.line!r}, which is not on the order{hint}",
            )
        return
    if line.service != AZURE_EVENTS:
        check.error(
            "R-EVT-2",
            f"{here}.line",
            f"event {event.id!r} names line {line.id!r}, a {line.service} line; an event is paid by an "
            f"{AZURE_EVENTS} line",
        )
        return
    used[line.id] += 1
    if used[line.id] > line.quantity:
        check.error(
            "R-EVT-2",
            f"{here}.line",
            f"line {line.id!r} buys {plural(line.quantity, 'event')}, and event {event.id!r} is one more",
        )
