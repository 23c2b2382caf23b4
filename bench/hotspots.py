"""Where a server spends its time under load: py-spy samples, grouped by component.

Usage: python -m bench.hotspots collapsed.txt [--top 15]
       python -m bench.hotspots --pid PID --url URL --rows 1 --seconds 8

With ``--pid``, runs wrk (core 1) against ``URL`` while py-spy (also core 1) samples the
server, then prints the breakdown. Each sample is charged to the innermost frame that
belongs to a known component (scikit-learn, pydantic, logging, ...); the stdlib ``json``
module and the event loop only own what nothing more specific on the stack claims, so
``json.dumps`` on behalf of logging counts as logging.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# The package a generated service's serving code lives in (template 0.2 on); before, the
# same modules were in the service's own package.
RUNTIME = "modelrail_runtime"
# py-spy names frames "function (package/module.py:line)", the path relative to its
# sys.path entry (site-packages included). (component, pattern): the innermost frame that
# matches a pattern owns the sample (but see WEAK). PKG is the service's package, RT the
# runtime's: the service's components match either layout.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("scikit-learn", r"\(sklearn/"),
    ("onnxruntime", r"\(onnxruntime/"),
    ("lightgbm", r"\(lightgbm/"),
    ("numpy/scipy", r"\((numpy|scipy)/"),
    ("logging", r"\(logging/|\((PKG|RT)/logs\.py"),
    ("prometheus_client", r"\(prometheus_client/"),
    ("pydantic", r"\(pydantic(_core)?/"),
    ("json (stdlib)", r"\(json/"),
    ("service: protocol", r"\(PKG/protocol\.py|\(RT/oip/"),
    ("service: middleware", r"\((PKG|RT/http)/middleware\.py"),
    ("service: other", r"\((PKG|RT)/"),
    ("threadpool hop (anyio)", r"\((anyio|concurrent)/|\(threading\.py|\(queue\.py"),
    ("fastapi", r"\(fastapi/"),
    ("starlette", r"\(starlette/"),
    ("uvicorn + h11", r"\((uvicorn|h11)/"),
    ("httptools", r"\(httptools"),
    ("event loop", r"\(asyncio/|\(selectors\.py|uvloop"),
)
# Components that only own a sample when nothing more specific is on its stack: json
# called by logging is logging's cost, the event loop's write called by the threadpool is
# the threadpool hop's.
WEAK = frozenset({"json (stdlib)", "event loop"})
# Packages run with `python -m` that are servers, not the service.
SERVERS = frozenset({"uvicorn", "mlserver", "bentoml", "granian", "gunicorn"})
# Under uvloop the loop, its epoll wait and httptools' parsing are native code below
# asyncio's Runner.run: py-spy cannot tell working from waiting there.
NATIVE_LOOP = re.compile(r"^Runner\.run \(asyncio/runners\.py")
# Leaves that mean "waiting", not working: left out of the shares.
IDLE = re.compile(r"^(EpollSelector\.select|select|Condition\.wait|_wait_for_tstate_lock) ")


def _patterns(package: str) -> list[tuple[str, re.Pattern[str]]]:
    names = {"PKG": re.escape(package), "RT": RUNTIME}
    return [
        (name, re.compile(re.sub(r"PKG|RT", lambda m: names[m.group()], pat)))
        for name, pat in COMPONENTS
    ]


def guess_package(collapsed: str) -> str:
    """The service's package, from the ``<module> (PKG/__main__.py:N)`` frame."""
    for match in re.finditer(r"<module> \(([A-Za-z_0-9]+)/__main__\.py", collapsed):
        if match.group(1) not in SERVERS:
            return match.group(1)
    return "app"


def breakdown(collapsed: str, package: str | None = None) -> Counter[str]:
    """Samples per component from py-spy's ``--format raw`` (collapsed stacks) output.

    Samples whose leaf is a wait (select, a condition) are counted as ``idle``.
    """
    patterns = _patterns(package or guess_package(collapsed))
    out: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if IDLE.match(frames[-1]):
            out["idle"] += int(count)
            continue
        if NATIVE_LOOP.match(frames[-1]):
            out["native loop"] += int(count)
            continue
        owners = [
            next((name for name, pat in patterns if pat.search(frame)), None)
            for frame in reversed(frames)
        ]
        strong = next((o for o in owners if o and o not in WEAK), None)
        out[strong or next((o for o in owners if o), "other")] += int(count)
    return out


def top_functions(collapsed: str, n: int) -> list[tuple[str, int]]:
    """Leaf (self-time) functions with the most samples."""
    out: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out[stack.split(";")[-1]] += int(count)
    return out.most_common(n)


def render(collapsed: str, top: int = 15, package: str | None = None) -> str:
    """The printed report: share per component, then the hottest leaf functions."""
    parts = breakdown(collapsed, package)
    idle = parts.pop("idle", 0)
    native = parts.pop("native loop", 0)
    total = sum(parts.values()) or 1
    left_out = f"{idle} idle samples left out"
    if native:
        left_out += f", and {native} inside uvloop's native loop (work or wait, unknown)"
    lines = [f"{total} busy samples in Python, all threads ({left_out})", "",
             "component                  share of busy"]  # fmt: skip
    lines += [f"{name:<26} {100 * n / total:5.1f}%" for name, n in parts.most_common()]
    lines += ["", "hottest leaf functions (self time, share of all samples)"]
    every = total + idle + native
    lines += [f"{100 * n / every:5.1f}%  {fn}" for fn, n in top_functions(collapsed, top)]
    return "\n".join(lines)


def record(pid: int, url: str, body: str, seconds: int, py_spy: str) -> tuple[str, str]:
    """Sample ``pid`` with py-spy while wrk (c=1) loads ``url``; return (collapsed, wrk)."""
    from bench import wrk

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "body.lua"
        script.write_text(wrk.lua_script(body))
        out = Path(tmp) / "collapsed.txt"
        load = subprocess.Popen(
            wrk.command(url, str(script), connections=1, duration_s=seconds + 2),
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)
        subprocess.run(
            ["taskset", "-c", "1", py_spy, "record", "--pid", str(pid), "--rate", "500",
             "--duration", str(seconds), "--format", "raw", "--nonblocking", "-o", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
        wrk_out, _ = load.communicate(timeout=seconds + 30)
        return out.read_text(), wrk_out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__.split("\n")[0])
    p.add_argument("collapsed", nargs="?", type=Path, help="py-spy --format raw output")
    p.add_argument("--pid", type=int, help="sample this running server")
    p.add_argument("--url", help="infer URL to load while sampling")
    p.add_argument("--rows", type=int, default=1, help="rows per OIP request")
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--package", help="the service's package (default: from __main__ frame)")
    p.add_argument("--py-spy", default=str(Path(__file__).parent / ".venvs/floor/bin/py-spy"))
    args = p.parse_args(argv)
    if args.pid:
        from bench import payloads

        collapsed, wrk_out = record(args.pid, args.url, payloads.oip(args.rows), args.seconds,
                                    args.py_spy)  # fmt: skip
        print(wrk_out)
    elif args.collapsed:
        collapsed = args.collapsed.read_text()
    else:
        p.error("give a collapsed-stacks file, or --pid and --url")
    print(render(collapsed, args.top, args.package))
    return 0


if __name__ == "__main__":
    sys.exit(main())
