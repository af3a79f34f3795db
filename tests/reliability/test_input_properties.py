"""Bad input, property-based: the contracts and the starter's input parsing never crash.

Valid inputs round-trip (through JSON and through the Temporal data converter, the path a
campaign input takes into workflow history); invalid ones raise pydantic's ValidationError naming
the field, never another exception. The starter's parser turns any text into a CampaignInput or
one CampaignInputError with a clear message.

Examples per property: 100 by default, 2000 with RELIABILITY_SCALE=full.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import (
    PIPELINE,
    CampaignBrief,
    CampaignInput,
    CampaignState,
    Channel,
    RetryRequest,
    StepRetrySettings,
)
from orchestrator_client.campaign_input import (
    CampaignInputError,
    campaign_input_from_dict,
    campaign_input_from_file,
)

FULL = os.environ.get("RELIABILITY_SCALE", "").lower() == "full"
PROPS = settings(
    max_examples=2000 if FULL else 100,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ---- strategies: valid values -----------------------------------------------------------------


def clean_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text as the contracts store it: no surrounding whitespace (they strip it), no surrogates."""
    return (
        st.text(st.characters(exclude_categories=["Cs"]), min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: min_size <= len(s) <= max_size)
    )


def durations(low: timedelta, high: timedelta) -> st.SearchStrategy[timedelta]:
    return st.timedeltas(min_value=low, max_value=high)


TINY = timedelta(microseconds=1)

briefs = st.builds(
    CampaignBrief,
    name=clean_text(1, 120),
    objective=clean_text(3, 2000),
    audience=clean_text(1, 500),
    channels=st.lists(st.sampled_from(list(Channel)), min_size=1, unique=True),
    locale=st.from_regex(r"[a-z]{2}(-[A-Z]{2})?", fullmatch=True),
    budget=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    keywords=st.lists(clean_text(1, 60), max_size=20),
)


@st.composite
def retry_settings(draw: st.DrawFn) -> StepRetrySettings:
    initial = draw(durations(TINY, timedelta(days=30)))
    return StepRetrySettings(
        initial_interval=initial,
        backoff_coefficient=draw(st.floats(min_value=1.0, max_value=10.0)),
        maximum_interval=draw(durations(initial, timedelta(days=60))),
        maximum_attempts=draw(st.integers(min_value=1, max_value=100)),
        start_to_close_timeout=draw(durations(TINY, timedelta(hours=1))),
    )


campaign_inputs = st.builds(
    CampaignInput,
    campaign_id=st.uuids(),
    execution_id=st.none() | st.uuids(),
    brief=briefs,
    max_retries=st.integers(min_value=0, max_value=20),
    retry_window=durations(TINY, timedelta(days=365)),
    step_retry=retry_settings(),
    step_retry_overrides=st.dictionaries(st.sampled_from(PIPELINE), retry_settings(), max_size=3),
    start_immediately=st.booleans(),
)

# Anything JSON can say.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def through_converter(model: BaseModel) -> Any:
    """What the workflow receives: the pydantic data converter's encode then decode."""
    converter = pydantic_data_converter.payload_converter
    return converter.from_payloads(converter.to_payloads([model]), [type(model)])[0]


def assert_names_field(err: ValidationError, field: str) -> None:
    locs = [".".join(str(part) for part in e["loc"]) for e in err.errors()]
    assert any(loc == field or loc.startswith(field + ".") for loc in locs), (field, locs)


# ---- valid inputs round-trip ------------------------------------------------------------------


@PROPS
@given(briefs)
def test_a_valid_brief_round_trips(brief: CampaignBrief) -> None:
    assert CampaignBrief.model_validate_json(brief.model_dump_json()) == brief
    assert CampaignBrief.model_validate(brief.model_dump(mode="json")) == brief
    assert through_converter(brief) == brief


@PROPS
@given(retry_settings())
def test_valid_retry_settings_round_trip(policy: StepRetrySettings) -> None:
    assert StepRetrySettings.model_validate_json(policy.model_dump_json()) == policy
    assert through_converter(policy) == policy


@PROPS
@given(campaign_inputs)
def test_a_valid_campaign_input_round_trips_into_the_workflow(campaign: CampaignInput) -> None:
    assert CampaignInput.model_validate_json(campaign.model_dump_json()) == campaign
    assert through_converter(campaign) == campaign
    for state in PIPELINE:
        assert campaign.retry_settings_for(state) in (
            campaign.step_retry,
            campaign.step_retry_overrides.get(state),
        )


# ---- invalid inputs: ValidationError naming the field, never another exception ----------------

