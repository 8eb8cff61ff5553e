"""The API's documentation, served from here: the OpenAPI document and a page that reads it.

FastAPI's interactive pages load their scripts from a CDN, which no page of this service
may do; this page is rendered on the server from the same OpenAPI document instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chainwatch.dashboard.deps import OptionalSessionDep
from chainwatch.dashboard.templating import templates

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, grouped order: tag, then path."""
    found = []
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or ["other"])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                            "type": _type(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _ref(op.get("requestBody", {})),
                    "response": _ref(op.get("responses", {}).get("200", {})),
                }
            )
    found.sort(key=lambda o: (o["tag"], o["path"], o["method"]))
    return found


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    return str(schema.get("type") or schema.get("$ref", "").rsplit("/", 1)[-1] or "any")


def _ref(part: dict[str, Any]) -> str:
    schema = part.get("content", {}).get("application/json", {}).get("schema", {})
    return _type(schema) if schema else ""


@router.get("/api/docs", name="api_docs", response_class=HTMLResponse)
async def api_docs(request: Request, session: OptionalSessionDep) -> HTMLResponse:
    """Open to all: the document holds no data, and integrators read it before signing in."""
    openapi = request.app.openapi()
    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {"active_route": "api_docs", "info": openapi["info"], "operations": operations(openapi)},
    )
