"""Data contracts of campaign-orchestrator (pydantic v2, pure data, no I/O).

The enums and the workflow's names load with the package; the models load on first use
(PEP 562), so a command-line client that needs only those (`campaign --help`, `campaign status`)
does not pay for the models."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from contracts.enums import (
    CampaignState,
    Channel,
    FailureReason,
    QualityVerdict,
    Refusal,
    ServiceName,
    Severity,
)
from contracts.log_actions import LogAction
from contracts.names import (
    DEFAULT_TASK_QUEUE,
    PAYLOAD_QUERY,
    RETRY_SIGNAL,
    RETRY_UPDATE,
    START_SIGNAL,
    START_UPDATE,
    STATE_QUERY,
    WORKFLOW_ID_PREFIX,
    WORKFLOW_TYPE,
    campaign_id_of,
    scheduled_campaign_id,
    scheduled_time_in,
    service_task_queue,
    split_scheduled_workflow_id,
    workflow_id_for,
)

if TYPE_CHECKING:
    from contracts.artifacts import (
        ContentPiece,
        LearningSummary,
        ProducedContent,
        PublishedItem,
        PublishReceipt,
        QualityCheck,
        QualityReport,
        StrategyBrief,
        Trend,
        TrendReport,
    )
    from contracts.brief import (
        CampaignBrief,
    )
    from contracts.payload import (
        CampaignPayload,
        FailureDetails,
        TraceEntry,
    )
    from contracts.services import (
        ALREADY_PUBLISHED_CODE,
        CONTENT_PROD_STEP,
        ENDPOINTS,
        IDEMPOTENCY_HEADER,
        KEY_REUSED_CODE,
        LEARN_STEP,
        PIPELINE,
        PUBLICATION_LOOKUP_PATH,
        PUBLISH_STEP,
        QUALITY_AUDIT_STEP,
        RADAR_SCAN_STEP,
        SERVICE_FOR_STATE,
        STEP_FOR_STATE,
        STEPS,
        STRATEGY_GEN_STEP,
        AuditRequest,
        ContentRequest,
        LearnRequest,
        PublicationLookup,
        PublicationRecord,
        PublishRequest,
        RadarScanRequest,
        Step,
        StrategyRequest,
    )
    from contracts.workflow_io import (
        CampaignInput,
        CampaignOutcome,
        CarriedState,
        RetryAccepted,
        RetryRequest,
        StartAccepted,
        StartRequest,
        StepCall,
        StepRetrySettings,
    )

# name -> the module that defines it, imported on first use.
_LAZY: dict[str, str] = {
    "ContentPiece": "contracts.artifacts",
    "LearningSummary": "contracts.artifacts",
    "ProducedContent": "contracts.artifacts",
    "PublishedItem": "contracts.artifacts",
    "PublishReceipt": "contracts.artifacts",
    "QualityCheck": "contracts.artifacts",
    "QualityReport": "contracts.artifacts",
    "StrategyBrief": "contracts.artifacts",
    "Trend": "contracts.artifacts",
    "TrendReport": "contracts.artifacts",
    "CampaignBrief": "contracts.brief",
    "CampaignPayload": "contracts.payload",
    "FailureDetails": "contracts.payload",
    "TraceEntry": "contracts.payload",
    "ALREADY_PUBLISHED_CODE": "contracts.services",
    "ENDPOINTS": "contracts.services",
    "IDEMPOTENCY_HEADER": "contracts.services",
    "KEY_REUSED_CODE": "contracts.services",
    "PUBLICATION_LOOKUP_PATH": "contracts.services",
    "SERVICE_FOR_STATE": "contracts.services",
    "AuditRequest": "contracts.services",
    "ContentRequest": "contracts.services",
    "LearnRequest": "contracts.services",
    "PublicationLookup": "contracts.services",
    "PublicationRecord": "contracts.services",
    "PublishRequest": "contracts.services",
    "RadarScanRequest": "contracts.services",
    "PIPELINE": "contracts.services",
    "STEPS": "contracts.services",
    "STEP_FOR_STATE": "contracts.services",
    "RADAR_SCAN_STEP": "contracts.services",
    "STRATEGY_GEN_STEP": "contracts.services",
    "CONTENT_PROD_STEP": "contracts.services",
    "QUALITY_AUDIT_STEP": "contracts.services",
    "PUBLISH_STEP": "contracts.services",
    "LEARN_STEP": "contracts.services",
    "Step": "contracts.services",
    "StrategyRequest": "contracts.services",
    "CampaignInput": "contracts.workflow_io",
    "CampaignOutcome": "contracts.workflow_io",
    "CarriedState": "contracts.workflow_io",
    "RetryAccepted": "contracts.workflow_io",
    "RetryRequest": "contracts.workflow_io",
    "StartAccepted": "contracts.workflow_io",
    "StartRequest": "contracts.workflow_io",
    "StepCall": "contracts.workflow_io",
    "StepRetrySettings": "contracts.workflow_io",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'contracts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ALREADY_PUBLISHED_CODE",
    "CONTENT_PROD_STEP",
    "DEFAULT_TASK_QUEUE",
    "ENDPOINTS",
    "IDEMPOTENCY_HEADER",
    "KEY_REUSED_CODE",
    "LEARN_STEP",
    "PAYLOAD_QUERY",
    "PIPELINE",
    "PUBLICATION_LOOKUP_PATH",
    "PUBLISH_STEP",
    "QUALITY_AUDIT_STEP",
    "RADAR_SCAN_STEP",
    "RETRY_SIGNAL",
    "RETRY_UPDATE",
    "SERVICE_FOR_STATE",
    "START_SIGNAL",
    "START_UPDATE",
    "STATE_QUERY",
    "STEPS",
    "STEP_FOR_STATE",
    "STRATEGY_GEN_STEP",
    "WORKFLOW_ID_PREFIX",
    "WORKFLOW_TYPE",
    "AuditRequest",
    "CampaignBrief",
    "CampaignInput",
    "CampaignOutcome",
    "CampaignPayload",
    "CampaignState",
    "CarriedState",
    "Channel",
    "ContentPiece",
    "ContentRequest",
    "FailureDetails",
    "FailureReason",
    "LearnRequest",
    "LearningSummary",
    "LogAction",
    "ProducedContent",
    "PublicationLookup",
    "PublicationRecord",
    "PublishReceipt",
    "PublishRequest",
    "PublishedItem",
    "QualityCheck",
    "QualityReport",
    "QualityVerdict",
    "RadarScanRequest",
    "Refusal",
    "RetryAccepted",
    "RetryRequest",
    "ServiceName",
    "Severity",
    "StartAccepted",
    "StartRequest",
    "Step",
    "StepCall",
    "StepRetrySettings",
    "StrategyBrief",
    "StrategyRequest",
    "TraceEntry",
    "Trend",
    "TrendReport",
    "campaign_id_of",
    "scheduled_campaign_id",
    "scheduled_time_in",
    "service_task_queue",
    "split_scheduled_workflow_id",
    "workflow_id_for",
]
