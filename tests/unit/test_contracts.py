"""The contracts: field-level validation, payload helpers, serialisation, endpoints, the gate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import (
    ENDPOINTS,
    PIPELINE,
    SERVICE_FOR_STATE,
    CampaignBrief,
    CampaignInput,
    CampaignPayload,
    CampaignState,
    Channel,
    FailureReason,
    LogAction,
    QualityCheck,
    QualityReport,
    QualityVerdict,
    ServiceName,
    Severity,
    StepRetrySettings,
    TraceEntry,
)
from workflows.quality_gate import gate_problems

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def brief_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Spring Launch",
        "objective": "Grow trial sign-ups",
        "audience": "Retail owners",
        "channels": ["email", "social"],
    }
    data.update(overrides)
    return data


def input_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"campaign_id": str(uuid.uuid4()), "brief": brief_data()}
    data.update(overrides)
    return data


def error_locs(err: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    return [e["loc"] for e in err.value.errors()]


# ---- CampaignBrief / CampaignInput validation --------------------------------------------------


def test_valid_brief_and_input() -> None:
    brief = CampaignBrief.model_validate(brief_data(locale="es", keywords=["  spring  "]))
    assert brief.channels == [Channel.EMAIL, Channel.SOCIAL]
    assert brief.keywords == ["spring"]
    campaign = CampaignInput.model_validate(input_data())
    assert campaign.max_retries == 3
    assert campaign.retry_window == timedelta(days=7)
    assert campaign.start_immediately is True


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"name": ""}, ("name",)),
        ({"name": "   "}, ("name",)),  # stripped, then too short
        ({"objective": "ab"}, ("objective",)),
        ({"locale": "english"}, ("locale",)),
        ({"locale": "en-us"}, ("locale",)),
        ({"channels": []}, ("channels",)),
        ({"channels": ["email", "email"]}, ("channels",)),
        ({"channels": ["email", "fax"]}, ("channels", 1)),
        ({"budget": -1}, ("budget",)),
        ({"keywords": ["ok", ""]}, ("keywords",)),
        ({"colour": "blue"}, ("colour",)),
    ],
)
def test_brief_errors_name_the_field(overrides: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        CampaignBrief.model_validate(brief_data(**overrides))
    assert error_locs(err) == [loc]


def test_duplicate_channels_message() -> None:
    with pytest.raises(ValidationError) as err:
        CampaignBrief.model_validate(brief_data(channels=["blog", "blog"]))
    assert "channels must not repeat" in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"max_retries": -1}, ("max_retries",)),
        ({"max_retries": 21}, ("max_retries",)),
        ({"retry_window": "PT0S"}, ("retry_window",)),
        ({"retry_window": -5}, ("retry_window",)),
        ({"retry_window": "P400D"}, ("retry_window",)),
        ({"campaign_id": "not-a-uuid"}, ("campaign_id",)),
        ({"brief": brief_data(name="")}, ("brief", "name")),
        ({"unexpected": True}, ("unexpected",)),
        ({"priority": 0}, ("priority",)),
        ({"priority": 6}, ("priority",)),
        ({"priority": "urgent"}, ("priority",)),
        ({"brand": ""}, ("brand",)),
        ({"brand": "é" * 33}, ("brand",)),  # 66 bytes: over Temporal's 64
        ({"brand": 7}, ("brand",)),
        ({"step_retry": {"maximum_attempts": 0}}, ("step_retry", "maximum_attempts")),
        ({"step_retry": {"initial_interval": 0}}, ("step_retry", "initial_interval")),
        (
            {"step_retry": {"initial_interval": "PT10S", "maximum_interval": "PT1S"}},
            ("step_retry",),
        ),
        ({"step_retry_overrides": {"FAILED": {}}}, ("step_retry_overrides",)),
        ({"step_retry_overrides": {"IDLE": {}}}, ("step_retry_overrides",)),
        (
            {"step_retry_overrides": {"NOT_A_STATE": {}}},
            ("step_retry_overrides", "NOT_A_STATE", "[key]"),
        ),
    ],
)
def test_input_errors_name_the_field(overrides: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        CampaignInput.model_validate(input_data(**overrides))
    assert error_locs(err) == [loc]


def test_missing_brief_is_reported() -> None:
    data = input_data()
    del data["brief"]
    with pytest.raises(ValidationError) as err:
        CampaignInput.model_validate(data)
    assert error_locs(err) == [("brief",)]
    assert err.value.errors()[0]["type"] == "missing"


def test_step_retry_overrides_message_names_the_bad_key() -> None:
    with pytest.raises(ValidationError) as err:
        CampaignInput.model_validate(input_data(step_retry_overrides={"FAILED": {}}))
    assert "FAILED is not a step" in str(err.value)


def test_step_retry_overrides_for_a_step() -> None:
    campaign = CampaignInput.model_validate(
        input_data(step_retry_overrides={"PUBLISH": {"maximum_attempts": 9}})
    )
    assert campaign.retry_settings_for(CampaignState.PUBLISH).maximum_attempts == 9
    assert campaign.retry_settings_for(CampaignState.LEARN) == campaign.step_retry


def test_step_retry_settings_interval_order() -> None:
    with pytest.raises(ValidationError) as err:
        StepRetrySettings(
            initial_interval=timedelta(seconds=5), maximum_interval=timedelta(seconds=1)
        )
    assert "maximum_interval must be >= initial_interval" in str(err.value)
    equal = StepRetrySettings(
        initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=2)
    )
    assert equal.maximum_interval == equal.initial_interval


def test_campaign_input_json_round_trip() -> None:
    original = CampaignInput.model_validate(
        input_data(
            execution_id=str(uuid.uuid4()),
            max_retries=5,
            retry_window="P2DT3H",
            step_retry={"initial_interval": "PT0.25S", "maximum_interval": "PT4S"},
            step_retry_overrides={"QUALITY_AUDIT": {"maximum_attempts": 2}},
            start_immediately=False,
        )
    )
    text = original.model_dump_json()
    assert '"retry_window":"P2DT3H"' in text
    assert '"initial_interval":"PT0.25S"' in text
    again = CampaignInput.model_validate_json(text)
    assert again == original
    assert again.retry_window == timedelta(days=2, hours=3)
    assert again.step_retry.initial_interval == timedelta(milliseconds=250)
    assert again.step_retry_overrides[CampaignState.QUALITY_AUDIT].maximum_attempts == 2


# ---- CampaignPayload helpers -------------------------------------------------------------------


def new_payload(**overrides: Any) -> CampaignPayload:
    values: dict[str, Any] = dict(
        campaign_id=uuid.uuid4(),
        execution_id=uuid.uuid4(),
        brief=CampaignBrief.model_validate(brief_data()),
    )
    values.update(overrides)
    return CampaignPayload(**values)


def test_add_trace_numbers_entries_and_records_state() -> None:
    p = new_payload()
    first = p.add_trace("orchestrator", LogAction.CAMPAIGN_CREATED, at=T0)
    p.state = CampaignState.RADAR_SCAN
    second = p.add_trace("orchestrator", LogAction.STEP_STARTED, {"service": "radar"}, at=T0)
    p.state = CampaignState.STRATEGY_GEN
    third = p.add_trace("radar", LogAction.STEP_COMPLETED, at=T0 + timedelta(seconds=3))

    assert [e.seq for e in p.execution_log] == [1, 2, 3]
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert [e.state for e in p.execution_log] == [
        CampaignState.IDLE,
        CampaignState.RADAR_SCAN,
        CampaignState.STRATEGY_GEN,
    ]
    assert first.at == T0
    assert third.at == T0 + timedelta(seconds=3)
    assert second.details == {"service": "radar"}
    assert first.details == {}
    assert third.actor_service == "radar"
    assert p.execution_log[-1] is third


def test_execution_log_must_be_contiguous() -> None:
    entry = {"at": T0, "actor_service": "orchestrator", "action": "x", "state": "IDLE"}
    new_payload(execution_log=[{**entry, "seq": 1}, {**entry, "seq": 2}])
    with pytest.raises(ValidationError) as err:
        new_payload(execution_log=[{**entry, "seq": 1}, {**entry, "seq": 3}])
    assert "execution_log entry 2 has seq 3" in str(err.value)
    with pytest.raises(ValidationError):
        new_payload(execution_log=[{**entry, "seq": 2}])
    with pytest.raises(ValidationError):
        TraceEntry.model_validate({**entry, "seq": 0})


def test_mark_failed_and_retry_state() -> None:
    p = new_payload(max_retries=1)
    assert not p.is_terminal()
    assert not p.can_retry()  # not FAILED

    p.state = CampaignState.PUBLISH
    failure = p.mark_failed(
        FailureReason.SERVICE_REJECTED, "400 bad", step=CampaignState.PUBLISH, at=T0
    )
    assert p.state is CampaignState.FAILED
    assert p.failure is failure
    assert (failure.reason, failure.step, failure.message, failure.failed_at) == (
        FailureReason.SERVICE_REJECTED,
        CampaignState.PUBLISH,
        "400 bad",
        T0,
    )
    assert p.can_retry()
    assert not p.is_terminal()

    p.retry_count = 1
    assert not p.can_retry()
    assert p.is_terminal()


def test_learn_is_terminal_and_not_retryable() -> None:
    p = new_payload(state=CampaignState.LEARN)
    assert p.is_terminal()
    assert not p.can_retry()


def test_no_retries_at_all() -> None:
    p = new_payload(max_retries=0)
    p.mark_failed(FailureReason.TIMEOUT, "slow", step=CampaignState.RADAR_SCAN, at=T0)
    assert not p.can_retry()
    assert p.is_terminal()


def test_payload_json_round_trip_keeps_the_log() -> None:
    p = new_payload()
    p.add_trace("orchestrator", LogAction.CAMPAIGN_CREATED, {"n": 1, "list": [1, "a"]}, at=T0)
    p.mark_failed(FailureReason.TIMEOUT, "slow", step=CampaignState.RADAR_SCAN, at=T0)
    again = CampaignPayload.model_validate_json(p.model_dump_json())
    assert again == p


# ---- enums and endpoints -----------------------------------------------------------------------


def test_retryable_by_temporal() -> None:
    retryable = {r for r in FailureReason if r.retryable_by_temporal}
    assert retryable == {FailureReason.SERVICE_UNAVAILABLE, FailureReason.TIMEOUT}


def test_endpoints_cover_every_service_and_step_once() -> None:
    assert set(ENDPOINTS) == set(ServiceName)
    assert all(endpoint.service is name for name, endpoint in ENDPOINTS.items())
    states = [endpoint.state for endpoint in ENDPOINTS.values()]
    assert sorted(states) == sorted(PIPELINE)
    assert len(set(states)) == len(PIPELINE) == 6
    assert set(SERVICE_FOR_STATE) == set(PIPELINE)
    paths = [endpoint.path for endpoint in ENDPOINTS.values()]
    assert len(set(paths)) == len(paths)
    assert all(path.startswith("/v1/") for path in paths)


# ---- the quality gate --------------------------------------------------------------------------


def report(verdict: QualityVerdict, *checks: QualityCheck) -> QualityReport:
    return QualityReport(
        artifact_id=uuid.uuid4(),
        produced_at=T0,
        verdict=verdict,
        checks=list(checks),
        audited_revision=0,
    )


def test_gate_closed_without_report() -> None:
    assert gate_problems(None) == ["no quality report"]


def test_gate_closed_on_fail_verdict() -> None:
    assert gate_problems(report(QualityVerdict.FAIL)) == ["verdict FAIL"]


def test_gate_closed_on_critical_check_despite_pass() -> None:
    problems = gate_problems(
        report(
            QualityVerdict.PASS,
            QualityCheck(
                name="claims",
                passed=False,
                severity=Severity.CRITICAL,
                message="unsubstantiated",
                channel=Channel.EMAIL,
            ),
        )
    )
    assert len(problems) == 1
    assert "claims" in problems[0]
    assert "email" in problems[0]
    assert "unsubstantiated" in problems[0]


def test_gate_open_with_passing_critical_and_failing_warning() -> None:
    assert (
        gate_problems(
            report(
                QualityVerdict.PASS,
                QualityCheck(name="claims", passed=True, severity=Severity.CRITICAL),
                QualityCheck(name="length", passed=False, severity=Severity.WARNING),
                QualityCheck(name="emoji", passed=False, severity=Severity.INFO),
            )
        )
        == []
    )


def test_gate_lists_every_problem() -> None:
    problems = gate_problems(
        report(
            QualityVerdict.FAIL,
            QualityCheck(name="a", passed=False, severity=Severity.CRITICAL),
            QualityCheck(name="b", passed=False, severity=Severity.CRITICAL),
        )
    )
    assert problems[0] == "verdict FAIL"
    assert len(problems) == 3


def test_brand_and_priority_are_optional_and_bounded() -> None:
    plain = CampaignInput.model_validate(input_data())
    assert (plain.brand, plain.priority) == (None, None)
    keyed = CampaignInput.model_validate(input_data(brand="é" * 32, priority=1))
    assert (len(keyed.brand.encode()), keyed.priority) == (64, 1)  # type: ignore[union-attr]


async def test_unset_brand_and_priority_are_left_out_of_the_payload() -> None:
    """A worker of the version before them refuses unknown keys: today's clients must not send
    them when unset (what Temporal's pydantic converter puts on the wire)."""
    import json

    from temporalio.contrib.pydantic import pydantic_data_converter

    plain = CampaignInput.model_validate(input_data())
    (payload,) = await pydantic_data_converter.encode([plain])
    assert not {"brand", "priority"} & set(json.loads(payload.data))
    keyed = plain.model_copy(update={"brand": "acme", "priority": 2})
    (payload,) = await pydantic_data_converter.encode([keyed])
    assert {"brand": "acme", "priority": 2}.items() <= json.loads(payload.data).items()
    with pytest.raises(ValidationError):
        CampaignInput.model_validate(input_data(priority=True))  # not taken as 1
