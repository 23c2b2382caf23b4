"""scikit-learn: classifiers stored as reproducible skops files (`modelrail-runtime[sklearn]`).

skops stores a model as a zip of JSON and ``.npy`` arrays and refuses, on load, any type
not in its allow-list: nothing in the file is executed (no pickle). The adapter serves any
fitted classifier with ``predict_proba`` whose classes are 0..k-1 (a Pipeline, a
RandomForest...): the signature (number of features and of classes) is read from the
loaded model, so an artifact trained with another estimator or feature set is served
through MODEL_URI as it is.

Tensors: one FP64 input ``input-0`` of shape ``[-1, features]``; outputs ``label``
(INT64 ``[-1]``, the most probable class) and ``probabilities`` (FP64 ``[-1, classes]``).
A tabular model (metadata.json records its features) takes one tensor per feature, and a
text classifier (metadata.json records a ``text_schema``: a TF-IDF pipeline) one BYTES
tensor of texts; both give the outputs of their recorded task.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from platform import python_version
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from ..adapter import FeatureSpec, MonitoringSpec, Predictor, Tensor
from ..artifacts import ModelLoadError
from ..oip.signature import ModelSignature, TensorSpec
from ..tabular import TabularPredictor, Task, TaskKind
from ..text import TextPredictor, TextSchema
from . import recorded_schema, recorded_text_schema
from .sklearn_text import text_vectorizer, vocabulary_counter

if TYPE_CHECKING:
    from ..artifacts import VerifiedArtifact

INPUT: Final = "input-0"

DEFAULT_TRUSTED_TYPES: Final = ("sklearn.tree._tree.Tree", "numpy.dtype")
"""Types trusted beyond skops' own defaults (scikit-learn estimators, numpy arrays).

skops rebuilds them from plain data without running code from the file, but leaves them
out of its defaults: a tree (every RandomForest, GradientBoosting and ExtraTrees needs
it), and a dtype (an encoder's ``dtype`` parameter, e.g. OneHotEncoder's). A TF-IDF text
pipeline needs nothing more: its vectorizer and vocabulary are in skops' defaults.
"""

# A fixed timestamp for every zip entry: the artifact's bytes must not depend on the clock.
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)


def signature_for(features: int, classes: int) -> ModelSignature:
    """The OIP signature of a classifier taking ``features`` columns, with ``classes`` classes."""
    return ModelSignature(
        inputs=(TensorSpec(INPUT, "FP64", (-1, features)),),
        outputs=(
            TensorSpec("label", "INT64", (-1,)),
            TensorSpec("probabilities", "FP64", (-1, classes)),
        ),
    )


def monitoring_for(
    features: int, classes: int, feature_names: Sequence[str] = ()
) -> MonitoringSpec:
    """What drift detection and the prediction metrics watch for such a classifier.

    Columns take ``feature_names`` when there are as many, ``feature_<i>`` otherwise (an
    artifact trained on other data, served through MODEL_URI).
    """
    names = (
        tuple(feature_names)
        if len(feature_names) == features
        else tuple(f"feature_{column}" for column in range(features))
    )
    return MonitoringSpec(
        features=tuple(FeatureSpec(name, INPUT, column) for column, name in enumerate(names)),
        class_output="label",
        classes=tuple(range(classes)),
        score_output="probabilities",
    )


class SklearnAdapter:
    """skops artifacts of scikit-learn classifiers."""

    name: Final = "scikit-learn"
    platform: Final = "sklearn_skops"
    artifact_file: Final = "model.skops"
    REQUIRES: Final = ("sklearn", "skops")

    def __init__(self, trusted_types: Sequence[str] = DEFAULT_TRUSTED_TYPES) -> None:
        """Args: trusted_types: types the artifact may hold beyond skops' defaults.

        Add only types you would be happy to construct from untrusted input.
        """
        self.trusted_types = tuple(trusted_types)

    def dump(self, model: object) -> bytes:
        """skops bytes for ``model``, normalised so that the same model gives the same bytes."""
        import skops.io as sio  # noqa: PLC0415 - the framework loads with the model

        return _normalise(sio.dumps(model))

    def load(self, artifact: VerifiedArtifact) -> Predictor:
        """Load skops bytes, refusing any type outside skops' defaults and the trusted ones.

        A tabular model (metadata.json records its features and task) is served with named
        features, a text classifier (metadata.json records a text schema) with one BYTES
        input of texts; an artifact without either keeps the single ``input-0`` tensor.

        Raises:
            ModelLoadError: the bytes are not a skops file, hold an untrusted type, or do not
                hold a fitted estimator the recorded task can use (a classifier with
                ``predict_proba`` and the recorded classes, a regressor with ``predict``;
                for text, a pipeline starting with a text vectorizer).
        """
        import skops.io as sio  # noqa: PLC0415

        try:
            untrusted = set(sio.get_untrusted_types(data=artifact.data)) - set(self.trusted_types)
            if untrusted:
                raise ModelLoadError(
                    "model artifact contains types outside the allow-list: "
                    + ", ".join(sorted(untrusted))
                    + "; if you trust them, serve with "
                    "SklearnAdapter(trusted_types=[*DEFAULT_TRUSTED_TYPES, ...])"
                )
            model = sio.loads(artifact.data, trusted=list(self.trusted_types))
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"model artifact is not a loadable skops file: {exc}") from exc
        text_schema = recorded_text_schema(artifact)
        if text_schema is not None:
            return _text_predictor(model, text_schema)
        schema = recorded_schema(artifact)
        if schema is not None:
            return TabularPredictor(schema, _scores(model, schema.task))
        classes = getattr(model, "classes_", None)
        features = getattr(model, "n_features_in_", None)
        if not hasattr(model, "predict_proba") or classes is None or not isinstance(features, int):
            raise ModelLoadError(
                "model artifact does not hold a fitted scikit-learn classifier with predict_proba"
            )
        # Labels are served as class indices (argmax of the probabilities): they are the
        # classes themselves only when the classes are 0..k-1.
        if len(classes) < 2 or list(classes) != list(range(len(classes))):
            raise ModelLoadError("model artifact predicts classes other than 0..k-1 (k >= 2)")
        names = artifact.metadata.get("feature_names", ())
        return SklearnPredictor(
            model,
            signature_for(features, len(classes)),
            monitoring_for(features, len(classes), names if isinstance(names, list) else ()),
        )

    def library_versions(self) -> dict[str, str]:
        """Versions of Python and of the libraries that shape the artifact."""
        versions = {"python": python_version()}
        for name in ("scikit-learn", "skops", "numpy", "scipy"):
            versions[name] = metadata.version(name)
        return versions


class SklearnPredictor:
    """A loaded classifier behind the `Predictor` protocol."""

    def __init__(self, model: Any, signature: ModelSignature, monitoring: MonitoringSpec) -> None:
        from sklearn import config_context  # noqa: PLC0415

        self._model = model
        self._config_context = config_context
        self.signature = signature
        self.monitoring = monitoring

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Class probabilities and the most probable class for each row of ``input-0``."""
        # The protocol layer has already checked dtype, shape and finiteness, so
        # scikit-learn's own per-call checks (a third of a small model's predict time) are
        # skipped. The configuration is thread-local: it is set here, on whichever thread
        # predicts (the event loop, a worker thread or the batching thread).
        with self._config_context(assume_finite=True, skip_parameter_validation=True):
            probabilities = np.asarray(self._model.predict_proba(inputs[INPUT]), np.float64)
        labels = np.argmax(probabilities, axis=1).astype(np.int64)
        return {"label": labels, "probabilities": probabilities}


