"""wrk's output parsing, its Lua script and its command line."""

from __future__ import annotations

import pytest

from bench import wrk

OUTPUT = """\
Running 2s test @ http://127.0.0.1:18123/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   649.15us  346.24us   5.27ms   88.67%
    Req/Sec    12.79k     2.42k   17.22k    70.00%
  Latency Distribution
     50%  528.00us
     75%  785.00us
     90%    1.02ms
     99%    1.77ms
  25435 requests in 2.00s, 3.74MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  12714.80
Transfer/sec:      1.87MB
"""


def test_parse_reads_rate_percentiles_max_and_errors() -> None:
    r = wrk.parse(OUTPUT)
    assert r.requests == 25435
    assert r.duration_s == pytest.approx(2.0)
    assert r.rps == pytest.approx(12714.80)
    assert r.p50_ms == pytest.approx(0.528)
    assert r.p90_ms == pytest.approx(1.02)
    assert r.p99_ms == pytest.approx(1.77)
    assert r.max_ms == pytest.approx(5.27)
    assert (r.socket_errors, r.non_2xx, r.errors) == (5, 7, 12)
    assert r.to_dict()["errors"] == 12


def test_parse_without_error_lines_counts_zero() -> None:
    clean = "\n".join(
        line for line in OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    assert wrk.parse(clean).errors == 0


def test_parse_seconds_and_minutes() -> None:
    slow = OUTPUT.replace("5.27ms", "1.50s").replace("  1.77ms", "  1.00m")
    r = wrk.parse(slow)
    assert r.max_ms == pytest.approx(1500)
    assert r.p99_ms == pytest.approx(60_000)


def test_parse_refuses_output_without_latency_distribution() -> None:
    no_dist = OUTPUT.split("  Latency Distribution")[0] + OUTPUT.split("     99%    1.77ms\n")[1]
    with pytest.raises(wrk.WrkOutputError, match="latency distribution"):
        wrk.parse(no_dist)


def test_parse_quotes_the_output_when_wrk_failed() -> None:
    failed = "unable to connect to 127.0.0.1:1 Connection refused\n"
    with pytest.raises(wrk.WrkOutputError, match="Connection refused"):
        wrk.parse(failed)


@pytest.mark.parametrize(
    ("text", "ms"), [("612.00us", 0.612), ("1.77ms", 1.77), ("2.00s", 2000.0), ("1.5m", 90000)]
)
def test_duration_units(text: str, ms: float) -> None:
    assert wrk.duration_ms(text) == pytest.approx(ms)


def test_duration_refuses_garbage() -> None:
    with pytest.raises(wrk.WrkOutputError, match="not a wrk duration"):
        wrk.duration_ms("fast")


def test_lua_script_posts_the_body_verbatim() -> None:
    body = '{"inputs":[{"name":"x","data":["a\\"b"]}]}'
    script = wrk.lua_script(body, {"X-Request-ID": "bench"})
    assert 'wrk.method = "POST"' in script
    assert f"wrk.body = [==[{body}]==]" in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert 'wrk.headers["X-Request-ID"] = "bench"' in script


def test_lua_script_refuses_a_body_that_would_close_the_bracket() -> None:
    with pytest.raises(ValueError, match="long bracket"):
        wrk.lua_script("]==]")


def test_command_pins_wrk_to_core_1_with_one_thread() -> None:
    cmd = wrk.command("http://127.0.0.1:1/", "s.lua", connections=32, duration_s=4)
    assert cmd[:3] == ["taskset", "-c", "1"]
    assert cmd[3:] == [
        "wrk", "-t1", "-c32", "-d4s", "--timeout=5s", "--latency", "-s", "s.lua",
        "http://127.0.0.1:1/",
    ]  # fmt: skip


def test_command_rounds_short_durations_up_to_one_second() -> None:
    cmd = wrk.command("http://127.0.0.1:1/", "s.lua", connections=1, duration_s=0.4, cpu=None)
    assert cmd[0] == "wrk"
    assert "-d1s" in cmd


def test_cycling_script_sends_each_body_in_turn() -> None:
    bodies = ['{"a":1}', '{"b":2}', '{"c":3}']
    script = wrk.lua_script_cycling(bodies)
    assert "wrk.body" not in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    table = script[script.index("local bodies = {") : script.index("}\nlocal i")]
    assert [line for line in table.splitlines()[1:]] == [f"[==[{b}]==]," for b in bodies]
    assert "  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])" in script


def test_cycling_script_refuses_no_body_and_a_body_that_would_close_the_bracket() -> None:
    with pytest.raises(ValueError, match="no bodies"):
        wrk.lua_script_cycling([])
    with pytest.raises(ValueError, match="long bracket"):
        wrk.lua_script_cycling(["{}", "]==]"])
