"""Fixtures of the template tests: each matrix answer set is rendered once per session, on
first use, so that a run selecting a few answer sets renders and checks only those."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import render, run
from tests.template.answers import MATRIX, PROJECT_DIR


class Rendered(Mapping[str, Path]):
    """Every matrix answer set rendered with --trust (tasks ran), keyed by answer-set id;
    each is rendered the first time it is looked up."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._projects: dict[str, Path] = {}
        self._lock = threading.Lock()

    def __getitem__(self, answer_id: str) -> Path:
        answers = MATRIX[answer_id]
        with self._lock:
            if answer_id not in self._projects:
                destination = self._factory.mktemp(answer_id) / PROJECT_DIR
                self._projects[answer_id] = render(destination, answers)
            return self._projects[answer_id]

    def __iter__(self) -> Iterator[str]:
        return iter(MATRIX)

    def __len__(self) -> int:
        return len(MATRIX)


class MakeChecks(Mapping[str, "Future[object]"]):
    """`make check` of each rendered project, two at a time (2-core budget), started the
    first time its result is looked up, or up front for the answer sets a run selected."""

    def __init__(self, rendered: Rendered, pool: ThreadPoolExecutor) -> None:
        self._rendered = rendered
        self._pool = pool
        self._futures: dict[str, Future[object]] = {}

    def __getitem__(self, answer_id: str) -> Future[object]:
        if answer_id not in self._futures:
            project = self._rendered[answer_id]
            self._futures[answer_id] = self._pool.submit(
                run, ["make", "check"], project, timeout=900
            )
        return self._futures[answer_id]

    def __iter__(self) -> Iterator[str]:
        return iter(MATRIX)

    def __len__(self) -> int:
        return len(MATRIX)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Every matrix answer set rendered with --trust (tasks ran), keyed by answer-set id."""
    return Rendered(tmp_path_factory)


@pytest.fixture(scope="session")
def make_check(rendered: Rendered, request: pytest.FixtureRequest) -> Iterator[MakeChecks]:
    """`make check` in every rendered project a selected test needs, two at a time.

    Each matrix test waits for its own project's result, so a failure names its answer set
    while the slow part runs in parallel: the checks of every selected test are started
    at once, in the order the tests run.
    """
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="make-check")
    checks = MakeChecks(rendered, pool)
    for answer_id in _selected(request.session):
        checks[answer_id]  # noqa: B018 - starts it
    yield checks
    pool.shutdown(wait=True, cancel_futures=True)


def _selected(session: pytest.Session) -> list[str]:
    """The answer sets whose `make check` the session's tests wait for, in their order."""
    selected: list[str] = []
    for item in session.items:
        if "make_check" not in getattr(item, "fixturenames", ()):
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        answer_id = params.get("answer_id", "defaults")
        if answer_id in MATRIX and answer_id not in selected:
            selected.append(answer_id)
    return selected


@pytest.fixture(scope="session")
def default_env(make_check: MakeChecks, rendered: Rendered) -> Path:
    """The Python of the default project's environment (created by its `make check`)."""
    project = rendered["defaults"]
    make_check["defaults"]  # noqa: B018 - started, as before the lookups were lazy
    run(["uv", "sync", "--locked", "--quiet"], project)
    return project / ".venv" / "bin" / "python"
