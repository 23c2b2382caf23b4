"""The conformance suite, run as a user runs it, against the template's service.

This is the other half of the suite's proof: broken fixtures fail their rule
(tests/conformance/), and the service the template generates passes every rule, SHOULD
rules included: it is the reference every generated repo starts from.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


# The suite's exit codes: 0 all rules met, 1 some rule failed (reported per rule below).
SUITE_RAN = (0, 1)


@pytest.fixture(scope="module")
def suite_run(generated_project: Path, generated_image: str, tmp_path_factory) -> tuple:
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
        ok_codes=SUITE_RAN,
    )
    for name in ("report.json", "junit.xml", "report.html"):
        assert (report_dir / name).is_file(), f"{name} was not written"
    return proc, json.loads((report_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def report(suite_run: tuple) -> dict:
    return suite_run[1]


@pytest.mark.parametrize("level", ["MUST", "SHOULD"])
def test_every_rule_passes(report: dict, level: str) -> None:
    results = report["rules"]
    failed = [r for r in results if r["level"] == level and r["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=2)[:4000]


def test_the_run_passes_and_says_so(suite_run: tuple) -> None:
    proc, report = suite_run
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["passed"] is True
    assert "MUST:" in proc.stdout, "the terminal summary counts rules by level"


def test_every_rule_was_checked(report: dict) -> None:
    from modelrail_conformance import build_registry

    active = {rule.id for rule in build_registry().active()}
    assert {r["rule_id"] for r in report["rules"]} == active
