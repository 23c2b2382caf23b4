"""A small mixed table, and a model of each framework fitted on it as the template fits it.

The table has a nullable FP64 number (some missing), a BYTES category, a BOOL and an
INT64, in that column order. Its held-out rows add what the service will see and training
did not: missing numbers and a category never seen in training (NaN in the matrix).
Models are small (ten trees of a few leaves) so that fitting and compiling all nine
(framework x task) takes a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm
import numpy as np
import xgboost
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelrail_runtime.tabular import TabularSchema, Task, TaskKind

Table = dict[str, NDArray[Any]]
FRAMEWORKS = ("scikit-learn", "xgboost", "lightgbm")
TASKS = ("binary", "multiclass", "regression")
PLANS = ("basic", "plus", "pro")
UNSEEN_PLAN = "enterprise"
SEED = 7


@dataclass(frozen=True)
class Data:
    """A task's training and held-out tables, its training target, and its schema."""

    train: Table
    held_out: Table
    target: NDArray[Any]
    schema: TabularSchema

    @property
    def matrix(self) -> NDArray[np.float64]:
        """The training matrix, as models are fitted on it."""
        return self.schema.encode(self.train)

    @property
    def held_out_matrix(self) -> NDArray[np.float64]:
        """The held-out matrix: NaN for the missing incomes and the unseen plan."""
        return self.schema.encode(self.held_out)


def table(rows: int, seed: int) -> tuple[Table, NDArray[np.float64]]:
    """``rows`` customers and a hidden score the targets derive from."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.normal(50.0, 15.0, rows), 2)
    plan = rng.choice(PLANS, rows)
    member = rng.random(rows) < 0.4
    age = rng.integers(18, 80, rows)
    score = (
        0.04 * np.nan_to_num(income, nan=50.0)
        + 1.2 * (plan == "pro")
        - 0.8 * member
        - 0.02 * age
        + rng.normal(0.0, 0.5, rows)
    )
    income[::15] = np.nan
    return {"income": income, "plan": plan, "member": member, "age": age}, score


def data_for(task: str) -> Data:
    """The rows and target of ``task``: binary, multiclass or regression."""
    train, score = table(240, seed=0)
    held_out, _ = table(60, seed=1)
    held_out["income"][::4] = np.nan
    held_out["plan"][::5] = UNSEEN_PLAN
    if task == "binary":
        target = (score > np.median(score)).astype(np.int64)
        kind = Task.classification(("stays", "leaves"))
    elif task == "multiclass":
        target = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
        kind = Task.classification(("low", "mid", "high"))
    else:
        target = 100.0 + 40.0 * score
        kind = Task.regression()
    return Data(train, held_out, target, TabularSchema.infer(train, kind))


def fit(framework: str, data: Data) -> Any:
    """The template's estimator of ``framework`` fitted on ``data``, with few trees."""
    schema = data.schema
    matrix = data.matrix
    categories = schema.categorical_columns
    classification = schema.task.kind is TaskKind.CLASSIFICATION
    if framework == "scikit-learn":
        numbers = [column for column in range(matrix.shape[1]) if column not in categories]
        prepare = ColumnTransformer(
            [
                ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
                ("categories", OneHotEncoder(handle_unknown="ignore"), categories),
            ]
        )
        estimator = LogisticRegression(random_state=SEED) if classification else Ridge()
        return Pipeline([("prepare", prepare), ("model", estimator)]).fit(matrix, data.target)
    trees = {"n_estimators": 10, "random_state": SEED, "n_jobs": 1}
    if framework == "xgboost":
        model = (xgboost.XGBClassifier if classification else xgboost.XGBRegressor)(
            tree_method="hist",
            enable_categorical=True,
            feature_types=["c" if i in categories else "q" for i in range(matrix.shape[1])],
            max_depth=3,
            **trees,
        )
        return model.fit(matrix, data.target)
    model = (lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor)(
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
        num_leaves=8,
        min_child_samples=5,
        **trees,
    )
    return model.fit(matrix, data.target, categorical_feature=categories)
