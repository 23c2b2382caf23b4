"""The suite's verdicts on real model servers not made from the template, pinned.

Each peer (tests/peers/verdicts.py) is built once per session and checked twice, as a
platform team checks a server before a migration: with the ``modelrail`` profile (every
rule) and the ``oip`` profile (the protocol alone). Every rule's verdict must be the pinned
one, and each message must hold its pinned cause.
"""

from __future__ import annotations

import pytest
from modelrail_conformance import build_registry
from modelrail_conformance.registry import Profile

from tests.peers.suite import PEERS_DIR, PeerReport, run_suite
from tests.peers.verdicts import PEERS, Peer

pytestmark = pytest.mark.docker

REGISTRY = build_registry()


@pytest.fixture(scope="module", params=PEERS, ids=lambda peer: peer.key)
def peer(request: pytest.FixtureRequest) -> tuple[Peer, str]:
    """A peer and its image (built once per session by its ``<key>_image`` fixture)."""
    return request.param, request.getfixturevalue(f"{request.param.key}_image")


@pytest.fixture(scope="module")
def runs(
    peer: tuple[Peer, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[Profile, PeerReport]:
    """The suite's report on the peer, per profile."""
    spec, image = peer
    return {
        profile: run_suite(
            image, PEERS_DIR / spec.key, tmp_path_factory.mktemp(f"{spec.key}-{profile}"), profile
        )
        for profile in Profile
    }


@pytest.mark.parametrize("profile", list(Profile))
def test_every_rule_gets_its_pinned_verdict(
    peer: tuple[Peer, str], runs: dict[Profile, PeerReport], profile: Profile
) -> None:
    spec, _ = peer
    report = runs[profile]
    rules = [rule.id for rule in REGISTRY.active(profile)]
    assert list(report.verdicts()) == rules, report.table()
    pinned = {rule: spec.status(rule) for rule in rules}
    assert report.verdicts() == pinned, report.table()
    for rule, verdict in spec.verdicts.items():
        if rule in rules:
            assert verdict.cause in report.message(rule), (rule, report.message(rule))


@pytest.mark.parametrize("profile", list(Profile))
def test_the_report_names_the_profile_and_its_verdict(
    runs: dict[Profile, PeerReport], profile: Profile
) -> None:
    report = runs[profile]
    # Every peer breaks a MUST rule of the protocol (its metadata declares no tensors).
    assert (report.report["profile"], report.report["verdict"]) == (profile, "does not conform")
    assert f"profile {profile}: does not conform" in report.output
