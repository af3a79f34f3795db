"""Shared model configuration, small mixins and helpers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Contract(BaseModel):
    """Base of every contract: strict about unknown fields, so typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)


class Artifact(Contract):
    """An output of one step, produced by one service."""

    artifact_id: UUID = Field(description="Set by the producing service; stable for a request.")
    produced_at: datetime = Field(description="When the service produced it (service clock).")


def omit_unset(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """`data` without the `keys` whose value is unset (None or empty): fields added after the
    first release, left out so that a reader of the version before (which refuses unknown
    fields) still reads what this one writes."""
    for key in keys:
        if data.get(key) in (None, []):
            data.pop(key, None)
    return data


def describe_errors(err: ValidationError, root: str) -> str:
    """The first five problems of a ValidationError on one line: `field.path: message; ...`
    (a validator's own message without pydantic's "Value error, ")."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg'].removeprefix('Value error, ')}"
        for e in err.errors()[:5]
    )


def canonical_json(data: Any) -> str:
    """One text for one JSON value, whatever the order of its keys: sorted keys, no spaces,
    non-ASCII kept. What a hash or a name-based UUID of a JSON value is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
