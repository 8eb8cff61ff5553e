"""The chainwatch dashboard: the analysts' web pages and the JSON API over the audit trail.

One FastAPI app (``app.create_app``) serves server-rendered pages (Jinja2 templates, plain
CSS, a little vanilla JavaScript, no build step), a JSON API under ``/api/v1`` and a
websocket that relays every risk decision published on ``chainwatch.tx.scored`` to each
open browser. Where the parts live:

- ``settings``: ``DashboardSettings``, read once from ``CHAINWATCH_DASHBOARD_*``
- ``feed``: the fan-out of decisions to websocket clients, one bounded queue per client
- ``relay``: the NATS subscription that feeds the fan-out
- ``decisions`` and ``views``: queries on ``audit_decision`` and the shape the API returns
- ``routes/``: pages, API, websocket and health endpoints; ``nav`` lists the pages
- ``server`` and ``__main__``: uvicorn, with graceful shutdown
"""
