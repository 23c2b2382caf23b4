"""Prediction logs for the data lake: sampled events, a bounded queue, Parquet files."""

from .events import InputPolicy, PredictionEvent
from .sink import ParquetSink, SinkError
from .writer import PredictionLogWriter, RetryPolicy

__all__ = [
    "InputPolicy",
    "ParquetSink",
    "PredictionEvent",
    "PredictionLogWriter",
    "RetryPolicy",
    "SinkError",
]
