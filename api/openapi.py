"""The relay's contract as an OpenAPI 3.1 document, generated from the operations table
(pwreset.api.operations), the models the relay validates with (pwreset.api.bodies), the
reply models (pwreset.api.replies) and the error codes (pwreset.protocol.codes).

Served at /{site}/api/v1/openapi.json with the site filled in."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pwreset import __version__
from pwreset.api import replies
from pwreset.api.bodies import ENROLLMENT_PATH, UPN_PATH
from pwreset.api.operations import BASE, OPERATIONS, Operation, problem_codes
from pwreset.api.problems import PROBLEM_TYPE
from pwreset.api.relay import Relay
from pwreset.protocol.codes import ERRORS

_REF = "#/components/schemas/{model}"
PATH = f"{BASE}/openapi.json"


async def openapi(request: Request) -> Response:
    site = Relay.of(request).site(request)
    return JSONResponse(document(site), headers={"Cache-Control": "public, max-age=300"})


@functools.cache
def document(site: str | None = None) -> dict[str, Any]:
    """The document; with `site`, its path parameter `site` allows only that site."""
    schemas = _schemas()
    paths: dict[str, Any] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, site)
    paths[PATH] = {"get": _document_operation(site)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pwreset self-service password reset API",
            "version": __version__,
            "description": (
                "Every error is an RFC 9457 problem (application/problem+json) with a "
                "stable `code`; see docs/api.md."
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _schemas() -> dict[str, Any]:
    inputs: list[tuple[str, JsonSchemaMode, TypeAdapter[Any]]] = [
        (op.id, "validation", op.body) for op in OPERATIONS if op.body is not None
    ]
    models: set[type[BaseModel]] = {m for op in OPERATIONS for m in op.replies}
    models.add(replies.Problem)
    inputs += [(m.__name__, "serialization", TypeAdapter(m)) for m in sorted(models, key=str)]
    keyed, defs = TypeAdapter.json_schemas(inputs, ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    for (key, _), schema in keyed.items():
        if "$ref" not in schema:
            # A union (the step bodies) has no model of its own: name it after the operation.
            schemas[f"{key}_body"] = schema
    schemas["Problem"]["properties"]["code"]["enum"] = sorted(ERRORS)
    return schemas


def _body_ref(operation: Operation) -> dict[str, Any]:
    assert operation.body is not None
    keyed, _ = TypeAdapter.json_schemas(
        [(operation.id, "validation", operation.body)], ref_template=_REF
    )
    (schema,) = keyed.values()
    return schema if "$ref" in schema else {"$ref": _REF.format(model=f"{operation.id}_body")}


def _site_parameter(site: str | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if site is not None:
        schema["enum"] = [site]
    return {
        "name": "site",
        "in": "path",
        "required": True,
        "description": "The site (virtual directory).",
        "schema": schema,
    }


def _path_parameters(operation: Operation, site: str | None) -> list[dict[str, Any]]:
    parameters = [_site_parameter(site)] if "{site}" in operation.path else []
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
    if operation.id.startswith("enrollment"):
        model = UPN_PATH if "upn" in names else ENROLLMENT_PATH
        properties = model.json_schema()["properties"]
        for name in names:
            if name != "site":
                schema = {k: v for k, v in properties[name].items() if k != "title"}
                parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _operation(operation: Operation, site: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": operation.id, "summary": operation.summary}
    parameters = _path_parameters(operation, site)
    if parameters:
        out["parameters"] = parameters
    if operation.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _body_ref(operation)}},
        }
    success = [{"$ref": _REF.format(model=m.__name__)} for m in operation.replies]
    ok: dict[str, Any] = {
        "description": "Success.",
        "content": {
            "application/json": {"schema": success[0] if len(success) == 1 else {"oneOf": success}}
        },
    }
    if operation.links:
        ok["links"] = {
            name: {"operationId": target, "requestBody": body}
            for name, (target, body) in operation.links.items()
        }
    responses: dict[str, Any] = {"200": ok}
    if operation.id == "health":
        responses["503"] = {**ok, "description": "A backend does not answer."}
        responses["503"].pop("links", None)
    responses.update(_problems(problem_codes(operation)))
    out["responses"] = responses
    return out


def _document_operation(site: str | None) -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "summary": "This document.",
        "parameters": [_site_parameter(site)],
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 document of this site's API.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_problems(("unknown_site", "https_required")),
        },
    }


def _problems(codes: tuple[str, ...]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code].status, []).append(code)
    out: dict[str, Any] = {}
    for status in sorted(by_status):
        listed = sorted(by_status[status])
        schema = {
            "allOf": [
                {"$ref": _REF.format(model="Problem")},
                {"properties": {"status": {"const": status}, "code": {"enum": listed}}},
            ]
        }
        response: dict[str, Any] = {
            "description": "\n".join(f"- `{c}`: {ERRORS[c].detail}" for c in listed),
            "content": {PROBLEM_TYPE: {"schema": schema}},
        }
        if "rate_limited" in listed:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        out[str(status)] = response
    return out
