"""`bench.realistic.where_time_went`: a campaign's history split into waits and runs."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    HistoryEvent,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)

from bench.realistic import where_time_went


def _event(
    event_id: int, at_ms: int, event_type: EventType.ValueType, **attrs: object
) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=event_type)
    e.event_time.FromMilliseconds(at_ms)
    for field, value in attrs.items():
        getattr(e, field).CopyFrom(value)
    return e


def test_waits_and_runs_are_summed_by_kind() -> None:
    T = EventType
    events = [
        _event(1, 0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(2, 0, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        _event(3, 40, T.EVENT_TYPE_WORKFLOW_TASK_STARTED,
               workflow_task_started_event_attributes=WorkflowTaskStartedEventAttributes(
                   scheduled_event_id=2)),
        _event(4, 50, T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
               workflow_task_completed_event_attributes=WorkflowTaskCompletedEventAttributes(
                   started_event_id=3)),
        _event(5, 50, T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(6, 250, T.EVENT_TYPE_ACTIVITY_TASK_STARTED,
               activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
                   scheduled_event_id=5)),
        _event(7, 1250, T.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
               activity_task_timed_out_event_attributes=ActivityTaskTimedOutEventAttributes(
                   scheduled_event_id=5, started_event_id=6)),
        _event(8, 1250, T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(9, 1260, T.EVENT_TYPE_ACTIVITY_TASK_STARTED,
               activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
                   scheduled_event_id=8)),
        _event(10, 1560, T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
               activity_task_completed_event_attributes=ActivityTaskCompletedEventAttributes(
                   scheduled_event_id=8, started_event_id=9)),
    ]  # fmt: skip
    assert where_time_went(events) == {
        "workflow_task_wait": 40.0,
        "workflow_task_run": 10.0,
        "activity_wait": 200.0 + 10.0,
        "activity_run": 1000.0 + 300.0,
    }
