"""Where predict runs: on the event loop, in worker threads, or micro-batched on one thread.

`PREDICT_MODE` decides (see `Settings`):

- ``inline``: on the event loop. Cheapest for a fast model: handing a predict to a thread
  costs two thread wake-ups and a self-pipe write per request, more than a
  sub-millisecond predict itself. While a predict runs, the loop serves nobody else.
- ``thread``: in a pool of worker threads, one per CPU the process may run on. The loop
  keeps reading, parsing and answering (probes, metrics) while a slow predict runs. More
  threads than CPUs would not predict faster: they would take turns on the GIL with the
  event loop, which then gets it so rarely that responses stall (a RandomForest at 32
  concurrent requests in 40 threads answered 3 requests per second instead of 100).
- ``batch``: micro-batched on one dedicated thread (`batching`); off unless chosen,
  since it trades a little latency for throughput on models with a high cost per call.
- ``auto`` (the default): a few one-row warm-up predicts are timed when the model loads.
  If the fastest takes at most `INLINE_BUDGET_SECONDS` (1 ms) the model predicts inline,
  otherwise in worker threads; also in worker threads when the warm-up predict fails.

The warm-up runs in every mode, before the service reports ready, so the first request
does not pay the model's one-off costs.
"""

from .runners import PredictMode, Runner
from .warmup import BatchLimits, WarmUp, prepare_runner

__all__ = ["BatchLimits", "PredictMode", "Runner", "WarmUp", "prepare_runner"]
