"""monitoring/ of the generated repos: the rules pass promtool and follow the SLO answers.

Every matrix answer set (and a few random valid ones) is checked with the real
`promtool check rules` and `promtool test rules` (Debian package prometheus). That the
dashboard and the rules only query exported metrics is a test of the generated repo itself
(tests/test_monitoring_assets.py, part of its `make check`), and is checked against a real
Prometheus scraping the image in tests/integration/test_monitoring_stack.py.

The text tasks (text-classification, embedding) swap the tabular data-quality alerts and
panels for the texts' own and add the embedding's; their monitoring files are rendered
here on their own, without `make check` (`text_rendered`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tests.conftest import require_command
from tests.helpers import REPO_ROOT
from tests.template.answers import MATRIX, PROJECT_DIR, valid_answers
from tests.template.rendering import render_untrusted

answer_ids = pytest.mark.parametrize("answer_id", sorted(MATRIX))
# Tables only: the text tasks' dashboards are checked below (`text_rendered`).
table_answer_ids = pytest.mark.parametrize(
    "answer_id",
    sorted(
        answer_id
        for answer_id, answers in MATRIX.items()
        if answers.get("model_task", "classification") in ("classification", "regression")
    ),
)
RULES = Path("monitoring/prometheus/rules.yml")
RULE_TESTS = ("monitoring/tests/slo_test.yml", "monitoring/tests/model_test.yml")
TESTS_GLOB = "monitoring/tests/*.yml"
ALERTS = {
    "AvailabilityErrorBudgetBurn",
    "LatencyErrorBudgetBurn",
    "ModelNotReady",
    "ModelInputDrift",
    "ModelPredictionDrift",
    "PredictionLogEventsDropped",
    "PredictionLogStoreDown",
    "ModelInputMissingValues",
    "ModelInputUnseenCategories",
    "ModelInputOutOfRange",
    "ModelRealizedPerformanceBelowGate",
    "ModelPerformanceReportStale",
}
# Embeddings have no ground truth: no realized performance to alert on.
PERFORMANCE_ALERTS = {"ModelRealizedPerformanceBelowGate", "ModelPerformanceReportStale"}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_command("promtool", "prometheus")


def promtool_run(promtool: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )


def assert_rules_pass(promtool: str, project: Path) -> None:
    checked = promtool_run(promtool, project, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Every test file, as `make rules` runs them (monitoring/tests/*.yml).
    rule_tests = sorted(str(path.relative_to(project)) for path in project.glob(TESTS_GLOB))
    assert set(RULE_TESTS) <= set(rule_tests)
    tested = promtool_run(promtool, project, "test", "rules", *rule_tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


@answer_ids
def test_rules_pass_promtool_check_and_their_unit_tests(
    promtool: str, rendered: dict[str, Path], answer_id: str
) -> None:
    assert_rules_pass(promtool, rendered[answer_id])


@answer_ids
def test_rules_follow_the_slo_answers(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    rules = (project / RULES).read_text(encoding="utf-8")
    document = yaml.safe_load(rules)
    alerts = {
        rule["alert"] for group in document["groups"] for rule in group["rules"] if "alert" in rule
    }
    # A text model alerts on unknown tokens instead of the tabular data quality.
    assert alerts == expected_alerts(answers["model_task"])
    # The latency objective is a bucket boundary, spelled as prometheus_client spells it.
    slo_seconds = answers["latency_slo_p99_ms"] / 1000
    assert set(re.findall(r'le="([^"]+)"', rules)) == {repr(slo_seconds)}
    # The service's histogram gets the same boundary from the runtime's setting.
    main = (project / "src" / answers["package_name"] / "__main__.py").read_text()
    assert re.search(rf"latency_slo_seconds={re.escape(repr(slo_seconds))}[,)]", main), main
    budget = (100 - answers["availability_slo_percent"]) / 100
    burn = re.search(r"availability_errors:ratio_rate3d\{[^}]*\} > ([0-9.e-]+)", rules)
    assert burn is not None
    assert float(burn.group(1)) == pytest.approx(budget, rel=1e-6)
    selectors = set(re.findall(r'job="([^"]*)"', rules))
    assert selectors == {answers["model_name"]}


@answer_ids
def test_the_dashboard_is_valid_and_shows_the_objectives(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    dashboard = json.loads((project / "monitoring/grafana/dashboards/service.json").read_text())
    assert dashboard["uid"] == answers["model_name"][:40]
    panels = {panel["title"]: panel for panel in dashboard["panels"]}
    latency = panels["Latency against the SLO"]["fieldConfig"]["defaults"]["thresholds"]
    assert latency["steps"][-1]["value"] == answers["latency_slo_p99_ms"] / 1000
    availability = panels["Availability over the range"]["fieldConfig"]["defaults"]
    assert availability["thresholds"]["steps"][-1]["value"] == pytest.approx(
        answers["availability_slo_percent"] / 100
    )
    job = next(v for v in dashboard["templating"]["list"] if v["name"] == "job")
    assert job["current"]["value"] == answers["model_name"]
    provisioning = yaml.safe_load(
        (project / "monitoring/grafana/provisioning/dashboards/dashboards.yml").read_text()
    )
    assert provisioning["providers"][0]["type"] == "file"


@table_answer_ids
def test_the_dashboard_and_the_rules_follow_the_task(
    rendered: dict[str, Path], answer_id: str
) -> None:
    """Classes and scores for a classifier, the predicted value for a regressor; the
    data-quality shares count the task's predictions."""
    project = rendered[answer_id]
    task = answers_of(project)["model_task"]
    dashboard = json.loads((project / "monitoring/grafana/dashboards/service.json").read_text())
    panels = {panel["title"]: panel for panel in dashboard["panels"]}
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    rules = (project / RULES).read_text(encoding="utf-8")
    metrics = {
        "classification": ("model_predictions_total", "model_prediction_score"),
        "regression": ("model_prediction_value_count", "model_prediction_value_bucket"),
    }
    for kind, names in metrics.items():
        for name in names:
            assert (name in queries) is (kind == task), name
        assert (names[0] in rules) is (kind == task), names[0]
    titles = {"classification": {"Predicted classes", "Prediction score"}}
    titles["regression"] = {"Predictions", "Predicted value"}
    assert titles[task] <= set(panels)
    assert {"Missing values", "Unseen categories", "Out-of-range values"} <= set(panels)


