"""``python -m modelrail_runtime.registry``: the registry steps of a release, one command each.

    log DIR                                  log and register the training in DIR
    fetch MODEL_URI --into DIR               download a version, verified, with its lineage
    promote NAME VERSION --alias champion    point an alias at a version
    compare NAME VERSION --against champion --metric accuracy [--lower-is-better]
            [--tolerance 0.01]               exit 1 if worse than the champion
    lineage DIR --format build-args          a fetched model's `docker build` label arguments

Each prints JSON (``lineage``: arguments) and exits 2 with a one-line fix on a user error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..artifacts import METADATA_FILE
from . import mlflow as registry
from .gate import GateRule
from .lineage import METADATA_KEY, TRACKING_URI_ENV, RegistryError

LABEL_ARGS = {
    "MODEL_REGISTRY_URI": "uri",
    "MODEL_REGISTRY_VERSION": "version",
    "MODEL_REGISTRY_RUN_ID": "run_id",
    "MODEL_REGISTRY_TRACKING_URI": "tracking_uri",
}
"""`docker build` arguments (the Dockerfile's image labels) -> metadata.json's lineage keys."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelrail_runtime.registry",
        description=f"The MLflow model registry at {TRACKING_URI_ENV}.",
    )
    parser.add_argument("--tracking-uri", help=f"default: {TRACKING_URI_ENV}")
    commands = parser.add_subparsers(dest="command", required=True)
    log = commands.add_parser("log", help="log and register the training in DIR")
    log.add_argument("directory", type=Path)
    log.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    fetch = commands.add_parser("fetch", help="download a registered version, verified")
    fetch.add_argument("model_uri", help="models:/<name>/<version> or models:/<name>@<alias>")
    fetch.add_argument("--into", type=Path, required=True)
    promote = commands.add_parser("promote", help="point an alias at a version")
    promote.add_argument("name")
    promote.add_argument("version")
    promote.add_argument("--alias", default="champion")
    compare = commands.add_parser("compare", help="gate a version on the champion's metrics")
    compare.add_argument("name")
    compare.add_argument("version")
    compare.add_argument("--against", default="champion", metavar="ALIAS")
    compare.add_argument("--metric", required=True)
    compare.add_argument("--lower-is-better", action="store_true")
    compare.add_argument("--tolerance", type=float, default=0.0)
    lineage = commands.add_parser("lineage", help="a fetched model's image label arguments")
    lineage.add_argument("directory", type=Path)
    lineage.add_argument("--format", choices=["build-args"], default="build-args")
    return parser


def build_args(directory: Path) -> list[str]:
    """``--build-arg NAME=value`` for each lineage label of the model fetched into ``directory``.

    Raises:
        RegistryError: ``directory`` holds no fetched model.
    """
    meta_file = directory / METADATA_FILE
    try:
        lineage = json.loads(meta_file.read_text(encoding="utf-8")).get(METADATA_KEY)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{meta_file} is not readable ({exc}): run `fetch` first") from None
    if not isinstance(lineage, dict):
        raise RegistryError(f"{meta_file} records no registry lineage: run `fetch` first")
    return [f"--build-arg={arg}={lineage.get(key, '')}" for arg, key in LABEL_ARGS.items()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one registry command; 0 on success, 1 when `compare` fails, 2 on a user error."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except RegistryError as exc:
        print(f"registry {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "lineage":
        print(" ".join(build_args(args.directory)))
        return 0
    uri = args.tracking_uri
    if args.command == "log":
        tags = dict(tag.split("=", 1) for tag in args.tag if "=" in tag)
        print(json.dumps(registry.log_training(args.directory, uri=uri, tags=tags).as_metadata()))
    elif args.command == "fetch":
        print(json.dumps(registry.fetch(args.model_uri, args.into, uri=uri).as_metadata()))
    elif args.command == "promote":
        lineage = registry.promote(args.name, args.version, args.alias, uri=uri)
        print(json.dumps(lineage.as_metadata()))
    else:
        rule = GateRule(args.metric, not args.lower_is_better, args.tolerance)
        verdict = registry.compare(args.name, args.version, rule, against=args.against, uri=uri)
        print(verdict.message)
        return 0 if verdict.passed else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
