"""Hypothesis: any valid answer set renders into a repo that lints and whose app imports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers import run
from tests.template.answers import valid_answers
from tests.template.rendering import render_untrusted

pytestmark = pytest.mark.slow

IMPORT_CHECK = """
from starlette.testclient import TestClient
from {package} import Settings, create_app
client = TestClient(create_app(Settings()))  # no lifespan: the model is not loaded
assert client.get("/v2/health/live").status_code == 200
assert client.get("/v2/models/{model}/ready").status_code == 503
assert client.get("/v2/models/not-{model}/ready").status_code == 404
print("ok")
"""


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=valid_answers)
def test_valid_answers_render_lint_and_import(
    tmp_path_factory: pytest.TempPathFactory, default_env: Path, answers: dict[str, Any]
) -> None:
    project = render_untrusted(tmp_path_factory.mktemp("valid") / "service", answers)
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    # One shared environment (the default project's) has every dependency; the rendered
    # source comes first on the path.
    check = IMPORT_CHECK.format(package=answers["package_name"], model=answers["model_name"])
    proc = run([str(default_env), "-c", check], project, env={"PYTHONPATH": str(project / "src")})
    assert proc.stdout.strip() == "ok"
