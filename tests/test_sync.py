"""The contract document, the registry and the proof tests stay in step.

- docs/contract.md is exactly what docgen renders from the registry;
- every rule has its normative sentence (RFC 2119 word), the Why / Checked by / Fix
  sections and an anchor in the document;
- every rule has a failing test (a flaw in tests/conformance/flaws.py that must fail or
  warn it) and a passing one (the conforming fixture passes every rule).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from modelrail_conformance.docgen import render
from modelrail_conformance.registry import SECTIONS, build_registry

from tests.conformance.flaws import ALL_FLAWS

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = build_registry()
RULES = list(REGISTRY)
RFC2119 = re.compile(r"\b(MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)\b")


def test_contract_md_is_current() -> None:
    committed = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    command = "uv run python -m modelrail_conformance.docgen docs/contract.md"
    assert committed == render(REGISTRY), f"docs/contract.md is stale; run: {command}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_statement_and_sections(rule) -> None:
    match = RFC2119.search(rule.statement)
    assert match, f"{rule.id}: the first docstring paragraph has no RFC 2119 keyword"
    assert match.group(1).startswith(str(rule.level)), (
        f"{rule.id} is {rule.level} but its sentence says {match.group(1)}"
    )
    for section in SECTIONS:
        assert rule.sections.get(section), f"{rule.id}: docstring section {section!r} missing"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_an_anchor_in_the_contract(rule) -> None:
    text = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert f'<a id="{rule.anchor}"></a>' in text
    assert f"](#{rule.anchor})" in text


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_a_failing_test(rule) -> None:
    caught_by = [f.name for f in ALL_FLAWS if rule.id in f.fails | f.warns]
    assert caught_by, f"{rule.id}: no flaw in tests/conformance/flaws.py fails it"
    for flaw in ALL_FLAWS:
        if rule.id in flaw.warns:
            assert str(rule.level) == "SHOULD", (
                f"{flaw.name}: {rule.id} is MUST, it cannot only warn"
            )


def test_every_rule_has_a_passing_test() -> None:
    # Both conforming tests assert that every rule passes (or, in base-URL mode, that every
    # container rule is not applicable and every other rule passes).
    http = (ROOT / "tests" / "conformance" / "test_http_rules.py").read_text()
    container = (ROOT / "tests" / "conformance" / "test_container_rules.py").read_text()
    assert "def test_conforming_service_passes_every_http_rule" in http
    assert 'assert run.with_status("pass") == ALL_RULES' in container
