"""The soak's per-minute records and the issue's three verdicts on them (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

RSS_GROWTH_LIMIT = 0.05
"""RSS of the last minute over the first's, minus one: below this."""
P99_DRIFT_LIMIT = 0.20
"""p99 of the last minute over the first's, minus one: at most this."""


@dataclass(frozen=True)
class Minute:
    """One minute of paced load: what wrk measured and the container's RSS at its end."""

    minute: int
    target_rps: float
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    """Socket errors (connect, read, write, timeout) plus non-2xx responses."""
    rss_kib: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for the JSON results file."""
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """One of the issue's limits: the value measured, the limit and whether it held."""

    name: str
    value: float
    limit: float
    passed: bool

    def to_dict(self) -> dict[str, object]:
        """Plain dict for the JSON results file."""
        return asdict(self)


def verdicts(minutes: list[Minute]) -> list[Verdict]:
    """RSS growth first to last minute < 5 %, p99 of the last minute at most 20 % above
    the first's (a lower p99 is no failure), and no error in any minute.

    Raises:
        ValueError: without a minute to judge.
    """
    if not minutes:
        raise ValueError("no minute was measured")
    first, last = minutes[0], minutes[-1]
    growth = (last.rss_kib - first.rss_kib) / first.rss_kib if first.rss_kib else float("inf")
    drift = (last.p99_ms - first.p99_ms) / first.p99_ms if first.p99_ms else float("inf")
    errors = sum(m.errors for m in minutes)
    return [
        Verdict("rss_growth", growth, RSS_GROWTH_LIMIT, growth < RSS_GROWTH_LIMIT),
        Verdict("p99_drift", drift, P99_DRIFT_LIMIT, drift <= P99_DRIFT_LIMIT),
        Verdict("errors", errors, 0, errors == 0),
    ]
