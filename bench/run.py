"""``make bench``: every target, every concurrency and payload, in one bounded run.

Servers get core 0 (``taskset -c 0``), wrk gets core 1. Repetitions are interleaved
(round 1 of every cell, then round 2...), so a burst of load from elsewhere on the machine
spreads over all targets instead of sinking one; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench import (
    agreement,
    compiled,
    containers,
    crosscheck,
    embedding,
    envs,
    hotspots,
    report,
    stats,
    wrk,
)
from bench.envs import BENCH_DIR
from bench.servers import group_cpu_seconds, http
from bench.service import (
    REPO_ROOT,
    GeneratedService,
    NotAvailable,
    describe,
    has_make_target,
    library_versions,
    prepare,
)
from bench.targets import BY_ID, TARGETS, Context, Group, Prepared, Target, variant

WORK = BENCH_DIR / ".work"
SERVICE_SITE_PACKAGES: Final = "/opt/venv/lib/python3*/site-packages"
"""Where the generated Dockerfile installs the service's packages (its venv)."""
RESULTS = BENCH_DIR / "results"
DEFAULT_TARGETS = [t.id for t in TARGETS if t.group is Group.IRIS]
ENV_FOR = {
    "a": "floor",
    "b": "floor",
    "b-onnx": "floor",
    "b-heavy": "floor",
    "b-lgbm": "floor",
    "b-onnx-lgbm": "floor",
    "d": "mlserver",
    "d0": "mlserver",
    "d-heavy-batch": "mlserver",
    "d-lgbm": "mlserver",
    "b-emb": "embedding",
    "e": "bentoml",
}


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"bench: expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shortens every duration for development."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 s warm-up and 1 s measurements, no containers (numbers are rough)",
    )
    # Four short repetitions rather than three long ones: more pairs for the paired ratios
    # in about the same time (the host's speed drifts more than a measurement lasts).
    p.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per cell")
    p.add_argument("--duration", type=float, default=2.0, help="seconds measured per repetition")
    p.add_argument(
        "--repetitions", type=int, help="repetitions per cell (>= 3; default 4, 3 with --quick)"
    )
    p.add_argument("--concurrency", type=_ints, default=[1, 8, 32], help="e.g. 1,8,32")
    p.add_argument("--rows", type=_ints, default=[1, 64], help="rows per request, e.g. 1,64")
    p.add_argument(
        "--targets",
        help=f"comma-separated, from {','.join(BY_ID)} (default: {','.join(DEFAULT_TARGETS)}, "
        "then the groups switched on below)",
    )
    p.add_argument(
        "--only",
        metavar="GROUP[,GROUP]",
        help=f"measure these groups' targets and nothing else ({', '.join(Group)}), e.g. "
        "--only embedding; instead of --targets and the group switches",
    )
    p.add_argument(
        "--heavy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add the RandomForest targets (1 row, concurrency 1 and 32 only; default: on)",
    )
    p.add_argument(
        "--lightgbm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add the LightGBM targets b-lgbm, b-onnx-lgbm, c-lgbm, d-lgbm (concurrency 1 "
        "and 8 only; default: on)",
    )
    p.add_argument(
        "--embedding",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add the embedding targets b-emb, c-emb, c-emb-nobatch (one text per request, "
        "concurrency 1 and 32 only; default: on)",
    )
    p.add_argument(
        "--embedding-warmup",
        type=float,
        default=2.0,
        help="seconds of warm-up per embedding cell (a request takes tens of ms: at c=32 the "
        "queue must fill before measuring)",
    )
    p.add_argument(
        "--embedding-duration",
        type=float,
        default=6.0,
        help="seconds measured per repetition of an embedding cell (enough requests for a p99)",
    )
    p.add_argument(
        "--containers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure cold start and image size (default: on, off with --quick)",
    )
    p.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="py-spy breakdown of (b) and (c) at c=1 (default: on, off with --quick)",
    )
    p.add_argument("--profile-seconds", type=int, default=6, help="seconds sampled per server")
    p.add_argument(
        "--crosscheck",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare the conformance suite's load generator with wrk (default: on, "
        "off with --quick)",
    )
    p.add_argument("--cold-starts", type=int, default=3, help="cold starts per image")
    p.add_argument(
        "--base-image",
        default="modelrail-base:3.11-bookworm",
        help="BASE_IMAGE build argument for every image",
    )
    p.add_argument(
        "--answers",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template answers for (c)",
    )
    p.add_argument(
        "--service-dir",
        type=Path,
        help="use this already generated and trained repo for (c) instead of rendering one",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=PATH[,KEY=VALUE...]",
        help="also measure a modified copy of the generated repo, as target c:LABEL",
    )
    p.add_argument(
        "--lean-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env vars of (c) with drift and prediction logging off (default: both off)",
    )
    p.add_argument(
        "--batch-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env vars for (c) with micro-batching on (default: PREDICT_MODE=batch)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=1440.0,
        help="seconds after which remaining measurements are skipped",
    )
    p.add_argument("--note", default="", help="a line printed at the top of the doc")
    p.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "performance.md")
    p.add_argument("--no-doc", action="store_true", help="print and save JSON only")
    p.add_argument(
        "--from-results",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite the doc and plot from a saved results file",
    )
    args = p.parse_args(argv)
    if args.repetitions is None:
        args.repetitions = 3 if args.quick else 4
    if args.quick:
        args.warmup, args.duration = 1.0, 1.0
        args.embedding_warmup, args.embedding_duration = 1.0, 2.0
        if args.containers is None:
            args.containers = False
    if args.containers is None:
        args.containers = True
    if args.profile is None:
        args.profile = not args.quick
    if args.crosscheck is None:
        args.crosscheck = not args.quick
    if args.only is not None:
        if args.targets is not None:
            p.error("--only and --targets: give one of them (--only picks whole groups)")
        names = [g for g in args.only.split(",") if g]
        wrong = [g for g in names if g not in {str(group) for group in Group}]
        if wrong or not names:
            p.error(
                f"--only: unknown group {', '.join(wrong) or '(none)'}; "
                f"choose from {', '.join(Group)}"
            )
        ids = [t.id for t in TARGETS if t.group in names]
    else:
        ids = [t for t in (args.targets or ",".join(DEFAULT_TARGETS)).split(",") if t]
        for group, wanted in (
            (Group.HEAVY, args.heavy),
            (Group.LIGHTGBM, args.lightgbm),
            (Group.EMBEDDING, args.embedding),
        ):
            if wanted:
                ids += [t.id for t in TARGETS if t.group is group and t.id not in ids]
    unknown = [t for t in ids if t not in BY_ID]
    if unknown:
        p.error(f"--targets: unknown {', '.join(unknown)}; choose from {', '.join(BY_ID)}")
    if args.repetitions < 1:
        p.error("--repetitions: must be at least 1 (the issue asks for 3 or more)")
    for label, path in _pairs(args.variant).items():
        target = variant(label, path)
        BY_ID[target.id] = target
        ids.append(target.id)
    args.target_ids = ids
    return args


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, object]:
    """Cores, CPU model, memory and load: what the numbers depend on."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _wrk_version(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def _wrk_version() -> str:
    proc = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (proc.stdout or proc.stderr).splitlines()[0] if proc.returncode < 2 else "wrk ?"
    return first.split(" Copyright")[0].strip()


def ensure_tools() -> None:
    """wrk from Debian (installed when missing), taskset from util-linux."""
    script = REPO_ROOT / "scripts" / "ensure-system-packages.sh"
    subprocess.run([str(script), "wrk:wrk", "taskset:util-linux"], check=True)
    if (os.cpu_count() or 1) < 2:
        log("only one core: servers and wrk will share it, numbers are not comparable")


def train(floor: envs.Env) -> dict[str, Path]:
    out = WORK / "models"
    subprocess.run(
        [floor.bin("python"), str(BENCH_DIR / "apps" / "train.py"), str(out)], check=True
    )
    return {"iris": out / "iris.joblib", "heavy": out / "heavy.joblib"}


def smoke(prepared: Prepared, rows: list[int]) -> tuple[str | None, bytes]:
    """One request per payload before measuring: no error when all answer 200.

    Returns the error (``None`` when all answered 200) and the answer to the first payload,
    which the log shows: every target of a group must answer the same request.
    """
    first = b""
    for n in rows:
        status, body = http(prepared.infer_url, prepared.body(n).encode())
        if status != 200:
            error = f"POST {prepared.infer_url} ({n} rows) answered {status}: {body[:200]!r}"
            return error, body
        first = first or body
    return None, first


# The heavy model's targets are measured where the issue's target is set (c=32) and at
# c=1 (what a lone request pays), on one row; the LightGBM group's where its target is set
# (c=8) and at c=1, on both payloads; the embedding group's at c=1 and c=32 (its target),
# one text per request. That keeps the run within its budget.
GROUP_CELLS = {
    Group.HEAVY: ((1, 1), (32, 1)),
    Group.LIGHTGBM: ((1, 1), (1, 64), (8, 1), (8, 64)),
    Group.EMBEDDING: ((1, 1), (32, 1)),
}


def timing(target: Target, args: argparse.Namespace) -> tuple[float, float]:
    """Warm-up and measured seconds per repetition of ``target``'s cells.

    The embedding targets answer tens of requests a second, not thousands: they get longer
    windows (``--embedding-warmup``, ``--embedding-duration``), so that a window holds
    enough requests for a p99, and the queue at c=32 fills before measuring.
    """
    if target.group is Group.EMBEDDING:
        return args.embedding_warmup, args.embedding_duration
    return args.warmup, args.duration


def cells_of(target: Target, args: argparse.Namespace) -> list[tuple[int, int]]:
    """The (concurrency, rows) cells measured for ``target``."""
    cells = [(c, n) for c in args.concurrency for n in args.rows]
    if target.group in GROUP_CELLS:
        cells = [cell for cell in cells if cell in GROUP_CELLS[target.group]]
    return cells


def drain(prep: Prepared) -> None:
    """Wait until the server has worked off the requests wrk left behind.

    wrk stops on time and drops the requests still in flight; the server answers them
    anyway. A fast server is done at once, but an embedding server at c=32 holds a second
    of work or more, which would run into the next measurement (its own, or the next
    target's on the same core). One request queued behind them answers once they are done.
    """
    http(prep.infer_url, prep.body(1).encode(), timeout=60)


def services_needed(ids: list[str]) -> frozenset[Group]:
    """The renders of the template ``ids`` need, by the group they serve.

    ``Group.IRIS`` stands for the default render, which every (c) target of the iris and
    heavy groups serves from, and in whose venv the iris model is compiled for (b') too.
    The LightGBM group's model is trained in the LightGBM render's venv, so all its
    targets need that one; the embedding render is the service (c-emb) itself, which
    (b-emb) does without.
    """
    targets = [BY_ID[t] for t in ids if t in BY_ID]
    needed = set()
    for t in targets:
        if t.group is Group.LIGHTGBM:
            needed.add(Group.LIGHTGBM)
        elif t.group is Group.EMBEDDING:
            if t.id.startswith("c"):
                needed.add(Group.EMBEDDING)
        elif t.id.startswith("c") or t.renders:
            needed.add(Group.IRIS)
    return frozenset(needed)


def schedule(cells: dict[str, list[tuple[int, int]]]) -> list[tuple[str, int, int]]:
    """One repetition's measurements, ``(target, concurrency, rows)``, in the order to run.

    Cell by cell, and within a cell every target back to back (in the order given), so
    that the paired ratios (`stats.paired_ratio`) compare measurements taken seconds apart.
    """
    order = sorted({cell for target_cells in cells.values() for cell in target_cells})
    return [(tid, c, n) for c, n in order for tid, own in cells.items() if (c, n) in own]


def measure(
    args: argparse.Namespace, live: dict[str, Prepared], deadline: float
) -> tuple[list[dict[str, object]], list[str]]:
    """Interleaved rounds of warm-up + measurement; returns the runs and skipped cells."""
    lua_dir = WORK / "lua"
    lua_dir.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for tid, prep in live.items():
        for n in args.rows:
            path = lua_dir / f"{tid}-{n}.lua"
            bodies = prep.load(n)
            path.write_text(
                wrk.lua_script(bodies[0]) if len(bodies) == 1 else wrk.lua_script_cycling(bodies)
            )
            scripts[tid, n] = str(path)
    runs, skipped = [], []
    order = schedule({tid: cells_of(BY_ID[tid], args) for tid in live})
    total = len(order) * args.repetitions
    done = 0
    for rep in range(args.repetitions):
        for tid, c, n in order:
            prep = live[tid]
            done += 1
            if time.monotonic() > deadline:
                skipped.append(f"{tid} c={c} rows={n} rep={rep + 1}")
                continue
            script = scripts[tid, n]
            warmup, duration = timing(BY_ID[tid], args)
            subprocess.run(
                wrk.command(prep.infer_url, script, connections=c, duration_s=warmup),
                capture_output=True,
                check=False,
            )
            if BY_ID[tid].group is Group.EMBEDDING:
                drain(prep)
            pgid = prep.server.proc.pid if prep.server.proc else 0
            cpu_before = group_cpu_seconds(pgid)
            proc = subprocess.run(
                wrk.command(prep.infer_url, script, connections=c, duration_s=duration),
                capture_output=True,
                text=True,
                check=False,
            )
            cpu = group_cpu_seconds(pgid) - cpu_before
            if BY_ID[tid].group is Group.EMBEDDING:
                drain(prep)
            try:
                result = wrk.parse(proc.stdout).to_dict()
            except wrk.WrkOutputError as err:
                log(f"{tid} c={c} rows={n}: {err}")
                continue
            result["cpu_us_per_req"] = 1e6 * cpu / max(1, int(result["requests"]))
            runs.append({"target": tid, "concurrency": c, "rows": n, "rep": rep + 1, **result})
            log(
                f"[{done}/{total}] {tid:<6} c={c:<3} rows={n:<3} "
                f"{result['rps']:>9.0f} req/s  p99 {result['p99_ms']:.2f} ms"
                f"  {result['cpu_us_per_req']:.0f} us CPU/req  errors {result['errors']}"
            )
    return runs, skipped


def run_profiles(
    args: argparse.Namespace, live: dict[str, Prepared], floor: envs.Env
) -> dict[str, str]:
    """py-spy breakdown of (b), (b'), (c) and the variants at c=1, 1 row (``--profile``)."""
    out: dict[str, str] = {}
    if not args.profile:
        return out
    for tid, prep in live.items():
        if tid not in {"b", "b-onnx", "c"} and not tid.startswith("c:"):
            continue
        proc = prep.server.proc
        if proc is None:
            continue
        log(f"{tid}: profiling with py-spy for {args.profile_seconds} s at c=1, 1 row")
        try:
            collapsed, _ = hotspots.record(
                proc.pid, prep.infer_url, prep.body(1), args.profile_seconds, floor.bin("py-spy")
            )
        except (subprocess.CalledProcessError, OSError) as err:
            out[tid] = f"py-spy failed: {err}"
            continue
        (WORK / "profiles").mkdir(parents=True, exist_ok=True)
        (WORK / "profiles" / f"{tid}.collapsed").write_text(collapsed)
        out[tid] = hotspots.render(collapsed, top=8)
    return out


def run_crosscheck(args: argparse.Namespace, live: dict[str, Prepared]) -> dict[str, Any]:
    """The suite's load generator against wrk on (c), or (b) without (c) (``--crosscheck``)."""
    if not args.crosscheck:
        return {}
    tid = next((t for t in ("c", "b") if t in live), None)
    if tid is None:
        return {"error": "neither (c) nor (b) is running"}
    log(f"{tid}: cross-checking the conformance load generator against wrk at c=8")
    prep = live[tid]
    return {"target": tid, **crosscheck.crosscheck(prep.infer_url, prep.body(1))}


def run_agreement(live: dict[str, Prepared]) -> dict[str, Any]:
    """Once per run, before measuring: do (b'), (c) and the variants answer as (b) does?"""
    found = agreement.agreement({tid: prep.infer_url for tid, prep in live.items()})
    if found:
        log(f"same predictions: {agreement.check(found).line()}")
    return found


def run_parity(live: dict[str, Prepared]) -> dict[str, Any]:
    """Once per run, before measuring: do (b-emb) and (c-emb) compute the same embeddings?"""
    if not any(BY_ID[tid].group is Group.EMBEDDING for tid in live if tid in BY_ID):
        return {}
    agreement = embedding.parity(live)
    log(f"embedding parity: {embedding.parity_check(agreement).line()}")
    return agreement


def embedding_libraries(
    installed: dict[str, envs.Env], service: GeneratedService | None
) -> dict[str, dict[str, str]]:
    """The libraries that compute the embeddings, on each side (for the report)."""
    out = {}
    env = installed.get("embedding")
    if env is not None and not env.error:
        out["b-emb"] = library_versions(Path(env.bin("python")), embedding.BASELINE_LIBRARIES)
    if service is not None:
        out["c-emb"] = service.library_versions(embedding.SERVICE_LIBRARIES)
    return out


def run_containers(
    args: argparse.Namespace,
    ctx: Context,
    ids: list[str],
    wheels: Path | None = None,
    wheels_error: str | None = None,
) -> dict[str, dict[str, object]]:
    """Cold start and image size for (c), (d), (e), (b-emb) and (c-emb), or why each was
    not measured."""
    out: dict[str, dict[str, object]] = {}
    reason = containers.docker_available()
    specs = []
    if "c" in ids:
        if ctx.service is None:
            out["c"] = {"error": ctx.service_error or "not prepared"}
        elif not (ctx.service.root / "Dockerfile").is_file():
            out["c"] = {"error": "the generated repo has no Dockerfile yet"}
        else:
            specs.append(
                containers.ImageSpec(
                    "c",
                    "modelrail-bench/service:latest",
                    ctx.service.root,
                    None,
                    ctx.service.port,
                    "/v2/health/ready",
                    make_image=has_make_target(ctx.service.root, "image"),
                    site_packages=SERVICE_SITE_PACKAGES,
                )
            )
    if "d" in ids:
        dctx = containers.stage_context("d", WORK, ctx.models["iris"], pins=ctx.pins)
        specs.append(
            containers.ImageSpec(
                "d",
                "modelrail-bench/mlserver:latest",
                dctx,
                containers.DOCKERFILES / "mlserver.Dockerfile",
                8080,
                "/v2/health/ready",
            )
        )
    if "e" in ids:
        ectx = containers.stage_context(
            "e", WORK, ctx.models["iris"], BENCH_DIR / "apps" / "bento_service.py", ctx.pins
        )
        specs.append(
            containers.ImageSpec(
                "e",
                "modelrail-bench/bentoml:latest",
                ectx,
                containers.DOCKERFILES / "bentoml.Dockerfile",
                3000,
                "/readyz",
            )
        )
    group_specs, group_errors = embedding.image_specs(
        WORK, ids, ctx.embedding_service, wheels, ctx.pins, wheels_error=wheels_error
    )
    specs += group_specs
    out.update(group_errors)
    for spec in specs:
        if reason:
            out[spec.target] = {"error": reason}
            continue
        log(f"containers: building and cold-starting {spec.tag}")
        out[spec.target] = containers.measure(spec, args.base_image, args.cold_starts)
    return out


def write_doc(args: argparse.Namespace, saved: Path) -> int:
    """docs/performance.md and its PNG from the results document at ``saved``.

    The embedding group's section comes from ``results/latest-embedding.json``, the last
    run that measured it (this one, or an ``--only embedding`` run after it), so that a
    run of that group alone leaves the other groups' tables as they are.
    """
    if not saved.is_file():
        log(f"{saved.relative_to(REPO_ROOT)} is missing: {args.doc} is not rewritten "
            "(run `make bench` once for the other groups)")  # fmt: skip
        return 1
    results = json.loads(saved.read_text())
    latest_embedding = RESULTS / LATEST_EMBEDDING
    group = json.loads(latest_embedding.read_text()) if latest_embedding.is_file() else None
    floor = envs.ensure("floor", pins=results["meta"].get("library_versions"))
    png = args.doc.parent / "performance.png"
    plot_error = floor.error or report.plot(floor, saved, png)
    # A run's --note belongs to the results it measured; --from-results may set another.
    note = (args.note if args.from_results else "") or results["meta"].get("note", "")
    page = report.markdown(results, None if plot_error else png, note, plot_error, group)
    args.doc.write_text(page)
    log(f"wrote {args.doc} and {png}")
    return 0


LATEST: Final = "latest.json"
LATEST_EMBEDDING: Final = "latest-embedding.json"


def latest_files(ids: list[str]) -> list[str]:
    """The results files a run of ``ids`` replaces: ``latest.json`` when it measured a group
    other than the embedding group, ``latest-embedding.json`` when it measured that one."""
    groups = {BY_ID[t].group for t in ids if t in BY_ID}
    names = [LATEST] if groups - {Group.EMBEDDING} or not groups else []
    return names + ([LATEST_EMBEDDING] if Group.EMBEDDING in groups else [])


def _command(argv: list[str] | None) -> str:
    """The command that reproduces this run, as the doc shows it."""
    if os.environ.get("BENCH_VIA_MAKE"):
        extra = os.environ.get("BENCH_ARGS", "").strip()
        return f'make bench BENCH_ARGS="{extra}"' if extra else "make bench"
    args = list(argv if argv is not None else sys.argv[1:])
    # The note is prose for the doc, not part of what reproduces the numbers.
    for i, arg in enumerate(args):
        if arg == "--note":
            del args[i : i + 2]
            break
        if arg.startswith("--note="):
            del args[i]
            break
    return "uv run python -m bench " + shlex.join(args)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A background job starts with SIGINT ignored, and SIGTERM would skip `finally`: make
    # both unwind, so the servers this run started are always stopped.
    signal.signal(signal.SIGINT, _exit_on_signal)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if args.from_results:
        return write_doc(args, args.from_results)
    started = time.monotonic()
    deadline = started + args.budget
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = _command(argv)
    ensure_tools()
    meta: dict[str, object] = {
        "note": args.note,
        "command": command,
        "started": stamp,
        "machine": machine(),
        "options": {k: v for k, v in vars(args).items() if k not in {"doc"}},
    }
    meta["options"]["doc"] = str(args.doc)  # type: ignore[index]
    ids = args.target_ids

    renders = services_needed(ids)
    service, service_error = None, None
    if Group.IRIS in renders:
        try:
            if args.service_dir:
                log(f"(c): using the generated repo {args.service_dir}")
                service = describe(args.service_dir.resolve())
            else:
                log("(c): rendering the template and running `make train` in it")
                service = prepare(WORK, _pairs(args.answers))
        except NotAvailable as err:
            service_error = str(err)
            log(f"(c): not available: {err}")
    lightgbm_service, lightgbm_error = None, None
    if Group.LIGHTGBM in renders:
        try:
            log("(c-lgbm): rendering the template with model_framework=lightgbm")
            answers = {**_pairs(args.answers), "model_framework": "lightgbm"}
            lightgbm_service = prepare(WORK, answers, name="service-lightgbm", train=False)
        except NotAvailable as err:
            lightgbm_error = str(err)
            log(f"(c-lgbm): not available: {err}")
    embedding_service, embedding_error = None, None
    if Group.EMBEDDING in renders:
        try:
            log("(c-emb): rendering the template with model_task=embedding, `make train`")
            embedding_service = embedding.prepare_service(WORK, _pairs(args.answers))
        except NotAvailable as err:
            embedding_error = str(err)
            log(f"(c-emb): not available: {err}")
    # Every target runs the services' own scikit-learn, numpy and lightgbm, so that the
    # ratios compare servers, not library releases.
    found: list[GeneratedService] = [s for s in (service, lightgbm_service, embedding_service) if s]
    pins, conflicts = envs.merge_pins(*(s.library_versions(envs.MODEL_LIBRARIES) for s in found))
    meta["library_versions"] = pins
    meta["library_conflicts"] = conflicts
    if pins:
        log("every target runs " + ", ".join(f"{k} {v}" for k, v in pins.items()))
    for conflict in conflicts:
        log(f"the generated services differ: {conflict}; the LightGBM service runs the second")

    needed = {"floor"} | {ENV_FOR[t] for t in ids if t in ENV_FOR}
    wheels, wheels_error = None, None
    if "b-emb" in ids:
        try:
            wheels = envs.torch_wheels()
        except envs.TorchWheelError as err:
            wheels_error = str(err)
            log(f"(b-emb): {err}")
    installed = {}
    for name in sorted(needed):
        log(f"venv {name}: installing or reusing bench/.venvs/{name}")
        if name == "embedding":
            installed[name] = (
                envs.ensure(name, pins=pins, drop=envs.LIGHTGBM_PACKAGES, find_links=[wheels])
                if wheels
                else envs.Env(name, envs.VENVS / name, wheels_error)
            )
        else:
            installed[name] = envs.ensure(name, pins=pins)
        if installed[name].error:
            log(f"venv {name}: {installed[name].error}")
    meta["embedding_libraries"] = embedding_libraries(installed, embedding_service)
    if installed["floor"].error:
        raise SystemExit(f"bench: the floor venv is required: {installed['floor'].error}")
    ctx = Context(
        WORK,
        installed,
        train(installed["floor"]),
        service=service,
        service_error=service_error,
        lightgbm_service=lightgbm_service,
        lightgbm_service_error=lightgbm_error,
        embedding_service=embedding_service,
        embedding_service_error=embedding_error,
        pins=pins,
        lean_env=_pairs(args.lean_env),
        batch_env=_pairs(args.batch_env),
    )

    targets: dict[str, dict[str, object]] = {}
    live: dict[str, Prepared] = {}
    try:
        for tid in ids:
            target = BY_ID[tid]
            info: dict[str, object] = {
                "label": target.label,
                "group": str(target.group),
                "available": False,
            }
            targets[tid] = info
            try:
                prep = target.build(ctx)
                log(f"{tid}: starting {' '.join(prep.server.cmd[:3])} ...")
                prep.server.start()
            except (NotAvailable, TimeoutError) as err:
                info["reason"] = str(err)
                log(f"{tid}: not available: {err}")
                continue
            error, answer = smoke(prep, args.rows)
            if error:
                prep.server.stop()
                info["reason"] = error
                log(f"{tid}: not available: {error}")
                continue
            info["answer"] = answer[:400].decode(errors="replace")
            log(f"{tid}: answers 200 to {args.rows[0]} row(s): {info['answer']}")
            info.update(
                available=True,
                start_to_ready_s=prep.server.start_to_ready_s,
                infer_url=prep.infer_url,
            )
            live[tid] = prep
        parity = run_parity(live)
        answers = run_agreement(live)
        runs, skipped = measure(args, live, deadline)
        profiles = run_profiles(args, live, installed["floor"])
        cross = run_crosscheck(args, live)
    finally:
        for prep in live.values():
            prep.server.stop()

    container_results = (
        run_containers(args, ctx, ids, wheels, wheels_error) if args.containers else {}
    )
    if container_results:
        # Every image is built on it: sizes above it compare what each server adds.
        meta["base_image"] = args.base_image
        meta["base_image_bytes"] = containers.image_bytes(args.base_image)
    cells = {}
    for key in {(r["target"], r["concurrency"], r["rows"]) for r in runs}:
        cells[key] = stats.summarise(
            r for r in runs if (r["target"], r["concurrency"], r["rows"]) == key
        )
    # Each group's checks when the run measured it: a run of one group alone prints no
    # N/A lines for the others.
    groups = {BY_ID[t].group for t in ids if t in BY_ID}
    checks = []
    if groups - {Group.EMBEDDING}:
        checks += stats.issue_checks(cells, runs, container_results, args.concurrency)
        checks += compiled.checks(cells, runs, container_results, answers, args.concurrency)
    if Group.EMBEDDING in groups:
        checks += embedding.checks(cells, runs, container_results, parity)
    meta["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]  # type: ignore[index]
    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    results = report.results_document(
        meta, targets, runs, cells, container_results, checks, skipped, profiles
    )
    results["crosscheck"] = cross
    results["embedding_parity"] = parity
    results["agreement"] = answers
    RESULTS.mkdir(exist_ok=True)
    # latest.json and latest-embedding.json go with docs/performance.md (a --no-doc run
    # leaves all three alone): each is the last run that measured its groups.
    saved = [RESULTS / f"{stamp}.json"]
    if not args.no_doc:
        saved += [RESULTS / name for name in latest_files(ids)]
    for path in saved:
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report.text_table(results))
    print()
    for check in checks:
        print(check.line())
    if not args.no_doc:
        write_doc(args, RESULTS / LATEST)
    log(f"results: {saved[-1].relative_to(REPO_ROOT)}; {meta['elapsed_s']} s in all")
    return 0
