"""docs/reliability.md: the soak's and the shutdown's figures, from a results file."""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "figures: run `make soak`"

INTRO = """\
# Reliability: soak and shutdown

`make soak` (issue 17) holds one container of the generated service (the template's
defaults: the churn classifier) at 80 % of its measured maximum throughput for ten
minutes, then stops it with SIGTERM under load. It is a benchmark, not a CI test: the
figures below are from one run on the machine named, and `make soak` writes them again.

## Method

- The image is the default generated repo's own `make image` (rendered from this
  checkout, `make train`), on the local base image. One container, hardened as the
  tests run it: read-only root file system, tmpfs `/tmp`, no capabilities, a host
  directory mounted read-write as its prediction-log directory (`/app/prediction-logs`),
  `PREDICTION_LOG_FLUSH_SECONDS=1`. It binds 127.0.0.1 on the host's network: loopback
  only, with no docker-proxy between client and service. The container gets core 0;
  wrk and the shutdown client run on core 1.
- Maximum: wrk, one thread, 8 connections, 15 s (after a warm-up), two rows per request.
- Soak: one-minute wrk runs paced at 80 % of that maximum. wrk has no rate option: its
  Lua `delay()` hook waits `8 connections / target rate - latency` per request on
  average (exponentially distributed, so that the connections do not move in step), the
  latency being the median of a 10 s calibration run at the plain delay (the median:
  a shared host's stalls would otherwise cut the delay to nothing). Per minute: the
  achieved rate, p50 and p99, errors (socket errors plus non-2xx answers) and the
  service process's resident memory (`VmRSS`) at the minute's end.
- Verdicts: RSS growth from the first minute to the last < 5 %; p99 of the last minute
  at most 20 % above the first's; no error.
- Shutdown: client threads send paced requests, each on a new connection with its own
  `X-Request-ID`; `docker kill --signal SIGTERM` mid-run; they go on until connections
  are refused. Each request is acknowledged (200), not accepted (503, or connection
  refused: the caller knows to retry), or accepted but unanswered (connected and sent,
  then reset or closed without an answer: a violation). After the container exits (code
  0 expected), the Parquet prediction log must hold every row of every 200.
"""


def _pct(value: float) -> str:
    return f"{value * 100:+.1f} %"


def figures(result: dict[str, Any]) -> str:
    """The figures section of one run."""
    m = result["machine"]
    lines = [
        f"Run of {result['date']} on {m['cores']} cores ({m['cpu_model']}), "
        f"{m['memory_gib']} GiB, kernel {m['kernel']}; load average at start "
        f"{' '.join(m['loadavg_start'])}. Image `{result['image']}`.",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Maximum: {result['max']['rps']:.0f} req/s at 8 connections "
        f"(p99 {result['max']['p99_ms']:.2f} ms). Target: {result['target_rps']:.0f} req/s "
        f"({result['fraction'] * 100:.0f} %), {result['connections']} connections, "
        f"delay {result['delay_ms']:.2f} ms.",
        "",
        "### Per minute",
        "",
        "| minute | target req/s | achieved req/s | requests | p50 ms | p99 ms | errors "
        "| RSS MiB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["minutes"]:
        lines.append(
            f"| {row['minute']} | {row['target_rps']:.0f} | {row['rps']:.0f} | "
            f"{row['requests']} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
            f"{row['errors']} | {row['rss_kib'] / 1024:.1f} |"
        )
    names = {
        "rss_growth": ("RSS growth, first to last minute", "< +5.0 %"),
        "p99_drift": ("p99, last minute against the first", "<= +20.0 %"),
        "errors": ("errors, all minutes", "0"),
    }
    lines += ["", "### Verdicts", "", "| check | measured | limit | result |"]
    lines.append("| --- | ---: | ---: | --- |")
    for v in result["verdicts"]:
        title, limit = names[v["name"]]
        value = str(int(v["value"])) if v["name"] == "errors" else _pct(v["value"])
        lines.append(f"| {title} | {value} | {limit} | {'PASS' if v['passed'] else 'FAIL'} |")
    s = result["shutdown"]
    log = s["log"]
    lines += [
        "",
        "### Shutdown under load",
        "",
        f"{s['threads']} client threads at {s['rps']:.0f} req/s in all, SIGTERM after "
        f"{s['sigterm_after_s']:.1f} s; the last 200 came {s['last_ack_after_sigterm_s']:.2f} s "
        f"after it. Exit code: {s['exit_code']}.",
        "",
        "| requests | acknowledged (200) | not accepted (503, refused) | accepted, unanswered "
        "| other status |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {sum(s['counts'].values())} | {s['counts']['acknowledged']} | "
        f"{s['counts']['not_accepted']} | {s['counts']['unanswered']} | "
        f"{s['counts']['other_status']} |",
        "",
        f"Prediction log: {log['rows_found']} rows of the {log['rows_expected']} the "
        f"{log['acknowledged']} acknowledged requests sent; {log['missing_count']} "
        f"acknowledged request(s) missing rows; {log['unacknowledged_logged']} logged "
        f"without a 200. Shutdown: {'PASS' if s['passed'] else 'FAIL'}.",
    ]
    if s["unanswered"]:
        lines += ["", "Accepted, unanswered:", ""]
        lines += [
            f"- `{u['request_id']}`, sent {u['sent_after_sigterm_s']:+.3f} s from the "
            f"SIGTERM: {u['error']}"
            for u in s["unanswered"]
        ]
    return "\n".join(lines) + "\n"


def page(result: dict[str, Any] | None) -> str:
    """The whole page: method, then one run's figures or the placeholder line."""
    body = figures(result) if result is not None else PLACEHOLDER + "\n"
    return INTRO + "\n## Figures\n\n" + body
