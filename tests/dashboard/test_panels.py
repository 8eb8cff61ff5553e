"""The Fees, Lightning and Onboarding pages, drawn from a stub of each service on loopback.

The stub serves JSON built from the services' wire models (``chainwatch.shared``) and, for
the form, the onboarding service's own ``form_fields``; it runs behind a real uvicorn, so the
dashboard reaches it over HTTP exactly as it reaches the real services.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chainwatch.dashboard.app import create_app
from chainwatch.dashboard.settings import DashboardSettings
from chainwatch.devstack.servers import LOOPBACK
from chainwatch.onboarding.form import form_fields
from chainwatch.shared.explanations import Narrative, NarrativePath
from chainwatch.shared.fee_events import FeeEstimate, TargetFee
from chainwatch.shared.lightning import (
    DegreeBin,
    LightningCharts,
    LightningConcentration,
    LightningHealthReport,
    LightningHealthScore,
    LightningNode,
    LightningReachability,
    LightningTopology,
    LightningTotals,
    LorenzPoint,
    ReachabilityPoint,
)
from chainwatch.shared.onboarding import (
    FieldError,
    OnboardingDecision,
    OnboardingError,
    Outcome,
    Reason,
)

from .conftest import Accounts, RunningApp

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DECISION_ID = str(uuid.UUID(int=7))
APPLICANT_FORM = {
    "checking_account": "below_0_dm",
    "duration_months": "24",
    "credit_history": "existing_paid_duly",
    "purpose": "car_used",
    "credit_amount_dm": "3500",
    "savings": "below_100_dm",
    "employment_since": "1_to_4_years",
    "installment_rate": "3",
    "personal_status_sex": "female_single",
    "other_debtors": "none",
    "residence_since": "2",
    "property_kind": "car_or_other",
    "age_years": "31",
    "other_installment_plans": "none",
    "housing": "rent",
    "existing_credits": "1",
    "job": "skilled_employee_or_official",
    "dependents": "0",
    "telephone_registered": "yes",
    "foreign_worker": "no",
}


def fee_panel() -> dict[str, Any]:
    latest = FeeEstimate(
        estimated_at=NOW,
        tip_height=880_000,
        method="model",
        model_version="fees-lgbm/20250301T000000Z",
        targets=[
            TargetFee(
                target_blocks=1, fee_rate_sat_vb=12.5, quantiles_sat_vb={"0.05": 8.0, "0.95": 20.0}
            ),
            TargetFee(target_blocks=6, fee_rate_sat_vb=6.0),
        ],
        economy_sat_vb=2.0,
        minimum_sat_vb=1.0,
        mempool_tx_count=41_234,
        mempool_vsize_vb=38_000_000,
    )
    blocks = [
        {
            "height": 879_990 + i,
            "block_time": NOW.isoformat(),
            "recommended_sat_vb": 10.0 + i,
            "method": "model",
            "block_p5_sat_vb": 8.0,
            "block_median_sat_vb": 15.0,
            "known_tx_share": 0.93,
            "outcome": "overpaid" if 10 + i > 15 else "in_range",
        }
        for i in range(10)
    ]
    summary = {"judged_blocks": 10, "overpaid": 0.4, "in_range": 0.6, "underpaid": 0.0}
    return {"latest": latest.model_dump(mode="json"), "blocks": blocks, "summary": summary}


def lightning_report() -> LightningHealthReport:
    node = LightningNode(
        pub_key="02" + "ab" * 32,
        alias="hub-one",
        capacity_sat=500_000_000,
        channel_count=900,
        capacity_share=0.12,
        betweenness=0.21,
        closeness=0.5,
    )
    return LightningHealthReport(
        snapshot="ln-2025-gfree",
        snapshot_digest="0" * 64,
        source_format="ln-graph-viz",
        snapshot_at=NOW,
        min_channel_capacity_sat=None,
        totals=LightningTotals(
            node_count=1200,
            active_node_count=1100,
            channel_count=5000,
            peer_link_count=4800,
            total_capacity_sat=4_000_000_000,
            mean_channel_capacity_sat=800_000,
            median_channel_capacity_sat=500_000,
            mean_channels_per_node=9.1,
        ),
        concentration=LightningConcentration(
            capacity_gini=0.91,
            capacity_top1_share=0.45,
            capacity_top10_share=0.8,
            capacity_nakamoto=9,
            degree_gini=0.8,
            degree_top1_share=0.3,
            degree_top10_share=0.7,
            betweenness_gini=0.95,
        ),
        topology=LightningTopology(
            component_count=1,
            component_sizes=[1100],
            largest_component_share=1.0,
            bridge_count=300,
            leaf_bridge_count=280,
            cut_vertex_count=40,
            top_cut_vertices=[],
            fragmentation_nakamoto=12,
            fragmentation_strategy="degree",
            attack_survival_share=0.7,
        ),
        centrality_sampled_sources=None,
        top_by_capacity=[node],
        top_by_betweenness=[node],
        reachability=LightningReachability(
            by_amount=[
                ReachabilityPoint(amount_sat=a, probability=p, ci_low=p - 0.05, ci_high=p + 0.05)
                for a, p in ((1_000, 0.9), (10_000, 0.8), (100_000, 0.45), (1_000_000, 0.15))
            ],
            pairs=1000,
            worlds=20,
            seed=0,
            median_max_flow_sat=250_000,
        ),
        health=LightningHealthScore(
            score=61.5,
            band="watch",
            parts={"reachability": 0.6, "decentralisation": 0.4},
            weights={"reachability": 0.5, "decentralisation": 0.5},
        ),
        charts=LightningCharts(
            lorenz_capacity=[
                LorenzPoint(node_share=s, capacity_share=s**4) for s in (0.5, 0.9, 1.0)
            ],
            degree_histogram=[
                DegreeBin(low=1, high=2, node_count=400),
                DegreeBin(low=2, high=4, node_count=300),
            ],
        ),
        timings_ms={"total": 1234.0},
        analysed_at=NOW,
    )


def onboarding_decision(application_id: str | None) -> OnboardingDecision:
    return OnboardingDecision(
        decision_id=DECISION_ID,
        application_id=application_id,
        decided_at=NOW,
        outcome=Outcome.REFUSE,
        risk_proba=0.41,
        threshold=0.17,
        expected_cost_accept=2.05,
        expected_cost_refuse=0.59,
        model_name="onboarding-risk",
        model_version="20250301T000000Z",
        base_log_odds=-0.9,
        output_log_odds=-0.36,
        reasons=[
            Reason(
                attribute="checking_account",
                label="checking account",
                value="below_0_dm",
                value_text="below 0 DM",
                log_odds=0.61,
                effect="raises_risk",
            ),
            Reason(
                attribute="duration_months",
                label="duration",
                value=24,
                value_text="24 months",
                log_odds=-0.07,
                effect="lowers_risk",
            ),
        ],
        narrative=Narrative(
            text="Refused: the checking account is overdrawn.",
            path=NarrativePath.TEMPLATE,
            fallback_reason="no_key",
            latency_ms=0.4,
        ),
        audit_row_hash="f" * 64,
    )


def stub_app() -> Starlette:
    """The three services' read endpoints and the onboarding score, with recorded shapes."""
    scored: list[dict[str, Any]] = []

    async def fees(request: Request) -> Response:
        return JSONResponse(fee_panel())

    async def health(request: Request) -> Response:
        return Response(lightning_report().model_dump_json(), media_type="application/json")

    async def snapshots(request: Request) -> Response:
        return JSONResponse([])

    async def attributes(request: Request) -> Response:
        return JSONResponse(form_fields())

    async def decisions(request: Request) -> Response:
        return JSONResponse(scored)

    async def decision(request: Request) -> Response:
        d = onboarding_decision("stub").model_dump(mode="json")
        row = {**d, "narrative": d["narrative"]["text"], "narrative_path": "template"}
        row |= {"narrative_meta": {"latency_ms": 0.4}, "row_hash": d["audit_row_hash"]}
        return JSONResponse(row)

    async def score(request: Request) -> Response:
        body = await request.json()
        applicant = body["applicant"]
        if applicant.get("age_years") != 31:
            error = OnboardingError(
                code="invalid_request",
                message="the applicant is not valid",
                field_errors=[FieldError(field="applicant.age_years", message="must be 18..120")],
            )
            return Response(error.model_dump_json(), 422, media_type="application/json")
        decision = onboarding_decision(body.get("application_id"))
        scored.insert(
            0,
            {
                "decision_id": decision.decision_id,
                "decided_at": NOW.isoformat(),
                "outcome": "refuse",
                "risk_proba": 0.41,
                "threshold": 0.17,
                "application_id": decision.application_id,
                "channel": "http",
                "model_version": decision.model_version,
                "narrative_path": "template",
            },
        )
        return Response(decision.model_dump_json(), media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/v1/fees/panel", fees),
            Route("/v1/lightning/health", health),
            Route("/v1/lightning/snapshots", snapshots),
            Route("/v1/onboarding/attributes", attributes),
            Route("/v1/onboarding/decisions", decisions),
            Route("/v1/onboarding/decisions/{decision_id}", decision),
            Route("/v1/onboarding/score", score, methods=["POST"]),
        ]
    )


