"""The conformance suite, run as a user runs it, against the template's services.

This is the other half of the suite's proof: broken fixtures fail their rule
(tests/conformance/), and the services the template generates pass every rule, SHOULD
rules included: they are the reference every generated repo starts from. One service per
model the template offers (framework x task, the answer sets of `MODELS`): each is
rendered, trained and built once (the default one is the shared ``generated_image``), and
the suite runs once against each.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import GENERATED_IMAGE
from tests.helpers import render, run
from tests.template.answers import MATRIX, MODELS, PROJECT_DIR

pytestmark = [pytest.mark.docker, pytest.mark.slow]


# The suite's exit codes: 0 all rules met, 1 some rule failed (reported per rule below).
SUITE_RAN = (0, 1)


def image_of(answer_id: str) -> str:
    """The image tag of an answer set's service, beside ``GENERATED_IMAGE``'s."""
    name, colon, tag = GENERATED_IMAGE.rpartition(":")
    if not colon or "/" in tag:  # no tag, only a registry port
        name, tag = GENERATED_IMAGE, "latest"
    return f"{name}-{answer_id}:{tag}"


@pytest.fixture(scope="module", params=sorted(MODELS), ids="-".join)
def model_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A generated repo with a trained model and its image, for one framework and task."""
    answer_id = MODELS[request.param]
    if answer_id == "defaults":  # the shared image the other integration tests use
        project = request.getfixturevalue("generated_project")
        return project, request.getfixturevalue("generated_image")
    project = render(tmp_path_factory.mktemp(answer_id) / PROJECT_DIR, MATRIX[answer_id])
    image = image_of(answer_id)
    base_image = request.getfixturevalue("base_image")
    run(["make", "train", "image", f"BASE_IMAGE={base_image}", f"IMAGE={image}"], project)
    return project, image


@pytest.fixture(scope="module")
def suite_run(model_service: tuple[Path, str], tmp_path_factory) -> tuple:
    project, image = model_service
    report_dir = tmp_path_factory.mktemp("conformance-report")
    cli = Path(sys.executable).parent / "modelrail-conformance"
    proc = run(
        [
            str(cli),
            "--modelrail-image",
            image,
            "--modelrail-report-dir",
            str(report_dir),
            "-p",
            "no:cacheprovider",
        ],
        project,
        env={"CI": os.environ.get("CI", "")},
        ok_codes=SUITE_RAN,
    )
    for name in ("report.json", "junit.xml", "report.html"):
        assert (report_dir / name).is_file(), f"{name} was not written"
    return proc, json.loads((report_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def report(suite_run: tuple) -> dict:
    return suite_run[1]


NAMED_FEATURE_RULES = frozenset({"ERR-006", "ERR-007", "ERR-008", "ERR-009"})
"""Rules about a request's named inputs (missing, undeclared, mixed row counts): they need
a model of two inputs or more, so a text model of one input is outside them."""


RANK_TWO_RULES = frozenset({"INF-007"})
"""Nested tensor data: it needs an input of rank 2 or more in the golden request."""


def not_applicable_to(model_service: tuple[Path, str]) -> frozenset[str]:
    """The rules that cannot apply to this service's model, by what it takes."""
    project, _ = model_service
    request = json.loads((project / "tests/golden/infer_request.json").read_text())
    outside = NAMED_FEATURE_RULES if len(request["inputs"]) == 1 else frozenset()
    if all(len(item["shape"]) < 2 for item in request["inputs"]):
        outside |= RANK_TWO_RULES
    return outside


@pytest.mark.parametrize("level", ["MUST", "SHOULD"])
def test_every_rule_passes(report: dict, model_service: tuple[Path, str], level: str) -> None:
    results = [r for r in report["rules"] if r["level"] == level]
    outside = not_applicable_to(model_service)
    failed = [
        r
        for r in results
        if r["status"] != "pass"
        and not (r["status"] == "not_applicable" and r["rule_id"] in outside)
    ]
    assert not failed, json.dumps(failed, indent=2)[:4000]
    # And exactly those are not applicable: a rule that stops checking shows here.
    skipped = {r["rule_id"] for r in results if r["status"] == "not_applicable"}
    assert skipped == {r["rule_id"] for r in results} & outside


def test_the_run_passes_and_says_so(suite_run: tuple) -> None:
    proc, report = suite_run
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["passed"] is True
    assert (report["profile"], report["verdict"]) == ("modelrail", "conforms")
    assert "profile modelrail: conforms" in proc.stdout
    assert "MUST:" in proc.stdout, "the terminal summary counts rules by level"


def test_the_default_service_conforms_to_the_oip_profile(
    generated_project: Path, generated_image: str, tmp_path: Path
) -> None:
    # The protocol's rules alone, as a platform team runs them against any model server.
    from modelrail_conformance import build_registry
    from modelrail_conformance.registry import Profile

    cli = Path(sys.executable).parent / "modelrail-conformance"
    argv = [str(cli), "--modelrail-image", generated_image, "--modelrail-profile", "oip"]
    argv += ["--modelrail-report-dir", str(tmp_path), "-p", "no:cacheprovider"]
    proc = run(argv, generated_project, env={"CI": os.environ.get("CI", "")}, ok_codes=SUITE_RAN)
    report = json.loads((tmp_path / "report.json").read_text())
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert (report["profile"], report["verdict"]) == ("oip", "conforms")
    oip = {rule.id for rule in build_registry().active(Profile.OIP)}
    assert {r["rule_id"] for r in report["rules"]} == oip
    outside = not_applicable_to((generated_project, generated_image))
    assert {r["rule_id"] for r in report["rules"] if r["status"] == "pass"} == oip - outside


def test_every_rule_was_checked(report: dict) -> None:
    from modelrail_conformance import build_registry

    active = {rule.id for rule in build_registry().active()}
    assert {r["rule_id"] for r in report["rules"]} == active