VALID_BRIEF: dict[str, Any] = {
    "name": "Spring launch",
    "objective": "Drive pre-orders",
    "audience": "Trail runners",
    "channels": ["email"],
}

BAD_BRIEF_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.just("")
    | st.just("   ")
    | st.text(min_size=121, max_size=200).filter(lambda s: len(s.strip()) > 120)
    | st.integers()
    | st.none()
    | st.lists(st.text(), max_size=2),
    "objective": st.sampled_from(["", "ab", " a "]) | st.integers() | st.none(),
    "audience": st.just("") | st.booleans() | st.dictionaries(st.text(max_size=3), st.text()),
    "channels": st.just([])
    | st.lists(st.sampled_from([c.value for c in Channel]), min_size=2).filter(
        lambda cs: len(set(cs)) < len(cs)
    )
    | st.lists(
        st.text(max_size=8).filter(lambda s: s not in {c.value for c in Channel}), min_size=1
    )
    | st.text(max_size=8).filter(lambda s: s not in {c.value for c in Channel}),
    "locale": st.text(max_size=8).filter(
        lambda s: (
            not (
                len(s) in (2, 5)
                and s[:2].isascii()
                and s[:2].isalpha()
                and s[:2].islower()
                and (len(s) == 2 or (s[2] == "-" and s[3:].isascii() and s[3:].isupper()))
            )
        )
    ),
    "budget": st.floats(max_value=-1e-9)
    | st.floats(min_value=1e9, exclude_min=True)
    | st.just("lots"),
    "keywords": st.lists(st.just(""), min_size=1)
    | st.lists(st.text(min_size=61, max_size=80).filter(lambda s: len(s.strip()) > 60), min_size=1)
    | st.lists(st.just("k"), min_size=21, max_size=25),
}


@PROPS
@given(st.data())
def test_an_invalid_brief_field_is_named(data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(BAD_BRIEF_VALUES)))
    value = data.draw(BAD_BRIEF_VALUES[field])
    document = {**VALID_BRIEF, field: value}
    try:
        CampaignBrief.model_validate(document)
    except ValidationError as err:
        assert_names_field(err, field)
    else:
        raise AssertionError(f"accepted {field}={value!r}")


@PROPS
@given(st.sampled_from(sorted(VALID_BRIEF)))
def test_a_missing_brief_field_is_named(field: str) -> None:
    document = {k: v for k, v in VALID_BRIEF.items() if k != field}
    try:
        CampaignBrief.model_validate(document)
    except ValidationError as err:
        assert_names_field(err, field)
    else:
        raise AssertionError(f"accepted a brief without {field}")


@PROPS
@given(st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_any_json_object_is_a_brief_or_a_validation_error(document: dict[str, Any]) -> None:
    try:
        CampaignBrief.model_validate(document)
    except ValidationError as err:
        assert err.errors()


@PROPS
@given(
    initial=st.integers(min_value=2, max_value=10_000),
    smaller=st.integers(min_value=1, max_value=10_000),
)
def test_maximum_interval_below_initial_is_refused(initial: int, smaller: int) -> None:
    assume(smaller < initial)
    try:
        StepRetrySettings(
            initial_interval=timedelta(milliseconds=initial),
            maximum_interval=timedelta(milliseconds=smaller),
        )
    except ValidationError as err:
        assert "maximum_interval must be >= initial_interval" in str(err)
    else:
        raise AssertionError("accepted maximum_interval < initial_interval")


BAD_RETRY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "initial_interval": st.sampled_from(["PT0S", "-PT1S", "soon", 0, -5]),
    "backoff_coefficient": st.floats(max_value=0.999)
    | st.floats(min_value=10.001)
    | st.just("double"),
    "maximum_attempts": st.integers(max_value=0) | st.integers(min_value=101) | st.just(2.5),
    "start_to_close_timeout": st.sampled_from(["PT0S", "PT1H0.001S", "P1D", "never", -1]),
}


@PROPS
@given(st.data())
def test_an_invalid_retry_setting_is_named(data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(BAD_RETRY_VALUES)))
    value = data.draw(BAD_RETRY_VALUES[field])
    try:
        StepRetrySettings.model_validate({field: value})
    except ValidationError as err:
        assert_names_field(err, field)
    else:
        raise AssertionError(f"accepted {field}={value!r}")


BAD_INPUT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "campaign_id": st.text(max_size=40).filter(lambda s: not _is_uuid(s)) | st.integers(),
    "execution_id": st.text(min_size=1, max_size=10),
    "max_retries": st.integers(max_value=-1) | st.integers(min_value=21),
    "retry_window": st.sampled_from(["PT0S", "P366D", "-P1D", "a week"]),
    "step_retry": json_values.filter(lambda v: v != {} and not isinstance(v, dict))
    | st.just({"maximum_attempts": 0}),
    "step_retry_overrides": st.sampled_from(
        [{"IDLE": {}}, {"FAILED": {}}, {"PUBLISHING": {}}, {"PUBLISH": {"maximum_attempts": 0}}]
    ),
    "start_immediately": st.sampled_from(["perhaps", 2, [], {}]),
}


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


