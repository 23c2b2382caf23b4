"""The models (c) serves through MODEL_URI: each takes its group's request, as (b) does.

Runs the bench's writers and (b)'s app in this venv (no servers). The iris and RandomForest
artifacts must take the single ``input-0`` tensor; the LightGBM one, fitted once and written
for the service and for LightGBM itself, the packed ``input-0`` ``[rows, 20]``, which (b)
must answer with the runtime's own labels and probabilities.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bench import payloads
from bench.targets import APPS

pytest.importorskip("modelrail_runtime")


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


def test_the_iris_artifact_takes_the_request_of_the_other_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelrail_runtime import load_model

    monkeypatch.syspath_prepend(str(APPS))  # iris_artifact imports train's recipe
    _module("iris_artifact").main(tmp_path)
    predictor = load_model(tmp_path).predictor
    inputs = [(s.name, s.datatype, s.shape) for s in predictor.signature.inputs]
    assert inputs == [("input-0", "FP64", (-1, 4))]
    assert [s.name for s in predictor.signature.outputs] == ["label", "probabilities"]

    tensor = json.loads(payloads.oip(6))["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    answer = predictor.predict({"input-0": x})
    assert answer["label"].tolist() == [0, 1, 2, 0, 1, 2]  # one row of each class, twice
    assert answer["probabilities"].shape == (6, 3)


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
    signature = load_model(out / "service").predictor.signature
    assert signature.packed is not None
    assert (signature.packed.name, signature.packed.datatype) == ("input-0", "FP64")
    assert signature.packed.shape == (-1, payloads.LIGHTGBM_FEATURES)
    assert [spec.name for spec in signature.outputs][:2] == ["label", "probabilities"]


def test_both_files_hold_the_same_trees(written: dict[str, object]) -> None:
    out = written["out"]
    assert isinstance(out, Path)
    runtime = (out / "service" / "model.txt").read_text().splitlines()
    plain = (out / "model.txt").read_text().splitlines()
    differ = [(a, b) for a, b in zip(runtime, plain, strict=True) if a != b]
    # The runtime writes the thread count as the default; the plain file keeps the one
    # training used, which MLServer's runtime predicts with.
    assert differ == [("[num_threads: 0]", "[num_threads: 1]")]


def test_fastapi_answers_the_request_as_the_runtime_does(
    written: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from modelrail_runtime import load_model

    out = written["out"]
    assert isinstance(out, Path)
    monkeypatch.setenv("BENCH_MODEL_PATH", str(out / "model.txt"))
    monkeypatch.syspath_prepend(str(APPS))
    app = _module("fastapi_model").app
    body = payloads.oip(64, features=payloads.LIGHTGBM_FEATURES)
    answer = TestClient(app).post(
        "/v2/models/lightgbm/infer", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["probabilities"]["shape"] == [64, 2]

    # What the service computes from the same rows (it splits input-0 into the features).
    tensor = json.loads(body)["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    predictor = load_model(out / "service").predictor
    names = [spec.name for spec in predictor.signature.inputs]
    expected = predictor.predict({name: x[:, i] for i, name in enumerate(names)})
    assert outputs["label"]["data"] == expected["label"].tolist()
    np.testing.assert_allclose(
        outputs["probabilities"]["data"], expected["probabilities"].ravel(), rtol=1e-12
    )
