"""The soak's pure parts: pacing wrk, the verdicts, classifying requests, the log check."""

from __future__ import annotations

import httpx
import pytest

from bench.soak import doc, pacing, shutdown
from bench.soak.shutdown import Failure, Outcome
from bench.soak.verdicts import Minute, verdicts


def test_the_delay_spreads_the_target_rate_over_the_connections() -> None:
    # 8 connections at 800 req/s: one request per connection every 10 ms.
    assert pacing.delay_ms(800, 8) == pytest.approx(10.0)
    # A request that takes 1 ms already spends 1 ms of that cycle.
    assert pacing.delay_ms(800, 8, latency_ms=1.0) == pytest.approx(9.0)
    # Beyond reach: back to back, never a negative wait.
    assert pacing.delay_ms(800, 8, latency_ms=50.0) == 0.0
    with pytest.raises(ValueError, match="positive rate"):
        pacing.delay_ms(0, 8)


def test_the_lua_hook_draws_waits_of_the_delay_and_carries_what_wrk_truncates() -> None:
    script = pacing.lua_script('{"inputs":[]}', 2.5)
    assert 'wrk.body = [==[{"inputs":[]}]==]' in script
    hook = script[script.index("local period") :].splitlines()
    assert hook == [
        "local period = 2.500000",
        "local owed = 0",
        "delay = function()",
        "  owed = owed - period * math.log(1 - math.random())",
        "  local ms = math.floor(owed)",
        "  owed = owed - ms",
        "  return ms",
        "end",
    ]


def minute(number: int, p99: float = 10.0, rss: int = 100_000, errors: int = 0) -> Minute:
    return Minute(number, 800, 790, 47_400, 2.0, p99, errors, rss)


def test_a_steady_soak_passes_every_verdict() -> None:
    found = {
        v.name: v for v in verdicts([minute(1), minute(2, 11.9, 104_900), minute(3, 11.9, 104_900)])
    }
    assert all(v.passed for v in found.values()), found
    assert found["rss_growth"].value == pytest.approx(0.049)
    assert found["p99_drift"].value == pytest.approx(0.19)


@pytest.mark.parametrize(
    ("last", "failing"),
    [
        (minute(3, rss=105_000), "rss_growth"),  # 5 % is not below 5 %
        (minute(3, p99=12.1), "p99_drift"),
        (minute(3, errors=1), "errors"),
    ],
)
def test_each_limit_fails_on_its_own(last: Minute, failing: str) -> None:
    found = {v.name: v.passed for v in verdicts([minute(1), minute(2), last])}
    assert found == {"rss_growth": True, "p99_drift": True, "errors": True, failing: False}


def test_errors_of_a_middle_minute_count_and_a_faster_p99_is_no_failure() -> None:
    found = {v.name: v for v in verdicts([minute(1), minute(2, errors=3), minute(3, p99=5.0)])}
    assert found["errors"].value == 3
    assert not found["errors"].passed
    assert found["p99_drift"].passed


def test_no_minute_no_verdict() -> None:
    with pytest.raises(ValueError, match="no minute"):
        verdicts([])


@pytest.mark.parametrize(
    ("status", "failure", "outcome"),
    [
        (200, None, Outcome.ACKNOWLEDGED),
        (503, None, Outcome.NOT_ACCEPTED),
        (None, Failure.CONNECT, Outcome.NOT_ACCEPTED),
        (None, Failure.AFTER_CONNECT, Outcome.UNANSWERED),
        (500, None, Outcome.OTHER_STATUS),
        (422, None, Outcome.OTHER_STATUS),
    ],
)
def test_classify(status: int | None, failure: Failure | None, outcome: Outcome) -> None:
    assert shutdown.classify(status, failure) is outcome


def test_only_a_failed_connect_means_not_accepted() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/")
    assert shutdown.failure_of(httpx.ConnectError("refused", request=request)) is Failure.CONNECT
    for err in (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadTimeout):
        assert shutdown.failure_of(err("x", request=request)) is Failure.AFTER_CONNECT
    with pytest.raises(ValueError, match="where it failed"):
        shutdown.classify(None, None)


def test_the_log_check_finds_acknowledged_requests_without_all_their_rows() -> None:
    outcomes = {
        "a": Outcome.ACKNOWLEDGED,
        "b": Outcome.ACKNOWLEDGED,
        "c": Outcome.ACKNOWLEDGED,
        "d": Outcome.NOT_ACCEPTED,
        "e": Outcome.UNANSWERED,
    }
    logged = ["a", "a", "b", "e", "e", "soak-traffic", "soak-traffic"]
    check = shutdown.check_log(outcomes, 2, logged)
    assert check.acknowledged == 3
    assert check.rows_expected == 6
    assert check.rows_found == 3
    assert check.missing_requests == ["b", "c"]  # one row of two; none
    assert check.unacknowledged_logged == 1  # e: logged though the caller got no answer
    assert not check.complete
    assert shutdown.check_log(outcomes, 2, ["a", "a", "b", "b", "c", "c"]).complete


def test_the_traffic_counts_every_outcome() -> None:
    traffic = shutdown.Traffic()
    traffic.record("a", 0.0, Outcome.ACKNOWLEDGED)
    traffic.record("b", 0.1, Outcome.UNANSWERED, "ReadError: reset")
    assert traffic.counts() == {
        "acknowledged": 1,
        "not_accepted": 0,
        "unanswered": 1,
        "other_status": 0,
    }
    assert traffic.errors == {"b": "ReadError: reset"}


def test_the_page_without_results_says_how_to_get_them() -> None:
    text = doc.page(None)
    assert text.startswith("# Reliability")
    assert text.rstrip().endswith(doc.PLACEHOLDER)


def test_the_page_shows_each_minute_the_verdicts_and_the_shutdown() -> None:
    minutes = [minute(1), minute(2, p99=13.0)]
    result = {
        "date": "20261204T000000Z",
        "command": "make soak",
        "image": "modelrail-bench/soak:latest",
        "machine": {
            "cores": 2,
            "cpu_model": "cpu",
            "memory_gib": 8,
            "kernel": "6",
            "loadavg_start": ["0.1", "0.2", "0.3"],
        },
        "max": {"rps": 1000.0, "p99_ms": 9.0},
        "target_rps": 800.0,
        "fraction": 0.8,
        "connections": 8,
        "delay_ms": 9.0,
        "minutes": [m.to_dict() for m in minutes],
        "verdicts": [v.to_dict() for v in verdicts(minutes)],
        "shutdown": {
            "threads": 4,
            "rps": 100.0,
            "sigterm_after_s": 5.0,
            "last_ack_after_sigterm_s": 2.1,
            "counts": {"acknowledged": 9, "not_accepted": 4, "unanswered": 1, "other_status": 0},
            "unanswered": [
                {"request_id": "shutdown-1-7", "sent_after_sigterm_s": 2.2, "error": "reset"}
            ],
            "exit_code": 0,
            "log": shutdown.check_log({"x": Outcome.ACKNOWLEDGED}, 2, ["x", "x"]).to_dict(),
            "passed": False,
        },
    }
    text = doc.page(result)
    assert doc.PLACEHOLDER not in text
    assert "Command: `make soak`" in text
    assert "| 2 | 800 | 790 | 47400 | 2.00 | 13.00 | 0 | 97.7 |" in text
    assert "| p99, last minute against the first | +30.0 % | <= +20.0 % | FAIL |" in text
    assert "| 14 | 9 | 4 | 1 | 0 |" in text
    assert "- `shutdown-1-7`, sent +2.200 s from the SIGTERM: reset" in text
    assert "Shutdown: FAIL." in text
