"""`export_onnx` and `check_parity` on a tabular MLP, served end to end by the ONNX adapter."""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from numpy.typing import NDArray
from torch_models import TabularMLP

from modelrail_runtime import ServiceClient, save_model
from modelrail_runtime.export import (
    DEFAULT_OPSET,
    ExportError,
    ParityError,
    ParityReport,
    check_parity,
    export_onnx,
)
from modelrail_runtime.frameworks.onnx import OnnxAdapter
from modelrail_runtime.tabular import TabularSchema, Task

HERE = Path(__file__).parent
AXES = {"features": {0: "batch"}, "probabilities": {0: "batch"}}


def table(rows: int, seed: int) -> dict[str, NDArray[Any]]:
    """Mixed-type rows: a missing charge now and then, three contracts."""
    rng = np.random.default_rng(seed)
    charges = np.round(rng.normal(70, 20, rows), 2)
    charges[rng.random(rows) < 0.05] = np.nan
    return {
        "tenure_months": rng.integers(0, 72, rows),
        "monthly_charges": charges,
        "contract": rng.choice(["month-to-month", "one-year", "two-year"], rows),
        "has_support": rng.random(rows) < 0.4,
    }


TRAIN = table(200, seed=0)
HELD_OUT = table(12, seed=1)
HELD_OUT["contract"] = HELD_OUT["contract"].astype(object)
HELD_OUT["contract"][1] = "weekly"  # never seen in training: NaN in the matrix
HELD_OUT["monthly_charges"][0] = np.nan
CLASSES = ("churned", "stayed")


def schema(task: Task) -> TabularSchema:
    return TabularSchema.infer(TRAIN, task)


def matrix(rows: dict[str, NDArray[Any]], task: Task) -> NDArray[np.float32]:
    return schema(task).encode(rows).astype(np.float32)


def mlp(outputs: int = 2, *, classify: bool = True, seed: int = 0) -> TabularMLP:
    return TabularMLP(4, outputs, classify=classify, seed=seed).eval()


def export(module: torch.nn.Module, output: str = "probabilities") -> bytes:
    example = torch.from_numpy(matrix(TRAIN, Task.classification(CLASSES))[:8])
    return export_onnx(
        module,
        (example,),
        input_names=["features"],
        output_names=[output],
        dynamic_axes={"features": {0: "batch"}, output: {0: "batch"}},
    )


def test_an_export_has_a_dynamic_batch_axis_named_as_asked() -> None:
    model = onnx.load_from_string(export(mlp()))
    dims = [
        [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]
        for value in (*model.graph.input, *model.graph.output)
    ]
    assert dims == [["batch", 4], ["batch", 2]]
    assert [opset.version for opset in model.opset_import if opset.domain == ""] == [DEFAULT_OPSET]
    assert model.producer_name == "pytorch"
    session = onnxruntime.InferenceSession(model.SerializeToString())
    for rows in (1, 7, 64):
        out = session.run(None, {"features": np.zeros((rows, 4), np.float32)})[0]
        assert out.shape == (rows, 2)


def test_an_export_records_nothing_of_where_it_was_made() -> None:
    model = onnx.load_from_string(export(mlp()))
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    items = [model, model.graph, *model.graph.node, *values, *model.graph.initializer]
    assert [item for item in items if len(item.metadata_props)] == []
    assert [item for item in items if getattr(item, "doc_string", "")] == []


EXPORT_SCRIPT = """
import hashlib, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, ".")
import numpy as np, torch
from torch_models import TabularMLP
from modelrail_runtime.export import export_onnx

seed = int(sys.argv[1])
example = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
data = export_onnx(
    TabularMLP(4, 2, classify=True, seed=seed).eval(),
    (example,),
    input_names=["features"],
    output_names=["probabilities"],
    dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
)
print(hashlib.sha256(data).hexdigest())
"""


def exported_sha256(seed: int, directory: Path) -> str:
    """The sha256 of the MLP's export, made in a new process (new object identities) from a
    copy of its source in ``directory`` (other paths in what torch records)."""
    shutil.copy(HERE / "torch_models.py", directory / "torch_models.py")
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT_SCRIPT, str(seed)],
        capture_output=True,
        text=True,
        check=True,
        cwd=directory,
    )
    return proc.stdout.strip().splitlines()[-1]


def test_the_same_module_exports_to_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    example = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    here = [
        hashlib.sha256(
            export_onnx(
                mlp(seed=seed),
                (example,),
                input_names=["features"],
                output_names=["probabilities"],
                dynamic_axes=AXES,
            )
        ).hexdigest()
        for seed in (0, 0, 1)
    ]
    assert here[0] == here[1]
    assert here[2] != here[0]  # other weights
    assert exported_sha256(0, tmp_path) == here[0]


def test_parity_of_an_export_holds_on_batches_the_example_did_not_have() -> None:
    module = mlp()
    data = export(module)
    for rows in (1, 12):
        inputs = {"features": matrix(HELD_OUT, Task.classification(CLASSES))[:rows]}
        report = check_parity(module, data, inputs)
        assert isinstance(report, ParityReport)
        assert report.rows == rows
        assert report.min_cosine >= 0.9999
        assert report.max_abs_diff < 1e-5