@pytest.fixture
def upstream_url() -> Iterator[str]:
    """The stub behind uvicorn on a loopback port, in a thread of its own."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(stub_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def closed_port_url() -> str:
    """An address where nothing listens: a service that is down."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return f"http://{LOOPBACK}:{sock.getsockname()[1]}"


async def _running(settings: DashboardSettings, url: str) -> AsyncIterator[RunningApp]:
    configured = settings.model_copy(
        update={
            "fees_url": url,
            "lightning_url": url,
            "onboarding_url": url,
            "upstream_timeout_s": 2.0,
        }
    )
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            yield RunningApp(app=app, client=client)


@pytest.fixture
async def panels_app(
    dashboard_settings: DashboardSettings, upstream_url: str
) -> AsyncIterator[RunningApp]:
    async for running in _running(dashboard_settings, upstream_url):
        yield running


@pytest.fixture
async def down_app(dashboard_settings: DashboardSettings) -> AsyncIterator[RunningApp]:
    async for running in _running(dashboard_settings, closed_port_url()):
        yield running


async def test_the_fees_page_draws_recommendations_against_paid(
    panels_app: RunningApp, accounts: Accounts
) -> None:
    await panels_app.sign_in(accounts.analyst)

    page = await panels_app.client.get("/fees")

    assert page.status_code == 200
    assert 'id="fee-targets"' in page.text and "12.5" in page.text
    assert "fees-lgbm/20250301T000000Z" in page.text
    assert "<svg" in page.text and "Recommended next-block fee rate" in page.text
    assert "60%</strong> in range" in page.text
    assert 'aria-current="page"' in page.text


