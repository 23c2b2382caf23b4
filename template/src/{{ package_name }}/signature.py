"""What a model accepts and returns: tensor names, datatypes and shapes (OIP metadata)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor; ``-1`` in ``shape`` marks a variable dimension."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def as_metadata(self) -> dict[str, object]:
        """The OIP metadata form: ``{"name", "datatype", "shape"}``."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelSignature:
    """The inputs a model requires and the outputs it produces."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        """The input called ``name``, if there is one."""
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output_names(self) -> tuple[str, ...]:
        """Output names, in declaration order."""
        return tuple(spec.name for spec in self.outputs)
