"""The OpenAPI document: what every operation answers (docs/decisions.md D92).

Each operation declares its successes with a model of ``api.answers`` and the
problems it may answer (``problems.API_PROBLEMS``, given to every API router the app
includes). Two things are settled here, once the document is built: the ``Problem``
schema those responses refer to is added to the components, and where a route's
return annotation (``dict[str, Any]``) gave FastAPI a loose schema of its own, the
declared model's is the only one kept."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from unisupport.api.problems import Problem

REF = "#/components/schemas/{model}"


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # kept by FastAPI as app.openapi_schema
        settle(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its document


def settle(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template=REF, mode="serialization")
    schemas.update(problem.pop("$defs", {}), Problem=problem)
    for methods in document["paths"].values():
        for operation in methods.values():
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    for content in response.get("content", {}).values():
                        content["schema"] = declared(content.get("schema", {}))


def declared(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's schema alone, when one was declared over an inferred one."""
    if "$ref" in schema:
        return {"$ref": schema["$ref"]}
    items = schema.get("items", {})
    if schema.get("type") == "array" and "$ref" in items:
        return {"type": "array", "items": {"$ref": items["$ref"]}}
    return schema
