"""Results of a run: terminal summary by level, and JSON, JUnit XML and HTML reports."""

from __future__ import annotations

import datetime as dt
import html
import json
import platform
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelrail_conformance.registry import Profile, Rule
from modelrail_conformance.waivers import Waiver

STATUSES = ("pass", "fail", "warn", "waived", "not_applicable", "blocked", "error")
REPORT_FILES = ("report.json", "junit.xml", "report.html")


@dataclass
class RuleResult:
    """The verdict on one rule."""

    rule_id: str
    level: str
    title: str
    status: str
    message: str = ""
    duration: float = 0.0
    nodeid: str = ""
    details: str = ""
    logs: str = ""


@dataclass
class Report:
    """Everything a run found, in registry order."""

    target: dict[str, Any]
    strict: bool
    waivers: list[Waiver] = field(default_factory=list)
    profile: Profile = Profile.MODELRAIL
    results: dict[str, RuleResult] = field(default_factory=dict)
    latency: dict[str, Any] | None = None
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    def record(self, result: RuleResult) -> None:
        """Keep the verdict on one rule (one per rule and run)."""
        self.results[result.rule_id] = result

    def counts(self) -> dict[str, Counter[str]]:
        """Status counts per level."""
        out: dict[str, Counter[str]] = {"MUST": Counter(), "SHOULD": Counter()}
        for r in self.results.values():
            out.setdefault(r.level, Counter())[r.status] += 1
        return out

    def expired_waivers(self) -> list[Waiver]:
        """Waivers whose expiry date has passed (they fail the run)."""
        return [w for w in self.waivers if w.expired()]

    def failed(self) -> bool:
        """True when the run must fail: a failure, an error, or an expired waiver."""
        return bool(self.expired_waivers()) or any(
            r.status in ("fail", "error") for r in self.results.values()
        )

    def verdict(self) -> str:
        """``"conforms"`` or ``"does not conform"`` to the profile, as the summary says it."""
        return "does not conform" if self.failed() else "conforms"

    def summary_lines(self) -> list[str]:
        """Lines for the terminal summary."""
        lines = [f"profile {self.profile.value}: {self.verdict()}"]
        for level, counter in self.counts().items():
            if counter:
                parts = ", ".join(
                    f"{counter[s]} {s.replace('_', ' ')}" for s in STATUSES if counter[s]
                )
                lines.append(f"{level}: {parts}")
        for r in self.results.values():
            if r.status in ("fail", "error", "warn", "blocked"):
                lines.append(f"  {r.status.upper():7} {r.rule_id} {r.level}: {r.title}")
        for w in self.waivers:
            state = "EXPIRED (fails the run)" if w.expired() else "active"
            lines.append(f"  waiver {w.rule} until {w.expires} [{state}]: {w.reason}")
        return lines

    # --- files -----------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """The JSON report's content."""
        return {
            "schema": "modelrail-conformance/1",
            "started": self.started,
            "target": self.target,
            "strict": self.strict,
            "profile": self.profile.value,
            "verdict": self.verdict(),
            "passed": not self.failed(),
            "summary": {level: dict(c) for level, c in self.counts().items()},
            "rules": [asdict(r) for r in self.results.values()],
            "waivers": [w.as_dict() for w in self.waivers],
            "latency": self.latency,
            "python": platform.python_version(),
        }

    def write(self, directory: Path) -> list[Path]:
        """Write report.json, junit.xml and report.html into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / name for name in REPORT_FILES]
        paths[0].write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
        paths[1].write_bytes(self.junit())
        paths[2].write_text(self.html(), encoding="utf-8")
        return paths

    def junit(self) -> bytes:
        """JUnit XML with the rule ID and level as properties of each test case."""
        results = list(self.results.values())
        suite = ET.Element(
            "testsuite",
            name="modelrail-conformance",
            tests=str(len(results)),
            failures=str(sum(r.status == "fail" for r in results)),
            errors=str(sum(r.status == "error" for r in results)),
            skipped=str(sum(r.status in ("not_applicable", "blocked") for r in results)),
            timestamp=self.started,
        )
        for r in results:
            case = ET.SubElement(
                suite, "testcase", classname=f"modelrail.{r.rule_id.split('-')[0]}",
                name=f"{r.rule_id} {r.title}", time=f"{r.duration:.3f}",
            )  # fmt: skip
            props = ET.SubElement(case, "properties")
            for name, value in (("rule_id", r.rule_id), ("level", r.level), ("status", r.status)):
                ET.SubElement(props, "property", name=name, value=value)
            if r.status == "fail":
                ET.SubElement(case, "failure", message=r.message[:500]).text = r.message
            elif r.status == "error":
                ET.SubElement(case, "error", message=r.message[:500]).text = r.message
            elif r.status in ("not_applicable", "blocked"):
                ET.SubElement(case, "skipped", message=r.message[:500])
            if r.logs:
                ET.SubElement(case, "system-out").text = r.logs
        return ET.tostring(suite, encoding="utf-8", xml_declaration=True)

    def html(self) -> str:
        """A self-contained HTML page: summary, rule table, waivers, latency histogram."""
        esc = html.escape
        colours = {
            "pass": "#1a7f37", "fail": "#cf222e", "warn": "#9a6700", "waived": "#6e40c9",
            "not_applicable": "#57606a", "blocked": "#57606a", "error": "#cf222e",
        }  # fmt: skip
        rows = "\n".join(
            f'<tr class="{r.status}"><td><a id="{r.rule_id.lower()}"></a>{esc(r.rule_id)}</td>'
            f"<td>{esc(r.level)}</td><td>{esc(r.title)}</td>"
            f'<td><b style="color:{colours.get(r.status, "#000")}">{esc(r.status.replace("_", " "))}</b></td>'
            f"<td><pre>{esc(r.message)}</pre></td></tr>"
            for r in self.results.values()
        )
        waivers = "".join(
            f"<li>{esc(w.rule)} until {w.expires}{' <b>(expired)</b>' if w.expired() else ''}: "
            f"{esc(w.reason)}</li>"
            for w in self.waivers
        )
        summary = " &middot; ".join(
            f"{esc(level)}: " + ", ".join(f"{n} {esc(s.replace('_', ' '))}" for s, n in c.items())
            for level, c in self.counts().items()
            if c
        )
        outcome = "FAILED" if self.failed() else "PASSED"
        verdict = f"{outcome}: {self.verdict()} to profile {self.profile.value}"
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modelrail conformance report</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#24292f}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #d0d7de;padding:4px 8px;
vertical-align:top;text-align:left}}th{{background:#f6f8fa}}pre{{white-space:pre-wrap;margin:0;
font-size:12px}}.verdict{{font-size:1.4em;font-weight:bold}}
</style></head><body>
<h1>modelrail conformance report</h1>
<p class="verdict">{verdict}</p>
<p>Target: <code>{esc(json.dumps(self.target))}</code><br>Started: {esc(self.started)}
{" &middot; strict" if self.strict else ""}</p>
<p>{summary}</p>
<h2>Rules</h2>
<table id="rules"><thead><tr><th>Rule</th><th>Level</th><th>Title</th><th>Status</th>
<th>Message</th></tr></thead><tbody>
{rows}
</tbody></table>
<h2>Waivers</h2><ul>{waivers or "<li>none</li>"}</ul>
<h2>Latency</h2>
{self._latency_svg()}
</body></html>
"""

    def _latency_svg(self) -> str:
        data = self.latency
        if not data or not data.get("latencies_ms"):
            return "<p>No load run in this session.</p>"
        values = data["latencies_ms"]
        slo = float(data.get("slo_p99_ms") or 0)
        top = max(max(values), slo) * 1.05 or 1.0
        bins = 40
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, int(v / top * bins))] += 1
        width, height, pad = 640, 220, 30
        peak = max(counts) or 1
        bar_w = (width - 2 * pad) / bins
        bars = "".join(
            f'<rect x="{pad + i * bar_w:.1f}" y="{height - pad - c / peak * (height - 2 * pad):.1f}" '
            f'width="{bar_w - 1:.1f}" height="{c / peak * (height - 2 * pad):.1f}" fill="#0969da"/>'
            for i, c in enumerate(counts)
        )
        slo_x = pad + slo / top * (width - 2 * pad)
        # The SLO label goes on the side of its line that has room (the SLO is often the max).
        anchor, label_x = ("end", slo_x - 4) if slo_x > width * 0.7 else ("start", slo_x + 4)
        stats = ", ".join(
            f"{k} {data[k]}"
            for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "throughput_rps", "errors")
        )
        return (
            f'<p>{html.escape(stats)}</p><svg id="latency" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" role="img" aria-label="latency histogram">{bars}'
            f'<line x1="{slo_x:.1f}" x2="{slo_x:.1f}" y1="{pad}" y2="{height - pad}" stroke="#cf222e" '
            f'stroke-width="2" stroke-dasharray="4"/><text x="{label_x:.1f}" y="{pad + 10}" '
            f'font-size="11" fill="#cf222e" text-anchor="{anchor}">SLO p99 {slo:g} ms</text>'
            f'<line x1="{pad}" x2="{width - pad}" y1="{height - pad}" y2="{height - pad}" stroke="#57606a"/>'
            f'<text x="{pad}" y="{height - 8}" font-size="11">0 ms</text>'
            f'<text x="{width - pad - 60}" y="{height - 8}" font-size="11">{top:.1f} ms</text></svg>'
        )


def result_for(rule: Rule, status: str, **kwargs: Any) -> RuleResult:
    """A RuleResult for ``rule``."""
    return RuleResult(rule.id, str(rule.level), rule.title, status, **kwargs)
