"""modelrail's documentation site: a strict build, read offline in headless Chromium.

The strict build fails on any warning: a dead link or anchor, a page missing from the nav.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from modelrail_conformance.registry import build_registry

from tests.browser import chromium, headless
from tests.helpers import REPO_ROOT

ASSET = re.compile(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="([^"]+)"')


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with `mkdocs build --strict` into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO_ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    for page in ("getting-started", "questions", "tour", "contract", "ci", "pre-commit",
                 "architecture", "performance", "faq"):  # fmt: skip
        assert (site / page / "index.html").is_file(), page


def test_the_site_fetches_nothing_from_the_network(site: Path) -> None:
    remote = {
        f"{page.relative_to(site)}: {url}"
        for page in site.rglob("*.html")
        for url in ASSET.findall(page.read_text(encoding="utf-8"))
        if re.match(r"^(https?:)?//", url)
    }
    assert remote == set(), "stylesheets, scripts, fonts and images must be local"


def test_the_architecture_picture_is_valid_svg(site: Path) -> None:
    svg = ET.parse(site / "architecture.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    labels = " ".join(text.text or "" for text in svg.iter("{http://www.w3.org/2000/svg}text"))
    for box in ("Template", "hooks/", "Generated repo", "Service image", "Conformance suite"):
        assert box in labels
    assert 'src="../architecture.svg"' in (site / "architecture" / "index.html").read_text()


def test_contract_page_renders_its_rule_table_in_chromium(site: Path, tmp_path: Path) -> None:
    browser = chromium()
    page = (site / "contract" / "index.html").as_uri()
    # Unresolvable hosts: anything the page tried to fetch from the network would fail.
    dom = headless(browser, tmp_path / "profile", "--host-resolver-rules=MAP * ~NOTFOUND",
                   "--dump-dom", page)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Material's script wraps tables in this element: its presence shows the script ran.
    wrapped = re.search(r'<div class="md-typeset__table">\s*<table>(.*?)</table>', dom.stdout, re.S)
    assert wrapped, "no rule table, or the theme's script did not run"
    rows = re.findall(
        r'<tr>\s*<td><a href="#([a-z0-9-]+)">([A-Z]+-\d{3})</a></td>\s*<td>(MUST|SHOULD)</td>',
        wrapped.group(1),
    )
    registry = list(build_registry())
    assert sorted(rows) == sorted((rule.anchor, rule.id, str(rule.level)) for rule in registry)
    for rule in registry:
        assert f'id="{rule.anchor}"' in dom.stdout, f"{rule.id}: its section is missing"
