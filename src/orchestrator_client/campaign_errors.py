"""The errors of campaign operations: each message is one line an operator can act on (the CLI
turns each class into an exit code, the REST gateway into an HTTP status)."""

from __future__ import annotations

from contracts import Refusal


class CampaignError(RuntimeError):
    """An operator-facing error: the message is one clear line."""


class UnknownCampaignError(CampaignError):
    """No campaign with that id (HTTP 404)."""


class CampaignConflictError(CampaignError):
    """The campaign exists, but its state refuses the request (HTTP 409)."""


class CampaignExistsError(CampaignConflictError):
    """A start for a campaign id that already has a workflow."""


class CampaignClosedError(CampaignConflictError):
    """The campaign's workflow has ended: it takes no more signals."""


class CommandRefused(CampaignConflictError):
    """The workflow refused a command (the update's failure type), or, once the workflow has
    closed, the client did (CAMPAIGN_ENDED). `reason` is the workflow's own words."""

    def __init__(self, refusal: Refusal, workflow_id: str, command: str, reason: str) -> None:
        super().__init__(f"campaign {workflow_id} refused the {command}: {reason} ({refusal})")
        self.refusal, self.workflow_id, self.reason = refusal, workflow_id, reason


class NoWorkerError(CampaignError):
    """No worker polls the campaign's task queue, or none answered in time (HTTP 504)."""


class CampaignWedgedError(NoWorkerError):
    """A worker polls, but cannot answer for the campaign: its workflow task fails (a bug or a
    non-deterministic change); the message carries the worker's error."""
