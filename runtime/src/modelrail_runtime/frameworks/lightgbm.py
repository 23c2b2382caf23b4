"""LightGBM: tabular boosters stored as LightGBM's text model (`modelrail-runtime[lightgbm]`).

The artifact is ``Booster.model_to_string()`` in UTF-8: parameters and trees as text,
nothing executable (no pickle). LightGBM's parser trusts that text: a malformed tree
aborts the process while loading, and a child index out of range or a cycle crashes or
hangs it at predict. So the text is checked here, in Python, before LightGBM reads it.

Serving needs the tabular schema metadata.json records: the booster predicts on
`TabularSchema.encode`'s matrix, string categories as their codes, missing and unseen
values as NaN (LightGBM's missing value, routed by each split's missing-value rule).
Training fits on the same matrix, with the string features declared categorical so that
LightGBM splits on category sets rather than on the order of the codes::

    matrix = schema.encode(table)
    model = LGBMClassifier(n_estimators=200).fit(
        matrix, labels, categorical_feature=schema.categorical_columns
    )

A classifier gives probabilities (``binary``, ``multiclass``, ``multiclassova``); class
``i`` of the booster is ``schema.task.classes[i]`` (LGBMClassifier fitted on the labels
themselves numbers them in sorted order: record ``Task.classification(sorted(labels))``).
A regressor gives one value per row.
"""

from __future__ import annotations

import re
from platform import python_version
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from ..artifacts import ModelLoadError
from ..tabular import MatrixModel, TabularPredictor, TabularSchema, TaskKind
from . import required_schema

if TYPE_CHECKING:
    from ..adapter import Predictor
    from ..artifacts import VerifiedArtifact

PROBABILITY_OBJECTIVES: Final = ("binary", "multiclass", "multiclassova")
"""The classification objectives whose predictions are class probabilities."""

TREE_LINES: Final = 22
"""LightGBM reads at most this many ``key=value`` lines of a tree."""

MAX_WORDS: Final = 1 << 24
"""The most 32-bit words a tree's category sets may take (a corrupted count would cost
gigabytes)."""

_NODE_ARRAYS: Final = (
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "internal_value",
    "internal_weight",
    "internal_count",
)
_LEAF_ARRAYS: Final = ("leaf_value", "leaf_weight", "leaf_count")
_INTEGERS: Final = frozenset(
    {"split_feature", "decision_type", "left_child", "right_child", "internal_count"}
)
_THREADS: Final = re.compile(r"^\[num_threads: -?\d+\]$", re.MULTILINE)
_RETRAIN: Final = (
    "train on schema.encode(table) with categorical_feature=schema.categorical_columns, "
    "then re-run `make train`"
)


