"""The protocol's tensor datatypes, in one table: numpy dtype, Arrow type, element rule.

Every other module (request parsing, warm-up inputs, prediction-log columns) looks a
datatype up here instead of keeping its own mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import numpy as np


class Element(Enum):
    """What a JSON element of ``data`` must be for a datatype."""

    BOOL = "bool"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"


@dataclass(frozen=True)
class Datatype:
    """One OIP datatype."""

    name: str
    numpy: np.dtype[np.generic]
    arrow: str
    """Name of the pyarrow type factory (``pa.<arrow>()``), so pyarrow stays unimported."""
    element: Element
    bounds: tuple[int, int] | None = None
    """Smallest and largest value of an integer datatype."""


def _integer(name: str, dtype: type[np.integer[Any]], arrow: str) -> Datatype:
    info = np.iinfo(dtype)
    return Datatype(name, np.dtype(dtype), arrow, Element.INTEGER, (int(info.min), int(info.max)))


DATATYPES: Final[Mapping[str, Datatype]] = {
    datatype.name: datatype
    for datatype in (
        Datatype("BOOL", np.dtype(np.bool_), "bool_", Element.BOOL),
        _integer("UINT8", np.uint8, "uint8"),
        _integer("UINT16", np.uint16, "uint16"),
        _integer("UINT32", np.uint32, "uint32"),
        _integer("UINT64", np.uint64, "uint64"),
        _integer("INT8", np.int8, "int8"),
        _integer("INT16", np.int16, "int16"),
        _integer("INT32", np.int32, "int32"),
        _integer("INT64", np.int64, "int64"),
        Datatype("FP16", np.dtype(np.float16), "float16", Element.NUMBER),
        Datatype("FP32", np.dtype(np.float32), "float32", Element.NUMBER),
        Datatype("FP64", np.dtype(np.float64), "float64", Element.NUMBER),
        # BYTES travel as JSON strings (UTF-8 text), so the lake gets text, not bytes.
        Datatype("BYTES", np.dtype(np.object_), "string", Element.STRING),
    )
}
"""Every datatype of the protocol, by name."""


def datatype(name: str) -> Datatype:
    """The datatype called ``name``.

    Raises:
        KeyError: ``name`` is not an OIP datatype.
    """
    return DATATYPES[name]