@PROPS
@given(st.data())
def test_an_invalid_campaign_input_field_is_named(data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(BAD_INPUT_VALUES)))
    value = data.draw(BAD_INPUT_VALUES[field])
    document = {
        "campaign_id": "7f0c1a57-9a8e-4b5e-8a0e-2f1d3c4b5a69",
        "brief": VALID_BRIEF,
        field: value,
    }
    try:
        CampaignInput.model_validate(document)
    except ValidationError as err:
        assert_names_field(err, field)
    else:
        raise AssertionError(f"accepted {field}={value!r}")


def test_overrides_for_a_state_that_is_not_a_step_say_which_are_steps() -> None:
    try:
        CampaignInput.model_validate(
            {"campaign_id": "7f0c1a57-9a8e-4b5e-8a0e-2f1d3c4b5a69", "brief": VALID_BRIEF}
            | {"step_retry_overrides": {CampaignState.FAILED.value: {}}}
        )
    except ValidationError as err:
        assert_names_field(err, "step_retry_overrides")
        assert "RADAR_SCAN" in str(err) and "LEARN" in str(err)
    else:
        raise AssertionError("accepted overrides for FAILED")


@PROPS
@given(json_values)
def test_any_signal_argument_is_a_retry_request_or_a_validation_error(value: Any) -> None:
    """What the SDK does with a `retry` signal's argument (see test_bad_signals.py)."""
    try:
        RetryRequest.model_validate(value)
    except ValidationError as err:
        assert err.errors()


# ---- the starter: any text is a CampaignInput or one clear CampaignInputError -----------------


def _parse_file(content: bytes, overrides: dict[str, Any] | None = None) -> CampaignInput | str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "campaign.json"
        path.write_bytes(content)
        try:
            return campaign_input_from_file(path, overrides)
        except CampaignInputError as err:
            message = str(err)
            assert message.startswith(str(path)), message  # says which file
            assert len(message) > len(str(path)) + 5 and "\n" not in message, message
            return message


def _parse_dict(data: Any, overrides: dict[str, Any] | None = None) -> CampaignInput | str:
    try:
        return campaign_input_from_dict(data, overrides)
    except CampaignInputError as err:
        message = str(err)
        assert message.strip() and "\n" not in message, message
        return message


@PROPS
@given(st.binary(max_size=300))
def test_any_bytes_in_a_campaign_file_parse_or_fail_clearly(content: bytes) -> None:
    _parse_file(content)


@PROPS
@given(st.text(max_size=300))
def test_any_text_in_a_campaign_file_parses_or_fails_clearly(text: str) -> None:
    _parse_file(text.encode("utf-8", "surrogatepass"))


@PROPS
@given(
    json_values,
    st.dictionaries(st.sampled_from(["campaign_id", "max_retries", "brief"]), json_values),
)
def test_any_json_document_and_flags_parse_or_fail_clearly(
    data: Any, overrides: dict[str, Any]
) -> None:
    _parse_dict(data, overrides)
    _parse_file(json.dumps(data).encode(), overrides)


@PROPS
@given(briefs, st.sampled_from(["bare", "wrapped"]))
def test_a_valid_brief_file_parses_to_that_brief(brief: CampaignBrief, shape: str) -> None:
    data = brief.model_dump(mode="json")
    document = data if shape == "bare" else {"brief": data, "max_retries": 2}
    parsed = _parse_file(json.dumps(document).encode())
    assert isinstance(parsed, CampaignInput), parsed
    assert parsed.brief == brief


@PROPS
@given(st.sampled_from(sorted(VALID_BRIEF)), json_values)
def test_a_bad_brief_field_in_a_file_is_named_with_its_path(field: str, value: Any) -> None:
    parsed = _parse_file(json.dumps({**VALID_BRIEF, field: value}).encode())
    if isinstance(parsed, str):
        assert f"brief.{field}" in parsed, parsed


def test_pathological_files_fail_clearly() -> None:
    for content, expected in (
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000, "not usable JSON"),
        (b'{"budget": ' + b"9" * 5000 + b"}", "not usable JSON"),
        (b"", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"brief": "x"}', "brief"),
    ):
        parsed = _parse_file(content)
        assert isinstance(parsed, str) and expected in parsed, (content[:20], parsed)
