"""Fault injection: the knobs that make the reference services misbehave on purpose.

Faults are random draws from one `random.Random(seed)` per app (not per request): with the same
seed and the same sequence of calls, the same calls fail. Replacing the config (PUT/PATCH
/admin/faults) re-seeds the generator.

Per call, in this order (only for the services the config applies to):

0. `rate_limit_per_second`: the service's own limit, as a real publisher's API has one (it
   applies to the services it names, whatever `services` says). A call beyond it is answered
   429 with Retry-After at once, before anything else; the limit is a token bucket holding one
   second of calls.
1. `latency_ms` is added to the call, and the service's own `latency_profile_ms` (a latency per
   service, e.g. content 3 s and radar 200 ms: real services at their real pace; it applies to
   the services it names, whatever `services` says).
2. `down`: the call is answered 503, nothing else happens.
3. One exclusive draw picks at most one of throttle (429 + Retry-After), error (500/502/503),
   malformed (200, not JSON), wrong_schema (200, JSON of the wrong shape) or empty (200, no body);
   their rates must add up to at most 1. An error happens after the side effect with probability
   `error_after_effect_share` (the effect is recorded and the answer stored, then lost: a retry
   with the same key gets the stored answer), before it otherwise (nothing is recorded).
   Malformed, wrong-schema and empty answers are produced after the side effect, like a service
   that did its work and then serialised its answer wrongly.
4. An independent draw makes the call slow (`slow_rate`): it is answered only after
   `slow_seconds`. A slow first call holds its idempotency key "in progress" for that time.
5. `oversize_bytes` > 0: the content service's successful answers are padded (long but valid body
   text, then JSON whitespace) so the body exceeds that many bytes.

Faults never corrupt the idempotency ledger: see `ledger.py`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from contracts.enums import ServiceName

ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)

InjectedKind = Literal[
    "rate_limited",
    "latency",
    "down",
    "throttle",
    "error_before_effect",
    "error_after_effect",
    "malformed",
    "wrong_schema",
    "empty",
    "slow",
    "oversize",
]

Outcome = Literal["none", "throttle", "error", "malformed", "wrong_schema", "empty"]

# The faults that exclude each other, in draw order: (rate field, outcome).
_EXCLUSIVE: tuple[tuple[str, Outcome], ...] = (
    ("throttle_rate", "throttle"),
    ("error_rate", "error"),
    ("malformed_rate", "malformed"),
    ("wrong_schema_rate", "wrong_schema"),
    ("empty_rate", "empty"),
)
_EXCLUSIVE_RATES = tuple(name for name, _ in _EXCLUSIVE)


class FaultConfig(BaseModel):
    """What to inject, and where. Initial values come from REFSVC_* environment variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Added to every call.")
    latency_profile_ms: Annotated[
        dict[ServiceName, Annotated[int, Field(ge=0, le=600_000)]], NoDecode
    ] = Field(
        default_factory=dict,
        description="A latency per service, added to each of its calls. In the environment: JSON "
        'or `service=ms` pairs, e.g. REFSVC_LATENCY_PROFILE_MS="radar=200,strategy=1000,'
        'content=3000,quality=500,publisher=300,learning=200".',
    )
    rate_limit_per_second: Annotated[
        dict[ServiceName, Annotated[float, Field(gt=0, le=100_000)]], NoDecode
    ] = Field(
        default_factory=dict,
        description="A service's own rate limit: calls beyond it are answered 429 with "
        "Retry-After (a token bucket of one second's calls). In the environment: JSON or "
        '`service=rate` pairs, e.g. REFSVC_RATE_LIMIT_PER_SECOND="publisher=20".',
    )
    error_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of calls answered 500, 502 or 503."
    )
    error_after_effect_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Of the injected errors, the share that happens after the side effect was "
        "recorded (the answer is lost; a retry with the same key gets the stored answer).",
    )
    slow_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of calls answered after slow_seconds."
    )
    slow_seconds: float = Field(default=5.0, ge=0.0, le=600.0)
    throttle_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of calls answered 429 with Retry-After."
    )
    throttle_retry_after_seconds: int = Field(default=1, ge=0, le=3600)
    malformed_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of calls answered 200 with a non-JSON body."
    )
    wrong_schema_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of calls answered 200 with valid JSON of the wrong shape.",
    )
    empty_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of calls answered 200 with an empty body."
    )
    oversize_bytes: int = Field(
        default=0,
        ge=0,
        le=256 * 1024 * 1024,
        description="0 = off. Otherwise the content service's successful answers are padded "
        "beyond this many bytes (still valid JSON of the right schema).",
    )
    down: bool = Field(default=False, description="Every call answers 503.")
    content_async_seconds: float = Field(
        default=0.0,
        ge=0.0,
        le=3600.0,
        description="0 = off. Otherwise the content service works asynchronously: a production "
        "is answered 202 Accepted with its status URL (Location), which answers 202 until this "
        "many seconds after the first request, then 200 with the content (docs/service-contract.md"
        ', "Long work").',
    )
    services: Annotated[list[ServiceName], NoDecode] = Field(
        default_factory=list,
        description="The services the faults apply to; empty = all. In the environment: a JSON "
        'list or a comma-separated list, e.g. REFSVC_SERVICES="publisher,content".',
    )
    seed: int = Field(default=0, description="Seed of the generator that draws the faults.")

    @field_validator("services", mode="before")
    @classmethod
    def _parse_services(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("latency_profile_ms", "rate_limit_per_second", mode="before")
    @classmethod
    def _parse_per_service(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                example = (
                    "service=rate pairs, e.g. publisher=20"
                    if info.field_name == "rate_limit_per_second"
                    else "service=ms pairs, e.g. content=3000,radar=200"
                )
                raise ValueError(f"expected {example}")
            return {name.strip(): number.strip() for name, number in pairs}
        return value

    @model_validator(mode="after")
    def _exclusive_rates_fit(self) -> FaultConfig:
        total = sum(float(getattr(self, name)) for name in _EXCLUSIVE_RATES)
        if total > 1.0 + 1e-9:
            raise ValueError(
                f"{' + '.join(_EXCLUSIVE_RATES)} must not exceed 1 (got {total:g}): "
                "each call gets at most one of these faults"
            )
        return self

    def applies_to(self, service: ServiceName) -> bool:
        return not self.services or service in self.services


@dataclass(frozen=True)
class FaultDecision:
    """The faults drawn for one call."""

    config: FaultConfig
    applies: bool
    service: ServiceName | None = None
    rate_limited: bool = False
    outcome: Outcome = "none"
    error_after_effect: bool = False
    error_status: int = 503
    slow: bool = False

    @property
    def down(self) -> bool:
        return self.applies and self.config.down

    @property
    def latency_seconds(self) -> float:
        own = self.config.latency_profile_ms.get(self.service, 0) if self.service else 0
        return (own + (self.config.latency_ms if self.applies else 0)) / 1000

    @property
    def slow_seconds(self) -> float:
        return self.config.slow_seconds if self.slow else 0.0

    def oversize_bytes(self, service: ServiceName) -> int:
        if self.applies and service is ServiceName.CONTENT:
            return self.config.oversize_bytes
        return 0


class FaultController:
    """The current FaultConfig and the seeded generator that draws faults from it."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._rng = random.Random(config.seed)
        self._buckets: dict[ServiceName, tuple[float, float]] = {}  # tokens, when counted

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def replace(self, config: FaultConfig) -> FaultConfig:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._buckets.clear()
            return config

    def _take_token(self, service: ServiceName, rate: float) -> bool:
        """One call's token from the service's bucket (capacity: one second of calls)."""
        capacity = max(1.0, rate)
        now = time.monotonic()
        tokens, then = self._buckets.get(service, (capacity, now))
        tokens = min(capacity, tokens + (now - then) * rate)
        if tokens < 1.0:
            self._buckets[service] = (tokens, now)
            return False
        self._buckets[service] = (tokens - 1.0, now)
        return True

    def draw(self, service: ServiceName) -> FaultDecision:
        with self._lock:
            config = self._config
            rate = config.rate_limit_per_second.get(service)
            if rate is not None and not self._take_token(service, rate):
                return FaultDecision(
                    config=config,
                    applies=config.applies_to(service),
                    service=service,
                    rate_limited=True,
                )
            if not config.applies_to(service):
                return FaultDecision(config=config, applies=False, service=service)
            if config.down:
                return FaultDecision(config=config, applies=True, service=service)
            rng = self._rng
            slow = rng.random() < config.slow_rate
            pick = rng.random()
            outcome: Outcome = "none"
            after = False
            status = 503
            edge = 0.0
            for name, kind in _EXCLUSIVE:
                rate = float(getattr(config, name))
                edge += rate
                if rate > 0 and pick < edge:
                    outcome = kind
                    break
            if outcome == "error":
                after = rng.random() < config.error_after_effect_share
                status = rng.choice(ERROR_STATUSES)
            return FaultDecision(
                config=config,
                applies=True,
                service=service,
                outcome=outcome,
                error_after_effect=after,
                error_status=status,
                slow=slow,
            )
