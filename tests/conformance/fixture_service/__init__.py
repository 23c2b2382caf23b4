"""A tiny model service that conforms to the modelrail contract, with one switch per flaw.

``FLAW=<name>`` (or ``make_app(flaw=...)``) breaks exactly one thing, so that the tests can
prove each rule fails. Plain ASGI + prometheus_client; the "model" is a fixed linear layer
with a softmax over 4 FP64 features.
"""
