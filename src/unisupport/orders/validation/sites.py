"""Sites and their contacts (R-ORD-1, R-SEV-4, R-MC-1, R-ORD-4, R-MCSAP-5): each site's calendar,
the host site, the sites contacts serve and the host's support administrator."""

from __future__ import annotations

import re

from unisupport.errors import InvalidInput
from unisupport.orders.order_file import ContactRole, Site
from unisupport.orders.validation.order_check import MCSAP_PLUS, OrderCheck
from unisupport.sla.calendar_file import calendar_from_spec


def check_sites(check: OrderCheck) -> None:
    check.check_unique("sites", "id")
    for i, site in check.items("sites"):
        spec = {
            "country": site.country,
            "timezone": site.timezone,
            **site.calendar.model_dump(exclude_none=True),
        }
        try:
            calendar_from_spec(spec, field="calendar")
        except InvalidInput as exc:
            where, message = calendar_path(site, exc)
            check.error("R-SEV-4", f"sites[{i}].{where}", f"site {site.id!r}: {message}")
    host = check.get("host_site")
    if host is not None and check.refers_to_unknown("sites", host):
        known = ", ".join(sorted(check.parts.raw_ids["sites"])) or "none"
        check.error(
            "R-MC-1",
            "host_site",
            f"host_site {host!r} is not one of the order's sites ({known})",
        )


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


def check_contacts(check: OrderCheck) -> None:
    check.check_unique("contacts", "email", str.lower)  # e-mail addresses ignore case
    host = check.get("host_site")
    host_admin = False
    for i, contact in check.items("contacts"):
        if contact.site is not None and check.refers_to_unknown("sites", contact.site):
            check.error(
                "R-ORD-4",
                f"contacts[{i}].site",
                f"contact {contact.email} serves site {contact.site!r}, which is not one of the order's sites",
            )
        if ContactRole.SUPPORT_ADMINISTRATOR in contact.roles and contact.site in (None, host):
            host_admin = True
        if ContactRole.OUTAGE_CONTACT in contact.roles and check.complete("lines") and not check.lines_of(MCSAP_PLUS):
            check.error(
                "R-MCSAP-5",
                f"contacts[{i}].roles",
                f"contact {contact.email} is an outage-contact, but platform outage communications are an MCSAP Plus "
                "feature and the order has no mcsap-plus line",
            )
    if not host_admin and host is not None and check.complete("contacts"):
        check.error(
            "R-ORD-4",
            "contacts",
            f"the host site {host!r} has no support-administrator contact; the customer must designate one",
        )
