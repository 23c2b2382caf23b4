"""Hypothesis: any valid answer set renders into a repo that lints and whose service starts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers import free_port, run
from tests.template.answers import valid_answers
from tests.template.rendering import render_untrusted

pytestmark = pytest.mark.slow

# `python -m <package>` serves with the runtime: with no model to load, it binds, logs the
# failure under the model's name and exits 1 (the runtime's documented exit code).
START_CHECK = """
import json, sys
from {package} import MODEL_NAME
assert MODEL_NAME == {model!r}, MODEL_NAME
from {package}.__main__ import main
sys.exit(main())
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
    check = START_CHECK.format(package=answers["package_name"], model=answers["model_name"])
    env = {"PYTHONPATH": str(project / "src"), "MODEL_URI": str(project / "missing")}
    env["PORT"] = str(free_port())
    proc = run([str(default_env), "-c", check], project, env=env, ok_codes=(1,))
    failure = next(json.loads(line) for line in proc.stdout.splitlines() if "failed to load" in line)
    assert failure["service.name"] == answers["model_name"]
