"""The one line that names each bad setting of a pydantic-settings class (every program's)."""

from __future__ import annotations

from pydantic import ValidationError


def invalid_settings(err: ValidationError, prefix: str) -> str:
    """`invalid settings: PREFIX_VAR: message; ...`, the validator's own message without
    pydantic's "Value error, "."""
    problems = []
    for e in err.errors():
        var = "_".join(str(p) for p in e["loc"]).upper()
        message = e["msg"].removeprefix("Value error, ")
        problems.append(f"{prefix}{var}: {message}" if var else message)
    return "invalid settings: " + "; ".join(problems)
