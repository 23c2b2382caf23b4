"""Throughput and p99 per target and concurrency, as a PNG; run in the floor venv.

Usage: python plot.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(results_path: Path, out: Path) -> None:
    results = json.loads(results_path.read_text())
    # The embedding group has its own section and scale (tens of requests a second).
    shown = {k for k, v in results["targets"].items() if v.get("group") != "embedding"}
    cells = [c for c in results["cells"] if c["target"] in shown]
    labels = {k: v["label"] for k, v in results["targets"].items()}
    targets = [t for t in results["targets"] if any(c["target"] == t for c in cells)]
    conc = sorted({c["concurrency"] for c in cells})
    rows = sorted({c["rows"] for c in cells})
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 4.2 * len(rows)), squeeze=False)
    width = 0.8 / max(1, len(targets))
    for i, n in enumerate(rows):
        for j, (metric, title) in enumerate(
            (("rps", "throughput, req/s (log)"), ("p99_ms", "p99 latency, ms (log)"))
        ):
            ax = axes[i][j]
            for k, t in enumerate(targets):
                by = {
                    c["concurrency"]: c[metric]
                    for c in cells
                    if c["target"] == t and c["rows"] == n
                }
                xs = [x + (k - (len(targets) - 1) / 2) * width for x in range(len(conc))]
                ax.bar(xs, [by.get(c, 0) for c in conc], width, label=labels.get(t, t))
            ax.set_xticks(range(len(conc)), [f"c={c}" for c in conc])
            ax.set_title(f"{title}, {n} row{'s' if n > 1 else ''} per request")
            ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"modelrail bench, {results['meta']['started']}")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
