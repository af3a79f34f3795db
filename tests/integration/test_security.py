"""Security, end to end: TLS with an API key and mTLS through a TLS-terminating proxy (nginx, as
the dev server has no TLS), encrypted payloads in history and the codec server that decodes them,
bearer tokens to the services, and no secret in any log line, error or history.

The secure run is real processes configured only by environment, as in production: the worker
(`python -m worker`) and the starter CLI (`python -m starter start --wait`) reach Temporal through
the proxy with TEMPORAL_API_KEY and TEMPORAL_TLS_SERVER_CA_CERT_PATH; the reference services
require a bearer token; payloads are encrypted; state changes go to a signed webhook.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities import ServiceClient
from contracts import (
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignState,
    Channel,
    RadarScanRequest,
    ServiceName,
    StepCall,
    TrendReport,
    workflow_id_for,
)
from devstack.processes import ManagedProcess, free_port, port_open
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_connection.encryption import ENCODING, KEY_ID_METADATA, EncryptionCodec, new_key
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import TemporalUnavailableError, connect
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import build_workers

from .conftest import stack_settings
from .tls_proxy import NGINX_MISSING, TlsProxy, find_nginx, make_pki
from .webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.integration

API_KEY = "tmprl-api-key-" + uuid.uuid4().hex
SERVICE_TOKEN = "svc-token-" + uuid.uuid4().hex
WEBHOOK_SECRET = "whsec-" + uuid.uuid4().hex
OLD_KEY, NEW_KEY = new_key(), new_key()
KEYS = f"k2:{NEW_KEY},k1:{OLD_KEY}"
CAMPAIGN_NAME = "Confidential launch " + uuid.uuid4().hex[:8]
SECRETS = {
    "API key": API_KEY,
    "service token": SERVICE_TOKEN,
    "webhook secret": WEBHOOK_SECRET,
    "encryption key (new)": NEW_KEY,
    "encryption key (old)": OLD_KEY,
}
TIMEOUT = 120.0


def _health(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


# ---- fixtures: the proxy, token-protected services, the secure run ---------------------------


@pytest.fixture(scope="module")
def proxy(stack: DevStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsProxy]:
    nginx = find_nginx()
    if nginx is None:
        pytest.skip(NGINX_MISSING)
    directory = tmp_path_factory.mktemp("tls")
    tls = TlsProxy(
        nginx=nginx,
        directory=directory / "nginx",
        pki=make_pki(directory / "pki"),
        upstream_port=stack.config.temporal_port,
        api_key_port=free_port(),
        mtls_port=free_port(),
        api_key=API_KEY,
    )
    tls.directory.mkdir()
    tls.write_conf()
    problem = tls.check()
    if problem is not None:
        pytest.skip(f"nginx cannot run the TLS proxy (needs ssl, http2 and grpc): {problem}")
    tls.start()
    try:
        yield tls
    finally:
        tls.stop()


@pytest.fixture(scope="module")
def protected_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """A second reference-services process that requires SERVICE_TOKEN."""
    port = free_port()
    process = ManagedProcess("protected-services", tmp_path_factory.mktemp("protected"))
    process.start(
        [sys.executable, "-m", "reference_services", "--port", str(port), "--log-format", "json"],
        env={"REFSVC_REQUIRE_TOKEN": SERVICE_TOKEN},
    )
    process.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        process.wait_until(lambda: _health(process.url), 30, "health check")  # type: ignore[attr-defined]
        yield process
    finally:
        process.stop()


def services_url(process: ManagedProcess) -> str:
    url: str = process.url  # type: ignore[attr-defined]
    return url


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str


@dataclass
class SecureRun:
    proxy: TlsProxy
    worker: ManagedProcess
    codec: ManagedProcess
    codec_url: str
    services: ManagedProcess
    receiver: Receiver
    published: CliRun
    failed: CliRun
    published_id: str
    failed_id: str
    histories: dict[str, History]


def _secure_env(proxy: TlsProxy, services: ManagedProcess, receiver_url: str) -> dict[str, str]:
    env = {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{proxy.api_key_port}",
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_API_KEY": API_KEY,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(proxy.pki.ca),
        "CAMPAIGN_TASK_QUEUE": f"secure-{uuid.uuid4()}",
        "CAMPAIGN_ENCRYPTION_KEYS": KEYS,
        "CAMPAIGN_WEBHOOK_URL": receiver_url,
        "CAMPAIGN_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CAMPAIGN_LOG_FORMAT": "json",
        "CAMPAIGN_LOG_LEVEL": "DEBUG",
    }
    for service in ServiceName:
        env[f"CAMPAIGN_{service.value.upper()}_URL"] = services_url(services)
        env[f"CAMPAIGN_{service.value.upper()}_TOKEN"] = SERVICE_TOKEN
    return env


def _cli(args: list[str], env: dict[str, str]) -> CliRun:
    done = subprocess.run(
        [sys.executable, "-m", "starter", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secure_run(
    proxy: TlsProxy,
    protected_services: ManagedProcess,
    client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[SecureRun]:
    run_dir = tmp_path_factory.mktemp("secure-run")
    worker = ManagedProcess("worker", run_dir)
    codec = ManagedProcess("codec-server", run_dir)
    codec_port = free_port()
    with webhook_receiver() as receiver:
        env = _secure_env(proxy, protected_services, receiver.url)
        try:
            worker.start([sys.executable, "-m", "worker"], env=env)
            worker.wait_until(
                lambda: b"worker_started" in worker.log_file.read_bytes(), 60, "worker_started"
            )
            codec.start(
                [sys.executable, "-m", "orchestrator_connection.codec_server"],
                env={
                    "CAMPAIGN_ENCRYPTION_KEYS": KEYS,
                    "CAMPAIGN_CODEC_PORT": str(codec_port),
                },
            )
            # 1) a campaign that publishes, started by the CLI through the proxy
            published_id = str(uuid.uuid4())
            published = await asyncio.to_thread(
                _cli,
                ["start", "--campaign-id", published_id, "--name", CAMPAIGN_NAME,
                 "--objective", "Grow sign-ups with the new confidential product",
                 "--audience", "Existing customers", "--channel", "email", "--wait"],
                env,
            )  # fmt: skip
            # 2) a campaign that fails (learning is down) and parks in FAILED: errors to search
            headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
            url = services_url(protected_services)
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as admin:
                down = {"down": True, "services": ["learning"]}
                (await admin.put("/admin/faults", json=down)).raise_for_status()
            failed_id = str(uuid.uuid4())
            campaign_file = run_dir / "failing.json"
            campaign_file.write_text(
                json.dumps(
                    {
                        "campaign_id": failed_id,
                        "brief": {
                            "name": CAMPAIGN_NAME + " (2)",
                            "objective": "Grow sign-ups with the new confidential product",
                            "audience": "Existing customers",
                            "channels": ["email"],
                        },
                        "step_retry": {
                            "maximum_attempts": 2,
                            "initial_interval": 0.1,
                            "maximum_interval": 0.2,
                        },
                    }
                )
            )
            failed = await asyncio.to_thread(
                _cli, ["start", "--file", str(campaign_file), "--wait"], env
            )
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as admin:
                (await admin.put("/admin/faults", json={})).raise_for_status()
            codec.wait_until(lambda: port_open(codec_port), 30, "codec server port")
            histories = {}
            for campaign_id in (published_id, failed_id):
                histories[campaign_id] = await _history(client, campaign_id)
        except BaseException:
            codec.stop()
            raise
        finally:
            worker.stop()  # SIGTERM: the worker logs its shutdown and flushes
        try:
            yield SecureRun(
                proxy=proxy,
                worker=worker,
                codec=codec,
                codec_url=f"http://127.0.0.1:{codec_port}",
                services=protected_services,
                receiver=receiver,
                published=published,
                failed=failed,
                published_id=published_id,
                failed_id=failed_id,
                histories=histories,
            )
        finally:
            codec.stop()


# ---- helpers: payloads of a history ----------------------------------------------------------


async def _history(client: Client, campaign_id: str) -> History:
    handle = client.get_workflow_handle(workflow_id_for(campaign_id))
    fetched = await asyncio.wait_for(handle.fetch_history(), TIMEOUT)
    return History(events=fetched.events)


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload inside a proto message, with its field path. Left out: search attributes
    (indexed by the server, so never encoded), workflow.patched markers (the SDK core writes
    the patch id itself, unencoded: it is code, not data) and the `data` entry of a local
    activity's marker (core's own bookkeeping: seq, attempt, activity type, times; the marker's
    `result` is encoded like any payload)."""
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE or field.name == "search_attributes":
            continue
        if field.name == "marker_recorded_event_attributes" and value.marker_name == "core_patch":
            continue
        if field.name == "marker_recorded_event_attributes" and (
            value.marker_name == "core_local_activity"
        ):
            for key, payloads in value.details.items():
                if key != "data":
                    for payload in payloads.payloads:
                        yield f"{path}.{field.name}.details[{key}]", payload
            continue
        if isinstance(value, Message):
            items = [value]
        elif hasattr(value, "values"):  # a map field
            items = list(value.values())
        else:
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                yield f"{path}.{field.name}", item
            elif isinstance(item, Message):
                yield from payloads_in(item, f"{path}.{field.name}")