class LightGBMAdapter:
    """Text artifacts of LightGBM boosters, served as tabular models."""

    name: Final = "lightgbm"
    platform: Final = "lightgbm_text"
    artifact_file: Final = "model.txt"
    REQUIRES: Final = ("lightgbm",)

    def dump(self, model: object) -> bytes:
        """The booster's text model: a fitted LGBMClassifier/LGBMRegressor, or a Booster.

        Up to the best iteration when training stopped early (what LightGBM predicts with).
        The text depends only on the booster and its parameters, not on the number of
        threads it was trained with: the same training gives the same artifact.

        Raises:
            TypeError: ``model`` is neither a LightGBM estimator nor a Booster.
        """
        import lightgbm  # noqa: PLC0415 - the framework loads with the model

        booster = model.booster_ if isinstance(model, lightgbm.LGBMModel) else model
        if not isinstance(booster, lightgbm.Booster):
            raise TypeError(
                "LightGBMAdapter.dump takes a fitted LGBMClassifier or LGBMRegressor, or a "
                f"lightgbm.Booster, not {type(model).__name__}"
            )
        text = booster.model_to_string()
        # The parameters section records the training's thread count, which depends on the
        # machine and not the model (the trees are the same): it is written as the default.
        head, marker, parameters = text.rpartition("\nparameters:\n")
        if marker:
            text = head + marker + _THREADS.sub("[num_threads: 0]", parameters, count=1)
        return text.encode("utf-8")

    def load(self, artifact: VerifiedArtifact) -> Predictor:
        """A `TabularPredictor` over ``Booster.predict``, one thread per call.

        Raises:
            ModelLoadError: lightgbm's library cannot load (no OpenMP runtime); metadata.json
                records no schema; the bytes are not a LightGBM text model, or hold malformed
                trees; or the booster does not fit the schema (features, categorical columns,
                task or classes).
        """
        try:
            import lightgbm  # noqa: PLC0415
        except OSError as exc:
            # Its wheel links the system's OpenMP runtime instead of shipping one, and slim
            # images do not have it.
            raise ModelLoadError(
                f"lightgbm cannot load its native library ({exc}): install the OpenMP "
                "runtime in the image (Debian: apt-get install libgomp1)"
            ) from None
        schema = required_schema(artifact, self.name)
        try:
            header = check_model_text(artifact.data)
        except ValueError as exc:
            raise ModelLoadError(
                f"model artifact {artifact.path} is not a LightGBM text model ({exc}); save "
                "it with LightGBMAdapter and re-run `make train`"
            ) from None
        try:
            booster = lightgbm.Booster(model_str=artifact.data.decode("utf-8"))
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(
                f"model artifact {artifact.path} is not a loadable LightGBM model ({reason}); "
                "save it with LightGBMAdapter and re-run `make train`"
            ) from None
        _check(booster, header, schema)
        return TabularPredictor(schema, _scores(booster))

    def library_versions(self) -> dict[str, str]:
        """Versions of Python and of the libraries that shape the artifact."""
        import lightgbm  # noqa: PLC0415

        return {
            "python": python_version(),
            "lightgbm": lightgbm.__version__,
            "numpy": np.__version__,
        }


def _scores(booster: Any) -> MatrixModel:
    def scores(matrix: NDArray[np.float64]) -> NDArray[Any]:
        # Booster.predict on the float64 matrix as it is: no pandas, no estimator checks
        # (LGBMClassifier.predict_proba costs 15 times as much for one row).
        return np.asarray(booster.predict(matrix, num_threads=1))

    return scores


def _check(booster: Any, header: dict[str, str], schema: TabularSchema) -> None:
    features = booster.num_feature()
    if features != len(schema.features):
        raise ModelLoadError(
            f"the booster takes {features} features, the schema has "
            f"{len(schema.features)} ({', '.join(f.name for f in schema.features)}): {_RETRAIN}"
        )
    names = booster.feature_name()
    expected_names = [feature.name for feature in schema.features]
    if names != [f"Column_{column}" for column in range(features)] and names != expected_names:
        raise ModelLoadError(
            f"the booster's features are {names}, the schema's {expected_names}: the "
            "columns must be in the schema's order; " + _RETRAIN
        )
    infos = header["feature_infos"].split(" ")
    # feature_infos lists a categorical column's categories (0:1:2), a numeric column's
    # range ([0:71]), or `none` for a column training dropped (a single value): either.
    categorical = [column for column, info in enumerate(infos) if info[:1] not in ("[", "n")]
    numeric = {column for column, info in enumerate(infos) if info.startswith("[")}
    wanted = schema.categorical_columns
    if set(categorical) - set(wanted) or numeric & set(wanted):
        raise ModelLoadError(
            f"the booster treats columns {categorical} as categorical, the schema's string "
            f"features are columns {wanted}: {_RETRAIN}"
        )
    objective = header.get("objective", "").split(" ")[0]
    outputs = int(header["num_class"])
    task = schema.task
    if task.kind is TaskKind.REGRESSION:
        if objective in PROBABILITY_OBJECTIVES or outputs != 1:
            raise ModelLoadError(
                f"the schema's task is regression, the booster's objective is {objective!r} "
                "(a classifier): train an LGBMRegressor, or record Task.classification"
            )
        if task.targets != 1:
            raise ModelLoadError(
                f"the schema records {task.targets} targets, a LightGBM booster predicts "
                "one: train one model per target"
            )
        return
    if objective not in PROBABILITY_OBJECTIVES:
        raise ModelLoadError(
            f"the booster's objective is {objective!r}, which gives no class probabilities: "
            "train an LGBMClassifier (binary, multiclass)"
        )
    predicted = 2 if objective == "binary" else outputs
    if predicted != len(task.classes):
        raise ModelLoadError(
            f"the booster predicts {predicted} classes, the schema has {len(task.classes)} "
            f"({task.classes}): fit on the labels themselves (classes in sorted order) or "
            f"on their indices 0..{len(task.classes) - 1}"
        )


