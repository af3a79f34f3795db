"""The campaign workflow (the state graph as deterministic code) and the webhook outbox.

The classes load on first use, so clients that need only `workflows.search_attributes` do not
load the graph."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.campaign_workflow import CampaignWorkflow
    from workflows.webhook_notifier import WebhookNotifierWorkflow

_LAZY = {
    "CampaignWorkflow": "workflows.campaign_workflow",
    "WebhookNotifierWorkflow": "workflows.webhook_notifier",
}
__all__ = ["CampaignWorkflow", "WebhookNotifierWorkflow"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workflows' has no attribute {name!r}")
