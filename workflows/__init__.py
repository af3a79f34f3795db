"""The campaign workflow: the state graph as deterministic code."""

from workflows.campaign_workflow import CampaignWorkflow

__all__ = ["CampaignWorkflow"]
