"""What the fixture's models declare about each input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    """One input of a model, as its metadata declares it.

    Attributes:
        nullable: JSON null is accepted as a missing value (not in the metadata: a
            service may accept it for some float features, and the suite must not care).
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    nullable: bool = False

    def metadata(self) -> dict[str, Any]:
        """The OIP metadata entry."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}
