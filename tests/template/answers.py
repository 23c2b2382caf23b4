"""Answer sets for the template tests: the matrix, and hypothesis strategies.

The matrix covers every choice of every multiple-choice question at least once
(`test_matrix_covers_every_choice` checks it against copier.yml), and every combination of
`model_framework` and `model_task` (`test_matrix_covers_every_model`): each trains its own
example, so each must pass its own `make check`.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from hypothesis import strategies as st

MATRIX: dict[str, dict[str, Any]] = {
    "defaults": {},
    "py312-mit": {
        "project_name": "Fraud Detector",
        "python_version": "3.12",
        "license": "MIT",
        "team": "@acme/risk-ml",
        "latency_slo_p99_ms": 250,
        "availability_slo_percent": 99.5,
        "ci_provider": "github+gitlab",
        "model_framework": "xgboost",
    },
    "py313-proprietary": {
        "project_name": "Demand Forecast 2",
        "package_name": "demand_forecast",
        "model_name": "demand-v2",
        "description": "Forecasts weekly demand per store; costs in $ and units.",
        "python_version": "3.13",
        "license": "Proprietary",
        "model_framework": "lightgbm",
        "model_task": "regression",
        "container_registry": "registry.example.com:5000/ml",
        "k8s_namespace": "forecasting",
        "latency_slo_p99_ms": 40,
        "availability_slo_percent": 99.99,
        "ci_provider": "github+gitlab",
        "accelerator": "nvidia-gpu",
    },
    "sklearn-regression": {"project_name": "Spend Forecast", "model_task": "regression"},
    "xgboost-regression": {
        "project_name": "Basket Value",
        "python_version": "3.12",
        "model_framework": "xgboost",
        "model_task": "regression",
    },
    "lightgbm-classification": {
        "project_name": "Upsell Propensity",
        "python_version": "3.13",
        "model_framework": "lightgbm",
    },
    "text-classification": {
        "project_name": "Ticket Router",
        "python_version": "3.12",
        "model_task": "text-classification",
    },
    # PyTorch projects run on Python 3.11 here: the only CPU wheel of torch this machine
    # has (the local torch index of scripts/torch_index.py) is built for CPython 3.11.
    "pytorch-classification": {
        "project_name": "Churn Network",
        "python_version": "3.11",
        "model_framework": "pytorch",
    },
    "pytorch-regression": {
        "project_name": "Spend Network",
        "python_version": "3.11",
        "model_framework": "pytorch",
        "model_task": "regression",
    },
    "embedding": {
        "project_name": "Ticket Embeddings",
        "python_version": "3.11",
        "model_task": "embedding",
    },
}
"""Answer-set id -> answers (unanswered questions take their defaults)."""

MODELS = {
    (
        answers.get(
            "model_framework",
            "pytorch" if answers.get("model_task") == "embedding" else "scikit-learn",
        ),
        answers.get("model_task", "classification"),
    ): answer_id
    for answer_id, answers in MATRIX.items()
}
"""(framework, task) -> the answer set that generates it."""

FRAMEWORKS_BY_TASK = {
    "classification": ("scikit-learn", "xgboost", "lightgbm", "pytorch"),
    "regression": ("scikit-learn", "xgboost", "lightgbm", "pytorch"),
    "text-classification": ("scikit-learn",),
    "embedding": ("pytorch",),
}
"""The frameworks copier.yml offers for each task."""

FEATURES = (
    "tenure_months",
    "monthly_charges",
    "contract",
    "payment_method",
    "has_support",
    "support_calls",
)
"""The example's named features (every framework and task), in the model's order."""

PROJECT_DIR = "churn-model"
"""The destination folder name; the default project name is derived from it."""

# Kubernetes Service names (DNS-1035 labels) start with a letter.
MODEL_NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
RESERVED_PACKAGES = {"sklearn", "numpy", "fastapi", "tests", "test", "app", "src", "types"}

package_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,14}\Z").filter(
    lambda name: (
        not keyword.iskeyword(name)
        and not keyword.issoftkeyword(name)
        and name not in RESERVED_PACKAGES
    )
)
model_names = st.from_regex(r"\A[a-z]([a-z0-9-]{0,14}[a-z0-9])?\Z")
free_text = st.text(
    st.characters(categories=("L", "N", "Zs", "Pd", "Po", "Sc"), exclude_characters='"\\'),
    min_size=1,
    max_size=40,
).filter(lambda text: bool(text.strip()) and "{{" not in text and "{%" not in text)

valid_answers = st.fixed_dictionaries(
    {
        "project_name": st.from_regex(r"\A[A-Za-z][A-Za-z0-9 _-]{0,30}\Z"),
        "package_name": package_names,
        "model_name": model_names,
        "description": free_text,
        "team": st.from_regex(r"\A@[a-z0-9]{1,8}/[a-z0-9][a-z0-9-]{0,8}\Z"),
        "python_version": st.sampled_from(["3.11", "3.12", "3.13"]),
        "latency_slo_p99_ms": st.integers(min_value=1, max_value=60_000),
        "availability_slo_percent": st.floats(min_value=95, max_value=99.999),
        "license": st.sampled_from(["Apache-2.0", "MIT", "Proprietary"]),
        "ci_provider": st.sampled_from(["github", "github+gitlab"]),
        "accelerator": st.sampled_from(["cpu", "nvidia-gpu"]),
    }
).flatmap(
    lambda answers: st.sampled_from(sorted(FRAMEWORKS_BY_TASK)).flatmap(
        lambda task: st.sampled_from(FRAMEWORKS_BY_TASK[task]).map(
            lambda framework: {**answers, "model_task": task, "model_framework": framework}
        )
    )
)
"""Valid answers; the registry and namespace keep their defaults (derived from the team)."""


def _invalid(question: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return values.map(lambda value: {question: value})


invalid_answers = st.one_of(
    _invalid("model_name", st.text(max_size=20).filter(lambda s: not MODEL_NAME.match(s))),
    _invalid(
        "model_name", st.sampled_from(["Churn Model!", "-churn", "churn-", "2churn", "a" * 64])
    ),
    _invalid("package_name", st.sampled_from(["class", "import", "9lives", "Churn", "my-pkg", ""])),
    _invalid("package_name", st.sampled_from(sorted(RESERVED_PACKAGES))),
    _invalid("team", st.sampled_from(["acme/ml", "@", "@acme/", "@-acme/ml", "team"])),
    _invalid("latency_slo_p99_ms", st.integers().filter(lambda n: not 1 <= n <= 60_000)),
    _invalid(
        "availability_slo_percent", st.sampled_from([100, 99.9999, 94.9, 0, -1, float("nan")])
    ),
    _invalid("k8s_namespace", st.sampled_from(["ML", "ml_models", "-ml", "a" * 64, ""])),
    _invalid("container_registry", st.sampled_from(["GHCR.io/acme", "ghcr.io/acme:latest", ""])),
    _invalid("description", st.sampled_from(["", "  ", 'say "hi"', "two\nlines", "back\\slash"])),
    _invalid("project_name", st.sampled_from(["", "2fast", "tab\there", "a" * 65])),
    _invalid("python_version", st.sampled_from(["3.10", "3.14", "3"])),
    _invalid("license", st.sampled_from(["GPL-3.0", "mit", ""])),
    _invalid("model_framework", st.sampled_from(["torch", "sklearn", "XGBoost", ""])),
    _invalid("model_task", st.sampled_from(["ranking", "Regression", "classifier", ""])),
    st.sampled_from(
        [
            (task, framework)
            for task in FRAMEWORKS_BY_TASK
            for framework in ("scikit-learn", "xgboost", "lightgbm", "pytorch")
            if framework not in FRAMEWORKS_BY_TASK[task]
        ]
    ).map(lambda pair: {"model_task": pair[0], "model_framework": pair[1]}),
    st.sampled_from(["wheels", "/a/../b", "ftp://x/simple", "", "https://u:p@x/simple"]).map(
        lambda index: {"model_framework": "pytorch", "torch_index": index}
    ),
    _invalid("ci_provider", st.sampled_from(["gitlab", "GitHub", "circleci", ""])),
    _invalid("accelerator", st.sampled_from(["gpu", "amd-gpu", "CPU", ""])),
    _invalid(
        "runtime_index", st.sampled_from(["wheels", "/a/../b", "ftp://x/simple", "", "https://x y"])
    ),
)
"""Answer sets with exactly one invalid answer."""
