"""Temporal activities: one per step, each one HTTP call to one downstream service."""

from activities.campaign_activities import CampaignActivities, ServiceClient

__all__ = ["CampaignActivities", "ServiceClient"]
