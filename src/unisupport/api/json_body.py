"""Request bodies are JSON, read once, here, for every API route.

FastAPI's own reading keeps the last of two equal keys (``{"site": "paris",
"site": "lyon"}`` books Lyon), answers a syntax error with ``[47]: JSON decode
error``, accepts ``NaN``, and, without a ``Content-Type``, says the body is "not a
valid dictionary". :class:`JsonRoute` (the route class of the API's routers) reads
the body first with :func:`parse_json`: a body that is not JSON, repeats a key or
comes without ``Content-Type: application/json`` is refused as malformed input
naming what to fix (docs/decisions.md D51); FastAPI then gets the parsed value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from unisupport.datafile import field_path
from unisupport.errors import InvalidInput

JSON_MEDIA = "application/json"


def _pairs(duplicates: dict[int, tuple[dict, str]]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def make(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.setdefault(id(obj), (obj, key))  # the object is kept: its id stays its own
            obj[key] = value
        return obj

    return make


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _where(value: Any, duplicates: dict[int, tuple[dict, str]], path: tuple = ()) -> tuple | None:
    """The path of the first key given twice (depth first, in document order)."""
    if isinstance(value, dict):
        if id(value) in duplicates:
            return (*path, duplicates[id(value)][1])
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)  # type: ignore[assignment]
    else:
        return None
    return next((found for k, v in children if (found := _where(v, duplicates, (*path, k))) is not None), None)


def parse_json(body: bytes) -> Any:
    """The value of a JSON body, or InvalidInput saying what is wrong and where."""
    duplicates: dict[int, tuple[dict, str]] = {}
    try:
        value = json.loads(body, object_pairs_hook=_pairs(duplicates), parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field="body"
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body is not UTF-8 text (byte {exc.start + 1})", field="body") from None
    except RecursionError:
        raise InvalidInput("the body is not valid JSON: it is nested too deeply", field="body") from None
    except ValueError as exc:  # NaN, Infinity
        raise InvalidInput(f"the body is not valid JSON: {exc}", field="body") from None
    if duplicates:
        path = _where(value, duplicates) or ()
        key = path[-1] if path else "?"
        raise InvalidInput(f"the key {key!r} is given twice", field=field_path(path) or "body")
    return value


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_MEDIA or (media.startswith("application/") and media.endswith("+json"))


class JsonRequest(Request):
    """A request whose JSON body is :func:`parse_json`'s."""

    async def json(self) -> Any:
        if not hasattr(self, "_parsed_json"):
            self._parsed_json = parse_json(await self.body())
        return self._parsed_json


class JsonRoute(APIRoute):
    """Routes of the API: a route that takes a body reads it as JSON first (above)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def route(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if takes_body and await request.body():
                content_type = request.headers.get("content-type")
                if not content_type or not _is_json(content_type):
                    given = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
                    raise InvalidInput(
                        f"send the body as JSON with Content-Type: {JSON_MEDIA} (this request has {given})",
                        field="Content-Type",
                    )
                await request.json()  # refused here, before FastAPI reads it
            return await handler(request)

        return route
