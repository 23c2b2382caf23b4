"""The models (c) serves through MODEL_URI: each takes its group's request, as (b) does.

Runs the bench's writers and (b)'s app in this venv (no servers). The iris and LightGBM
models are compiled to ONNX and take the packed ``input-0`` (``[rows, 4]``, ``[rows, 20]``);
the RandomForest, served natively, the single ``input-0`` tensor. (b) on the native model
and (b') on the compiled graph must answer with the runtime's own labels and probabilities.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bench import payloads
from bench.targets import APPS

pytest.importorskip("modelrail_runtime")
pytest.importorskip("skl2onnx")  # modelrail-runtime[compile]


def _module(name: str) -> ModuleType:
    """Import ``apps/<name>.py`` afresh (it reads its environment at import, as it does
    when a server starts)."""
    spec = importlib.util.spec_from_file_location(f"bench_app_{name}", APPS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the app's postponed annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _post(app: Any, url: str, body: str) -> dict[str, dict[str, Any]]:
    """POST ``body`` to the app in process; its outputs by name."""
    from fastapi.testclient import TestClient

    headers = {"Content-Type": "application/json"}
    answer = TestClient(app).post(url, content=body, headers=headers)
    assert answer.status_code == 200
    return {o["name"]: o for o in answer.json()["outputs"]}


def _runtime_answer(model_dir: Path, body: str) -> dict[str, np.ndarray]:
    """What the service computes from a packed request (it splits input-0 into features)."""
    from modelrail_runtime import load_model

    tensor = json.loads(body)["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    predictor = load_model(model_dir).predictor
    names = [spec.name for spec in predictor.signature.inputs]
    return dict(predictor.predict({name: x[:, i] for i, name in enumerate(names)}))


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iris")
    sys.path.insert(0, str(APPS))  # iris_artifact imports train's recipe
    try:
        _module("iris_artifact").main(out)
    finally:
        sys.path.remove(str(APPS))
    return out


def test_the_iris_artifact_is_the_compiled_graph_taking_the_packed_tensor(iris: Path) -> None:
    from modelrail_runtime import load_model

    metadata = json.loads((iris / "metadata.json").read_text())
    assert (iris / "model.onnx").is_file()
    assert metadata["compiled"]["source"] == "scikit-learn"
    assert metadata["parity"]["label_mismatches"] == 0
    signature = load_model(iris).predictor.signature
    assert signature.packed is not None
    packed = (signature.packed.name, signature.packed.datatype, signature.packed.shape)
    assert packed == ("input-0", "FP64", (-1, 4))
    assert [(s.name, s.datatype) for s in signature.outputs] == [
        ("label", "INT64"),
        ("probabilities", "FP64"),
    ]
    answer = _runtime_answer(iris, payloads.oip(6))
    assert answer["label"].tolist() == [0, 1, 2, 0, 1, 2]  # one row of each class, twice
    assert answer["probabilities"].shape == (6, 3)


@pytest.mark.parametrize("model", ["native", "onnx"])
def test_b_and_b_prime_answer_iris_as_the_compiled_service_does(
    iris: Path, model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(b) on the pipeline ``train.py`` writes, (b') on the graph (c) serves: the same
    outputs, datatypes and labels as the runtime, probabilities within issue 15's 1e-6."""
    monkeypatch.syspath_prepend(str(APPS))
    if model == "native":
        _module("train").main(tmp_path)
        path = tmp_path / "iris.joblib"
    else:
        path = iris / "model.onnx"
    monkeypatch.setenv("BENCH_MODEL_PATH", str(path))
    body = payloads.oip_rows(payloads.spread_rows(64))
    outputs = _post(_module("fastapi_model").app, "/v2/models/iris/infer", body)
    expected = _runtime_answer(iris, body)
    assert outputs["label"]["datatype"] == "INT64"
    assert outputs["probabilities"]["datatype"] == "FP64"
    assert outputs["probabilities"]["shape"] == [64, 3]
    assert outputs["label"]["data"] == expected["label"].tolist()
    np.testing.assert_allclose(
        outputs["probabilities"]["data"], expected["probabilities"].ravel(), rtol=0, atol=1e-6
    )
    if model == "onnx":  # the same graph, the same session options: the same numbers
        assert outputs["probabilities"]["data"] == expected["probabilities"].ravel().tolist()


def test_the_heavy_artifact_takes_the_request_of_the_heavy_targets(tmp_path: Path) -> None:
    from modelrail_runtime import load_model

    _module("heavy_artifact").main(tmp_path)
    # Nothing it records may read as a tabular schema (a "features" key would).
    predictor = load_model(tmp_path).predictor
    inputs = [(s.name, s.datatype, s.shape) for s in predictor.signature.inputs]
    assert inputs == [("input-0", "FP64", (-1, payloads.HEAVY_FEATURES))]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    pytest.importorskip("lightgbm")
    out = tmp_path_factory.mktemp("lightgbm")
    writer = _module("lightgbm_artifact")
    writer.main(out)
    return {"out": out, "features": writer.FEATURES}


def test_the_service_artifact_takes_the_packed_tensor(
    written: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    from modelrail_runtime import load_model

    out = written["out"]
    assert isinstance(out, Path)
    assert written["features"] == payloads.LIGHTGBM_FEATURES
    assert (out / "service" / "model.onnx").is_file()
    metadata = json.loads((out / "service" / "metadata.json").read_text())
    assert metadata["compiled"]["source"] == "lightgbm"
    signature = load_model(out / "service").predictor.signature
    assert signature.packed is not None
    assert (signature.packed.name, signature.packed.datatype) == ("input-0", "FP64")
    assert signature.packed.shape == (-1, payloads.LIGHTGBM_FEATURES)
    assert [spec.name for spec in signature.outputs][:2] == ["label", "probabilities"]


def test_the_plain_model_keeps_the_thread_count_training_used(written: dict[str, object]) -> None:
    out = written["out"]
    assert isinstance(out, Path)
    # MLServer's runtime predicts with the booster's recorded parameters: one thread.
    assert "[num_threads: 1]" in (out / "model.txt").read_text().splitlines()


@pytest.mark.parametrize("model", ["model.txt", "service/model.onnx"])
def test_fastapi_answers_the_request_as_the_runtime_does(
    written: dict[str, object], model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(b) on LightGBM's text model, (b') on the graph (c) serves: the runtime's labels,
    probabilities within issue 15's 1e-6 (the same numbers for the same graph)."""
    out = written["out"]
    assert isinstance(out, Path)
    monkeypatch.setenv("BENCH_MODEL_PATH", str(out / model))
    monkeypatch.syspath_prepend(str(APPS))
    body = payloads.oip_rows(payloads.spread_rows(64, payloads.LIGHTGBM_FEATURES))
    outputs = _post(_module("fastapi_model").app, "/v2/models/lightgbm/infer", body)
    assert outputs["probabilities"]["shape"] == [64, 2]
    expected = _runtime_answer(out / "service", body)
    assert outputs["label"]["data"] == expected["label"].tolist()
    np.testing.assert_allclose(
        outputs["probabilities"]["data"], expected["probabilities"].ravel(), rtol=0, atol=1e-6
    )
    if model.endswith(".onnx"):
        assert outputs["probabilities"]["data"] == expected["probabilities"].ravel().tolist()
