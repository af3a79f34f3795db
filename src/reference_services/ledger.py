"""The idempotency ledger: the side effects the services performed and the calls they received.

Idempotency is scoped per service: (service, Idempotency-Key) identifies one operation.

- First call with a key: `begin` marks the key "in progress"; the service does its work and
  `complete` records the side effect once and stores the exact response bytes.
- Same key, same request body (same request hash): `begin` answers "replay" with the stored bytes
  (the service answers them again with `Idempotent-Replayed: true`; no new side effect).
- Same key, different body: "conflict" (answered 422).
- Same key while the first call is still being processed: "in_progress" (answered 409).
- If processing fails before `complete`, `abort` frees the key: nothing was recorded.
- For a service that acts once per campaign (`once_per_campaign`, the publisher): a call for a
  campaign that already has an operation under another key, or under the same key with another
  body, is "already_done" with the first operation's stored answer (or "in_progress" while the
  first is still being processed). Nothing happens twice for one campaign, whatever the key.

All operations take one short `threading.Lock` and never await while holding it, so the ledger is
safe under asyncio concurrency and under threads alike.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.enums import ServiceName


class Effect(BaseModel):
    """One side effect a service performed (once per service and idempotency key)."""

    model_config = ConfigDict(frozen=True)

    service: ServiceName
    idempotency_key: str
    campaign_id: UUID
    at: datetime
    request_hash: str
    artifact_id: UUID | None = None


class CallRecord(BaseModel):
    """One call a service received, whatever its outcome (replays and injected faults too)."""

    model_config = ConfigDict(frozen=True)

    service: ServiceName
    idempotency_key: str | None
    campaign_id: UUID | None
    at: datetime
    request_hash: str | None
    outcome: str
    status_code: int
    duration_ms: float
    injected: tuple[str, ...]


@dataclass(frozen=True)
class Begin:
    kind: Literal["fresh", "replay", "conflict", "in_progress", "already_done"]
    response: bytes | None = None
    """The stored response, for a replay (and the first answer, for already_done)."""
    first_campaign_id: UUID | None = None
    """The campaign the key was first used for (for conflict messages)."""
    token: object | None = None
    """For a fresh call: what `abort` needs, so it frees only this call's own entry."""


@dataclass
class _Entry:
    request_hash: str
    campaign_id: UUID
    response: bytes | None = None  # None while in progress

    @property
    def done(self) -> bool:
        return self.response is not None


@dataclass
class ServiceCounters:
    calls: int = 0
    effects: int = 0
    replays: int = 0
    conflicts: int = 0
    in_progress: int = 0
    rejected: int = 0
    errors: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def copy(self) -> ServiceCounters:
        return copy.deepcopy(self)


