"""``unisupport catalog …``: read the service catalog and the product registry.
Human output is a Rich table; ``--json`` prints plain JSON for scripts. Bad
options raise InvalidInput, which the entry point turns into one line, exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from unisupport.catalog import (
    Catalog,
    Product,
    ProductRegistry,
    Service,
    default_catalog,
    default_products,
)
from unisupport.catalog.catalog import NAME_LANGUAGES
from unisupport.catalog.product import ProductFamily
from unisupport.errors import InvalidInput

app = typer.Typer(help="Browse the service catalog and the product registry.", no_args_is_help=True)

FAMILY_HELP = "Only this family (e.g. education)."
LANG_HELP = "Language of the names: en or fr."
JSON_HELP = "Print a JSON array instead of a table."


@app.command("list")
def list_services(
    family: str | None = typer.Option(None, "--family", help=FAMILY_HELP),
    lang: str = typer.Option("en", "--lang", help=LANG_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the catalog's services, in catalog order."""
    _check_lang(lang)
    services = _services(default_catalog(), family)
    if as_json:
        _print_json(_service_json(s, lang) for s in services)
        return
    table = _table("name", "family", "marker", "unit")
    for s in services:
        table.add_row(s.code, s.name(lang), s.family, s.marker, ", ".join(s.units))
    Console().print(table)


@app.command("products")
def list_products(
    family: str | None = typer.Option(None, "--family", help=FAMILY_HELP),
    lang: str = typer.Option("en", "--lang", help=LANG_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the product registry (what incidents are opened for)."""
    _check_lang(lang)
    products = _products(default_products(), family)
    if as_json:
        _print_json(_product_json(p, lang) for p in products)
        return
    table = _table("name", "family", "flags")
    for p in products:
        table.add_row(p.code, p.name(lang), p.family, ", ".join(sorted(p.flags)))
    Console().print(table)


def _table(*columns: str) -> Table:
    # Codes are what users copy into other commands: never cut them; wrap the rest.
    table = Table()
    table.add_column("code", no_wrap=True)
    for column in columns:
        table.add_column(column)
    return table


def _check_lang(lang: str) -> None:
    if lang not in NAME_LANGUAGES:
        accepted = ", ".join(NAME_LANGUAGES)
        raise InvalidInput(f"unknown language {lang!r} (accepted: {accepted})", field="--lang")


def _services(catalog: Catalog, family: str | None) -> list[Service]:
    if family is None:
        return list(catalog)
    return catalog.by_family(family, field="--family")


def _products(registry: ProductRegistry, family: str | None) -> list[Product]:
    if family is None:
        return list(registry)
    try:
        wanted = ProductFamily(family)
    except ValueError:
        accepted = ", ".join(f.value for f in ProductFamily)
        message = f"unknown product family {family!r} (accepted: {accepted})"
        raise InvalidInput(message, field="--family") from None
    return [p for p in registry if p.family == wanted]


def _service_json(service: Service, lang: str) -> dict[str, Any]:
    # Code and the name in the chosen language first, then every field (both names
    # included); absent optional fields stay absent (no countries = sold everywhere).
    data = service.model_dump(mode="json", exclude_none=True)
    return {"code": service.code, "name": service.name(lang), **data}


def _product_json(product: Product, lang: str) -> dict[str, Any]:
    data = product.model_dump(mode="json")
    data["flags"] = sorted(data["flags"])  # a set: sort for stable output
    return {"code": product.code, "name": product.name(lang), **data}


def _print_json(items: Iterable[dict[str, Any]]) -> None:
    # Plain print: Rich would wrap long lines and interpret [brackets] as markup.
    print(json.dumps(list(items), ensure_ascii=False, indent=2))
