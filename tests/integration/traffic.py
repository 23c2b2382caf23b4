"""Traffic for the generated service: iris rows as OIP inference requests."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tests.helpers import run


def iris_rows(project: Path) -> list[list[float]]:
    """The 150 iris rows the generated model was trained on (read with the project's env)."""
    script = (
        "import json; from sklearn.datasets import load_iris; "
        "print(json.dumps(load_iris().data.tolist()))"
    )
    proc = run([str(project / ".venv" / "bin" / "python"), "-c", script], project)
    return json.loads(proc.stdout)


def infer_body(rows: list[list[float]]) -> dict[str, Any]:
    """An OIP request for ``rows`` (FP64, shape [len(rows), 4])."""
    return {
        "inputs": [
            {
                "name": "input-0",
                "datatype": "FP64",
                "shape": [len(rows), len(rows[0])],
                "data": [value for row in rows for value in row],
            }
        ]
    }


def sample(rows: list[list[float]], count: int, seed: int) -> list[list[float]]:
    """``count`` rows drawn with replacement, reproducibly."""
    rng = random.Random(seed)
    return [list(rng.choice(rows)) for _ in range(count)]
