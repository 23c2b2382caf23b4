"""A real Prometheus scrapes the generated image: series, labels, rules, drift, dashboard.

Prometheus (Debian package prometheus) runs as a subprocess on 127.0.0.1 with a 1 s scrape
and rule interval, loading the generated repo's monitoring/prometheus/rules.yml, and
scrapes one container of the generated image (read-only root filesystem, as deployed).
Everything is asserted through the Prometheus HTTP API; every wait is bounded.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from modelrail_conformance.target import HttpStatusWait, ServiceContainer

from tests.conftest import require_command
from tests.helpers import free_port
from tests.integration.traffic import customers, features, infer_body, sample
from tests.template.answers import FEATURES
from tests.template.test_monitoring import ALERTS

pytestmark = [pytest.mark.docker, pytest.mark.slow]

WINDOW_ROWS = 300
THRESHOLD = 0.2
SHIFTED = "monthly_charges"
INFER_ROUTE = "/v2/models/{model_name}/infer"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 45) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def project(generated_project: Path) -> dict[str, Any]:
    answers = yaml.safe_load((generated_project / ".copier-answers.yml").read_text())
    metadata = json.loads((generated_project / "artifacts" / "metadata.json").read_text())
    return {
        "dir": generated_project,
        "model": answers["model_name"],
        "version": metadata["artifact_sha256"][:12],
    }


@pytest.fixture(scope="module")
def service(generated_image: str) -> Iterator[ServiceContainer]:
    env = {"DRIFT_WINDOW_ROWS": str(WINDOW_ROWS), "DRIFT_MIN_ROWS": "100"}
    container = ServiceContainer(generated_image, 8080, env, hardened=True).start()
    try:
        HttpStatusWait("/v2/health/ready", timeout=60).wait(container)
        yield container
    finally:
        container.stop()


@pytest.fixture(scope="module")
def prometheus(
    service: ServiceContainer, project: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    binary = require_command("prometheus", "prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    target = service.base_url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(project["dir"] / "monitoring" / "prometheus" / "rules.yml")],
        "scrape_configs": [
            {"job_name": project["model"], "static_configs": [{"targets": [target]}]}
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (work / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def ready() -> bool:
                assert process.poll() is None, (work / "prometheus.log").read_text()
                try:
                    return client.get("/-/ready").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for("Prometheus to be ready", ready, timeout=30)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def query(prometheus: httpx.Client, expr: str) -> list[dict[str, Any]]:
    response = prometheus.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", f"{expr}: {body}"
    return body["data"]["result"]


def series(prometheus: httpx.Client, match: str) -> list[dict[str, str]]:
    body = prometheus.get("/api/v1/series", params={"match[]": match}).json()
    assert body["status"] == "success", body
    return body["data"]


def value(point: dict[str, Any]) -> float:
    return float(point["value"][1])


def drift(prometheus: httpx.Client, model: str) -> dict[str, float]:
    found = {
        point["metric"]["feature"]: value(point)
        for point in query(prometheus, f'model_feature_drift_psi{{job="{model}"}}')
    }
    for point in query(prometheus, f'model_prediction_drift_psi{{job="{model}"}}'):
        found["prediction"] = value(point)
    return found


@pytest.fixture(scope="module")
def traffic(
    service: ServiceContainer, prometheus: httpx.Client, project: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Training-like traffic, then traffic with higher charges: the drift seen after each."""
    rows = customers(project["dir"])
    schema = features(project["dir"])
    infer = f"/v2/models/{project['model']}/infer"
    model = project["model"]
    seen: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        assert client.post(infer, content=b"{not json").status_code == 400
        calm = sample(rows, WINDOW_ROWS, seed=1)
        for start in range(0, WINDOW_ROWS, 10):
            body = infer_body(schema, calm[start : start + 10])
            assert client.post(infer, json=body).status_code == 200

        def calm_window_scraped() -> dict[str, float] | None:
            rows_now = query(prometheus, f'model_drift_window_rows{{job="{model}"}}')
            if not rows_now or value(rows_now[0]) != WINDOW_ROWS:
                return None
            return drift(prometheus, model)

        seen["calm"] = wait_for("the full window in Prometheus", calm_window_scraped)
        shifted = sample(rows, WINDOW_ROWS, seed=2)
        for row in shifted:  # 60 more a month, a missing charge stays missing
            row[SHIFTED] = None if row[SHIFTED] is None else row[SHIFTED] + 60
        for start in range(0, WINDOW_ROWS, 10):
            body = infer_body(schema, shifted[start : start + 10])
            assert client.post(infer, json=body).status_code == 200

    def shift_scraped() -> dict[str, float] | None:
        now = drift(prometheus, model)
        return now if now.get(SHIFTED, 0) > THRESHOLD else None

    seen["shifted"] = wait_for("the shift in Prometheus", shift_scraped)
    return seen


def test_the_rules_load_and_evaluate(prometheus: httpx.Client, project: dict[str, Any]) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

    rules = wait_for("every rule evaluated without error", evaluated, timeout=30)
    names = {rule["name"] for rule in rules}
    recorded = {"job:slo_availability_errors:ratio_rate5m", "job:slo_latency_errors:ratio_rate3d"}
    assert recorded | ALERTS <= names
    assert len([r for r in rules if r["type"] == "recording"]) == 10


