"""A churn-like table for the tabular adapters, its tasks, and requests built from it.

Mixed types as a team's data has them: INT64 tenure, a nullable FP64 charge (some
missing), a BYTES contract and a BOOL support flag. Three targets: a binary churn with
string classes, a three-class plan (integer classes) and a spend (regression).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime import ServiceClient
from modelrail_runtime.tabular import TabularSchema, Task

Table = dict[str, NDArray[Any]]
ROWS = 480
HELD_OUT = 24
TASKS = ("churn", "plan", "spend")
"""Binary with string classes, three integer classes, regression."""


@dataclass(frozen=True)
class Data:
    """A task's training and held-out rows, its targets, and its schema."""

    train: Table
    held_out: Table
    y_train: NDArray[Any]
    schema: TabularSchema

    @property
    def matrix(self) -> NDArray[np.float64]:
        """The training matrix, as the model is fitted on it."""
        return self.schema.encode(self.train)

    @property
    def held_out_matrix(self) -> NDArray[np.float64]:
        return self.schema.encode(self.held_out)

    @property
    def class_indices(self) -> NDArray[np.int64]:
        """Each training label's index in the schema's classes (what XGBoost fits on)."""
        return np.searchsorted(np.asarray(self.schema.task.classes), self.y_train)


def churn_table(rows: int, seed: int) -> tuple[Table, dict[str, NDArray[Any]]]:
    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], rows, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(0, 72, rows)
    charges = np.round(rng.normal(70, 20, rows), 2)
    charges[rng.random(rows) < 0.05] = np.nan
    support = rng.random(rows) < 0.4
    filled = np.nan_to_num(charges, nan=70.0)
    logit = (
        -0.5 + 1.5 * (contract == "month-to-month") - 0.03 * tenure + 0.01 * filled - 0.8 * support
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    plan = (contract == "two-year") * 2 + ((contract == "one-year") & (filled > 60))
    plan = np.where(rng.random(rows) < 0.1, rng.integers(0, 3, rows), plan)
    spend = filled * 3 + tenure + 40 * support + rng.normal(0, 5, rows)
    table = {
        "tenure_months": tenure,
        "monthly_charges": charges,
        "contract": contract,
        "has_support": support,
    }
    targets = {
        "churn": np.where(churned, "churned", "stayed"),
        "plan": plan.astype(np.int64),
        "spend": spend,
    }
    return table, targets


@pytest.fixture(scope="session")
def churn_data() -> Callable[[str], Data]:
    """The data of a task (``churn``, ``plan`` or ``spend``).

    The held-out rows include a missing charge (row 0) and a contract never seen in
    training (row 1).
    """
    table, targets = churn_table(ROWS + HELD_OUT, seed=0)
    train = {name: column[:ROWS] for name, column in table.items()}
    held_out = {name: column[ROWS:].copy() for name, column in table.items()}
    held_out["monthly_charges"][0] = np.nan
    held_out["contract"] = held_out["contract"].astype(object)
    held_out["contract"][1] = "weekly"

    def data(task: str) -> Data:
        y = targets[task][:ROWS]
        kind = Task.regression() if task == "spend" else Task.classification(sorted(set(y)))
        return Data(train, held_out, y, TabularSchema.infer(train, kind))

    return data


def request_body(table: Table) -> dict[str, Any]:
    """The rows of ``table`` as named JSON tensors (``null`` for a missing number)."""
    datatypes = {"i": "INT64", "f": "FP64", "b": "BOOL"}
    inputs = []
    for name, column in table.items():
        datatype = datatypes.get(column.dtype.kind, "BYTES")
        values = [
            None if isinstance(value, float) and np.isnan(value) else value
            for value in column.tolist()
        ]
        inputs.append({"name": name, "datatype": datatype, "shape": [len(values)], "data": values})
    return {"inputs": inputs}


def serve(directory: Path, table: Table) -> dict[str, list[Any]]:
    """Serve the model in ``directory`` and predict ``table``'s rows: outputs by name."""
    with ServiceClient(directory, model_name="churn") as client:
        response = client.infer(request_body(table))
    assert response.status_code == 200, response.text
    return {output["name"]: output["data"] for output in response.json()["outputs"]}


@pytest.fixture(scope="session")
def infer() -> Callable[[Path, Table], dict[str, list[Any]]]:
    """`serve`: the service's outputs for a table's rows."""
    return serve


@pytest.fixture(scope="session")
def request_of() -> Callable[[Table], dict[str, Any]]:
    """`request_body`: a table's rows as an inference request's JSON body."""
    return request_body
