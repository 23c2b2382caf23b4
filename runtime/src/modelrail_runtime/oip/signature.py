"""What a model accepts and returns: tensor names, datatypes and shapes (OIP metadata)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .datatypes import DATATYPES


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor; ``-1`` in ``shape`` marks a variable dimension."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    nullable: bool = False
    """FP64/FP32 inputs only: JSON ``null`` elements are missing values (NaN to the model).
    Not part of the protocol's metadata: the service says so in its own documentation."""

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(f"tensor {self.name!r}: {self.datatype!r} is not an OIP datatype")

    def as_metadata(self) -> dict[str, object]:
        """The OIP metadata form: ``{"name", "datatype", "shape"}``."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    @classmethod
    def from_metadata(cls, item: Mapping[str, Any]) -> TensorSpec:
        """The inverse of `as_metadata`."""
        return cls(str(item["name"]), str(item["datatype"]), tuple(int(d) for d in item["shape"]))


@dataclass(frozen=True)
class ModelSignature:
    """The inputs a model requires and the outputs it produces."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    packed: TensorSpec | None = None
    """One tensor ``[N, len(inputs)]`` a request may send instead of one tensor per input,
    when every input is a column of the same numeric datatype (split in input order)."""

    def input(self, name: str) -> TensorSpec | None:
        """The input called ``name``, if there is one."""
        return self._inputs_by_name.get(name)

    def output(self, name: str) -> TensorSpec | None:
        """The output called ``name``, if there is one."""
        return self._outputs_by_name.get(name)

    @functools.cached_property
    def _outputs_by_name(self) -> dict[str, TensorSpec]:
        return {spec.name: spec for spec in self.outputs}

    @functools.cached_property
    def _inputs_by_name(self) -> dict[str, TensorSpec]:
        # Looked up once per input of every request: a dict, not a scan of the inputs.
        return {spec.name: spec for spec in self.inputs}

    def with_output(self, spec: TensorSpec) -> ModelSignature:
        """This signature with one more output."""
        return ModelSignature(self.inputs, (*self.outputs, spec), self.packed)

    def output_names(self) -> tuple[str, ...]:
        """Output names, in declaration order."""
        return self._output_names

    @functools.cached_property
    def _output_names(self) -> tuple[str, ...]:
        # Every request without an 'outputs' list asks for all of them.
        return tuple(spec.name for spec in self.outputs)

    def as_metadata(self) -> dict[str, list[dict[str, object]]]:
        """``{"inputs": [...], "outputs": [...]}`` as in OIP model metadata."""
        return {
            "inputs": [spec.as_metadata() for spec in self.inputs],
            "outputs": [spec.as_metadata() for spec in self.outputs],
        }
