"""``make soak``: the generated service's container held at 80 % of its maximum, then stopped.

Issue 17, item 6: a benchmark, not a CI test. `pacing` paces wrk below saturation,
`verdicts` judges the per-minute records, `shutdown` classifies what a SIGTERM under load
does to each request and checks the prediction log against the answers, `doc` writes
docs/reliability.md, `run` drives the container.
"""
