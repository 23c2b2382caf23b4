"""XGBoost: tabular boosters stored as UBJSON (`modelrail-runtime[xgboost]`).

The artifact is the booster's own UBJSON (``Booster.save_raw("ubj")``): parameters and
trees as typed data, nothing executable (no pickle). XGBoost's parser refuses malformed
bytes, but it trusts the trees it reads: a child index out of range or a cycle crashes or
hangs the process at the first predict. So the loaded booster is written back as JSON and
its trees are checked before it serves.

Serving needs the tabular schema metadata.json records: the booster predicts on
`TabularSchema.encode`'s matrix, string categories as their codes, missing and unseen
values as NaN (XGBoost's missing value, routed down each split's default branch).
Training fits on the same matrix, with the string features declared categorical so that
XGBoost splits on category sets rather than on the order of the codes::

    matrix = schema.encode(table)
    model = XGBClassifier(
        n_estimators=200,
        tree_method="hist",
        enable_categorical=True,
        feature_types=feature_types(schema),
    ).fit(matrix, labels)  # a class's label: its index in schema.task.classes

A classifier gives probabilities (``binary:logistic``, ``multi:softprob``); class ``i`` of
the booster is ``schema.task.classes[i]``. A regressor gives one value per target.
"""

from __future__ import annotations

import json
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

PROBABILITY_OBJECTIVES: Final = ("binary:logistic", "multi:softprob")
"""The classification objectives whose predictions are class probabilities."""

_RETRAIN: Final = (
    "train on schema.encode(table) with tree_method='hist', enable_categorical=True and "
    "feature_types=feature_types(schema) (modelrail_runtime.frameworks.xgboost), then "
    "re-run `make train`"
)


def feature_types(schema: TabularSchema) -> list[str]:
    """XGBoost's ``feature_types`` for ``schema.encode``'s matrix: ``c`` for the string
    (categorical) features, ``q`` for the others."""
    categorical = set(schema.categorical_columns)
    return ["c" if column in categorical else "q" for column in range(len(schema.features))]


class XGBoostAdapter:
    """UBJSON artifacts of XGBoost tree boosters, served as tabular models."""

    name: Final = "xgboost"
    platform: Final = "xgboost_ubj"
    artifact_file: Final = "model.ubj"
    REQUIRES: Final = ("xgboost",)

    def dump(self, model: object) -> bytes:
        """The booster's UBJSON: a fitted XGBClassifier/XGBRegressor, or a Booster.

        The bytes depend only on the booster (no clock, no memory addresses): the same
        training gives the same artifact.

        Raises:
            TypeError: ``model`` is neither an XGBoost estimator nor a Booster.
        """
        import xgboost  # noqa: PLC0415 - the framework loads with the model

        booster = model.get_booster() if isinstance(model, xgboost.XGBModel) else model
        if not isinstance(booster, xgboost.Booster):
            raise TypeError(
                "XGBoostAdapter.dump takes a fitted XGBClassifier or XGBRegressor, or an "
                f"xgboost.Booster, not {type(model).__name__}"
            )
        return bytes(booster.save_raw("ubj"))

    def load(self, artifact: VerifiedArtifact) -> Predictor:
        """A `TabularPredictor` over the booster's ``inplace_predict``, one thread per call.

        Raises:
            ModelLoadError: metadata.json records no schema; the bytes are not an XGBoost
                model, or hold malformed trees; or the booster does not fit the schema
                (features, categorical columns, task, classes or targets).
        """
        import xgboost  # noqa: PLC0415

        schema = required_schema(artifact, self.name)
        # XGBoost aborts the process on an empty buffer instead of raising.
        if artifact.data.lstrip()[:1] != b"{":
            raise ModelLoadError(
                f"model artifact {artifact.path} is not an XGBoost model (UBJSON or JSON "
                "starts with '{'); save it with XGBoostAdapter and re-run `make train`"
            )
        try:
            booster = xgboost.Booster(model_file=bytearray(artifact.data))
            model = json.loads(bytes(booster.save_raw("json")))
        except Exception as exc:
            # XGBoost prefixes its messages with a time and its source file: left out.
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            reason = re.sub(r"^\[[\d:]+\] \S+: ", "", lines[0])
            raise ModelLoadError(
                f"model artifact {artifact.path} is not a loadable XGBoost model ({reason}); "
                "save it with XGBoostAdapter and re-run `make train`"
            ) from None
        try:
            iterations = _check(model, booster, schema)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(
                f"model artifact {artifact.path} holds a malformed XGBoost model "
                f"({type(exc).__name__}: {exc}); re-run `make train`"
            ) from None
        booster.set_param({"nthread": 1})
        return TabularPredictor(schema, _scores(booster, iterations))

    def library_versions(self) -> dict[str, str]:
        """Versions of Python and of the libraries that shape the artifact."""
        import xgboost  # noqa: PLC0415

        return {"python": python_version(), "xgboost": xgboost.__version__, "numpy": np.__version__}