# Rule mistakes the unit tests must catch: (what, text in rules.yml, replacement, test file).
MUTATIONS = [
    ("fast-burn factor", "(14.4 * ", "(144 * ", "slo_test.yml"),
    ("slow-page factor", "(6 * ", "(60 * ", "slo_test.yml"),
    ("short window", "ratio_rate5m{", "ratio_rate30m{", "slo_test.yml"),
    ("client errors as errors", 'status_code=~"5.."', 'status_code=~"[45].."', "slo_test.yml"),
    ("server errors in the latency SLI", ',http_response_status_code=~"2.."', "", "slo_test.yml"),
    ("not-ready delay", "for: 5m", "for: 15m", "model_test.yml"),
    ("drift comparison", "> on (job, instance)", "< on (job, instance)", "model_test.yml"),
    ("drop threshold", "[10m])) > 0", "[10m])) > 100", "model_test.yml"),
    ("missing-value share", "> 0.1\n", "> 0.3\n", "model_test.yml"),
    ("unseen and out-of-range share", "> 0.05\n", "> 0.01\n", "model_test.yml"),
    ("data-quality delay", "> 0.1\n        for: 15m", "> 0.1\n        for: 5m", "model_test.yml"),
    ("realized accuracy gate", "} < 0.75\n", "} < 0.5\n", "performance_test.yml"),
    ("labels needed", ">= 50\n", ">= 0\n", "performance_test.yml"),
    ("realized delay", ">= 50\n        for: 10m", ">= 50\n        for: 30m", "performance_test.yml"),
    ("stale report", "> 129600\n", "> 1296000\n", "performance_test.yml"),
    ("any model's report", '_seconds{model_name="churn-model"})', "_seconds)", "performance_test.yml"),
]


@pytest.mark.parametrize(
    ("old", "new", "test_file"),
    [mutation[1:] for mutation in MUTATIONS],
    ids=[mutation[0] for mutation in MUTATIONS],
)
def test_the_rule_tests_catch_a_broken_rule(
    promtool: str, rendered: dict[str, Path], tmp_path: Path, old: str, new: str, test_file: str
) -> None:
    """The unit tests have teeth: each of these mistakes makes `promtool test rules` fail."""
    shutil.copytree(rendered["defaults"] / "monitoring", tmp_path / "monitoring")
    rules = tmp_path / RULES
    text = rules.read_text(encoding="utf-8")
    assert old in text
    rules.write_text(text.replace(old, new), encoding="utf-8")
    assert promtool_run(promtool, tmp_path, "check", "rules", str(RULES)).returncode == 0
    tested = promtool_run(promtool, tmp_path, "test", "rules", f"monitoring/tests/{test_file}")
    assert tested.returncode != 0, f"{test_file} still passes with {new!r} for {old!r}"
    assert "FAILED" in tested.stdout + tested.stderr