def test_the_expected_series_exist_with_their_labels(
    prometheus: httpx.Client, project: dict[str, Any], traffic: dict[str, dict[str, float]]
) -> None:
    job, model, version = project["model"], project["model"], project["version"]
    http = series(
        prometheus,
        f'http_server_request_duration_seconds_count{{job="{job}",http_route="{INFER_ROUTE}"}}',
    )
    assert {(s["http_request_method"], s["http_response_status_code"]) for s in http} >= {
        ("POST", "200"),
        ("POST", "400"),
    }
    inference = series(prometheus, f'model_inference_requests_total{{job="{job}"}}')
    assert [(s["model_name"], s["model_version"]) for s in inference] == [(model, version)]
    predictions = series(prometheus, f'model_predictions_total{{job="{job}"}}')
    assert {s["predicted_class"] for s in predictions} == {"churned", "stayed"}
    scores = series(prometheus, f'model_prediction_score_bucket{{job="{job}"}}')
    assert {s["le"] for s in scores} >= {"0.5", "0.9", "1.0", "+Inf"}
    features = series(prometheus, f'model_feature_drift_psi{{job="{job}"}}')
    assert {(s["feature"], s["model_version"]) for s in features} == {
        (f, version) for f in FEATURES
    }
    for counter in ("missing_values", "unseen_categories", "out_of_range_values"):
        quality = series(prometheus, f'model_input_{counter}_total{{job="{job}"}}')
        assert {(s["feature"], s["model_version"]) for s in quality} == {
            (f, version) for f in FEATURES
        }, counter
    (prediction,) = series(prometheus, f'model_prediction_drift_psi{{job="{job}"}}')
    assert prediction["output"] == "label"
    dropped = series(prometheus, f'prediction_log_events_dropped_total{{job="{job}"}}')
    assert {s["reason"] for s in dropped} == {"queue_full", "write_error", "shutdown"}
    (build,) = series(prometheus, f'service_build_info{{job="{job}"}}')
    assert build["version"]
    assert build["revision"]
    assert [value(s) for s in query(prometheus, f'model_ready{{job="{job}"}}')] == [1.0]
    # The image logs every request by default: written, or queued until the next flush.
    logged = (
        f'prediction_log_events_written_total{{job="{job}"}}'
        f' + prediction_log_queued_events{{job="{job}"}}'
    )
    requests = 2 * WINDOW_ROWS // 10

    def all_logged() -> bool:
        return [value(s) for s in query(prometheus, logged)] == [requests]

    wait_for(f"{requests} prediction-log events written or queued", all_logged, timeout=20)


def test_training_traffic_stays_below_the_threshold_and_the_shifted_feature_crosses_it(
    prometheus: httpx.Client, project: dict[str, Any], traffic: dict[str, dict[str, float]]
) -> None:
    calm, shifted = traffic["calm"], traffic["shifted"]
    assert set(calm) == {*FEATURES, "prediction"}
    assert all(calm[name] < THRESHOLD for name in calm), calm
    assert shifted[SHIFTED] > THRESHOLD, shifted
    assert all(shifted[name] < THRESHOLD for name in FEATURES if name != SHIFTED), shifted

    # The alert rules agree on the real data: pending (they fire after 15 minutes). Charges
    # 60 higher are beyond the training range too, for over half of the shifted rows.
    for alert in ("ModelInputDrift", "ModelInputOutOfRange"):

        def pending(alert: str = alert) -> list[dict[str, Any]]:
            return query(prometheus, f'ALERTS{{alertname="{alert}",job="{project["model"]}"}}')

        alerts = wait_for(f"{alert} to be pending", pending, timeout=20)
        assert [(a["metric"]["feature"], a["metric"]["alertstate"]) for a in alerts] == [
            (SHIFTED, "pending")
        ], alert


def test_the_slo_recording_rules_see_the_traffic(
    prometheus: httpx.Client, project: dict[str, Any], traffic: dict[str, dict[str, float]]
) -> None:
    job = project["model"]

    def recorded() -> list[dict[str, Any]]:
        return query(prometheus, f'job:slo_availability_errors:ratio_rate5m{{job="{job}"}}')

    assert [value(s) for s in wait_for("the availability ratio", recorded)] == [0.0]
    (latency,) = query(prometheus, f'job:slo_latency_errors:ratio_rate5m{{job="{job}"}}')
    assert 0 <= value(latency) <= 1


def dashboard_queries(project_dir: Path, job: str) -> list[tuple[str, str]]:
    dashboard = json.loads(
        (project_dir / "monitoring" / "grafana" / "dashboards" / "service.json").read_text()
    )
    grafana = {"$job": job, "$instance": ".*", "$__rate_interval": "1m", "$__range": "5m"}
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, replacement in grafana.items():
                expr = expr.replace(variable, replacement)
            assert "$" not in expr, f"{panel['title']}: unknown variable in {expr}"
            queries.append((panel["title"], expr))
    return queries


def test_every_dashboard_query_returns_series(
    prometheus: httpx.Client, project: dict[str, Any], traffic: dict[str, dict[str, float]]
) -> None:
    queries = dashboard_queries(project["dir"], project["model"])
    assert len(queries) >= 20
    names = set(prometheus.get("/api/v1/label/__name__/values").json()["data"])
    for title, expr in queries:
        # Each metric a query names is one Prometheus holds (scraped or recorded)...
        for metric in re.findall(r"\b([a-z_:][a-z0-9_:]*)\{", expr):
            assert metric in names, f"panel {title!r}: no series named {metric}"
        # ...and the query parses and answers (NaN is an answer: no data in a window).
        result = wait_for(f"panel {title!r}: {expr}", lambda e=expr: query(prometheus, e), 20)
        assert all(isinstance(value(s), float) for s in result)
        assert not all(math.isinf(value(s)) for s in result), f"{title}: {result}"