def _scores(booster: Any, iterations: tuple[int, int]) -> MatrixModel:
    def scores(matrix: NDArray[np.float64]) -> NDArray[Any]:
        # In-place prediction reads the matrix as it is (no DMatrix), is lock-free across
        # threads, and follows the trees' own categorical splits; the matrix has the
        # booster's number of columns (the schema's), so XGBoost's check is skipped.
        return np.asarray(
            booster.inplace_predict(matrix, iteration_range=iterations, validate_features=False)
        )

    return scores


def _check(model: dict[str, Any], booster: Any, schema: TabularSchema) -> tuple[int, int]:
    """Check the booster against the schema and its trees for what predict relies on.

    Returns the iteration range to predict with: up to the best iteration when training
    stopped early (as XGBoost's estimators predict), else every tree.
    """
    learner = model["learner"]
    params = learner["learner_model_param"]
    features = int(params["num_feature"])
    classes = int(params["num_class"])
    targets = int(params.get("num_target", 1))
    objective = str(learner["objective"]["name"])
    if features != len(schema.features):
        raise ModelLoadError(
            f"the booster takes {features} features, the schema has "
            f"{len(schema.features)} ({', '.join(f.name for f in schema.features)}): {_RETRAIN}"
        )
    names = learner.get("feature_names") or []
    expected_names = [feature.name for feature in schema.features]
    if names and list(names) != expected_names:
        raise ModelLoadError(
            f"the booster's features are {list(names)}, the schema's {expected_names}: "
            "the columns must be in the schema's order; " + _RETRAIN
        )
    types = learner.get("feature_types") or []
    categorical = [column for column, kind in enumerate(types) if kind == "c"]
    if categorical != schema.categorical_columns:
        raise ModelLoadError(
            f"the booster treats columns {categorical} as categorical, the schema's string "
            f"features are columns {schema.categorical_columns}: {_RETRAIN}"
        )
    _check_task(schema, objective, classes, targets)
    _check_trees(learner["gradient_booster"], features, max(classes, targets, 1))
    rounds = booster.num_boosted_rounds()
    best = booster.attr("best_iteration")
    if best is None:
        return (0, 0)
    if not 0 <= int(best) < rounds:
        raise ValueError(f"best_iteration {best} is not one of the {rounds} rounds")
    return (0, int(best) + 1)


