"""The status read of `campaign status` decodes what the SDK encodes: search attributes as the
server indexes them, the name memo as our clients write it (plain, or encrypted by the codec)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import encode_search_attributes

from contracts import CampaignState
from orchestrator_client.campaign_errors import CampaignError
from orchestrator_client.campaign_lookup import (
    NAME_MEMO,
    memo_name,
    status_of,
    workflow_id_from_ref,
)
from orchestrator_connection.encryption import EncryptionCodec
from workflows import search_attributes as sa

WID = "campaign-9a9ce4be-0000-4000-8000-000000000001"
STARTED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


def info(
    status: WorkflowExecutionStatus.ValueType = RUNNING,
    attributes: TypedSearchAttributes = TypedSearchAttributes.empty,
    memo: Payload | None = None,
    closed: datetime | None = None,
) -> WorkflowExecutionInfo:
    raw = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=WID, run_id="r1"),
        status=status,
        task_queue="campaigns",
        start_time=Timestamp(seconds=int(STARTED.timestamp())),
    )
    if closed:
        raw.close_time.CopyFrom(Timestamp(seconds=int(closed.timestamp())))
    encode_search_attributes(attributes, raw.search_attributes)
    if memo is not None:
        raw.memo.fields[NAME_MEMO].CopyFrom(memo)
    return raw


def parked(retries: int) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CAMPAIGN_STATE, CampaignState.FAILED.value),
            SearchAttributePair(sa.CAMPAIGN_FAILURE_REASON, "QUALITY_GATE_FAILED"),
            SearchAttributePair(sa.CAMPAIGN_RETRY_COUNT, retries),
        ]
    )


def test_a_parked_campaign_reads_as_the_sdk_wrote_it() -> None:
    st = status_of(info(attributes=parked(2)), "Spring launch")
    assert st.as_dict() == {
        "campaign_id": "9a9ce4be-0000-4000-8000-000000000001",
        "workflow_id": WID,
        "run_id": "r1",
        "execution_status": "RUNNING",
        "state": "FAILED",
        "failure_reason": "QUALITY_GATE_FAILED",
        "retry_count": 2,
        "start_time": STARTED.isoformat(),
        "close_time": None,
        "task_queue": "campaigns",
        "name": "Spring launch",
        "paused": False,
        "approvers": None,
    }
    assert st.running


def test_a_campaign_with_no_task_yet_has_no_state_and_a_cancelled_one_is_cancelled() -> None:
    fresh = status_of(info())
    assert (fresh.state, fresh.retry_count, fresh.failure_reason) == (None, None, None)
    # Cancelled before CANCELLED existed: its search attribute still says FAILED.
    cancelled = status_of(
        info(
            WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
            parked(0),
            closed=STARTED,
        )
    )
    assert (cancelled.execution_status, cancelled.state) == ("CANCELED", CampaignState.CANCELLED)
    assert cancelled.close_time == STARTED and not cancelled.running


async def test_the_name_memo_plain_encrypted_foreign_or_missing() -> None:
    [plain] = await pydantic_data_converter.encode(["Spring launch"])
    codec = EncryptionCodec({"k1": os.urandom(32)})
    [encrypted] = await codec.encode([plain])
    other = EncryptionCodec({"k9": os.urandom(32)})
    assert await memo_name(info(memo=plain), None) == "Spring launch"
    assert await memo_name(info(memo=plain), codec) == "Spring launch"
    assert await memo_name(info(memo=encrypted), codec) == "Spring launch"
    assert await memo_name(info(memo=encrypted), None) is None  # no key: no name, no error
    assert await memo_name(info(memo=encrypted), other) is None  # the wrong key: the same
    [number] = await pydantic_data_converter.encode([42])
    assert await memo_name(info(memo=number), None) is None
    assert await memo_name(info(), codec) is None


@pytest.mark.parametrize("ref", [WID, WID.removeprefix("campaign-"), f"  {WID}\n"])
def test_a_campaign_is_named_by_its_id_or_its_workflow_id(ref: str) -> None:
    assert workflow_id_from_ref(ref) == WID


@pytest.mark.parametrize("ref", ["", "campaign-", "campaign-123", "9a9ce4be; DROP"])
def test_anything_else_is_refused_in_one_line(ref: str) -> None:
    with pytest.raises(CampaignError, match="is not a campaign id"):
        workflow_id_from_ref(ref)
