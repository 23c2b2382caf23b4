"""Model URIs, credentials kept out of lineage, and the champion gate: no server needed."""

from __future__ import annotations

import pytest

from modelrail_runtime.registry import (
    GateRule,
    ModelRef,
    RegistryError,
    compare_metrics,
    parse_model_uri,
    public_uri,
)


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/churn-model/3", ModelRef("churn-model", version="3")),
        ("models:/churn-model@champion", ModelRef("churn-model", alias="champion")),
    ],
)
def test_model_uris_by_version_and_by_alias(uri: str, ref: ModelRef) -> None:
    assert parse_model_uri(uri) == ref
    assert ref.uri == uri


@pytest.mark.parametrize("uri", ["models:/churn-model", "runs:/abc/model", "models:/a/latest"])
def test_other_uris_are_refused_with_the_forms_accepted(uri: str) -> None:
    with pytest.raises(RegistryError, match=r"models:/<name>/<version>"):
        parse_model_uri(uri)


def test_public_uri_drops_credentials_only() -> None:
    assert public_uri("https://bob:pw@mlflow.example:8443/x") == "https://mlflow.example:8443/x"
    assert public_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_gate_direction_and_tolerance() -> None:
    higher = GateRule("accuracy", tolerance=0.01)
    lower = GateRule("rmse", higher_is_better=False, tolerance=0.0)

    assert compare_metrics(higher, {"accuracy": 0.895}, {"accuracy": 0.9}).passed
    assert not compare_metrics(higher, {"accuracy": 0.88}, {"accuracy": 0.9}).passed
    assert compare_metrics(lower, {"rmse": 0.9}, {"rmse": 1.0}).passed
    assert not compare_metrics(lower, {"rmse": 1.1}, {"rmse": 1.0}).passed
    first = compare_metrics(higher, {"accuracy": 0.1}, None)
    assert first.passed
    assert "no champion yet" in first.message
