"""Fault injection for retry tests: failed requests and responses lost after the fact.

Two kinds of trouble a real Hub causes a client:
- a request refused or cut before it is processed (``503``, ``429`` or a dropped connection),
  drawn at random (seeded, reproducible) for a share ``rate`` of all requests, or aimed at the
  next requests matching a method and path;
- a request that the server *applied* but whose response never arrived (the connection drops
  after the work is done): the case that makes retries of non-idempotent calls dangerous.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

FAULT_KINDS = ("503", "429", "drop")


@dataclass
class HubStats:
    """Request counters, for tests that need to see faults were really injected."""

    requests: int = 0
    faults: int = 0
    dropped_responses: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


class FaultInjector:
    """Decides, per request, whether to fail it; counts everything in ``stats``."""

    def __init__(self, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        self.stats = HubStats()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 (reproducible faults, not crypto)
        self._dropped: list[tuple[str, str]] = []  # (method, path substring), one per drop
        self._refused: list[tuple[str, str, str]] = []  # (method, path substring, fault)
        self.configure(rate, kinds)

    def configure(self, rate: float, kinds: tuple[str, ...]) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {FAULT_KINDS}.")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rate}.")
        with self._lock:
            self.rate, self.kinds = rate, tuple(kinds)

    def drop_response(self, method: str, path_contains: str, times: int = 1) -> None:
        """Apply the next ``times`` matching requests, then drop their connections unanswered."""
        with self._lock:
            self._dropped.extend([(method.upper(), path_contains)] * times)

    def refuse(self, method: str, path_contains: str, fault: str = "503", times: int = 1) -> None:
        """Answer the next ``times`` matching requests with ``fault`` without processing them."""
        if fault not in FAULT_KINDS:
            raise ValueError(f"fault must be one of {FAULT_KINDS}, got {fault!r}.")
        with self._lock:
            self._refused.extend([(method.upper(), path_contains, fault)] * times)

    def record_request(self, method: str, path: str, route: str) -> str | None:
        """Count a request; return the fault to inject before processing it, if any."""
        with self._lock:
            self.stats.requests += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            for index, (wanted_method, fragment, fault) in enumerate(self._refused):
                if wanted_method == method and fragment in path:
                    del self._refused[index]
                    self.stats.faults += 1
                    return fault
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            self.stats.faults += 1
            return self._rng.choice(self.kinds)

    def take_dropped_response(self, method: str, path: str) -> bool:
        """Whether to drop this (already applied) request's response; consumes one drop."""
        with self._lock:
            for index, (wanted_method, fragment) in enumerate(self._dropped):
                if wanted_method == method and fragment in path:
                    del self._dropped[index]
                    self.stats.dropped_responses += 1
                    return True
            return False
