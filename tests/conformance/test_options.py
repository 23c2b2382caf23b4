"""Options, [tool.modelrail] validation, waivers files and the registry (no service needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelrail_conformance import cli
from modelrail_conformance.config import Hook, parse_config
from modelrail_conformance.failures import ConfigError, NotApplicable, RuleViolation
from modelrail_conformance.registry import (
    OIP_SPEC_URL,
    DuplicateRuleError,
    Level,
    Profile,
    Registry,
    Rule,
    SpecSection,
    build_registry,
)
from modelrail_conformance.target import Target, TargetSpec
from modelrail_conformance.waivers import load_waivers

from tests.conformance.conftest import PROJECT

VALID = {
    "model_name": "m",
    "golden_request": "golden/request.json",
    "golden_response": "golden/response.json",
}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--modelrail-rules", "HLT,NOPE-001"],
            "*--modelrail-rules: 'NOPE-001' is neither a rule ID nor a family*",
        ),
        (
            ["--modelrail-base-url", "localhost:8080"],
            "*--modelrail-base-url: 'localhost:8080' is not a URL*",
        ),
        (
            ["--modelrail-image", "a:b", "--modelrail-base-url", "http://127.0.0.1:1"],
            "*exactly one of*",
        ),
        (
            ["--modelrail-dockerfile", "nope/Dockerfile"],
            "*--modelrail-dockerfile: 'nope/Dockerfile' is not a file*",
        ),
        (
            ["--modelrail-image", "x:y", "--modelrail-build-arg", "A=1"],
            "*only valid with --modelrail-dockerfile*",
        ),
        (
            ["--modelrail-project", "/nonexistent"],
            "*--modelrail-project: '/nonexistent' is not a directory*",
        ),
        (
            ["--modelrail-profile", "kserve"],
            "*--modelrail-profile: 'kserve' is not a profile; accepted: oip, modelrail*",
        ),
    ],
)
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], expected: str
) -> None:
    result = pytester.runpytest(
        *cli.pytest_args([*args, "--modelrail-project", str(PROJECT), *args[:0]])
    )
    if "--modelrail-project" in args:
        result = pytester.runpytest(*cli.pytest_args(args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_env_var_fallback(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRAIL_RULES", "BOGUS")
    result = pytester.runpytest(*cli.pytest_args(["--modelrail-project", str(PROJECT)]))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'BOGUS' is neither a rule ID nor a family*"])


def test_no_target_is_explained(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*cli.pytest_args(["--modelrail-rules", "MD-001"]))
    result.stdout.fnmatch_lines(["*no service to check: pass one of --modelrail-image*"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"modle_name": "x"},
            "unknown key 'modle_name' in [tool.modelrail]; did you mean 'model_name'?",
        ),
        ({"port": "8080"}, "port = '8080' is invalid; expected an integer"),
        ({"port": 70000}, "port = 70000 is out of range; expected between 1 and 65535"),
        ({"golden_request": "missing.json"}, "golden_request = 'missing.json' points to"),
        (
            {"latency": {"p99": 5}},
            "unknown key 'p99' in [tool.modelrail.latency]; did you mean 'p99_ms'?",
        ),
        ({"latency": {"concurrency": 0}}, "latency.concurrency = 0 is out of range"),
    ],
)
def test_config_errors_say_what_to_fix(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({**VALID, **change}, PROJECT)
    assert message in str(info.value)


def test_missing_required_key() -> None:
    table = {k: v for k, v in VALID.items() if k != "model_name"}
    with pytest.raises(ConfigError, match="missing model_name"):
        parse_config(table, PROJECT)


def test_config_defaults() -> None:
    config = parse_config(VALID, PROJECT)
    assert (config.port, config.tolerance, config.startup_budget_seconds) == (8080, 1e-6, 10.0)
    assert config.latency.concurrency == 8
    assert config.max_body_bytes == 1_048_576


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[waiver]]\nrule = "XYZ-001"\nreason = "r"\nexpires = 2030-01-01\n', "is not a rule ID"),
        ('[[waiver]]\nrule = "MET-006"\nexpires = 2030-01-01\n', "reason is missing"),
        ('[[waiver]]\nrule = "MET-006"\nreason = "r"\nexpires = "soon"\n', "expected a TOML date"),
    ],
)
def test_waiver_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_waivers(path, {r.id for r in build_registry()})


def _check(target: object) -> None:
    """Things MUST work.

    Why:
        Because.

    Checked by:
        Looking.

    Fix:
        Make it work. Then rest.
    """


def test_registry_rejects_duplicate_ids() -> None:
    rule = Rule("HLT-999", Level.MUST, "x", _check)
    with pytest.raises(DuplicateRuleError, match="HLT-999 is registered twice"):
        Registry([rule, rule])


def test_retired_rules_stay_but_do_not_run() -> None:
    retired = Rule("HLT-998", Level.MUST, "old", _check, retired=True)
    registry = Registry([retired])
    assert "HLT-998" in registry
    assert registry.active() == []


def test_violation_message_order() -> None:
    rule = Rule("MET-999", Level.MUST, "x", _check)
    violation = RuleViolation(
        "GET /metrics", "307", "200 text/plain", reproduce="curl -i http://h/metrics"
    ).bind(rule)
    assert str(violation) == (
        "[MET-999 MUST] GET /metrics: received 307, expected 200 text/plain. Fix: Make it work. "
        "See docs/contract.md#met-999. Reproduce: curl -i http://h/metrics"
    )


def test_the_oip_profile_is_the_rules_citing_the_protocol() -> None:
    registry = build_registry()
    oip = registry.select(None, Profile.OIP)
    assert {r.id for r in oip} == {r.id for r in registry.active() if r.spec is not None}
    assert {"HLT-004", "RDY-006", "RDY-007", "MD-001", "MD-002", "INF-001", "ERR-011"} <= {
        r.id for r in oip
    }
    # The platform's own rules are not the protocol's: metrics, image, shutdown, 400s.
    assert not {"MET-001", "IMG-001", "SHD-002", "ERR-002", "RDY-001"} & {r.id for r in oip}
    assert all(r.spec is not None and r.spec.url.startswith(OIP_SPEC_URL + "#") for r in oip)
    assert [r.id for r in registry.select("ERR", Profile.OIP)] == ["ERR-011"]
    # modelrail is the protocol's rules and the platform's on top.
    assert set(oip) <= set(registry.select(None, Profile.MODELRAIL))


def test_a_spec_section_links_to_its_heading() -> None:
    section = SpecSection("Inference Response JSON Error Object", "…")
    assert section.url == OIP_SPEC_URL + "#inference-response-json-error-object"


def test_an_undeclared_hook_is_not_applicable_naming_the_key() -> None:
    config = parse_config(VALID, PROJECT)
    assert (config.load_delay_env, config.model_uri_env, config.metrics_port) == (None,) * 3
    with pytest.raises(NotApplicable, match="needs the service hook load_delay_env"):
        config.hook(Hook.LOAD_DELAY)
    declared = parse_config({**VALID, "model_uri_env": "MODEL_PATH"}, PROJECT)
    assert declared.hook(Hook.MODEL_URI) == "MODEL_PATH"


@pytest.mark.parametrize(
    ("base_url", "metrics_url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8082"),
        ("https://models.example.com/", "https://models.example.com:8082"),
        ("http://[::1]:8080", "http://[::1]:8082"),
    ],
)
def test_a_separate_metrics_port_is_scraped_there(base_url: str, metrics_url: str) -> None:
    config = parse_config({**VALID, "metrics_port": 8082}, PROJECT)
    assert Target(TargetSpec(base_url=base_url), config).metrics_url == metrics_url
    same = parse_config({**VALID, "metrics_port": 8080}, PROJECT)
    assert Target(TargetSpec(base_url=base_url), same).metrics_url == base_url.rstrip("/")


def test_registry_selection_by_family_and_id() -> None:
    registry = build_registry()
    selected = [r.id for r in registry.select("hlt, RDY-002")]
    assert selected == ["HLT-001", "HLT-002", "HLT-003", "HLT-004", "RDY-002"]