# ---- TLS + API key, and the encrypted history -----------------------------------------------


def test_worker_and_starter_run_a_campaign_through_tls_with_an_api_key(
    secure_run: SecureRun,
) -> None:
    run = secure_run
    assert run.published.code == 0, run.published.stderr + run.published.stdout
    assert "LEARN: published" in run.published.stdout
    assert run.failed.code == 1, run.failed.stderr + run.failed.stdout  # parked in FAILED
    assert "FAILED at LEARN: SERVICE_UNAVAILABLE" in run.failed.stdout
    # the CLI followed the campaign by query and decrypted the answers
    assert "step_started" in run.published.stdout and CAMPAIGN_NAME not in run.published.stderr
    # everything went through the proxy: the worker's polls and the CLI's calls
    access = (run.proxy.directory / "access.log").read_text()
    assert 'PollWorkflowTaskQueue HTTP/2.0" 200' in access
    assert 'StartWorkflowExecution HTTP/2.0" 200' in access
    assert 'RespondActivityTaskCompleted HTTP/2.0" 200' in access


def test_status_reads_through_tls_and_api_key_and_decrypts_the_name_only_with_the_key(
    secure_run: SecureRun,
) -> None:
    """`campaign status` connects with the service client alone: the same envconfig (TLS, API
    key) as every command, and the codec only for the memo."""
    run = secure_run
    env = _secure_env(run.proxy, run.services, run.receiver.url)
    status = _cli(["status", run.published_id, "--json"], env)
    assert status.code == 0, status.stderr
    view = json.loads(status.stdout)
    assert (view["state"], view["execution_status"], view["name"]) == (
        "LEARN", "COMPLETED", CAMPAIGN_NAME,
    )  # fmt: skip
    without_key = {k: v for k, v in env.items() if k != "CAMPAIGN_ENCRYPTION_KEYS"}
    status = _cli(["status", run.published_id, "--json"], without_key)
    assert status.code == 0, status.stderr
    assert (json.loads(status.stdout)["state"], json.loads(status.stdout)["name"]) == (
        "LEARN", None,
    )  # fmt: skip
    bad_key = {**env, "CAMPAIGN_ENCRYPTION_KEYS": "k1:not-base64"}
    status = _cli(["status", run.published_id], bad_key)
    assert status.code == 2 and "CAMPAIGN_ENCRYPTION_KEYS" in status.stderr, status.stderr
    assert KEYS.split(":")[-1] not in status.stderr
    access = (run.proxy.directory / "access.log").read_text()
    assert 'DescribeWorkflowExecution HTTP/2.0" 200' in access


