"""A person in the loop: `approve`, `reject`, `request-changes` (a review decision before
PUBLISH, for campaigns with an approval policy), and `pause` and `resume`."""

from __future__ import annotations

import getpass
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

from campaign_cli.connection import check_ref, run
from campaign_cli.console import EXIT_INPUT, fail, out
from campaign_cli.options import AddressOpt, CampaignArg, JsonOpt, NamespaceOpt

if TYPE_CHECKING:
    from temporalio.client import Client

    from contracts import PauseAccepted, ReviewAccepted

CommentOpt = Annotated[
    str,
    typer.Option(
        "--comment", "-m", metavar="TEXT", help="Why (required to reject or request changes)"
    ),
]
ReviewerOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="NAME",
        help="Who decides (default: CAMPAIGN_REVIEWER, else your login name)",
    ),
]
RevisionOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="The content revision you reviewed (approve: required; reject and "
        "request-changes: default the one waiting)",
        min=0,
    ),
]
ReasonOpt = Annotated[str, typer.Option(metavar="TEXT", help="Why (in the log and the Web UI)")]


def approve(
    campaign: CampaignArg,
    comment: CommentOpt = "",
    reviewer: ReviewerOpt = None,
    revision: RevisionOpt = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Approve the audited content of a campaign waiting in AWAITING_APPROVAL: it publishes.

    \b
    Examples:
      campaign approve <id> --revision 1             the revision you reviewed, as you
      campaign approve <id> --revision 1 --as ana -m "claims checked with legal"

    --revision is required: without it the command says which revision waits (exit 2).

    Refused (exit 3, with the reason and its code) when it waits for no decision
    (NOT_AWAITING_APPROVAL), you are not one of its approvers (NOT_AN_APPROVER), the revision is
    not the one waiting (WRONG_REVISION) or someone decided already (ALREADY_DECIDED).
    """
    _review("approve", campaign, comment, reviewer, revision, as_json, address, namespace)


def reject(
    campaign: CampaignArg,
    comment: CommentOpt = "",
    reviewer: ReviewerOpt = None,
    revision: RevisionOpt = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Reject the audited content: the campaign parks in FAILED (APPROVAL_REJECTED); an
    operator's `campaign retry` produces a new revision with your comment as feedback.

    \b
    Example:
      campaign reject <id> --as ana -m "promises returns: not allowed for savings products"
    """
    _review("reject", campaign, comment, reviewer, revision, as_json, address, namespace)


def request_changes(
    campaign: CampaignArg,
    comment: CommentOpt = "",
    reviewer: ReviewerOpt = None,
    revision: RevisionOpt = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Send the content back to CONTENT_PROD with your comment as feedback; the new revision
    is audited, then waits for a decision again.

    \b
    Example:
      campaign request-changes <id> --as ana -m "say 'up to 4% a year', not 'guaranteed'"
    """
    _review("request_changes", campaign, comment, reviewer, revision, as_json, address, namespace)


def pause(
    campaign: CampaignArg,
    reason: ReasonOpt = "",
    requested_by: Annotated[str | None, typer.Option(metavar="NAME", help="Who")] = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Hold a running campaign at its next step boundary (a step in flight finishes first).

    It shows as PAUSED in `campaign status`, the Web UI and `campaign list --paused`, and waits
    durably, costing the worker nothing, until `campaign resume`.
    """
    _pause_or_resume("pause", campaign, reason, requested_by, as_json, address, namespace)


def resume(
    campaign: CampaignArg,
    reason: ReasonOpt = "",
    requested_by: Annotated[str | None, typer.Option(metavar="NAME", help="Who")] = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Let a paused campaign go on (or withdraw a pause it has not reached yet)."""
    _pause_or_resume("resume", campaign, reason, requested_by, as_json, address, namespace)


def _who(given: str | None) -> str:
    return given or os.environ.get("CAMPAIGN_REVIEWER") or getpass.getuser()


def _review(
    decision_name: str,
    campaign: str,
    comment: str,
    reviewer: str | None,
    revision: int | None,
    as_json: bool,
    address: str | None,
    namespace: str | None,
) -> None:
    from pydantic import ValidationError

    from contracts import Decision, ReviewRequest
    from contracts.base import describe_errors
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_lookup import workflow_id_from_ref
    from orchestrator_client.campaign_ops import review_campaign, waiting_revision

    check_ref(campaign)
    decision = Decision(decision_name)
    who = _who(reviewer)
    try:  # the fields, before anything is asked (a revision of -1 is refused by the option)
        ReviewRequest(reviewer=who, revision=revision or 0, comment=comment)
    except ValidationError as err:
        raise fail(
            f"invalid {decision.value}: {describe_errors(err, 'input')}", EXIT_INPUT
        ) from None

    async def work(client: Client) -> ReviewAccepted:
        reviewed = revision if revision is not None else await waiting_revision(client, campaign)
        if revision is None and decision is Decision.APPROVE:
            # An approval names what was read: the waiting revision may be newer than that.
            raise CampaignError(
                f"approve needs --revision, the revision you reviewed; it waits for a decision "
                f"on revision {reviewed}: `campaign approve {campaign} --revision {reviewed}`"
            )
        request = ReviewRequest(reviewer=who, revision=reviewed, comment=comment)
        return await review_campaign(client, campaign, decision, request)

    answer = run(work, address, namespace)
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    out.print(_review_line(answer, workflow_id_from_ref(campaign)), markup=False)


def _review_line(answer: ReviewAccepted, workflow_id: str) -> str:
    from contracts import Decision

    then = {
        Decision.APPROVE: "it publishes now",
        Decision.REQUEST_CHANGES: "back to CONTENT_PROD for a new revision",
        Decision.REJECT: "it parks in FAILED (APPROVAL_REJECTED): `campaign retry` revises it",
    }[Decision(answer.decision)]
    return (
        f"{answer.decision} accepted: {workflow_id}, revision {answer.revision}, by "
        f"{answer.reviewer}: {then}"
    )


def _pause_or_resume(
    command: str,
    campaign: str,
    reason: str,
    requested_by: str | None,
    as_json: bool,
    address: str | None,
    namespace: str | None,
) -> None:
    from pydantic import ValidationError

    from contracts import PauseRequest
    from contracts.base import describe_errors
    from orchestrator_client.campaign_lookup import workflow_id_from_ref
    from orchestrator_client.campaign_ops import pause_campaign, resume_campaign

    check_ref(campaign)
    try:
        request = PauseRequest(requested_by=_who(requested_by), reason=reason)
    except ValidationError as err:
        raise fail(f"invalid {command}: {describe_errors(err, 'input')}", EXIT_INPUT) from None
    call = pause_campaign if command == "pause" else resume_campaign

    async def work(client: Client) -> PauseAccepted:
        return await call(client, campaign, request)

    answer = run(work, address, namespace)
    if as_json:
        out.print_json(json.dumps(answer.model_dump(mode="json")))
        return
    done = "paused" if answer.paused else "resumed"
    out.print(f"{done}: {workflow_id_from_ref(campaign)}: {answer.detail}", markup=False)
