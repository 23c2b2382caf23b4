"""Traffic for the generated service: its customers as OIP inference requests."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import run

# The dataset's rows as JSON objects, a missing number (NaN in the table) as null.
ROWS_SCRIPT = """
import json
from {package} import dataset
table = dataset.load().features
columns = [[None if v != v else v for v in column.tolist()] for column in table.values()]
print(json.dumps([dict(zip(table, values)) for values in zip(*columns)]))
"""

Row = dict[str, Any]


def customers(project: Path) -> list[Row]:
    """The generated customers the model was trained on (read with the project's env)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    script = ROWS_SCRIPT.format(package=answers["package_name"])
    proc = run([str(project / ".venv" / "bin" / "python"), "-c", script], project)
    return json.loads(proc.stdout)


def features(project: Path) -> list[dict[str, Any]]:
    """The features `make train` recorded in artifacts/metadata.json (name, datatype...)."""
    return json.loads((project / "artifacts" / "metadata.json").read_text())["features"]


def infer_body(schema: list[dict[str, Any]], rows: list[Row]) -> dict[str, Any]:
    """An OIP request for ``rows``: one tensor per feature, shape [len(rows)]."""
    return {
        "inputs": [
            {
                "name": feature["name"],
                "datatype": feature["datatype"],
                "shape": [len(rows)],
                "data": [row[feature["name"]] for row in rows],
            }
            for feature in schema
        ]
    }


def sample(rows: list[Row], count: int, seed: int) -> list[Row]:
    """``count`` rows drawn with replacement, reproducibly."""
    rng = random.Random(seed)
    return [dict(rng.choice(rows)) for _ in range(count)]
