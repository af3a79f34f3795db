"""Settings of the reference services, from the environment (prefix REFSVC_).

The fault knobs are the fields of `FaultConfig` (REFSVC_ERROR_RATE, REFSVC_DOWN, ...): they are
the initial fault config, which PUT /admin/faults replaces at run time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_services.faults import FaultConfig


class ReferenceSettings(BaseSettings, FaultConfig):
    model_config = SettingsConfigDict(env_prefix="REFSVC_", extra="ignore", frozen=True)

    host: str = Field(default="127.0.0.1", min_length=1, description="Interface to bind.")
    port: int = Field(default=8700, ge=0, le=65535)
    require_token: SecretStr | None = Field(
        default=None,
        description="If set, every /v1 and /admin endpoint requires `Authorization: Bearer <it>`.",
    )
    max_recorded_calls: int = Field(
        default=100_000, ge=1, description="Call records kept for /admin/calls (oldest dropped)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"

    def fault_config(self) -> FaultConfig:
        """The initial fault config these settings describe."""
        return FaultConfig.model_validate(
            {name: getattr(self, name) for name in FaultConfig.model_fields}
        )
