"""The documentation builds with warnings as errors, its walkthroughs run
(short chains), every internal link resolves, and the code on its pages runs."""

import os
import re
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.pyplot as plt
import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = sorted([*DOCS.glob("*.md"), *DOCS.glob("user_guide/*.md")])

pytest.importorskip("sphinx")


@pytest.fixture(scope="module")
def built_html(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = {**os.environ, "BAYES_SKLEARN_DOCS_FAST": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, env=env, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def test_docs_build_without_warnings(built_html):
    for page in ["index.html", "api.html", "quickstart.html", "changelog.html",
                 "user_guide/inference.html", "auto_examples/index.html",
                 "auto_examples/plot_logistic_interaction.html",
                 "auto_examples/plot_radon.html", "auto_examples/plot_linear_regression.html"]:
        assert (built_html / page).exists(), page
    # the walkthroughs' figures were made by running them
    figures = list((built_html / "_images").glob("sphx_glr_plot_*.png"))
    assert len(figures) >= 12


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


def test_every_internal_link_resolves(built_html):
    parsed = {}
    # the pages we wrote and sphinx generated; _static holds the theme's templates
    for page in built_html.rglob("*.html"):
        if page.relative_to(built_html).parts[0] == "_static":
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        parsed[page] = parser
    broken = []
    for page, parser in parsed.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("mailto:"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_html)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else set()
                if parts.fragment not in ids:
                    broken.append(f"{page.relative_to(built_html)}: {link} (no anchor)")
    assert not broken, broken[:20]


def _python_blocks(page: Path) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if not b.startswith("# not run")]


@pytest.mark.parametrize("page", [p for p in PAGES if _python_blocks(p)],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_code_on_the_pages_runs(page, monkeypatch, tmp_path):
    """Blocks of a page run in order in one namespace, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for block in _python_blocks(page):
                exec(compile(block, str(page), "exec"), namespace)
        finally:
            plt.close("all")


def test_readme_example_runs(monkeypatch, tmp_path):
    """The README's complete example, pasted as it is."""
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Example", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, "README.md", "exec"), {"__name__": "__main__"})
