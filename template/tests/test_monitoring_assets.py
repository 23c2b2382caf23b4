"""monitoring/: the dashboard and the rules only query metrics the service really exports.

"The service" is this model on the modelrail-runtime version pyproject.toml pins: a
runtime upgrade that renamed a metric would fail here, not in production. The lake
report's queries run on this model's prediction log.

Prometheus' own unit tests of the rules run with `make rules` (they need promtool).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from modelrail_runtime import ServiceClient
from modelrail_runtime.lake.performance import Performance
from modelrail_runtime.lake.report import metrics_registry
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).parents[1] / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "service.json"
RULES = MONITORING / "prometheus" / "rules.yml"
RUNBOOK = Path(__file__).parents[1] / "docs" / "monitor.md"
GOLDEN = Path(__file__).parent / "golden" / "infer_request.json"

# Names in PromQL that are not metrics: aggregations, keywords, Prometheus' own `up`.
NOT_METRICS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
PROMETHEUS_SERIES = {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names an expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # matchers, ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w:])\d[\d.]*(e[+-]?\d+)?", " ", text)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][\w:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group(0).lower() not in NOT_METRICS:
            names.add(match.group(0))
    return names


def test_metric_names_finds_metrics_only() -> None:
    expr = (
        'sum by (le) (rate(http_server_request_duration_seconds_bucket{job="$job",le="0.1"}'
        "[$__rate_interval])) / on (job) group_left () job:slo_x:ratio_rate5m > 1e-05 and up"
    )
    assert metric_names(expr) == {
        "http_server_request_duration_seconds_bucket",
        "job:slo_x:ratio_rate5m",
        "up",
    }


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def exported(client: ServiceClient) -> set[str]:
    """Every sample name /metrics shows once a prediction has been made, and those the
    performance report pushes (deploy/k8s/base/performance-report.yaml)."""
    assert client.infer(json.loads(GOLDEN.read_text(encoding="utf-8"))).status_code == 200
    text = client.get("/metrics").text
    families = text_string_to_metric_families(text)
    served = {sample.name for family in families for sample in family.samples}
    return served | pushed_by_the_performance_report()


def pushed_by_the_performance_report() -> set[str]:
    """The gauges the performance report pushes, for a classifier's and a regressor's day."""
    days = [
        Performance("2026-01-01", "m", "1", "classification", 10, 5, 0.5, 0.9, 0.8),
        Performance("2026-01-01", "m", "2", "regression", 10, 5, 0.5, rmse=1.0, mae=0.5),
    ]
    registry = metrics_registry(days, datetime.now(UTC))
    return {sample.name for family in registry.collect() for sample in family.samples}


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert {"title", "uid", "panels", "schemaVersion", "templating"} <= set(dashboard)
    assert 1 <= len(dashboard["uid"]) <= 40
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "job", "instance"}
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs, panel["title"]
        assert len(refs) == len(set(refs)), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_every_panel_and_rule_queries_metrics_the_service_exports(
    dashboard: dict[str, Any], rules: list[dict[str, Any]], exported: set[str]
) -> None:
    recorded = {rule["record"] for rule in rules if "record" in rule}
    queries = panel_queries(dashboard)
    queries += [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules]
    for title, expr in queries:
        unknown = metric_names(expr) - exported - recorded - PROMETHEUS_SERIES
        assert not unknown, f"{title!r} queries {sorted(unknown)}, not exported"


def test_every_alert_has_a_severity_and_a_runbook_section(rules: list[dict[str, Any]]) -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    for rule in rules:
        if "alert" not in rule:
            continue
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["runbook_url"] == f"docs/monitor.md#{rule['alert'].lower()}"
        assert f"\n### {rule['alert']}\n" in runbook, f"docs/monitor.md has no {rule['alert']}"


def test_the_lake_report_reads_this_models_prediction_log(artifacts: Path, tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    rows = golden["inputs"][0]["shape"][0]
    with ServiceClient(
        artifacts, prediction_log_sample_rate=1.0, prediction_log_url=str(tmp_path)
    ) as service:  # the log is written when the service stops
        assert service.infer(golden).status_code == 200
    report = subprocess.run(
        [sys.executable, MONITORING / "lake_report.py", tmp_path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(rf"│\s+1 │\s+{rows} │", report), "one request, a row per prediction"
    for tensor in golden["inputs"]:
        assert f"│ {tensor['name']} " in report, f"no summary of feature {tensor['name']}"


def test_the_lake_report_and_the_performance_report_score_labelled_predictions(
    artifacts: Path, tmp_path: Path
) -> None:
    """Predictions labelled through the service's labels endpoint with the model's own
    answers: realized accuracy 1 (RMSE 0), every prediction labelled."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    lake = tmp_path / "predictions"
    with ServiceClient(
        artifacts,
        prediction_log_sample_rate=1.0,
        prediction_log_url=str(lake),
        labels_url=str(tmp_path / "labels"),
        labels_auth="mesh",  # this test is the mesh: no token
    ) as service:
        response = service.infer(golden)
        outputs = {output["name"]: output["data"] for output in response.json()["outputs"]}
        if "embedding" in outputs:
            # An encoder has no ground truth: nothing to label, nothing to score.
            refused = service.post(f"/v2/models/{service.settings.model_name}/labels", json={})
            assert refused.status_code == 404
            return
        field, truths = (
            ("label", outputs["label"]) if "label" in outputs else ("value", outputs["prediction"])
        )
        labels = [
            {"prediction_id": prediction_id, field: truth}
            for prediction_id, truth in zip(outputs["prediction_id"], truths, strict=True)
        ]
        stored = service.post(
            f"/v2/models/{service.settings.model_name}/labels", json={"labels": labels}
        )
        assert stored.status_code == 200, stored.text
    lake_report = subprocess.run(
        [sys.executable, MONITORING / "lake_report.py", lake, "--labels", tmp_path / "labels"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Realized performance per model version and day" in lake_report
    assert "Label coverage per model version and day" in lake_report
    # Drift is summarised over numeric features; a text model has none.
    numeric = any(t["datatype"] not in ("BYTES", "BOOL") for t in golden["inputs"])
    assert ("Drift summary" in lake_report) == numeric, lake_report
    perfect = "1.0" if field == "label" else "0.0"
    assert re.search(rf"│\s+{len(labels)} │\s+{perfect} │", lake_report), lake_report
    performance = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelrail_runtime.lake",
            "performance",
            f"--predictions={lake}",
            f"--labels={tmp_path / 'labels'}",
            f"--output={tmp_path / 'performance'}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header, row = performance.splitlines()
    assert header.split()[:5] == ["date", "model_version", "predictions", "labelled", "coverage"]
    assert row.split()[2:5] == [str(len(labels)), str(len(labels)), "1.0000"]
    assert list((tmp_path / "performance").glob("date=*/performance.parquet"))
