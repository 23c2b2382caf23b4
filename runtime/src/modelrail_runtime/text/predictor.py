"""`TextPredictor`: a model of a list of texts, behind the `Predictor` protocol.

A framework adapter loads its model and hands over one function, texts in, numbers out:
class probabilities (rows x classes, in the schema's class order) or embeddings (rows x
dimensions). Everything else is the same for every framework: the request's BYTES tensor
becomes a list of str, the numbers become the task's outputs, and the schema gives the
signature and what monitoring watches (with the model's token counter, if it has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..adapter import MonitoringSpec, Tensor, TokenCounter
from ..artifacts import ModelLoadError
from ..oip.signature import ModelSignature
from ..task import TaskKind
from .schema import TextSchema

TextModel = Callable[[list[str]], NDArray[Any]]
"""Texts in; per text, the class probabilities or the embedding."""

WARM_UP_TEXT: Final = "A short text to check the model's output at load."


class TextPredictor:
    """A BYTES tensor of texts in, the task's outputs out."""

    def __init__(
        self, schema: TextSchema, model: TextModel, tokens: TokenCounter | None = None
    ) -> None:
        """Args:
        schema: the recorded input name and task.
        model: texts to probabilities (in the order of ``schema.task.classes``) or to
            embeddings (``schema.task.dimensions`` wide).
        tokens: the model's tokenizer or vocabulary, counting tokens and unknown tokens
            per text, for monitoring.

        Raises:
            ModelLoadError: the model fails on a text, or its output is not as wide as the
                schema's task says (another class count, other dimensions).
        """
        self.schema = schema
        self.signature: ModelSignature = schema.signature()
        self.monitoring: MonitoringSpec = schema.monitoring(tokens)
        self._model = model
        self._input = schema.input
        task = schema.task
        self._embedding = task.kind is TaskKind.EMBEDDING
        self._width = task.dimensions if self._embedding else len(task.classes)
        self._classes: NDArray[Any] = np.asarray(
            task.classes,
            dtype=object if task.classes and isinstance(task.classes[0], str) else np.int64,
        )
        self._check_width()

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The task's outputs for a batch of texts."""
        texts: list[str] = np.asarray(inputs[self._input], dtype=object).tolist()
        scores = self._model(texts)
        if self._embedding:
            return {"embedding": np.asarray(scores, dtype=np.float32)}
        probabilities = np.asarray(scores, dtype=np.float64)
        return {
            "label": self._classes[np.argmax(probabilities, axis=1)],
            "probabilities": probabilities,
        }

    def _check_width(self) -> None:
        """Run one text through the model: its output must be one row as wide as the task.

        A mismatch found here is a load error the operator can act on; found at the first
        request, it would be a server error for a client who did nothing wrong.
        """
        try:
            scores = np.asarray(self._model([WARM_UP_TEXT]))
        except Exception as exc:
            raise ModelLoadError(
                f"the text model fails on a text at load: {type(exc).__name__}: {exc}"
            ) from exc
        expected = (1, self._width)
        if scores.shape == expected and scores.dtype.kind in "fiu":
            return
        if self._embedding:
            wanted = f"a vector of the {self._width} dimensions its task records"
            fix = "record the model's dimensions: TextSchema(Task.embedding(<dimensions>))"
        else:
            wanted = f"one probability per recorded class {list(self.schema.task.classes)}"
            fix = (
                "record the classes the model was fitted on, in its order: "
                "TextSchema(Task.classification(model.classes_))"
            )
        raise ModelLoadError(
            f"the text model gives an array of shape {scores.shape} and dtype {scores.dtype} "
            f"for one text, expected {expected} numbers ({wanted}); re-run `make train` and "
            f"{fix}"
        )
