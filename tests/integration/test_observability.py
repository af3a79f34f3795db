"""Observability, end to end on the real dev server: Prometheus metrics (Temporal's and ours),
OpenTelemetry spans joined across the activity and its HTTP call, structured logs with workflow
context and no replay duplicates, and signed state-change webhooks with retries."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle

from activities.webhook import verify_signature
from contracts import (
    STATE_QUERY,
    STEPS,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Channel,
    RetryRequest,
    StepRetrySettings,
    service_task_queue,
)
from contracts.events import EVENT_ID_HEADER, SIGNATURE_HEADER, TransitionEvent
from contracts.webhook_outbox import (
    BACKLOG_QUERY,
    NotifierBacklog,
    endpoint_key,
    notifier_workflow_id,
    shard_of,
)
from devstack.demo import demo_briefs
from devstack.processes import free_port
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import campaign_payload, retry_campaign, start_campaign
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import connect
from orchestrator_worker.observability import create_runtime
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers
from tests.log_capture import worker_logging
from tests.stack import Admin

from .conftest import stack_settings
from .webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration
TIMEOUT = 60.0
FAST = StepRetrySettings(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(milliseconds=200),
    maximum_attempts=2,
)


def clean_brief(name: str = "Observed campaign") -> CampaignBrief:
    return CampaignBrief(
        name=name, objective="Grow sign-ups among hobby bakers", audience="Home bakers",
        channels=[Channel.EMAIL, Channel.SOCIAL],
    )  # fmt: skip


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, **overrides: Any
) -> AsyncIterator[CampaignWorkers]:
    async with create_http_client(settings) as http:
        worker = build_workers(
            client, settings, create_activities(settings, http),
            task_queue=f"obs-{uuid.uuid4()}", **overrides,
        )  # fmt: skip
        async with worker:
            yield worker


async def wait_for_state(handle: WorkflowHandle[Any, Any], wanted: CampaignState) -> None:
    async def poll() -> None:
        while True:
            if await handle.query(STATE_QUERY, result_type=CampaignState) is wanted:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), TIMEOUT)


async def wait_until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while True:
            if condition():
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), TIMEOUT)


async def fail_at_radar_then_retry(
    client: Client, admin: Admin, task_queue: str, **campaign: Any
) -> tuple[CampaignOutcome, CampaignPayload]:
    """RADAR_SCAN fails twice (503), the campaign parks in FAILED, the service comes back, an
    operator retries, it publishes."""
    await admin.faults(down=True, services=["radar"])
    handle = await start_campaign(
        client,
        CampaignInput(campaign_id=uuid.uuid4(), brief=clean_brief(), step_retry=FAST, **campaign),
        task_queue=task_queue,
    )
    await wait_for_state(handle, CampaignState.FAILED)
    await admin.faults()
    await retry_campaign(client, handle.id, RetryRequest(requested_by="test"))
    outcome = await asyncio.wait_for(handle.result(), TIMEOUT)
    return outcome, await campaign_payload(client, handle.id)


# ---- Prometheus ------------------------------------------------------------------------------


def metric_values(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """{labels: value} for each sample of `name` in Prometheus text."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match[1] or ""))
            found[labels] = float(match[2])
    return found


def total(samples: dict[frozenset[tuple[str, str]], float], **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for k, v in samples.items() if wanted <= k)


async def test_worker_metrics_are_scraped_from_prometheus(stack: DevStack, admin: Admin) -> None:
    settings = stack_settings(stack, metrics_port=free_port())
    runtime = create_runtime(settings)
    assert runtime is not None
    client = await connect(
        settings=settings, runtime=runtime, target_host=stack.config.temporal_address
    )
    async with running_worker(client, settings) as worker:
        outcome, _ = await fail_at_radar_then_retry(client, admin, worker.task_queue)
        assert outcome.state is CampaignState.LEARN
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
    assert response.status_code == 200
    text = response.text
    # Temporal's own metrics, from the same runtime
    assert (
        total(metric_values(text, "temporal_workflow_completed"), task_queue=worker.task_queue) == 1
    )
    assert metric_values(text, "temporal_activity_execution_latency_count")
    assert metric_values(text, "temporal_request")
    # ours: step durations by step, failures by reason, retries, outcomes
    durations = metric_values(text, "campaign_step_duration_seconds_count")
    for step in STEPS:  # each on its service's task queue
        queue = service_task_queue(worker.task_queue, step.service)
        assert total(durations, step=step.state, task_queue=queue, outcome="ok") == 1, step
    assert total(durations, step="RADAR_SCAN", outcome="error") == 2
    failures = metric_values(text, "campaign_step_failures_total")
    assert total(failures, step="RADAR_SCAN", reason="SERVICE_UNAVAILABLE") == 2
    assert total(metric_values(text, "campaign_step_retries_total"), step="RADAR_SCAN") == 1
    parked = metric_values(text, "campaign_failures_total")
    assert total(parked, step="RADAR_SCAN", reason="SERVICE_UNAVAILABLE") == 1
    assert total(metric_values(text, "campaign_operator_retries_total")) == 1
    outcomes = metric_values(text, "campaign_outcomes_total")
    assert total(outcomes, outcome="published", task_queue=worker.task_queue) == 1
    assert metric_values(text, "campaign_step_duration_seconds_bucket")


