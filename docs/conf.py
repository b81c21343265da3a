"""Sphinx configuration of the bayes_sklearn documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
Set ``BAYES_SKLEARN_DOCS_FAST=1`` to run the walkthroughs with short chains
(what the test suite does); without it they run as written (a few minutes).
"""

from __future__ import annotations

import os
import warnings

import bayes_sklearn

project = "bayes_sklearn"
author = "bayes_sklearn developers"
copyright = "2026, bayes_sklearn developers"
release = version = bayes_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "examples/GALLERY_HEADER.rst", "calibration/README.md",
                    "**.codeobj.json"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# API reference: numpydoc renders the docstrings and checks them while
# building (-W makes a failed check fail the build): every public object has
# a docstring (GL08) with an Examples section (EX01); its Parameters match the
# signature, none missing (PR01), none unknown (PR02), in order (PR03), each
# with a type and a description (PR04-PR10); a returned value is documented
# (RT01, RT03). tests/test_docs.py runs the same checks without Sphinx.
autosummary_generate = True
# Members are chosen per directive in api.rst: a boolean default here would
# override the directive's own :members: list and :inherited-members: (Sphinx
# replaces, not merges, non-string defaults), which hid every method inherited
# from BayesianGLMBase (fit, sample_posterior_predictive...).
autodoc_default_options = {"member-order": "groupwise"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = {
    "EX01", "GL08", "PR01", "PR02", "PR03", "PR04", "PR06", "PR07", "PR08", "PR10", "RT01", "RT03",
}
numpydoc_validation_exclude = {
    # inherited from sklearn's BaseEstimator / mixins, documented there
    r"\.get_params$", r"\.set_params$", r"\.score$", r"\.get_metadata_routing$",
    r"\.set_\w+_request$", r"\.fit_transform$", r"\.set_output$",
    # exception plumbing inherited from BaseException
    r"\.with_traceback$", r"\.add_note$",
    # module constants
    r"\.FORMAT_VERSION$",
}

# Walkthroughs: scripts in docs/examples executed at build time, their output
# and figures rendered into pages.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    # CI builds (short chains) always execute the walkthroughs, even when a
    # previous build left their outputs beside the sources.
    "run_stale_examples": os.environ.get("BAYES_SKLEARN_DOCS_FAST") == "1",
}

html_theme = "pydata_sphinx_theme"
html_title = "bayes_sklearn"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []

# arviz announces its 1.0 migration on import; not a documentation problem.
warnings.filterwarnings("ignore", message=".*ArviZ.*", category=FutureWarning)
os.environ.setdefault("MPLBACKEND", "Agg")


def _skip_sklearn_members(app, what, name, obj, skip, options):
    """Members inherited from scikit-learn (get_metadata_routing, set_output,
    the set_fit_request & co. it generates on every estimator class) are
    sklearn's API, documented there, not ours; their docstrings point to
    sklearn's own pages."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if getattr(obj, "__module__", None) and obj.__module__.split(".")[0] == "sklearn":
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_members)
