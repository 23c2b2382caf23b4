"""The models (c) serves through MODEL_URI: each takes its group's request, as (b) does.

Runs the bench's writers in this venv (no servers): the iris and RandomForest artifacts
must take the single ``input-0`` tensor the other targets of their group take.
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
