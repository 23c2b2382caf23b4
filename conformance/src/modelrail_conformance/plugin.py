"""The pytest plugin: the ``--modelrail-*`` options, their validation, and the run.

It is loaded only when asked for: by the ``modelrail-conformance`` command, or with
``pytest -p modelrail_conformance.plugin``. It is no ``pytest11`` entry point, so the
test sessions of an environment that merely has the suite installed never see it. It
changes no environment variable: testcontainers is configured by whoever runs it
(``TESTCONTAINERS_RYUK_DISABLED``, ``TC_HOST``, ``DOCKER_HOST``; testcontainers'
documentation).

Help-text rules for options: start lowercase, say what the value is, name the default.
Every option also reads ``MODELRAIL_<NAME>`` from the environment and ``modelrail_<name>``
from the ini file, in that order after the command line.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from modelrail_conformance.config import ModelrailConfig, load_config
from modelrail_conformance.failures import Blocked, ConfigError, NotApplicable, RuleViolation
from modelrail_conformance.registry import Level, Profile, Registry, Rule, build_registry
from modelrail_conformance.report import Report, result_for
from modelrail_conformance.target import Target, TargetSpec
from modelrail_conformance.waivers import Waiver, load_waivers

DEFAULT_REPORT_DIR = "reports/conformance"
DEFAULT_WAIVERS = "conformance-waivers.toml"

# name, kind ("str", "bool", "list"), help
_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("project", "str", "directory whose pyproject.toml has [tool.modelrail] (default: cwd)"),
    ("image", "str", "image reference of the service to check, e.g. churn-model:dev"),
    (
        "dockerfile",
        "str",
        "Dockerfile to build the image from once per session (context: its directory)",
    ),
    ("build-arg", "list", "KEY=VALUE build argument for --modelrail-dockerfile (repeatable)"),
    (
        "base-url",
        "str",
        "URL of an already running service (post-deploy smoke; container rules not applicable)",
    ),
    ("strict", "bool", "fail the run on SHOULD violations too"),
    (
        "report-dir",
        "str",
        f"directory for report.json, junit.xml, report.html (default: {DEFAULT_REPORT_DIR})",
    ),
    (
        "waivers",
        "str",
        f"waivers file (default: {DEFAULT_WAIVERS} in the project directory, if present)",
    ),
    ("rules", "str", "comma list of rule IDs and families to run, e.g. HLT,RDY-001 (default: all)"),
    (
        "profile",
        "str",
        "contract to check: oip (the Open Inference Protocol only) or modelrail (the "
        "protocol and the platform's rules; default)",
    ),
)

SESSION_KEY = pytest.StashKey["ModelrailSession"]()
RULE_KEY = pytest.StashKey[Rule]()
VERDICT_KEY = pytest.StashKey[tuple[str, str]]()


class ModelrailWarning(UserWarning):
    """A SHOULD rule was violated (fails the run only under --modelrail-strict)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelrail", "modelrail conformance (env MODELRAIL_*, ini modelrail_*)")
    for name, kind, help_text in _OPTIONS:
        dest = "modelrail_" + name.replace("-", "_")
        if kind == "bool":
            group.addoption(
                f"--modelrail-{name}", action="store_true", default=None, dest=dest, help=help_text
            )
            parser.addini(dest, help_text, type="bool", default=None)
        elif kind == "list":
            group.addoption(
                f"--modelrail-{name}", action="append", default=None, dest=dest, help=help_text
            )
            parser.addini(dest, help_text, type="linelist", default=[])
        else:
            group.addoption(
                f"--modelrail-{name}", default=None, dest=dest, metavar="VALUE", help=help_text
            )
            parser.addini(dest, help_text, default=None)


def _raw(config: pytest.Config, name: str, kind: str) -> Any:
    dest = "modelrail_" + name.replace("-", "_")
    value = config.getoption(dest)
    if value is None:
        env = os.environ.get(dest.upper())
        if env is not None and env != "":
            if kind == "bool":
                return env
            return env.split() if kind == "list" else env
        ini = config.getini(dest)
        if ini not in (None, [], ""):
            return ini
    return value


