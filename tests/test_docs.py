"""The documentation builds with warnings as errors, its walkthroughs run
(short chains), every internal link resolves, the code on its pages runs, and
every docstring of the API reference passes the numpydoc checks of docs/conf.py."""

import importlib
import inspect
import os
import re
import runpy
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock
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
                 "auto_examples/plot_radon.html", "auto_examples/plot_linear_regression.html",
                 "auto_examples/plot_nested_crossed.html", "user_guide/multilevel.html"]:
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


# -- numpydoc checks, without Sphinx ------------------------------------------
# The build (docs/conf.py) reports numpydoc_validation_checks as warnings, which
# -W turns into a failure; this runs the same checks on the same objects in a
# few seconds and lists every problem.


def _docs_conf() -> dict:
    with warnings.catch_warnings(), mock.patch.dict(os.environ):
        return runpy.run_path(str(DOCS / "conf.py"))


_DIRECTIVE = re.compile(r"^\.\. (\w+)::\s*(\S+)\s*$")
_OPTION = re.compile(r"^\s+:([\w-]+):\s*(.*?)\s*$")


def _api_directives() -> list[tuple[str, str, dict[str, str]]]:
    """(directive, full name, options) of every auto* directive in api.rst."""
    directives, module = [], None
    for line in (DOCS / "api.rst").read_text(encoding="utf-8").splitlines():
        if match := _DIRECTIVE.match(line):
            kind, name = match.groups()
            if kind in ("currentmodule", "automodule"):
                module = name
            if kind.startswith("auto"):
                full = name if kind == "automodule" else f"{module}.{name}"
                directives.append((kind, full, {}))
        elif (match := _OPTION.match(line)) and directives:
            directives[-1][2][match.group(1)] = match.group(2)
    return directives


def _resolve(name: str):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(name)


def _is_filtered_inherited(cls: type, name: str, defining: type, listed: set[str]) -> bool:
    """sphinx.ext.autodoc's rule for :inherited-members: with class names."""
    seen = set()
    for klass in cls.__mro__:
        if name in vars(klass):
            seen.add(klass)
        if klass.__name__ in listed and klass is not cls and any(
            issubclass(child, klass) for child in seen
        ):
            return True
        if klass is defining or name in vars(klass):
            return False
    return False


def _class_members(cls: type, qualname: str, options: dict[str, str], skip) -> list[str]:
    if "inherited-members" in options:
        listed = {c.strip() for c in options["inherited-members"].split(",") if c.strip()}
        listed, candidates = listed or {"object"}, dir(cls)
    else:
        listed, candidates = set(), list(vars(cls))
    excluded = {c.strip() for c in options.get("exclude-members", "").split(",")}
    names = []
    for name in candidates:
        if name.startswith("_") or name in excluded:
            continue
        defining = next(k for k in cls.__mro__ if name in vars(k))
        member = vars(defining)[name]
        if isinstance(member, (classmethod, staticmethod)):
            member = member.__func__
        if callable(getattr(member, "check", None)) and inspect.isfunction(
                getattr(member, "fn", None)):
            member = member.fn  # sklearn's available_if: the method it guards
        if not (inspect.isfunction(member) or isinstance(member, property)):
            continue  # data attributes: documented only with a #: comment
        doc = (member.fget if isinstance(member, property) else member).__doc__
        if not doc or _is_filtered_inherited(cls, name, defining, listed):
            continue
        if skip(None, "class", name, getattr(member, "fget", member), False, options):
            continue
        names.append(f"{qualname}.{name}")
    return names


def _selected(options: dict[str, str]):
    """None for no members, "all", or the listed names."""
    if "no-members" in options or "members" not in options:
        return None
    listed = [m.strip() for m in options["members"].split(",") if m.strip()]
    return listed or "all"


def api_objects() -> list[str]:
    """Full names of every object api.rst documents, as Sphinx selects them."""
    skip = _docs_conf()["_skip_sklearn_members"]
    names = []
    for kind, full, options in _api_directives():
        if kind not in ("automodule", "autoclass", "autoexception", "autofunction"):
            raise AssertionError(f"api.rst uses {kind}; teach api_objects() what it documents")
        names.append(full)
        obj, selected = _resolve(full), _selected(options)
        if kind == "autofunction" or selected is None:
            continue
        if kind == "automodule":
            if selected == "all":
                selected = getattr(obj, "__all__", None) or [
                    n for n, v in vars(obj).items()
                    if not n.startswith("_") and getattr(v, "__module__", None) == obj.__name__
                ]
            for name in selected:
                member = getattr(obj, name)
                names.append(f"{full}.{name}")
                if inspect.isclass(member):  # module members: all of their own members
                    names += _class_members(member, f"{full}.{name}", {}, skip)
        elif selected == "all":
            names += _class_members(obj, full, options, skip)
        else:
            names += [f"{full}.{name}" for name in selected]
    return names


def test_api_docstrings_pass_the_numpydoc_checks():
    validate = pytest.importorskip("numpydoc.validate").validate
    conf = _docs_conf()
    checks = conf["numpydoc_validation_checks"]
    # the parameter checks are on: documented-but-absent, undocumented, order, types, descriptions
    assert {"PR01", "PR02", "PR03", "PR04", "PR06", "PR07", "PR08", "PR10", "RT03"} <= checks
    excluded = re.compile("|".join(conf["numpydoc_validation_exclude"]))
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in api_objects():
            if excluded.search(name):
                continue
            problems += [f"{name}: {code} {message}"
                         for code, message in validate(name)["errors"] if code in checks]
    assert not problems, "\n".join(problems)


def test_api_objects_are_what_the_build_documents(built_html):
    """api_objects() (hence the check above) sees every object the build documents."""
    from sphinx.util.inventory import InventoryFile

    with open(built_html / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", os.path.join)
    inventory = getattr(inventory, "data", inventory)  # a plain dict before Sphinx 8.2
    documented = {name for kind, entries in inventory.items() if kind.startswith("py:")
                  for name in entries if kind != "py:module"}
    ours = set(api_objects())
    missing = {n for n in ours - documented if not inspect.ismodule(_resolve(n))}
    assert not missing, sorted(missing)
    # the build's other entries are the same objects under their defining module
    ours_objects = {id(_resolve(n)) for n in ours}
    assert sorted(n for n in documented - ours if id(_resolve(n)) not in ours_objects) == []
