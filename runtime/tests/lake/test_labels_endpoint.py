"""``POST /v2/models/{model_name}/labels``: authentication, validation, storage, outage."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds
import pytest
from echo_text import MODEL_NAME as ECHO_MODEL_NAME
from echo_text import EchoTextAdapter, EchoTextPredictor

from modelrail_runtime import ModelSignature, MonitoringSpec, ServiceClient, Tensor, TensorSpec
from modelrail_runtime.artifacts import VerifiedArtifact
from modelrail_runtime.lake.labels import LabelError, LabelTarget, parse_labels

TOKEN = "s3cret-token"  # noqa: S105 - a test token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATH = "/v2/models/iris/labels"


def stored_labels(root: Path) -> list[dict[str, Any]]:
    """Every row of the labels table under ``root``."""
    if not root.exists():
        return []
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.fixture
def labelled(start: Callable[..., ServiceClient], tmp_path: Path) -> Iterator[ServiceClient]:
    """The iris service (classes 0, 1, 2) writing labels under ``tmp_path / "labels"``."""
    with start(labels_url=str(tmp_path / "labels"), labels_token=TOKEN) as client:
        yield client


def predict_ids(client: ServiceClient, golden_request: dict[str, Any]) -> list[str]:
    response = client.post("/v2/models/iris/infer", json=golden_request)
    outputs = {output["name"]: output["data"] for output in response.json()["outputs"]}
    return [str(value) for value in outputs["prediction_id"]]


def test_labels_are_stored_before_the_answer(
    labelled: ServiceClient, golden_request: dict[str, Any], tmp_path: Path
) -> None:
    ids = predict_ids(labelled, golden_request)
    body = {
        "labels": [{"prediction_id": ids[0], "label": 0}, {"prediction_id": ids[1], "label": "2"}]
    }
    response = labelled.post(PATH, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 2}
    rows = stored_labels(tmp_path / "labels")
    assert [(row["prediction_id"], row["label"], row["value"], row["source"]) for row in rows] == [
        (ids[0], "0", None, "api"),
        (ids[1], "2", None, "api"),
    ]
    assert str(rows[0]["observed_at"].tzinfo) == "UTC"
    metrics = labelled.get("/metrics").text
    assert 'model_labels_received_total{model_name="iris"} 2.0' in metrics


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": TOKEN}, 401)],
)
def test_a_caller_without_the_token_is_refused(
    labelled: ServiceClient, headers: Mapping[str, str], status: int, tmp_path: Path
) -> None:
    body = {"labels": [{"prediction_id": "a-0", "label": 0}]}
    response = labelled.post(PATH, json=body, headers=dict(headers))
    assert response.status_code == status
    assert "LABELS_TOKEN" in response.json()["error"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert stored_labels(tmp_path / "labels") == []


def test_without_a_token_the_endpoint_is_off(
    start: Callable[..., ServiceClient], tmp_path: Path
) -> None:
    with start(labels_url=str(tmp_path / "labels")) as client:
        body = {"labels": [{"prediction_id": "a-0", "label": 0}]}
        response = client.post(PATH, json=body, headers=AUTH)
    assert response.status_code == 403
    assert "LABELS_TOKEN" in response.json()["error"]
    assert "LABELS_AUTH=mesh" in response.json()["error"]


def test_the_mesh_may_authenticate_instead(
    start: Callable[..., ServiceClient], tmp_path: Path
) -> None:
    with start(labels_url=str(tmp_path / "labels"), labels_auth="mesh") as client:
        body = {"labels": [{"prediction_id": "a-0", "label": 1}]}
        response = client.post(PATH, json=body)
    assert response.status_code == 200, response.text
    assert [row["label"] for row in stored_labels(tmp_path / "labels")] == ["1"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"labels": []}, 400, "non-empty"),
        ({}, 400, '{"labels": [...]}'),
        ({"labels": [], "extra": 1}, 400, '{"labels": [...]}'),
        ({"labels": [{"prediction_id": "a-0", "label": 7}]}, 400, "labels[0].label"),
        (
            {"labels": [{"prediction_id": "a-0", "label": 0}, {"prediction_id": "a-1"}]},
            400,
            "labels[1]",
        ),
        ({"labels": [{"prediction_id": "a", "label": 0, "x": 1}]}, 400, "labels[0]"),
        ({"labels": [{"prediction_id": "", "label": 0}]}, 400, "labels[0].prediction_id"),
        ({"labels": [{"prediction_id": "a", "label": True}]}, 400, "labels[0].label"),
        ({"labels": [{"prediction_id": "a", "value": 1.5}]}, 400, '"label"'),
        ({"labels": [{"prediction_id": "a", "label": 0}] * 4}, 413, "LABELS_MAX_ITEMS=3"),
        ({"labels": [{"prediction_id": "a", "label": 0}], "source": ""}, 400, "'source'"),
        # Printable ASCII only: the OpenAPI document's pattern says the same.
        ({"labels": [{"prediction_id": "a", "label": 0}], "source": "crm\u00e9"}, 400, "ASCII"),
        ({"labels": [{"prediction_id": "a", "label": 0}], "source": "crm\n"}, 400, "'source'"),
    ],
)
def test_a_bad_body_is_refused_naming_the_item(
    start: Callable[..., ServiceClient],
    tmp_path: Path,
    body: dict[str, Any],
    status: int,
    named: str,
) -> None:
    root = tmp_path / "labels"
    with start(labels_url=str(root), labels_token=TOKEN, labels_max_items=3) as client:
        response = client.post(PATH, json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert named in response.json()["error"]
    assert stored_labels(root) == []


def test_invalid_json_and_unknown_model(labelled: ServiceClient) -> None:
    response = labelled.post(PATH, content=b"{not json", headers=AUTH)
    assert (response.status_code, response.json()) == (400, {"error": "the body is not valid JSON"})
    body = {"labels": [{"prediction_id": "a", "label": 0}]}
    response = labelled.post("/v2/models/other/labels", json=body, headers=AUTH)
    assert response.status_code == 404
    assert "iris" in response.json()["error"]


def test_a_regressor_takes_finite_values(churn_regressor: Any, tmp_path: Path) -> None:
    root = tmp_path / "labels"
    with ServiceClient(
        churn_regressor.directory, model_name="spend", labels_url=str(root), labels_token=TOKEN
    ) as client:
        path = "/v2/models/spend/labels"
        # JSON has no NaN or Infinity: a body that holds one is not valid JSON.
        for content in (
            b'{"labels": [{"prediction_id": "a", "value": NaN}]}',
            b'{"labels": [{"prediction_id": "a", "value": Infinity}]}',
            b'{"labels": [{"prediction_id": "a", "value": "12"}]}',
            b'{"labels": [{"prediction_id": "a", "value": true}]}',
        ):
            response = client.post(path, content=content, headers=AUTH)
            assert response.status_code == 400, content
        good = {"labels": [{"prediction_id": "a", "value": 3.5}]}
        assert client.post(path, json=good, headers=AUTH).status_code == 200
        unknown = client.post(
            path, json={"labels": [{"prediction_id": "a", "label": "x"}]}, headers=AUTH
        )
    assert unknown.status_code == 400
    assert '"value"' in unknown.json()["error"]
    assert [(row["label"], row["value"]) for row in stored_labels(root)] == [(None, 3.5)]


class _EmbeddingPredictor(EchoTextPredictor):
    """The echo model seen as an encoder: a vector per text."""

    signature = ModelSignature(
        inputs=(TensorSpec("text", "BYTES", (-1,)),),
        outputs=(TensorSpec("embedding", "FP32", (-1, 2)),),
    )
    monitoring = MonitoringSpec(features=(), embedding_output="embedding")

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {"embedding": np.ones((len(inputs["text"]), 2), dtype=np.float32)}


class _EmbeddingAdapter(EchoTextAdapter):
    def load(self, artifact: VerifiedArtifact) -> _EmbeddingPredictor:  # type: ignore[override]
        return _EmbeddingPredictor()


def test_an_embedding_model_has_no_ground_truth(echo_artifacts: Path, tmp_path: Path) -> None:
    with ServiceClient(
        echo_artifacts,
        adapter=_EmbeddingAdapter(),
        model_name=ECHO_MODEL_NAME,
        labels_url=str(tmp_path / "labels"),
        labels_token=TOKEN,
    ) as client:
        body = {"labels": [{"prediction_id": "a", "label": "x"}]}
        response = client.post(f"/v2/models/{ECHO_MODEL_NAME}/labels", json=body, headers=AUTH)
    assert response.status_code == 404
    assert "embeddings" in response.json()["error"]


def test_an_unwritable_store_gives_503_and_is_counted(
    start: Callable[..., ServiceClient], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with start(labels_url=str(blocker / "labels"), labels_token=TOKEN) as client:
        body = {"labels": [{"prediction_id": "a", "label": 0}]}
        response = client.post(PATH, json=body, headers=AUTH)
        metrics = client.get("/metrics").text
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "send the same labels again" in response.json()["error"]
    assert 'model_label_write_failures_total{model_name="iris"} 1.0' in metrics


def test_inference_is_still_answered_by_the_gateway(
    labelled: ServiceClient, golden_request: dict[str, Any]
) -> None:
    assert len(predict_ids(labelled, golden_request)) == 3
    assert labelled.get(PATH).status_code == 405


def test_the_openapi_document_describes_the_endpoint(labelled: ServiceClient) -> None:
    document = labelled.get("/openapi.json").json()
    operation = document["paths"]["/v2/models/{model_name}/labels"]["post"]
    # The token is set: 403 (the endpoint is off) is never answered.
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413", "503"}
    assert document["components"]["securitySchemes"]["labelsToken"]["scheme"] == "bearer"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_value_is_refused(value: float) -> None:
    # JSON bodies cannot hold these (see above); a job calling parse_labels can.
    body = {"labels": [{"prediction_id": "a", "value": value}]}
    with pytest.raises(LabelError, match=r"labels\[0\]\.value must be a finite number"):
        parse_labels(body, LabelTarget(), max_items=10)
