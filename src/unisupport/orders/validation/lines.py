"""Each line on its own (R-ORD-1, R-ORD-2, R-CAT-1, R-CAT-3, R-CRED-2, R-SLA-2, R-MC-1..3, R-MCSAP-6,
R-FLEX-1, R-FLEX-3, R-FLEX-4): its site, products, funding, dates and what its catalog entry requires."""

from __future__ import annotations

from unisupport.catalog.catalog import Service, ServiceFamily, SiteRule
from unisupport.errors import InvalidInput
from unisupport.orders.order_file import Funding, Line
from unisupport.orders.validation.order_check import MCSAP_CODES, OrderCheck
from unisupport.orders.validation.wording import plural


def check_lines(check: OrderCheck) -> None:
    check.check_unique("lines", "id")
    for i, line in check.lines:
        here = f"lines[{i}]"
        if line.site is not None and check.refers_to_unknown("sites", line.site):
            check.error(
                "R-MC-1",
                f"{here}.site",
                f"line {line.id!r} names site {line.site!r}, which is not one of the order's sites",
            )
        for j, product in enumerate(line.products):
            if product not in check.products:
                check.error("R-SLA-2", f"{here}.products[{j}]", check.unknown_product(product))
        if line.credits is not None and line.funding != Funding.CREDITS:
            check.error(
                "R-ORD-1",
                f"{here}.credits",
                f"line {line.id!r} gives credits but is funded by {line.funding}, not credits",
            )
        if line.funding == Funding.CREDITS and line.credits is None:
            check.error(
                "R-CRED-2",
                f"{here}.credits",
                f"line {line.id!r} is funded by credits but does not say how many (credits)",
            )
        check_line_dates(check, here, line)
        try:
            check.services[i] = check.catalog.get(line.service)
        except InvalidInput as exc:
            check.error("R-CAT-1", f"{here}.service", f"line {line.id!r}: {exc.message}")
            continue
        check_line_service(check, here, line, check.services[i])


def check_line_dates(check: OrderCheck, here: str, line: Line) -> None:
    """R-ORD-1 dates in order and within the term; R-FLEX-3 contract years."""
    if line.start is not None and line.end is not None and line.end < line.start:
        check.error(
            "R-ORD-1",
            f"{here}.end",
            f"line {line.id!r} ends on {line.end}, before it starts on {line.start}",
        )
    if check.term is None:
        return
    dates = [(key, day) for key, day in (("start", line.start), ("end", line.end)) if day is not None]
    for key, day in dates:
        if not check.within_term(day):
            check.error(
                "R-ORD-1",
                f"{here}.{key}",
                f"line {line.id!r} {key}s on {day}, outside {check.term_text()}",
            )
    if line.contract_year > check.years:
        check.error(
            "R-FLEX-3",
            f"{here}.contract_year",
            f"line {line.id!r} is in contract year {line.contract_year}, but {check.term_text()} "
            f"has {plural(check.years, 'contract year')}",
        )
    elif line.funding == Funding.FLEX:
        # What the allocation of a contract year pays for is used within that year.
        first, last = check.year_bounds(line.contract_year)
        for key, day in dates:
            if check.within_term(day) and not first <= day <= last:
                check.error(
                    "R-FLEX-3",
                    f"{here}.{key}",
                    f"line {line.id!r} is paid with the flexible allocation of contract year "
                    f"{line.contract_year} ({first} to {last}) and must be used within it, but {key}s on {day}",
                )


def check_line_service(check: OrderCheck, here: str, line: Line, service: Service) -> None:
    """What the catalog entry of the line's service requires (R-CAT-1, R-ORD-2,
    R-MCSAP-6, R-MC-2, R-MC-3, R-CAT-3, R-FLEX-1, R-FLEX-4)."""
    if line.unit not in service.units:
        units = " or ".join(service.units)
        check.error(
            "R-CAT-1",
            f"{here}.unit",
            f"{service.code} is sold by {units}, not by {line.unit!r}",
        )
    no_base = check.known("base_package") and check.get("base_package") is None
    if no_base and service.requires("base"):
        if service.code in MCSAP_CODES:
            check.error(
                "R-MCSAP-6",
                f"{here}.service",
                f"{service.en} requires an active Enterprise Support plan (a base_package) for its whole duration",
            )
        else:
            check.error(
                "R-ORD-2",
                f"{here}.service",
                f"{service.en} is an add-on: it requires a Base Package on the same order, "
                f"but the order has no base_package",
            )
    host = check.get("host_site")
    if service.site_rule == SiteRule.HOST_SITE_ONLY and line.site not in (None, host) and host is not None:
        check.error(
            "R-MC-2",
            f"{here}.site",
            f"{service.en} is bought for the host country only (site {host!r}) and delivered from there "
            f"to every site, not for site {line.site!r}",
        )
    if service.site_rule == SiteRule.SINGLE_SITE and line.site is None:
        check.error(
            "R-MC-3",
            f"{here}.site",
            f"{service.en} is delivered to one support location that the order must name: set site on line {line.id!r}",
        )
    site = next((s for _, s in check.items("sites") if s.id == (line.site or host)), None)
    if site is not None:
        try:
            sold = check.catalog.is_sold_in(service.code, site.country)
        except InvalidInput:
            sold = True  # an unknown country is reported on the site (R-SEV-4)
        if not sold:
            check.error(
                "R-CAT-3",
                f"{here}.service",
                f"{service.en} is not sold in {site.country} (site {site.id!r}); "
                f"it is sold in {', '.join(service.countries or ())}",
            )
    if line.funding == Funding.FLEX and service.family == ServiceFamily.SUCCESS:
        check.error(
            "R-FLEX-4",
            f"{here}.funding",
            f"the flexible allocation can never pay for {service.en}",
        )
    elif line.funding == Funding.FLEX and not service.flex_eligible:
        check.error(
            "R-FLEX-1",
            f"{here}.funding",
            f"the flexible allocation cannot pay for {service.en}; fund it as paid",
        )
