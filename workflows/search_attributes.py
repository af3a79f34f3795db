"""Typed search attributes the workflow upserts on every transition (for the Web UI and `list`)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CAMPAIGN_STATE = SearchAttributeKey.for_keyword("CampaignState")
CAMPAIGN_FAILURE_REASON = SearchAttributeKey.for_keyword("CampaignFailureReason")
CAMPAIGN_RETRY_COUNT = SearchAttributeKey.for_int("CampaignRetryCount")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[int], ...] = (
    CAMPAIGN_STATE,
    CAMPAIGN_FAILURE_REASON,
    CAMPAIGN_RETRY_COUNT,
)


def dev_server_flags() -> list[str]:
    """`--search-attribute NAME=Type` flags that register them on `temporal server start-dev`."""
    types = {"KEYWORD": "Keyword", "INT": "Int"}
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={types[key.indexed_value_type.name]}"]
    return flags
