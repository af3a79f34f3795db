"""Typed search attributes the workflow upserts on every transition (for the Web UI and `list`).

The dev stack registers them on its server (devstack/dev_server.py, `search_attribute_flags`)."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

CAMPAIGN_STATE = SearchAttributeKey.for_keyword("CampaignState")
CAMPAIGN_FAILURE_REASON = SearchAttributeKey.for_keyword("CampaignFailureReason")
CAMPAIGN_RETRY_COUNT = SearchAttributeKey.for_int("CampaignRetryCount")
# While it waits in AWAITING_APPROVAL: who may decide ("*": anyone). `CampaignApprovers = 'ana'`
# lists what waits for ana (with '*', what anyone may decide).
CAMPAIGN_APPROVERS = SearchAttributeKey.for_keyword_list("CampaignApprovers")
# True while held by a `pause` at a step boundary.
CAMPAIGN_PAUSED = SearchAttributeKey.for_bool("CampaignPaused")

# Set by Temporal Schedules on the runs they start: the schedule's id (not ours to register).
SCHEDULED_BY_ID = SearchAttributeKey.for_keyword("TemporalScheduledById")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    CAMPAIGN_STATE,
    CAMPAIGN_FAILURE_REASON,
    CAMPAIGN_RETRY_COUNT,
    CAMPAIGN_APPROVERS,
    CAMPAIGN_PAUSED,
)
