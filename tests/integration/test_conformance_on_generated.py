"""The conformance suite, run as a user runs it, against the template's service.

This is the other half of the suite's proof: broken fixtures fail their rule
(tests/conformance/), and the service the template generates passes every MUST rule.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def report(generated_project: Path, generated_image: str, tmp_path_factory) -> dict:
    report_dir = tmp_path_factory.mktemp("conformance-report")
    cli = Path(sys.executable).parent / "modelrail-conformance"
    proc = run(
        [
            str(cli),
            "--modelrail-image",
            generated_image,
            "--modelrail-report-dir",
            str(report_dir),
            "-p",
            "no:cacheprovider",
        ],
        generated_project,
        env={"CI": os.environ.get("CI", "")},
    )
    assert "MUST" in proc.stdout or "passed" in proc.stdout
    for name in ("report.json", "junit.xml", "report.html"):
        assert (report_dir / name).is_file(), f"{name} was not written"
    return json.loads((report_dir / "report.json").read_text())


def test_every_must_rule_passes(report: dict) -> None:
    results = report["rules"]
    failed = [r for r in results if r["level"] == "MUST" and r["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=2)[:4000]


def test_every_rule_was_checked(report: dict) -> None:
    from modelrail_conformance import build_registry

    active = {rule.id for rule in build_registry().active()}
    assert {r["rule_id"] for r in report["rules"]} == active