async def test_the_lightning_page_draws_the_report_with_charts(
    panels_app: RunningApp, accounts: Accounts
) -> None:
    await panels_app.sign_in(accounts.analyst)

    page = await panels_app.client.get("/lightning")

    assert page.status_code == 200
    assert "61.5" in page.text and "ln-2025-gfree" in page.text and "hub-one" in page.text
    assert page.text.count("<svg") >= 3
    assert "100,000 sat" in page.text and "Lorenz curve" in page.text


async def test_the_onboarding_form_posts_and_shows_the_decision(
    panels_app: RunningApp, accounts: Accounts
) -> None:
    csrf = await panels_app.sign_in(accounts.analyst)
    form_page = await panels_app.client.get("/onboarding")
    assert form_page.status_code == 200
    assert 'name="checking_account"' in form_page.text
    assert "No onboarding decision recorded yet" in form_page.text

    page = await panels_app.client.post(
        "/onboarding", data={**APPLICANT_FORM, "application_id": "app-42", "csrf_token": csrf}
    )

    assert page.status_code == 200
    assert "Refused" in page.text and "0.410" in page.text
    assert "checking account" in page.text and "below 0 DM" in page.text
    assert "Refused: the checking account is overdrawn." in page.text
    assert "template" in page.text and 'id="onboarding-recent"' in page.text
    recorded = await panels_app.client.get(f"/onboarding/decisions/{DECISION_ID}")
    assert recorded.status_code == 200 and "below 0 DM" in recorded.text


async def test_a_refused_field_is_named_on_the_form(
    panels_app: RunningApp, accounts: Accounts
) -> None:
    csrf = await panels_app.sign_in(accounts.analyst)

    page = await panels_app.client.post(
        "/onboarding", data={**APPLICANT_FORM, "age_years": "12", "csrf_token": csrf}
    )

    assert page.status_code == 422
    assert "must be 18..120" in page.text
    assert 'value="12"' in page.text


async def test_scoring_needs_the_csrf_token_and_a_session(
    panels_app: RunningApp, accounts: Accounts
) -> None:
    await panels_app.sign_in(accounts.analyst)

    refused = await panels_app.client.post("/onboarding", data=APPLICANT_FORM)
    assert refused.status_code == 403

    panels_app.sign_out()
    signed_out = await panels_app.client.post("/onboarding", data=APPLICANT_FORM)
    assert signed_out.status_code == 401
    page = await panels_app.client.get("/fees", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/fees"


@pytest.mark.parametrize("path", ["/fees", "/lightning", "/onboarding"])
async def test_a_service_that_is_down_reads_unavailable(
    down_app: RunningApp, accounts: Accounts, path: str
) -> None:
    await down_app.sign_in(accounts.analyst)

    page = await down_app.client.get(path)

    assert page.status_code == 200
    assert "service is unavailable: cannot connect" in page.text


async def test_scoring_while_the_service_is_down_says_so(
    down_app: RunningApp, accounts: Accounts
) -> None:
    csrf = await down_app.sign_in(accounts.analyst)

    page = await down_app.client.post("/onboarding", data={**APPLICANT_FORM, "csrf_token": csrf})

    assert page.status_code == 503
    assert "unavailable" in page.text


@pytest.mark.parametrize("path", ["/fees", "/lightning", "/onboarding"])
async def test_a_service_without_a_url_reads_not_configured(
    running_app: RunningApp, accounts: Accounts, path: str
) -> None:
    await running_app.sign_in(accounts.analyst)

    page = await running_app.client.get(path)

    assert page.status_code == 200
    assert "service is not configured" in page.text


def test_the_stub_decision_adds_up_as_the_service_promises() -> None:
    decision = onboarding_decision(None)

    total = decision.base_log_odds + sum(r.log_odds for r in decision.reasons)
    assert total == pytest.approx(decision.output_log_odds)
