"""A tiny model service that conforms to the modelrail contract, with one switch per flaw.

``FLAW=<name>`` (or ``FixtureApp(flaw=...)``) breaks exactly one thing, so that the tests
can prove each rule fails. Plain ASGI + prometheus_client. ``FIXTURE_MODEL`` picks the
model (see ``models.py``): ``tabular`` (default), a logistic regression over four named
features of mixed datatypes with class names as labels; ``single``, a linear layer with a
softmax over one FP64 tensor of 4 features; ``text``, a sentiment classifier over one
BYTES input; ``embedding``, FP32 text embeddings ``[-1, 384]`` (see ``text_models.py``).
"""
