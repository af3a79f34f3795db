"""Settings of the REST gateway, from the environment (prefix CAMPAIGN_GATEWAY_).

The Temporal connection comes from Temporal's envconfig (TEMPORAL_ADDRESS, ...) and the task
queue from CAMPAIGN_TASK_QUEUE, as for the worker and the starter.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGN_GATEWAY_", extra="ignore", env_ignore_empty=True, frozen=True
    )

    host: str = Field(default="127.0.0.1", min_length=1, description="Interface to bind.")
    port: int = Field(default=8800, ge=0, le=65535)
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Larger request bodies are refused with 413 before they are read.",
    )
    query_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long GET, /retry and /start wait for a worker to answer.",
    )
