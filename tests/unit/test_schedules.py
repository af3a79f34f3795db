"""Scheduled runs, without a server: the workflow ids Temporal Schedules give the runs, the campaign
ids derived from them, the lookups that take them, and the client's schedule request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import ScheduleOverlapPolicy

from contracts import (
    campaign_id_of,
    scheduled_campaign_id,
    scheduled_time_in,
    split_scheduled_workflow_id,
    workflow_id_for,
)
from orchestrator_client.campaign_errors import CampaignError
from orchestrator_client.campaign_lookup import CampaignStatus, workflow_id_from_ref
from orchestrator_client.campaign_schedules import (
    CampaignScheduleRequest,
    Overlap,
    describe_interval,
    memo_text,
    parse_interval,
    parse_moment,
    template_campaign_id,
)

TEMPLATE = uuid.UUID("9a9ce4be-0000-4000-8000-000000000001")
OTHER = uuid.UUID("9a9ce4be-0000-4000-8000-000000000002")
AT = "2026-12-14T09:00:00Z"
RUN = f"campaign-{TEMPLATE}-{AT}"  # what a schedule's action names the run at AT
# Computed once: a scheduled run's campaign id never changes, or a repeat could publish again.
RUN_CAMPAIGN = uuid.UUID("d183a675-f1c0-5551-9b80-d581f2aa7fdf")
# Computed once: the schedule `weekly-news`'s template id, fixed forever.
WEEKLY_NEWS_TEMPLATE = uuid.UUID("ce11503e-630f-571a-8291-409328c649a0")


# ---- contracts.names: a scheduled run's workflow id and campaign id ----------------------------


def test_a_scheduled_run_round_trips_to_its_template_time_and_campaign() -> None:
    assert scheduled_time_in(RUN, TEMPLATE) == AT
    assert split_scheduled_workflow_id(RUN) == (TEMPLATE, AT)
    assert scheduled_campaign_id(TEMPLATE, AT) == RUN_CAMPAIGN
    assert campaign_id_of(RUN) == RUN_CAMPAIGN
    # Built back from its parts, the run has the id the schedule gave it.
    template, at = split_scheduled_workflow_id(RUN) or (None, None)
    assert f"{workflow_id_for(TEMPLATE)}-{at}" == RUN and template == TEMPLATE


def test_each_scheduled_time_and_each_template_is_its_own_campaign() -> None:
    later = "2026-12-21T09:00:00Z"
    ids = {
        scheduled_campaign_id(TEMPLATE, AT),
        scheduled_campaign_id(TEMPLATE, later),
        scheduled_campaign_id(OTHER, AT),
        TEMPLATE,
    }
    assert len(ids) == 4
    assert scheduled_campaign_id(TEMPLATE, AT) == scheduled_campaign_id(TEMPLATE, AT)


@pytest.mark.parametrize(
    "template",
    ["weekly-news", "0" * 35 + "-", "-" * 36],
    ids=["a name", "36 hex-ish characters, 31 digits", "36 dashes"],
)
def test_a_template_that_is_not_a_uuid_is_not_a_scheduled_run(template: str) -> None:
    workflow_id = f"campaign-{template}-{AT}"
    assert split_scheduled_workflow_id(workflow_id) is None
    assert campaign_id_of(workflow_id) is None


@pytest.mark.parametrize(
    "suffix",
    [
        "-2026-12-14T09:00:00.5Z",  # fractional seconds
        "-2026-12-14T09:00:00.000Z",
        "-2026-12-14T09:00:00+00:00",  # an offset, even UTC's
        "-2026-12-14T10:00:00+01:00",
        "-2026-12-14T09:00:00",  # no zone
        "-2026-12-14T09:00Z",  # no seconds
        "-2026-12-14",
        "-2026-12-14t09:00:00z",
        "-٢٠٢٦-12-14T09:00:00Z",  # Arabic-Indic digits: `\d`, not a schedule's
        "-2026-12-14T09:00:00Z-2026-12-14T09:00:00Z",
        "-2026-12-14T09:00:00Z\n",
        " 2026-12-14T09:00:00Z",
        "2026-12-14T09:00:00Z",  # no dash
        "-junk",
        "-2026-13-45T99:99:99Z",  # the shape of a time, but no time
        "-2026-02-30T09:00:00Z",
    ],
)
def test_a_suffix_other_than_whole_utc_seconds_is_not_a_scheduled_run(suffix: str) -> None:
    workflow_id = f"campaign-{TEMPLATE}{suffix}"
    assert scheduled_time_in(workflow_id, TEMPLATE) is None
    assert split_scheduled_workflow_id(workflow_id) is None
    assert campaign_id_of(workflow_id) is None


def test_another_templates_run_is_not_a_run_of_this_template() -> None:
    assert scheduled_time_in(f"campaign-{OTHER}-{AT}", TEMPLATE) is None
    # ... nor is a template whose id merely starts like this one's
    assert scheduled_time_in(f"campaign-{TEMPLATE}0-{AT}", TEMPLATE) is None
    # ... nor the template's own workflow id, nor a workflow id without the prefix
    assert scheduled_time_in(workflow_id_for(TEMPLATE), TEMPLATE) is None
    assert scheduled_time_in(f"{TEMPLATE}-{AT}", TEMPLATE) is None


def test_the_workflow_reads_the_time_only_under_the_templates_canonical_id() -> None:
    """The workflow passes its input's UUID: its canonical text is lower case, so a run named
    with an upper-case template is not a run of it (and fails as INVALID_INPUT)."""
    assert scheduled_time_in(f"campaign-{str(TEMPLATE).upper()}-{AT}", TEMPLATE) is None


@pytest.mark.parametrize(
    ("workflow_id", "campaign_id"),
    [
        (workflow_id_for(TEMPLATE), TEMPLATE),  # a campaign started directly
        (RUN, RUN_CAMPAIGN),  # a scheduled run: derived, not the template
        (f"campaign-{str(TEMPLATE).upper()}-{AT}", RUN_CAMPAIGN),
    ],
)
def test_campaign_id_of_both_forms(workflow_id: str, campaign_id: uuid.UUID) -> None:
    assert campaign_id_of(workflow_id) == campaign_id


@pytest.mark.parametrize(
    "junk",
    ["", "campaign-", "campaign-junk", f"campaign-{TEMPLATE}-junk", "campaign-123", "x" * 80],
)
def test_campaign_id_of_junk_is_none(junk: str) -> None:
    assert campaign_id_of(junk) is None


# ---- client lookups take a scheduled run's workflow id -----------------------------------------


@pytest.mark.parametrize(
    "ref", [RUN, f"  {RUN}\n", f"campaign-{str(TEMPLATE).upper()}-{AT}"], ids=repr
)
def test_a_scheduled_run_is_looked_up_by_its_workflow_id(ref: str) -> None:
    assert workflow_id_from_ref(ref) == RUN


@pytest.mark.parametrize(
    "ref",
    [
        f"campaign-{TEMPLATE}-junk",
        f"campaign-{TEMPLATE}-2026-12-14T09:00:00.5Z",
        f"campaign-{TEMPLATE}-2026-12-14T09:00:00+01:00",
        f"{TEMPLATE}-{AT}",  # the scheduled form needs its prefix
        f"campaign-weekly-news-{AT}",
    ],
)
def test_a_malformed_scheduled_ref_is_refused_naming_the_scheduled_form(ref: str) -> None:
    with pytest.raises(CampaignError) as err:
        workflow_id_from_ref(ref)
    message = str(err.value)
    assert message.startswith(f"'{ref.strip()}' is not a campaign id (a UUID)")
    assert "scheduled run's campaign-<uuid>-<time>" in message
    assert "\n" not in message


def _status(workflow_id: str) -> CampaignStatus:
    return CampaignStatus(
        workflow_id=workflow_id,
        run_id="r1",
        execution_status="RUNNING",
        state=None,
        failure_reason=None,
        retry_count=None,
        start_time=None,
        close_time=None,
    )


def test_a_scheduled_runs_status_names_its_own_campaign_not_the_template() -> None:
    status = _status(RUN)
    assert status.campaign_id == str(scheduled_campaign_id(TEMPLATE, AT)) == str(RUN_CAMPAIGN)
    assert status.as_dict()["campaign_id"] == str(RUN_CAMPAIGN)
    assert status.as_dict()["workflow_id"] == RUN
    assert _status(workflow_id_for(TEMPLATE)).campaign_id == str(TEMPLATE)


# ---- parse_interval, parse_moment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
    ],
)
def test_an_interval_in_units(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "7x", "1h 30", "-1d", "10", "d", "1.5h", "P1D"])
def test_anything_else_is_not_an_interval_in_one_message(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_interval(text)
    assert str(err.value) == f"{text!r} is not an interval such as 7d, 12h, 1h30m or 90s"


@pytest.mark.parametrize(
    ("every", "words"),
    [
        (timedelta(weeks=1), "1 week"),
        (timedelta(days=2), "2 days"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=90), "90 seconds"),
    ],
)
def test_an_interval_in_words(every: timedelta, words: str) -> None:
    assert describe_interval(every) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07T09:00:00Z", datetime(2026, 12, 7, 9, tzinfo=UTC)),
        (
            "2026-12-07T09:00:00+02:00",
            datetime(2026, 12, 7, 9, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-12-07", datetime(2026, 12, 7, tzinfo=UTC)),  # a bare date: UTC midnight
        (" 2026-12-07T09:00:00 ", datetime(2026, 12, 7, 9, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_a_moment_is_iso_8601_and_utc_unless_it_says_otherwise(
    text: str, expected: datetime
) -> None:
    moment = parse_moment(text)
    assert moment == expected
    assert moment.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["", "junk", "2026-13-01", "next monday", "2026-12-07 9am"])
def test_anything_else_is_not_a_moment(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 time such as 2026-12-07T09:00:00Z"):
        parse_moment(text)


# ---- CampaignScheduleRequest -------------------------------------------------------------------


def request_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schedule_id": "weekly-news",
        "cron": "0 9 * * MON",
        "campaign": {
            "campaign_id": str(template_campaign_id("weekly-news")),
            "brief": {
                "name": "Weekly news",
                "objective": "Keep readers informed",
                "audience": "Subscribers",
                "channels": ["email", "blog"],
            },
        },
    }
    data.update(overrides)
    return data


def test_a_valid_request_and_its_defaults() -> None:
    request = CampaignScheduleRequest.model_validate(
        request_data(time_zone="Europe/Paris", note="Mondays")
    )
    assert request.overlap is Overlap.skip
    assert request.catchup_window == timedelta(hours=1)
    assert request.paused is False
    assert request.template_id == WEEKLY_NEWS_TEMPLATE
    assert request.when() == "cron '0 9 * * MON' (Europe/Paris)"
    every = CampaignScheduleRequest.model_validate(request_data(cron=None, every="PT168H"))
    assert every.when() == "every 1 week"
    assert CampaignScheduleRequest.model_validate(request_data(cron="@weekly")).cron == "@weekly"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"schedule_id": ""}, "schedule_id", "letters, digits"),
        ({"schedule_id": "-weekly"}, "schedule_id", "starting with a letter or digit"),
        ({"schedule_id": "weekly news"}, "schedule_id", "letters, digits"),
        ({"schedule_id": "w/1"}, "schedule_id", "letters, digits"),
        ({"schedule_id": "w" * 101}, "schedule_id", "at most 100"),
        ({"cron": "0 9 * *"}, "cron", "is not a cron expression of 5 fields"),
        ({"cron": "0 9 * * MON 2026"}, "cron", "is not a cron expression of 5 fields"),
        ({"cron": ""}, "cron", "is not a cron expression of 5 fields"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone 'Mars/Olympus'"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "unknown time zone"),
        ({"time_zone": ""}, "time_zone", "unknown time zone"),
        ({"cron": None, "every": 59}, "every", "greater than or equal to 1 minute"),
        ({"cron": None, "every": "PT30S"}, "every", "greater than or equal to 1 minute"),
        ({"catchup_window": 9}, "catchup_window", "greater than or equal to 10 seconds"),
        ({"overlap": "terminate_other"}, "overlap", "Input should be"),
        ({"note": "n" * 501}, "note", "at most 500 characters"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
    ],
)
def test_each_invalid_field_is_named(overrides: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        CampaignScheduleRequest.model_validate(request_data(**overrides))
    [problem] = err.value.errors()
    assert problem["loc"] == (field,)
    assert words in problem["msg"]


def test_an_invalid_template_is_named_under_campaign() -> None:
    data = request_data()
    data["campaign"]["brief"]["channels"] = []
    with pytest.raises(ValidationError) as err:
        CampaignScheduleRequest.model_validate(data)
    assert [e["loc"] for e in err.value.errors()] == [("campaign", "brief", "channels")]


@pytest.mark.parametrize(
    "overrides",
    [{"cron": "0 9 * * MON", "every": 3600}, {"cron": None}],
    ids=["both", "neither"],
)
def test_a_schedule_has_exactly_one_calendar(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        CampaignScheduleRequest.model_validate(request_data(**overrides))
    [problem] = err.value.errors()
    # A model-level check: no field of its own; its message names both ways of giving one.
    assert problem["loc"] == ()
    assert "give a cron expression or an interval (exactly one of them)" in problem["msg"]


def test_the_template_id_of_a_schedule_never_changes() -> None:
    assert template_campaign_id("weekly-news") == WEEKLY_NEWS_TEMPLATE
    assert template_campaign_id("weekly-news") != template_campaign_id("Weekly-news")
    assert template_campaign_id("weekly-news").version == 5


def test_the_memo_says_what_runs_when_and_under_which_workflow_ids() -> None:
    text = memo_text(CampaignScheduleRequest.model_validate(request_data()))
    assert "'Weekly news'" in text
    assert "cron '0 9 * * MON' (UTC)" in text
    assert "overlap skip, catch-up window 1 hour" in text
    assert text.endswith(f"runs are campaign-{WEEKLY_NEWS_TEMPLATE}-<scheduled time>")


# ---- Overlap -----------------------------------------------------------------------------------


def test_overlap_never_terminates_a_campaign() -> None:
    assert "terminate_other" not in Overlap.__members__
    assert "terminate_other" not in {o.value for o in Overlap}
    policies = {o.temporal for o in Overlap}
    assert ScheduleOverlapPolicy.TERMINATE_OTHER not in policies
    assert len(policies) == len(Overlap)  # each its own server policy
    assert all(Overlap(Overlap.of(o.temporal)) is o for o in Overlap)


def test_a_calendar_the_server_keeps_reads_as_the_cron_it_came_from() -> None:
    from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec

    from orchestrator_client.campaign_schedules import spec_text

    mondays = ScheduleCalendarSpec(
        minute=[ScheduleRange(0)], hour=[ScheduleRange(9)], day_of_week=[ScheduleRange(1)]
    )
    office = ScheduleCalendarSpec(
        minute=[ScheduleRange(0, 59, 15)],
        hour=[ScheduleRange(8, 17)],
        day_of_week=[ScheduleRange(1, 5)],
    )
    spec = ScheduleSpec(calendars=[mondays, office], time_zone_name="Europe/Paris")
    assert spec_text(spec) == "cron '0 9 * * 1', '0-59/15 8-17 * * 1-5' (Europe/Paris)"


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("cron", "@every 1s", "an interval is `every`"),
        ("cron", "@fortnightly", "is not a cron expression"),
        ("time_zone", "America", "unknown time zone"),  # a directory of the zone database
        ("every", 10**12, "less than or equal"),
        ("catchup_window", 10**12, "less than or equal"),
    ],
)
def test_what_would_bypass_a_limit_or_crash_is_refused_by_field(
    field: str, value: object, why: str
) -> None:
    fields = request_data()
    if field == "every":
        fields.pop("cron")
    fields[field] = value
    with pytest.raises(ValidationError) as caught:
        CampaignScheduleRequest.model_validate(fields)
    [error] = caught.value.errors()
    assert error["loc"] == (field,) and why in error["msg"], error


def test_huge_intervals_times_and_backfills_are_one_line_errors() -> None:
    import asyncio
    from typing import cast

    from temporalio.client import Client

    from orchestrator_client.campaign_schedules import backfill_schedule

    with pytest.raises(ValueError, match="longer than ten years"):
        parse_interval("99999999999w")
    with pytest.raises(ValueError, match="out of range"):
        parse_moment("0001-01-01T00:00:00+05:00")
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(CampaignError, match="at most a year"):
        asyncio.run(backfill_schedule(cast(Client, None), "x", start, start + timedelta(days=367)))
