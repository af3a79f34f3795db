"""Typed search attributes the workflow upserts on every transition (for the Web UI and `list`).

The dev stack registers them on its server (devstack/dev_server.py, `search_attribute_flags`)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CAMPAIGN_STATE = SearchAttributeKey.for_keyword("CampaignState")
CAMPAIGN_FAILURE_REASON = SearchAttributeKey.for_keyword("CampaignFailureReason")
CAMPAIGN_RETRY_COUNT = SearchAttributeKey.for_int("CampaignRetryCount")

# Set by Temporal Schedules on the runs they start: the schedule's id (not ours to register).
SCHEDULED_BY_ID = SearchAttributeKey.for_keyword("TemporalScheduledById")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[int], ...] = (
    CAMPAIGN_STATE,
    CAMPAIGN_FAILURE_REASON,
    CAMPAIGN_RETRY_COUNT,
)