def test_history_holds_only_ciphertext(secure_run: SecureRun) -> None:
    for campaign_id, history in secure_run.histories.items():
        found = list(payloads_in(history))
        assert len(found) > 10, campaign_id
        for path, payload in found:
            assert payload.metadata["encoding"] == ENCODING, path
            assert payload.metadata[KEY_ID_METADATA] == b"k2", path  # the first key encrypts
        data_events = [
            e
            for e in history.events
            if e.marker_recorded_event_attributes.marker_name != "core_patch"
        ]
        raw = History(events=data_events).SerializeToString()
        assert CAMPAIGN_NAME.encode() not in raw
        # (json/plain remains only in search attributes, which the server must read)
        assert b"Existing customers" not in raw and b"Grow sign-ups" not in raw
    # failure messages and stack traces are encoded too ("Encoded failure" is all that shows)
    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in secure_run.histories[secure_run.failed_id].events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert failures
    for failure in failures:
        assert failure.message == "Encoded failure" and not failure.stack_trace
        assert failure.encoded_attributes.metadata["encoding"] == ENCODING


async def test_codec_server_decodes_history_for_the_web_ui(secure_run: SecureRun) -> None:
    history = secure_run.histories[secure_run.published_id]
    started = history.events[0].workflow_execution_started_event_attributes
    failed = next(
        e.activity_task_failed_event_attributes.failure
        for e in secure_run.histories[secure_run.failed_id].events
        if e.HasField("activity_task_failed_event_attributes")
    )
    body = {
        "payloads": [
            json.loads(json_format.MessageToJson(p))
            for p in (*started.input.payloads, failed.encoded_attributes)
        ]
    }
    async with httpx.AsyncClient(base_url=secure_run.codec_url, timeout=10) as http:
        response = await http.post(
            "/decode",
            json=body,
            headers={"X-Namespace": "default", "Origin": "http://localhost:8233"},
        )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "http://localhost:8233"
    campaign_input, failure_attributes = response.json()["payloads"]
    assert base64.b64decode(campaign_input["metadata"]["encoding"]) == b"json/plain"
    decoded = json.loads(base64.b64decode(campaign_input["data"]))
    assert decoded["brief"]["name"] == CAMPAIGN_NAME
    assert decoded["notify_transitions"] is True  # the CLI saw CAMPAIGN_WEBHOOK_URL
    message = json.loads(base64.b64decode(failure_attributes["data"]))["message"]
    assert "learning answered 503" in message


