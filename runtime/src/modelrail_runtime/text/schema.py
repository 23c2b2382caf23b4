"""A text model's schema: one input of free text, one text per row, and its task.

Training records it in metadata.json under ``text_schema``; serving reads it back
(`TextSchema.from_metadata`). The outputs are the task's (`Task.outputs`), named and shaped
as a tabular model's, so that dashboards and the prediction log treat both alike: a
classifier gives ``label`` and ``probabilities``, an encoder ``embedding``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..adapter import MonitoringSpec, TextSpec, TokenCounter
from ..oip.signature import ModelSignature, TensorSpec
from ..tabular.schema import RESERVED
from ..task import SchemaError, Task, TaskKind

METADATA_KEY: Final = "text_schema"
"""The key of metadata.json that records a text model's schema."""
DEFAULT_INPUT: Final = "text"


@dataclass(frozen=True)
class TextSchema:
    """One BYTES input ``[-1]`` (a text per row) and what the model predicts from it."""

    task: Task
    input: str = DEFAULT_INPUT
    """The name of the input tensor (and of its column in the prediction log)."""

    def __post_init__(self) -> None:
        if self.task.kind is TaskKind.REGRESSION:
            raise SchemaError(
                "regression on text is not offered: a text model classifies "
                "(Task.classification(classes)) or embeds (Task.embedding(dimensions))"
            )
        # The prediction log names a column after each input, beside its own columns.
        if self.input in RESERVED or not self.input or not self.input.isprintable():
            raise SchemaError(
                f"a text input cannot be named {self.input!r} (reserved: "
                f"{', '.join(sorted(RESERVED))}; empty or unprintable names neither): choose "
                f"another name, e.g. TextSchema(task, input={DEFAULT_INPUT!r})"
            )

    def signature(self) -> ModelSignature:
        """The text input and the task's outputs."""
        return ModelSignature(
            inputs=(TensorSpec(self.input, "BYTES", (-1,)),), outputs=self.task.outputs()
        )

    def monitoring(self, tokens: TokenCounter | None = None) -> MonitoringSpec:
        """What monitoring watches: the text (with the model's ``tokens`` counter, if it has
        one) and the prediction: the class and its probabilities, or the embedding."""
        texts = (TextSpec(self.input, tokens),)
        if self.task.kind is TaskKind.EMBEDDING:
            return MonitoringSpec(features=(), embedding_output="embedding", texts=texts)
        return MonitoringSpec(
            features=(),
            class_output="label",
            classes=self.task.classes,
            score_output="probabilities",
            texts=texts,
        )

    def as_metadata(self) -> dict[str, Any]:
        """``{"text_schema": {"input": ..., "task": {...}}}`` for metadata.json."""
        return {METADATA_KEY: {"input": self.input, "task": self.task.as_metadata()}}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> TextSchema | None:
        """The text schema metadata.json records, or None when it records none (a tabular
        or single-tensor model).

        Raises:
            SchemaError: the recorded schema is malformed.
        """
        record = metadata.get(METADATA_KEY)
        if record is None:
            return None
        if not isinstance(record, Mapping) or not isinstance(record.get("input"), str):
            raise SchemaError(
                f"metadata.json has a malformed {METADATA_KEY} (an object with the input's "
                "name and the task expected); re-run `make train`"
            )
        if "task" not in record:
            raise SchemaError(
                f"metadata.json records no task in {METADATA_KEY}; re-run `make train`"
            )
        return cls(Task.from_metadata(record["task"]), record["input"])
