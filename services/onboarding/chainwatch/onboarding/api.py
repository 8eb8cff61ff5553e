"""The service's HTTP API (Starlette, on the health port).

* ``POST /v1/onboarding/score``: an ``OnboardingRequest`` as JSON → 200 with the
  ``OnboardingDecision``; 422 with an ``OnboardingError`` naming every bad field; 413 when
  the body is over ``max_request_bytes``; 415 unless the body is JSON; 503 while no model is
  loaded or the audit trail cannot be written (with ``Retry-After``).
* ``GET /v1/onboarding/decisions?limit=50``: the latest decisions, newest first;
  ``GET /v1/onboarding/decisions/{decision_id}``: one, every recorded column (404 if none).
* ``GET /v1/onboarding/model``: the serving model's card, with its cross-validated figures,
  the baseline's and the fairness report (404 while none is loaded).
* ``GET /v1/onboarding/attributes``: every attribute as a form field (values, bounds).
* ``GET /v1/onboarding/form`` and ``POST`` (form-encoded): the applicant form and the
  decision view, plain HTML.
* ``GET /healthz``, ``/readyz`` (NATS, database, model loaded), ``/metrics``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qsl

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chainwatch.onboarding import audit, metrics
from chainwatch.onboarding.form import form_fields, render_decision, render_form, request_from_form
from chainwatch.onboarding.service import OnboardingService
from chainwatch.shared.onboarding import OnboardingError, OnboardingReply

ReadinessCheck = Callable[[], Awaitable[bool]]

RETRY_AFTER_S = 5
MAX_LIST = 500
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, code: str, message: str) -> Response:
    reply = OnboardingReply(error=OnboardingError(code=code, message=message))
    return _reply(status, reply)


def _reply(status: int, reply: OnboardingReply) -> Response:
    """The decision itself on success, else the error; JSON either way."""
    body = reply.decision if reply.decision is not None else reply.error
    assert body is not None
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return Response(
        body.model_dump_json(), status_code=status, media_type="application/json", headers=headers
    )


def create_app(
    service: OnboardingService,
    pool: asyncpg.Pool,
    checks: dict[str, ReadinessCheck],
    max_request_bytes: int,
) -> Starlette:
    """The ASGI app; ``checks`` decide readiness besides having a model loaded."""

    async def read_body(request: Request) -> bytes | Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_request_bytes:
            return _error(413, "invalid_request", f"body over {max_request_bytes} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_request_bytes:
                return _error(413, "invalid_request", f"body over {max_request_bytes} bytes")
        return body

    async def score(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            metrics.REQUESTS.labels("http", "invalid").inc()
            return _error(415, "invalid_request", "send the applicant as application/json")
        body = await read_body(request)
        if isinstance(body, Response):
            metrics.REQUESTS.labels("http", "invalid").inc()
            return body
        status, reply = await service.handle(body, "http")
        return _reply(status, reply)

    async def form_page(request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(render_form(), headers=PAGE_HEADERS)
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        values = dict(parse_qsl(body.decode("utf-8", errors="replace")))
        status, reply = await service.handle(json.dumps(request_from_form(values)).encode(), "http")
        if reply.decision is not None:
            return HTMLResponse(render_decision(reply.decision), headers=PAGE_HEADERS)
        assert reply.error is not None
        page = render_form(values, reply.error.field_errors)
        if not reply.error.field_errors:
            page = page.replace(
                "</h1>", f"</h1><p class=errors>{escape(reply.error.message)}</p>", 1
            )
        return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)

    async def decisions(request: Request) -> Response:
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
            return _error(422, "invalid_request", f"limit must be an integer 1..{MAX_LIST}")
        return JSONResponse(await audit.recent(pool, int(raw)))

    async def decision(request: Request) -> Response:
        decision_id = request.path_params["decision_id"]
        try:
            uuid.UUID(decision_id)
        except ValueError:
            return _error(422, "invalid_request", "decision_id must be a UUID")
        found = await audit.one(pool, decision_id)
        if found is None:
            return JSONResponse({"detail": f"no decision {decision_id}"}, status_code=404)
        return JSONResponse(found)

    async def model_card(request: Request) -> Response:
        model = service.model
        if model is None:
            return JSONResponse({"detail": "no model loaded"}, status_code=404)
        return JSONResponse(dict(model.card))

    async def attributes(request: Request) -> Response:
        return JSONResponse(form_fields())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        results = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await check())
            except Exception:  # a failing check means not ready; the body says which
                results[name] = False
        results["model"] = service.model is not None
        return JSONResponse({"checks": results}, status_code=200 if all(results.values()) else 503)

    async def prometheus(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/v1/onboarding/score", score, methods=["POST"]),
            Route("/v1/onboarding/form", form_page, methods=["GET", "POST"]),
            Route("/v1/onboarding/decisions", decisions),
            Route("/v1/onboarding/decisions/{decision_id}", decision),
            Route("/v1/onboarding/model", model_card),
            Route("/v1/onboarding/attributes", attributes),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
        ]
    )
