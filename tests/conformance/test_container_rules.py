"""Container-level rules against the fixture image and images derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelrail_conformance.registry import build_registry

from tests.conformance.conftest import derived_dockerfile, make_project
from tests.conformance.flaws import CONTAINER_FLAWS, Flaw

pytestmark = pytest.mark.docker

ALL_RULES = {r.id for r in build_registry()}


def test_conforming_image_passes_every_rule(fixture_image: str, run_suite) -> None:
    run = run_suite("--modelrail-image", fixture_image)
    assert run.with_status("pass") == ALL_RULES, run.result.stdout.str()[-4000:]
    assert run.result.ret == 0


@pytest.mark.parametrize("flaw", CONTAINER_FLAWS, ids=lambda f: f.id)
def test_container_flaw_is_reported_with_exactly_its_rule(
    flaw: Flaw, fixture_image: str, run_suite, tmp_path: Path
) -> None:
    project = make_project(tmp_path, flaw.project_config)
    if flaw.kind == "config":
        target = ["--modelrail-image", fixture_image]
    else:
        lines = f"ENV FLAW={flaw.name}" if flaw.kind == "env" else flaw.dockerfile
        dockerfile = derived_dockerfile(tmp_path, flaw.base or fixture_image, lines)
        target = ["--modelrail-dockerfile", str(dockerfile)]
    run = run_suite(*target, "--modelrail-rules", flaw.rules, project=project)
    assert run.with_status("fail") == flaw.fails, run.result.stdout.str()[-4000:]
    assert run.with_status("warn") == flaw.warns
    assert run.with_status("error") == set()
    assert run.result.ret == (1 if flaw.fails else 0)


def test_failed_load_fails_under_strict(fixture_image: str, run_suite, tmp_path: Path) -> None:
    dockerfile = derived_dockerfile(tmp_path, fixture_image, "ENV FLAW=swallow_load_error")
    project = make_project(tmp_path, {"startup_budget_seconds": 3})
    run = run_suite(
        "--modelrail-dockerfile",
        str(dockerfile),
        "--modelrail-rules",
        "RDY-005",
        "--modelrail-strict",
        project=project,
    )
    assert run.status("RDY-005") == "fail"
    assert run.result.ret == 1


def test_container_logs_go_to_a_report_section(
    fixture_image: str, run_suite, tmp_path: Path
) -> None:
    dockerfile = derived_dockerfile(tmp_path, fixture_image, "ENV FLAW=log_payloads")
    run = run_suite("--modelrail-dockerfile", str(dockerfile), "--modelrail-rules", "LOG-003")
    assert "mr-canary" not in run.message("LOG-003").split("Reproduce:")[1]
    run.result.stdout.fnmatch_lines(["*modelrail container logs*"])