def _bool(value: Any, option: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise pytest.UsageError(
        f"{option}: {value!r} is not a boolean; accepted: true/false, 1/0, yes/no"
    )


@dataclass
class Settings:
    """The validated options of one run."""

    project: Path
    spec: TargetSpec | None
    strict: bool
    report_dir: Path
    waivers_file: Path | None
    rules: str | None
    build_args: dict[str, str] = field(default_factory=dict)
    profile: Profile = Profile.MODELRAIL


def read_settings(config: pytest.Config) -> Settings:
    """Read and validate the options; bad values raise ``pytest.UsageError``."""
    raw = {name: _raw(config, name, kind) for name, kind, _ in _OPTIONS}
    project = Path(raw["project"] or ".").resolve()
    if not project.is_dir():
        raise pytest.UsageError(
            f"--modelrail-project: {raw['project']!r} is not a directory; accepted: the service "
            f"repo's root (where pyproject.toml with [tool.modelrail] is)"
        )
    build_args: dict[str, str] = {}
    for item in raw["build-arg"] or []:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(
                f"--modelrail-build-arg: {item!r} is not KEY=VALUE; accepted e.g. BASE_IMAGE=python:3.11-slim"
            )
        build_args[key.strip()] = value
    given = [n for n in ("image", "dockerfile", "base-url") if raw[n]]
    if len(given) > 1:
        raise pytest.UsageError(
            f"--modelrail-{given[0]} and --modelrail-{given[1]} were both given; accepted: exactly one "
            f"of --modelrail-image, --modelrail-dockerfile, --modelrail-base-url"
        )
    if build_args and not raw["dockerfile"]:
        raise pytest.UsageError("--modelrail-build-arg: only valid with --modelrail-dockerfile")
    spec: TargetSpec | None = None
    if raw["base-url"]:
        url = str(raw["base-url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise pytest.UsageError(
                f"--modelrail-base-url: {url!r} is not a URL; accepted e.g. http://127.0.0.1:8080"
            )
        spec = TargetSpec(base_url=url)
    elif raw["dockerfile"]:
        dockerfile = Path(raw["dockerfile"]).resolve()
        if not dockerfile.is_file():
            raise pytest.UsageError(
                f"--modelrail-dockerfile: {raw['dockerfile']!r} is not a file; accepted: a path to a Dockerfile"
            )
        spec = TargetSpec(dockerfile=dockerfile, build_args=build_args)
    elif raw["image"]:
        image = str(raw["image"]).strip()
        if not image or any(c.isspace() for c in image):
            raise pytest.UsageError(
                f"--modelrail-image: {raw['image']!r} is not an image reference; accepted e.g. churn-model:dev"
            )
        spec = TargetSpec(image=image)
    waivers_file: Path | None = None
    if raw["waivers"]:
        waivers_file = Path(raw["waivers"]).resolve()
        if not waivers_file.is_file():
            raise pytest.UsageError(
                f"--modelrail-waivers: {raw['waivers']!r} is not a file; accepted: a TOML file of [[waiver]] tables"
            )
    elif (project / DEFAULT_WAIVERS).is_file():
        waivers_file = project / DEFAULT_WAIVERS
    profile_text = str(raw["profile"] or Profile.MODELRAIL.value).strip().lower()
    if profile_text not in {p.value for p in Profile}:
        raise pytest.UsageError(
            f"--modelrail-profile: {raw['profile']!r} is not a profile; accepted: "
            f"{', '.join(p.value for p in Profile)}"
        )
    return Settings(
        profile=Profile(profile_text),
        project=project,
        spec=spec,
        strict=_bool(raw["strict"], "--modelrail-strict"),
        report_dir=Path(raw["report-dir"] or DEFAULT_REPORT_DIR).resolve(),
        waivers_file=waivers_file,
        rules=raw["rules"],
        build_args=build_args,
    )


class ModelrailSession:
    """One run of the contract: selected rules, waivers, target, report."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        try:
            self.selected = registry.select(settings.rules, settings.profile)
            known = {r.id for r in registry}
            self.waivers: list[Waiver] = (
                load_waivers(settings.waivers_file, known) if settings.waivers_file else []
            )
            self.config: ModelrailConfig | None = (
                load_config(settings.project) if settings.spec is not None else None
            )
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from exc
        spec = settings.spec
        target_info = {"mode": spec.mode if spec else None}
        if spec is not None:
            target_info["ref"] = spec.base_url or (
                str(spec.dockerfile) if spec.dockerfile else spec.image
            )
        self.report = Report(
            target=target_info,
            strict=settings.strict,
            waivers=self.waivers,
            profile=settings.profile,
        )
        self.ran = False

    def waiver(self, rule_id: str) -> Waiver | None:
        """The active (unexpired) waiver for a rule, if any."""
        return next((w for w in self.waivers if w.rule == rule_id and not w.expired()), None)

    # --- hooks -----------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        callspec = getattr(item, "callspec", None)
        rule = item.stash.get(RULE_KEY, None) or (
            callspec.params.get("modelrail_rule") if callspec else None
        )
        if not isinstance(rule, Rule) or (report.when != "call" and report.passed):
            return
        if report.when == "teardown" and rule.id in self.report.results:
            return
        status, message = item.stash.get(VERDICT_KEY, ("", ""))
        if report.failed:
            status = "fail" if report.when == "call" and status == "fail" else "error"
            message = message or _short(report.longreprtext)
        elif report.skipped:
            status = status or "not_applicable"
            message = message or _short(report.longreprtext)
        else:
            status = status or "pass"
        logs = "\n".join(text for name, text in report.sections if "container logs" in name)
        details = "\n".join(text for name, text in report.sections if "modelrail details" in name)
        self.report.record(
            result_for(
                rule,
                status,
                message=message,
                duration=report.duration,
                nodeid=item.nodeid,
                details=details,
                logs=logs,
            )
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.ran:
            return
        terminalreporter.section("modelrail conformance")
        for line in self.report.summary_lines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"reports: {self.settings.report_dir}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.ran:
            return
        self.report.write(self.settings.report_dir)
        if self.report.expired_waivers() and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _short(text: str, limit: int = 2000) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("E ") and "[" in line:
            return line[2:].strip()[:limit]
    return (lines[-1] if lines else text)[:limit]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "modelrail_rule(rule_id): the contract rule a test checks")
    settings = read_settings(config)
    session = ModelrailSession(settings, build_registry())
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "modelrail-session")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "modelrail_rule" in metafunc.fixturenames:
        session = metafunc.config.stash[SESSION_KEY]
        rules = session.selected
        metafunc.parametrize("modelrail_rule", rules, ids=[r.id for r in rules])


@pytest.fixture(scope="session")
def modelrail_target(pytestconfig: pytest.Config) -> Iterator[Target]:
    """The service under test (started lazily; stopped at the end of the session)."""
    session = pytestconfig.stash[SESSION_KEY]
    if session.settings.spec is None or session.config is None:
        raise pytest.UsageError(
            "no service to check: pass one of --modelrail-image REF, --modelrail-dockerfile PATH "
            "or --modelrail-base-url URL"
        )
    session.ran = True
    target = Target(session.settings.spec, session.config)
    yield target
    session.report.latency = target.memo.get("latency_report")
    target.close()


@pytest.fixture
def modelrail_check(
    request: pytest.FixtureRequest, modelrail_target: Target
) -> Callable[[Rule], None]:
    """Check one rule and turn its outcome into a verdict (levels, waivers, not applicable)."""
    session: ModelrailSession = request.config.stash[SESSION_KEY]
    node = request.node

    def check(rule: Rule) -> None:
        node.stash[RULE_KEY] = rule
        node.user_properties.extend([("rule_id", rule.id), ("rule_level", str(rule.level))])
        modelrail_target.forget_extra_logs()
        if rule.needs_container and modelrail_target.spec.mode == "base_url":
            _not_applicable(node, "needs containers; --modelrail-base-url gives only HTTP access")
        try:
            for hook in rule.hooks:
                modelrail_target.config.hook(hook)
            rule.check(modelrail_target)
        except NotApplicable as exc:
            _not_applicable(node, str(exc))
        except Blocked as exc:
            node.stash[VERDICT_KEY] = ("blocked", str(exc))
            pytest.skip(str(exc))
        except RuleViolation as violation:
            violation.bind(rule)
            message = violation.message
            if violation.details:
                node.add_report_section("call", "modelrail details", violation.details)
            logs = modelrail_target.logs_for_report()
            if logs and modelrail_target.spec.mode != "base_url":
                node.add_report_section("call", "modelrail container logs", logs)
            waiver = session.waiver(rule.id)
            if waiver is not None:
                node.stash[VERDICT_KEY] = (
                    "waived",
                    f"{message} (waived until {waiver.expires}: {waiver.reason})",
                )
                return
            if rule.level == Level.SHOULD and not session.settings.strict:
                node.stash[VERDICT_KEY] = ("warn", message)
                warnings.warn(ModelrailWarning(message), stacklevel=1)
                return
            node.stash[VERDICT_KEY] = ("fail", message)
            pytest.fail(message, pytrace=False)

    return check


def _not_applicable(node: pytest.Item, reason: str) -> None:
    node.stash[VERDICT_KEY] = ("not_applicable", f"not applicable: {reason}")
    pytest.skip(f"not applicable: {reason}")
