"""``modelrail-model-card`` (``make model-card``): fill the generated part of the model card.

The card (``docs/model-card.md``) belongs to the project: its owners write the prose.
Between the two marker lines below, this tool writes what the last ``make train``
recorded in ``artifacts/metadata.json``, so that the figures on the card are those of the
artifact that ships. Everything outside the markers is kept as it is. Each held-out metric
with a gate in ``[tool.model-training.evaluation]`` of pyproject.toml, ``min_<metric>``
(e.g. ``min_accuracy``) or ``max_<metric>`` (e.g. ``max_rmse``), says whether it passes it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BEGIN = "<!-- model-card:begin: written by `make model-card`, edits here are replaced -->"
END = "<!-- model-card:end -->"
REQUIRED = ("model_name", "framework", "artifact", "artifact_sha256", "metrics")


class ModelCardError(Exception):
    """The metadata or the card cannot be used; the message says how to fix it."""


def read_metadata(path: Path) -> dict[str, Any]:
    """The training metadata, with the keys the card needs."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelCardError(f"{path} not found: run `make train` first") from None
    except (OSError, ValueError) as exc:
        raise ModelCardError(f"{path} is not readable JSON ({exc}): run `make train`") from None
    if not isinstance(metadata, dict):
        raise ModelCardError(f"{path} does not hold a JSON object: run `make train`")
    missing = [key for key in REQUIRED if key not in metadata]
    if missing:
        raise ModelCardError(f"{path} has no {', '.join(missing)}: run `make train` again")
    return metadata


def _code(value: object) -> str:
    return f"`{value}`"


def read_gates(pyproject: Path) -> dict[str, float]:
    """The ``min_<metric>`` and ``max_<metric>`` thresholds of
    ``[tool.model-training.evaluation]``, by key (``max_regression``, the margin against the
    previous model, is not a gate).

    A missing or unreadable file gives no gates: the card can still be filled, and
    ``make evaluate`` reports the configuration error.
    """
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = document.get("tool", {}).get("model-training", {}).get("evaluation", {})
    return {
        key: float(value)
        for key, value in (table.items() if isinstance(table, dict) else ())
        if key.startswith(("min_", "max_"))
        and key != "max_regression"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    }


def _framework(metadata: dict[str, Any]) -> str:
    """The adapter that serves the model; for a compiled one, what it was compiled from."""
    framework = str(metadata["framework"])
    serving = metadata.get("serving")
    if not isinstance(serving, dict) or "source" not in serving:
        return framework
    versions = serving.get("source_versions")
    source = str(serving["source"])
    if isinstance(versions, dict) and source in versions:
        source = f"{source} {versions[source]}"
    return f"{framework}, compiled from {source}, served by {serving.get('engine', 'onnxruntime')}"


def _rows(metadata: dict[str, Any], gates: Mapping[str, float]) -> list[tuple[str, str]]:
    sha256 = str(metadata["artifact_sha256"])
    rows = [
        ("Model", f"{_code(metadata['model_name'])}, version {_code(sha256[:12])}"),
        ("Framework", _framework(metadata)),
        ("Artifact", f"{_code(metadata['artifact'])}, sha256 {_code(sha256)}"),
    ]
    if "git_revision" in metadata:
        rows.append(("Trained from", f"git revision {_code(metadata['git_revision'])}"))
    data = metadata.get("data")
    if isinstance(data, dict):
        held_out = f", {data['test_rows']} held out for evaluation" if "test_rows" in data else ""
        rows.append(
            (
                "Data",
                f"{data.get('name', '?')}: {data.get('rows', '?')} rows{held_out}; "
                f"sha256 {_code(data.get('sha256', '?'))}",
            )
        )
    if "test_size" in metadata or "seed" in metadata:
        rows.append(
            (
                "Split",
                f"test_size {metadata.get('test_size', '?')}, seed {metadata.get('seed', '?')}",
            )
        )
    params = metadata.get("params")
    if isinstance(params, dict) and params:
        rows.append(
            (
                "Parameters",
                ", ".join(_code(f"{key}={value}") for key, value in sorted(params.items())),
            )
        )
    metrics = metadata["metrics"]
    for name, value in sorted(metrics.items()) if isinstance(metrics, dict) else []:
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        for key in (f"min_{name}", f"max_{name}"):
            gate = gates.get(key)
            if gate is not None and isinstance(value, int | float):
                passes = value >= gate if key.startswith("min_") else value <= gate
                shown += f" ({'passes' if passes else 'FAILS'} the quality gate: {key} {gate})"
        rows.append((f"Held-out {name}", shown))
    libraries = metadata.get("libraries")
    if isinstance(libraries, dict) and libraries:
        rows.append(
            ("Libraries", ", ".join(f"{name} {version}" for name, version in libraries.items()))
        )
    return rows


def _signature(metadata: dict[str, Any]) -> list[str]:
    signature = metadata.get("signature")
    if not isinstance(signature, dict):
        return []
    lines = ["", "| Tensor | Direction | Datatype | Shape |", "| --- | --- | --- | --- |"]
    for direction in ("inputs", "outputs"):
        for spec in signature.get(direction, []):
            lines.append(
                f"| {_code(spec.get('name'))} | {direction[:-1]} | {spec.get('datatype')} "
                f"| {_code(spec.get('shape'))} |"
            )
    return lines


def render(metadata: dict[str, Any], gates: Mapping[str, float]) -> str:
    """The generated part of the card (without the markers)."""
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in _rows(metadata, gates)]
    return "\n".join(lines + _signature(metadata))


def fill(card: str, generated: str, card_path: Path) -> str:
    """``card`` with the text between its markers replaced by ``generated``."""
    begin, end = card.find(BEGIN), card.find(END)
    if begin < 0 or end < 0 or end < begin:
        raise ModelCardError(
            f"{card_path} has no generated part: add a line {BEGIN!r} and, below it, a line "
            f"{END!r} where the figures from training should go"
        )
    return card[: begin + len(BEGIN)] + "\n" + generated + "\n" + card[end:]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``modelrail-model-card [--check] [--metadata F] [--card F] ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--metadata", type=Path, default=Path("artifacts") / "metadata.json")
    parser.add_argument("--card", type=Path, default=Path("docs") / "model-card.md")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--check", action="store_true", help="fail when the card does not show this metadata"
    )
    args = parser.parse_args(argv)
    try:
        metadata = read_metadata(args.metadata)
        try:
            card = args.card.read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelCardError(f"cannot read {args.card}: {exc}") from None
        filled = fill(card, render(metadata, read_gates(args.pyproject)), args.card)
    except ModelCardError as exc:
        print(f"model-card: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if filled != card:
            print(f"model-card: {args.card} is out of date: run `make model-card`", file=sys.stderr)
            return 1
        return 0
    args.card.write_text(filled, encoding="utf-8")
    print(f"model-card: wrote {args.card} from {args.metadata}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
