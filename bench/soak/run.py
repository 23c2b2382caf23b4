"""Drive the soak: build the image, find the maximum, hold 80 % of it, stop it under load."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import containers, wrk
from bench.envs import BENCH_DIR
from bench.servers import free_port, wait_ready
from bench.service import REPO_ROOT, GeneratedService, describe, prepare
from bench.soak import container, doc, pacing, shutdown
from bench.soak.verdicts import Minute, verdicts

WORK = BENCH_DIR / ".work"
REPO_NAME = "churn-model"
"""The rendered repo's directory: the template's defaults, named as the issue names them."""
IMAGE = "modelrail-bench/soak:latest"
ROWS_PER_REQUEST = 2
DOC = REPO_ROOT / "docs" / "reliability.md"


def log(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--minutes", type=int, default=10, help="one-minute paced runs (default 10)")
    p.add_argument("--fraction", type=float, default=0.8, help="of the maximum (default 0.8)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--max-seconds", type=float, default=15, help="maximum run (default 15)")
    p.add_argument("--calibrate-seconds", type=float, default=10, help="paced calibration run")
    p.add_argument("--shutdown-threads", type=int, default=4, help="client threads")
    p.add_argument("--shutdown-rps", type=float, default=100, help="client rate in all")
    p.add_argument("--shutdown-after", type=float, default=5, help="seconds before SIGTERM")
    p.add_argument("--base-image", default="modelrail-base:3.11-bookworm")
    p.add_argument(
        "--reuse", action="store_true", help="reuse the rendered repo and image of a former run"
    )
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="results directory")
    p.add_argument("--no-doc", action="store_true", help="leave docs/reliability.md as it is")
    p.add_argument("--from-results", type=Path, help="only rewrite the page from this file")
    return p.parse_args(argv)


def prepare_image(args: argparse.Namespace) -> GeneratedService:
    """The default generated repo, trained, and its image (bench's own preparation)."""
    root = WORK / REPO_NAME
    if args.reuse and (root / "artifacts" / "metadata.json").is_file():
        built = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True)
        if built.returncode == 0:
            log(f"reusing {root} and {IMAGE}")
            return describe(root)
    log(f"rendering and training the default repo in {root}")
    svc = prepare(WORK, name=REPO_NAME)
    log(f"building {IMAGE} (make image)")
    spec = containers.ImageSpec(
        "soak", IMAGE, svc.root, None, svc.port, "/v2/health/ready", make_image=True
    )
    error = containers.build(spec, args.base_image)
    if error:
        raise RuntimeError(error)
    return svc


