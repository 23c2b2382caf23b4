"""The reference profile: binning, the file `save_model` writes, and what loading refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from modelrail_runtime import FeatureSpec, ModelLoadError, MonitoringSpec, load_model
from modelrail_runtime.monitoring.reference_profile import (
    PROFILE_FILE,
    ProfileError,
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
