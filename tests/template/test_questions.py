"""copier.yml: every question is complete, and invalid answers are refused before writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tests.helpers import REPO_ROOT, render
from tests.template.answers import FRAMEWORKS_BY_TASK, MATRIX, MODELS, invalid_answers

CONFIG = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
QUESTIONS = {name: spec for name, spec in CONFIG.items() if not name.startswith("_")}
ASKED = {name: spec for name, spec in QUESTIONS.items() if spec.get("when") is not False}


def test_configuration_block() -> None:
    assert CONFIG["_subdirectory"] == "template"
    assert CONFIG["_min_copier_version"] == "9.4.0"
    assert CONFIG["_answers_file"] == ".copier-answers.yml"
    for task in CONFIG["_tasks"]:
        assert task["when"] == "{{ _copier_operation == 'copy' }}"


@pytest.mark.parametrize("name", sorted(ASKED))
def test_every_question_has_type_help_default_and_validator(name: str) -> None:
    spec = ASKED[name]
    for key in ("type", "help", "default", "validator"):
        assert spec.get(key) not in (None, ""), f"{name} has no {key}"


def test_the_questions_of_the_issue_are_asked() -> None:
    assert set(ASKED) == {
        "project_name",
        "package_name",
        "model_name",
        "description",
        "team",
        "python_version",
        "model_framework",
        "model_task",
        "latency_slo_p99_ms",
        "availability_slo_percent",
        "container_registry",
        "runtime_index",
        "torch_index",
        "k8s_namespace",
        "ci_provider",
        "accelerator",
        "license",
    }


def test_matrix_covers_every_choice() -> None:
    for name, spec in ASKED.items():
        if "choices" not in spec:
            continue
        values = choice_values(spec)
        used = {answers.get(name, default(spec, answers)) for answers in MATRIX.values()}
        assert used == values, f"{name}: the matrix misses {values - used}"


def default(spec: dict[str, Any], answers: dict[str, Any]) -> Any:
    """A question's default for ``answers``: a Jinja default rendered with them (and the
    plain defaults of the questions they leave out)."""
    value = spec["default"]
    if not isinstance(value, str) or "{{" not in value:
        return value
    plain = {name: q["default"] for name, q in ASKED.items() if "{{" not in str(q["default"])}
    return jinja2.Environment().from_string(value).render({**plain, **answers})


def choice_values(spec: dict[str, Any]) -> set[str]:
    """The values of a question's choices (a choice may be ``{value, validator}``)."""
    choices = spec["choices"]
    values = choices.values() if isinstance(choices, dict) else choices
    return {value["value"] if isinstance(value, dict) else value for value in values}


def test_matrix_covers_every_model() -> None:
    assert set(FRAMEWORKS_BY_TASK) == choice_values(ASKED["model_task"])
    frameworks = {framework for offered in FRAMEWORKS_BY_TASK.values() for framework in offered}
    assert frameworks == choice_values(ASKED["model_framework"])
    offered = {(f, task) for task, names in FRAMEWORKS_BY_TASK.items() for f in names}
    assert set(MODELS) == offered
    assert len(MODELS) == len(MATRIX), "one answer set per model: each trains its own example"


UNOFFERED = sorted(
    (framework, task)
    for task in FRAMEWORKS_BY_TASK
    for framework in choice_values(ASKED["model_framework"])
    if framework not in FRAMEWORKS_BY_TASK[task]
)


@pytest.mark.parametrize(("framework", "task"), UNOFFERED)
def test_a_framework_that_cannot_serve_the_task_is_refused(
    tmp_path: Path, framework: str, task: str
) -> None:
    message = assert_refused(
        tmp_path / "out", {"model_framework": framework, "model_task": task}
    )
    assert f'cannot serve the task "{task}": choose ' in message


def assert_refused(dst: Path, answers: dict[str, Any]) -> str:
    with pytest.raises(Exception) as refusal:  # noqa: PT011 - Copier raises ValueError subclasses
        render(dst, answers)
    assert not dst.exists() or not any(dst.iterdir()), f"{answers} left files in {dst}"
    return str(refusal.value)


@pytest.mark.parametrize(
    ("answers", "fix"),
    [
        ({"model_name": "Churn Model!"}, "use lowercase letters, digits and dashes"),
        ({"package_name": "class"}, "is a Python keyword: choose another name"),
        ({"team": "acme/ml"}, "write it as @org/team-name"),
        ({"latency_slo_p99_ms": 0}, "from 1 to 60000"),
        ({"availability_slo_percent": 100}, "give a percentage from 95 to 99.999"),
        ({"k8s_namespace": "ML_models"}, "DNS-1123 label"),
        ({"ci_provider": "gitlab"}, "is not in ['github', 'github+gitlab']"),
        ({"accelerator": "gpu"}, "is not in ['cpu', 'nvidia-gpu']"),
        ({"model_framework": "torch"},
         "is not in ['scikit-learn', 'xgboost', 'lightgbm', 'pytorch']"),
        ({"model_task": "ranking"},
         "is not in ['classification', 'regression', 'text-classification', 'embedding']"),
        ({"runtime_index": "wheels"}, "the absolute path of a local directory"),
        ({"runtime_index": "https://ci:s3cret@pypi.example.com/simple"}, "carries credentials"),
        ({"model_framework": "pytorch", "torch_index": "wheels"},
         "the absolute path of a local directory holding one"),
        ({"model_framework": "pytorch", "torch_index": "https://ci:s3cret@torch.example.com/cpu"},
         "UV_INDEX_PYTORCH_CPU_USERNAME"),
    ],
)
def test_refusals_say_how_to_fix_the_answer(
    tmp_path: Path, answers: dict[str, Any], fix: str
) -> None:
    message = assert_refused(tmp_path / "churn-model", answers)
    assert fix in message


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=invalid_answers)
def test_invalid_answers_write_nothing(
    tmp_path_factory: pytest.TempPathFactory, answers: dict[str, Any]
) -> None:
    assert_refused(tmp_path_factory.mktemp("invalid") / "churn-model", answers)