# ---- OpenTelemetry ---------------------------------------------------------------------------


async def test_http_spans_are_children_of_the_activity_span(stack: DevStack) -> None:
    otel = pytest.importorskip("opentelemetry.sdk.trace", reason="the `otel` extra is needed")
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, otel.TracerProvider):
        provider = otel.TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    settings = stack_settings(stack, tracing="console")  # our provider is kept: no console
    client = await connect(settings=settings, target_host=stack.config.temporal_address)
    async with running_worker(client, settings) as worker:
        handle = await start_campaign(
            client, CampaignInput(campaign_id=uuid.uuid4(), brief=clean_brief()),
            task_queue=worker.task_queue,
        )  # fmt: skip
        outcome = await asyncio.wait_for(handle.result(), TIMEOUT)
    assert outcome.state is CampaignState.LEARN
    spans = exporter.get_finished_spans()
    start = next(s for s in spans if s.name == "StartWorkflow:CampaignWorkflow")
    trace_id = start.context.trace_id
    activities = {s.name: s for s in spans if s.name.startswith("RunActivity:")}
    assert set(activities) >= {
        "RunActivity:radar_scan", "RunActivity:generate_strategy", "RunActivity:produce_content",
        "RunActivity:audit_quality", "RunActivity:publish_campaign",
        "RunActivity:learn_from_campaign", "RunActivity:find_publication",
    }  # fmt: skip
    http_spans = [
        s for s in spans
        if s.kind == trace.SpanKind.CLIENT and s.attributes
        and "/v1/" in str(s.attributes.get("url.full", s.attributes.get("http.url", "")))
    ]  # fmt: skip
    assert len(http_spans) == 7  # six steps, and the publication lookup (a local activity)
    activity_span_ids = {s.context.span_id: name for name, s in activities.items()}
    for span in http_spans:
        assert span.parent is not None and span.parent.span_id in activity_span_ids, span.name
        assert span.context.trace_id == trace_id  # one trace from the start to the last call
    radar_http = next(
        s
        for s in http_spans
        if "radar" in str(s.attributes.get("url.full", s.attributes.get("http.url", "")))  # type: ignore[union-attr]
    )
    assert radar_http.parent is not None
    assert activity_span_ids[radar_http.parent.span_id] == "RunActivity:radar_scan"


# ---- structured logs -------------------------------------------------------------------------


async def test_log_lines_carry_workflow_context_and_replay_logs_nothing(
    stack: DevStack, client: Client, admin: Admin
) -> None:
    settings = stack_settings(stack)
    with worker_logging() as buffer:
        # No workflow cache: every workflow task replays the history from the start, so any
        # line logged during replay would show up again.
        async with running_worker(client, settings, max_cached_workflows=0) as worker:
            outcome, payload = await fail_at_radar_then_retry(client, admin, worker.task_queue)
    assert outcome.state is CampaignState.LEARN
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    workflow_id = f"campaign-{payload.campaign_id}"
    workflow_lines = [
        line for line in lines
        if line.get("logger") == "temporalio.workflow" and line.get("workflow_id") == workflow_id
    ]  # fmt: skip
    # each execution-log entry is logged once: none again while replaying
    assert [(line["event"], line["seq"]) for line in workflow_lines] == [
        (entry.action, entry.seq) for entry in payload.execution_log
    ]
    run_ids = {line["run_id"] for line in workflow_lines}
    assert len(run_ids) == 1 and None not in run_ids
    assert all(line["attempt"] == 1 for line in workflow_lines)
    failed = next(line for line in workflow_lines if line["event"] == "campaign_failed")
    assert failed["level"] == "info" and failed["reason"] == "SERVICE_UNAVAILABLE"
    # activity lines: our own (through contextvars) and the SDK's (through its record extras)
    activity_lines = [
        line for line in lines
        if line.get("logger") in ("activities.campaign_activities", "temporalio.activity")
        and line.get("workflow_id") == workflow_id
    ]  # fmt: skip
    answered = [line for line in activity_lines if line["event"] == "service_answered"]
    assert len(answered) == 8  # 2 failed radar attempts + 6 steps
    for line in activity_lines:
        assert line["run_id"] in run_ids, line
        assert line["activity"] and isinstance(line["attempt"], int), line
    radar = [line for line in answered if line["activity"] == "radar_scan"]
    assert [(line["attempt"], line["status"]) for line in radar] == [(1, 503), (2, 503), (1, 200)]
    # no line of our loggers lacks the context
    for line in lines:
        if line.get("logger") in ("temporalio.workflow", "activities.campaign_activities"):
            assert line.get("workflow_id") and line.get("run_id"), line


