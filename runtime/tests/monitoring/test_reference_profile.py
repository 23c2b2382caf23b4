"""The reference profile: binning, the file `save_model` writes, and what loading refuses;
the texts and embeddings of format 2, and format 1 as before."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from fake_text_models import Encoder, TicketRouter, Vocabulary, tickets
from numpy.typing import NDArray

from modelrail_runtime import FeatureSpec, ModelLoadError, MonitoringSpec, TextSpec, load_model
from modelrail_runtime.monitoring.embedding import PROJECTIONS, directions
from modelrail_runtime.monitoring.reference_profile import (
    PROFILE_FILE,
    ProfileError,
    ReferenceProfile,
    build,
    categorical_binning,
    numeric_binning,
    parse,
)

if TYPE_CHECKING:
    from conftest import TrainedTabular

FEATURE_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_numeric_bins_are_training_quantiles_with_open_ends() -> None:
    binning = numeric_binning(np.arange(100, dtype=np.float64))
    assert binning.cuts == (10, 20, 30, 40, 50, 60, 70, 80, 90)
    assert binning.frequencies == pytest.approx([0.1] * 10)
    # A value equal to a cut goes to the bin above it; outside the training range: the ends.
    counts = binning.counts(np.array([-1e9, 10.0, 50.0, 1e9]))
    assert counts.tolist() == [1, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_ties_merge_numeric_bins() -> None:
    binning = numeric_binning(np.array([1.0] * 80 + [2.0] * 20))
    assert binning.cuts == (1.0, 2.0)
    # The first bin is empty in training: it catches values below the training minimum.
    assert binning.frequencies == pytest.approx([0.0, 0.8, 0.2])


def test_categorical_bins_have_an_other_bin_for_unseen_values() -> None:
    binning = categorical_binning(np.array([3.0, 1.0, 1.0, 2.0]))
    assert binning.cuts == (1.0, 2.0, 3.0)
    assert binning.frequencies == pytest.approx([0.5, 0.25, 0.25, 0.0])
    assert binning.counts(np.array([2.0, 7.0, 1.5, 3.0])).tolist() == [0, 1, 1, 2]
    declared = categorical_binning(np.array([0.0, 0.0]), [0.0, 1.0, 2.0])
    assert declared.cuts == (0.0, 1.0, 2.0), "every declared class has a bin, seen or not"
    assert declared.frequencies == pytest.approx([1.0, 0.0, 0.0, 0.0])


def test_a_profile_is_built_from_the_monitoring_spec() -> None:
    spec = MonitoringSpec(
        features=(FeatureSpec("size", "x", 1), FeatureSpec("colour", "x", 0, "categorical")),
        class_output="label",
        classes=(0, 1),
    )
    inputs = {"x": np.array([[1.0, 10.0], [2.0, 20.0], [1.0, 30.0], [2.0, 40.0]])}
    profile = build(spec, inputs, {"label": np.array([0, 0, 0, 1])})
    assert profile.rows == 4
    size, colour = profile.features
    assert (size.name, size.input, size.column, size.binning.kind) == ("size", "x", 1, "numeric")
    assert (colour.binning.kind, colour.binning.cuts) == ("categorical", (1.0, 2.0))
    assert profile.prediction.output == "label"
    assert profile.prediction.binning.frequencies == pytest.approx([0.75, 0.25, 0.0])
    assert parse(profile.to_json()) == profile
    assert profile.to_json() == build(spec, inputs, {"label": np.array([0, 0, 0, 1])}).to_json()


TABULAR = MonitoringSpec(
    features=(
        FeatureSpec("charge", "charge", None, minimum=1.0, maximum=10.0),
        FeatureSpec("contract", "contract", None, "categorical", ("monthly", "yearly")),
        FeatureSpec("support", "support", None, "categorical"),
    ),
    value_output="prediction",
)
TABULAR_INPUTS = {
    "charge": np.array([1.0, np.nan, 3.0, 4.0]),
    "contract": np.array(["yearly", "yearly", "monthly", "yearly"]),
    "support": np.array([True, True, True, True]),
}


def test_a_tabular_profile_bins_categories_as_codes_with_an_unseen_bin() -> None:
    profile = build(TABULAR, TABULAR_INPUTS, {"prediction": np.arange(4, dtype=np.float64)})
    charge, contract, support = profile.features
    assert (charge.input, charge.column) == ("charge", -1), "a whole input: no column"
    assert (contract.binning.kind, contract.binning.cuts) == ("categorical", (0.0, 1.0))
    assert contract.binning.frequencies == pytest.approx([0.25, 0.75, 0.0])
    # Live traffic is coded the same way: an unseen category is code 2, the last bin.
    assert contract.binning.counts(np.array([0.0, 2.0, 2.0])).tolist() == [1, 0, 2]
    assert (support.binning.cuts, support.binning.frequencies) == ((1.0,), (1.0, 0.0))


def test_a_category_absent_from_the_profiled_rows_keeps_its_own_bin() -> None:
    # The schema may come from more rows than the profile (or a category may be rare):
    # every declared category has a bin, so it is never mistaken for an unseen value.
    declared = FeatureSpec("contract", "contract", None, "categorical", ("a", "b", "c"))
    spec = MonitoringSpec((declared,), value_output="prediction")
    inputs = {"contract": np.array(["a", "c", "c", "c"])}
    profile = build(spec, inputs, {"prediction": np.zeros(4)})
    (contract,) = profile.features
    assert contract.binning.cuts == (0.0, 1.0, 2.0)
    assert contract.binning.frequencies == pytest.approx([0.25, 0.0, 0.75, 0.0])
    assert contract.binning.counts(np.array([1.0, 3.0])).tolist() == [0, 1, 0, 1]


def test_missing_values_are_left_out_of_the_bins() -> None:
    profile = build(TABULAR, TABULAR_INPUTS, {"prediction": np.arange(4, dtype=np.float64)})
    charge = profile.features[0].binning
    assert charge.cuts == (3.0, 4.0), "quantiles of the three values present"
    assert sum(charge.frequencies) == pytest.approx(1)
    assert charge.counts(np.array([np.nan, np.nan, 1.0])).sum() == 1


def test_a_regression_prediction_is_binned_at_its_quantiles() -> None:
    predictions = np.arange(100, dtype=np.float64)
    profile = build(TABULAR, TABULAR_INPUTS, {"prediction": predictions})
    assert profile.prediction.output == "prediction"
    assert profile.prediction.binning.kind == "numeric"
    assert profile.prediction.binning.cuts == (10, 20, 30, 40, 50, 60, 70, 80, 90)
    assert profile.rows == 100
    assert parse(profile.to_json()) == profile


def test_a_tabular_model_is_saved_with_its_profile(churn_classifier: TrainedTabular) -> None:
    profile = parse((churn_classifier.directory / PROFILE_FILE).read_text())
    assert [(f.name, f.input, f.column) for f in profile.features] == [
        ("tenure_months", "tenure_months", -1),
        ("monthly_charges", "monthly_charges", -1),
        ("contract", "contract", -1),
        ("has_support", "has_support", -1),
    ]
    contract = profile.features[2].binning
    assert contract.cuts == (0.0, 1.0, 2.0), "one bin per training category"
    assert contract.frequencies[-1] == 0, "and an empty one for unseen categories"
    assert (profile.prediction.output, profile.prediction.binning.cuts) == ("label", (0.0, 1.0))
    assert profile.rows == 300


def test_save_model_writes_a_profile_recorded_in_the_metadata(artifacts: Path) -> None:
    metadata = json.loads((artifacts / "metadata.json").read_text())
    assert metadata["reference_profile"]["file"] == PROFILE_FILE
    profile = parse((artifacts / PROFILE_FILE).read_text())
    assert [feature.name for feature in profile.features] == FEATURE_NAMES
    for feature in profile.features:
        assert feature.input == "input-0"
        assert sum(feature.binning.frequencies) == pytest.approx(1)
        assert 2 <= feature.binning.bins <= 10
    assert profile.prediction.binning.cuts == (0.0, 1.0, 2.0)
    assert profile.rows == metadata["data"]["rows"]


def test_a_changed_profile_is_refused(tmp_path: Path, artifacts: Path) -> None:
    copy = shutil.copytree(artifacts, tmp_path / "copy")
    profile = copy / PROFILE_FILE
    profile.write_text(profile.read_text().replace('"rows": ', '"rows": 1'))
    with pytest.raises(ModelLoadError, match=f"{PROFILE_FILE} does not match the sha256"):
        load_model(copy)


def test_a_missing_profile_is_refused(tmp_path: Path, artifacts: Path) -> None:
    copy = shutil.copytree(artifacts, tmp_path / "copy")
    (copy / PROFILE_FILE).unlink()
    with pytest.raises(ModelLoadError, match="keep it beside the artifact"):
        load_model(copy)


def test_a_profile_of_another_format_is_refused() -> None:
    with pytest.raises(ProfileError, match="format"):
        parse('{"format_version": 99}')
    with pytest.raises(ProfileError, match="not valid"):
        parse('{"format_version": 1, "rows": 3}')
    with pytest.raises(ProfileError, match="not valid"):
        parse("not json")


def test_bins_must_ascend_with_one_frequency_each() -> None:
    document = {
        "format_version": 1,
        "rows": 2,
        "features": [
            {"name": "a", "input": "x", "column": 0, "kind": "numeric", "cuts": [2.0, 1.0],
             "frequencies": [0.5, 0.5, 0.0]},
        ],
        "prediction": {"output": "y", "kind": "categorical", "cuts": [0.0], "frequencies": [1, 0]},
    }  # fmt: skip
    with pytest.raises(ProfileError, match="cuts must ascend"):
        parse(json.dumps(document))
    document["features"][0]["kind"] = "ordinal"  # type: ignore[index]
    with pytest.raises(ProfileError, match="unknown binning kind"):
        parse(json.dumps(document))


# --- texts and embeddings (format 2) -----------------------------------------------------
def small_tabular_profile() -> ReferenceProfile:
    spec = MonitoringSpec(
        features=(FeatureSpec("size", "x", 1), FeatureSpec("colour", "x", 0, "categorical")),
        class_output="label",
        classes=(0, 1),
    )
    inputs = {"x": np.array([[1.0, 10.0], [2.0, 20.0], [1.0, 30.0], [2.0, 40.0]])}
    return build(spec, inputs, {"label": np.array([0, 0, 0, 1])})


def test_a_tabular_profile_is_written_as_before() -> None:
    # The sha256 of what runtime 0.2.0 wrote for this profile: a tabular model's profile
    # (and so its metadata.json) does not change with the runtime version, and 0.2.0 still
    # reads what this version writes for it.
    text = small_tabular_profile().to_json()
    assert json.loads(text)["format_version"] == 1
    assert "texts" not in json.loads(text)
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "3273f484005ed9e2ba844cb42319e1ab9825a28a7e671488624e76523e66e416"
    )


def test_a_format_1_profile_still_loads() -> None:
    document = {
        "format_version": 1,
        "rows": 2,
        "features": [
            {"name": "a", "input": "x", "column": 0, "kind": "numeric", "cuts": [1.0],
             "frequencies": [0.5, 0.5]},
        ],
        "prediction": {"output": "y", "kind": "categorical", "cuts": [0.0], "frequencies": [1, 0]},
    }  # fmt: skip
    profile = parse(json.dumps(document))
    assert (profile.texts, profile.embedding) == ((), None)
    assert profile.prediction is not None
    assert profile.prediction.output == "y"
    document["prediction"] = None
    with pytest.raises(ProfileError, match="a format 1 profile has a prediction"):
        parse(json.dumps(document))


ROUTER = TicketRouter(Vocabulary())
TEXTS = {"text": tickets(np.random.default_rng(1), 300, foreign=0.02)}


def test_a_text_profile_bins_lengths_and_unknown_token_shares() -> None:
    profile = build(ROUTER.monitoring, TEXTS, ROUTER.predict(TEXTS))
    assert profile.features == ()
    (text,) = profile.texts
    assert text.input == "text"
    assert [name for name, _ in profile.drift_columns()] == [
        "text_length",
        "text_unknown_token_share",
    ]
    characters = [len(value) for value in TEXTS["text"]]
    assert text.length.cuts[0] > min(characters)
    assert text.length.cuts[-1] <= max(characters)
    assert sum(text.length.frequencies) == pytest.approx(1)
    # Most tickets have no unknown word: 0 is a bin of its own, apart from small shares.
    share = text.unknown_share
    assert share is not None
    assert share.cuts[:2] == (0.0, 5e-324)
    assert share.frequencies[0] == 0, "no share below 0"
    assert 0.5 < share.frequencies[1] < 0.9, "the tickets without an unknown word"
    assert share.counts(np.array([0.0, 0.01, 0.9])).tolist()[:2] == [0, 1]
    assert text.overall_unknown_share == pytest.approx(0.02, abs=0.005)
    assert profile.prediction is not None
    assert profile.prediction.output == "label"
    assert profile.rows == 300


def test_without_a_token_counter_a_text_has_its_length_only() -> None:
    router = TicketRouter(tokens=None)
    profile = build(router.monitoring, TEXTS, router.predict(TEXTS))
    (text,) = profile.texts
    assert (text.unknown_share, text.overall_unknown_share) == (None, None)
    assert [name for name, _ in profile.drift_columns()] == ["text_length"]


def test_an_embedding_profile_records_its_directions_mean_and_projection_bins() -> None:
    encoder = Encoder(24)
    vectors = encoder.predict(TEXTS)["embedding"].astype(np.float64)
    profile = build(encoder.monitoring, TEXTS, encoder.predict(TEXTS))
    assert profile.prediction is None
    embedding = profile.embedding
    assert embedding is not None
    assert (embedding.output, embedding.dimensions) == ("embedding", 24)
    assert np.array(embedding.directions) == pytest.approx(directions(24))
    assert np.array(embedding.mean) == pytest.approx(vectors.mean(axis=0))
    assert len(embedding.projections) == PROJECTIONS
    first = vectors @ np.array(embedding.directions[0])
    assert embedding.projections[0].cuts == pytest.approx(numeric_binning(first).cuts)
    assert profile.rows == 300


@pytest.mark.parametrize("model", ["router", "encoder"])
def test_a_format_2_profile_round_trips_and_is_deterministic(model: str) -> None:
    predictor = ROUTER if model == "router" else Encoder(24)
    text = build(predictor.monitoring, TEXTS, predictor.predict(TEXTS)).to_json()
    assert json.loads(text)["format_version"] == 2
    # Another build from a copy of the same data: the same bytes.
    copy = {"text": np.array(list(TEXTS["text"]), dtype=object)}
    again = build(predictor.monitoring, copy, predictor.predict(copy)).to_json()
    assert again == text
    parsed = parse(text)
    assert parsed.to_json() == text
    assert parsed == build(predictor.monitoring, TEXTS, predictor.predict(TEXTS))


def test_a_malformed_embedding_profile_is_refused() -> None:
    encoder = Encoder(8)
    document = json.loads(build(encoder.monitoring, TEXTS, encoder.predict(TEXTS)).to_json())
    document["embedding"]["dimensions"] = 9
    with pytest.raises(ProfileError, match="must have its 9 dimensions"):
        parse(json.dumps(document))
    document["embedding"]["dimensions"] = 8
    document["embedding"]["projections"].pop()
    with pytest.raises(ProfileError, match="one projection binning per direction"):
        parse(json.dumps(document))
    del document["texts"]
    with pytest.raises(ProfileError, match="not valid: KeyError: 'texts'"):
        parse(json.dumps(document))


def test_a_feature_named_like_a_texts_value_is_refused() -> None:
    spec = MonitoringSpec(
        features=(FeatureSpec("text_length", "size", None),),
        class_output="label",
        classes=("billing", "tech"),
        texts=(TextSpec("text"),),
    )
    inputs = {**TEXTS, "size": np.ones(300)}
    with pytest.raises(ValueError, match=r"two values named \['text_length'\].*rename the feature"):
        build(spec, inputs, ROUTER.predict(TEXTS))


def test_a_token_counter_must_count_each_text() -> None:
    def short(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return np.ones(len(texts) - 1, dtype=np.int64), np.zeros(len(texts) - 1, dtype=np.int64)

    def overcounting(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return np.ones(len(texts), dtype=np.int64), np.full(len(texts), 2, dtype=np.int64)

    for counter, message in ((short, "one count of each per text"), (overcounting, "more unknown")):
        spec = MonitoringSpec((), class_output="label", texts=(TextSpec("text", counter),))
        with pytest.raises(ValueError, match=message):
            build(spec, TEXTS, ROUTER.predict(TEXTS))


def test_no_values_give_one_bin() -> None:
    binning = numeric_binning(np.array([]), ties_own_bins=True)
    assert (binning.cuts, binning.frequencies) == ((), (1.0,))