def check_model_text(data: bytes) -> dict[str, str]:
    """Check a text model for everything LightGBM's parser and predict take for granted.

    Returns the header's ``key=value`` pairs.

    Raises:
        ValueError: what is wrong, first found.
    """
    if b"\0" in data or b"\r" in data:
        raise ValueError("it holds NUL or carriage-return bytes")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    if not data.startswith(b"tree\n"):
        raise ValueError("it does not start with a 'tree' line")
    start = data.find(b"\nTree=")
    if start < 0:
        raise ValueError("it holds no tree")
    start += 1
    header = _key_values(data[:start].decode("utf-8").splitlines()[1:])
    for key in ("num_class", "max_feature_idx", "feature_names", "feature_infos", "tree_sizes"):
        if key not in header:
            raise ValueError(f"its header has no {key}")
    outputs = _integer(header["num_class"], "num_class")
    per_iteration = _integer(header.get("num_tree_per_iteration", str(outputs)), "trees")
    features = _integer(header["max_feature_idx"], "max_feature_idx") + 1
    if outputs < 1 or per_iteration != outputs or features < 1:
        raise ValueError("its header has impossible num_class, trees per iteration or features")
    if len(header["feature_infos"].split(" ")) != features:
        raise ValueError("feature_infos does not describe every feature")
    sizes = [_integer(size, "tree_sizes") for size in header["tree_sizes"].split(" ")]
    if len(sizes) % per_iteration:
        raise ValueError("its trees are not a whole number of iterations")
    for number, size in enumerate(sizes):
        block = data[start : start + size]
        if size < 1 or len(block) != size or not block.startswith(b"Tree="):
            raise ValueError(f"tree_sizes does not point at tree {number}")
        _check_tree(block.decode("utf-8"), number, features)
        start += size
    return header


