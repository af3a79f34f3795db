"""The campaign workflow (the state graph as deterministic code) and the webhook outbox."""

from workflows.campaign_workflow import CampaignWorkflow
from workflows.webhook_notifier import WebhookNotifierWorkflow

__all__ = ["CampaignWorkflow", "WebhookNotifierWorkflow"]
