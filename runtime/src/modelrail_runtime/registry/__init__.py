"""The model registry (MLflow): log and register trainings, fetch versions verified, gate and
promote them. Needs the ``registry`` extra (``modelrail-runtime[registry]``, MLflow's client).

Command line: ``python -m modelrail_runtime.registry {log,fetch,promote,compare} ...``.
"""

from .gate import Comparison, GateRule, compare_metrics
from .lineage import (
    METADATA_KEY,
    TRACKING_URI_ENV,
    ArtifactMismatchError,
    Lineage,
    ModelRef,
    RegistryError,
    parse_model_uri,
    public_uri,
)
from .mlflow import compare, fetch, log_training, promote, record_lineage, resolve

__all__ = [
    "METADATA_KEY",
    "TRACKING_URI_ENV",
    "ArtifactMismatchError",
    "Comparison",
    "GateRule",
    "Lineage",
    "ModelRef",
    "RegistryError",
    "compare",
    "compare_metrics",
    "fetch",
    "log_training",
    "parse_model_uri",
    "promote",
    "public_uri",
    "record_lineage",
    "resolve",
]
