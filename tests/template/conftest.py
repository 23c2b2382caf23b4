"""Fixtures of the template tests: each matrix answer set is rendered once per session."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import render, run
from tests.template.answers import MATRIX, PROJECT_DIR


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every matrix answer set rendered with --trust (tasks ran), keyed by answer-set id."""
    return {
        answer_id: render(tmp_path_factory.mktemp(answer_id) / PROJECT_DIR, answers)
        for answer_id, answers in MATRIX.items()
    }


@pytest.fixture(scope="session")
def make_check(rendered: dict[str, Path]) -> dict[str, Future[object]]:
    """`make check` started in every rendered project, two at a time (2-core budget).

    Each matrix test waits for its own project's result, so a failure names its answer set
    while the slow part runs in parallel.
    """
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="make-check")
    futures = {
        answer_id: pool.submit(run, ["make", "check"], project, timeout=900)
        for answer_id, project in rendered.items()
    }
    pool.shutdown(wait=False)
    return futures  # type: ignore[return-value]


@pytest.fixture(scope="session")
def default_env(make_check: dict[str, Future[object]], rendered: dict[str, Path]) -> Path:
    """The Python of the default project's environment (created by its `make check`)."""
    project = rendered["defaults"]
    run(["uv", "sync", "--locked", "--quiet"], project)
    return project / ".venv" / "bin" / "python"
