"""Injected faults (latency, failing calls, failing or slow boots) and call counting.

Rules match a request by service (identity, compute, image, network), HTTP method and a
regular expression searched in the path. None of this is saved with the state: a restart
or a reset starts with a well-behaved cloud.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field

_ID_SEGMENT = re.compile(
    r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})(?=/|$)"
)

FAILURE_ACTIONS = ("500", "503", "drop")


def _check_count(count: int | None) -> None:
    # on_call counts a rule down, so anything but a positive int would break every call the
    # rule matches, or (0) still fire once.
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or None, not %r" % (count,))


def normalize_path(path: str) -> str:
    """Replace ids in a path with `{id}`, so that calls count per route, not per object."""
    return _ID_SEGMENT.sub("/{id}", path)


@dataclass
class Match:
    """Which requests a rule applies to; empty fields match everything."""

    service: str = ""
    method: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self._regex = re.compile(self.path) if self.path else None

    def matches(self, service: str, method: str, path: str) -> bool:
        """True when the request falls under this rule."""
        if self.service and self.service != service:
            return False
        if self.method and self.method != method:
            return False
        return self._regex is None or self._regex.search(path) is not None


@dataclass
class LatencyRule:
    """Delay matching calls by `min_s` seconds, or a random time in [min_s, max_s]."""

    match: Match
    min_s: float
    max_s: float
    remaining: int | None = None
    id: int = 0


@dataclass
class FailureRule:
    """Make the next `remaining` matching calls fail with `action` (500, 503 or drop)."""

    match: Match
    action: str
    remaining: int | None = 1
    id: int = 0


@dataclass
class BootPlan:
    """How new servers boot: fail with a probability or for the next N, slow for the next N."""

    fail_probability: float = 0.0
    fail_next: int = 0
    fail_message: str | None = None
    slow: list[list[float]] = field(default_factory=list)


class Faults:
    """The registry of active fault rules and the per-route call counters."""

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.clear()
        self.calls_clear()

    def clear(self) -> None:
        """Remove every rule: the cloud behaves again."""
        with self.lock:
            self.latency: list[LatencyRule] = []
            self.failures: list[FailureRule] = []
            self.boots = BootPlan()
            self._next_id = 1

    def calls_clear(self) -> None:
        """Zero the call counters."""
        with self.lock:
            self.by_service: Counter = Counter()
            self.by_route: Counter = Counter()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def add_latency(
        self, match: Match, min_s: float, max_s: float | None = None, count: int | None = None
    ) -> LatencyRule:
        """Add a latency rule; `count` limits it to the next N matching calls."""
        _check_count(count)
        with self.lock:
            rule = LatencyRule(match, float(min_s), float(max_s if max_s is not None else min_s))
            rule.remaining = count
            rule.id = self._new_id()
            self.latency.append(rule)
            return rule

    def add_failure(self, match: Match, action: str, count: int | None = 1) -> FailureRule:
        """Add a failure rule for the next `count` matching calls (None: until cleared)."""
        if action not in FAILURE_ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(FAILURE_ACTIONS))
        _check_count(count)
        with self.lock:
            rule = FailureRule(match, action, count, self._new_id())
            self.failures.append(rule)
            return rule

    def on_call(self, service: str, method: str, path: str) -> tuple[float, str | None]:
        """Count a call and decide its fate: (seconds to sleep, failure action or None)."""
        with self.lock:
            self.by_service[service] += 1
            self.by_route["%s %s" % (method, normalize_path(path))] += 1

            delay = 0.0
            for rule in list(self.latency):
                if rule.match.matches(service, method, path):
                    delay += self.random.uniform(rule.min_s, rule.max_s)
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self.latency.remove(rule)

            action = None
            for rule in self.failures:
                if rule.match.matches(service, method, path):
                    action = rule.action
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self.failures.remove(rule)
                    break
            return delay, action

    def plan_boot(self) -> tuple[bool, str | None, float | None]:
        """Decide for one new server: (fails, fault message, boot time override or None)."""
        with self.lock:
            plan = self.boots
            fails = False
            if plan.fail_next > 0:
                plan.fail_next -= 1
                fails = True
            elif plan.fail_probability > 0:
                fails = self.random.random() < plan.fail_probability
            boot_time = None
            if plan.slow:
                boot_time, left = plan.slow[0]
                if left <= 1:
                    plan.slow.pop(0)
                else:
                    plan.slow[0][1] = left - 1
            return fails, plan.fail_message, boot_time

    def describe(self) -> dict:
        """The active rules, JSON-ready."""
        with self.lock:

            def rule_dict(rule) -> dict:
                data = asdict(rule)
                data["match"] = {
                    "service": rule.match.service,
                    "method": rule.match.method,
                    "path": rule.match.path,
                }
                return data

            return {
                "latency": [rule_dict(r) for r in self.latency],
                "failures": [rule_dict(r) for r in self.failures],
                "boots": asdict(self.boots),
            }

    def calls(self) -> dict:
        """Call counts per service and per route (method and path with ids replaced)."""
        with self.lock:
            return {
                "total": sum(self.by_service.values()),
                "by_service": dict(self.by_service),
                "by_route": dict(self.by_route),
            }
