"""Turns what an operator types (flags, a JSON file, a JSONL line) into a CampaignInput, or
into one clear error that names every bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from contracts import CampaignInput


class CampaignInputError(ValueError):
    pass


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line: `field.path: message; ...`. A key that is not a plain name is quoted as JSON,
    so a key holding a newline or a dot still reads as one field."""
    parts = []
    for e in err.errors():
        loc = ".".join(_loc_part(p) for p in e["loc"]) or "<input>"
        message = " ".join(e["msg"].removeprefix("Value error, ").split())
        parts.append(f"{prefix}{loc}: {message}")
    return "; ".join(parts)


def _loc_part(part: str | int) -> str:
    text = str(part)
    return text if text.isidentifier() or isinstance(part, int) else json.dumps(text)


def campaign_input_from_dict(data: Any, overrides: dict[str, Any] | None = None) -> CampaignInput:
    """A full CampaignInput object, or a bare brief (no "brief" key). Flags in `overrides` win:
    keys of CampaignInput at the top level, brief fields under "brief"."""
    if not isinstance(data, dict):
        raise CampaignInputError(f"expected a JSON object, got {type(data).__name__}")
    document: dict[str, Any] = dict(data) if "brief" in data else {"brief": dict(data)}
    overrides = dict(overrides or {})
    brief_overrides = overrides.pop("brief", {})
    if brief_overrides:
        if not isinstance(document["brief"], dict) or not isinstance(brief_overrides, dict):
            raise CampaignInputError("brief: must be a JSON object")
        document["brief"] = {**document["brief"], **brief_overrides}
    document.update(overrides)
    document.setdefault("campaign_id", str(uuid4()))
    try:
        return CampaignInput.model_validate(document)
    except ValidationError as err:
        raise CampaignInputError(describe_validation_error(err)) from None


def parse_json(raw: bytes | str, *, with_line: bool = True) -> Any:
    """`raw` as JSON, or a CampaignInputError in one line: not UTF-8, where it is not JSON (the
    line too, `with_line`: for a file), or JSON Python cannot hold (huge integers, deep nesting)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as err:
        raise CampaignInputError(f"not UTF-8 text (byte {err.start}: {err.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = f"line {err.lineno} column {err.colno}" if with_line else f"column {err.colno}"
        raise CampaignInputError(f"not valid JSON at {at}: {err.msg}") from None
    except (ValueError, RecursionError) as err:
        raise CampaignInputError(f"not usable JSON: {str(err)[:200]}") from None


def campaign_input_from_file(path: Path, overrides: dict[str, Any] | None = None) -> CampaignInput:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CampaignInputError(f"cannot read {path}: {err.strerror}") from None
    try:
        return campaign_input_from_dict(parse_json(raw), overrides)
    except CampaignInputError as err:
        raise CampaignInputError(f"{path}: {err}") from None
