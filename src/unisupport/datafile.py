"""Reading the operator-editable YAML data files (catalog, products, severity
matrices, calendars, rate cards) and turning validation failures into one
:class:`~unisupport.errors.DataFileError` that names file, entry and field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from unisupport.errors import DataFileError

M = TypeVar("M", bound=BaseModel)
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]*$"  # the codes of a data file's entries (products, services, tools …)


def check_codes(codes: Iterable[str], what: str) -> None:
    """Refuse (as a validator's ValueError) an entry code that is not lower-case letters, digits and hyphens."""
    for code in codes:
        if not re.match(CODE_PATTERN, code):
            raise ValueError(f"{what} code {code!r} must be lower-case letters, digits and hyphens")


def shipped(name: str) -> Path:
    """Path of a data file shipped inside the package (``unisupport/data/NAME``)."""
    return Path(str(resources.files("unisupport") / "data" / name))


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(str(path), f"is not valid YAML{line}: {problem}") from None
    except ValueError as exc:  # an impossible date such as 2026-02-30
        raise DataFileError(str(path), f"holds an invalid value: {exc}") from None
    _refuse_duplicate_keys(str(path), text)
    return data


def _refuse_duplicate_keys(path: str, text: str) -> None:
    """PyYAML silently keeps the last of two equal keys; a file edited by hand must
    not lose an entry that way. Walks the node tree (the text is known to parse)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, where = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    message = f"is given twice (lines {seen[key]} and {line})"
                    full = where + (key,)
                    if len(full) >= 2:
                        raise DataFileError(path, message, entry=full[1], field=".".join(full[2:]) or None)
                    raise DataFileError(path, message, field=key)
                seen[key] = line
                stack.append((value_node, where + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, where) for item in node.value)


def validate(
    path: str | Path, model: type[M], data: Any, *, entry_key: Callable[[tuple], str | None] | None = None
) -> M:
    """Validate ``data`` against ``model``; on failure raise a DataFileError naming
    the first problem's entry (the first path element under the collection, or what
    ``entry_key`` derives from the error location) and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise as_data_file_error(str(path), exc, entry_key=entry_key) from None


def entry_named(entry: str) -> Callable[[tuple], str]:
    """The ``entry_key`` of a model validated on its own: every problem is in ``entry``."""
    return lambda loc: entry


def as_data_file_error(
    path: str, exc: ValidationError, *, entry_key: Callable[[tuple], str | None] | None = None
) -> DataFileError:
    first = exc.errors()[0]
    loc = tuple(first.get("loc", ()))
    message = first.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    entry = entry_key(loc) if entry_key else _default_entry(loc)
    field = field_path(loc[2:] if entry is not None and len(loc) >= 2 else loc)
    count = len(exc.errors())
    if count > 1:
        message += f" (and {count - 1} more problem{'s' if count > 2 else ''})"
    return DataFileError(path, message, entry=entry, field=field or None)


def _default_entry(loc: tuple) -> str | None:
    # Collections are mappings keyed by code (services: {code: {...}}), so the entry
    # is the second element of the location: ("services", "workshops", "family").
    if len(loc) >= 2 and isinstance(loc[0], str):
        return str(loc[1])
    return None


def field_path(loc) -> str:
    """``("lines", 2, "site")`` → ``lines[2].site``: how every error names a field."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
