"""Container-level rules against the fixture image and images derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelrail_conformance.registry import build_registry

from tests.conformance.conftest import derived_dockerfile, make_project
from tests.conformance.flaws import CONTAINER_FLAWS, Flaw

pytestmark = pytest.mark.docker

ALL_RULES = {r.id for r in build_registry()}
RANK_TWO_RULES = {"INF-007"}
"""Not applicable to the fixture's tabular model: every input has rank 1."""


def test_conforming_image_passes_every_rule(fixture_image: str, run_suite) -> None:
    run = run_suite("--modelrail-image", fixture_image)
    assert run.with_status("pass") == ALL_RULES - RANK_TWO_RULES, run.result.stdout.str()[-4000:]
    assert run.with_status("not_applicable") == RANK_TWO_RULES
    assert run.result.ret == 0


def test_rules_needing_an_undeclared_hook_are_not_applicable(
    fixture_image: str, run_suite, tmp_path: Path
) -> None:
    # A service not made from the template declares no hooks: the rules that need one say
    # so instead of failing (and start no container for it).
    project = make_project(tmp_path, {"load_delay_env": None, "model_uri_env": None})
    run = run_suite(
        "--modelrail-image", fixture_image, "--modelrail-rules", "HLT-001,RDY", project=project
    )
    assert run.with_status("not_applicable") == {"HLT-001", "RDY-001", "RDY-003", "RDY-005"}
    assert run.with_status("fail") == set()
    assert run.message("RDY-001") == (
        "not applicable: needs the service hook load_delay_env, which [tool.modelrail] does "
        'not declare; declare it (e.g. load_delay_env = "MODEL_LOAD_DELAY_SECONDS") if the '
        "service has one"
    )
    assert "needs the service hook model_uri_env" in run.message("RDY-005")
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
