"""docs/peers.md says what the pinned verdicts say (no Docker needed)."""

from __future__ import annotations

from modelrail_conformance import build_registry

from tests.peers import page
from tests.peers.verdicts import PEERS


def test_the_page_is_current() -> None:
    assert page.main(["--check"]) == 0, "run: uv run python -m tests.peers.page"


def test_every_pinned_rule_exists_and_every_failure_has_its_reason() -> None:
    registry = build_registry()
    for peer in PEERS:
        for rule_id, verdict in peer.verdicts.items():
            assert rule_id in registry, (peer.key, rule_id)
            assert verdict.status in ("fail", "warn", "blocked", "not_applicable")
            assert verdict.cause, (peer.key, rule_id)
            assert verdict.why, (peer.key, rule_id)


def test_a_failed_protocol_rule_quotes_the_protocol() -> None:
    text = page.render()
    # MD-002 fails on every peer: its row quotes the model metadata section.
    assert text.count("The protocol, [Model Metadata Response JSON Object](") == len(PEERS)
    assert "#inference-response-json-error-object" in text
