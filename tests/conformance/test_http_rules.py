"""HTTP-level rules against the in-process fixture service, in base-URL mode."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from modelrail_conformance.config import load_config
from modelrail_conformance.failures import NotApplicable
from modelrail_conformance.registry import build_registry
from modelrail_conformance.target import Target, TargetSpec

from tests.conformance.conftest import PROJECT, make_project
from tests.conformance.flaws import EMBEDDING, HTTP_FLAWS, SINGLE_TENSOR, TEXT, Flaw

REGISTRY = build_registry()
ALL_RULES = {r.id for r in REGISTRY}
CONTAINER_RULES = {r.id for r in REGISTRY if r.needs_container}
NAMED_FEATURE_RULES = {"ERR-006", "ERR-007", "ERR-008", "ERR-009"}
TEXT_RULES = {r.id for r in REGISTRY if r.family == "TXT"}
OIP_RULES = {r.id for r in REGISTRY if r.spec is not None}
RANK_TWO_RULES = {"INF-007"}
"""Not applicable when every input of the golden request has rank 1 (nested is flat)."""


def test_conforming_service_passes_every_http_rule(serve, run_suite) -> None:
    run = run_suite("--modelrail-base-url", serve(None))
    assert run.with_status("fail") == set(), run.result.stdout.str()[-3000:]
    assert run.with_status("warn") == set()
    assert run.with_status("error") == set()
    # Container rules are reported as not applicable, never passed silently.
    assert run.with_status("not_applicable") == CONTAINER_RULES | RANK_TWO_RULES
    assert run.with_status("pass") == ALL_RULES - CONTAINER_RULES - RANK_TWO_RULES
    assert run.result.ret == 0
    assert run.report["latency"]["measured_requests"] > 0
    # The golden request's BYTES values are one-word categories: no text to generate.
    assert run.report["latency"]["distinct_bodies"] == 1


def test_the_oip_profile_runs_the_protocol_rules_only(serve, run_suite, tmp_path) -> None:
    # The single-tensor model: every protocol rule applies to it (INF-007 needs rank 2).
    project = make_project(tmp_path, SINGLE_TENSOR)
    run = run_suite(
        "--modelrail-base-url", serve(None, "single"), "--modelrail-profile", "oip",
        project=project,
    )  # fmt: skip
    assert run.with_status("pass") == OIP_RULES, run.result.stdout.str()[-3000:]
    assert {r["rule_id"] for r in run.report["rules"]} == OIP_RULES
    assert (run.report["profile"], run.report["verdict"]) == ("oip", "conforms")
    run.result.stdout.fnmatch_lines(["profile oip: conforms", "MUST: 13 pass"])
    # A protocol violation fails the profile and says so.
    failing = run_suite(
        "--modelrail-base-url", serve("detail_errors", "single"), "--modelrail-profile", "oip",
        project=project,
    )  # fmt: skip
    assert failing.with_status("fail") == {"ERR-011"}
    assert failing.report["verdict"] == "does not conform"
    failing.result.stdout.fnmatch_lines(["profile oip: does not conform"])
    assert failing.result.ret == 1


def test_single_tensor_model_passes_every_http_rule_it_can(serve, run_suite, tmp_path) -> None:
    # The older shape (one FP64 tensor [-1, 4], INT64 labels) still passes; the rules about
    # named features and about BYTES inputs say why they do not apply instead of passing.
    project = make_project(tmp_path, SINGLE_TENSOR)
    run = run_suite("--modelrail-base-url", serve(None, "single"), project=project)
    skipped = CONTAINER_RULES | NAMED_FEATURE_RULES | TEXT_RULES
    assert run.with_status("fail") == set(), run.result.stdout.str()[-3000:]
    assert run.with_status("warn") == set()
    assert run.with_status("error") == set()
    assert run.with_status("not_applicable") == skipped
    assert run.with_status("pass") == ALL_RULES - skipped
    for rule_id in NAMED_FEATURE_RULES:
        assert run.message(rule_id) == (
            "not applicable: the model has one input ('features'); "
            "the named-feature rules need more"
        )
    for rule_id in TEXT_RULES:
        assert run.message(rule_id) == (
            "not applicable: the model has no BYTES input ('features' FP64); "
            "the text rules need one"
        )
    assert run.result.ret == 0


@pytest.mark.parametrize(("model", "golden"), [("text", TEXT), ("embedding", EMBEDDING)])
def test_text_model_passes_every_http_rule_it_can(
    model: str, golden: dict[str, object], serve, run_suite, tmp_path: Path
) -> None:
    # One BYTES input: the named-feature rules do not apply, every text rule does. The
    # load run sends generated sentences, not the golden request over and over.
    project = make_project(tmp_path, golden)
    run = run_suite("--modelrail-base-url", serve(None, model), project=project)
    assert run.with_status("fail") == set(), run.result.stdout.str()[-3000:]
    assert run.with_status("warn") == set()
    assert run.with_status("error") == set()
    skipped = CONTAINER_RULES | NAMED_FEATURE_RULES | RANK_TWO_RULES
    assert run.with_status("not_applicable") == skipped
    assert run.with_status("pass") == ALL_RULES - skipped
    assert run.report["latency"]["distinct_bodies"] == 16
    assert run.report["latency"]["measured_requests"] > 0
    assert run.result.ret == 0


@pytest.mark.parametrize("flaw", HTTP_FLAWS, ids=lambda f: f.id)
def test_http_flaw_is_reported_with_exactly_its_rule(
    flaw: Flaw, serve, run_suite, tmp_path: Path
) -> None:
    project = make_project(tmp_path, flaw.project_config)
    base = serve(flaw.name, flaw.model)
    run = run_suite("--modelrail-base-url", base, "--modelrail-rules", flaw.rules, project=project)
    assert run.with_status("fail") == flaw.fails, run.result.stdout.str()[-3000:]
    assert run.with_status("warn") == flaw.warns
    assert run.with_status("blocked") == flaw.blocked
    assert run.with_status("error") == set()
    assert run.result.ret == (1 if flaw.fails else 0)
    for rule_id in flaw.blocked:
        assert run.message(rule_id).startswith("blocked by MD-002: the model metadata's inputs")
    for rule_id in flaw.fails:
        message = run.message(rule_id)
        assert message.startswith(f"[{rule_id} MUST] ")
        assert f"See docs/contract.md#{rule_id.lower()}." in message
        assert " Fix: " in message
        assert "Reproduce: " in message
        run.result.stdout.fnmatch_lines([f"*[[]{rule_id} MUST[]]*"])


def test_generated_requests_go_only_to_loopback() -> None:
    # MD-004 sends requests generated from the document: never to another machine.
    target = Target(TargetSpec(base_url="http://192.0.2.7:8080"), load_config(PROJECT))
    with pytest.raises(
        NotApplicable, match=r"^the suite sends generated requests only to loopback"
    ):
        REGISTRY["MD-004"].check(target)
    assert target.memo == {}


def test_an_untruthful_document_names_its_failures(serve, run_suite) -> None:
    run = run_suite(
        "--modelrail-base-url", serve("openapi_untruthful"), "--modelrail-rules", "MD-004"
    )
    message = run.message("MD-004")
    # Only the documented 422 is wrong: each failure is the 400 the document does not list.
    assert re.match(
        r"\[MD-004 SHOULD\] schemathesis, every check, on the operations of GET /openapi.json: "
        r"received (\d+) failures \(status_code_conformance: \1\); first: "
        r"POST /v2/models/\{model_name\}/infer: Undocumented status code",
        message,
    ), message
    assert "See docs/contract.md#md-004. Reproduce: curl -X POST http://127.0.0.1:" in message
    # Every failure, with what the document says, is in the report.
    details = next(r["details"] for r in run.report["rules"] if r["rule_id"] == "MD-004")
    assert details.count("Documented: 200, 404, 413, 503, 422") >= 2, details


def test_message_order_for_a_metrics_redirect(serve, run_suite) -> None:
    base = serve("metrics_mount")
    run = run_suite("--modelrail-base-url", base, "--modelrail-rules", "MET-001")
    message = run.message("MET-001")
    assert message.startswith("[MET-001 MUST] GET /metrics: received 307")
    order = [
        message.index(part) for part in ("received", "expected", "Fix:", "See docs/", "Reproduce:")
    ]
    assert order == sorted(order)
    assert message.endswith(f"Reproduce: curl -i {base}/metrics")


def test_should_violation_fails_only_under_strict(serve, run_suite) -> None:
    base = serve("no_openapi")
    assert run_suite("--modelrail-base-url", base, "--modelrail-rules", "MD-003").result.ret == 0
    strict = run_suite(
        "--modelrail-base-url", base, "--modelrail-rules", "MD-003", "--modelrail-strict"
    )
    assert strict.status("MD-003") == "fail"
    assert strict.result.ret == 1


def _waivers(tmp_path: Path, expires: dt.date) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(
        f'[[waiver]]\nrule = "INF-002"\nreason = "id echo lands in 0.2"\nexpires = {expires.isoformat()}\n'
    )
    return path


def test_waiver_turns_a_failure_into_waived(serve, run_suite, tmp_path: Path) -> None:
    waivers = _waivers(tmp_path, dt.date.today() + dt.timedelta(days=30))
    run = run_suite(
        "--modelrail-base-url", serve("no_id_echo"), "--modelrail-rules", "INF-002",
        "--modelrail-waivers", str(waivers),
    )  # fmt: skip
    assert run.status("INF-002") == "waived"
    assert run.report["waivers"][0]["rule"] == "INF-002"
    assert run.result.ret == 0


def test_expired_waiver_fails_the_run(serve, run_suite, tmp_path: Path) -> None:
    waivers = _waivers(tmp_path, dt.date.today() - dt.timedelta(days=1))
    run = run_suite(
        "--modelrail-base-url", serve("no_id_echo"), "--modelrail-rules", "INF-002",
        "--modelrail-waivers", str(waivers),
    )  # fmt: skip
    assert run.status("INF-002") == "fail"
    assert run.report["waivers"][0]["expired"] is True
    assert run.result.ret == 1
    run.result.stdout.fnmatch_lines(["*waiver INF-002*EXPIRED*"])


def test_reports_are_written_with_rule_properties(serve, run_suite, tmp_path: Path) -> None:
    run = run_suite("--modelrail-base-url", serve("no_id_echo"), "--modelrail-rules", "INF")
    assert run.report["passed"] is False
    # INF-007 needs an input of rank 2; the tabular fixture's are of rank 1.
    assert run.report["summary"]["MUST"] == {"pass": 5, "fail": 1, "not_applicable": 1}
    report_dir = next(tmp_path.glob("reports-*"))
    junit = (report_dir / "junit.xml").read_text()
    assert '<property name="rule_id" value="INF-002" />' in junit
    assert '<property name="level" value="MUST" />' in junit
    html = (report_dir / "report.html").read_text()
    assert 'id="rules"' in html
    assert "INF-002" in html