class Ledger:
    """In-memory; lost on restart (these are reference services, not production ones)."""

    def __init__(self, max_recorded_calls: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[ServiceName, str], _Entry] = {}
        # once-per-campaign services: the key of each campaign's one operation
        self._campaign_keys: dict[tuple[ServiceName, UUID], str] = {}
        self._effects: list[Effect] = []
        self._calls: deque[CallRecord] = deque(maxlen=max_recorded_calls)
        self._counters: dict[ServiceName, ServiceCounters] = {
            s: ServiceCounters() for s in ServiceName
        }

    # --- idempotency -------------------------------------------------------------------------

    def begin(
        self,
        service: ServiceName,
        key: str,
        request_hash: str,
        campaign_id: UUID,
        *,
        once_per_campaign: bool = False,
    ) -> Begin:
        with self._lock:
            entry = self._entries.get((service, key))
            if once_per_campaign:
                first_key = self._campaign_keys.get((service, campaign_id))
                first = self._entries.get((service, first_key)) if first_key else None
                if first is not None and (first_key != key or first.request_hash != request_hash):
                    if first.response is None:
                        return Begin("in_progress", first_campaign_id=campaign_id)
                    return Begin(
                        "already_done", response=first.response, first_campaign_id=campaign_id
                    )
                if entry is None:
                    self._campaign_keys[(service, campaign_id)] = key
            if entry is None:
                entry = self._entries[(service, key)] = _Entry(request_hash, campaign_id)
                return Begin("fresh", token=entry)
            if entry.request_hash != request_hash:
                return Begin("conflict", first_campaign_id=entry.campaign_id)
            if entry.response is None:
                return Begin("in_progress", first_campaign_id=entry.campaign_id)
            return Begin("replay", response=entry.response, first_campaign_id=entry.campaign_id)

    def complete(
        self,
        service: ServiceName,
        key: str,
        response: bytes,
        *,
        request_hash: str,
        campaign_id: UUID,
        artifact_id: UUID | None = None,
        at: datetime | None = None,
    ) -> Effect:
        """Record the side effect of a fresh call (begun with `begin`) and store its response."""
        with self._lock:
            entry = self._entries.get((service, key))
            if entry is not None and entry.response is not None:
                raise RuntimeError(f"{service.value} key {key!r} was already completed")
            # The entry is missing only if the ledger was reset while the call was in progress:
            # the effect happened after the reset, so it is recorded after it.
            self._entries[(service, key)] = _Entry(request_hash, campaign_id, response)
            self._campaign_keys.setdefault((service, campaign_id), key)
            effect = Effect(
                service=service,
                idempotency_key=key,
                campaign_id=campaign_id,
                at=at or datetime.now(UTC),
                request_hash=request_hash,
                artifact_id=artifact_id,
            )
            self._effects.append(effect)
            self._counters[service].effects += 1
            return effect

    def abort(self, service: ServiceName, key: str, token: object | None = None) -> None:
        """Forget a call that failed before its side effect: the key can be used again. With
        the `token` of its `begin`, only if the entry is still that call's (not a later one's,
        begun after a reset)."""
        with self._lock:
            entry = self._entries.get((service, key))
            if token is not None and entry is not token:
                return
            if entry is not None and not entry.done:
                del self._entries[(service, key)]
                if self._campaign_keys.get((service, entry.campaign_id)) == key:
                    del self._campaign_keys[(service, entry.campaign_id)]

    def answer_for_key(self, service: ServiceName, key: str) -> bytes | None:
        """The stored answer of the operation with this key, once it is done."""
        with self._lock:
            entry = self._entries.get((service, key))
            return entry.response if entry else None

    def answer_for_campaign(self, service: ServiceName, campaign_id: UUID) -> bytes | None:
        """The stored answer of a once-per-campaign service's one operation for a campaign."""
        with self._lock:
            key = self._campaign_keys.get((service, campaign_id))
            entry = self._entries.get((service, key)) if key else None
            return entry.response if entry else None

    # --- call records and stats -------------------------------------------------------------

    def record_call(self, call: CallRecord) -> None:
        with self._lock:
            self._calls.append(call)
            counters = self._counters[call.service]
            counters.calls += 1
            counters.statuses[str(call.status_code)] += 1
            for kind in call.injected:
                counters.injected[kind] += 1
            if call.outcome == "replay":
                counters.replays += 1
            elif call.outcome == "conflict":
                counters.conflicts += 1
            elif call.outcome == "in_progress":
                counters.in_progress += 1
            elif call.outcome == "rejected":
                counters.rejected += 1
            elif call.outcome == "error":
                counters.errors += 1

    def effects(
        self, service: ServiceName | None = None, campaign_id: UUID | None = None
    ) -> list[Effect]:
        with self._lock:
            return [
                e
                for e in self._effects
                if (service is None or e.service is service)
                and (campaign_id is None or e.campaign_id == campaign_id)
            ]

    def calls(
        self,
        service: ServiceName | None = None,
        campaign_id: UUID | None = None,
        limit: int | None = None,
    ) -> list[CallRecord]:
        with self._lock:
            found = [
                c
                for c in self._calls
                if (service is None or c.service is service)
                and (campaign_id is None or c.campaign_id == campaign_id)
            ]
        return found[-limit:] if limit else found

    def stats(self) -> dict[ServiceName, ServiceCounters]:
        with self._lock:
            return {s: c.copy() for s, c in self._counters.items()}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._campaign_keys.clear()
            self._effects.clear()
            self._calls.clear()
            self._counters = {s: ServiceCounters() for s in ServiceName}
