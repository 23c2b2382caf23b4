"""Cross-check the conformance suite's latency measurement against wrk (issue 8, section 4).

The suite's LAT rule measures with its own load generator (``modelrail_conformance.load``,
one keep-alive connection per worker). Here both measure the same server back to back at
the same concurrency; the ratio of the suite's p50/p99 to wrk's says how far the latency
rule's verdict can be trusted near the SLO.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import wrk

CLIENT_CPU = 1


def conformance_load(url: str, body: str, concurrency: int, requests: int) -> dict[str, Any]:
    """The suite's own load run (warm-up 200, then ``requests``), client pinned to core 1."""
    from modelrail_conformance.load import run_load

    parts = urlsplit(url)
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        result = asyncio.run(
            run_load(
                f"{parts.scheme}://{parts.netloc}",
                parts.path,
                json.loads(body),
                concurrency=concurrency,
                warmup=200,
                requests=requests,
                max_seconds=30,
            )
        )
    finally:
        os.sched_setaffinity(0, before)
    return result.summary()


def crosscheck(url: str, body: str, concurrency: int = 8, requests: int = 2000) -> dict[str, Any]:
    """Both measurements of the same server, and the suite-to-wrk ratios of p50 and p99."""
    try:
        suite = conformance_load(url, body, concurrency, requests)
    except ImportError as err:
        return {"error": f"modelrail_conformance is not importable here: {err}"}
    seconds = max(2.0, suite["measured_requests"] / max(suite["throughput_rps"], 1.0))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "body.lua"
        script.write_text(wrk.lua_script(body))
        proc = subprocess.run(
            wrk.command(url, str(script), connections=concurrency, duration_s=seconds),
            capture_output=True,
            text=True,
            check=False,
        )
    measured = wrk.parse(proc.stdout).to_dict()
    return {
        "concurrency": concurrency,
        "conformance": suite,
        "wrk": measured,
        "p50_ratio": suite["p50_ms"] / measured["p50_ms"] if measured["p50_ms"] else None,
        "p99_ratio": suite["p99_ms"] / measured["p99_ms"] if measured["p99_ms"] else None,
    }