async def test_key_rotation_a_payload_under_the_old_key_still_runs(
    stack: DevStack, protected_services: ManagedProcess
) -> None:
    """A starter still on the old key (k1 only) starts a campaign; the worker, which encrypts
    with k2 and still holds k1, decrypts its input and runs it; history has both key ids."""
    old = Settings(encryption_keys=SecretStr(f"k1:{OLD_KEY}"))
    values: dict[str, Any] = {"encryption_keys": SecretStr(KEYS)}
    for s in ServiceName:
        values[f"{s.value}_url"] = services_url(protected_services)
        values[f"{s.value}_token"] = SecretStr(SERVICE_TOKEN)
    new = Settings(**values)
    address = stack.config.temporal_address
    old_client = await connect(settings=old, target_host=address, namespace="default")
    new_client = await connect(settings=new, target_host=address, namespace="default")
    async with create_http_client(new) as http:
        worker = build_workers(
            new_client, new, create_activities(new, http), task_queue=f"rot-{uuid.uuid4()}"
        )
        async with worker:
            brief = CampaignBrief(
                name=CAMPAIGN_NAME, objective="Rotate the key", audience="Ops",
                channels=[Channel.EMAIL],
            )  # fmt: skip
            brief_id = uuid.uuid4()
            handle = await start_campaign(
                old_client,
                CampaignInput(campaign_id=brief_id, brief=brief),
                task_queue=worker.task_queue,
            )
            outcome = await asyncio.wait_for(
                new_client.get_workflow_handle(handle.id, result_type=CampaignOutcome).result(),
                TIMEOUT,
            )
    assert outcome.state is CampaignState.LEARN
    history = await _history(new_client, str(brief_id))
    found = list(payloads_in(history))
    assert [path for path, p in found if not p.metadata.get(KEY_ID_METADATA)] == []
    key_ids = {p.metadata[KEY_ID_METADATA] for _, p in found}
    assert key_ids == {b"k1", b"k2"}  # input under the old key, everything after under the new


# ---- tokens ---------------------------------------------------------------------------------


async def test_services_require_the_bearer_token(protected_services: ManagedProcess) -> None:
    call = StepCall[RadarScanRequest](
        idempotency_key=f"tok-{uuid.uuid4()}",
        request=RadarScanRequest(
            campaign_id=uuid.uuid4(),
            brief=CampaignBrief(name="n", objective="obj", audience="a", channels=[Channel.EMAIL]),
        ),
    )
    urls = {s: services_url(protected_services) for s in ServiceName}
    wrong = "wrong-token-" + uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=10) as http:
        for tokens in ({}, {ServiceName.RADAR: SecretStr(wrong)}):
            with pytest.raises(ApplicationError) as err:
                await ServiceClient(http, urls, tokens).call(ServiceName.RADAR, call, TrendReport)
            assert err.value.type == "SERVICE_REJECTED" and "401" in err.value.message
            assert wrong not in str(err.value) and SERVICE_TOKEN not in str(err.value)
        good = {ServiceName.RADAR: SecretStr(SERVICE_TOKEN)}
        report = await ServiceClient(http, urls, good).call(ServiceName.RADAR, call, TrendReport)
    assert report.trends


# ---- no secret anywhere ---------------------------------------------------------------------


def _forms(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        raw.hex(),
    }