def _text_predictor(model: Any, schema: TextSchema) -> TextPredictor:
    """A text classifier: the pipeline's probabilities for the texts, its vocabulary's
    token counter for monitoring."""
    if schema.task.kind is not TaskKind.CLASSIFICATION:
        raise ModelLoadError(
            f"metadata.json records a text {schema.task.kind} task, but the scikit-learn "
            "adapter serves text classification only: serve an embedding model with the "
            "onnx adapter"
        )
    vectorizer = text_vectorizer(model)
    return TextPredictor(schema, _scores(model, schema.task), vocabulary_counter(vectorizer))


def _scores(model: Any, task: Task) -> Callable[[Any], NDArray[Any]]:
    """``model``'s scores for its input (the encoded matrix, or a list of texts):
    probabilities in the task's class order (a classifier fitted on the classes themselves,
    or on their indices), or values."""
    from sklearn import config_context  # noqa: PLC0415

    if task.kind is TaskKind.REGRESSION:
        if not hasattr(model, "predict"):
            raise ModelLoadError("model artifact does not hold a fitted scikit-learn regressor")
        method = model.predict
    else:
        fitted = [_plain(value) for value in getattr(model, "classes_", [])]
        classes = list(task.classes)
        indices = list(range(len(classes)))
        if not hasattr(model, "predict_proba") or fitted not in (classes, indices):
            raise ModelLoadError(
                "model artifact does not hold a fitted scikit-learn classifier with "
                f"predict_proba over the recorded classes {classes}"
            )
        if fitted == indices != classes and set(classes) == set(indices):
            # Fitted on the classes themselves (columns in another order than recorded) or
            # on their indices: both fit, and they give different labels.
            raise ModelLoadError(
                f"the recorded classes {classes} are the model's classes in another order: "
                f"record them in the model's order {fitted}"
            )
        method = model.predict_proba

    def scores(inputs: Any) -> NDArray[Any]:
        # Inputs were checked by the protocol layer; NaN marks missing or unseen values,
        # which the pipeline handles: scikit-learn's own per-call checks are skipped.
        with config_context(assume_finite=True, skip_parameter_validation=True):
            return np.asarray(method(inputs))

    return scores


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _normalise(raw: bytes) -> bytes:
    """Rewrite a skops zip so that its bytes depend only on the model.

    skops names array files and object ids after ``id()`` (memory addresses) and stamps
    entries with the current time. Ids are renumbered in order of first appearance (which
    keeps shared references shared), files renamed to match, entries written in a fixed
    order with a fixed timestamp.
    """
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        files: dict[str, str] = {}
        schema = _renumber(schema, ids, files)
        entries = {new: source.read(old) for old, new in files.items()}
    entries["schema.json"] = json.dumps(schema, indent=2).encode("utf-8")
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, entries[name])
    return output.getvalue()


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, ids, files) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            # Start at 1: skops treats an id of 0 as "no id".
            result[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str):
            suffix = value[value.rfind(".") :] if "." in value else ""
            result[key] = files.setdefault(value, f"{len(files):06d}{suffix}")
        else:
            result[key] = _renumber(value, ids, files)
    return result