def _check_task(schema: TabularSchema, objective: str, classes: int, targets: int) -> None:
    task = schema.task
    if task.kind is TaskKind.REGRESSION:
        if objective.startswith(("binary:", "multi:")):
            raise ModelLoadError(
                f"the schema's task is regression, the booster's objective is {objective!r} "
                "(a classifier): train an XGBRegressor, or record Task.classification"
            )
        if targets != task.targets:
            raise ModelLoadError(
                f"the booster predicts {targets} targets, the schema {task.targets}: "
                f"record Task.regression({targets}), or retrain"
            )
        return
    wanted = len(task.classes)
    if objective not in PROBABILITY_OBJECTIVES:
        raise ModelLoadError(
            f"the booster's objective is {objective!r}, which gives no class probabilities: "
            "train an XGBClassifier (binary:logistic or multi:softprob)"
        )
    predicted = 2 if objective == "binary:logistic" else classes
    if predicted != wanted:
        raise ModelLoadError(
            f"the booster predicts {predicted} classes, the schema has {wanted} "
            f"({task.classes}): train on labels 0..{wanted - 1}, the indices of the "
            "schema's classes"
        )


def _check_trees(gradient_booster: dict[str, Any], features: int, groups: int) -> None:
    """Raise ValueError unless every tree is one predict can walk safely."""
    kind = gradient_booster["name"]
    if kind not in ("gbtree", "dart"):
        raise ModelLoadError(
            f"the booster is {kind!r}: only tree boosters (gbtree, dart) are served; "
            "train with booster='gbtree'"
        )
    gbtree = gradient_booster["gbtree"] if kind == "dart" else gradient_booster
    model = gbtree["model"]
    trees = model["trees"]
    info = np.asarray(model["tree_info"], dtype=np.int64)
    if int(model["gbtree_model_param"]["num_trees"]) != len(trees) or len(info) != len(trees):
        raise ValueError("the number of trees disagrees with num_trees and tree_info")
    if len(info) and (info.min() < 0 or info.max() >= groups):
        raise ValueError(f"tree_info names outputs outside 0..{groups - 1}")
    if kind == "dart" and len(gradient_booster["weight_drop"]) != len(trees):
        raise ValueError("dart weight_drop does not have one weight per tree")
    indptr = np.asarray(model.get("iteration_indptr", [0, len(trees)]), dtype=np.int64)
    if indptr[0] != 0 or indptr[-1] != len(trees) or (np.diff(indptr) < 0).any():
        raise ValueError("iteration_indptr does not partition the trees")
    for tree in trees:
        _check_tree(tree, features)


def _check_tree(tree: dict[str, Any], features: int) -> None:
    param = tree["tree_param"]
    nodes = int(param["num_nodes"])
    if int(param.get("size_leaf_vector", 1)) > 1:
        raise ModelLoadError(
            "the booster has multi-output trees, which are not served: train with the "
            "default multi_strategy='one_output_per_tree'"
        )
    left = np.asarray(tree["left_children"], dtype=np.int64)
    right = np.asarray(tree["right_children"], dtype=np.int64)
    split = np.asarray(tree["split_indices"], dtype=np.int64)
    split_type = np.asarray(tree.get("split_type", np.zeros(nodes)), dtype=np.int64)
    arrays = (left, right, split, split_type, tree["split_conditions"], tree["default_left"])
    if nodes < 1 or any(len(array) != nodes for array in arrays):
        raise ValueError(f"tree {tree.get('id')} has arrays of other lengths than {nodes} nodes")
    internal = left != -1
    children = np.concatenate([left[internal], right[internal]])
    # The root is never a child and no node has two parents: from the root, the nodes
    # form a tree, which predict walks down without leaving the arrays or looping.
    if (children < 1).any() or (children >= nodes).any():
        raise ValueError(f"tree {tree.get('id')} has children outside its {nodes} nodes")
    if len(np.unique(children)) != len(children):
        raise ValueError(f"tree {tree.get('id')} has a node with two parents")
    if ((split[internal] < 0) | (split[internal] >= features)).any():
        raise ValueError(f"tree {tree.get('id')} splits on a feature outside 0..{features - 1}")
    if ((split_type != 0) & (split_type != 1)).any():
        raise ValueError(f"tree {tree.get('id')} has split types other than 0 and 1")
