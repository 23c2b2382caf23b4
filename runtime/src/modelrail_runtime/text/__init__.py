"""Text models: one input of free text, classified or embedded.

`TextSchema` records the input's name and the `Task` in metadata.json; a framework
adapter wraps its model (texts in, probabilities or vectors out) in a `TextPredictor`,
which turns the request's BYTES tensor into a list of texts and the model's numbers into
the task's outputs.
"""

from .predictor import TextModel, TextPredictor
from .schema import TextSchema

__all__ = ["TextModel", "TextPredictor", "TextSchema"]
