"""Run the packaged suite against a peer's image, as a user runs it, and read its report."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import run

PEERS_DIR = Path(__file__).resolve().parent

SUITE_RAN = (0, 1)
"""The suite's exit codes once it ran: 0 every rule met, 1 some rule failed."""


@dataclass(frozen=True)
class PeerReport:
    """The suite's ``report.json`` on one peer, and the run's terminal output."""

    report: dict[str, Any]
    output: str
    seconds: float

    def verdicts(self) -> dict[str, str]:
        """Each rule's status, by rule ID, in registry order."""
        return {r["rule_id"]: r["status"] for r in self.report["rules"]}

    def message(self, rule_id: str) -> str:
        """The one-line message the report gives a rule (empty for a pass)."""
        return next(r["message"] for r in self.report["rules"] if r["rule_id"] == rule_id)

    def table(self) -> str:
        """``ID status message`` lines, for assertion messages."""
        return "\n".join(
            f"{r['rule_id']:8} {r['status']:15} {r['message'][:300]}" for r in self.report["rules"]
        )


def run_suite(
    image: str, project: Path, report_dir: Path, profile: str = "modelrail"
) -> PeerReport:
    """Run ``modelrail-conformance`` on ``image`` with ``project``'s ``[tool.modelrail]``,
    for one profile (``oip`` or ``modelrail``).

    A subprocess of this environment's command, so the run is the one a user gets. It
    inherits the environment, where tests/conftest.py has set testcontainers' quirks of
    this machine (``TESTCONTAINERS_RYUK_DISABLED``, ``TC_HOST``): the suite sets none.
    """
    cli = Path(sys.executable).parent / "modelrail-conformance"
    command = [
        str(cli),
        "--modelrail-image",
        image,
        "--modelrail-project",
        str(project),
        "--modelrail-report-dir",
        str(report_dir),
        "--modelrail-profile",
        profile,
    ]
    start = time.monotonic()
    proc = run(command, project, timeout=1800, ok_codes=SUITE_RAN)
    seconds = time.monotonic() - start
    path = report_dir / "report.json"
    assert path.is_file(), f"no report written; output:\n{proc.stdout[-4000:]}"
    return PeerReport(json.loads(path.read_text()), proc.stdout, seconds)