def _key_values(lines: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in lines:
        key, separator, value = line.partition("=")
        if line and not separator:
            raise ValueError(f"line {line[:40]!r} is not key=value")
        if line:
            pairs[key] = value
    return pairs


def _check_tree(block: str, number: int, features: int) -> None:
    where = f"tree {number}"
    # LightGBM reads key=value lines up to an empty one (at most TREE_LINES), without
    # looking for the end of the text: that empty line must be inside the tree's bytes.
    complete = block.split("\n")[1:-1]
    if "" not in complete:
        raise ValueError(f"{where} does not end inside its tree_sizes bytes")
    fields = _key_values(complete[: min(complete.index(""), TREE_LINES)])
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in fields:
            raise ValueError(f"{where} has no {key}")
    leaves = _integer(fields["num_leaves"], f"{where} num_leaves")
    categories = _integer(fields["num_cat"], f"{where} num_cat")
    if leaves < 1 or categories < 0:
        raise ValueError(f"{where} has {leaves} leaves and {categories} categorical splits")
    if fields.get("is_linear", "0") != "0":
        raise ValueError(f"{where} is a linear tree, which this adapter does not serve")
    for key in _LEAF_ARRAYS:
        if key in fields:
            _numbers(fields[key], leaves, f"{where} {key}", integers=key == "leaf_count")
    if leaves == 1:
        if categories:
            raise ValueError(f"{where} has categorical splits but no split")
        return
    _check_splits(fields, leaves, categories, features, where)


def _check_splits(
    fields: dict[str, str], leaves: int, categories: int, features: int, where: str
) -> None:
    for key in ("left_child", "right_child", "split_feature", "threshold"):
        if key not in fields:
            raise ValueError(f"{where} has no {key}")
    arrays = {
        key: _numbers(fields[key], leaves - 1, f"{where} {key}", integers=key in _INTEGERS)
        for key in _NODE_ARRAYS
        if key in fields
    }
    children = np.concatenate([arrays["left_child"], arrays["right_child"]]).astype(np.int64)
    # Internal nodes are 0..leaves-2 (the root, 0, is no child), leaves ~0..~(leaves-1):
    # with every other node a child exactly once, predict walks down a tree and stops.
    inner = children[children >= 0]
    outer = ~children[children < 0]
    if (
        len(inner) != leaves - 2
        or (inner < 1).any()
        or (inner >= leaves - 1).any()
        or (outer >= leaves).any()
        or len(np.unique(inner)) != len(inner)
        or len(np.unique(outer)) != len(outer)
    ):
        raise ValueError(f"{where} has children that do not form a tree")
    split = arrays["split_feature"]
    if (split < 0).any() or (split >= features).any():
        raise ValueError(f"{where} splits on a feature outside 0..{features - 1}")
    decision = arrays.get("decision_type", np.zeros(leaves - 1)).astype(np.int64)
    if ((decision < 0) | (decision > 15)).any():
        raise ValueError(f"{where} has decision types outside 0..15")
    _check_categorical_splits(fields, arrays["threshold"][decision & 1 == 1], categories, where)


def _check_categorical_splits(
    fields: dict[str, str], thresholds: NDArray[np.float64], categories: int, where: str
) -> None:
    # A categorical split's threshold is the index of its category set.
    if len(thresholds) and (
        (thresholds != np.floor(thresholds)).any()
        or (thresholds < 0).any()
        or (thresholds >= categories).any()
    ):
        raise ValueError(f"{where} has categorical splits outside its num_cat sets")
    if categories == 0:
        return
    for key in ("cat_boundaries", "cat_threshold"):
        if key not in fields:
            raise ValueError(f"{where} has no {key}")
    boundaries = _numbers(
        fields["cat_boundaries"], categories + 1, f"{where} cat_boundaries", integers=True
    )
    if boundaries[0] != 0 or (np.diff(boundaries) < 0).any() or boundaries[-1] > MAX_WORDS:
        raise ValueError(f"{where} has malformed cat_boundaries")
    words = _numbers(
        fields["cat_threshold"], int(boundaries[-1]), f"{where} cat_threshold", integers=True
    )
    if (words < 0).any() or (words >= 1 << 32).any():
        raise ValueError(f"{where} has cat_threshold words outside 32 bits")


def _numbers(text: str, count: int, what: str, *, integers: bool = False) -> NDArray[Any]:
    """``count`` numbers separated by single spaces, as LightGBM reads them."""
    values = text.split(" ") if text else []
    if len(values) != count:
        raise ValueError(f"{what} has {len(values)} values, not {count}")
    try:
        if not integers:
            return np.array([float(value) for value in values], dtype=np.float64)
        parsed = [int(value) for value in values]
    except ValueError:
        kind = "integers" if integers else "numbers"
        raise ValueError(f"{what} holds something other than {kind}") from None
    # LightGBM reads them into 32-bit integers.
    if any(not -(1 << 32) < value < 1 << 32 for value in parsed):
        raise ValueError(f"{what} holds integers beyond 32 bits")
    return np.array(parsed, dtype=np.int64)


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} {text[:40]!r} is not an integer") from None