def request_body(svc: GeneratedService) -> tuple[str, str]:
    """The inference path and a body of `ROWS_PER_REQUEST` customers (tests' traffic)."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from tests.integration.traffic import customers, features, infer_body, sample
    finally:
        sys.path.remove(str(REPO_ROOT))
    rows = sample(customers(svc.root), ROWS_PER_REQUEST, seed=17)
    body = json.dumps(infer_body(features(svc.root), rows), separators=(",", ":"))
    return f"/v2/models/{svc.model_name}/infer", body


def run_wrk(url: str, script: str, connections: int, seconds: float) -> wrk.WrkResult:
    """One wrk run on core 1 (when there are two) with ``script``."""
    cpu = 1 if (os.cpu_count() or 1) >= 2 else None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        cmd = wrk.command(url, f.name, connections=connections, duration_s=seconds, cpu=cpu)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        return wrk.parse(proc.stdout + proc.stderr)
    finally:
        os.unlink(f.name)


def soak(args: argparse.Namespace, box: container.Container, url: str, body: str) -> dict[str, Any]:
    """The maximum, the calibrated delay, then one `Minute` per minute at the target."""
    run_wrk(url, wrk.lua_script(body), args.connections, 3)  # warm-up
    best = run_wrk(url, wrk.lua_script(body), args.connections, args.max_seconds)
    target = args.fraction * best.rps
    log(f"maximum {best.rps:.0f} req/s (p99 {best.p99_ms:.2f} ms); target {target:.0f} req/s")
    first = pacing.delay_ms(target, args.connections)
    probe = run_wrk(url, pacing.lua_script(body, first), args.connections, args.calibrate_seconds)
    # The median, not the mean a run's rate implies: on a shared host a few stalls of
    # hundreds of ms would otherwise cut the delay to nothing, and the soak to saturation.
    delay = pacing.delay_ms(target, args.connections, probe.p50_ms)
    log(
        f"calibration: {probe.rps:.0f} req/s at {first:.2f} ms, p50 {probe.p50_ms:.2f} ms; "
        f"delay {delay:.2f} ms"
    )
    script = pacing.lua_script(body, delay)
    minutes = []
    for number in range(1, args.minutes + 1):
        r = run_wrk(url, script, args.connections, 60)
        m = Minute(number, target, r.rps, r.requests, r.p50_ms, r.p99_ms, r.errors, box.rss_kib())
        log(f"minute {number}: {m.rps:.0f} req/s, p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms, "
            f"{m.errors} errors, RSS {m.rss_kib / 1024:.1f} MiB")  # fmt: skip
        minutes.append(m)
    return {
        "max": best.to_dict(),
        "fraction": args.fraction,
        "target_rps": target,
        "connections": args.connections,
        "calibration": probe.to_dict(),
        "delay_ms": delay,
        "minutes": [m.to_dict() for m in minutes],
        "verdicts": [v.to_dict() for v in verdicts(minutes)],
    }


def stop_under_load(
    args: argparse.Namespace, box: container.Container, url: str, body: str, log_dir: Path
) -> dict[str, Any]:
    """Paced client threads, SIGTERM mid-run, then the outcomes against the log."""
    traffic, stop = shutdown.Traffic(), threading.Event()
    deadline = args.shutdown_after + 60
    client = threading.Thread(
        target=shutdown.drive,
        args=(url, body.encode()),
        kwargs={
            "threads": args.shutdown_threads,
            "rps": args.shutdown_rps,
            "stop": stop,
            "traffic": traffic,
            "deadline_s": deadline,
        },
    )
    started = time.monotonic()
    client.start()
    time.sleep(args.shutdown_after)
    sigterm_at = time.monotonic()
    box.sigterm()
    stop.set()
    log("SIGTERM sent; sending until connections are refused")
    client.join()
    exit_code = box.wait_exit(60)
    if exit_code != 0:
        log(f"exit code {exit_code}; last lines:\n{box.logs()}")
    acked = [
        traffic.sent_at[rid]
        for rid, o in traffic.outcomes.items()
        if o is shutdown.Outcome.ACKNOWLEDGED
    ]
    check = shutdown.check_log(
        traffic.outcomes, ROWS_PER_REQUEST, shutdown.read_request_ids(str(log_dir))
    )
    counts = traffic.counts()
    passed = (
        exit_code == 0
        and counts["unanswered"] == 0
        and counts["other_status"] == 0
        and check.complete
    )
    return {
        "threads": args.shutdown_threads,
        "rps": args.shutdown_rps,
        "sigterm_after_s": sigterm_at - started,
        "last_ack_after_sigterm_s": max(acked, default=sigterm_at) - sigterm_at,
        "counts": counts,
        # When each request without an answer was sent, against the SIGTERM: the moment
        # tells a drop at the listening socket's close from one in the drain.
        "unanswered": [
            {
                "request_id": rid,
                "sent_after_sigterm_s": traffic.sent_at[rid] - sigterm_at,
                "error": error,
            }
            for rid, error in sorted(traffic.errors.items())
        ],
        "exit_code": exit_code,
        "log": check.to_dict(),
        "passed": passed,
    }


def _command(argv: list[str] | None) -> str:
    """The command that reproduces this run, as the page shows it."""
    if os.environ.get("SOAK_VIA_MAKE"):
        extra = os.environ.get("SOAK_ARGS", "").strip()
        return f'make soak SOAK_ARGS="{extra}"' if extra else "make soak"
    return "uv run python -m bench.soak " + shlex.join(argv if argv is not None else sys.argv[1:])


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_results:
        DOC.write_text(doc.page(json.loads(args.from_results.read_text())))
        return 0
    # SIGTERM and SIGINT unwind through `finally`: the container is always removed.
    signal.signal(signal.SIGINT, _exit_on_signal)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    from bench.run import ensure_tools, machine

    ensure_tools()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    svc = prepare_image(args)
    path, body = request_body(svc)
    log_dir = WORK / f"soak-log-{stamp}"
    two_cores = (os.cpu_count() or 1) >= 2
    env = {"PREDICTION_LOG_FLUSH_SECONDS": "1"}
    result: dict[str, Any] = {"date": stamp, "command": _command(argv), "image": IMAGE}
    result["machine"] = machine()
    if two_cores:
        os.sched_setaffinity(0, {1})  # the shutdown client's threads: off the service's core
    box = container.start(IMAGE, free_port(), log_dir, env, "0" if two_cores else None)
    try:
        wait_ready(f"{box.base_url}/v2/health/ready", 120)
        result.update(soak(args, box, box.base_url + path, body))
        result["shutdown"] = stop_under_load(args, box, box.base_url + path, body, log_dir)
    finally:
        box.remove()
    result["passed"] = all(v["passed"] for v in result["verdicts"]) and result["shutdown"]["passed"]
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / f"soak-{stamp[:8]}.json"
    saved.write_text(json.dumps(result, indent=2) + "\n")
    print(doc.figures(result))
    log(f"results: {saved}")
    if not args.no_doc:
        DOC.write_text(doc.page(result))
        log(f"page: {DOC}")
    return 0 if result["passed"] else 1
