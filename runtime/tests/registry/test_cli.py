"""``python -m modelrail_runtime.registry``: user errors are one line naming the URI and the
fix, exit 2, no traceback; against a real MLflow server."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import free_port
from tests.servers.mlflow import MlflowServer

from modelrail_runtime.registry.__main__ import main

Trained = Callable[..., Path]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registered(
    trained: Trained, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A model with versions 1 (accuracy 0.9) and 2 (0.8), logged through the CLI."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    first, second = trained(accuracy=0.9), trained(accuracy=0.8)
    assert main(["log", str(first)]) == 0
    assert main(["log", str(second)]) == 0
    return str(json.loads((first / "metadata.json").read_text())["model_name"])


def test_the_release_path_fetch_compare_promote(
    registered: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _run(capsys, "compare", registered, "1", "--metric", "accuracy")[0] == 0
    assert _run(capsys, "promote", registered, "1", "--alias", "champion")[0] == 0

    code, out, _ = _run(capsys, "compare", registered, "2", "--metric", "accuracy")
    assert code == 1
    assert "fails" in out

    code, out, _ = _run(capsys, "fetch", f"models:/{registered}@champion", "--into", str(tmp_path))
    assert code == 0
    assert json.loads(out)["version"] == "1"
    code, out, _ = _run(capsys, "lineage", str(tmp_path))
    assert code == 0
    assert f"--build-arg=MODEL_REGISTRY_URI=models:/{registered}/1" in out.split()
    assert "--build-arg=MODEL_REGISTRY_VERSION=1" in out.split()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fetch", "models:/{name}/9", "--into", "x"], "has no version 9 (latest: 2)"),
        (["fetch", "models:/{name}@champion", "--into", "x"], "has no alias 'champion'"),
        (["fetch", "models:/nobody-{name}/1", "--into", "x"], "has no registered model"),
        (["fetch", "runs:/abc/model", "--into", "x"], "is not a registered model URI"),
        (["promote", "{name}", "7"], "has no version 7"),
        (["compare", "{name}", "2", "--metric", "f1"], "has no metric 'f1'"),
    ],
)
def test_user_errors_name_the_uri_and_the_fix(
    registered: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: str,
) -> None:
    args = [arg.replace("{name}", registered).replace("x", str(tmp_path / "x")) for arg in argv]

    code, _, err = _run(capsys, *args)

    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_no_tracking_uri_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    code, _, err = _run(capsys, "fetch", "models:/churn-model/1", "--into", "x")

    assert code == 2
    assert "MLFLOW_TRACKING_URI is not set" in err


def test_an_unreachable_server_fails_fast_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://alice:s3cret@127.0.0.1:{free_port()}")

    code, _, err = _run(capsys, "promote", "churn-model", "1")

    assert code == 2
    assert "does not answer" in err
    assert "s3cret" not in err
    assert "Traceback" not in err


def test_lineage_of_a_directory_never_fetched_says_to_fetch(
    artifacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / uuid.uuid4().hex
    shutil.copytree(artifacts, local)

    code, _, err = _run(capsys, "lineage", str(local))

    assert code == 2
    assert "records no registry lineage: run `fetch` first" in err
