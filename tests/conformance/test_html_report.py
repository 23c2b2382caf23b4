"""The HTML report renders in a real browser: headless Chromium loads it, and the DOM it
built holds the rule table (one row per rule, every status) and the latency histogram."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import pytest
from modelrail_conformance.report import STATUSES, Report, RuleResult
from modelrail_conformance.waivers import Waiver

from tests.browser import chromium, headless

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report_html(tmp_path: Path) -> Path:
    """A report with one rule in each status, a waiver and a latency run."""
    latency = {
        "latencies_ms": [3.0 + (i % 17) * 0.7 for i in range(400)],
        "slo_p99_ms": 100,
        "p50_ms": 8.1, "p95_ms": 13.2, "p99_ms": 14.0, "max_ms": 14.2,
        "throughput_rps": 210.0, "errors": 0,
    }  # fmt: skip
    report = Report(
        target={"image": "example:1.0"},
        strict=False,
        waivers=[Waiver("SEC-003", "base image patched next sprint", dt.date(2099, 1, 1))],
        latency=latency,
    )
    for n, status in enumerate(STATUSES, start=1):
        report.record(
            RuleResult(f"TST-{n:03d}", "MUST", f"rule in status {status} <&>", status, "why")
        )
    return report.write(tmp_path / "report")[2]


def test_html_report_renders_in_headless_chromium(report_html: Path, tmp_path: Path) -> None:
    browser = chromium()
    url = report_html.as_uri()

    dom = headless(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    table = re.search(r'<table id="rules">.*?</table>', dom.stdout, re.S)
    assert table, "the rendered DOM has no rule table"
    rows = re.findall(r'<tr class="([a-z_]+)">', table.group(0))
    assert rows == list(STATUSES), "one row per rule, in registry order, each with its status"
    assert "rule in status pass &lt;&amp;&gt;" in table.group(0), "titles are escaped"
    assert '<svg id="latency"' in dom.stdout
    assert "SLO p99 100 ms" in dom.stdout
    assert "FAILED" in dom.stdout, "a fail or error status makes the verdict FAILED"

    shot = tmp_path / "report.png"
    proc = headless(
        browser, tmp_path / "profile-shot", "--hide-scrollbars", "--window-size=1200,900",
        f"--screenshot={shot}", url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    png = shot.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 900)
    assert len(png) > 10_000, "a blank page compresses to a few hundred bytes"
