"""Pace wrk at a target rate: it has no rate option, only a per-request ``delay()`` hook.

wrk runs one thread here (`bench.wrk.command`), so one Lua state paces all connections:
each connection waits ``delay`` ms after an answer before its next request. A connection
then sends one request every ``delay + latency`` ms, so the whole run sends
``connections / (delay + latency)`` requests per ms. Everything here is pure.
"""

from __future__ import annotations

from bench import wrk


def delay_ms(target_rps: float, connections: int, latency_ms: float = 0.0) -> float:
    """The wait before each request that makes ``connections`` send ``target_rps`` in all.

    ``latency_ms`` is the time a request takes (send to answer), which the connection's
    cycle already spends; never negative (a target beyond reach sends back to back).
    """
    if target_rps <= 0 or connections <= 0:
        raise ValueError(f"need a positive rate and connections, got {target_rps}, {connections}")
    return max(0.0, 1000.0 * connections / target_rps - latency_ms)


def lua_script(body: str, delay: float, headers: dict[str, str] | None = None) -> str:
    """`bench.wrk.lua_script` plus a ``delay()`` hook waiting ``delay`` ms on average.

    The waits are drawn from an exponential distribution of that mean: equal waits would
    keep the connections in step, each burst of them queueing behind the others on the
    service's one core, so the latency measured would be the burst's, not the service's.
    wrk truncates a wait to whole milliseconds, which at a few ms per request is a large
    error: the hook carries the fraction over, so the waits average ``delay``.
    """
    return wrk.lua_script(body, headers) + "\n".join(
        [
            f"local period = {delay:.6f}",
            "local owed = 0",
            "delay = function()",
            "  owed = owed - period * math.log(1 - math.random())",
            "  local ms = math.floor(owed)",
            "  owed = owed - ms",
            "  return ms",
            "end",
            "",
        ]
    )
