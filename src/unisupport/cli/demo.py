"""``unisupport demo``: what the main job shows until the server exists — the
catalog at a glance and a few first-response targets, each explained."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.rule import Rule

from unisupport.catalog import default_catalog
from unisupport.cli.sla import render
from unisupport.sla import Calendar, Holding, explain

# (title, severity, product, opened (local), country, zone, plans held)
SCENARIOS: list[tuple[str, str, str, str, str, str, list[Holding | str]]] = [
    (
        "A Sev B on a French site, Friday 16:45: the target crosses the weekend",
        "B",
        "azure-virtual-machines",
        "2026-11-27T16:45",
        "FR",
        "Europe/Paris",
        ["unified-enhanced-response", "mcsap"],
    ),
    (
        "Four business hours from 13:30 end at 17:30 the same day, not 09:00 the next",
        "C",
        "exchange-online",
        "2026-11-26T13:30",
        "FR",
        "Europe/Paris",
        [],
    ),
    (
        "UER Sev 1 on an Azure product its Azure target excludes: the other-products figure",
        "1",
        "azure-media-services",
        "2026-11-28T03:10",
        "DE",
        "Europe/Berlin",
        ["unified-enhanced-response", "azure-rapid-response"],
    ),
    (
        "ARR only covers the Azure components named on the order",
        "1",
        "azure-sql-database",
        "2026-11-26T22:00",
        "US",
        "America/New_York",
        [Holding("azure-rapid-response", frozenset({"azure-kubernetes-service"}))],
    ),
    (
        "A Sev B opened the evening before a public holiday (Christmas, Germany)",
        "B",
        "windows-server",
        "2026-12-23T17:00",
        "DE",
        "Europe/Berlin",
        ["unified-enhanced-response"],
    ),
]


def demo(lang: str = typer.Option("en", "--lang", help="Catalog names in fr or en.")) -> None:
    """Print the catalog summary and a few explained first-response targets."""
    console = Console(highlight=False)
    catalog = default_catalog()
    console.print(Rule("unisupport — the SLA engine"))
    families: dict[str, int] = {}
    for service in catalog:
        families[service.family] = families.get(service.family, 0) + 1
    console.print(
        f"Catalog: {len(list(catalog))} services in {len(families)} families "
        f"({', '.join(f'{f} {n}' for f, n in families.items())}). "
        "List them with `unisupport catalog list`."
    )
    for title, severity, product, opened, country, zone, plans in SCENARIOS:
        console.print()
        console.print(Rule(title, align="left"))
        result = explain(
            severity=severity,
            product=product,
            opened=datetime.fromisoformat(opened).replace(tzinfo=ZoneInfo(zone)),
            calendar=Calendar.for_country(country, zone),
            plans=plans,
        )
        render(result, console)
    console.print()
    console.print(
        "Try your own: unisupport sla explain --severity B --product azure-storage "
        "--opened 2026-11-27T16:45:00+01:00 --country FR --timezone Europe/Paris --plans mcsap"
    )