def test_no_secret_in_any_log_line_error_or_history(secure_run: SecureRun) -> None:
    run = secure_run
    worker_log = run.worker.log_file.read_text()
    haystacks: dict[str, str] = {
        "worker log": worker_log,
        "CLI output (published)": run.published.stdout + run.published.stderr,
        "CLI output (failed)": run.failed.stdout + run.failed.stderr,
        "codec server log": run.codec.log_file.read_text(),
        "reference services log": run.services.log_file.read_text(),
        "nginx logs": "".join(
            (run.proxy.directory / name).read_text() for name in ("access.log", "error.log")
        ),
        "webhook deliveries": "".join(
            d.body.decode()
            + json.dumps({k: v for k, v in d.headers.items() if k != "x-campaign-signature"})
            for d in run.receiver.deliveries
        ),
    }
    codec = EncryptionCodec.from_spec(KEYS)
    for campaign_id, history in run.histories.items():
        haystacks[f"history {campaign_id} (raw)"] = json_format.MessageToJson(history)
        decoded = codec.decode_sync(p for _, p in payloads_in(history))
        haystacks[f"history {campaign_id} (decrypted)"] = "\n".join(
            json_format.MessageToJson(p) + p.data.decode(errors="replace") for p in decoded
        )
    # the haystacks hold what could leak: errors with tracebacks, request logs, failures
    assert "Traceback" in worker_log and "SERVICE_UNAVAILABLE" in worker_log
    assert '"service_answered"' in worker_log  # DEBUG lines of every downstream call
    assert any("learning answered 503" in h for k, h in haystacks.items() if "decrypted" in k)
    assert run.receiver.accepted(), "the webhook received events"
    for line in worker_log.splitlines():
        json.loads(line)  # every line is one JSON object (nothing printed around structlog)
    leaks = [
        f"{what} in {where}"
        for what, secret in SECRETS.items()
        for form in _forms(secret)
        for where, text in haystacks.items()
        if form in text
    ]
    assert not leaks, leaks


# ---- mTLS and the errors of refused connections ------------------------------------------------


def _tls_env(monkeypatch: pytest.MonkeyPatch, port: int, **files: Path) -> None:
    for name in list(os.environ):
        if name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))


async def test_mtls_worker_and_starter_run_a_campaign(
    proxy: TlsProxy, stack: DevStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = proxy.pki
    _tls_env(
        monkeypatch,
        proxy.mtls_port,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=pki.ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH=pki.client_cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=pki.client_key,
    )
    settings = stack_settings(stack)
    client = await connect(settings=settings)  # everything from envconfig
    async with create_http_client(settings) as http:
        worker = build_workers(
            client, settings, create_activities(settings, http), task_queue=f"mtls-{uuid.uuid4()}"
        )
        async with worker:
            brief = CampaignBrief(
                name="mTLS campaign", objective="Prove mTLS", audience="Ops",
                channels=[Channel.BLOG],
            )  # fmt: skip
            handle = await start_campaign(
                client,
                CampaignInput(campaign_id=uuid.uuid4(), brief=brief),
                task_queue=worker.task_queue,
            )
            outcome = await asyncio.wait_for(handle.result(), TIMEOUT)
    assert outcome.state is CampaignState.LEARN
    access = (proxy.directory / "access.log").read_text()
    assert 'PollActivityTaskQueue HTTP/2.0" 200' in access


@pytest.mark.parametrize(
    "port_name, files, expected",
    [
        ("mtls_port", {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca"}, "client certificate"),
        (
            "mtls_port",
            {
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca",
                "TEMPORAL_TLS_CLIENT_CERT_PATH": "stranger_cert",
                "TEMPORAL_TLS_CLIENT_KEY_PATH": "stranger_key",
            },
            "client certificate",
        ),
        ("mtls_port", {"TEMPORAL_TLS": "true"}, "not trusted"),
        ("api_key_port", {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca"}, "API key missing or wrong"),
        ("mtls_port", {}, "speaks TLS"),
    ],
    ids=["no-client-cert", "untrusted-client-cert", "untrusted-server", "no-api-key", "no-tls"],
)
async def test_refused_connections_say_why(
    proxy: TlsProxy,
    monkeypatch: pytest.MonkeyPatch,
    port_name: str,
    files: dict[str, str],
    expected: str,
) -> None:
    _tls_env(monkeypatch, getattr(proxy, port_name))
    for name, value in files.items():
        monkeypatch.setenv(name, value if value == "true" else str(getattr(proxy.pki, value)))
    with pytest.raises(TemporalUnavailableError, match=expected) as err:
        await connect(settings=Settings())
    assert f"127.0.0.1:{getattr(proxy, port_name)}" in str(err.value)