def test_parity_fails_for_a_graph_of_other_weights() -> None:
    inputs = {"features": matrix(HELD_OUT, Task.classification(CLASSES))}
    with pytest.raises(
        ParityError,
        match=r"the graph's 'probabilities' differs from the module's: "
        r"cosine similarity [\d.]+ at row \d+, below 0\.9999",
    ) as failure:
        check_parity(mlp(seed=3), export(mlp(seed=4)), inputs)
    assert failure.value.report is not None
    assert failure.value.report.min_cosine < 0.9999


class ColumnRegressor(TabularMLP):
    """One value per row, ``[batch]``."""

    def forward(self, matrix: torch.Tensor) -> torch.Tensor:
        return super().forward(matrix).reshape(-1)


def test_parity_compares_a_column_of_values_as_one_vector() -> None:
    module = ColumnRegressor(4, 1, classify=False).eval()
    data = export(module, output="prediction")
    report = check_parity(module, data, {"features": matrix(HELD_OUT, Task.regression())})
    assert report.min_cosine >= 0.9999
    assert report.rows == 12


def test_parity_needs_the_graphs_inputs() -> None:
    module = mlp()
    with pytest.raises(
        ValueError,
        match=r"the graph takes the inputs \['features'\], the parity "
        r"check was given \['matrix'\]",
    ):
        check_parity(module, export(module), {"matrix": np.zeros((2, 4), np.float32)})


def test_a_module_in_training_mode_is_refused() -> None:
    module = mlp().train()
    with pytest.raises(
        ExportError, match=r"TabularMLP is in training mode .* call module\.eval\(\)"
    ):
        export(module)
    with pytest.raises(ExportError, match=r"call module\.eval\(\)"):
        check_parity(module, export(mlp()), {"features": np.zeros((2, 4), np.float32)})


@pytest.mark.parametrize(
    ("names", "axes", "message"),
    [
        (["features", "extra"], AXES, r"1 example inputs and 2 input names"),
        (
            ["features"],
            {"features": {0: "batch"}},
            r"\['probabilities'\] have no dynamic batch axis",
        ),
        (["features"], {**AXES, "other": {0: "b"}}, r"dynamic_axes names \['other'\], which are"),
        (["probabilities"], AXES, r"repeat a name"),
    ],
)
def test_names_and_axes_that_do_not_fit_are_refused(
    names: list[str], axes: dict[str, dict[int, str]], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        export_onnx(
            mlp(),
            (torch.zeros(4, 4),),
            input_names=names,
            output_names=["probabilities"],
            dynamic_axes=axes,
        )


class FixedBatch(torch.nn.Module):
    """Reshapes to the example's batch size: torch.export cannot keep the axis dynamic."""

    def forward(self, matrix: torch.Tensor) -> torch.Tensor:
        return matrix.reshape(4, -1).sum(dim=1)


def test_an_axis_the_module_fixes_is_refused_with_where() -> None:
    with pytest.raises(
        ExportError,
        match=r"torch\.export fixed axis 0 of 'prediction' \(batch\) at 4: the "
        r"module's code depends on that size",
    ):
        export_onnx(
            FixedBatch().eval(),
            (torch.zeros(4, 4),),
            input_names=["features"],
            output_names=["prediction"],
            dynamic_axes={"features": {0: "batch"}, "prediction": {0: "batch"}},
        )


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_an_exported_mlp_is_served_with_the_modules_outputs(tmp_path: Path, kind: str) -> None:
    classify = kind == "classification"
    task = Task.classification(CLASSES) if classify else Task.regression()
    output = "probabilities" if classify else "prediction"
    module = mlp(2 if classify else 1, classify=classify)
    data = export(module, output=output)
    check_parity(module, data, {"features": matrix(HELD_OUT, task)})
    save_model(tmp_path, OnnxAdapter(), data, training_inputs=TRAIN, schema=schema(task))
    with torch.inference_mode():
        expected = module(torch.from_numpy(matrix(HELD_OUT, task))).numpy()
    with ServiceClient(tmp_path, model_name="churn") as client:
        response = client.infer(request(HELD_OUT))
    assert response.status_code == 200, response.text
    outputs = {item["name"]: item["data"] for item in response.json()["outputs"]}
    if classify:
        served = np.reshape(outputs["probabilities"], expected.shape)
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
        assert outputs["label"] == [CLASSES[i] for i in np.argmax(expected, axis=1)]
    else:
        np.testing.assert_allclose(outputs["prediction"], expected.reshape(-1), rtol=1e-5)


def request(rows: dict[str, NDArray[Any]]) -> dict[str, Any]:
    """The rows as named JSON tensors (``null`` for a missing number)."""
    datatypes = {"i": "INT64", "f": "FP64", "b": "BOOL"}
    inputs = []
    for name, column in rows.items():
        values = [
            None if isinstance(value, float) and math.isnan(value) else value
            for value in column.tolist()
        ]
        datatype = datatypes.get(column.dtype.kind, "BYTES")
        inputs.append({"name": name, "datatype": datatype, "shape": [len(values)], "data": values})
    return {"inputs": inputs}
