"""The browser check: a dev server WITH its Web UI, a campaign parked in FAILED, and headless
Chromium opening the workflow list filtered by CampaignState="FAILED".

Needs Debian's chromium (`apt-get install chromium`; .ci/run installs it); without it the test is
skipped with that hint. The screenshot goes to test-artifacts/web-ui-failed-campaigns.png."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio
from temporalio.client import Client

from contracts import CampaignState
from devstack.browser import INSTALL_HINT, HeadlessChromium, find_chromium
from devstack.processes import free_port
from devstack.stack import DevStack, StackConfig
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_client.campaign_schedules import (
    CampaignScheduleRequest,
    create_schedule,
    delete_schedule,
    memo_text,
    template_campaign_id,
)
from orchestrator_connection.temporal_client import connect
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers
from tests.integration.conftest import stack_settings
from tests.integration.test_campaigns_end_to_end import RESULT_TIMEOUT, campaign, wait_for_state
from tests.stack import Admin

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A second dev server, this one with the Web UI; the reference services are the shared
    stack's."""
    if find_chromium() is None:
        pytest.skip(f"the Web UI check needs chromium: {INSTALL_HINT}")
    config = StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("ui-stack")),
        temporal_port=free_port(),
        ui_port=free_port(),
        services_port=free_port(),  # unused: no services started here
    )
    server = DevStack(config)
    try:
        server.start_server()
        yield server
    finally:
        server.down()


@pytest_asyncio.fixture(loop_scope="session")
async def ui_worker(
    ui_server: DevStack, stack: DevStack
) -> AsyncIterator[tuple[Client, CampaignWorkers]]:
    client = await connect(target_host=ui_server.config.temporal_address, namespace="default")
    settings = stack_settings(stack, http_timeout_seconds=2.0)
    async with create_http_client(settings) as http:
        worker = build_workers(
            client, settings, create_activities(settings, http), task_queue=f"ui-{uuid.uuid4()}"
        )
        async with worker:
            yield client, worker


async def test_the_web_ui_lists_the_failed_campaign_by_its_search_attribute(
    ui_server: DevStack, ui_worker: tuple[Client, CampaignWorkers], admin: Admin
):
    client, worker = ui_worker
    failed = await start_campaign(
        client, campaign("Promise guaranteed results to every baker"), task_queue=worker.task_queue
    )
    published = await start_campaign(client, campaign(), task_queue=worker.task_queue)
    await wait_for_state(client, failed.id, CampaignState.FAILED)
    await asyncio.wait_for(published.result(), RESULT_TIMEOUT)

    query = quote('CampaignState="FAILED"')
    url = f"{ui_server.config.ui_url}/namespaces/default/workflows?query={query}"
    shot = ARTIFACTS / "web-ui-failed-campaigns.png"

    details_url = (
        f"{ui_server.config.ui_url}/namespaces/default/workflows/{failed.id}/"
        f"{failed.result_run_id}/user-metadata"
    )

    def browse() -> tuple[str, list[str]]:
        with HeadlessChromium(log_file=ui_server.config.run_dir / "chromium.log") as browser:
            browser.navigate(url)
            text = browser.wait_for_text(failed.id, timeout=60)
            browser.screenshot(shot)
            # The workflow's page, User Metadata tab: summary, details and current details.
            browser.navigate(details_url)
            browser.wait_for_text("Current Details", timeout=60)
            browser.wait_for_js(
                "[...document.querySelectorAll('iframe')]"
                ".some(f => decodeURIComponent(f.src).includes('How to retry'))",
                timeout=60,
            )
            browser.screenshot(ARTIFACTS / "web-ui-current-details.png")
            return text, browser.frame_texts()

    text, frames = await asyncio.to_thread(browse)
    assert failed.id in text
    assert published.id not in text  # the filter is applied: the published one is not listed
    assert "CampaignState" in text  # the filter chip the UI shows
    assert shot.stat().st_size > 10_000
    current = next(f for f in frames if "How to retry" in f)
    assert "QUALITY_GATE_FAILED" in current and f"campaign retry {failed.id[9:]}" in current
    assert any("Campaign Sourdough season" in f for f in frames)  # the static summary


async def test_the_web_ui_shows_a_campaign_schedule_with_what_it_runs(
    ui_server: DevStack, ui_worker: tuple[Client, CampaignWorkers]
):
    client, worker = ui_worker
    sid = f"ui-{uuid.uuid4().hex[:8]}"
    request = CampaignScheduleRequest(
        schedule_id=sid,
        cron="0 9 * * MON",
        time_zone="Europe/Paris",
        campaign=campaign().model_copy(update={"campaign_id": template_campaign_id(sid)}),
    )
    await create_schedule(client, request, task_queue=worker.task_queue)
    try:
        base = f"{ui_server.config.ui_url}/namespaces/default/schedules"

        def browse() -> tuple[str, str]:
            with HeadlessChromium(log_file=ui_server.config.run_dir / "chromium.log") as browser:
                browser.navigate(base)
                listed = browser.wait_for_text(sid, timeout=60)
                browser.screenshot(ARTIFACTS / "web-ui-schedules.png")
                browser.navigate(f"{base}/{sid}")
                page = browser.wait_for_text("Sourdough season", timeout=60)
                browser.screenshot(ARTIFACTS / "web-ui-schedule.png")
                return listed, page

        listed, page = await asyncio.to_thread(browse)
    finally:
        await delete_schedule(client, sid)
    assert "CampaignWorkflow" in listed and "Europe/Paris" in listed
    # The note (the page shows notes, not memos) says what runs, when, and as which ids.
    assert memo_text(request).split(";")[0].replace('"', "") in page.replace('"', "")
    assert f"campaign-{template_campaign_id(sid)}-<scheduled time>" in page
