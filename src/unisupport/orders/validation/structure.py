"""The structure of an order file (R-ORD-1): each pydantic error becomes a violation, and the parts
that parse are kept for the semantic checks, so one broken item hides only itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from unisupport.datafile import field_path
from unisupport.orders.order_file import AzureEvent, Contact, Line, OrderFile, Site
from unisupport.orders.validation.violation import Violation

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


def _field_adapter(info: FieldInfo) -> TypeAdapter[Any]:
    """Validates one top-level field of an order file on its own, as the model would."""
    annotated: Any = Annotated[info.annotation, info]  # a type built at run time: Any to mypy
    return TypeAdapter(annotated)


_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: _field_adapter(info) for name, info in OrderFile.model_fields.items() if name not in _ITEM_MODELS
}

_PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9._-]*$": "is not a code: use lower-case letters, digits, '.', '_' or '-'",
    r"^[A-Z]{3}$": "is not an upper-case ISO 4217 currency code such as EUR",
    r"^[A-Z]{2}$": "is not an upper-case ISO 3166-1 alpha-2 country code such as FR",
    r"^[a-z]{2}$": "is not a lower-case ISO 639-1 language code such as en",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "is not an e-mail address",
}


@dataclass
class Parts:
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


def parse(document: Mapping[str, Any]) -> tuple[list[Violation], Parts]:
    """The structural violations of the whole document, and its parts that parse."""
    violations: list[Violation] = []
    try:
        OrderFile.model_validate(document)
    except ValidationError as exc:
        violations = [_structural_violation(e) for e in exc.errors()]

    parts = Parts()
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