# A metric that must stay above its gate is a min_ setting; one that must stay below, max_.
GATE_BY_COMPARISON = {"<": "min_", ">": "max_"}
REALIZED_GATES = {
    "classification": {"min_accuracy"},
    "text-classification": {"min_accuracy", "min_macro_f1"},
    "regression": {"max_rmse", "max_mae"},
    "embedding": set(),
}


@answer_ids
def test_realized_performance_is_held_to_the_evaluation_gate(
    rendered: dict[str, Path], answer_id: str
) -> None:
    """ModelRealizedPerformanceBelowGate compares each realized metric with the threshold
    of the same metric in [tool.model-training.evaluation]: one number, in two files."""
    project = rendered[answer_id]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    gate = pyproject["tool"]["model-training"]["evaluation"]
    document = yaml.safe_load((project / RULES).read_text(encoding="utf-8"))
    expressions = [
        rule["expr"]
        for group in document["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "ModelRealizedPerformanceBelowGate"
    ]
    compared = {}
    for expression in expressions:
        found = re.search(r"model_realized_(\w+)\{[^}]*\} ([<>]) ([0-9.]+)", expression)
        assert found is not None, expression
        compared[GATE_BY_COMPARISON[found.group(2)] + found.group(1)] = float(found.group(3))
    assert set(compared) == REALIZED_GATES[answers_of(project)["model_task"]]
    assert compared == {name: gate[name] for name in compared}


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=valid_answers)
def test_any_valid_answers_give_rules_that_pass_promtool(
    promtool: str, tmp_path_factory: pytest.TempPathFactory, answers: dict[str, Any]
) -> None:
    project = render_untrusted(tmp_path_factory.mktemp("rules") / "service", answers)
    assert_rules_pass(promtool, project)


# --- text tasks ------------------------------------------------------------------------
TEXT_TASKS = ("text-classification", "embedding")
DATA_QUALITY_ALERTS = {
    "ModelInputMissingValues",
    "ModelInputUnseenCategories",
    "ModelInputOutOfRange",
}
TEXT_ALERTS = (ALERTS - DATA_QUALITY_ALERTS) | {"ModelUnknownTokenShareHigh"}


def expected_alerts(task: str) -> set[str]:
    """The alerts of a model of ``task``."""
    alerts = TEXT_ALERTS if task in TEXT_TASKS else ALERTS
    return alerts - PERFORMANCE_ALERTS if task == "embedding" else alerts
text_tasks = pytest.mark.parametrize("task", TEXT_TASKS)


