"""The suite against KServe 0.21.0's Python model server, serving the iris classifier through
a custom ``kserve.Model`` (tests/peers/kserve/iris_model.py).

Only what is stable today is pinned: the suite is still changing (profiles, the metrics
port, blocked verdicts), and the full table will be pinned once it settles.
"""

from __future__ import annotations

import pytest
from modelrail_conformance import build_registry

from tests.peers.suite import PEERS_DIR, PeerReport, run_suite

pytestmark = pytest.mark.docker

STABLE_VERDICTS = {
    "RDY-002": "pass",
    "MD-001": "pass",
    "MD-002": "fail",
    "INF-001": "pass",
    "INF-002": "pass",
    "ERR-003": "fail",
    "MET-001": "pass",
}
"""Verdicts that follow from KServe's Open Inference Protocol and its /metrics alone: its
server metadata, model readiness, golden answer and request id are as the protocol says;
its model metadata lists no tensors (a custom model declares none); an unknown model
version is a 501 "Model versioning not supported yet.", not a 404; and its Prometheus
exposition is on the serving port."""


@pytest.fixture(scope="module")
def report(kserve_image: str, tmp_path_factory: pytest.TempPathFactory) -> PeerReport:
    reports = tmp_path_factory.mktemp("kserve-report")
    return run_suite(kserve_image, PEERS_DIR / "kserve", reports)


def test_every_active_rule_has_a_verdict(report: PeerReport) -> None:
    active = [rule.id for rule in build_registry().active()]
    assert list(report.verdicts()) == active, report.table()


def test_the_protocol_verdicts_are_as_pinned(report: PeerReport) -> None:
    verdicts = report.verdicts()
    assert {rule: verdicts.get(rule) for rule in STABLE_VERDICTS} == STABLE_VERDICTS, report.table()
    assert "inputs is []" in report.message("MD-002")
    assert "received 501" in report.message("ERR-003")