# ---- webhooks --------------------------------------------------------------------------------


async def test_state_changes_reach_the_webhook_signed_in_order_with_retries(
    stack: DevStack, client: Client
) -> None:
    secret = "whsec-" + uuid.uuid4().hex
    risky = demo_briefs()[1]  # the audit closes the gate; a retry makes it publish
    with webhook_receiver(fail_first=1) as receiver:
        settings = stack_settings(stack, webhook_url=receiver.url, webhook_secret=SecretStr(secret))
        async with running_worker(client, settings) as worker:
            notified = CampaignInput(campaign_id=uuid.uuid4(), brief=risky, notify_transitions=True)
            handle = await start_campaign(client, notified, task_queue=worker.task_queue)
            await wait_for_state(handle, CampaignState.FAILED)
            await retry_campaign(client, handle.id, RetryRequest(requested_by="test"))
            outcome = await asyncio.wait_for(handle.result(), TIMEOUT)
            # the same worker, a campaign that did not ask: no event, no extra command
            quiet = await start_campaign(
                client, CampaignInput(campaign_id=uuid.uuid4(), brief=clean_brief()),
                task_queue=worker.task_queue,
            )  # fmt: skip
            await asyncio.wait_for(quiet.result(), TIMEOUT)
            # the campaign ended once it had handed its events to the outbox; the notifier
            # delivers them on its own
            key = endpoint_key(worker.task_queue, str(settings.webhook_url))
            notifier = client.get_workflow_handle(
                notifier_workflow_id(key, shard_of(notified.campaign_id))
            )
            await wait_until(lambda: len(receiver.accepted()) >= 11)
            backlog = await notifier.query(BACKLOG_QUERY, result_type=NotifierBacklog)
        deliveries = list(receiver.deliveries)
    assert outcome.state is CampaignState.LEARN
    assert backlog.queued == 0 and backlog.delivered_total == 11 and backlog.rejected_total == 0
    # the first delivery got a 503 and was retried: same event, same id
    assert deliveries[0].answered == 503 and deliveries[1].answered == 200
    assert deliveries[0].body == deliveries[1].body
    accepted = [d for d in deliveries if d.answered == 200]
    for d in deliveries:
        assert verify_signature(d.body, secret.encode(), d.headers[SIGNATURE_HEADER.lower()])
        assert not verify_signature(d.body, b"another secret", d.headers[SIGNATURE_HEADER.lower()])
    events = [TransitionEvent.model_validate_json(d.body) for d in accepted]
    assert [d.headers[EVENT_ID_HEADER.lower()] for d in accepted] == [e.event_id for e in events]
    assert {e.workflow_id for e in events} == {handle.id}
    assert [e.seq for e in events] == sorted(e.seq for e in events)  # in order
    assert len({e.event_id for e in events}) == len(events)
    assert [(e.type, e.state.value) for e in events] == [
        ("step_started", "RADAR_SCAN"),
        ("step_started", "STRATEGY_GEN"),
        ("step_started", "CONTENT_PROD"),
        ("step_started", "QUALITY_AUDIT"),
        ("campaign_failed", "FAILED"),
        ("retry_accepted", "FAILED"),
        ("step_started", "CONTENT_PROD"),
        ("step_started", "QUALITY_AUDIT"),
        ("step_started", "PUBLISH"),
        ("step_started", "LEARN"),
        ("campaign_completed", "LEARN"),
    ]
    failed = events[4]
    assert failed.failure is not None and failed.failure.reason.value == "QUALITY_GATE_FAILED"
    assert events[-1].retry_count == 1
    # the notified campaign hands events over; only the notifier calls the webhook
    scheduled_by_campaign = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled_by_campaign.count("enqueue_transition") == 11
    assert "notify_transition" not in scheduled_by_campaign
    # command sequence: the quiet campaign schedules exactly the six steps, as before webhooks
    history = await quiet.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == [
        "radar_scan", "generate_strategy", "produce_content", "audit_quality",
        "publish_campaign", "learn_from_campaign",
    ]  # fmt: skip
