"""The models of the compile tests, fitted once per session (`compile_models`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from compile_models import Data, data_for, fit


@pytest.fixture(scope="session")
def fitted() -> Callable[[str, str], tuple[Any, Data]]:
    """``fitted(framework, task)``: the model and its data, fitted once per session."""
    cache: dict[tuple[str, str], tuple[Any, Data]] = {}

    def get(framework: str, task: str) -> tuple[Any, Data]:
        if (framework, task) not in cache:
            data = data_for(task)
            cache[framework, task] = (fit(framework, data), data)
        return cache[framework, task]

    return get
