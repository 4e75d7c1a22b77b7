"""Reading an order file: the mapping it holds, or why it cannot be read (the CLI's exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from unisupport.errors import UnisupportError


class OrderFileUnreadable(UnisupportError):
    """The order file cannot be read or parsed as YAML (the CLI's exit 2). The
    message is one line naming the file, the problem and, when known, its line."""


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