def template_offering_text_tasks(dst: Path) -> Path:
    """This checkout's template copied to ``dst``, its copier.yml accepting the text tasks.

    The text tasks join copier.yml's choices with their examples (training code, data);
    until they do, the monitoring files are rendered from this copy. Once copier.yml offers
    them, the copy is the template as it is.
    """
    shutil.copytree(REPO_ROOT / "template", dst / "template")
    questions = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    if "text-classification" not in questions:
        listed = "    Regression (outputs prediction): regression\n"
        offered = "{% if model_task not in ['classification', 'regression'] %}"
        assert listed in questions
        assert offered in questions
        questions = questions.replace(
            listed, listed + "    Text: text-classification\n    Embedding: embedding\n"
        ).replace(
            offered,
            offered.replace("'regression'", "'regression', 'text-classification', 'embedding'"),
        )
    (dst / "copier.yml").write_text(questions, encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def text_rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each text task rendered with the other answers' defaults (no tasks run)."""
    from copier import run_copy

    source = template_offering_text_tasks(tmp_path_factory.mktemp("template"))
    projects = {}
    for task in TEXT_TASKS:
        project = tmp_path_factory.mktemp(task) / PROJECT_DIR
        run_copy(
            str(source),
            str(project),
            data={"model_task": task},
            defaults=True,
            unsafe=False,
            skip_tasks=True,
            quiet=True,
        )
        projects[task] = project
    return projects


def panels_and_queries(project: Path) -> tuple[dict[str, Any], str]:
    dashboard = json.loads((project / "monitoring/grafana/dashboards/service.json").read_text())
    panels = {panel["title"]: panel for panel in dashboard["panels"]}
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    return panels, queries


@text_tasks
def test_text_rules_pass_promtool_check_and_their_unit_tests(
    promtool: str, text_rendered: dict[str, Path], task: str
) -> None:
    project = text_rendered[task]
    assert (project / "monitoring/tests/text_test.yml").is_file()
    assert_rules_pass(promtool, project)


@text_tasks
def test_text_tasks_alert_on_unknown_tokens_instead_of_tabular_data_quality(
    text_rendered: dict[str, Path], task: str
) -> None:
    project = text_rendered[task]
    document = yaml.safe_load((project / RULES).read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules if "alert" in rule} == expected_alerts(task)
    runbook = (project / "docs/monitor.md").read_text(encoding="utf-8")
    for rule in rules:
        if "alert" in rule:
            assert rule["annotations"]["runbook_url"] == f"docs/monitor.md#{rule['alert'].lower()}"
            assert f"\n### {rule['alert']}\n" in runbook, rule["alert"]
    for name in DATA_QUALITY_ALERTS:
        assert f"### {name}" not in runbook, "no features: no data-quality runbook"
    text = (project / RULES).read_text(encoding="utf-8")
    for name in ("model_input_missing_values_total", "model_prediction_value_count"):
        assert name not in text


def test_the_text_dashboards_follow_the_task(text_rendered: dict[str, Path]) -> None:
    """Both: the texts' length and unknown tokens. Text classification: classes and scores,
    as for a table. Embedding: its drift by projection and its distance from training."""
    text_panels = {"Text length", "Unknown tokens"}
    classes = {"Predicted classes", "Prediction score"}
    embeddings = {"Embeddings", "Embedding drift by projection", "Embedding distance from training"}
    tabular = {"Missing values", "Unseen categories", "Out-of-range values", "Predicted value"}
    for task, project in text_rendered.items():
        panels, queries = panels_and_queries(project)
        assert text_panels <= set(panels)
        assert not tabular & set(panels)
        assert (classes <= set(panels)) is (task == "text-classification")
        assert (embeddings <= set(panels)) is (task == "embedding")
        assert ("model_predictions_total" in queries) is (task == "text-classification")
        assert ("model_embedding_projection_drift_psi" in queries) is (task == "embedding")
        assert "model_input_unknown_tokens_total" in queries
        assert "model_prediction_value" not in queries
        assert "model_input_missing_values_total" not in queries
        ids = [panel["id"] for panel in panels.values()]
        assert (
            len(ids)
            == len(set(ids))
            == len(
                json.loads((project / "monitoring/grafana/dashboards/service.json").read_text())[
                    "panels"
                ]
            )
        ), "unique ids and titles"
        cells: set[tuple[int, int]] = set()
        for panel in panels.values():
            grid = panel["gridPos"]
            area = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            assert not area & cells, f"{task}: {panel['title']} overlaps another panel"
            cells |= area


# Mistakes in ModelUnknownTokenShareHigh its unit tests must catch: (what, old, new).
TEXT_MUTATIONS = [
    ("relative to training", "clamp_min(2 * ", "clamp_min(1 * "),
    ("absolute floor", "), 0.1)\n", "), 0.5)\n"),
    ("floor without a profile", ") + 0.1\n", ") + 0.5\n"),
    (
        "no floor without a profile",
        "            or\n            0 * sum by",
        "            and\n            0 * sum by",
    ),
    ("short window", "[15m]))", "[5m]))"),
    ("long window", "[15m]))", "[30m]))"),
    ("delay", "for: 15m", "for: 5m"),
]


@pytest.mark.parametrize(
    ("old", "new"),
    [mutation[1:] for mutation in TEXT_MUTATIONS],
    ids=[m[0] for m in TEXT_MUTATIONS],
)
def test_the_text_rule_tests_catch_a_broken_rule(
    promtool: str, text_rendered: dict[str, Path], tmp_path: Path, old: str, new: str
) -> None:
    shutil.copytree(text_rendered["embedding"] / "monitoring", tmp_path / "monitoring")
    rules = tmp_path / RULES
    before, rule = rules.read_text(encoding="utf-8").split("- alert: ModelUnknownTokenShareHigh")
    assert old in rule
    rules.write_text(
        before + "- alert: ModelUnknownTokenShareHigh" + rule.replace(old, new), encoding="utf-8"
    )
    assert promtool_run(promtool, tmp_path, "check", "rules", str(RULES)).returncode == 0
    tested = promtool_run(promtool, tmp_path, "test", "rules", "monitoring/tests/text_test.yml")
    assert tested.returncode != 0, f"text_test.yml still passes with {new!r} for {old!r}"
    assert "FAILED" in tested.stdout + tested.stderr
